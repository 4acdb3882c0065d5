from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Membership, Role


def memberships_visible(*, membership: Membership | None) -> QuerySet[Membership]:
    """The tenant's members, for its admin and auditors; nobody else lists them."""
    if membership is None or membership.role not in (Role.ADMIN, Role.AUDITOR):
        return Membership.objects.none()
    return Membership.objects.filter(tenant_id=membership.tenant_id).select_related(
        "user", "provider"
    )


def membership_get(*, membership: Membership | None, pk) -> Membership:
    return get_object_or_404(memberships_visible(membership=membership), pk=pk)
