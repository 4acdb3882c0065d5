"""Entering and reviewing a return: the period's form (a provider's own, or on
its behalf with a reason), the spreadsheet upload with its pre-filled template,
the commissioners' many-contract bulk upload, one version of a return, submit,
and accept or query. Every write goes through ``services.returns_enter`` and the
review services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from oversight import formatting
from oversight.clock import tenant_today
from oversight.errors import Problem
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from .. import charts, imports, services
from ..forms import (
    ON_BEHALF_REASON_MISSING,
    ReturnForm,
    ReviewForm,
    UploadForm,
)
from ..models import ReturnSource, ReturnStatus
from ..selectors import (
    contract_kpis_reported,
    period_get,
    return_get,
    return_values,
    returns_visible,
)
from ..terms import target_in_force
from .returns import (
    entry_url_name,
    may_enter,
    returns_crumbs,
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
        "breadcrumbs": returns_crumbs(
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
    if not may_enter(membership):
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
        breadcrumbs=returns_crumbs(
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
        breadcrumbs=returns_crumbs(membership),
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
            "can_correct": may_enter(membership)
            and ret.status == ReturnStatus.QUERIED
            and is_latest,
            "entry_url_name": entry_url_name(membership),
            "breadcrumbs": returns_crumbs(
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
    if not may_enter(membership):
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
