from rest_framework import serializers

from oversight.models import User
from oversight.serializers import StrictModelSerializer

from . import selectors
from .models import (
    CORE_COMPONENT_MAX_LENGTH,
    Contract,
    DeliverySite,
    Milestone,
    Provider,
    ServiceType,
    core_components_validator,
)
from .services import OWNER_ROLES


class TenantScopedSerializer(StrictModelSerializer):
    """Related-object choices are limited to what the membership can see, so an
    id from another tenant reads as "does not exist", never as a hint. Unknown
    fields are refused (``oversight.serializers``)."""

    scoped_fields: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        membership = self.context.get("membership")
        for name, queryset_for in self.scoped_fields.items():
            if name in self.fields:
                self.fields[name].queryset = queryset_for(membership)


class ProviderSerializer(TenantScopedSerializer):
    class Meta:
        model = Provider
        fields = [
            "id", "name", "ein", "uei", "ods_code",
            "contact_name", "contact_email", "contact_phone", "address",
        ]  # fmt: skip
        # Uniqueness per tenant is checked by the service (tenant is not a field here).
        validators = []


class ServiceTypeSerializer(TenantScopedSerializer):
    class Meta:
        model = ServiceType
        fields = ["id", "code", "name", "description"]
        validators = []


def _staff(roles):
    return lambda m: selectors.tenant_staff(membership=m, roles=roles) if m else User.objects.none()


class ContractSerializer(TenantScopedSerializer):
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    service_type_name = serializers.CharField(source="service_type.name", read_only=True)
    currency = serializers.CharField(max_length=3, required=False)
    protected_core_components = serializers.ListField(
        child=serializers.CharField(max_length=CORE_COMPONENT_MAX_LENGTH),
        required=False,
        validators=[core_components_validator],
    )

    scoped_fields = {
        "provider": lambda m: selectors.providers_visible(membership=m),
        "service_type": lambda m: selectors.service_types_visible(membership=m),
        **{name: _staff(roles) for name, roles in OWNER_ROLES.items()},
    }

    class Meta:
        model = Contract
        fields = [
            "id", "reference", "title", "provider", "provider_name",
            "service_type", "service_type_name", "status",
            "scope", "population_coverage", "intensity",
            "start_date", "end_date", "extension_options", "latest_end_date",
            "annual_value", "total_value", "currency", "payment_model", "payment_at_risk_pct",
            "contract_manager", "service_owner", "executive_sponsor",
            "reporting_frequency", "protected_core_components", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        validators = []


class SiteSerializer(TenantScopedSerializer):
    scoped_fields = {"contract": lambda m: selectors.contracts_visible(membership=m)}

    class Meta:
        model = DeliverySite
        fields = ["id", "contract", "name", "area", "partner_organisation", "address", "opened_on"]
        validators = []


class MilestoneSerializer(TenantScopedSerializer):
    scoped_fields = {"contract": lambda m: selectors.contracts_visible(membership=m)}

    class Meta:
        model = Milestone
        fields = ["id", "contract", "title", "due_date", "status", "completed_on", "notes"]
        validators = []


__all__ = [
    "ContractSerializer",
    "MilestoneSerializer",
    "ProviderSerializer",
    "ServiceTypeSerializer",
    "SiteSerializer",
]
