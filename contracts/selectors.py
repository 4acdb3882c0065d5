"""What a membership may read in the contract register: the one place that knows.

Every view, API viewset, export and task reads tenant data through these
functions. No membership: nothing (``.none()``). A provider membership sees
only its own provider and the contracts (and sites, milestones…) hanging off
it. An object outside what the membership sees is reported exactly as a
missing one (404).
"""

from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from oversight import clock
from oversight.models import Membership, Role

from .models import Contract, DeliverySite, Milestone, Provider, ServiceType


def providers_visible(*, membership: Membership | None) -> QuerySet[Provider]:
    if membership is None:
        return Provider.objects.none()
    qs = Provider.objects.filter(tenant_id=membership.tenant_id)
    if membership.role == Role.PROVIDER:
        qs = qs.filter(pk=membership.provider_id)
    return qs


def provider_get(*, membership: Membership | None, pk) -> Provider:
    return get_object_or_404(providers_visible(membership=membership), pk=pk)


def service_types_visible(*, membership: Membership | None) -> QuerySet[ServiceType]:
    if membership is None:
        return ServiceType.objects.none()
    return ServiceType.objects.filter(tenant_id=membership.tenant_id)


def service_type_get(*, membership: Membership | None, pk) -> ServiceType:
    return get_object_or_404(service_types_visible(membership=membership), pk=pk)


def contracts_visible(*, membership: Membership | None) -> QuerySet[Contract]:
    if membership is None:
        return Contract.objects.none()
    qs = Contract.objects.filter(tenant_id=membership.tenant_id)
    if membership.role == Role.PROVIDER:
        qs = qs.filter(provider_id=membership.provider_id)
    return qs


def contract_get(*, membership: Membership | None, pk) -> Contract:
    qs = contracts_visible(membership=membership).select_related(
        "provider", "service_type", "contract_manager", "service_owner", "executive_sponsor"
    )
    return get_object_or_404(qs, pk=pk)


def contract_list(*, membership: Membership | None, **filters) -> QuerySet[Contract]:
    """The register as a membership sees it, filtered; the page and the API share it."""
    qs = contracts_visible(membership=membership).select_related(
        "provider", "service_type", "contract_manager"
    )
    return contracts_filter(qs, **filters)


def contracts_filter(
    qs: QuerySet[Contract],
    *,
    search: str = "",
    provider_id=None,
    service_type_id=None,
    status: str = "",
    owner_id=None,
    ending_within_days: int | None = None,
    today: date | None = None,
) -> QuerySet[Contract]:
    if search:
        qs = qs.filter(
            Q(reference__icontains=search)
            | Q(title__icontains=search)
            | Q(provider__name__icontains=search)
        )
    if provider_id:
        qs = qs.filter(provider_id=provider_id)
    if service_type_id:
        qs = qs.filter(service_type_id=service_type_id)
    if status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(
            Q(contract_manager_id=owner_id)
            | Q(service_owner_id=owner_id)
            | Q(executive_sponsor_id=owner_id)
        )
    if ending_within_days is not None:
        today = today or clock.today()
        qs = qs.filter(
            end_date__gte=today, end_date__lte=today + timedelta(days=ending_within_days)
        )
    return qs


def sites_visible(*, membership: Membership | None) -> QuerySet[DeliverySite]:
    if membership is None:
        return DeliverySite.objects.none()
    return DeliverySite.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def site_get(*, membership: Membership | None, pk) -> DeliverySite:
    return get_object_or_404(sites_visible(membership=membership).select_related("contract"), pk=pk)


def milestones_visible(*, membership: Membership | None) -> QuerySet[Milestone]:
    if membership is None:
        return Milestone.objects.none()
    return Milestone.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def milestone_get(*, membership: Membership | None, pk) -> Milestone:
    return get_object_or_404(
        milestones_visible(membership=membership).select_related("contract"), pk=pk
    )


def tenant_staff(*, membership: Membership | None, roles=None):
    """Users of the membership's tenant (for owner pickers), optionally by role."""
    from oversight.models import User

    if membership is None:
        return User.objects.none()
    qs = User.objects.filter(
        memberships__tenant_id=membership.tenant_id, memberships__is_active=True
    )
    if roles:
        qs = qs.filter(memberships__role__in=roles)
    return qs.distinct().order_by("full_name")
