"""Writes for KPIs, the reporting calendar and returns.

A return's life is declared in ``RETURN_TRANSITIONS``; its services change
status only through ``oversight.workflow.transition``.
Every way a return comes in (the web form, the spreadsheets, the API) calls
``returns_enter``: it runs ``validation.validate`` and, if nothing is wrong,
``returns_write`` writes the result in bulk (a few queries whatever the number
of values), with history, in one transaction: whole or not at all. Anything
wrong is raised as ``oversight.errors.ImportRejected`` with every problem.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contracts.models import Contract, ContractStatus
from oversight import clock, formatting, workflow
from oversight.clock import tenant_today
from oversight.errors import ImportRejected, Problem
from oversight.history import bulk_create, save_with_history
from oversight.models import Membership
from oversight.permissions import can, require

from . import calendar
from .models import (
    ContractKpi,
    ReportingPeriod,
    ReportingPolicy,
    Return,
    ReturnSource,
    ReturnStatus,
    ReturnValue,
)
from .validation import Outcome, ReturnHeader, ValueRow, validate

# status -> statuses it may move to
RETURN_TRANSITIONS: dict[str, set[str]] = {
    ReturnStatus.DRAFT: {ReturnStatus.SUBMITTED},
    ReturnStatus.SUBMITTED: {ReturnStatus.ACCEPTED, ReturnStatus.QUERIED},
    ReturnStatus.QUERIED: set(),  # corrected as a new version, never edited
    ReturnStatus.ACCEPTED: set(),
}

RETURN_WORKFLOW = workflow.declare(
    Return,
    RETURN_TRANSITIONS,
    noun="return",
    stamps={
        ReturnStatus.SUBMITTED: "submitted_at",
        ReturnStatus.ACCEPTED: "reviewed_at",
        ReturnStatus.QUERIED: "reviewed_at",
    },
    refusal="A {source} {noun} cannot become {target}.",
)

MAX_PRIORITY_KPIS = 5


_RACE_PROBLEM = Problem(
    "return",
    "period",
    "another submission for this period arrived at the same time; "
    "reload and check before sending again",
)


class ReturnsRaced(ImportRejected):
    """Another submission for the period was written at the same moment: the
    input was valid, the period was taken (the API answers 409). Nothing was
    written."""


# --- who may enter and review a return --------------------------------------------

ON_BEHALF = "return.enter_on_behalf"


def return_entry_check(*, membership: Membership, on_behalf_reason: str = "") -> bool:
    """May this membership enter a return, and is it on a provider's behalf?

    A provider submits its own return (``return.submit``). Anyone else enters
    one only on the provider's behalf, saying why (``return.enter_on_behalf``);
    without a reason that is refused, as is a provider claiming to act on
    someone's behalf. Raises PermissionDenied; returns True when on behalf."""
    if on_behalf_reason.strip():
        require(membership, ON_BEHALF)
        return True
    if not can(membership, "return.submit") and can(membership, ON_BEHALF):
        raise PermissionDenied(
            "A provider submits its own returns. To enter one on the provider's behalf, "
            "say why (the on-behalf reason): it is recorded and shown with the return."
        )
    require(membership, "return.submit")
    return False


def return_review_refusal(*, membership: Membership, ret: Return) -> str:
    """Why this membership may not accept or query the return ("" if it may):
    nobody reviews a return they entered or submitted."""
    user_id = membership.user_id
    if user_id == ret.entered_on_behalf_by_id:
        return (
            "You entered this return on the provider's behalf, so someone else must "
            "accept or query it."
        )
    if user_id in (ret.submitted_by_id, ret.created_by_id):
        return "You entered or submitted this return, so someone else must accept or query it."
    return ""


def _require_review(membership: Membership, ret: Return) -> None:
    require(membership, "return.review")
    refusal = return_review_refusal(membership=membership, ret=ret)
    if refusal:
        raise PermissionDenied(refusal)


def policy_for(tenant_id: int) -> ReportingPolicy:
    return ReportingPolicy.objects.filter(tenant_id=tenant_id).first() or ReportingPolicy(
        tenant_id=tenant_id
    )


# --- the reporting calendar -------------------------------------------------


def reporting_calendar_sync(
    *, contracts: list[Contract], today: date, user=None, reason: str = "Reporting calendar"
) -> int:
    """Create every period the contracts owe up to today; idempotent.
    Periods already created are kept; a change of frequency (monthly to
    weekly under enhanced monitoring) applies from the end of the last period."""
    if not contracts:
        return 0
    by_tenant: dict[int, ReportingPolicy] = {}
    last_end: dict[int, date] = {}
    existing: set[tuple[int, str, date]] = set()
    for contract_id, frequency, start, end in ReportingPeriod.objects.filter(
        contract__in=[c.id for c in contracts]
    ).values_list("contract_id", "frequency", "start", "end"):
        existing.add((contract_id, frequency, start))
        last_end[contract_id] = max(end, last_end.get(contract_id, end))
    new: list[ReportingPeriod] = []
    for contract in contracts:
        policy = by_tenant.setdefault(contract.tenant_id, policy_for(contract.tenant_id))
        weekly = contract.reporting_frequency == calendar.WEEKLY
        since = None
        if contract.id in last_end:
            since = last_end[contract.id] + timezone.timedelta(days=1)
        for period in calendar.periods_between(
            frequency=contract.reporting_frequency,
            contract_start=contract.start_date,
            contract_end=contract.end_date,
            until=today,
            due_days=policy.weekly_due_days if weekly else policy.monthly_due_days,
            missing_after_days=policy.missing_after_days,
            since=since,
        ):
            if (contract.id, period.frequency, period.start) in existing:
                continue
            new.append(
                ReportingPeriod(
                    tenant_id=contract.tenant_id,
                    contract_id=contract.id,
                    frequency=period.frequency,
                    start=period.start,
                    end=period.end,
                    due_date=period.due_date,
                    missing_after=period.missing_after,
                )
            )
    if new:
        bulk_create(ReportingPeriod, new, user=user, reason=reason)
    return len(new)


def contracts_calendar_sync(
    *, contracts: list[Contract], user=None, reason: str, today: date | None = None
) -> int:
    """Contracts were created or changed: the active ones get at once the periods
    they owe up to their tenant's day (a new contract, a start moved earlier, a
    change of frequency); the nightly ``sync_reporting_calendars`` adds each new
    period after that. Runs in the caller's transaction, so a rejected change
    writes no period. Pages only read the calendar: they never call this."""
    active = [c for c in contracts if c.status == ContractStatus.ACTIVE]
    if not active:
        return 0
    return reporting_calendar_sync(
        contracts=active,
        today=today or tenant_today(active[0].tenant),
        user=user,
        reason=reason,
    )


# --- returns ------------------------------------------------------------------


@transaction.atomic
def returns_write(
    *,
    membership: Membership,
    outcome: Outcome,
    source: str,
    submit: bool = True,
    idempotency_key: str | None = None,
    idempotency_fingerprint: str = "",
    reason: str | None = None,
    on_behalf_reason: str = "",
) -> list[Return]:
    """Write validated returns, all or nothing. Raises ImportRejected when the
    outcome has problems, so a caller cannot write a half-valid submission.
    An ``idempotency_key`` (one return only) is stored with the request's
    fingerprint; it is unique per submitter, so a concurrent request with the
    same key is rejected here and the caller answers it as a replay.
    Anyone but the provider writes only with ``on_behalf_reason``, recorded on
    each return (``return_entry_check``)."""
    on_behalf = return_entry_check(membership=membership, on_behalf_reason=on_behalf_reason)
    if not outcome.ok:
        raise ImportRejected(outcome.problems)
    user = membership.user
    now = clock.now()
    reason = reason or f"Return submitted ({ReturnSource(source).label.lower()})"
    on_behalf_reason = on_behalf_reason.strip()
    if on_behalf:
        reason = f"{reason}; entered on the provider's behalf: {on_behalf_reason}"

    drafts = [p.replaces_draft for p in outcome.returns if p.replaces_draft]
    if drafts:
        # Two submissions replacing one draft: the second waits here, then
        # finds the draft already submitted.
        still_drafts = Return.objects.select_for_update().filter(
            pk__in=[d.pk for d in drafts], status=ReturnStatus.DRAFT
        )
        if len(still_drafts) != len(drafts):
            raise ReturnsRaced([_RACE_PROBLEM])
    for draft in drafts:
        # A draft's values are replaced by the submission; deleting them one by
        # one keeps their history (drafts hold a handful of values).
        for value in draft.values.all():
            value._history_user = user
            value._change_reason = "Draft replaced by submission"
            value.delete()

    status = ReturnStatus.SUBMITTED if submit else ReturnStatus.DRAFT
    keyed = dict(idempotency_key=None, idempotency_fingerprint="")
    if idempotency_key and len(outcome.returns) == 1:
        keyed = dict(
            idempotency_key=idempotency_key, idempotency_fingerprint=idempotency_fingerprint
        )
    new_returns: list[Return] = []
    all_returns: list[Return] = []
    for prepared in outcome.returns:
        fields = dict(
            status=status,
            narrative=prepared.narrative,
            no_activity=prepared.no_activity,
            source=source,
            submitted_by=user if submit else None,
            submitted_at=now if submit else None,
            entered_on_behalf_by=user if on_behalf else None,
            on_behalf_reason=on_behalf_reason if on_behalf else "",
        )
        if prepared.replaces_draft:
            ret = prepared.replaces_draft
            for key, value in fields.items():
                setattr(ret, key, value)
            if keyed["idempotency_key"]:
                for key, value in keyed.items():
                    setattr(ret, key, value)
            try:
                with transaction.atomic():
                    save_with_history(ret, user=user, reason=reason)
            except IntegrityError as error:  # the same key, in flight for another return
                raise ReturnsRaced([_RACE_PROBLEM]) from error
        else:
            ret = Return(
                tenant_id=membership.tenant_id,
                contract=prepared.contract,
                period=prepared.period,
                version=prepared.version,
                created_by=user,
                **keyed,
                **fields,
            )
            new_returns.append(ret)
        all_returns.append(ret)
    if new_returns:
        try:
            with transaction.atomic():
                bulk_create(Return, new_returns, user=user, reason=reason)
        except IntegrityError as error:
            raise ReturnsRaced([_RACE_PROBLEM]) from error
    values = [
        ReturnValue(
            tenant_id=membership.tenant_id,
            return_obj=ret,
            contract_kpi=v.contract_kpi,
            site=v.site,
            value=v.value,
            numerator=v.numerator,
            denominator=v.denominator,
            variance_explanation=v.variance_explanation,
        )
        for ret, prepared in zip(all_returns, outcome.returns, strict=True)
        for v in prepared.values
    ]
    bulk_create(ReturnValue, values, user=user, reason=reason, batch_size=2000)
    return all_returns


def returns_enter(
    *,
    membership: Membership,
    headers: list[ReturnHeader],
    rows: list[ValueRow],
    source: str,
    today: date | None = None,
    problems: list[Problem] | None = None,
    submit: bool = True,
    reason: str | None = None,
    on_behalf_reason: str = "",
    idempotency_key: str | None = None,
    idempotency_fingerprint: str = "",
) -> list[Return]:
    """Validate returns as they came in and write them, whole or nothing: the
    one way in of the web form, the spreadsheets and the API.

    ``problems`` are those the caller found in reading its input (a
    spreadsheet's grouping, a form's own field); they are reported with the
    validation's, so that every problem shows at once, and any of them means
    nothing is written. Raises ``ImportRejected`` with every problem, its
    ``ReturnsRaced`` when another submission took the period at the same
    moment, and ``PermissionDenied`` for a role that may not enter returns (or,
    at the write, for the on-behalf rules of ``return_entry_check``). The
    idempotency key is the API's (``returns_write``)."""
    if not (can(membership, "return.submit") or can(membership, ON_BEHALF)):
        require(membership, "return.submit")
    outcome = validate(membership=membership, headers=headers, rows=rows, today=today)
    found = [*(problems or []), *outcome.problems]
    if found:
        raise ImportRejected(found)
    return returns_write(
        membership=membership,
        outcome=outcome,
        source=source,
        submit=submit,
        idempotency_key=idempotency_key,
        idempotency_fingerprint=idempotency_fingerprint,
        reason=reason,
        on_behalf_reason=on_behalf_reason,
    )


@transaction.atomic
def return_submit(
    *, membership: Membership, ret: Return, reason: str = "Return submitted"
) -> Return:
    """Submit a draft saved from the web form (it was validated when saved).
    The provider submits its drafts (even one entered on its behalf); anyone
    else only a draft entered on the provider's behalf, whose reason it records."""
    ret = Return.objects.select_for_update().get(pk=ret.pk)
    if can(membership, "return.submit"):
        require(membership, "return.submit")
    else:
        require(membership, ON_BEHALF)
        if ret.entered_on_behalf_by_id is None:
            raise PermissionDenied(
                "This draft is the provider's own: only the provider can submit it."
            )
    return workflow.transition(
        ret,
        ReturnStatus.SUBMITTED,
        membership=membership,
        action="return.submit" if can(membership, "return.submit") else ON_BEHALF,
        reason=reason,
        fields={"submitted_by": membership.user},
    )


@transaction.atomic
def return_accept(
    *, membership: Membership, ret: Return, comment: str = "", recompute: bool = True
) -> Return:
    """Accept a submitted return. After commit, the contract's expected ranges,
    signals and risk score are recomputed; a caller accepting many returns in one
    transaction (the demo seed) passes ``recompute=False`` and recomputes once.
    Nobody accepts a return they entered or submitted."""
    ret = Return.objects.select_for_update().get(pk=ret.pk)
    _require_review(membership, ret)
    return workflow.transition(
        ret,
        ReturnStatus.ACCEPTED,
        membership=membership,
        action="return.review",
        reason=comment.strip() or "Return accepted",
        fields={"reviewed_by": membership.user, "review_comment": comment.strip()},
        on_commit=_after_accept if recompute else None,
    )


def _after_accept(ret: Return) -> None:
    """Accepted returns are what the signals read; refresh what depends on them."""
    from .tasks import contract_returns_accepted

    contract_returns_accepted.delay(ret.contract_id)


@transaction.atomic
def return_query(*, membership: Membership, ret: Return, comment: str) -> Return:
    """Query a submitted return; nobody queries a return they entered or submitted."""
    ret = Return.objects.select_for_update().get(pk=ret.pk)
    _require_review(membership, ret)
    if not comment.strip():
        raise ValidationError({"comment": "Say what the provider must correct."})
    return workflow.transition(
        ret,
        ReturnStatus.QUERIED,
        membership=membership,
        action="return.review",
        reason=comment.strip(),
        fields={"reviewed_by": membership.user, "review_comment": comment.strip()},
        on_commit=_tell_provider_of_query,
    )


def _tell_provider_of_query(ret: Return) -> None:
    """The provider's users of the contract learn of the query (in-app and email)."""
    from django.urls import reverse

    from oversight.models import NotificationKind, Role
    from oversight.notifications import notification_recipients, notify

    users = [
        m.user
        for m in notification_recipients(
            tenant=ret.contract.tenant, roles={Role.PROVIDER}, contract=ret.contract
        )
    ]
    what = f"{ret.contract.reference} for {ret.period}"
    notify(
        tenant=ret.contract.tenant,
        users=users,
        kind=NotificationKind.RETURN_QUERIED,
        message=f"The return for {what} (version {ret.version}) was queried: {ret.review_comment}",
        url=reverse(
            "return_detail", kwargs={"tenant_slug": ret.contract.tenant.slug, "return_pk": ret.pk}
        ),
        dedupe_key=f"return-queried:{ret.pk}",
        email_subject=f"Return queried: {ret.contract.reference} {ret.period}",
    )


# --- contract KPIs ----------------------------------------------------------


@transaction.atomic
def contract_kpi_save(
    *,
    membership: Membership,
    contract_kpi: ContractKpi,
    reason: str,
    phases: list[dict] | None = None,
) -> ContractKpi:
    """Create or change a contract KPI and, given ``phases``, make its phase
    targets exactly those (``phase_targets_set``), in one transaction: a
    refused phase leaves the KPI as it was."""
    require(membership, "contract_kpi.change")
    if contract_kpi.contract.tenant_id != membership.tenant_id or (
        contract_kpi.kpi.tenant_id != membership.tenant_id
    ):
        raise ValidationError({"kpi": "Choose a KPI of this organisation."})
    contract_kpi.tenant_id = membership.tenant_id
    if contract_kpi.is_priority:
        others = (
            ContractKpi.objects.select_for_update()
            .filter(contract_id=contract_kpi.contract_id, is_priority=True)
            .exclude(pk=contract_kpi.pk)
            .count()
        )
        if others >= MAX_PRIORITY_KPIS:
            raise ValidationError(
                {
                    "is_priority": f"A contract has at most {MAX_PRIORITY_KPIS} priority measures: "
                    "too many hide what matters. Unmark another first."
                }
            )
    contract_kpi.full_clean()
    save_with_history(contract_kpi, user=membership.user, reason=reason)
    if phases is not None:
        phase_targets_set(
            membership=membership, contract_kpi=contract_kpi, phases=phases, reason=reason
        )
    return contract_kpi


MIN_POINTS_FOR_RANGE = 12  # Making Data Count: limits from fewer points mislead


def contract_expected_ranges_refresh(*, contract_ids: list[int], user=None) -> int:
    """Set each contract KPI's expected range to the process limits (XmR) of
    its accepted contract-level values; with fewer than 12, no range is set.
    Reads all values in one query; writes changed rows in bulk with history."""
    from oversight.history import bulk_update

    from .spc import xmr

    series: dict[int, list] = {}
    rows = (
        ReturnValue.objects.filter(
            return_obj__contract_id__in=contract_ids,
            return_obj__status=ReturnStatus.ACCEPTED,
            site__isnull=True,
        )
        .order_by("contract_kpi_id", "return_obj__period__start")
        .values_list("contract_kpi_id", "value")
    )
    for ck_id, value in rows:
        series.setdefault(ck_id, []).append(float(value))
    changed = []
    for ck in ContractKpi.objects.filter(contract_id__in=contract_ids).select_related("kpi"):
        values = series.get(ck.id, [])
        low = high = None
        if len(values) >= MIN_POINTS_FOR_RANGE:
            last = xmr(values).points[-1]
            low, high = _round4(last.lpl), _round4(last.upl)
        if (ck.expected_low, ck.expected_high) != (low, high):
            ck.expected_low, ck.expected_high = low, high
            changed.append(ck)
    if changed:
        bulk_update(
            ContractKpi,
            changed,
            ["expected_low", "expected_high"],
            user=user,
            reason="Expected range recomputed from accepted returns",
        )
    return len(changed)


def _round4(number: float):
    from decimal import Decimal

    return Decimal(str(round(number, 4)))


# --- the KPI library and phase targets ----------------------------------------


@transaction.atomic
def kpi_save(*, membership: Membership, kpi, service_types=None, reason: str):
    """Create or change a KPI of the library (admins only), with history."""
    require(membership, "kpi.change")
    if kpi.pk and kpi.tenant_id != membership.tenant_id:
        raise ValidationError({"code": "No such KPI."})
    kpi.tenant_id = membership.tenant_id
    kpi.full_clean()
    save_with_history(kpi, user=membership.user, reason=reason)
    if service_types is not None:
        if any(st.tenant_id != membership.tenant_id for st in service_types):
            raise ValidationError({"service_types": "Choose service types of this organisation."})
        kpi.service_types.set(service_types)
    return kpi


@transaction.atomic
def phase_targets_set(
    *, membership: Membership, contract_kpi: ContractKpi, phases: list[dict], reason: str
) -> list:
    """Make the contract KPI's phase targets exactly ``phases`` (dicts with
    phase, from_month, to_month, target, amber_tolerance and, for an existing
    one, its ``pk``): others are deleted, all with history. Phases may not overlap."""
    from oversight.history import delete_with_history

    from .models import PhaseTarget

    require(membership, "contract_kpi.change")
    if contract_kpi.tenant_id != membership.tenant_id:
        raise ValidationError({"phase_targets": "No such contract KPI."})
    spans = sorted(
        (p["from_month"], p.get("to_month") or 10_000, p.get("phase", "")) for p in phases
    )
    for (_start, end, name), (next_start, _, next_name) in zip(spans, spans[1:], strict=False):
        if next_start <= end:
            raise ValidationError(
                {"phase_targets": f"Phases {name!r} and {next_name!r} overlap: one target a month."}
            )
    for start, end, name in spans:
        if end < start:
            raise ValidationError({"phase_targets": f"Phase {name!r} ends before it starts."})
    existing = {p.pk: p for p in contract_kpi.phase_targets.select_for_update()}
    kept = set()
    saved = []
    for data in phases:
        pk = data.get("pk")
        phase = existing.get(pk) if pk else None
        if phase is None:
            phase = PhaseTarget(tenant_id=membership.tenant_id, contract_kpi=contract_kpi)
        else:
            kept.add(pk)
        fields = ("phase", "from_month", "to_month", "target", "amber_tolerance")
        changed = phase.pk is None or any(getattr(phase, f) != data.get(f) for f in fields)
        for f in fields:
            setattr(phase, f, data.get(f))
        if changed:
            phase.full_clean()
            save_with_history(phase, user=membership.user, reason=reason)
        saved.append(phase)
    for pk, phase in existing.items():
        if pk not in kept:
            delete_with_history(phase, user=membership.user, reason=reason)
    return saved


# --- reminders ----------------------------------------------------------------


def return_reminders_send(*, tenant, today: date) -> dict[str, int]:
    """Remind providers' users of returns falling due within the policy's
    reminder window, and tell them when a return becomes late. Each is sent
    once per period: the period records it (reminded_at / late_notified_at)
    and each notification carries a dedupe key."""
    from django.db.models import Exists, OuterRef, Q
    from django.urls import reverse

    from contracts.models import ContractStatus
    from oversight.history import bulk_update
    from oversight.models import NotificationKind, Role
    from oversight.notifications import notification_recipients, notify

    policy = policy_for(tenant.id)
    received = Return.objects.filter(
        period=OuterRef("pk"),
        status__in=[ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED, ReturnStatus.QUERIED],
    )
    soon = Q(reminded_at__isnull=True, due_date__gte=today) & Q(
        due_date__lte=today + timezone.timedelta(days=policy.reminder_days_before)
    )
    late = Q(late_notified_at__isnull=True, due_date__lt=today, missing_after__gte=today)
    sent = {"reminders": 0, "late": 0}
    with transaction.atomic():
        periods = list(
            ReportingPeriod.objects.select_for_update()
            .filter(soon | late, tenant_id=tenant.id)
            .exclude(contract__status=ContractStatus.TERMINATED)
            .exclude(Exists(received))
            .order_by("due_date", "pk")
        )
        if not periods:
            return sent
        contracts = {
            c.pk: c for c in Contract.objects.filter(pk__in={p.contract_id for p in periods})
        }
        recipients: dict[int, list] = {}
        for member in notification_recipients(
            tenant=tenant,
            roles={Role.PROVIDER},
            providers={c.provider_id for c in contracts.values()},
        ):
            recipients.setdefault(member.provider_id, []).append(member.user)
        now = clock.now()
        reminded, notified_late = [], []
        for period in periods:
            contract = contracts[period.contract_id]
            users = recipients.get(contract.provider_id, [])
            url = reverse(
                "period_return", kwargs={"tenant_slug": tenant.slug, "period_pk": period.pk}
            )
            what = f"{contract.reference} for {period}"
            if period.due_date < today:
                due = formatting.date(period.due_date)
                message = f"The return for {what} is late: it was due on {due}."
                notify(
                    tenant=tenant,
                    users=users,
                    kind=NotificationKind.RETURN_LATE,
                    message=message,
                    url=url,
                    dedupe_key=f"return-late:{period.pk}",
                    email_subject=f"Return late: {contract.reference} {period}",
                )
                period.late_notified_at = now
                notified_late.append(period)
            else:
                message = f"The return for {what} is due on {formatting.date(period.due_date)}."
                notify(
                    tenant=tenant,
                    users=users,
                    kind=NotificationKind.RETURN_REMINDER,
                    message=message,
                    url=url,
                    dedupe_key=f"return-reminder:{period.pk}",
                    email_subject=f"Return due {formatting.date(period.due_date)}: "
                    f"{contract.reference} {period}",
                )
                period.reminded_at = now
                reminded.append(period)
        if reminded:
            bulk_update(
                ReportingPeriod, reminded, ["reminded_at"], user=None, reason="Return reminder sent"
            )
        if notified_late:
            bulk_update(
                ReportingPeriod,
                notified_late,
                ["late_notified_at"],
                user=None,
                reason="Late return notice sent",
            )
    sent["reminders"], sent["late"] = len(reminded), len(notified_late)
    return sent
