"""Formal notices, both ways: reads, writes and the overdue-notice signal rule.

A commissioner's notice to the provider (``to_provider``) needs the contract at
level 3 or above; a provider's notice to the commissioner (``to_commissioner``:
late payment, referrals not made as agreed, data not shared, other) is raised
at any level by a member of the contract's own provider. Only the receiving
side responds; a response after the deadline is accepted and marked late. The
issuing side closes a responded notice (with a note) or withdraws one still
awaiting response. The status moves only along ``NOTICE_TRANSITIONS`` through
``oversight.workflow``; every write is saved with history (who and why) and
the receiving side is notified.

The actions (apps.py): the commissioning side issues, closes and withdraws its
notices with ``notice.issue`` and answers the provider's with ``notice.answer``;
the provider raises, closes and withdraws its own with ``notice.raise`` and
responds to the commissioner's with ``notice.respond``.
"""

from __future__ import annotations

from datetime import date, datetime

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight import clock, formatting, workflow
from oversight.history import save_with_history
from oversight.models import Membership, Role
from oversight.notifications import Notice, notification_recipients, notify_many
from oversight.permissions import require
from oversight.registry import SignalFinding

from . import selectors
from .ladder import response_deadline
from .models import (
    NOTICE_TRANSITIONS,
    TEXT_MAX,
    EscalationStep,
    FormalNotice,
    NoticeDirection,
    NoticeGround,
    NoticeKind,
    NoticeStatus,
    StepStatus,
)

NOTICE_WORKFLOW = workflow.declare(
    FormalNotice,
    NOTICE_TRANSITIONS,
    noun="notice",
    stamps={
        NoticeStatus.RESPONDED: "responded_at",
        NoticeStatus.CLOSED: "closed_at",
        NoticeStatus.WITHDRAWN: "withdrawn_at",
    },
    refusal="This notice is {source}: it cannot become {target}.",
)

# Notification kind (registered in apps.py) and signal kind (the rule below).
NOTICE_KIND = "formal_notice"
NOTICE_OVERDUE = "notice_overdue"

# The lowest level at which the commissioner issues a formal notice (DESIGN.md:
# level 3, "Formal performance notice").
NOTICE_LEVEL = 3
# The ladder's level whose response days a request for explanation takes
# (DESIGN.md: level 1, "Informal concern: advisory contact, a targeted review
# and a request for explanation"); the request itself is allowed at any level.
REQUEST_LEVEL = 1

COMMISSIONING_SIDE = (Role.COMMISSIONER, Role.ADMIN)


# --- reads -----------------------------------------------------------------------


def notices_visible(*, membership: Membership | None) -> QuerySet[FormalNotice]:
    """The notices of the contracts the membership sees (a provider: its own)."""
    if membership is None:
        return FormalNotice.objects.none()
    return FormalNotice.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def notices_detailed(*, membership: Membership | None) -> QuerySet[FormalNotice]:
    return notices_visible(membership=membership).select_related(
        "contract__provider", "step", "issued_by", "responded_by", "closed_by"
    )


def notice_get(*, membership: Membership | None, pk) -> FormalNotice:
    return get_object_or_404(notices_detailed(membership=membership), pk=pk)


def awaiting_response(*, membership: Membership | None, contract: Contract) -> list[FormalNotice]:
    """A contract's notices still awaiting a response, soonest deadline first (one query)."""
    return list(
        notices_visible(membership=membership)
        .filter(contract_id=contract.pk, status=NoticeStatus.ISSUED)
        .select_related("issued_by")
        .order_by("response_due_on", "id")
    )


def is_overdue(notice: FormalNotice, today: date) -> bool:
    return notice.status == NoticeStatus.ISSUED and notice.response_due_on < today


# --- who may do what -------------------------------------------------------------


def issuing_action(direction: str) -> str:
    """The action of the side that issues (and closes, withdraws) a notice."""
    return "notice.raise" if direction == NoticeDirection.TO_COMMISSIONER else "notice.issue"


def responding_action(direction: str) -> str:
    """The action of the side that responds to a notice."""
    return "notice.answer" if direction == NoticeDirection.TO_COMMISSIONER else "notice.respond"


def _own_provider(membership: Membership, contract: Contract, what: str) -> None:
    if membership.role == Role.PROVIDER and membership.provider_id != contract.provider_id:
        raise PermissionDenied(f"This contract is another provider's: you cannot {what}.")


def _side(membership: Membership, notice: FormalNotice, action: str, what: str) -> None:
    require(membership, action)
    if notice.tenant_id != membership.tenant_id:
        raise PermissionDenied("This notice is not one of your organisation's.")
    _own_provider(membership, notice.contract, what)


# --- writes ----------------------------------------------------------------------


def default_deadline(contract: Contract, today: date) -> date | None:
    """Today plus the response deadline of the stage the contract sits at (the
    ladder in force's before its first step), in calendar or working days as
    the stage counts them; None where it sets none."""
    level, stage = selectors.contract_position(contract=contract)
    if stage is None:
        _, stages = selectors.ladder_in_force(tenant_id=contract.tenant_id)
        stage = next((s for s in stages if s.level == level), None)
    return response_deadline(stage, today, tenant=contract.tenant)


def request_deadline(contract: Contract, today: date) -> date | None:
    """Today plus the response days of the ladder's level-1 stage (informal
    concern), whatever level the contract sits at; None where it sets none.
    (Counts days as ``default_deadline`` does.)"""
    _, stages = selectors.ladder_in_force(tenant_id=contract.tenant_id)
    stage = next((s for s in stages if s.level == REQUEST_LEVEL), None)
    return response_deadline(stage, today, tenant=contract.tenant)


def contract_signal(contract: Contract, signal_id):
    """One of the contract's own signals (escalation imports no performance
    module: by app label), or None for an id of another contract or tenant."""
    if not signal_id:
        return None
    model = apps.get_model("performance", "Signal")
    return model._default_manager.filter(
        pk=signal_id, tenant_id=contract.tenant_id, contract_id=contract.pk
    ).first()


def _recipients(notice: FormalNotice):
    contract = notice.contract
    if notice.from_provider:
        members = notification_recipients(tenant=contract.tenant, roles=COMMISSIONING_SIDE)
    else:
        members = notification_recipients(
            tenant=contract.tenant, roles=[Role.PROVIDER], contract=contract
        )
    return [m.user for m in members]


def _issuers(notice: FormalNotice):
    contract = notice.contract
    if notice.from_provider:
        members = notification_recipients(
            tenant=contract.tenant, roles=[Role.PROVIDER], contract=contract
        )
    else:
        members = notification_recipients(tenant=contract.tenant, roles=COMMISSIONING_SIDE)
    return [m.user for m in members]


def _tell(notice: FormalNotice, users, message: str, key: str, *, email: bool = False) -> None:
    users = list(users)
    if not users:
        return
    contract = notice.contract
    notify_many(
        [
            Notice(
                tenant=contract.tenant,
                users=users,
                kind=NOTICE_KIND,
                message=message,
                url=notice.get_absolute_url(),
                dedupe_key=f"formal-notice:{notice.pk}:{key}",
                email_subject=(
                    f"{contract.reference}: {notice.get_kind_display().lower()}" if email else None
                ),
                email_body=(
                    f"{message}\n\nConcerns: {notice.concerns}\n\n"
                    f"Required actions: {notice.required_actions}\n\nSign in to respond."
                    if email
                    else None
                ),
            )
        ]
    )


@transaction.atomic
def notice_issue(
    *,
    membership: Membership,
    contract: Contract,
    concerns: str,
    required_actions: str,
    response_due_on: date | None = None,
    ground: str = "",
    step: EscalationStep | None = None,
    kind: str = NoticeKind.FORMAL,
    signal_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> FormalNotice:
    """Issue a formal notice on ``contract``: the commissioner's to the provider
    (a commissioner or admin, the contract at level 3 or above), or the
    provider's to the commissioner (a member of the contract's own provider, at
    any level). ``response_due_on`` defaults to today plus the current stage's
    response days.

    ``kind="explanation"`` is the commissioner's informal request for an
    explanation (the ladder's level 1): allowed at any level, its deadline by
    default today plus the level-1 stage's response days. Either may carry
    ``signal_id``, one of the contract's signals, attached as a reference with
    its words then."""
    if membership.role == Role.PROVIDER:
        direction, action = NoticeDirection.TO_COMMISSIONER, "notice.raise"
    else:
        direction, action = NoticeDirection.TO_PROVIDER, "notice.issue"
    require(membership, action)
    if contract.tenant_id != membership.tenant_id:
        raise PermissionDenied("This contract is not one of your organisation's.")
    _own_provider(membership, contract, "raise a notice on it")
    contract = Contract.objects.select_for_update().select_related("tenant").get(pk=contract.pk)
    today = clock.tenant_today(contract.tenant)
    errors: dict[str, str] = {}
    request = kind == NoticeKind.EXPLANATION
    if kind not in NoticeKind.values:
        known = ", ".join(f"{v} ({label.lower()})" for v, label in NoticeKind.choices)
        errors["kind"] = f"Say what kind of notice it is: one of {known}."
    elif request and direction == NoticeDirection.TO_COMMISSIONER:
        errors["kind"] = (
            "A request for explanation is the commissioner's: raise a concern or a formal "
            "notice to the commissioner instead."
        )
    signal = contract_signal(contract, signal_id)
    if signal_id and signal is None:
        errors["signal"] = (
            f"Attach one of {contract.reference}'s signals, or none "
            f"(signal {signal_id} is not one)."
        )
    if direction == NoticeDirection.TO_PROVIDER:
        level = selectors.contract_level(contract=contract)
        if level < NOTICE_LEVEL and not request:
            errors["contract"] = (
                f"{contract.reference} is at escalation level {level}: a formal notice to the "
                f"provider is issued at level {NOTICE_LEVEL} (formal performance notice) or "
                "above. Propose the escalation step first, or ask the provider for an "
                "explanation."
            )
        if ground:
            errors["ground"] = (
                "A commissioner's notice has no ground: say what it is about in the concerns."
            )
    else:
        if ground not in NoticeGround.values:
            known = ", ".join(f"{v} ({label.lower()})" for v, label in NoticeGround.choices)
            errors["ground"] = f"Say what the notice is about: one of {known}."
    concerns = (concerns or "").strip()
    required_actions = (required_actions or "").strip()
    if not concerns:
        errors["concerns"] = "Describe the concerns the notice is about."
    if not required_actions:
        errors["required_actions"] = "Say what the other side is required to do."
    if response_due_on is None:
        if request:
            response_due_on = request_deadline(contract, today)
            missing = "the ladder's level 1 (informal concern) sets none."
        else:
            response_due_on = default_deadline(contract, today)
            missing = "the contract's current level sets none."
        if response_due_on is None:
            errors["response_due_on"] = f"Give the response deadline: {missing}"
    elif response_due_on <= today:
        errors["response_due_on"] = (
            f"The response deadline must be after today ({formatting.date(today)})."
        )
    if step is not None and (
        step.tenant_id != contract.tenant_id
        or step.contract_id != contract.pk
        or step.status != StepStatus.EFFECTIVE
    ):
        errors["step"] = (
            f"Link a step in effect on {contract.reference}, or none (step {step.pk} is not one)."
        )
    if errors:
        raise ValidationError(errors)
    notice = FormalNotice(
        tenant_id=contract.tenant_id,
        contract=contract,
        kind=kind,
        direction=direction,
        ground=ground,
        concerns=concerns,
        required_actions=required_actions,
        step=step,
        issued_by=membership.user,
        issued_at=now or clock.now(),
        response_due_on=response_due_on,
    )
    if signal is not None:
        notice.signal_type = ContentType.objects.get_for_model(type(signal))
        notice.signal_id = signal.pk
        notice.signal_text = formatting.shorten(signal.message, TEXT_MAX)
    notice.full_clean()
    if request:
        default_reason = f"Explanation requested by {membership.user}" + (
            f" on signal {signal.pk}" if signal is not None else ""
        )
        told = (
            f"The commissioner asks for an explanation on {contract.reference}: respond by "
            f"{formatting.date(response_due_on)}."
        )
    else:
        default_reason = (
            f"Formal notice issued by {membership.user} ({notice.get_direction_display().lower()})"
        )
        who = "The provider" if notice.from_provider else "The commissioner"
        told = (
            f"{who} has issued a formal notice on {contract.reference}: respond by "
            f"{formatting.date(response_due_on)}."
        )
    reason = (reason or "").strip() or default_reason
    save_with_history(notice, user=membership.user, reason=reason)
    _tell(notice, _recipients(notice), told, "issued", email=True)
    return notice


def _locked(notice: FormalNotice, membership: Membership) -> FormalNotice:
    if notice.tenant_id != membership.tenant_id:
        raise PermissionDenied("This notice is not one of your organisation's.")
    return (
        FormalNotice.objects.select_for_update()
        .select_related("contract__tenant")
        .get(pk=notice.pk)
    )


@transaction.atomic
def notice_respond(
    *, membership: Membership, notice: FormalNotice, response: str, now: datetime | None = None
) -> FormalNotice:
    """The receiving side responds; after the deadline the response is kept and
    marked late."""
    notice = _locked(notice, membership)
    action = responding_action(notice.direction)
    _side(membership, notice, action, "respond to its notices")
    response = (response or "").strip()
    NOTICE_WORKFLOW.check(notice.status, NoticeStatus.RESPONDED)
    if not response:
        raise ValidationError({"response": "Write the response to the notice."})
    now = now or clock.now()
    late = clock.tenant_today(notice.contract.tenant) > notice.response_due_on
    notice = workflow.transition(
        notice,
        NoticeStatus.RESPONDED,
        membership=membership,
        action=action,
        reason=f"Responded by {membership.user}" + (" after the deadline" if late else ""),
        now=now,
        fields={"response": response, "responded_by": membership.user, "responded_late": late},
    )
    _tell(
        notice,
        _issuers(notice),
        f"Your formal notice on {notice.contract.reference} has a response"
        + (" (late)." if late else "."),
        "responded",
    )
    return notice


def _end(membership, notice, to, *, note, now, verb):
    notice = _locked(notice, membership)
    action = issuing_action(notice.direction)
    _side(membership, notice, action, f"{verb} its notices")
    NOTICE_WORKFLOW.check(notice.status, to)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"close_note": f"Say why the notice is {verb}d."})
    fields = {"close_note": note}
    if to == NoticeStatus.CLOSED:
        fields["closed_by"] = membership.user
    notice = workflow.transition(
        notice,
        to,
        membership=membership,
        action=action,
        reason=f"{verb.capitalize()}d by {membership.user}: {note}",
        now=now,
        fields=fields,
    )
    _tell(
        notice,
        _recipients(notice),
        f"The formal notice on {notice.contract.reference} was {verb}d: {note}",
        verb,
    )
    return notice


@transaction.atomic
def notice_close(
    *, membership: Membership, notice: FormalNotice, note: str, now: datetime | None = None
) -> FormalNotice:
    """The issuing side closes a responded notice, saying why."""
    return _end(membership, notice, NoticeStatus.CLOSED, note=note, now=now, verb="close")


@transaction.atomic
def notice_withdraw(
    *, membership: Membership, notice: FormalNotice, note: str, now: datetime | None = None
) -> FormalNotice:
    """The issuing side withdraws a notice still awaiting a response, saying why."""
    return _end(membership, notice, NoticeStatus.WITHDRAWN, note=note, now=now, verb="withdraw")


# --- the signal rule (registered in apps.py) ---------------------------------------


def overdue_notices_rule(*, contract_ids, today: date) -> list[SignalFinding]:
    """``notice_overdue`` for each notice past its deadline without a response,
    in one query: high for the commissioner's notice the provider has not
    answered, medium for the provider's notice the commissioner has not."""
    overdue = (
        FormalNotice.objects.filter(
            contract_id__in=list(contract_ids),
            status=NoticeStatus.ISSUED,
            response_due_on__lt=today,
        )
        .order_by("contract_id", "response_due_on", "id")
        .values_list("pk", "contract_id", "direction", "response_due_on", "issued_at", "kind")
    )
    findings = []
    for pk, contract_id, direction, due, issued_at, kind in overdue:
        days = (today - due).days
        to_provider = direction == NoticeDirection.TO_PROVIDER
        late = f"due {formatting.date(due)}: {days} day{'s' if days != 1 else ''} late."
        if kind == NoticeKind.EXPLANATION:
            # The informal step (level 1): a missed answer weighs less than a
            # formal notice's.
            severity = "medium"
            message = f"The provider has not answered request for explanation {pk}, {late}"
        else:
            severity = "high" if to_provider else "medium"
            message = (
                f"{'The provider' if to_provider else 'The commissioner'} has not "
                f"responded to formal notice {pk} "
                f"({'commissioner to provider' if to_provider else 'provider to commissioner'}"
                f"), {late}"
            )
        findings.append(
            SignalFinding(
                contract_id=contract_id,
                kind=NOTICE_OVERDUE,
                key=f"{NOTICE_OVERDUE}:{pk}",
                severity=severity,
                message=message,
                evidence={
                    "notice": pk,
                    "notice_kind": kind,
                    "direction": direction,
                    "response_due_on": due.isoformat(),
                    "issued_at": issued_at.isoformat(),
                    "days_late": days,
                },
            )
        )
    return findings
