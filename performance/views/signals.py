"""A signal's page: what it says, the evidence it rests on in words, its
history, and the acknowledgement form for the roles that may (a note is kept in
the signal's history). Acknowledging from the dashboard's signal table posts here
too and goes back to the dashboard."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from oversight import formatting, registry
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from .. import charts
from ..dashboard import label_periods, period_frequencies
from ..forms import AcknowledgeForm
from ..models import SignalStatus
from ..selectors import signal_get
from ..signal_services import signal_acknowledge

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
    "concerns_recent": "Special-cause concerns in the last 3 periods",
    "shift_sd": "Move from its baseline (standard deviations)",
    "z": "Strength of the evidence (standard errors)",
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
    if key in ("shift_sd", "z"):
        return formatting.statistic(value, "count")
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
    label_periods([signal], period_frequencies(membership, signal.contract))
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
            "levers": registry.signal_levers_for(membership, signal),
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
