"""What a membership may read of variations: those of the contracts it sees
(a provider's member, its own contracts'), as everything hanging off a
contract (``contracts_visible``)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from contracts.selectors import contracts_visible
from oversight.models import Membership

from .models import IN_PROGRESS, Variation, VariationChange


def variations_visible(*, membership: Membership | None) -> QuerySet[Variation]:
    if membership is None:
        return Variation.objects.none()
    return Variation.objects.filter(
        tenant_id=membership.tenant_id, contract__in=contracts_visible(membership=membership)
    )


def variations_detailed(*, membership: Membership | None) -> QuerySet[Variation]:
    """With their contract, people and changes (each with its KPI): the list
    pages and the API in a fixed number of queries."""
    return (
        variations_visible(membership=membership)
        .select_related(
            "contract", "contract__provider", "tenant", "proposed_by", "assessed_by", "decided_by"
        )
        .prefetch_related(
            Prefetch(
                "changes",
                queryset=VariationChange.objects.select_related("contract_kpi__kpi").order_by(
                    "position", "id"
                ),
            )
        )
    )


def variation_get(*, membership: Membership | None, pk) -> Variation:
    return get_object_or_404(variations_detailed(membership=membership), pk=pk)


def variations_in_progress_of(*, membership: Membership | None, contract) -> QuerySet[Variation]:
    return variations_detailed(membership=membership).filter(
        contract_id=contract.pk, status__in=IN_PROGRESS
    )
