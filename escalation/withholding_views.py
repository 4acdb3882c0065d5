"""Pages of the withholding ledger: thin views that read through the selectors
and write through escalation/withholdings.py. Object kwargs are named
<model>_pk so the isolation crawl maps each to its object."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight.forms import apply_service_errors, service_data
from oversight.history import history_entries
from oversight.permissions import can, can_read, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from . import selectors, withholdings
from .models import WithholdingStatus
from .withholding_forms import WithholdingForm, WithholdingReleaseForm, WithholdingRetainForm

PAGE_SIZE = 50


def _contract_url(membership, contract) -> str:
    return tenant_url(membership, "contract_withholdings", contract_pk=contract.pk)


def _crumbs(membership, contract, *extra):
    return contract_crumbs(
        membership, contract, ("Withholdings", _contract_url(membership, contract)), *extra
    )


def _cap_line(contract) -> dict:
    """Where the contract sits and the cap its stage sets (one query)."""
    level, stage = selectors.contract_position(contract=contract)
    return {
        "level": level,
        "stage": stage,
        "cap_percent": stage.withholding_cap_percent if stage is not None else None,
    }


@tenant_view(read="withholdings.view")
@require_safe
def contract_withholdings(request, *, membership, contract_pk):
    """A contract's withholdings, newest period first, with their totals."""
    contract = contract_get(membership=membership, pk=contract_pk)
    rows = withholdings.withholdings_detailed(membership=membership).filter(contract_id=contract.pk)
    return render(
        request,
        "escalation/withholding_contract.html",
        {
            "contract": contract,
            "withholdings": list(rows.order_by("-period", "-recorded_at", "-id")),
            "totals": withholdings.withholding_totals(rows),
            "may_record": can(membership, "withholding.record"),
            "may_see_ledger": can_read(membership, "withholdings.ledger"),
            **_cap_line(contract),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


@tenant_view(read="withholdings.view")
def withholding_create(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "withholding.record")
    form = WithholdingForm(request.POST or None, membership=membership, contract=contract)
    if request.method == "POST" and form.is_valid():
        try:
            withholding = withholdings.withholding_record(
                membership=membership,
                contract=contract,
                reason=form.cleaned_data["reason"],
                **service_data(form),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if not getattr(withholding, "replayed", False):
                messages.success(request, "Money withheld; the provider is told.")
            return redirect(withholding.get_absolute_url())
    return render(
        request,
        "escalation/withholding_form.html",
        {
            "form": form,
            "contract": contract,
            "title": f"Withhold payment on {contract.reference}",
            "cancel_url": _contract_url(membership, contract),
            **_cap_line(contract),
            "breadcrumbs": _crumbs(membership, contract),
        },
        status=400 if request.method == "POST" else 200,
    )


def _detail_page(request, membership, withholding, *, release=None, retain=None, status=200):
    open_ = withholding.status == WithholdingStatus.WITHHELD
    tied = withholding.tied_to
    return render(
        request,
        "escalation/withholding_detail.html",
        {
            "object": withholding,
            "contract": withholding.contract,
            "tied": tied,
            "tied_label": withholdings.tied_label(tied),
            "tied_met": withholdings.milestone_met(tied),
            "may_release": open_ and can(membership, "withholding.release"),
            "may_retain": open_ and can(membership, "withholding.retain"),
            "release_form": release or WithholdingReleaseForm(),
            "retain_form": retain or WithholdingRetainForm(),
            "history": history_entries(withholding, limit=200),
            "breadcrumbs": _crumbs(membership, withholding.contract),
        },
        status=status,
    )


@tenant_view(read="withholdings.view")
@require_safe
def withholding_detail(request, *, membership, withholding_pk):
    withholding = withholdings.withholding_get(membership=membership, pk=withholding_pk)
    return _detail_page(request, membership, withholding)


def _act(request, membership, withholding, *, form, run, done: str, which: str):
    """Release or retain from the detail page's form; on a refusal, the page
    again with the form's errors (400), nothing written."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(withholding.get_absolute_url())
    return _detail_page(request, membership, withholding, status=400, **{which: form})


@tenant_view(read="withholdings.view")
@require_POST
def withholding_release(request, *, membership, withholding_pk):
    withholding = withholdings.withholding_get(membership=membership, pk=withholding_pk)
    require(membership, "withholding.release")
    return _act(
        request,
        membership,
        withholding,
        form=WithholdingReleaseForm(request.POST),
        run=lambda data: withholdings.withholding_release(
            membership=membership, withholding=withholding, note=data["release_note"]
        ),
        done="Money released; the provider is told.",
        which="release",
    )


@tenant_view(read="withholdings.view")
@require_POST
def withholding_retain(request, *, membership, withholding_pk):
    withholding = withholdings.withholding_get(membership=membership, pk=withholding_pk)
    require(membership, "withholding.retain")
    return _act(
        request,
        membership,
        withholding,
        form=WithholdingRetainForm(request.POST),
        run=lambda data: withholdings.withholding_retain(
            membership=membership, withholding=withholding, note=data["retain_note"]
        ),
        done="Money retained; the provider is told.",
        which="retain",
    )


@tenant_view(read="withholdings.ledger")
@require_safe
def withholdings_ledger(request, *, membership):
    """Every withholding in the tenant: totals, then by contract, then each one
    (newest period first, a page at a time; ``?status=`` narrows the list)."""
    rows = withholdings.withholdings_detailed(membership=membership)
    status = request.GET.get("status", "")
    listed = rows.filter(status=status) if status in WithholdingStatus.values else rows
    page = Paginator(listed.order_by("-period", "-recorded_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "escalation/withholding_ledger.html",
        {
            "totals": withholdings.withholding_totals(rows),
            "by_contract": withholdings.totals_by_contract(rows),
            "page": page,
            "status": status if status in WithholdingStatus.values else "",
            "statuses": WithholdingStatus.choices,
        },
    )


# --- the contract dashboard's panel ------------------------------------------------


def dashboard_panel(membership, contract):
    """The contract's withholding totals, one query; nothing when it has none."""
    totals = withholdings.withholding_totals(
        withholdings.withholdings_visible(membership=membership).filter(contract_id=contract.pk)
    )
    if not totals["count"]:
        return None
    return ("escalation/withholding_panel.html", {"withholding_totals": totals})
