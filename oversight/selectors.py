from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Membership
from .permissions import can_read


def memberships_visible(*, membership: Membership | None) -> QuerySet[Membership]:
    """The tenant's members, for the roles that may read them (its admin and
    auditors: ``members.view``); nobody else lists them."""
    if not can_read(membership, "members.view"):
        return Membership.objects.none()
    return Membership.objects.filter(tenant_id=membership.tenant_id).select_related(
        "user", "provider"
    )


def membership_get(*, membership: Membership | None, pk) -> Membership:
    return get_object_or_404(memberships_visible(membership=membership), pk=pk)
