"""API filters for the register: the same filtering function as the page."""

import django_filters

from .models import ContractStatus
from .selectors import contracts_filter


class ContractFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search reference, title or provider")
    provider = django_filters.NumberFilter()
    service_type = django_filters.NumberFilter()
    status = django_filters.ChoiceFilter(choices=ContractStatus.choices, empty_label="All statuses")
    owner = django_filters.NumberFilter(label="Contract manager, service owner or sponsor")
    ending_within = django_filters.NumberFilter(label="Ending within N days", min_value=0)

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        ending = data.get("ending_within")
        return contracts_filter(
            queryset,
            search=data.get("q") or "",
            provider_id=data.get("provider"),
            service_type_id=data.get("service_type"),
            status=data.get("status") or "",
            owner_id=data.get("owner"),
            ending_within_days=int(ending) if ending is not None else None,
        ).order_by("reference")


class ContractChildFilter(django_filters.FilterSet):
    """Filter sites and milestones by contract id. A plain number, not a model
    choice: another tenant's id must read the same as a missing one."""

    contract = django_filters.NumberFilter(field_name="contract_id")
