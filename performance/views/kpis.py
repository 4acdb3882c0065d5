"""The KPI library (a tenant's measures) and a contract's KPIs with their
targets, benchmarks and phase targets."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from .. import services
from ..forms import (
    ContractKpiForm,
    KpiForm,
    PhaseTargetFormSet,
)
from ..models import ContractKpi, Kpi, PhaseTarget
from ..selectors import (
    contract_kpi_get,
    contract_kpis_visible,
    kpi_get,
    kpis_visible,
)

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
