"""What a membership may read of KPIs, calendars, returns, signals and risk
scores. Everything hangs off ``contracts_visible``, so a provider sees only its
own contracts' data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import (
    Case,
    CharField,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
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


def contract_kpis_reported(*, membership: Membership | None, contract) -> QuerySet[ContractKpi]:
    """The KPIs a contract reports, as its returns list them (priority
    measures first, then by code), with their phase targets for the target
    in force."""
    return (
        contract_kpis_visible(membership=membership)
        .filter(contract=contract)
        .prefetch_related("phase_targets")
        .order_by("-is_priority", "kpi__code")
    )


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


# --- what the returns pages show: the values grid and the timeliness window ------------


@dataclass
class ValuesGrid:
    """What a contract's values-against-target page reads, for one page of
    periods: its KPIs (with phase targets) and sites, the live return of each
    period (submitted or accepted, with its values) and each value by
    ``(period id, contract KPI id, site id or None)``."""

    contract_kpis: list[ContractKpi]
    sites: list
    live: dict[int, Return]
    values: dict[tuple[int, int, int | None], ReturnValue]


def values_grid(
    *, membership: Membership | None, contract, periods: list[ReportingPeriod]
) -> ValuesGrid:
    """The values of ``periods`` of a contract read through ``contracts_visible``,
    in five queries whatever the number of KPIs, sites, periods and values."""
    contract_kpis = list(contract_kpis_reported(membership=membership, contract=contract))
    sites = list(contract.sites.order_by("name"))
    live = {
        ret.period_id: ret
        for ret in returns_visible(membership=membership)
        .filter(
            period__in=[p.pk for p in periods],
            status__in=[ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED],
        )
        .prefetch_related("values")
    }
    values = {
        (ret.period_id, v.contract_kpi_id, v.site_id): v
        for ret in live.values()
        for v in ret.values.all()
    }
    return ValuesGrid(contract_kpis=contract_kpis, sites=sites, live=live, values=values)


@dataclass(frozen=True)
class DueRow:
    """A period that has fallen due, with when its first version was submitted."""

    provider_id: int
    provider_name: str
    due_date: date
    first_submitted_at: datetime | None


def due_periods_latest(
    *, membership: Membership | None, today: date, per_provider: int
) -> list[DueRow]:
    """Each provider's ``per_provider`` most recent periods due before
    ``today``, with the moment the first version of each was submitted (None
    if none was), in one query (a window over each provider's periods)."""
    first = (
        Return.objects.filter(period=OuterRef("pk"), submitted_at__isnull=False)
        .order_by("submitted_at")
        .values("submitted_at")[:1]
    )
    rows = (
        periods_visible(membership=membership)
        .filter(due_date__lt=today)
        .annotate(
            first_submitted=Subquery(first),
            rank=Window(
                RowNumber(),
                partition_by=[F("contract__provider_id")],
                order_by=[F("due_date").desc(), F("pk").desc()],
            ),
        )
        .filter(rank__lte=per_provider)
        .values_list(
            "contract__provider_id", "contract__provider__name", "due_date", "first_submitted"
        )
    )
    return [DueRow(*row) for row in rows]
