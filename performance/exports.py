"""What performance lets other feature apps read (pyproject.toml's import-linter
``ignore_imports`` lists each importer, e.g. "escalation.** -> performance.exports").

Small, plain functions over a contract's KPIs, so that an app that links its
rows to contract KPIs (escalation's improvement-plan actions) never reaches into
performance's models or charts itself:

- ``contract_kpi_choices``: a contract's KPIs as (id, label), for a form;
- ``kpi_values``: the accepted values of given contract KPIs (optionally since
  a date), with each KPI's name, unit and direction of improvement;
- ``kpi_charts``: the control charts of given contract KPIs with dated markers
  (an action done, an action verified) drawn on them as labelled lines;
- for a review meeting's pack (reviews/pack.py): ``measure_charts`` (a contract's
  control charts as plain data, for vector drawing), ``signals_since``,
  ``returns_timeliness``, ``narratives`` and, for the cadence, ``latest_risk_bands``.

Every read is scoped by the membership (a provider: its own contracts), or,
for the nightly signal rules that have no member, by the contract ids given.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from oversight import formatting

from . import charts
from .calendar import contract_month
from .dashboard import chart_rebases, period_frequencies
from .models import ContractKpi, Return, ReturnStatus, ReturnValue, RiskScore, Unit
from .selectors import contract_kpis_visible, periods_visible, returns_visible, signals_visible
from .spc import xmr
from .terms import target_in_force


def contract_kpi_choices(*, membership, contract) -> list[tuple[int, str]]:
    """The KPIs ``contract`` reports, priority measures first: ``(id, name)``."""
    rows = (
        contract_kpis_visible(membership=membership)
        .filter(contract_id=contract.pk)
        .order_by("-is_priority", "kpi__code")
        .values_list("pk", "kpi__name")
    )
    return list(rows)


def contract_kpis_of(*, tenant_id: int, contract_id: int) -> list[dict]:
    """A contract's KPIs for the system (the demo builder, no member):
    ``{"id", "code", "name", "direction"}``, priority measures first, in one query."""
    rows = (
        ContractKpi.objects.filter(tenant_id=tenant_id, contract_id=contract_id)
        .order_by("-is_priority", "kpi__code")
        .values_list("pk", "kpi__code", "kpi__name", "kpi__direction")
    )
    return [
        {"id": pk, "code": code, "name": name, "direction": direction}
        for pk, code, name, direction in rows
    ]


@dataclass(frozen=True)
class KpiValues:
    """One contract KPI's accepted values in period order."""

    contract_kpi_id: int
    contract_id: int
    name: str
    unit: str
    direction: str  # "higher", "lower" or "none" (performance.models.Direction)
    points: list[tuple[date, float]] = field(default_factory=list)  # (period start, value)


def kpi_values(*, contract_kpi_ids: Iterable[int], since: date | None = None) -> list[KpiValues]:
    """The accepted values of the given contract KPIs (of any contracts: the
    caller has scoped the ids), from the period starting on or after ``since``
    when given, in two queries. Site-level values become one value per period
    as the signals engine rolls them up (counts add up, other units average)."""
    ids = sorted(set(contract_kpi_ids))
    if not ids:
        return []
    kpis = {ck.pk: ck for ck in ContractKpi.objects.filter(pk__in=ids).select_related("kpi")}
    rows = ReturnValue.objects.filter(
        contract_kpi_id__in=ids, return_obj__status=ReturnStatus.ACCEPTED
    )
    if since is not None:
        rows = rows.filter(return_obj__period__start__gte=since)
    grouped: dict[int, dict[date, list[float]]] = {}
    for ck_id, start, value in rows.order_by("return_obj__period__start").values_list(
        "contract_kpi_id", "return_obj__period__start", "value"
    ):
        grouped.setdefault(ck_id, {}).setdefault(start, []).append(float(value))
    result = []
    for ck_id in ids:
        ck = kpis.get(ck_id)
        if ck is None:
            continue
        periods = grouped.get(ck_id, {})
        count = ck.kpi.unit == Unit.COUNT
        result.append(
            KpiValues(
                contract_kpi_id=ck_id,
                contract_id=ck.contract_id,
                name=ck.kpi.name,
                unit=ck.kpi.unit,
                direction=ck.kpi.direction,
                points=[
                    (start, sum(vs) if count else sum(vs) / len(vs))
                    for start, vs in sorted(periods.items())
                ],
            )
        )
    return result


# --- control charts with dated markers -----------------------------------------------


@dataclass(frozen=True)
class Marker:
    """A dated event to mark on one contract KPI's chart."""

    contract_kpi_id: int
    on: date
    label: str  # "Action 3 verified"
    kind: str = "done"  # "done" or "verified": how the line is drawn


MARKER_STYLES = {
    # A dotted blue line for "done (the provider says)", a solid green one for
    # "verified (the commissioner checked)"; both AA against white.
    "done": {"color": "#005ea2", "width": 2, "dash": "dot"},
    "verified": {"color": "#00703c", "width": 2, "dash": "solid"},
}
MARKER_LEGEND = {"done": "Action done (provider)", "verified": "Action verified"}
LABEL_ROWS = 4  # marker labels are stacked in this many rows so that near ones do not overlap
LABEL_ROW_HEIGHT = 0.085  # of the plot's height


@dataclass(frozen=True)
class MarkedChart:
    contract_kpi_id: int
    name: str
    direction_label: str
    chart: charts.KpiChart | None  # None: no accepted values yet
    markers: list[Marker]
    dom_id: str


def marker_position(on: date, starts: list[date]) -> float:
    """Where ``on`` falls on a chart's category axis of periods starting at
    ``starts`` (sorted): period ``i`` is drawn at ``i``, so a day part-way
    through it is ``i - 0.5`` plus the part gone; before the first period,
    ``-0.5``; after the last one's end (its length taken as the one before),
    just beyond the last point."""
    if not starts:
        return 0.0
    if on < starts[0]:
        return -0.5
    for i, start in enumerate(starts):
        following = starts[i + 1] if i + 1 < len(starts) else None
        if following is None:
            length = (start - starts[i - 1]).days if i else 30
            following_day = start.toordinal() + max(length, 1)
            if on.toordinal() >= following_day:
                return len(starts) - 0.5
            return i - 0.5 + (on.toordinal() - start.toordinal()) / max(length, 1)
        if on < following:
            return i - 0.5 + (on - start).days / max((following - start).days, 1)
    return len(starts) - 0.5  # pragma: no cover - the loop always returns


def add_markers(figure: dict, markers: list[Marker], starts: list[date]) -> dict:
    """``figure`` (a control chart) with each marker drawn as a vertical line
    and a label naming it and its date; labels on the right half of the axis
    sit left of their line, so that none runs off the figure. One legend entry
    per kind of line drawn."""
    layout = figure["layout"]
    shapes = list(layout.get("shapes", []))
    annotations = list(layout.get("annotations", []))
    middle = (len(starts) - 1) / 2
    for k, marker in enumerate(sorted(markers, key=lambda m: (m.on, m.label))):
        x = marker_position(marker.on, starts)
        style = MARKER_STYLES.get(marker.kind, MARKER_STYLES["done"])
        shapes.append(
            {
                "type": "line",
                "name": f"marker: {marker.label}",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": style,
            }
        )
        annotations.append(
            {
                "name": f"marker: {marker.label}",
                "xref": "x",
                "yref": "paper",
                "x": x,
                "y": 1 - LABEL_ROW_HEIGHT * (k % LABEL_ROWS),
                "yanchor": "top",
                "xanchor": "right" if x > middle else "left",
                "xshift": -3 if x > middle else 3,
                "text": f"{marker.label}, {formatting.date(marker.on)}",
                "showarrow": False,
                "font": {"size": 11, "color": style["color"]},
                "bgcolor": "rgba(255,255,255,0.85)",
            }
        )
    legend = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": MARKER_LEGEND[kind],
            "x": [None],
            "y": [None],
            "line": MARKER_STYLES[kind],
            "hoverinfo": "skip",
            "showlegend": True,
        }
        for kind in ("done", "verified")
        if any(m.kind == kind for m in markers)
    ]
    return {
        "data": [*figure["data"], *legend],
        "layout": {**layout, "shapes": shapes, "annotations": annotations},
    }


def kpi_charts(*, membership, contract, contract_kpi_ids: Iterable[int], markers: list[Marker]):
    """The control charts of ``contract``'s KPIs among ``contract_kpi_ids`` (as
    the dashboard draws them), each with its markers: ``[MarkedChart]`` in the
    dashboard's order, in a fixed number of queries."""
    ids = set(contract_kpi_ids)
    contract_kpis = list(
        contract_kpis_visible(membership=membership)
        .filter(contract_id=contract.pk, pk__in=ids)
        .prefetch_related("phase_targets", "rebases")
        .order_by("-is_priority", "kpi__code")
    )
    if not contract_kpis:
        return []
    series = {v.contract_kpi_id: v for v in kpi_values(contract_kpi_ids=ids)}
    frequencies = period_frequencies(membership, contract)
    result = []
    for ck in contract_kpis:
        points = series[ck.pk].points if ck.pk in series else []
        own = [m for m in markers if m.contract_kpi_id == ck.pk]
        chart = None
        if points:
            starts = [start for start, _ in points]
            chart = charts.kpi_chart(
                title=ck.kpi.name,
                periods=formatting.period_labels(starts, frequencies),
                values=[value for _, value in points],
                improvement=charts.IMPROVEMENT.get(ck.kpi.direction, "neutral"),
                target=[target_in_force(ck, start)[0] for start in starts],
                unit=ck.kpi.unit,
                **chart_rebases(ck, starts),
            )
            chart = _with_figure(chart, add_markers(chart.figure, own, starts))
        result.append(
            MarkedChart(
                contract_kpi_id=ck.pk,
                name=ck.kpi.name,
                direction_label=ck.kpi.get_direction_display(),
                chart=chart,
                markers=sorted(own, key=lambda m: (m.on, m.label)),
                dom_id=f"plan-kpi-{ck.pk}",
            )
        )
    return result


def _with_figure(chart: charts.KpiChart, figure: dict) -> charts.KpiChart:
    return replace(chart, figure=figure)


# --- what a review meeting's pack reads (reviews/pack.py) ----------------------------


def latest_risk_bands(*, tenant_id: int, contract_ids: Iterable[int]) -> dict[int, str]:
    """Each contract's latest risk band ("low" … "critical"), for the system
    (the meeting cadence, no member): one query; a contract never scored is absent."""
    rows = (
        RiskScore.objects.filter(tenant_id=tenant_id, contract_id__in=list(contract_ids))
        .order_by("contract_id", "-day")
        .values_list("contract_id", "band")
    )
    bands: dict[int, str] = {}
    for contract_id, band in rows:
        bands.setdefault(contract_id, band)
    return bands


def _number(value) -> float | None:
    return None if value is None else round(float(value), 6)


def measure_charts(*, membership, contract, priority_only: bool = False) -> list[dict]:
    """The contract's KPIs as plain, JSON-ready control charts (priority
    measures first): name, unit, the chart's sentence and icons' words, and per
    period its label, value, mean, process limits, target and point type, with
    the value as people read it. Three queries whatever the number of KPIs."""
    rows = contract_kpis_visible(membership=membership).filter(contract_id=contract.pk)
    if priority_only:
        rows = rows.filter(is_priority=True)
    contract_kpis = list(
        rows.select_related("kpi")
        .prefetch_related("phase_targets", "rebases")
        .order_by("-is_priority", "kpi__code")
    )
    if not contract_kpis:
        return []
    series = {
        v.contract_kpi_id: v for v in kpi_values(contract_kpi_ids=[c.pk for c in contract_kpis])
    }
    frequencies = period_frequencies(membership, contract)
    result = []
    for ck in contract_kpis:
        points = series[ck.pk].points if ck.pk in series else []
        starts = [start for start, _ in points]
        values = [value for _, value in points]
        targets = [target_in_force(ck, start)[0] for start in starts]
        improvement = charts.IMPROVEMENT.get(ck.kpi.direction, "neutral")
        entry = {
            "contract_kpi_id": ck.pk,
            "name": ck.kpi.name,
            "unit": ck.kpi.unit,
            "is_priority": ck.is_priority,
            "direction": ck.kpi.get_direction_display(),
            "summary": "",
            "variation": "",
            "assurance": "",
            "rebases": [],
            "points": [],
        }
        if points:
            labels = formatting.period_labels(starts, frequencies)
            rebases = chart_rebases(ck, starts)
            chart = charts.kpi_chart(
                title=ck.kpi.name,
                periods=labels,
                values=values,
                improvement=improvement,
                target=targets,
                unit=ck.kpi.unit,
                **rebases,
            )
            latest_target = next((t for t in reversed(targets) if t is not None), None)
            spc = xmr(
                values,
                improvement=improvement,
                target=latest_target,
                rebase_at=rebases["rebase_at"],
            )
            entry.update(
                summary=chart.summary,
                rebases=[
                    {"period": labels[i], "note": str(rebases["rebase_notes"].get(i, ""))}
                    for i in rebases["rebase_at"]
                ],
                variation=chart.variation_label,
                assurance=chart.assurance_label,
                points=[
                    {
                        "period": labels[i],
                        "value": _number(p.value),
                        "value_text": formatting.number(p.value, ck.kpi.unit),
                        "mean": _number(p.mean),
                        # drawn clipped to what the unit can be, as the dashboard does
                        "lpl": _number(formatting.clip_to_unit(p.lpl, ck.kpi.unit)[0]),
                        "upl": _number(formatting.clip_to_unit(p.upl, ck.kpi.unit)[0]),
                        "target": _number(targets[i]),
                        "point_type": p.point_type,
                    }
                    for i, p in enumerate(spc.points)
                ],
            )
        result.append(entry)
    return result


def signals_since(*, membership, contract, since) -> list[dict]:
    """The contract's signals opened at or after ``since`` (a datetime; all
    when None), most recent first, in one query: ``{"id", "kind", "severity",
    "status", "message", "kpi", "opened_at", "url"}``."""
    rows = signals_visible(membership=membership).filter(contract_id=contract.pk)
    if since is not None:
        rows = rows.filter(opened_at__gte=since)
    return [
        {
            "id": s.pk,
            "kind": s.get_kind_display(),
            "severity": s.get_severity_display(),
            "status": s.get_status_display(),
            "message": s.message,
            "kpi": s.contract_kpi.kpi.name if s.contract_kpi_id else "",
            "opened_at": s.opened_at,
            "url": reverse(
                "signal_detail", kwargs={"tenant_slug": membership.tenant.slug, "signal_pk": s.pk}
            ),
        }
        for s in rows.select_related("contract_kpi__kpi").order_by("-opened_at", "-id")
    ]


def returns_timeliness(*, membership, contract, today: date, last: int = 6) -> list[dict]:
    """The contract's ``last`` periods due before ``today``, newest first, each
    with its due date, the day its first version was submitted (the tenant's
    calendar) and "on time", "late" or "not received": one query."""
    first = (
        Return.objects.filter(period=OuterRef("pk"), submitted_at__isnull=False)
        .order_by("submitted_at")
        .values("submitted_at")[:1]
    )
    rows = (
        periods_visible(membership=membership)
        .filter(contract_id=contract.pk, due_date__lt=today)
        .annotate(first_submitted=Subquery(first))
        .order_by("-due_date", "-pk")[:last]
    )
    zone = zoneinfo.ZoneInfo(membership.tenant.time_zone)
    out = []
    for period in rows:
        submitted = (
            timezone.localtime(period.first_submitted, zone).date()
            if period.first_submitted
            else None
        )
        if submitted is None:
            state = "not received"
        elif submitted <= period.due_date:
            state = "on time"
        else:
            state = "late"
        out.append(
            {
                "period": formatting.period_labels(
                    [period.start], {period.start: period.frequency}
                )[0],
                "due_date": period.due_date,
                "submitted_on": submitted,
                "state": state,
            }
        )
    return out


def narratives(*, membership, contract, last: int = 3) -> list[dict]:
    """The narratives of the contract's ``last`` accepted or submitted returns,
    newest first, with their variance explanations: two queries."""
    rows = list(
        returns_visible(membership=membership)
        .filter(
            contract_id=contract.pk,
            status__in=[ReturnStatus.ACCEPTED, ReturnStatus.SUBMITTED],
        )
        .select_related("period")
        .order_by("-period__start", "-version")[: last * 2]
    )
    seen, chosen = set(), []
    for ret in rows:
        if ret.period_id in seen:
            continue
        seen.add(ret.period_id)
        chosen.append(ret)
    chosen = chosen[:last]
    explanations: dict[int, list[dict]] = {}
    for ret_id, name, text in (
        ReturnValue.objects.filter(return_obj__in=[r.pk for r in chosen])
        .exclude(variance_explanation="")
        .order_by("contract_kpi__kpi__code")
        .values_list("return_obj_id", "contract_kpi__kpi__name", "variance_explanation")
    ):
        explanations.setdefault(ret_id, []).append({"kpi": name, "text": text})
    return [
        {
            "period": formatting.period_labels(
                [ret.period.start], {ret.period.start: ret.period.frequency}
            )[0],
            "status": ret.get_status_display(),
            "narrative": ret.narrative,
            "explanations": explanations.get(ret.pk, []),
        }
        for ret in chosen
    ]


# --- a contract KPI's terms, for formal variations ------------------------------------
#
# The writes another app may make to a contract KPI's terms, inside the
# caller's transaction and with its reason (a variation's): a target varied
# from a date, and the control limits re-based from a date. Each checks the
# role (``contract_kpi.change``) and the tenant, and writes with history.


def first_period_on_or_after(day: date) -> date:
    """The first monthly period start on or after ``day``: a variation effective
    part-way through a month changes the terms from the next month's period."""
    if day.day == 1:
        return day
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _contract_kpi_for(membership, contract_kpi_id: int) -> ContractKpi:
    ck = (
        contract_kpis_visible(membership=membership)
        .select_related("contract", "kpi")
        .filter(pk=contract_kpi_id)
        .first()
    )
    if ck is None:
        raise ValidationError({"contract_kpi": "Choose a KPI of this contract."})
    return ck


def _uncovered(phases: list, before: int) -> list[tuple[int, int]]:
    """The contract months 1 .. ``before`` - 1 that no phase covers, as spans."""
    covered = set()
    for phase in phases:
        end = phase.to_month if phase.to_month is not None else before - 1
        covered.update(range(phase.from_month, min(end, before - 1) + 1))
    spans, start = [], None
    for month in range(1, before):
        if month not in covered and start is None:
            start = month
        if month in covered and start is not None:
            spans.append((start, month - 1))
            start = None
    if start is not None:
        spans.append((start, before - 1))
    return spans


def kpi_target_vary(
    *, membership, contract_kpi_id: int, effective_on: date, target, amber_tolerance, reason: str
) -> dict:
    """Vary a contract KPI's target (and amber tolerance) from ``effective_on``,
    leaving the target in force for every earlier period as it was: the phase
    targets are cut at the month the change takes effect, the months before it
    that followed the mature target keep it as a phase of their own, and the
    mature target becomes the new one. Answers the target and tolerance it
    replaced, as in force on ``effective_on``."""
    from .models import PhaseTarget
    from .services import contract_kpi_save

    ck = _contract_kpi_for(membership, contract_kpi_id)
    start = first_period_on_or_after(effective_on)
    month = contract_month(ck.contract.start_date, start)
    phases = list(PhaseTarget.objects.select_for_update().filter(contract_kpi=ck))
    was_target, was_amber = target_in_force(ck, start, phases)
    kept = []
    for phase in phases:
        if phase.from_month >= month:
            continue  # wholly after the change: the new target replaces it
        to_month = phase.to_month if phase.to_month is not None else month - 1
        kept.append(
            {
                "pk": phase.pk,
                "phase": phase.phase,
                "from_month": phase.from_month,
                "to_month": min(to_month, month - 1),
                "target": phase.target,
                "amber_tolerance": phase.amber_tolerance,
            }
        )
    if ck.target is not None and month > 1:
        for first, last in _uncovered(phases, month):
            kept.append(
                {
                    "phase": f"Before {formatting.date(start)}",
                    "from_month": first,
                    "to_month": last,
                    "target": ck.target,
                    "amber_tolerance": ck.amber_tolerance,
                }
            )
    ck.target = target
    ck.amber_tolerance = amber_tolerance
    contract_kpi_save(membership=membership, contract_kpi=ck, reason=reason, phases=kept)
    return {"target": was_target, "amber_tolerance": was_amber}


def kpi_rebase_add(
    *, membership, contract_kpi_id: int, starts_on: date, reason: str, source=None, label: str = ""
):
    """Re-base a contract KPI's control limits from the first period starting
    on or after ``starts_on``, naming what caused it (``source``, a model
    instance, and ``label`` for the chart). Once a day per KPI: a second
    re-base on the same day answers the first."""
    from django.contrib.contenttypes.models import ContentType

    from oversight.history import save_with_history
    from oversight.permissions import require

    from .models import LimitRebase

    require(membership, "contract_kpi.change")
    ck = _contract_kpi_for(membership, contract_kpi_id)
    starts_on = first_period_on_or_after(starts_on)
    existing = LimitRebase.objects.filter(contract_kpi=ck, starts_on=starts_on).first()
    if existing is not None:
        return existing
    rebase = LimitRebase(
        tenant_id=membership.tenant_id,
        contract_kpi=ck,
        starts_on=starts_on,
        reason=reason[:500],
        source_label=label[:120],
        source_type=ContentType.objects.get_for_model(source) if source is not None else None,
        source_id=source.pk if source is not None else None,
    )
    rebase.full_clean()
    save_with_history(rebase, user=membership.user, reason=reason)
    return rebase


def kpi_terms_as_at(*, membership, contract, on: date) -> list[dict]:
    """Every KPI of ``contract`` with the target and amber tolerance in force
    for the period that holds ``on`` (phase targets in contract months,
    performance/terms.py), and its re-bases up to then, in one query each."""
    period = date(on.year, on.month, 1)
    rows = []
    for ck in (
        contract_kpis_visible(membership=membership)
        .filter(contract_id=contract.pk)
        .select_related("kpi", "contract")
        .prefetch_related("phase_targets", "rebases")
        .order_by("-is_priority", "kpi__code")
    ):
        target, amber = target_in_force(ck, period, list(ck.phase_targets.all()))
        rows.append(
            {
                "contract_kpi_id": ck.pk,
                "code": ck.kpi.code,
                "name": ck.kpi.name,
                "unit": ck.kpi.unit,
                "is_priority": ck.is_priority,
                "target": target,
                "amber_tolerance": amber,
                "rebased_from": [r.starts_on for r in ck.rebases.all() if r.starts_on <= on],
            }
        )
    return rows
