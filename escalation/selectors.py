"""What a membership may read of the ladder and the escalation records.

The ladder is the commissioning organisation's own configuration: every
internal role reads it, a provider membership does not (its contracts' pages
show the levels they need). Escalation steps hang off contracts, so a provider
sees only its own contracts' steps (``contracts_visible``).
"""

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight.models import Membership, Role

from .ladder import DEFAULT_STAGES
from .models import (
    EscalationRecord,
    EscalationStep,
    LadderStage,
    LadderVersion,
    StepEvidence,
    StepStatus,
)


def ladder_versions_visible(*, membership: Membership | None) -> QuerySet[LadderVersion]:
    if membership is None or membership.role == Role.PROVIDER:
        return LadderVersion.objects.none()
    return LadderVersion.objects.filter(tenant_id=membership.tenant_id)


def ladder_version_get(*, membership: Membership | None, pk) -> LadderVersion:
    qs = ladder_versions_visible(membership=membership).select_related("created_by", "tenant")
    return get_object_or_404(qs, pk=pk)


def ladder_current(*, tenant_id: int) -> LadderVersion | None:
    """The version in force (the newest), or None before the first use."""
    return LadderVersion.objects.filter(tenant_id=tenant_id).order_by("-number").first()


def stages_of(version: LadderVersion) -> list[LadderStage]:
    return list(version.stages.order_by("level"))


def ladder_in_force(*, tenant_id: int) -> tuple[LadderVersion | None, list[LadderStage]]:
    """The version in force and its stages; before the ladder is first written
    (a first step, or an admin adopting it), no version and the default stages,
    unsaved. Reading never writes."""
    version = ladder_current(tenant_id=tenant_id)
    if version is not None:
        return version, stages_of(version)
    return None, [LadderStage(tenant_id=tenant_id, **values) for values in DEFAULT_STAGES]


def escalation_steps_visible(*, membership: Membership | None) -> QuerySet[EscalationStep]:
    if membership is None:
        return EscalationStep.objects.none()
    return EscalationStep.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def escalation_steps_detailed(*, membership: Membership | None) -> QuerySet[EscalationStep]:
    """Steps with what their pages and the API show, in a fixed number of queries."""
    return (
        escalation_steps_visible(membership=membership)
        .select_related(
            "contract",
            "stage__version",
            "proposed_by",
            "decided_by",
            "acknowledged_by",
        )
        .prefetch_related(
            Prefetch("evidence", queryset=StepEvidence.objects.order_by("id")),
        )
    )


def escalation_step_get(*, membership: Membership | None, pk) -> EscalationStep:
    return get_object_or_404(escalation_steps_detailed(membership=membership), pk=pk)


def contract_level(*, contract: Contract) -> int:
    """The contract's current level: 0 until its first step takes effect."""
    record = EscalationRecord.objects.filter(contract_id=contract.pk).first()
    return record.level if record else 0


def contract_position(*, contract: Contract) -> tuple[int, LadderStage | None]:
    """(level, the stage definition it sits at) in one query; (0, None) before
    the first step takes effect."""
    record = (
        EscalationRecord.objects.filter(contract_id=contract.pk).select_related("stage").first()
    )
    return (record.level, record.stage) if record else (0, None)


def contract_steps(*, membership: Membership | None, contract: Contract):
    """A contract's steps, newest first."""
    return escalation_steps_detailed(membership=membership).filter(contract_id=contract.pk)


def pending_step(*, contract: Contract) -> EscalationStep | None:
    return EscalationStep.objects.filter(contract_id=contract.pk, status=StepStatus.PENDING).first()
