"""Pages for KPIs, contract KPIs and returns: thin views that read through
selectors and write through services.

Providers fill in, save, submit, upload and correct returns; commissioners see
what is due, late, missing and awaiting review across the tenant, accept or
query returns, read every version, and see values against target and each
provider's timeliness. List pages run a fixed number of queries whatever the
number of periods (the state of a period is computed in SQL).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import formatting
from oversight.clock import tenant_today
from oversight.errors import Problem
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, can_read, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from . import charts, imports, presenters, services
from .calendar import DUE, LATE, MISSING
from .forms import (
    ATTENTION,
    ON_BEHALF_REASON_MISSING,
    ContractKpiForm,
    KpiForm,
    PhaseTargetFormSet,
    ReturnFilterForm,
    ReturnForm,
    ReviewForm,
    UploadForm,
)
from .models import ContractKpi, Kpi, PhaseTarget, Return, ReturnSource, ReturnStatus
from .selectors import (
    contract_kpi_get,
    contract_kpis_reported,
    contract_kpis_visible,
    due_periods_latest,
    kpi_get,
    kpis_visible,
    period_get,
    periods_visible,
    periods_with_state,
    return_get,
    return_values,
    returns_visible,
    values_grid,
    with_state,
)
from .terms import target_in_force

PAGE_SIZE = 25
PERIODS_PER_PAGE = 12
NEEDS_ACTION = [DUE, LATE, MISSING, ReturnStatus.QUERIED]  # what a provider must do
ATTENTION_STATES = [DUE, LATE, MISSING, ReturnStatus.SUBMITTED]  # what a commissioner watches
STATE_LABELS = {
    DUE: "Due",
    LATE: "Late",
    MISSING: "Missing",
    ReturnStatus.DRAFT: "Draft",
    ReturnStatus.SUBMITTED: "Submitted, awaiting review",
    ReturnStatus.ACCEPTED: "Accepted",
    ReturnStatus.QUERIED: "Queried",
}


# --- helpers ------------------------------------------------------------------------


def _may_enter(membership) -> bool:
    """May this membership enter returns at all (its own, or on a provider's behalf)?"""
    return can(membership, "return.submit") or can(membership, services.ON_BEHALF)


def _entry_url_name(membership) -> str:
    """Providers fill in their own return; anyone else the on-behalf form."""
    return "period_return" if can(membership, "return.submit") else "period_return_on_behalf"


def _querystring(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _returns_crumbs(membership, *extra):
    return [("Returns", tenant_url(membership, "returns_home")), *extra]


# --- returns: home ----------------------------------------------------------------


@tenant_view(read="returns.view")
@require_safe
def returns_home(request, *, membership):
    """Providers see what they owe; everyone else the tenant's overview."""
    if not can_read(membership, "returns.overview"):
        return _provider_home(request, membership)
    return _returns_overview(request, membership)


def _provider_home(request, membership):
    today = tenant_today(membership.tenant)
    periods = with_state(periods_with_state(membership=membership), today=today)
    ended = periods.filter(end__lt=today)
    action = ended.filter(state__in=NEEDS_ACTION).order_by("due_date", "contract__reference")
    page = Paginator(action, PAGE_SIZE).get_page(request.GET.get("page"))
    recent = ended.filter(state__in=[ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED]).order_by(
        "-due_date", "contract__reference"
    )[:10]
    current = periods.filter(end__gte=today).order_by("end", "contract__reference")[:10]
    return render(
        request,
        "performance/returns_provider.html",
        {
            "page": page,
            "recent": recent,
            "current": current,
            "state_labels": STATE_LABELS,
            "today": today,
        },
    )


def _returns_overview(request, membership):
    today = tenant_today(membership.tenant)
    form = ReturnFilterForm(request.GET or None, membership=membership)
    chosen = form.values()
    periods = with_state(periods_with_state(membership=membership), today=today).filter(
        end__lt=today
    )
    if chosen.get("provider"):
        periods = periods.filter(contract__provider=chosen["provider"])
    if chosen.get("contract"):
        periods = periods.filter(contract=chosen["contract"])
    counts = dict(
        periods.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    state = chosen.get("state")
    if state == ATTENTION:
        periods = periods.filter(state__in=ATTENTION_STATES)
    elif state:
        periods = periods.filter(state=state)
    periods = periods.order_by("-due_date", "contract__reference", "pk")
    page = Paginator(periods, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = [
        (key, STATE_LABELS[key], counts.get(key, 0))
        for key in (DUE, LATE, MISSING, ReturnStatus.SUBMITTED, ReturnStatus.QUERIED)
    ]
    return render(
        request,
        "performance/returns_overview.html",
        {
            "filter_form": form,
            "page": page,
            "querystring": _querystring(request),
            "summary": summary,
            "state_labels": STATE_LABELS,
            "can_bulk_upload": can(membership, "return.review"),
            "today": today,
        },
    )


@tenant_view(read="returns.overview")
@require_safe
def returns_timeliness(request, *, membership):
    """Each provider's share of returns first submitted on or before the due
    date, over its last 12 periods that have fallen due."""
    today = tenant_today(membership.tenant)
    due = due_periods_latest(
        membership=membership, today=today, per_provider=charts.TIMELINESS_PERIODS
    )
    return render(
        request,
        "performance/timeliness.html",
        {
            "rows": presenters.timeliness_rows(due, time_zone=membership.tenant.time_zone),
            "last": charts.TIMELINESS_PERIODS,
            "breadcrumbs": _returns_crumbs(membership),
            "today": today,
        },
    )


# --- a contract's returns and values ---------------------------------------------------


@tenant_view(read="returns.view")
@require_safe
def contract_returns(request, *, membership, contract_pk):
    """Every period of the contract, newest first, with every version."""
    contract = contract_get(membership=membership, pk=contract_pk)
    today = tenant_today(membership.tenant)
    periods = with_state(periods_with_state(membership=membership), today=today).filter(
        contract=contract
    )
    page = Paginator(periods.order_by("-start"), PERIODS_PER_PAGE).get_page(request.GET.get("page"))
    versions: dict[int, list[Return]] = {}
    for ret in (
        returns_visible(membership=membership)
        .filter(period_id__in=[p.pk for p in page.object_list])
        .order_by("version")
    ):
        versions.setdefault(ret.period_id, []).append(ret)
    rows = [(p, versions.get(p.pk, [])) for p in page.object_list]
    return render(
        request,
        "performance/contract_returns.html",
        {
            "contract": contract,
            "rows": rows,
            "page": page,
            "state_labels": STATE_LABELS,
            "can_submit": _may_enter(membership),
            "entry_url_name": _entry_url_name(membership),
            "needs_action": NEEDS_ACTION,
            "today": today,
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


@tenant_view(read="returns.view")
@require_safe
def contract_values(request, *, membership, contract_pk):
    """Values against the target in force, KPIs as rows and periods as columns
    (12 a page, newest page and newest column first); each cell says met / amber
    / missed."""
    contract = contract_get(membership=membership, pk=contract_pk)
    page = Paginator(
        periods_visible(membership=membership).filter(contract=contract).order_by("-start"),
        PERIODS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    columns = list(page.object_list)  # the latest period first, where the eye starts
    grid = values_grid(membership=membership, contract=contract, periods=columns)
    lines = presenters.values_lines(grid, periods=columns, today=tenant_today(membership.tenant))
    return render(
        request,
        "performance/contract_values.html",
        {
            "contract": contract,
            "columns": columns,
            "lines": lines,
            "page": page,
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


# --- a period's return: the form, the upload, the template -------------------------------


@tenant_view(read="returns.view")
def period_return(request, *, membership, period_pk):
    """The provider's own return for a period."""
    period = period_get(membership=membership, pk=period_pk)
    on_behalf = not can(membership, "return.submit") and can(membership, services.ON_BEHALF)
    if request.method == "GET" and on_behalf:  # the commissioner's form asks for a reason
        return redirect(tenant_url(membership, "period_return_on_behalf", period_pk=period.pk))
    require(membership, "return.submit")
    return _period_return(request, membership, period, on_behalf=False)


@tenant_view(read="returns.view")
def period_return_on_behalf(request, *, membership, period_pk):
    """A return entered for the provider by the commissioning organisation:
    the same form, with the reason asked and recorded (issue 7)."""
    period = period_get(membership=membership, pk=period_pk)
    require(membership, services.ON_BEHALF)
    return _period_return(request, membership, period, on_behalf=True)


# A form entered on the provider's behalf without a reason: nothing is written,
# and the form shows it on its own field (``ReturnForm.has_on_behalf_reason``).
_REASON_MISSING = Problem("return", "on_behalf_reason", ON_BEHALF_REASON_MISSING)


def _period_return(request, membership, period, *, on_behalf: bool):
    today = tenant_today(membership.tenant)
    contract = period.contract
    versions = list(
        returns_visible(membership=membership)
        .filter(period=period)
        .prefetch_related("values")
        .order_by("version")
    )
    live = [r for r in versions if r.status != ReturnStatus.QUERIED]
    if live and live[-1].status != ReturnStatus.DRAFT:
        messages.info(
            request,
            f"The return for {period} is {live[-1].get_status_display().lower()}; "
            "it can be corrected only after the commissioner queries it.",
        )
        return redirect(_return_url(membership, live[-1]))
    draft = live[-1] if live else None
    queried = versions[-1] if versions and versions[-1].status == ReturnStatus.QUERIED else None
    context = {
        "period": period,
        "contract": contract,
        "draft": draft,
        "queried": queried,
        "on_behalf": on_behalf,
        "not_open": period.end >= today,
        "breadcrumbs": _returns_crumbs(
            membership,
            (
                contract.reference,
                tenant_url(membership, "contract_returns", contract_pk=contract.pk),
            ),
        ),
    }
    if context["not_open"]:
        return render(request, "performance/return_form.html", context)
    cks = list(contract_kpis_reported(membership=membership, contract=contract))
    sites = list(contract.sites.order_by("name"))
    form = ReturnForm(
        request.POST or None,
        period=period,
        contract_kpis=cks,
        sites=sites,
        prefill=draft or queried,
        on_behalf=on_behalf,
    )
    if request.method == "POST" and form.is_valid():
        header, rows = form.validation_input()
        submit = request.POST.get("action") == "submit"
        # The reason is checked with the figures, so every problem shows at
        # once: the form puts a missing reason on its field, the rest go where
        # the service says.
        own = [] if form.has_on_behalf_reason() else [_REASON_MISSING]
        try:
            (ret,) = services.returns_enter(
                membership=membership,
                headers=[header],
                rows=rows,
                today=today,
                problems=own,
                source=ReturnSource.WEB,
                submit=submit,
                reason="Return submitted (web form)" if submit else "Draft saved (web form)",
                on_behalf_reason=form.cleaned_data.get("on_behalf_reason", ""),
            )
        except services.ImportRejected as rejected:
            form.apply_problems([p for p in rejected.problems if p not in own])
        else:
            messages.success(
                request,
                f"Return for {contract.reference} {period} "
                + ("submitted." if submit else "saved as a draft: submit it when ready."),
            )
            return redirect(_return_url(membership, ret))
    context["form"] = form
    return render(
        request,
        "performance/return_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="returns.view")
def period_upload(request, *, membership, period_pk):
    """A provider's spreadsheet for one period: whole or nothing."""
    period = period_get(membership=membership, pk=period_pk)
    if not _may_enter(membership):
        require(membership, "return.submit")
    contract = period.contract
    return _upload_page(
        request,
        membership,
        title=f"Upload the return for {contract.reference}, {period}",
        source=ReturnSource.SPREADSHEET,
        expected_contract=contract,
        expected_period=period,
        period=period,
        breadcrumbs=_returns_crumbs(
            membership,
            (
                contract.reference,
                tenant_url(membership, "contract_returns", contract_pk=contract.pk),
            ),
        ),
    )


@tenant_view(read="returns.overview")
def bulk_upload(request, *, membership):
    """The commissioner data team's spreadsheet: a period's returns for many contracts."""
    require(membership, services.ON_BEHALF)
    return _upload_page(
        request,
        membership,
        title="Upload returns for many contracts",
        source=ReturnSource.BULK,
        expected_contract=None,
        expected_period=None,
        period=None,
        breadcrumbs=_returns_crumbs(membership),
    )


def _upload_page(
    request, membership, *, title, source, expected_contract, expected_period, period, breadcrumbs
):
    on_behalf_of = None
    if not can(membership, "return.submit"):
        on_behalf_of = expected_contract.provider.name if expected_contract else "the providers"
    form = UploadForm(request.POST or None, request.FILES or None, on_behalf_of=on_behalf_of)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = imports.import_returns(
            on_behalf_reason=form.cleaned_data.get("on_behalf_reason", ""),
            membership=membership,
            file=upload,
            filename=upload.name,
            source=source,
            expected_contract=expected_contract,
            expected_period=expected_period,
            today=tenant_today(membership.tenant),
        )
        if result.ok:
            count = len(result.returns)
            messages.success(
                request,
                f"{count} return{'s' if count != 1 else ''} submitted from {upload.name} "
                f"({result.value_count} values).",
            )
            if count == 1:
                return redirect(_return_url(membership, result.returns[0]))
            return redirect(tenant_url(membership, "returns_home") + "?state=submitted")
    return render(
        request,
        "performance/upload.html",
        {
            "form": form,
            "title": title,
            "result": result,
            "period": period,
            "bulk": source == ReturnSource.BULK,
            "columns": imports.COLUMNS,
            "breadcrumbs": breadcrumbs,
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="returns.view")
@require_safe
def period_template(request, *, membership, period_pk):
    """The spreadsheet template for a period, pre-filled with its KPIs and sites."""
    period = period_get(membership=membership, pk=period_pk)
    contract = period.contract
    name = f"return-{contract.reference}-{period.label}"
    if request.GET.get("as") == "csv":
        body = imports.template_csv(contract=contract, period=period)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    body = imports.template_workbook(contract=contract, period=period)
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


# --- one version of a return ---------------------------------------------------------------


def _return_url(membership, ret) -> str:
    return tenant_url(membership, "return_detail", return_pk=ret.pk)


def _return_page(request, membership, ret, *, review_form=None, status=200):
    values = list(
        return_values(ret=ret)
        .select_related("contract_kpi__contract")
        .prefetch_related("contract_kpi__phase_targets")
    )
    rows = []
    for v in values:
        target, amber = target_in_force(v.contract_kpi, ret.period.start)
        result = charts.rag(v.contract_kpi.kpi.direction, v.value, target, amber)
        rows.append(
            {
                "value": v,
                "text": formatting.number(v.value, v.contract_kpi.kpi.unit),
                "numerator": formatting.plain(v.numerator),
                "denominator": formatting.plain(v.denominator),
                "target": (
                    formatting.number(target, v.contract_kpi.kpi.unit) if target is not None else ""
                ),
                "label": charts.RAG_LABELS[result],
                "css": charts.RAG_CLASSES[result],
            }
        )
    versions = list(
        returns_visible(membership=membership).filter(period_id=ret.period_id).order_by("version")
    )
    review_refusal = ""
    can_review = can(membership, "return.review") and ret.status == ReturnStatus.SUBMITTED
    if can_review:
        review_refusal = services.return_review_refusal(membership=membership, ret=ret)
        can_review = not review_refusal
    is_latest = versions[-1].pk == ret.pk
    own = can(membership, "return.submit")
    contract = ret.contract
    return render(
        request,
        "performance/return_detail.html",
        {
            "ret": ret,
            "period": ret.period,
            "contract": contract,
            "rows": rows,
            "versions": versions,
            "history": history_entries(ret),
            "can_review": can_review,
            "review_form": review_form or (ReviewForm() if can_review else None),
            "review_refusal": review_refusal,
            "can_submit_draft": ret.status == ReturnStatus.DRAFT
            and (own or (can(membership, services.ON_BEHALF) and ret.entered_on_behalf_by_id)),
            "can_correct": _may_enter(membership)
            and ret.status == ReturnStatus.QUERIED
            and is_latest,
            "entry_url_name": _entry_url_name(membership),
            "breadcrumbs": _returns_crumbs(
                membership,
                (
                    contract.reference,
                    tenant_url(membership, "contract_returns", contract_pk=contract.pk),
                ),
            ),
        },
        status=status,
    )


@tenant_view(read="returns.view")
@require_safe
def return_detail(request, *, membership, return_pk):
    ret = return_get(membership=membership, pk=return_pk)
    return _return_page(request, membership, ret)


@tenant_view(read="returns.view")
@require_POST
def return_submit(request, *, membership, return_pk):
    ret = return_get(membership=membership, pk=return_pk)
    if not _may_enter(membership):
        require(membership, "return.submit")
    try:
        services.return_submit(membership=membership, ret=ret, reason="Draft submitted (web form)")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Return for {ret.contract.reference} {ret.period} submitted.")
    return redirect(_return_url(membership, ret))


@tenant_view(read="returns.view")
@require_POST
def return_review(request, *, membership, return_pk):
    """Accept a submitted return, or query it with a comment."""
    ret = return_get(membership=membership, pk=return_pk)
    require(membership, "return.review")
    form = ReviewForm(request.POST)
    decision = request.POST.get("decision")
    if form.is_valid() and decision in ("accept", "query"):
        comment = form.cleaned_data["comment"]
        try:
            if decision == "accept":
                services.return_accept(membership=membership, ret=ret, comment=comment)
            else:
                services.return_query(membership=membership, ret=ret, comment=comment)
        except PermissionDenied as refused:  # the return is the reviewer's own
            messages.error(request, str(refused))
            return redirect(_return_url(membership, ret))
        except ValidationError as error:
            if hasattr(error, "error_dict") and "status" in error.error_dict:
                messages.error(request, " ".join(error.messages))
                return redirect(_return_url(membership, ret))
            apply_service_errors(form, error)
        else:
            done = "accepted" if decision == "accept" else "queried: the provider has been told"
            messages.success(request, f"Return {ret.contract.reference} {ret.period} {done}.")
            return redirect(_return_url(membership, ret))
    elif decision not in ("accept", "query"):
        form.add_error(None, "Choose to accept or to query the return.")
    return _return_page(request, membership, ret, review_form=form, status=400)


# --- the KPI library -----------------------------------------------------------------------


@tenant_view(read="kpi_library.view")
@require_safe
def kpi_list(request, *, membership):
    kpis = kpis_visible(membership=membership).annotate(contracts=Count("contract_kpis"))
    return render(
        request,
        "performance/kpi_list.html",
        {"kpis": kpis.order_by("category", "code"), "can_edit": can(membership, "kpi.change")},
    )


@tenant_view(read="kpi_library.view")
@require_safe
def kpi_detail(request, *, membership, kpi_pk):
    kpi = kpi_get(membership=membership, pk=kpi_pk)
    return render(
        request,
        "performance/kpi_detail.html",
        {
            "kpi": kpi,
            # only this tenant's service types, even if a bad link names another's
            "service_types": kpi.service_types.filter(tenant_id=membership.tenant_id).order_by(
                "name"
            ),
            "contract_kpis": contract_kpis_visible(membership=membership)
            .filter(kpi=kpi)
            .select_related("contract__provider")
            .order_by("contract__reference"),
            "history": history_entries(kpi, limit=50),
            "can_edit": can(membership, "kpi.change"),
            "breadcrumbs": [("KPI library", tenant_url(membership, "kpi_list"))],
        },
    )


def _kpi_form_page(request, membership, *, kpi: Kpi | None):
    require(membership, "kpi.change")
    form = KpiForm(request.POST or None, membership=membership, instance=kpi)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        try:
            services.kpi_save(
                membership=membership,
                kpi=obj,
                service_types=list(form.cleaned_data["service_types"]),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"KPI {obj.code} saved.")
            return redirect(tenant_url(membership, "kpi_detail", kpi_pk=obj.pk))
    crumbs = [("KPI library", tenant_url(membership, "kpi_list"))]
    if kpi:
        crumbs.append((kpi.code, tenant_url(membership, "kpi_detail", kpi_pk=kpi.pk)))
    return render(
        request,
        "includes/form_page.html",
        {
            "form": form,
            "title": f"Edit KPI {kpi.code}" if kpi else "Add a KPI to the library",
            "cancel_url": crumbs[-1][1],
            "breadcrumbs": crumbs,
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="kpi_library.view")
def kpi_create(request, *, membership):
    return _kpi_form_page(request, membership, kpi=None)


@tenant_view(read="kpi_library.view")
def kpi_edit(request, *, membership, kpi_pk):
    kpi = kpi_get(membership=membership, pk=kpi_pk)
    return _kpi_form_page(request, membership, kpi=kpi)


# --- a contract's KPIs ---------------------------------------------------------------------


@tenant_view(read="register.view")
@require_safe
def contract_kpis(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    cks = (
        contract_kpis_visible(membership=membership)
        .filter(contract=contract)
        .prefetch_related("phase_targets")
        .order_by("-is_priority", "kpi__code")
    )
    return render(
        request,
        "performance/contract_kpis.html",
        {
            "contract": contract,
            "contract_kpis": cks,
            "can_edit": can(membership, "contract_kpi.change"),
            "max_priority": services.MAX_PRIORITY_KPIS,
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


def _phase_data(formset) -> list[dict]:
    phases = []
    for form in formset.forms:
        if not form.has_changed() and not form.instance.pk:
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        data = {k: form.cleaned_data.get(k) for k in PhaseTargetFormSet.form._meta.fields}
        if data.get("amber_tolerance") is None:
            data["amber_tolerance"] = 0
        data["pk"] = form.instance.pk
        phases.append(data)
    return phases


def _contract_kpi_page(request, membership, contract, ck: ContractKpi | None):
    require(membership, "contract_kpi.change")
    form = ContractKpiForm(
        request.POST or None, membership=membership, contract=contract, instance=ck
    )
    phases = PhaseTargetFormSet(
        request.POST or None,
        queryset=ck.phase_targets.all() if ck else PhaseTarget.objects.none(),
        prefix="phases",
    )
    phase_errors = []
    if request.method == "POST" and form.is_valid() and phases.is_valid():
        obj = form.save(commit=False)
        obj.contract = contract
        reason = form.cleaned_data["reason"]
        try:
            services.contract_kpi_save(
                membership=membership,
                contract_kpi=obj,
                phases=_phase_data(phases),
                reason=reason,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "phase_targets" in error.error_dict:
                phase_errors = ValidationError(error.error_dict["phase_targets"]).messages
            else:
                apply_service_errors(form, error)
        else:
            messages.success(request, f"{obj.kpi.code} on {contract.reference} saved.")
            return redirect(tenant_url(membership, "contract_kpis", contract_pk=contract.pk))
    title = f"{ck.kpi.name} on {contract.reference}" if ck else f"Add a KPI to {contract.reference}"
    return render(
        request,
        "performance/contract_kpi_form.html",
        {
            "form": form,
            "phases": phases,
            "phase_errors": phase_errors,
            "contract": contract,
            "ck": ck,
            "title": title,
            "cancel_url": tenant_url(membership, "contract_kpis", contract_pk=contract.pk),
            "breadcrumbs": contract_crumbs(
                membership,
                contract,
                ("KPIs", tenant_url(membership, "contract_kpis", contract_pk=contract.pk)),
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="register.view")
def contract_kpi_create(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    return _contract_kpi_page(request, membership, contract, None)


@tenant_view(read="register.view")
def contract_kpi_edit(request, *, membership, contract_kpi_pk):
    ck = contract_kpi_get(membership=membership, pk=contract_kpi_pk)
    return _contract_kpi_page(request, membership, ck.contract, ck)
