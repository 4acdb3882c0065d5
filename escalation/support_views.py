"""Pages of supportive measures, provider concerns and frontline reports: thin
views that read through the selectors and write through escalation/support.py.
Object kwargs are named <model>_pk so the isolation crawl maps each to its object."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import clock, formatting, registry
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, can_read, require
from oversight.tenancy import tenant_view
from oversight.views import edit_page, tenant_url

from . import notices, selectors, support
from .models import ConcernStatus, MeasureStatus, ReportCategory
from .support_forms import (
    ConcernAcknowledgeForm,
    ConcernForm,
    FrontlineReportForm,
    MeasureEndForm,
    MeasureForm,
)

PANEL_ROWS = 3
PAGE_SIZE = 50
MONTHS = 12


def _support_url(membership, contract) -> str:
    return tenant_url(membership, "contract_support", contract_pk=contract.pk)


def _support_crumbs(membership, contract, *extra):
    return contract_crumbs(
        membership, contract, ("Support and concerns", _support_url(membership, contract)), *extra
    )


# --- a contract's measures and concerns ------------------------------------------


@tenant_view(read="escalation.view")
@require_safe
def contract_support(request, *, membership, contract_pk):
    """A contract's supportive measures and the provider's concerns, newest first."""
    contract = contract_get(membership=membership, pk=contract_pk)
    return render(
        request,
        "escalation/support/contract_support.html",
        {
            "contract": contract,
            "measures": list(
                selectors.measures_detailed(membership=membership)
                .filter(contract_id=contract.pk)
                .order_by("-starts_on", "-id")
            ),
            "concerns": list(
                selectors.concerns_detailed(membership=membership)
                .filter(contract_id=contract.pk)
                .order_by("-raised_at", "-id")
            ),
            "may_start": can(membership, "measure.start"),
            "may_raise": can(membership, "concern.raise"),
            "may_list_concerns": can_read(membership, "concerns.overview"),
            "breadcrumbs": contract_crumbs(
                membership,
                contract,
                (
                    "Escalation",
                    tenant_url(membership, "contract_escalation", contract_pk=contract.pk),
                ),
            ),
        },
    )


def _from_signal(request, contract) -> dict:
    """``?signal=<id>`` (the "Offer support" lever beside a live signal,
    registry.signal_lever): the recovery expectation starts from that signal,
    when it is one of this contract's (anything else is ignored)."""
    signal = notices.contract_signal(contract, registry.lever_signal_id(request))
    if signal is None:
        return {}
    return {"recovery_expectation": f"Until this signal clears: {signal.message}"}


@tenant_view(read="escalation.view")
def measure_create(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "measure.start")
    return edit_page(
        request,
        membership=membership,
        form_class=MeasureForm,
        form_kwargs={"contract": contract, "initial": _from_signal(request, contract)},
        save=lambda data, reason: support.measure_start(
            membership=membership, contract=contract, reason=reason, **data
        ),
        title=f"Offer support on {contract.reference}",
        cancel_url=_support_url(membership, contract),
        breadcrumbs=_support_crumbs(membership, contract),
    )


def _detail_page(request, membership, obj, *, template, may_act, form, status=200):
    """A measure's or a concern's page: the object, its form for the one next
    step (``may_act``), and its history."""
    return render(
        request,
        template,
        {
            "object": obj,
            "contract": obj.contract,
            "may_act": may_act,
            "form": form,
            "history": history_entries(obj, limit=200),
            "breadcrumbs": _support_crumbs(membership, obj.contract),
        },
        status=status,
    )


def _act(request, membership, obj, *, form, run, done: str, page):
    """Run the one next step of a measure or a concern from its form; on a
    refusal, its page again with the form's errors (400), nothing written."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(obj.get_absolute_url())
    return page(request, membership, obj, form=form, status=400)


def _measure_page(request, membership, measure, *, form=None, status=200):
    return _detail_page(
        request,
        membership,
        measure,
        template="escalation/support/measure_detail.html",
        may_act=can(membership, "measure.end") and measure.status == MeasureStatus.ACTIVE,
        form=form or MeasureEndForm(),
        status=status,
    )


@tenant_view(read="escalation.view")
@require_safe
def measure_detail(request, *, membership, supportive_measure_pk):
    measure = selectors.measure_get(membership=membership, pk=supportive_measure_pk)
    return _measure_page(request, membership, measure)


@tenant_view(read="escalation.view")
@require_POST
def measure_end(request, *, membership, supportive_measure_pk):
    measure = selectors.measure_get(membership=membership, pk=supportive_measure_pk)
    require(membership, "measure.end")
    return _act(
        request,
        membership,
        measure,
        form=MeasureEndForm(request.POST),
        run=lambda data: support.measure_end(
            membership=membership, measure=measure, outcome_note=data["outcome_note"]
        ),
        done="Measure ended; its outcome is recorded.",
        page=_measure_page,
    )


@tenant_view(read="escalation.view")
def concern_create(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "concern.raise")
    return edit_page(
        request,
        membership=membership,
        form_class=ConcernForm,
        save=lambda data, reason: support.concern_raise(
            membership=membership, contract=contract, reason=reason, **data
        ),
        title=f"Raise a concern on {contract.reference}",
        cancel_url=_support_url(membership, contract),
        breadcrumbs=_support_crumbs(membership, contract),
    )


def _concern_page(request, membership, concern, *, form=None, status=200):
    return _detail_page(
        request,
        membership,
        concern,
        template="escalation/support/concern_detail.html",
        may_act=can(membership, "concern.acknowledge") and concern.status == ConcernStatus.RAISED,
        form=form or ConcernAcknowledgeForm(),
        status=status,
    )


@tenant_view(read="escalation.view")
@require_safe
def concern_detail(request, *, membership, provider_concern_pk):
    concern = selectors.concern_get(membership=membership, pk=provider_concern_pk)
    return _concern_page(request, membership, concern)


@tenant_view(read="escalation.view")
@require_POST
def concern_acknowledge(request, *, membership, provider_concern_pk):
    concern = selectors.concern_get(membership=membership, pk=provider_concern_pk)
    require(membership, "concern.acknowledge")
    return _act(
        request,
        membership,
        concern,
        form=ConcernAcknowledgeForm(request.POST),
        run=lambda data: support.concern_acknowledge(
            membership=membership, concern=concern, note=data["acknowledgement_note"]
        ),
        done="Concern acknowledged; the provider is told.",
        page=_concern_page,
    )


@tenant_view(read="concerns.overview")
@require_safe
def concerns_list(request, *, membership):
    """Every concern providers raised in the tenant, newest first."""
    concerns = selectors.concerns_detailed(membership=membership).order_by("-raised_at", "-id")
    page = Paginator(concerns, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "escalation/support/concerns.html", {"page": page})


# --- frontline reports ----------------------------------------------------------


def frontline_table(months: list[date], counts: list[dict]) -> list[dict]:
    """Rows of the month table, one per provider and category that has reports
    in ``months``: ``{"provider", "category", "counts": [n per month], "total"}``
    (a pure function of what ``selectors.frontline_counts`` read)."""
    index = {month: i for i, month in enumerate(months)}
    rows: dict[tuple, dict] = {}
    labels = dict(ReportCategory.choices)
    for item in counts:
        key = (item["provider__name"], item["provider_id"], item["category"])
        row = rows.setdefault(
            key,
            {
                "provider": item["provider__name"],
                "category": labels.get(item["category"], item["category"]),
                "counts": [0] * len(months),
            },
        )
        month = item["month"]
        if month in index:
            row["counts"][index[month]] += item["count"]
    table = [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1], k[2]))]
    for row in table:
        row["total"] = sum(row["counts"])
    return table


@tenant_view(read="frontline_reports.view")
@require_safe
def frontline_reports(request, *, membership):
    """Reports per provider and category by month (the last 12 months on the
    tenant's calendar), then the reports themselves, newest first."""
    months = selectors.frontline_months(clock.tenant_today(membership.tenant), MONTHS)
    counts = selectors.frontline_counts(membership=membership, months=months)
    reports = selectors.frontline_reports_detailed(membership=membership).order_by(
        "-occurred_on", "-id"
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = defaultdict(int)
    table = frontline_table(months, counts)
    for row in table:
        for i, n in enumerate(row["counts"]):
            totals[i] += n
    return render(
        request,
        "escalation/support/frontline_reports.html",
        {
            "months": [formatting.period_label(start=m) for m in months],
            "table": table,
            "totals": [totals[i] for i in range(len(months))],
            "grand_total": sum(totals.values()),
            "page": page,
            "may_report": can(membership, "frontline_report.create"),
        },
    )


@tenant_view(read="frontline_reports.view")
def frontline_report_create(request, *, membership):
    require(membership, "frontline_report.create")
    return edit_page(
        request,
        membership=membership,
        form_class=FrontlineReportForm,
        save=lambda data, reason: support.frontline_report_create(
            membership=membership, reason=reason, **data
        ),
        title="Report a problem with a provider",
        cancel_url=tenant_url(membership, "frontline_reports"),
        breadcrumbs=[("Frontline reports", tenant_url(membership, "frontline_reports"))],
    )


@tenant_view(read="frontline_reports.view", hides_objects=True)
@require_safe
def frontline_report_detail(request, *, membership, frontline_report_pk):
    report = selectors.frontline_report_get(membership=membership, pk=frontline_report_pk)
    return render(
        request,
        "escalation/support/frontline_report_detail.html",
        {
            "report": report,
            "history": history_entries(report, limit=200),
            "breadcrumbs": [("Frontline reports", tenant_url(membership, "frontline_reports"))],
        },
    )


# --- the contract dashboard's panels ---------------------------------------------


def measures_panel(membership, contract):
    """Active supportive measures on the contract, with a link: one query."""
    measures = list(
        selectors.measures_visible(membership=membership)
        .filter(contract_id=contract.pk, status=MeasureStatus.ACTIVE)
        .select_related("owner")
        .order_by("review_on", "id")
    )
    return ("escalation/support/_measures_panel.html", {"support_measures": measures})


def concerns_panel(membership, contract):
    """The provider's latest concerns on the contract, newest first: two queries."""
    concerns = selectors.concerns_visible(membership=membership).filter(contract_id=contract.pk)
    latest = list(concerns.select_related("raised_by").order_by("-raised_at", "-id")[:PANEL_ROWS])
    return (
        "escalation/support/_concerns_panel.html",
        {
            "support_concerns": latest,
            "support_concerns_open": concerns.filter(status=ConcernStatus.RAISED).count()
            if latest
            else 0,
        },
    )
