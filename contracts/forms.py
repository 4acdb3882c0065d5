"""Page forms for the register. Querysets come from the selectors so that a
choice outside the tenant is never offered; the services validate again."""

from django import forms

from oversight.forms import DateInput, ReasonMixin, USWDSMixin
from oversight.models import Role

from . import selectors
from .models import Contract, ContractStatus, DeliverySite, Milestone, Provider, ServiceType
from .services import OWNER_ROLES


class ProviderForm(USWDSMixin, ReasonMixin, forms.ModelForm):
    class Meta:
        model = Provider
        fields = [
            "name", "ein", "uei", "ods_code",
            "contact_name", "contact_email", "contact_phone", "address",
        ]  # fmt: skip
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, membership, **kwargs):
        self.membership = membership
        super().__init__(*args, **kwargs)


class ServiceTypeForm(ProviderForm):
    class Meta:
        model = ServiceType
        fields = ["code", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class LinesField(forms.CharField):
    """A list of strings edited as one item per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class ContractForm(ProviderForm):
    protected_core_components = LinesField(
        required=False,
        label="Protected core components",
        help_text="What may not be traded away for volume: one item per line.",
    )

    class Meta:
        model = Contract
        fields = [
            "reference", "title", "provider", "service_type", "status",
            "scope", "population_coverage", "intensity",
            "start_date", "end_date", "extension_options", "latest_end_date",
            "annual_value", "total_value", "currency", "payment_model", "payment_at_risk_pct",
            "contract_manager", "service_owner", "executive_sponsor",
            "reporting_frequency", "protected_core_components",
        ]  # fmt: skip
        widgets = {
            "scope": forms.Textarea(attrs={"rows": 4}),
            "population_coverage": forms.Textarea(attrs={"rows": 3}),
            "start_date": DateInput(),
            "end_date": DateInput(),
            "latest_end_date": DateInput(),
        }

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, membership=membership, **kwargs)
        self.fields["provider"].queryset = selectors.providers_visible(membership=membership)
        self.fields["service_type"].queryset = selectors.service_types_visible(
            membership=membership
        )
        for name, roles in OWNER_ROLES.items():
            self.fields[name].queryset = selectors.tenant_staff(membership=membership, roles=roles)
        if not self.instance.pk:
            self.initial.setdefault("currency", membership.tenant.currency)
            self.initial.setdefault("status", ContractStatus.ACTIVE)
            if membership.role in (Role.COMMISSIONER, Role.ADMIN):
                self.initial.setdefault("contract_manager", membership.user_id)


class SiteForm(ProviderForm):
    class Meta:
        model = DeliverySite
        fields = ["name", "area", "partner_organisation", "address", "opened_on"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "opened_on": DateInput()}


class MilestoneForm(SiteForm):
    class Meta:
        model = Milestone
        fields = ["title", "due_date", "status", "completed_on", "notes"]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "due_date": DateInput(),
            "completed_on": DateInput(),
        }


class ContractFilterForm(USWDSMixin, forms.Form):
    """The register's filters (GET). The API uses the same selector."""

    q = forms.CharField(label="Search", required=False, help_text="Reference, title or provider")
    # Each filter's empty choice says what choosing nothing means: "All <things>".
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.none(), required=False, empty_label="All providers"
    )
    service_type = forms.ModelChoiceField(
        queryset=ServiceType.objects.none(), required=False, empty_label="All service types"
    )
    status = forms.ChoiceField(
        choices=[("", "All statuses")] + ContractStatus.choices, required=False
    )
    owner = forms.ModelChoiceField(
        queryset=Provider.objects.none(), required=False, label="Owner", empty_label="All owners"
    )
    ending_within = forms.IntegerField(
        label="Ending within (days)", required=False, min_value=0, max_value=3650
    )

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = selectors.providers_visible(membership=membership)
        self.fields["service_type"].queryset = selectors.service_types_visible(
            membership=membership
        )
        self.fields["owner"].queryset = selectors.tenant_staff(
            membership=membership,
            roles=[Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE],
        )
        if membership.role == Role.PROVIDER:
            del self.fields["owner"]

    def selector_kwargs(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "search": data.get("q") or "",
            "provider_id": data["provider"].pk if data.get("provider") else None,
            "service_type_id": data["service_type"].pk if data.get("service_type") else None,
            "status": data.get("status") or "",
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "ending_within_days": data.get("ending_within"),
        }
