"""What a membership may read of KPIs, calendars and returns. Everything hangs
off ``contracts_visible``, so a provider sees only its own contracts' data."""

from __future__ import annotations

from datetime import date

from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from contracts.selectors import contracts_visible
from oversight.models import Membership

from .models import ContractKpi, Kpi, ReportingPeriod, Return, ReturnStatus, ReturnValue


def kpis_visible(*, membership: Membership | None) -> QuerySet[Kpi]:
    if membership is None:
        return Kpi.objects.none()
    return Kpi.objects.filter(tenant_id=membership.tenant_id)


def kpi_get(*, membership: Membership | None, pk) -> Kpi:
    return get_object_or_404(kpis_visible(membership=membership), pk=pk)


def contract_kpis_visible(*, membership: Membership | None) -> QuerySet[ContractKpi]:
    if membership is None:
        return ContractKpi.objects.none()
    return ContractKpi.objects.filter(
        tenant_id=membership.tenant_id, contract__in=contracts_visible(membership=membership)
    ).select_related("kpi", "contract")


def contract_kpi_get(*, membership: Membership | None, pk) -> ContractKpi:
    return get_object_or_404(contract_kpis_visible(membership=membership), pk=pk)


def periods_visible(*, membership: Membership | None) -> QuerySet[ReportingPeriod]:
    if membership is None:
        return ReportingPeriod.objects.none()
    return ReportingPeriod.objects.filter(
        tenant_id=membership.tenant_id, contract__in=contracts_visible(membership=membership)
    )


def period_get(*, membership: Membership | None, pk) -> ReportingPeriod:
    return get_object_or_404(
        periods_visible(membership=membership).select_related("contract"), pk=pk
    )


def returns_visible(*, membership: Membership | None) -> QuerySet[Return]:
    if membership is None:
        return Return.objects.none()
    return Return.objects.filter(
        tenant_id=membership.tenant_id, contract__in=contracts_visible(membership=membership)
    ).select_related("contract", "period", "submitted_by", "reviewed_by")


def return_get(*, membership: Membership | None, pk) -> Return:
    return get_object_or_404(returns_visible(membership=membership), pk=pk)


def return_values(*, ret: Return) -> QuerySet[ReturnValue]:
    """A return's values (the return was itself read through a selector)."""
    return ret.values.select_related("contract_kpi__kpi", "site").order_by(
        "-contract_kpi__is_priority", "contract_kpi__kpi__code", "site__name"
    )


# --- where each period stands ------------------------------------------------

DUE, LATE, MISSING = "due", "late", "missing"


def period_state(
    *, due_date: date, missing_after: date, latest_status: str | None, today: date
) -> str:
    """One word for a period: the latest live return's status, else due / late /
    missing by the calendar. A draft does not count as received."""
    if latest_status and latest_status != ReturnStatus.DRAFT:
        return latest_status
    if today > missing_after:
        return MISSING
    if today > due_date:
        return LATE
    return DUE


def periods_with_state(*, membership: Membership | None) -> QuerySet[ReportingPeriod]:
    """Periods annotated with their latest return's status and version, in one
    query (no query per period)."""
    latest = Return.objects.filter(period=OuterRef("pk")).order_by("-version")
    return (
        periods_visible(membership=membership)
        .select_related("contract__provider")
        .annotate(
            latest_status=Subquery(latest.values("status")[:1]),
            latest_version=Subquery(latest.values("version")[:1]),
            latest_submitted_at=Subquery(latest.values("submitted_at")[:1]),
        )
    )
