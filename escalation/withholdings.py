"""The withholding ledger: reads and writes of money withheld under a remedy.

A commissioner or admin withholds an amount from one month's payment on a
contract (``withholding_record``), tied to the failure or the plan milestone it
rests on: a formal notice, an escalation step or a signal of the same contract
(``TIES``; an improvement-plan action joins them in one line), and always a
description in words. It is released when that milestone is met
(``withholding_release``: date, by whom, note) or retained when it was not
(``withholding_retain``: by whom, why), along ``WITHHOLDING_TRANSITIONS``
through ``oversight.workflow``. Providers and auditors read; a provider its own
contracts only (the selectors).

The rules, each refusal a ``ValidationError`` naming the field, nothing written:

- the contract sits at a ladder level whose stage sets a withholding cap
  (``LadderStage.withholding_cap_percent``; the stage it sits at, the one the
  step in effect was taken under, as every step keeps its stage);
- the contract's currency is the tenant's (the ledger's totals are in it);
- the payment period is a month within the contract's term;
- the amount is above zero, and the period's total withheld (every withholding
  of that month's payment, whatever became of it since: released money was
  still withheld from that payment) stays within the cap: ``cap %`` of the
  **actual monthly value**, ``monthly_value`` below;
- the tied object is one of the contract's own; an authorising step is one of
  the contract's steps in effect;
- release and retain only from withheld (no double release); release needs the
  tied milestone met where the tied object says (``milestone_met``), retain
  needs it not met;
- a retried request (the same ``request_key`` from the same member: the page's
  form token, the API's Idempotency-Key) answers the withholding it first made
  and writes nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight import clock, formatting, workflow
from oversight.history import save_with_history
from oversight.models import Membership, Role
from oversight.notifications import notification_recipients, notify
from oversight.permissions import require, require_same_tenant

from . import selectors
from .models import (
    WITHHOLDING_TRANSITIONS,
    ActionStatus,
    EscalationRecord,
    EscalationStep,
    NoticeStatus,
    StepStatus,
    Withholding,
    WithholdingStatus,
)

WITHHOLDING_WORKFLOW = workflow.declare(
    Withholding,
    WITHHOLDING_TRANSITIONS,
    noun="withholding",
    stamps={
        WithholdingStatus.RELEASED: "released_at",
        WithholdingStatus.RETAINED: "retained_at",
    },
    refusal="This money is already {source}: it cannot be {target}.",
)

# Notification kind (registered in apps.py): the provider hears of money
# withheld, released or retained.
WITHHOLDING_NOTICE = "withholding"

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# --- what a withholding is tied to, and whether its milestone is met --------------


def _notice_met(notice) -> bool:
    """A notice's milestone is met once the issuing side closed it after the
    response, or withdrew it (the ground fell away)."""
    return notice.status in (NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN)


def _step_met(step) -> bool:
    """A step's milestone is met once the contract has come back below the
    step's level (or the step never took effect)."""
    if step.status == StepStatus.REJECTED:
        return True
    record = EscalationRecord.objects.filter(contract_id=step.contract_id).first()
    return (record.level if record else 0) < step.to_level


def _signal_met(signal) -> bool:
    return signal.status == "closed"  # performance's SignalStatus.CLOSED (not imported)


@dataclass(frozen=True)
class Tie:
    model: str  # app_label.modelname
    label: str  # what a person calls it
    met: Callable[[object], bool]  # is the milestone the withholding waits on met?
    contract_field: str = "contract_id"  # the lookup that names the row's contract


def _action_met(action) -> bool:
    """A plan action's milestone is met once the commissioner verified it (the
    NHS procedure repays the withheld sums when the plan's milestones are met)."""
    return action.status == ActionStatus.VERIFIED


# What a withholding may be tied to, by the kind the page and the API name.
TIES: dict[str, Tie] = {
    "formal_notice": Tie("escalation.formalnotice", "formal notice", _notice_met),
    "escalation_step": Tie("escalation.escalationstep", "escalation step", _step_met),
    "signal": Tie("performance.signal", "signal", _signal_met),
    "plan_action": Tie(
        "escalation.planaction", "plan action", _action_met, contract_field="plan__contract_id"
    ),
}
_TIE_BY_MODEL = {tie.model: (kind, tie) for kind, tie in TIES.items()}


def tie_of(obj) -> tuple[str, Tie] | tuple[None, None]:
    """(kind, Tie) of a tied object, by its model; (None, None) for anything else."""
    if obj is None:
        return None, None
    return _TIE_BY_MODEL.get(obj._meta.label_lower, (None, None))


def milestone_met(obj) -> bool | None:
    """Is the milestone of the object a withholding is tied to met? None when
    no object says (a failure described in words only)."""
    _, tie = tie_of(obj)
    return None if tie is None else bool(tie.met(obj))


def tie_kind(content_type) -> str | None:
    """The kind (a key of ``TIES``) of a tied row's content type, or None."""
    if content_type is None:
        return None
    kind, _ = _TIE_BY_MODEL.get(f"{content_type.app_label}.{content_type.model}", (None, None))
    return kind


def tied_label(obj) -> str:
    """``formal notice 12`` (a signal with its message) for a page or a message."""
    _, tie = tie_of(obj)
    if tie is None:
        return ""
    message = getattr(obj, "message", "") or getattr(obj, "milestone", "")
    label = f"{tie.label} {obj.pk}" + (f": {message}" if message else "")
    return formatting.shorten(label, 160)


def _tied_object(contract: Contract, kind: str, object_id) -> tuple[object | None, str]:
    """(the tied row, a problem): one of the contract's own rows of that kind."""
    tie = TIES.get(kind)
    if tie is None:
        known = ", ".join(TIES)
        return None, f"{kind!r} is not something a withholding is tied to ({known}), or none."
    if not object_id:
        return None, f"Give the id of the {tie.label} it is tied to."
    app_label, model_name = tie.model.split(".")
    model = apps.get_model(app_label, model_name)
    # Another tenant's or contract's row reads as a missing one.
    obj = model._default_manager.filter(
        pk=object_id, tenant_id=contract.tenant_id, **{tie.contract_field: contract.pk}
    ).first()
    if obj is None:
        return None, f"{object_id} is not one of {contract.reference}'s {tie.label}s."
    return obj, ""


# --- the actual monthly value ----------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def monthly_value(contract: Contract, period: date) -> Decimal:
    """The contract's **actual monthly value** for the month starting ``period``:
    its annual value (``Contract.annual_value``, as varied) divided by twelve,
    prorated by the days of that month within the term (``start_date`` to
    ``end_date``), to the cent. Zero for a month outside the term. The register
    keeps no invoices, so this is the value the contract pays for that month."""
    period = month_start(period)
    last = period.replace(day=calendar.monthrange(period.year, period.month)[1])
    first_in, last_in = max(period, contract.start_date), min(last, contract.end_date)
    if last_in < first_in:
        return ZERO
    days_in_term = (last_in - first_in).days + 1
    value = Decimal(contract.annual_value) / 12 * days_in_term / last.day
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cap_amount(monthly: Decimal, cap_percent: Decimal) -> Decimal:
    """The most that may be withheld from the month: the cap's share of the
    monthly value, rounded down to the cent (never above the cap)."""
    return (monthly * Decimal(cap_percent) / 100).quantize(CENT, rounding=ROUND_DOWN)


# --- reads -----------------------------------------------------------------------


def withholdings_visible(*, membership: Membership | None) -> QuerySet[Withholding]:
    """Withholdings on the contracts the membership sees (a provider: its own)."""
    if membership is None:
        return Withholding.objects.none()
    return Withholding.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def withholdings_detailed(*, membership: Membership | None) -> QuerySet[Withholding]:
    return withholdings_visible(membership=membership).select_related(
        "tenant",
        "contract__provider",
        "tied_type",
        "step",
        "stage",
        "recorded_by",
        "released_by",
        "retained_by",
    )


def withholding_get(*, membership: Membership | None, pk) -> Withholding:
    return get_object_or_404(withholdings_detailed(membership=membership), pk=pk)


_TOTALS = {
    "withheld": Sum("amount"),
    "released": Sum("amount", filter=Q(status=WithholdingStatus.RELEASED)),
    "retained": Sum("amount", filter=Q(status=WithholdingStatus.RETAINED)),
    "outstanding": Sum("amount", filter=Q(status=WithholdingStatus.WITHHELD)),
    "count": Count("id"),
}


def _zeroed(row: dict) -> dict:
    return {key: (value if value is not None else ZERO) for key, value in row.items()}


def withholding_totals(withholdings: QuerySet[Withholding]) -> dict:
    """``{"withheld", "released", "retained", "outstanding", "count"}`` of a set
    of withholdings, in one query: withheld is everything ever withheld, of
    which released went back to the provider, retained was kept for good and
    outstanding is still held."""
    return _zeroed(withholdings.order_by().aggregate(**_TOTALS))


def totals_by_contract(withholdings: QuerySet[Withholding]) -> list[dict]:
    """The totals per contract, by reference, in one query (contracts with none
    are left out): each row also has ``contract_id``, ``reference``, ``title``
    and ``provider``."""
    rows = (
        withholdings.order_by("contract__reference")
        .values(
            "contract_id",
            "contract__reference",
            "contract__title",
            "contract__provider__name",
        )
        .annotate(**_TOTALS)
    )
    return [
        _zeroed(
            {
                "contract_id": row["contract_id"],
                "reference": row["contract__reference"],
                "title": row["contract__title"],
                "provider": row["contract__provider__name"],
                **{key: row[key] for key in _TOTALS},
            }
        )
        for row in rows
    ]


def period_withheld(*, contract: Contract, period: date) -> Decimal:
    """Everything withheld from the month's payment so far, whatever became of it."""
    total = (
        Withholding.objects.filter(contract_id=contract.pk, period=month_start(period))
        .order_by()
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


# --- writes ----------------------------------------------------------------------


class RequestKeyReused(ValidationError):
    """The request key was used before with a different request."""


def _text(value) -> str:
    return (value or "").strip()


def _money(amount, tenant) -> str:
    return formatting.tenant_money(amount, tenant.currency, tenant)


def _period_label(period: date) -> str:
    return formatting.period_label(start=period)


def _replay(membership: Membership, request_key: str, fingerprint: str) -> Withholding | None:
    """The withholding this member's earlier request with that key made, if any."""
    original = (
        Withholding.objects.filter(
            tenant_id=membership.tenant_id,
            recorded_by_id=membership.user_id,
            request_key=request_key,
        )
        .select_related("contract", "tenant")
        .first()
    )
    if original is None:
        return None
    if fingerprint and original.request_fingerprint and original.request_fingerprint != fingerprint:
        raise RequestKeyReused(
            {
                "request_key": (
                    "This key was already used with a different request (withholding "
                    f"{original.pk} on {original.contract.reference}): send the same request "
                    "to retry it, or a new key for a new withholding."
                )
            }
        )
    original.replayed = True
    return original


def _stage_problem(contract: Contract, level: int, stage) -> str:
    """Why money may not be withheld at the contract's level, or ''."""
    if stage is not None and stage.withholding_cap_percent is not None:
        return ""
    name = f"level {level}" + (f" ({stage.name})" if stage is not None else "")
    _, stages = selectors.ladder_in_force(tenant_id=contract.tenant_id)
    capped = [
        f"level {s.level} ({s.name}, {formatting.plain(s.withholding_cap_percent)}%)"
        for s in stages
        if s.withholding_cap_percent is not None
    ]
    where = (
        "In the ladder in force, " + ", ".join(capped) + " allows it."
        if capped
        else "No level of the ladder in force sets one: an admin sets it on the ladder."
    )
    return (
        f"{contract.reference} sits at {name}, whose stage sets no withholding cap: money is "
        f"withheld only at a level whose stage sets one. {where}"
    )


@transaction.atomic
def withholding_record(
    *,
    membership: Membership,
    contract: Contract,
    period: date | None,
    amount: Decimal | None,
    ground: str,
    reason: str,
    tied_kind: str = "",
    tied_id: int | None = None,
    step_id: int | None = None,
    request_key: str | None = None,
    request_fingerprint: str = "",
) -> Withholding:
    """Withhold ``amount`` from the ``period`` month's payment on ``contract``,
    tied to ``ground`` (and the ``tied_kind`` row ``tied_id``, if any),
    authorised by the step in effect ``step_id`` if any. A request key this
    member used before answers that withholding (``replayed``), writing nothing."""
    require(membership, "withholding.record")
    require_same_tenant(membership, contract, "contract")
    tenant = membership.tenant
    request_key = _text(request_key) or None
    if request_key:
        original = _replay(membership, request_key, request_fingerprint)
        if original is not None:
            return original
    reason = _text(reason)
    if not reason:
        raise ValidationError({"reason": "Say why the money is withheld."})
    # One recording at a time per contract, so two cannot both fit under the cap.
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    errors: dict[str, str] = {}

    level, stage = selectors.contract_position(contract=contract)
    problem = _stage_problem(contract, level, stage)
    if problem:
        errors["contract"] = problem
    elif contract.currency != tenant.currency:
        errors["contract"] = (
            f"{contract.reference}'s value is in {contract.currency}; withholdings are "
            f"recorded in your organisation's currency ({tenant.currency})."
        )
    if amount is None:
        errors["amount"] = f"Give the amount withheld, in {tenant.currency}."
    elif Decimal(amount) <= 0:
        errors["amount"] = (
            f"The amount withheld must be above zero ({_money(amount, tenant)} is not)."
        )
    if period is None:
        errors["period"] = "Give the month whose payment the money is withheld from."
    else:
        period = month_start(period)
        if period > contract.end_date or period < month_start(contract.start_date):
            errors["period"] = (
                f"{_period_label(period)} is outside {contract.reference}'s term "
                f"({formatting.date(contract.start_date)} to {formatting.date(contract.end_date)})."
            )
    ground = _text(ground)
    if not ground:
        errors["ground"] = "Describe the failure or the milestone the money is tied to."
    tied = None
    if tied_kind or tied_id:
        tied, problem = _tied_object(contract, _text(tied_kind), tied_id)
        if problem:
            errors["tied_kind" if _text(tied_kind) not in TIES else "tied_id"] = problem
    step = None
    if step_id:
        step = EscalationStep.objects.filter(
            tenant_id=tenant.pk, contract_id=contract.pk, pk=step_id
        ).first()
        if step is None:
            errors["step"] = f"{step_id} is not one of {contract.reference}'s escalation steps."
        elif step.status != StepStatus.EFFECTIVE:
            errors["step"] = (
                f"Step {step.pk} is {step.get_status_display().lower()}: only a step in effect "
                "authorises a withholding."
            )
            step = None

    monthly = cap = ZERO
    if not errors:
        monthly = monthly_value(contract, period)
        cap = cap_amount(monthly, stage.withholding_cap_percent)
        already = period_withheld(contract=contract, period=period)
        if already + Decimal(amount) > cap:
            room = max(cap - already, ZERO)
            errors["amount"] = (
                f"{_money(already + Decimal(amount), tenant)} would be withheld from "
                f"{_period_label(period)}'s payment ({_money(already, tenant)} already, plus "
                f"{_money(amount, tenant)}): over the cap of {_money(cap, tenant)}, "
                f"{formatting.plain(stage.withholding_cap_percent)}% of the actual monthly "
                f"value {_money(monthly, tenant)} at level {level} ({stage.name}). At most "
                f"{_money(room, tenant)} more may be withheld from that month."
            )
    if errors:
        raise ValidationError(errors)

    withholding = Withholding(
        tenant_id=tenant.pk,
        contract=contract,
        period=period,
        amount=Decimal(amount),
        currency=tenant.currency,
        tied_type=ContentType.objects.get_for_model(tied) if tied is not None else None,
        tied_id=tied.pk if tied is not None else None,
        ground=ground,
        step=step,
        stage=stage,
        cap_percent=stage.withholding_cap_percent,
        monthly_value=monthly,
        status=WithholdingStatus.WITHHELD,
        recorded_by=membership.user,
        recorded_at=clock.now(),
        request_key=request_key,
        request_fingerprint=request_fingerprint if request_key else "",
    )
    withholding.full_clean(exclude=["request_key"])
    try:
        with transaction.atomic():
            save_with_history(withholding, user=membership.user, reason=reason)
    except IntegrityError:
        # The same key from the same member, written by a request in flight.
        original = _replay(membership, request_key, request_fingerprint) if request_key else None
        if original is None:
            raise
        return original
    withholding.replayed = False
    _tell_provider(
        withholding,
        message=(
            f"{contract.reference}: {_money(withholding.amount, tenant)} is withheld from the "
            f"{_period_label(period)} payment, until: {formatting.shorten(ground, 160)}"
        ),
        key="withheld",
    )
    return withholding


def _tell_provider(withholding: Withholding, *, message: str, key: str) -> None:
    contract = withholding.contract
    users = [
        m.user
        for m in notification_recipients(
            tenant=withholding.tenant, roles=[Role.PROVIDER], contract=contract
        )
    ]
    if users:
        notify(
            tenant=withholding.tenant,
            users=users,
            kind=WITHHOLDING_NOTICE,
            message=message,
            url=withholding.get_absolute_url(),
            dedupe_key=f"withholding-{key}:{withholding.pk}",
            email_subject=f"{contract.reference}: payment withholding {key}",
            email_body=f"{message}\n\nSign in to read the withholding and its history.",
        )


def _locked(membership: Membership, withholding: Withholding) -> Withholding:
    require_same_tenant(membership, withholding, "withholding")
    return (
        Withholding.objects.select_for_update(of=("self",))
        .select_related("contract", "tenant")
        .get(pk=withholding.pk)
    )


def _milestone_text(obj) -> str:
    return tied_label(obj) or "the milestone"


@transaction.atomic
def withholding_release(
    *, membership: Membership, withholding: Withholding, note: str, now: datetime | None = None
) -> Withholding:
    """Release withheld money once the milestone it is tied to is met, with a
    note saying how; never twice."""
    require(membership, "withholding.release")
    withholding = _locked(membership, withholding)
    WITHHOLDING_WORKFLOW.check(withholding.status, WithholdingStatus.RELEASED)
    note = _text(note)
    if not note:
        raise ValidationError(
            {"release_note": "Say how the milestone was met: releasing the money needs a note."}
        )
    tied = withholding.tied_to
    if milestone_met(tied) is False:
        raise ValidationError(
            {
                "milestone": (
                    f"The milestone is not met yet: {_milestone_text(tied)} is "
                    f"{_state(tied)}. Release the money when it is met, or retain it."
                )
            }
        )
    withholding = workflow.transition(
        withholding,
        WithholdingStatus.RELEASED,
        membership=membership,
        action="withholding.release",
        reason=f"Released by {membership.user}: {note}",
        now=now,
        fields={"released_by": membership.user, "release_note": note},
        validate=lambda obj: obj.full_clean(),
    )
    _tell_provider(
        withholding,
        message=(
            f"{withholding.contract.reference}: {_money(withholding.amount, withholding.tenant)} "
            f"withheld from the {_period_label(withholding.period)} payment is released: {note}"
        ),
        key="released",
    )
    return withholding


@transaction.atomic
def withholding_retain(
    *, membership: Membership, withholding: Withholding, note: str, now: datetime | None = None
) -> Withholding:
    """Retain withheld money for good, the milestone not met, saying why."""
    require(membership, "withholding.retain")
    withholding = _locked(membership, withholding)
    WITHHOLDING_WORKFLOW.check(withholding.status, WithholdingStatus.RETAINED)
    note = _text(note)
    if not note:
        raise ValidationError(
            {"retain_note": "Say why the money is retained: which milestone was not met."}
        )
    tied = withholding.tied_to
    if milestone_met(tied) is True:
        raise ValidationError(
            {
                "milestone": (
                    f"The milestone is met: {_milestone_text(tied)} is {_state(tied)}. "
                    "Release the money instead."
                )
            }
        )
    withholding = workflow.transition(
        withholding,
        WithholdingStatus.RETAINED,
        membership=membership,
        action="withholding.retain",
        reason=f"Retained by {membership.user}: {note}",
        now=now,
        fields={"retained_by": membership.user, "retain_note": note},
        validate=lambda obj: obj.full_clean(),
    )
    _tell_provider(
        withholding,
        message=(
            f"{withholding.contract.reference}: {_money(withholding.amount, withholding.tenant)} "
            f"withheld from the {_period_label(withholding.period)} payment is retained: {note}"
        ),
        key="retained",
    )
    return withholding


def _state(obj) -> str:
    """Where the tied object stands, in words (its status; a step, the contract's level)."""
    kind, _ = tie_of(obj)
    if kind == "escalation_step":
        record = EscalationRecord.objects.filter(contract_id=obj.contract_id).first()
        level = record.level if record else 0
        return f"{obj.get_status_display().lower()} and the contract is at level {level}"
    display = getattr(obj, "get_status_display", None)
    return display().lower() if display else "open"
