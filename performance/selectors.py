"""What a membership may read of KPIs, calendars, returns, signals and risk
scores. Everything hangs off ``contracts_visible``, so a provider sees only its
own contracts' data."""

from __future__ import annotations

from datetime import date

from django.db.models import Case, CharField, F, OuterRef, QuerySet, Subquery, Value, When
from django.shortcuts import get_object_or_404

from contracts.selectors import contracts_visible
from oversight.models import Membership

from .calendar import DRAFT, DUE, LATE, MISSING
from .models import (
    ContractKpi,
    Kpi,
    ReportingPeriod,
    Return,
    ReturnStatus,
    ReturnValue,
    RiskScore,
    Signal,
    Unit,
)


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
    ).select_related(
        "contract__provider", "period", "submitted_by", "reviewed_by", "entered_on_behalf_by"
    )


def return_get(*, membership: Membership | None, pk) -> Return:
    return get_object_or_404(returns_visible(membership=membership), pk=pk)


def return_values(*, ret: Return) -> QuerySet[ReturnValue]:
    """A return's values (the return was itself read through a selector)."""
    return ret.values.select_related("contract_kpi__kpi", "site").order_by(
        "-contract_kpi__is_priority", "contract_kpi__kpi__code", "site__name"
    )


# --- where each period stands ------------------------------------------------

# The rule is ``calendar.period_state``; ``with_state`` is the same rule in SQL.
RECEIVED = [status for status in ReturnStatus.values if status != DRAFT]


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


def with_state(periods: QuerySet[ReportingPeriod], *, today: date) -> QuerySet[ReportingPeriod]:
    """``periods_with_state`` rows annotated with ``state``, ``calendar.period_state``
    worked out in SQL, and the latest version's id, so that a page or an API
    filter can filter, count and paginate by state without a query per period."""
    latest = Return.objects.filter(period=OuterRef("pk")).order_by("-version")
    return periods.annotate(
        latest_pk=Subquery(latest.values("pk")[:1]),
        latest_on_behalf=Subquery(latest.values("entered_on_behalf_by_id")[:1]),
        state=Case(
            When(latest_status__in=RECEIVED, then=F("latest_status")),
            When(missing_after__lt=today, then=Value(MISSING)),
            When(due_date__lt=today, then=Value(LATE)),
            default=Value(DUE),
            output_field=CharField(),
        ),
    )


# --- signals, risk scores and KPI series -----------------------------------------------


def signals_visible(*, membership: Membership | None) -> QuerySet[Signal]:
    if membership is None:
        return Signal.objects.none()
    return Signal.objects.filter(
        tenant_id=membership.tenant_id, contract__in=contracts_visible(membership=membership)
    ).select_related("contract", "contract_kpi__kpi", "acknowledged_by")


def signal_get(*, membership: Membership | None, pk) -> Signal:
    return get_object_or_404(signals_visible(membership=membership), pk=pk)


def risk_scores_visible(*, membership: Membership | None) -> QuerySet[RiskScore]:
    if membership is None:
        return RiskScore.objects.none()
    return RiskScore.objects.filter(
        tenant_id=membership.tenant_id, contract__in=contracts_visible(membership=membership)
    ).select_related("contract")


def kpi_series(
    *, membership: Membership | None, contract_id: int
) -> dict[int, list[tuple[date, float]]]:
    """Each contract KPI's accepted values in period order, in one query.

    Site-level values become one value per period as the signals engine
    rolls them up (counts add up, other units average), so the charts show
    the series the signals were computed on."""
    rows = (
        ReturnValue.objects.filter(
            tenant_id=membership.tenant_id if membership else None,
            return_obj__contract__in=contracts_visible(membership=membership),
            return_obj__contract_id=contract_id,
            return_obj__status=ReturnStatus.ACCEPTED,
        )
        .order_by("return_obj__period__start")
        .values_list(
            "contract_kpi_id", "return_obj__period__start", "value", "contract_kpi__kpi__unit"
        )
    )
    by_period: dict[int, dict[date, list[float]]] = {}
    units: dict[int, str] = {}
    for ck, start, value, unit in rows:
        by_period.setdefault(ck, {}).setdefault(start, []).append(float(value))
        units[ck] = unit
    return {
        ck: [
            (start, sum(values) if units[ck] == Unit.COUNT else sum(values) / len(values))
            for start, values in periods.items()
        ]
        for ck, periods in by_period.items()
    }
