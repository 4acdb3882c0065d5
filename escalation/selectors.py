"""What a membership may read of the ladder and the escalation records.

The ladder is the commissioning organisation's own configuration: every
internal role reads it, a provider membership does not (its contracts' pages
show the levels they need). Escalation steps hang off contracts, so a provider
sees only its own contracts' steps (``contracts_visible``).
"""

from datetime import date

from django.db.models import Count, Prefetch, QuerySet
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight.models import Membership, Role

from .ladder import DEFAULT_STAGES
from .models import (
    EscalationRecord,
    EscalationStep,
    FrontlineReport,
    LadderStage,
    LadderVersion,
    ProviderConcern,
    StepEvidence,
    StepStatus,
    SupportiveMeasure,
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


# --- Supportive measures, provider concerns, frontline reports -------------------


def measures_visible(*, membership: Membership | None) -> QuerySet[SupportiveMeasure]:
    """Measures on the contracts the membership sees (a provider: its own)."""
    if membership is None:
        return SupportiveMeasure.objects.none()
    return SupportiveMeasure.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def measures_detailed(*, membership: Membership | None) -> QuerySet[SupportiveMeasure]:
    return measures_visible(membership=membership).select_related(
        "tenant", "contract", "owner", "created_by", "ended_by"
    )


def measure_get(*, membership: Membership | None, pk) -> SupportiveMeasure:
    return get_object_or_404(measures_detailed(membership=membership), pk=pk)


def concerns_visible(*, membership: Membership | None) -> QuerySet[ProviderConcern]:
    """Concerns on the contracts the membership sees (a provider: its own)."""
    if membership is None:
        return ProviderConcern.objects.none()
    return ProviderConcern.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def concerns_detailed(*, membership: Membership | None) -> QuerySet[ProviderConcern]:
    return concerns_visible(membership=membership).select_related(
        "tenant", "contract__provider", "raised_by", "acknowledged_by"
    )


def concern_get(*, membership: Membership | None, pk) -> ProviderConcern:
    return get_object_or_404(concerns_detailed(membership=membership), pk=pk)


def concerns_raised(*, contract_ids, since) -> list[dict]:
    """Exported for other apps (the signals engine's 'silence' rule): the
    concerns raised on ``contract_ids`` at or after ``since`` (a datetime), as
    plain rows ``{"id", "contract_id", "raised_at", "status"}``, oldest first,
    in one query. It reads no membership: callers pass contract ids they have
    already read through their own selectors."""
    return list(
        ProviderConcern.objects.filter(contract_id__in=list(contract_ids), raised_at__gte=since)
        .order_by("raised_at", "id")
        .values("id", "contract_id", "raised_at", "status")
    )


def frontline_reports_visible(*, membership: Membership | None) -> QuerySet[FrontlineReport]:
    """The commissioning organisation's reports; a provider's member sees none."""
    if membership is None or membership.role == Role.PROVIDER:
        return FrontlineReport.objects.none()
    return FrontlineReport.objects.filter(tenant_id=membership.tenant_id)


def frontline_reports_detailed(*, membership: Membership | None) -> QuerySet[FrontlineReport]:
    return frontline_reports_visible(membership=membership).select_related(
        "tenant", "provider", "contract", "reported_by"
    )


def frontline_report_get(*, membership: Membership | None, pk) -> FrontlineReport:
    return get_object_or_404(frontline_reports_detailed(membership=membership), pk=pk)


def frontline_months(today: date, count: int = 12) -> list[date]:
    """The first days of the ``count`` months ending with ``today``'s, oldest first."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def frontline_counts(*, membership: Membership | None, months: list[date]) -> list[dict]:
    """Reports per provider, category and month over ``months`` (first days),
    in one query: ``[{"provider_id", "provider__name", "category", "month",
    "count"}]``."""
    if not months:
        return []
    last = months[-1]
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return list(
        frontline_reports_visible(membership=membership)
        .filter(occurred_on__gte=months[0], occurred_on__lt=end)
        .annotate(month=TruncMonth("occurred_on"))
        .values("provider_id", "provider__name", "category", "month")
        .annotate(count=Count("id"))
        .order_by("provider__name", "provider_id", "category", "month")
    )
