"""The register through the API: the same selectors and services as the pages."""

from oversight.api import ServiceWriteViewSet

from . import selectors, services
from .filters import ContractChildFilter, ContractFilter
from .models import Contract, DeliverySite, Milestone, Provider, ServiceType
from .serializers import (
    ContractSerializer,
    MilestoneSerializer,
    ProviderSerializer,
    ServiceTypeSerializer,
    SiteSerializer,
)


class ProviderViewSet(ServiceWriteViewSet):
    queryset = Provider.objects.all()
    serializer_class = ProviderSerializer
    selector = staticmethod(selectors.providers_visible)
    write_action = "provider.change"
    lookup_url_kwarg = "provider_pk"

    def create_service(self, membership, data, reason):
        return services.provider_create(membership=membership, data=data, reason=reason)

    def update_service(self, membership, obj, data, reason):
        return services.provider_update(
            membership=membership, provider=obj, data=data, reason=reason
        )


class ServiceTypeViewSet(ServiceWriteViewSet):
    queryset = ServiceType.objects.all()
    serializer_class = ServiceTypeSerializer
    selector = staticmethod(selectors.service_types_visible)
    write_action = "service_type.change"
    lookup_url_kwarg = "service_type_pk"

    def create_service(self, membership, data, reason):
        return services.service_type_create(membership=membership, data=data, reason=reason)

    def update_service(self, membership, obj, data, reason):
        return services.service_type_update(
            membership=membership, service_type=obj, data=data, reason=reason
        )


class ContractViewSet(ServiceWriteViewSet):
    queryset = Contract.objects.all()
    serializer_class = ContractSerializer
    selector = staticmethod(selectors.contract_list)
    write_action = "contract.change"
    lookup_url_kwarg = "contract_pk"
    filterset_class = ContractFilter

    def create_service(self, membership, data, reason):
        return services.contract_create(membership=membership, data=data, reason=reason)

    def update_service(self, membership, obj, data, reason):
        return services.contract_update(
            membership=membership, contract=obj, data=data, reason=reason
        )


class SiteViewSet(ServiceWriteViewSet):
    queryset = DeliverySite.objects.all()
    serializer_class = SiteSerializer
    selector = staticmethod(selectors.sites_visible)
    write_action = "site.change"
    lookup_url_kwarg = "site_pk"
    filterset_class = ContractChildFilter

    def create_service(self, membership, data, reason):
        data = dict(data)
        contract = data.pop("contract")
        return services.site_create(
            membership=membership, contract=contract, data=data, reason=reason
        )

    def update_service(self, membership, obj, data, reason):
        return services.site_update(membership=membership, site=obj, data=data, reason=reason)


class MilestoneViewSet(ServiceWriteViewSet):
    queryset = Milestone.objects.all()
    serializer_class = MilestoneSerializer
    selector = staticmethod(selectors.milestones_visible)
    write_action = "milestone.change"
    lookup_url_kwarg = "milestone_pk"
    filterset_class = ContractChildFilter

    def create_service(self, membership, data, reason):
        data = dict(data)
        contract = data.pop("contract")
        return services.milestone_create(
            membership=membership, contract=contract, data=data, reason=reason
        )

    def update_service(self, membership, obj, data, reason):
        return services.milestone_update(
            membership=membership, milestone=obj, data=data, reason=reason
        )
