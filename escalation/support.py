"""Writes of supportive measures, provider concerns and frontline reports.

Each service checks the role, keeps every reference inside the caller's tenant
(and, for a provider, its own contracts: another provider's contract answers
404 like a missing one), validates with messages that name the field, and
saves with history (who and why). A refused write writes nothing. Statuses
move only along the declared maps through ``oversight.workflow``:

- a supportive measure: active → ended, with an outcome note (commissioners
  and admins start and end measures, at any level of the ladder);
- a provider concern: raised (by the provider's member, on its own contract)
  → acknowledged (by a commissioner or admin, with a note);
- a frontline report (commissioners and admins) has no status: it is counted
  per provider and category by month.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from contracts.models import Contract, Provider
from contracts.selectors import contracts_visible
from oversight import clock, formatting, workflow
from oversight.history import save_with_history
from oversight.models import Membership, Role
from oversight.notifications import notification_recipients, notify
from oversight.permissions import require, require_same_tenant

from .models import (
    CONCERN_TRANSITIONS,
    MEASURE_TRANSITIONS,
    ConcernStatus,
    FrontlineReport,
    MeasureStatus,
    ProviderConcern,
    SupportiveMeasure,
)

MEASURE_WORKFLOW = workflow.declare(
    SupportiveMeasure,
    MEASURE_TRANSITIONS,
    noun="supportive measure",
    stamps={MeasureStatus.ENDED: "ended_at"},
    refusal="This measure is {source}: it cannot become {target}.",
)
CONCERN_WORKFLOW = workflow.declare(
    ProviderConcern,
    CONCERN_TRANSITIONS,
    noun="concern",
    stamps={ConcernStatus.ACKNOWLEDGED: "acknowledged_at"},
    refusal="This concern is {source}: it cannot become {target}.",
)

# Notification kinds (registered in apps.py).
CONCERN_NOTICE = "provider_concern"


def _text(value) -> str:
    return (value or "").strip()


def _reason(reason: str, what: str) -> str:
    reason = _text(reason)
    if not reason:
        raise ValidationError({"reason": f"Say why {what}."})
    return reason


# --- supportive measures ---------------------------------------------------------


def _owner_problem(membership: Membership, contract: Contract, owner) -> str:
    """A measure's owner is an active member of the tenant: on the commissioning
    side, or working for the contract's own provider (never another provider's)."""
    if owner is None:
        return "Name the member who owns the measure."
    members = Membership.objects.filter(
        tenant_id=membership.tenant_id, user_id=owner.pk, is_active=True
    )
    if not (
        members.exclude(role=Role.PROVIDER).exists()
        or members.filter(role=Role.PROVIDER, provider_id=contract.provider_id).exists()
    ):
        return (
            "The owner must be an active member of your organisation, or of "
            f"{contract.reference}'s provider."
        )
    return ""


@transaction.atomic
def measure_start(
    *,
    membership: Membership,
    contract: Contract,
    kind: str,
    description: str,
    owner,
    starts_on: date | None,
    review_on: date | None,
    recovery_expectation: str,
    reason: str,
) -> SupportiveMeasure:
    """Start a supportive measure on ``contract`` (at whatever level it sits)."""
    require(membership, "measure.start")
    require_same_tenant(membership, contract, "contract")
    reason = _reason(reason, "the measure is started")
    errors: dict[str, str] = {}
    problem = _owner_problem(membership, contract, owner)
    if problem:
        errors["owner"] = problem
    if starts_on is None:
        errors["starts_on"] = "Give the date the measure starts."
    if review_on is None:
        errors["review_on"] = "Give the date the measure is reviewed."
    elif starts_on and review_on < starts_on:
        errors["review_on"] = (
            f"The review date ({formatting.date(review_on)}) cannot be before the start "
            f"date ({formatting.date(starts_on)})."
        )
    measure = SupportiveMeasure(
        tenant_id=membership.tenant_id,
        contract=contract,
        kind=kind,
        description=_text(description),
        owner=owner,
        starts_on=starts_on,
        review_on=review_on,
        recovery_expectation=_text(recovery_expectation),
        status=MeasureStatus.ACTIVE,
        created_by=membership.user,
        created_at=clock.now(),
    )
    try:
        measure.full_clean(
            exclude=[name for name in ("owner", "starts_on", "review_on") if name in errors]
        )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    save_with_history(measure, user=membership.user, reason=reason)
    return measure


@transaction.atomic
def measure_end(
    *,
    membership: Membership,
    measure: SupportiveMeasure,
    outcome_note: str,
    now: datetime | None = None,
) -> SupportiveMeasure:
    """End an active measure, recording what it achieved (required)."""
    require(membership, "measure.end")
    require_same_tenant(membership, measure, "measure")
    measure = SupportiveMeasure.objects.select_for_update().get(pk=measure.pk)
    outcome_note = _text(outcome_note)
    MEASURE_WORKFLOW.check(measure.status, MeasureStatus.ENDED)
    if not outcome_note:
        raise ValidationError(
            {"outcome_note": "Say what the measure achieved: ending it needs an outcome note."}
        )
    return workflow.transition(
        measure,
        MeasureStatus.ENDED,
        membership=membership,
        action="measure.end",
        reason=f"Ended by {membership.user}: {outcome_note}",
        now=now,
        fields={"ended_by": membership.user, "outcome_note": outcome_note},
        validate=lambda obj: obj.full_clean(),
    )


# --- provider concerns -----------------------------------------------------------


@transaction.atomic
def concern_raise(
    *,
    membership: Membership,
    contract: Contract,
    drifting: str,
    drivers: str,
    mitigation: str,
    support_requested: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> ProviderConcern:
    """The provider's member raises an early-warning concern on one of its own
    contracts; another provider's (or tenant's) contract reads as missing."""
    require(membership, "concern.raise")
    if not contracts_visible(membership=membership).filter(pk=contract.pk).exists():
        raise Http404("No such contract")
    concern = ProviderConcern(
        tenant_id=membership.tenant_id,
        contract=contract,
        drifting=_text(drifting),
        drivers=_text(drivers),
        mitigation=_text(mitigation),
        support_requested=_text(support_requested),
        raised_by=membership.user,
        raised_at=now or clock.now(),
        status=ConcernStatus.RAISED,
    )
    concern.full_clean()
    save_with_history(
        concern,
        user=membership.user,
        reason=_text(reason) or f"Early-warning concern raised by {membership.user}",
    )
    staff = [
        m.user
        for m in notification_recipients(
            tenant=membership.tenant, roles=[Role.COMMISSIONER, Role.ADMIN]
        )
    ]
    if staff:
        notify(
            tenant=membership.tenant,
            users=staff,
            kind=CONCERN_NOTICE,
            message=(
                f"{contract.reference}: the provider raised an early-warning concern: "
                f"{formatting.shorten(concern.drifting, 120)}"
            ),
            url=concern.get_absolute_url(),
            dedupe_key=f"provider-concern:{concern.pk}",
        )
    return concern


@transaction.atomic
def concern_acknowledge(
    *, membership: Membership, concern: ProviderConcern, note: str, now: datetime | None = None
) -> ProviderConcern:
    """A commissioner or admin acknowledges a raised concern, with a note."""
    require(membership, "concern.acknowledge")
    require_same_tenant(membership, concern, "concern")
    concern = (
        ProviderConcern.objects.select_for_update()
        .select_related("contract", "tenant")
        .get(pk=concern.pk)
    )
    CONCERN_WORKFLOW.check(concern.status, ConcernStatus.ACKNOWLEDGED)
    note = _text(note)
    if not note:
        raise ValidationError(
            {"acknowledgement_note": "Write a note to the provider: what you will do about it."}
        )
    concern = workflow.transition(
        concern,
        ConcernStatus.ACKNOWLEDGED,
        membership=membership,
        action="concern.acknowledge",
        reason=f"Acknowledged by {membership.user}: {note}",
        now=now,
        fields={"acknowledged_by": membership.user, "acknowledgement_note": note},
        validate=lambda obj: obj.full_clean(),
    )
    users = [concern.raised_by] if concern.raised_by.is_active else []
    if users:
        notify(
            tenant=concern.tenant,
            users=users,
            kind=CONCERN_NOTICE,
            message=f"{concern.contract.reference}: your concern was acknowledged: {note}",
            url=concern.get_absolute_url(),
            dedupe_key=f"provider-concern-acknowledged:{concern.pk}",
        )
    return concern


# --- frontline reports -----------------------------------------------------------


@transaction.atomic
def frontline_report_create(
    *,
    membership: Membership,
    provider: Provider | None,
    contract: Contract | None,
    category: str,
    occurred_on: date | None,
    description: str,
    reason: str,
) -> FrontlineReport:
    """Commissioner staff report a problem with a provider (optionally on one
    of its contracts); the date of the problem is not after today."""
    require(membership, "frontline_report.create")
    reason = _reason(reason, "the report is made")
    errors: dict[str, str] = {}
    if provider is None or provider.tenant_id != membership.tenant_id:
        errors["provider"] = "Choose one of your organisation's providers."
    elif contract is not None and (
        contract.tenant_id != membership.tenant_id or contract.provider_id != provider.pk
    ):
        errors["contract"] = f"Choose one of {provider.name}'s contracts, or none."
    today = clock.tenant_today(membership.tenant)
    if occurred_on is None:
        errors["occurred_on"] = "Give the date of the problem."
    elif occurred_on > today:
        errors["occurred_on"] = (
            f"The date of the problem cannot be after today ({formatting.date(today)})."
        )
    report = FrontlineReport(
        tenant_id=membership.tenant_id,
        provider=provider if "provider" not in errors else None,
        contract=contract if not errors else None,
        category=category,
        occurred_on=occurred_on,
        description=_text(description),
        reported_by=membership.user,
        reported_at=clock.now(),
    )
    try:
        report.full_clean(exclude=["provider", "contract", "occurred_on"])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    save_with_history(report, user=membership.user, reason=reason)
    return report
