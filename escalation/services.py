"""Writes to the ladder and the escalation records.

Each service checks the role, keeps every reference inside the caller's tenant
(and the contract), validates with messages that name the field, and saves with
history (who and why). A refused write writes nothing. A step's status moves
only along ``STEP_TRANSITIONS`` through ``oversight.workflow``.

The rules of a step (DESIGN.md, "The default escalation ladder"):

- more than one level at once needs a written ``justification``;
- a level whose stage requires executive approval (4 and 5 by default) makes
  the step pending until an executive other than the proposer approves it (or
  rejects it, with a reason);
- de-escalation needs ``recovery_evidence``;
- entering a level that reports weekly switches the contract to weekly
  returns, and leaving for a level that does not switches it back, through
  ``contracts.services.contract_update`` (which runs the contract-saved hooks
  that keep the reporting calendar in step);
- the provider is notified when a step takes effect, and acknowledges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from contracts.models import Contract, Frequency
from contracts.services import contract_update
from oversight import clock, formatting, workflow
from oversight.history import save_with_history
from oversight.models import Membership, Role, Tenant
from oversight.notifications import notification_recipients, notify
from oversight.permissions import can, require

from . import selectors
from .ladder import DEFAULT_STAGES, EDITABLE_FIELDS
from .models import (
    LINKED_EVIDENCE,
    STEP_TRANSITIONS,
    EscalationRecord,
    EscalationStep,
    EvidenceKind,
    LadderStage,
    LadderVersion,
    StepEvidence,
    StepStatus,
)
from .presets import preset_get, presets

STEP_WORKFLOW = workflow.declare(
    EscalationStep,
    STEP_TRANSITIONS,
    noun="escalation step",
    stamps={StepStatus.EFFECTIVE: "effective_at", StepStatus.REJECTED: "rejected_at"},
    refusal="This step is {source}: it cannot become {target}.",
)

# Notification kinds (registered in apps.py).
STEP_NOTICE = "escalation_step"
APPROVAL_NOTICE = "escalation_approval"

SNAPSHOT_MAX = 1_000


# --- the ladder ------------------------------------------------------------------


DEFAULT_LADDER_REASON = "The default escalation ladder, written on first use"


@transaction.atomic
def ladder_for(tenant: Tenant, *, user=None, reason: str = DEFAULT_LADDER_REASON) -> LadderVersion:
    """The tenant's ladder in force; on first use (a write: the first step, or
    an admin adopting it to edit it) the default ladder is written as version 1
    (``user`` None: the product wrote it). Pages and the API only read
    (``selectors.ladder_in_force``)."""
    current = selectors.ladder_current(tenant_id=tenant.pk)
    if current is not None:
        return current
    Tenant.objects.select_for_update().get(pk=tenant.pk)  # one first use at a time
    current = selectors.ladder_current(tenant_id=tenant.pk)
    if current is not None:
        return current
    version = LadderVersion(tenant=tenant, number=1, created_by=user, note=reason)
    save_with_history(version, user=user, reason=reason)
    for values in DEFAULT_STAGES:
        stage = LadderStage(tenant=tenant, version=version, **values)
        save_with_history(stage, user=user, reason=reason)
    return version


@transaction.atomic
def ladder_adopt(*, membership: Membership, reason: str) -> LadderVersion:
    """The admin writes the default ladder as version 1, to edit it; refused
    once the tenant has a ladder."""
    require(membership, "ladder.change")
    current = selectors.ladder_current(tenant_id=membership.tenant_id)
    if current is not None:
        raise ValidationError(
            {
                "version": f"The ladder is already written (version {current.number} is in "
                "force): edit that one."
            }
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the ladder is adopted."})
    return ladder_for(membership.tenant, user=membership.user, reason=reason)


@transaction.atomic
def ladder_revise(
    *,
    membership: Membership,
    version: LadderVersion,
    changes: dict[int, dict],
    reason: str,
) -> LadderVersion:
    """Write the next version of the ladder: ``version``'s stages with
    ``changes`` ({level: {field: value}}) applied. A version is never changed
    once written, so steps taken under it keep its definitions."""
    require(membership, "ladder.change")
    if version.tenant_id != membership.tenant_id:
        raise PermissionDenied("This ladder is not one of your organisation's.")
    Tenant.objects.select_for_update().get(pk=membership.tenant_id)
    current = selectors.ladder_current(tenant_id=membership.tenant_id)
    if current is None or current.pk != version.pk:
        raise ValidationError(
            {
                "version": f"Version {version.number} is not the ladder in force "
                f"(version {current.number if current else '—'} is): edit the one in force."
            }
        )
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the ladder changes."})
    old = {stage.level: stage for stage in selectors.stages_of(version)}
    errors: dict[str, str] = {}
    unknown = sorted(set(changes) - set(old))
    if unknown:
        levels = ", ".join(str(level) for level in sorted(old))
        errors["stages"] = (
            f"The ladder has no level {', '.join(map(str, unknown))}: its levels are {levels}."
        )
    new_version = LadderVersion(
        tenant_id=membership.tenant_id,
        number=version.number + 1,
        created_by=membership.user,
        note=reason.strip(),
    )
    new_stages, changed = [], False
    for level, stage in old.items():
        values = {name: getattr(stage, name) for name in EDITABLE_FIELDS}
        for name, value in (changes.get(level) or {}).items():
            if name not in EDITABLE_FIELDS:
                errors[f"level_{level}_{name}"] = f"Level {level}: {name} cannot be changed."
                continue
            if isinstance(value, str):
                value = value.strip()
            changed = changed or value != values[name]
            values[name] = value
        candidate = LadderStage(
            tenant_id=membership.tenant_id, version=new_version, level=level, **values
        )
        try:
            candidate.full_clean(exclude=["version", "tenant"], validate_unique=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors[f"level_{level}_{name}"] = f"Level {level}: {' '.join(messages)}"
        new_stages.append(candidate)
    if not changed and not errors:
        errors["stages"] = (
            f"Nothing changed: the new version would be the same as version {version.number}."
        )
    if errors:
        raise ValidationError(errors)
    save_with_history(new_version, user=membership.user, reason=reason)
    for stage in new_stages:
        stage.version = new_version
        save_with_history(stage, user=membership.user, reason=reason)
    return new_version


@transaction.atomic
def ladder_preset_adopt(*, membership: Membership, preset_key: str, reason: str) -> LadderVersion:
    """Write a preset (escalation/presets/) as the tenant's next ladder version
    (version 1 if the tenant has none yet), with ``reason`` as its note; the
    admin edits it from there like any other version. Steps already taken keep
    the stages they were taken under. Refused while a contract sits at a level
    the preset does not have (it would be left on no level of the ladder)."""
    require(membership, "ladder.change")
    preset = preset_get(preset_key)
    if preset is None:
        known = ", ".join(presets())
        raise ValidationError({"preset": f"There is no ladder preset {preset_key!r} ({known})."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the ladder changes to this preset."})
    tenant = Tenant.objects.select_for_update().get(pk=membership.tenant_id)
    levels = {stage.level for stage in preset.stages}
    stranded = (
        EscalationRecord.objects.filter(tenant_id=tenant.pk)
        .exclude(level__in=levels)
        .select_related("contract")
        .order_by("contract__reference")
    )
    stranded = list(stranded[:6])
    if stranded:
        references = ", ".join(r.contract.reference for r in stranded[:5])
        more = " and more" if len(stranded) > 5 else ""
        raise ValidationError(
            {
                "preset": f"{preset.name} has levels 0 to {max(levels)}, but {references}{more} "
                "sit at a level it does not have: move them to one of its levels first."
            }
        )
    current = selectors.ladder_current(tenant_id=tenant.pk)
    version = LadderVersion(
        tenant=tenant,
        number=current.number + 1 if current else 1,
        created_by=membership.user,
        note=reason,
    )
    stages = preset.ladder_stages(tenant_id=tenant.pk)
    for stage in stages:
        stage.full_clean(exclude=["version", "tenant"], validate_unique=False)
    save_with_history(version, user=membership.user, reason=reason)
    for stage in stages:
        stage.version = version
        save_with_history(stage, user=membership.user, reason=reason)
    return version


# --- steps -----------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceItem:
    """One item of evidence as a caller gives it: a linked row (``object_id``
    of a signal or a return of the contract) or a description (``text``)."""

    kind: str
    object_id: int | None = None
    text: str = ""


def _evidence_rows(
    tenant_id: int, contract: Contract, items: list[EvidenceItem]
) -> tuple[list[StepEvidence], list[str]]:
    """The evidence rows to write, and a message for each item that is refused."""
    rows, problems = [], []
    for number, item in enumerate(items, start=1):
        kind = str(item.kind or "")
        if kind not in EvidenceKind.values:
            known = ", ".join(EvidenceKind.values)
            problems.append(f"Item {number}: {kind!r} is not a kind of evidence ({known}).")
            continue
        label = EvidenceKind(kind).label.lower()
        text = (item.text or "").strip()
        if kind in LINKED_EVIDENCE:
            app_label, model_name = LINKED_EVIDENCE[kind]
            model = apps.get_model(app_label, model_name)
            obj = (
                model._default_manager.filter(pk=item.object_id).first() if item.object_id else None
            )
            # A row of another tenant or contract reads as a missing one.
            if obj is None or obj.tenant_id != tenant_id or obj.contract_id != contract.pk:
                problems.append(
                    f"Item {number}: give the id of one of {contract.reference}'s {label}s"
                    + (f" ({item.object_id} is not one)." if item.object_id else ".")
                )
                continue
            snapshot = formatting.shorten(f"{obj}", SNAPSHOT_MAX)
            if text:
                snapshot = formatting.shorten(f"{snapshot} — {text}", SNAPSHOT_MAX)
            rows.append(
                StepEvidence(
                    tenant_id=tenant_id,
                    kind=kind,
                    content_type=ContentType.objects.get_for_model(model),
                    object_id=obj.pk,
                    text=snapshot,
                )
            )
        else:
            if item.object_id:
                problems.append(
                    f"Item {number}: a {label} is described in words, not linked by id."
                )
                continue
            if not text:
                problems.append(f"Item {number}: describe the {label}.")
                continue
            rows.append(StepEvidence(tenant_id=tenant_id, kind=kind, text=text))
    return rows, problems


def _stage_at(version: LadderVersion, level: int) -> LadderStage | None:
    return version.stages.filter(level=level).first()


def _reporting_change(step: EscalationStep, contract: Contract) -> tuple[str, str]:
    """(frequency the step sets, the contract's before) or ("", "") for none.
    Entering a weekly level makes returns weekly; leaving for a level that is
    not weekly restores what the contract had before its weekly run began."""
    target = step.stage.reporting_frequency
    current = contract.reporting_frequency
    if target == Frequency.WEEKLY and current != Frequency.WEEKLY:
        return Frequency.WEEKLY, current
    if target != Frequency.WEEKLY and current == Frequency.WEEKLY:
        entered = (
            EscalationStep.objects.filter(
                contract_id=contract.pk,
                status=StepStatus.EFFECTIVE,
                reporting_set_to=Frequency.WEEKLY,
            )
            .order_by("-effective_at", "-id")
            .first()
        )
        if entered is not None:  # weekly because of the ladder, not by its terms
            return entered.reporting_before or target, current
    return "", ""


def _contract_changer(step: EscalationStep, membership: Membership) -> Membership:
    """Whose membership changes the contract's reporting when the step takes
    effect: the decider's if their role may change contracts, else the
    proposer's (an executive approves; the commissioner who proposed the step
    proposed its consequences)."""
    if can(membership, "contract.change"):
        return membership
    proposer = (
        Membership.objects.select_related("tenant", "user")
        .filter(user_id=step.proposed_by_id, tenant_id=step.tenant_id, is_active=True)
        .first()
    )
    if proposer is None or not can(proposer, "contract.change"):
        raise ValidationError(
            {
                "status": "The step changes the contract's reporting, but its proposer can no "
                "longer change contracts: reject it and have a commissioner propose it again."
            }
        )
    return proposer


def _provider_users(contract: Contract):
    return [
        m.user
        for m in notification_recipients(
            tenant=contract.tenant, roles=[Role.PROVIDER], contract=contract
        )
    ]


def _take_effect(
    step: EscalationStep, contract: Contract, membership: Membership, now: datetime
) -> tuple[dict, list]:
    """What a step changes when it takes effect, as fields of the step to save
    with it, and the provider users to notify afterwards (``_after_effect``)."""
    set_to, before = _reporting_change(step, contract)
    users = _provider_users(contract)
    fields = {
        "reporting_set_to": set_to,
        "reporting_before": before,
        "provider_notified_at": now if users else None,
    }
    return fields, users


def _after_effect(
    step: EscalationStep, contract: Contract, membership: Membership, users, reason: str
) -> None:
    """The record's level, the contract's reporting and the provider's notice."""
    record = EscalationRecord.objects.select_for_update().get(contract_id=contract.pk)
    record.level = step.to_level
    record.stage = step.stage
    save_with_history(record, user=membership.user, reason=reason)
    if step.reporting_set_to:
        changer = _contract_changer(step, membership)
        contract_update(
            membership=changer,
            contract=contract,
            data={"reporting_frequency": step.reporting_set_to},
            reason=(
                f"Level {step.to_level} ({step.stage.name}) took effect: returns become "
                f"{Frequency(step.reporting_set_to).label.split(' ')[0].lower()} "
                f"(escalation step {step.pk})"
            ),
        )
    if users:
        notify(
            tenant=contract.tenant,
            users=users,
            kind=STEP_NOTICE,
            message=(
                f"{contract.reference} moves to escalation level {step.to_level}: "
                f"{step.stage.name}. Next review {formatting.date(step.next_review_on)}. "
                "Read the reasons and acknowledge the step."
            ),
            url=step.get_absolute_url(),
            dedupe_key=f"escalation-step:{step.pk}",
            email_subject=(
                f"{contract.reference}: escalation level {step.to_level} ({step.stage.name})"
            ),
            email_body=(
                f"The commissioner has moved {contract.reference} from level {step.from_level} "
                f"to level {step.to_level} ({step.stage.name}).\n\nReason: {step.reason}\n\n"
                f"Next review: {formatting.date(step.next_review_on)}.\n"
                "Sign in to read the evidence and acknowledge the step."
            ),
        )


@transaction.atomic
def escalation_step_propose(
    *,
    membership: Membership,
    contract: Contract,
    to_level: int,
    reason: str,
    proportionality_note: str,
    next_review_on: date | None,
    justification: str = "",
    recovery_evidence: str = "",
    evidence: list[EvidenceItem] | None = None,
    now: datetime | None = None,
) -> EscalationStep:
    """Propose a move of ``contract`` to ``to_level``. It takes effect at once,
    unless its stage needs executive approval: then it waits (pending)."""
    require(membership, "escalation.propose")
    if contract.tenant_id != membership.tenant_id:
        raise PermissionDenied("This contract is not one of your organisation's.")
    now = now or clock.now()
    contract = Contract.objects.select_for_update().select_related("tenant").get(pk=contract.pk)
    version = ladder_for(contract.tenant)
    record = EscalationRecord.objects.filter(contract_id=contract.pk).first()
    from_level = record.level if record else 0
    errors: dict[str, str] = {}

    pending = selectors.pending_step(contract=contract)
    stage = _stage_at(version, to_level) if isinstance(to_level, int) else None
    if pending is not None:
        errors["to_level"] = (
            f"A step to level {pending.to_level} is waiting for executive approval: it is "
            "approved or rejected before another step is proposed."
        )
    elif stage is None:
        levels = ", ".join(str(s.level) for s in selectors.stages_of(version))
        errors["to_level"] = f"Choose a level of the ladder ({levels})."
    elif to_level == from_level:
        errors["to_level"] = (
            f"The contract is already at level {from_level} ({stage.name}): choose another level."
        )
    reason = (reason or "").strip()
    justification = (justification or "").strip()
    proportionality_note = (proportionality_note or "").strip()
    recovery_evidence = (recovery_evidence or "").strip()
    if not reason:
        errors["reason"] = "Say why the contract moves to this level."
    if not proportionality_note:
        errors["proportionality_note"] = (
            "Say why this step is proportionate: why not a smaller or a larger one."
        )
    if stage is not None and abs(to_level - from_level) > 1 and not justification:
        errors["justification"] = (
            f"This step moves {abs(to_level - from_level)} levels at once (from {from_level} "
            f"to {to_level}): write the justification for not going one level at a time."
        )
    if stage is not None and to_level < from_level and not recovery_evidence:
        errors["recovery_evidence"] = (
            f"De-escalating from level {from_level} to {to_level} needs recorded evidence of "
            "recovery: say what shows the provider has recovered."
        )
    today = clock.tenant_today(contract.tenant)
    if next_review_on is None:
        errors["next_review_on"] = "Give the date of the next review."
    elif next_review_on <= today:
        errors["next_review_on"] = (
            f"The next review date must be after today ({formatting.date(today)})."
        )
    rows, problems = _evidence_rows(membership.tenant_id, contract, list(evidence or []))
    if problems:
        errors["evidence"] = " ".join(problems)
    if errors:
        raise ValidationError(errors)

    needs_approval = stage.executive_approval_required
    step = EscalationStep(
        tenant_id=membership.tenant_id,
        contract=contract,
        from_level=from_level,
        to_level=to_level,
        stage=stage,
        status=StepStatus.PENDING if needs_approval else StepStatus.EFFECTIVE,
        reason=reason,
        justification=justification,
        proportionality_note=proportionality_note,
        recovery_evidence=recovery_evidence,
        next_review_on=next_review_on,
        proposed_by=membership.user,
        proposed_at=now,
    )
    users = []
    if not needs_approval:
        fields, users = _take_effect(step, contract, membership, now)
        for name, value in fields.items():
            setattr(step, name, value)
        step.decided_by = membership.user
        step.effective_at = now
    step.full_clean()
    if record is None:
        record = EscalationRecord(tenant_id=membership.tenant_id, contract=contract, level=0)
        save_with_history(record, user=membership.user, reason=reason)
    save_with_history(step, user=membership.user, reason=reason)
    for row in rows:
        row.step = step
        save_with_history(row, user=membership.user, reason=reason)
    if needs_approval:
        _ask_for_approval(step, contract)
    else:
        _after_effect(step, contract, membership, users, reason)
    return step


def _ask_for_approval(step: EscalationStep, contract: Contract) -> None:
    executives = [
        m.user
        for m in notification_recipients(tenant=contract.tenant, roles=[Role.EXECUTIVE])
        if m.user_id != step.proposed_by_id
    ]
    if executives:
        notify(
            tenant=contract.tenant,
            users=executives,
            kind=APPROVAL_NOTICE,
            message=(
                f"{contract.reference}: a step to level {step.to_level} ({step.stage.name}) "
                "waits for your approval."
            ),
            url=step.get_absolute_url(),
            dedupe_key=f"escalation-approval:{step.pk}",
        )


def _locked_step(step: EscalationStep, membership: Membership) -> EscalationStep:
    if step.tenant_id != membership.tenant_id:
        raise PermissionDenied("This step is not one of your organisation's.")
    return (
        EscalationStep.objects.select_for_update()
        .select_related("contract__tenant", "stage")
        .get(pk=step.pk)
    )


def _not_the_proposer(step: EscalationStep, membership: Membership, verb: str) -> None:
    if step.proposed_by_id == membership.user_id:
        raise ValidationError(
            {
                "decided_by": f"You proposed this step: another executive {verb} it "
                "(the approver cannot be the proposer)."
            }
        )


@transaction.atomic
def escalation_step_approve(
    *, membership: Membership, step: EscalationStep, note: str = "", now: datetime | None = None
) -> EscalationStep:
    """An executive approves a pending step: it takes effect now."""
    require(membership, "escalation.approve")
    step = _locked_step(step, membership)
    _not_the_proposer(step, membership, "approves")
    STEP_WORKFLOW.check(step.status, StepStatus.EFFECTIVE)
    contract = (
        Contract.objects.select_for_update().select_related("tenant").get(pk=step.contract_id)
    )
    record = EscalationRecord.objects.get(contract_id=contract.pk)
    if record.level != step.from_level:
        raise ValidationError(
            {
                "status": f"The contract has moved to level {record.level} since this step "
                f"was proposed from level {step.from_level}: reject it and propose again."
            }
        )
    now = now or clock.now()
    note = (note or "").strip()
    reason = f"Approved by {membership.user}" + (f": {note}" if note else "")
    fields, users = _take_effect(step, contract, membership, now)
    step = workflow.transition(
        step,
        StepStatus.EFFECTIVE,
        membership=membership,
        action="escalation.approve",
        reason=reason,
        now=now,
        fields={**fields, "decided_by": membership.user, "decision_note": note},
    )
    _after_effect(step, contract, membership, users, reason)
    return step


@transaction.atomic
def escalation_step_reject(
    *, membership: Membership, step: EscalationStep, note: str, now: datetime | None = None
) -> EscalationStep:
    """An executive rejects a pending step, saying why; the contract stays where it is."""
    require(membership, "escalation.reject")
    step = _locked_step(step, membership)
    _not_the_proposer(step, membership, "rejects")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"decision_note": "Say why the step is rejected."})
    step = workflow.transition(
        step,
        StepStatus.REJECTED,
        membership=membership,
        action="escalation.reject",
        reason=f"Rejected by {membership.user}: {note}",
        now=now,
        fields={"decided_by": membership.user, "decision_note": note},
    )
    notify(
        tenant=step.contract.tenant,
        users=[step.proposed_by],
        kind=STEP_NOTICE,
        message=(
            f"{step.contract.reference}: your step to level {step.to_level} was rejected: {note}"
        ),
        url=step.get_absolute_url(),
        dedupe_key=f"escalation-rejected:{step.pk}",
    )
    return step


@transaction.atomic
def escalation_step_acknowledge(
    *, membership: Membership, step: EscalationStep, now: datetime | None = None
) -> EscalationStep:
    """The provider acknowledges a step in effect on one of its contracts."""
    require(membership, "escalation.acknowledge")
    step = _locked_step(step, membership)
    if membership.provider_id != step.contract.provider_id:
        raise PermissionDenied("This step is on another provider's contract.")
    if step.status != StepStatus.EFFECTIVE:
        raise ValidationError(
            {
                "acknowledged_at": f"Only a step in effect is acknowledged; this one is "
                f"{step.get_status_display().lower()}."
            }
        )
    if step.acknowledged_at is not None:
        raise ValidationError(
            {
                "acknowledged_at": f"This step was acknowledged on "
                f"{formatting.date(step.acknowledged_at.date())} by {step.acknowledged_by}."
            }
        )
    step.acknowledged_at = now or clock.now()
    step.acknowledged_by = membership.user
    save_with_history(
        step, user=membership.user, reason=f"Acknowledged by the provider ({membership.user})"
    )
    return step
