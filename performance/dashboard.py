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

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from oversight import formatting
from oversight.clock import tenant_today
from oversight.forms import USWDSMixin, apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from . import charts, signal_rules
from .models import ReturnStatus, Signal, SignalStatus
from .selectors import (
    contract_kpis_visible,
    kpi_series,
    periods_visible,
    return_values,
    returns_visible,
    risk_scores_visible,
    signal_get,
    signals_visible,
)
from .signal_rules import SEVERITY_ORDER
from .signal_services import signal_acknowledge
from .terms import target_in_force

RISK_HISTORY_DAYS = 365  # the risk chart shows the last year of daily scores
CLOSED_SHOWN = 10  # recently closed signals listed under the live ones


class AcknowledgeForm(USWDSMixin, forms.Form):
    note = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you have done or decided about this signal (it is kept in its history).",
        error_messages={"required": "Write a note: say what you have done or decided."},
    )


def _by_severity(signals: list[Signal]) -> list[Signal]:
    """Most severe first, then the newest."""
    return sorted(
        signals,
        key=lambda s: (-SEVERITY_ORDER.index(s.severity), -s.opened_at.timestamp()),
    )


def _period_frequencies(membership, contract) -> dict[date, str]:
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


def _label_periods(signals: list[Signal], frequencies: dict[date, str]) -> None:
    """``signal.period_text``: the period a signal concerns, as people name it."""
    for signal in signals:
        signal.period_text = (
            formatting.period_labels([signal.period_start], frequencies)[0]
            if signal.period_start
            else formatting.NONE
        )


def _kpi_panels(membership, contract, frequencies: dict[date, str]) -> list[dict]:
    contract_kpis = list(
        contract_kpis_visible(membership=membership)
        .filter(contract=contract)
        .prefetch_related("phase_targets")
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
            )
        panels.append({"ck": ck, "chart": chart, "dom_id": f"kpi-{ck.pk}"})
    return panels


def performance_panel(membership, contract):
    """The performance panel of the contract dashboard (registered by
    performance/apps.py): risk score, signals, risk history, KPI control charts
    and the latest accepted return."""
    today = tenant_today(membership.tenant)
    signals = signals_visible(membership=membership).filter(contract=contract)
    live = _by_severity(list(signals.exclude(status=SignalStatus.CLOSED)))
    closed = list(signals.filter(status=SignalStatus.CLOSED).order_by("-closed_at")[:CLOSED_SHOWN])
    frequencies = _period_frequencies(membership, contract)
    _label_periods([*live, *closed], frequencies)
    for signal in (*live, *closed):
        signal.severity_class = charts.SEVERITY_CLASSES[signal.severity]

    scores = list(
        risk_scores_visible(membership=membership)
        .filter(contract=contract)
        .order_by("-day")[:RISK_HISTORY_DAYS]
    )[::-1]
    risk = scores[-1] if scores else None
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
            "panels": _kpi_panels(membership, contract, frequencies),
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
        },
    )


# What each item of a signal's evidence is, in words. The evidence itself stays
# data (codes and raw figures) for the API; only this page turns it into words.
EVIDENCE_LABELS = {
    "kpi": "KPI",
    "latest": "Latest value",
    "mean": "Mean",
    "lower_limit": "Lower process limit",
    "upper_limit": "Upper process limit",
    "target": "Target",
    "point_type": "Latest point",
    "rule": "Rule that fired",
    "amber_tolerance": "Amber tolerance",
    "recent_moving_range": "Recent period-to-period change (average)",
    "earlier_moving_range": "Earlier period-to-period change (average)",
    "recent_mean": "Average of the latest periods",
    "earlier_mean": "Average before them",
    "kpis": "KPIs",
    "count": "Thinly explained variances",
    "days_left": "Days left",
}
_FIGURES = {"latest", "target", "amber_tolerance"}
# Means and average changes: at least one decimal, even for a count.
_STATISTICS = {
    "mean", "recent_moving_range", "earlier_moving_range", "recent_mean", "earlier_mean",
}  # fmt: skip


def _evidence_text(key: str, value, *, unit: str, kpi_name: str) -> str:
    if value is None or value == "":
        return formatting.NONE
    if key == "kpi":
        return kpi_name or str(value)
    if key in _STATISTICS:
        return formatting.statistic(value, unit)
    if key in _FIGURES:
        return formatting.number(value, unit)
    if key in ("lower_limit", "upper_limit"):
        shown, clipped = formatting.clip_to_unit(value, unit)
        text = formatting.statistic(shown, unit)
        raw = formatting.statistic(value, unit)
        return f"{text} (works out at {raw})" if clipped and raw != text else text
    if key == "point_type":
        return charts.POINT_LABELS.get(value, str(value))
    if key == "rule":
        return charts.RULE_LABELS.get(value, str(value)).capitalize()
    if key == "periods" and isinstance(value, list):
        starts = [date.fromisoformat(v) for v in value]
        return ", ".join(formatting.period_labels(starts))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int | float):
        return formatting.number(value, "count")
    return str(value)


def signal_evidence(evidence: dict, *, unit: str, kpi_name: str) -> list[tuple[str, str]]:
    """A signal's evidence as (label, text) rows a commissioner reads: "Latest
    point: Special cause concern", "Amber tolerance: 1.0%", never
    "Point type: special_cause_concern" or "Kpi: complaints"."""
    rows = []
    for key, value in evidence.items():
        label = EVIDENCE_LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "periods" and not isinstance(value, list):
            label = "Periods in a row"
        rows.append((label, _evidence_text(key, value, unit=unit, kpi_name=kpi_name)))
    return rows


def _signal_page(request, membership, signal, *, form=None, status=200):
    may = can(membership, "signal.acknowledge") and signal.status == SignalStatus.OPEN
    contract = signal.contract
    _label_periods([signal], _period_frequencies(membership, signal.contract))
    return render(
        request,
        "performance/signal_detail.html",
        {
            "signal": signal,
            "contract": contract,
            "severity_class": charts.SEVERITY_CLASSES[signal.severity],
            "evidence": signal_evidence(
                signal.evidence or {},
                unit=signal.contract_kpi.kpi.unit if signal.contract_kpi else "",
                kpi_name=signal.contract_kpi.kpi.name if signal.contract_kpi else "",
            ),
            "history": history_entries(signal),
            "form": form or (AcknowledgeForm() if may else None),
            "breadcrumbs": contract_crumbs(
                membership,
                contract,
                (
                    "Dashboard",
                    tenant_url(membership, "contract_dashboard", contract_pk=contract.pk),
                ),
            ),
        },
        status=status,
    )


@tenant_view(read="dashboard.view")
@require_safe
def signal_detail(request, *, membership, signal_pk):
    signal = signal_get(membership=membership, pk=signal_pk)
    return _signal_page(request, membership, signal)


@tenant_view(read="dashboard.view")
@require_POST
def signal_acknowledge_view(request, *, membership, signal_pk):
    """Acknowledge an open signal with a note; back to the dashboard (or the
    signal's page) on success, the signal's page with the errors otherwise."""
    signal = signal_get(membership=membership, pk=signal_pk)
    require(membership, "signal.acknowledge")
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            signal_acknowledge(membership=membership, signal=signal, note=form.cleaned_data["note"])
        except ValidationError as error:
            apply_service_errors(form, error)
            signal = signal_get(membership=membership, pk=signal_pk)  # as it stands now
        else:
            messages.success(request, f"Signal acknowledged: {signal.message}")
            if request.POST.get("next") == "dashboard":
                url = tenant_url(membership, "contract_dashboard", contract_pk=signal.contract_id)
                return redirect(f"{url}#signals")
            return redirect(tenant_url(membership, "signal_detail", signal_pk=signal.pk))
    return _signal_page(request, membership, signal, form=form, status=400)
