"""The contract dashboard and the signal pages.

The dashboard shows, for one contract, a Making Data Count control chart per
KPI (priority measures first), the live signals with their reasons and an
"Acknowledge" form for the roles that may, the risk score with its reasons and
history, the latest accepted return's narrative and explanations, and the next
return due. It runs a fixed number of queries whatever the number of KPIs and
points: values are read in one query and grouped in Python, and the charts are
built by the pure functions in ``charts``.

The dashboard page itself is the register's (``contracts.views.contract_dashboard``):
it renders the contract-dashboard panels registered in oversight/registry.py, and
what is described above is performance's panel (``performance_panel``).
"""

from __future__ import annotations

from datetime import date

from oversight import formatting, registry
from oversight.clock import tenant_today
from oversight.permissions import can

from . import charts, signal_rules
from .models import ReturnStatus, Signal, SignalStatus
from .selectors import (
    contract_kpis_visible,
    kpi_series,
    periods_visible,
    return_values,
    returns_visible,
    risk_scores_visible,
    signals_visible,
)
from .signal_rules import SEVERITY_ORDER
from .terms import target_in_force

RISK_HISTORY_DAYS = 365  # the risk chart shows the last year of daily scores
CLOSED_SHOWN = 10  # recently closed signals listed under the live ones


def _by_severity(signals: list[Signal]) -> list[Signal]:
    """Most severe first, then the newest."""
    return sorted(
        signals,
        key=lambda s: (-SEVERITY_ORDER.index(s.severity), -s.opened_at.timestamp()),
    )


def period_frequencies(membership, contract) -> dict[date, str]:
    """Each of the contract's period starts with its frequency, in one query,
    so that periods read "Oct 2026" or "week of 3 Nov 2026" as the calendar
    has them (a chart's points and a signal keep only the first day)."""
    rows = (
        periods_visible(membership=membership)
        .filter(contract=contract)
        .order_by("-frequency")  # a month wins over a week that starts the same day
        .values_list("start", "frequency")
    )
    return dict(rows)


def label_periods(signals: list[Signal], frequencies: dict[date, str]) -> None:
    """``signal.period_text``: the period a signal concerns, as people name it."""
    for signal in signals:
        signal.period_text = (
            formatting.period_labels([signal.period_start], frequencies)[0]
            if signal.period_start
            else formatting.NONE
        )


def chart_rebases(contract_kpi, starts: list[date]) -> dict:
    """``kpi_chart``'s re-base arguments for a contract KPI (its ``rebases``
    prefetched) over periods ``starts``: where its limits start again and why."""
    positions, notes = charts.rebases_at(
        starts, [(r.starts_on, r.source_label or r.reason) for r in contract_kpi.rebases.all()]
    )
    return {"rebase_at": positions, "rebase_notes": notes}


def _kpi_panels(membership, contract, frequencies: dict[date, str]) -> list[dict]:
    contract_kpis = list(
        contract_kpis_visible(membership=membership)
        .filter(contract=contract)
        .prefetch_related("phase_targets", "rebases")
        .order_by("-is_priority", "kpi__code")
    )
    series = kpi_series(membership=membership, contract_id=contract.pk)
    panels = []
    for ck in contract_kpis:
        points = series.get(ck.pk, [])
        chart = None
        if points:
            chart = charts.kpi_chart(
                title=ck.kpi.name,
                periods=formatting.period_labels([start for start, _ in points], frequencies),
                values=[value for _, value in points],
                improvement=charts.IMPROVEMENT.get(ck.kpi.direction, "neutral"),
                target=[target_in_force(ck, start)[0] for start, _ in points],
                unit=ck.kpi.unit,
                **chart_rebases(ck, [start for start, _ in points]),
            )
        panels.append({"ck": ck, "chart": chart, "dom_id": f"kpi-{ck.pk}"})
    return panels


BAND_CHANGES_SHOWN = 10


def risk_reasons(risk, charted: dict[int, str], frequencies) -> list[dict]:
    """The score's reasons, strongest first, each with the chart it comes from
    (``#kpi-<id>`` on this page, when the KPI is charted here) and its period."""
    if risk is None:
        return []
    details = risk.details if len(risk.details) == len(risk.reasons) else []
    out = []
    for index, text in enumerate(risk.reasons):
        found = details[index] if details else {}
        ck, period = found.get("kpi"), found.get("period")
        label = ""
        if period:
            label = formatting.period_labels([date.fromisoformat(period)], frequencies)[0]
        out.append({"text": text, "href": f"#kpi-{ck}" if ck in charted else "", "period": label})
    return out


def performance_panel(membership, contract):
    """The performance panel of the contract dashboard (registered by
    performance/apps.py): risk score, signals, risk history, KPI control charts
    and the latest accepted return."""
    today = tenant_today(membership.tenant)
    signals = signals_visible(membership=membership).filter(contract=contract)
    live = _by_severity(list(signals.exclude(status=SignalStatus.CLOSED)))
    closed = list(signals.filter(status=SignalStatus.CLOSED).order_by("-closed_at")[:CLOSED_SHOWN])
    frequencies = period_frequencies(membership, contract)
    label_periods([*live, *closed], frequencies)
    for signal in (*live, *closed):
        signal.severity_class = charts.SEVERITY_CLASSES[signal.severity]
    for signal in live:  # what the apps let this member do next about it
        signal.levers = registry.signal_levers_for(membership, signal)

    scores = list(
        risk_scores_visible(membership=membership)
        .filter(contract=contract)
        .order_by("-day")[:RISK_HISTORY_DAYS]
    )[::-1]
    risk = scores[-1] if scores else None
    panels = _kpi_panels(membership, contract, frequencies)
    risk_chart = (
        charts.risk_history_chart(
            [s.day for s in scores], [s.score for s in scores], title="Risk score, daily"
        )
        if len(scores) > 1
        else None
    )

    latest_return = (
        returns_visible(membership=membership)
        .filter(contract=contract, status=ReturnStatus.ACCEPTED)
        .order_by("-period__start", "-version")
        .first()
    )
    explanations = (
        list(return_values(ret=latest_return).exclude(variance_explanation=""))
        if latest_return
        else []
    )
    next_period = (
        periods_visible(membership=membership)
        .filter(contract=contract, due_date__gte=today)
        .order_by("due_date")
        .first()
    )
    return (
        "performance/_dashboard_performance.html",
        {
            "panels": panels,
            "risk_reasons": risk_reasons(
                risk, {p["ck"].pk: p["ck"].kpi.name for p in panels}, frequencies
            ),
            "band_changes": [s for s in reversed(scores) if s.band_from][:BAND_CHANGES_SHOWN],
            "live_signals": live,
            "closed_signals": closed,
            "risk": risk,
            "risk_scores": scores,
            "risk_chart": risk_chart,
            "risk_bands": signal_rules.bands_in_words(),
            "risk_class": charts.RISK_CLASSES.get(risk.band) if risk else "",
            "latest_return": latest_return,
            "explanations": explanations,
            "next_period": next_period,
            "can_acknowledge": can(membership, "signal.acknowledge"),
            "show_actions": can(membership, "signal.acknowledge")
            or any(signal.levers for signal in live),
        },
    )
