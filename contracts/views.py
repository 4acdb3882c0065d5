"""Register pages: thin views that read through selectors and write through services."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from oversight import registry
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import edit_page, tenant_url

from . import selectors, services
from .breadcrumbs import contract_crumbs, contracts_crumbs
from .forms import (
    ContractFilterForm,
    ContractForm,
    MilestoneForm,
    ProviderForm,
    ServiceTypeForm,
    SiteForm,
)

PAGE_SIZE = 25


@tenant_view(read="register.view")
@require_safe
def contract_list(request, *, membership):
    form = ContractFilterForm(request.GET or None, membership=membership)
    kwargs = form.selector_kwargs() if request.GET else {}
    contracts = selectors.contract_list(membership=membership, **kwargs).order_by("reference")
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "contracts/contract_list.html",
        {
            "filter_form": form,
            "page": page,
            "querystring": query.urlencode(),
            "can_create": can(membership, "contract.change"),
        },
    )


@tenant_view(read="register.view")
@require_safe
def contract_detail(request, *, membership, contract_pk):
    contract = selectors.contract_get(membership=membership, pk=contract_pk)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "breadcrumbs": contracts_crumbs(membership),
            "contract_links": registry.contract_links_for(membership, contract),
            "sites": contract.sites.all(),
            "milestones": contract.milestones.all(),
            "history": history_entries(contract, limit=20),
            "can_edit": can(membership, "contract.change"),
            "can_edit_sites": can(membership, "site.change"),
            "can_edit_milestones": can(membership, "milestone.change"),
        },
    )


@tenant_view(read="dashboard.view")
@require_safe
def contract_dashboard(request, *, membership, contract_pk):
    """The contract's dashboard: its heading and links, then every
    contract-dashboard panel the apps registered (oversight/registry.py), in
    order: performance's charts, signals and risk; later the escalation record,
    variations and meetings, each added in its app's ready()."""
    contract = selectors.contract_get(membership=membership, pk=contract_pk)
    return render(
        request,
        "contracts/contract_dashboard.html",
        {
            "contract": contract,
            "contract_links": registry.contract_links_for(membership, contract),
            "dashboard_panels": registry.contract_panels_for(membership, contract),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


@tenant_view(read="history.view")
@require_safe
def contract_history(request, *, membership, contract_pk):
    contract = selectors.contract_get(membership=membership, pk=contract_pk)
    return render(
        request,
        "includes/history_page.html",
        {
            "object": contract,
            "history": history_entries(contract, limit=500),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


@tenant_view(read="register.view", action="contract.change")
def contract_create(request, *, membership):
    return edit_page(
        request,
        membership=membership,
        form_class=ContractForm,
        save=lambda data, reason: services.contract_create(
            membership=membership, data=data, reason=reason
        ),
        title="Register a contract",
        cancel_url=tenant_url(membership, "contract_list"),
        breadcrumbs=contracts_crumbs(membership),
    )


@tenant_view(read="register.view")
def contract_edit(request, *, membership, contract_pk):
    contract = selectors.contract_get(membership=membership, pk=contract_pk)
    require(membership, "contract.change")
    return edit_page(
        request,
        membership=membership,
        instance=contract,
        form_class=ContractForm,
        save=lambda data, reason: services.contract_update(
            membership=membership, contract=contract, data=data, reason=reason
        ),
        title=f"Edit {contract.reference}",
        cancel_url=contract.get_absolute_url(),
        breadcrumbs=contract_crumbs(membership, contract),
    )


@tenant_view(read="register.view")
def site_create(request, *, membership, contract_pk):
    contract = selectors.contract_get(membership=membership, pk=contract_pk)
    require(membership, "site.change")
    return edit_page(
        request,
        membership=membership,
        form_class=SiteForm,
        save=lambda data, reason: services.site_create(
            membership=membership, contract=contract, data=data, reason=reason
        ),
        title=f"Add a delivery site to {contract.reference}",
        cancel_url=contract.get_absolute_url(),
        breadcrumbs=contract_crumbs(membership, contract),
    )


@tenant_view(read="register.view")
def site_edit(request, *, membership, site_pk):
    site = selectors.site_get(membership=membership, pk=site_pk)
    require(membership, "site.change")
    contract = site.contract
    return edit_page(
        request,
        membership=membership,
        instance=site,
        form_class=SiteForm,
        save=lambda data, reason: services.site_update(
            membership=membership, site=site, data=data, reason=reason
        ),
        title=f"Edit site {site.name}",
        cancel_url=contract.get_absolute_url(),
        breadcrumbs=contract_crumbs(membership, contract),
    )


@tenant_view(read="register.view")
def milestone_create(request, *, membership, contract_pk):
    contract = selectors.contract_get(membership=membership, pk=contract_pk)
    require(membership, "milestone.change")
    return edit_page(
        request,
        membership=membership,
        form_class=MilestoneForm,
        save=lambda data, reason: services.milestone_create(
            membership=membership, contract=contract, data=data, reason=reason
        ),
        title=f"Add a milestone to {contract.reference}",
        cancel_url=contract.get_absolute_url(),
        breadcrumbs=contract_crumbs(membership, contract),
    )


@tenant_view(read="register.view")
def milestone_edit(request, *, membership, milestone_pk):
    milestone = selectors.milestone_get(membership=membership, pk=milestone_pk)
    require(membership, "milestone.change")
    contract = milestone.contract
    return edit_page(
        request,
        membership=membership,
        instance=milestone,
        form_class=MilestoneForm,
        save=lambda data, reason: services.milestone_update(
            membership=membership, milestone=milestone, data=data, reason=reason
        ),
        title=f"Edit milestone {milestone.title}",
        cancel_url=contract.get_absolute_url(),
        breadcrumbs=contract_crumbs(membership, contract),
    )


@tenant_view(read="register.view")
@require_safe
def provider_list(request, *, membership):
    providers = selectors.providers_visible(membership=membership).order_by("name")
    page = Paginator(providers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "contracts/provider_list.html",
        {"page": page, "can_create": can(membership, "provider.change")},
    )


@tenant_view(read="register.view")
@require_safe
def provider_detail(request, *, membership, provider_pk):
    provider = selectors.provider_get(membership=membership, pk=provider_pk)
    contracts = (
        selectors.contracts_visible(membership=membership)
        .filter(provider=provider)
        .select_related("service_type")
        .order_by("reference")
    )
    return render(
        request,
        "contracts/provider_detail.html",
        {
            "provider": provider,
            "contracts": contracts,
            "history": history_entries(provider, limit=20),
            "can_edit": can(membership, "provider.change"),
        },
    )


@tenant_view(read="register.view", action="provider.change")
def provider_create(request, *, membership):
    return edit_page(
        request,
        membership=membership,
        form_class=ProviderForm,
        save=lambda data, reason: services.provider_create(
            membership=membership, data=data, reason=reason
        ),
        title="Add a provider",
        cancel_url=tenant_url(membership, "provider_list"),
        breadcrumbs=[("Providers", tenant_url(membership, "provider_list"))],
    )


@tenant_view(read="register.view")
def provider_edit(request, *, membership, provider_pk):
    provider = selectors.provider_get(membership=membership, pk=provider_pk)
    require(membership, "provider.change")
    return edit_page(
        request,
        membership=membership,
        instance=provider,
        form_class=ProviderForm,
        save=lambda data, reason: services.provider_update(
            membership=membership, provider=provider, data=data, reason=reason
        ),
        title=f"Edit {provider.name}",
        cancel_url=provider.get_absolute_url(),
        breadcrumbs=[
            ("Providers", tenant_url(membership, "provider_list")),
            (provider.name, provider.get_absolute_url()),
        ],
    )


@tenant_view(read="service_types.view")
@require_safe
def service_type_list(request, *, membership):
    return render(
        request,
        "contracts/service_type_list.html",
        {
            "service_types": selectors.service_types_visible(membership=membership),
            "can_create": can(membership, "service_type.change"),
        },
    )


@tenant_view(read="service_types.view", action="service_type.change")
def service_type_create(request, *, membership):
    return edit_page(
        request,
        membership=membership,
        form_class=ServiceTypeForm,
        save=lambda data, reason: services.service_type_create(
            membership=membership, data=data, reason=reason
        ),
        title="Add a service type",
        cancel_url=tenant_url(membership, "service_type_list"),
        breadcrumbs=[("Service types", tenant_url(membership, "service_type_list"))],
    )


@tenant_view(read="service_types.view")
def service_type_edit(request, *, membership, service_type_pk):
    service_type = selectors.service_type_get(membership=membership, pk=service_type_pk)
    require(membership, "service_type.change")
    return edit_page(
        request,
        membership=membership,
        instance=service_type,
        form_class=ServiceTypeForm,
        save=lambda data, reason: services.service_type_update(
            membership=membership, service_type=service_type, data=data, reason=reason
        ),
        title=f"Edit {service_type.name}",
        cancel_url=tenant_url(membership, "service_type_list"),
        breadcrumbs=[("Service types", tenant_url(membership, "service_type_list"))],
    )
