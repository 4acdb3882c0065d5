"""Navigation that fits the role of the current membership."""

from django.urls import reverse

from .models import Role
from .tenancy import memberships_of

# (label, url name, roles that see it)
NAV = [
    ("Home", "tenant_home", None),
    ("Contracts", "contract_list", None),
    ("Providers", "provider_list", {Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR}),
    ("Service types", "service_type_list", {Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR}),
    ("Members", "member_list", {Role.ADMIN, Role.AUDITOR}),
]


def navigation(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    slug = membership.tenant.slug
    items = []
    for label, name, roles in NAV:
        if roles is None or membership.role in roles:
            url = reverse(name, kwargs={"tenant_slug": slug})
            current = request.path == url or (
                name != "tenant_home" and request.path.startswith(url)
            )
            items.append({"label": label, "url": url, "current": current})
    return {
        "membership": membership,
        "tenant": membership.tenant,
        "nav_items": items,
        "other_memberships": [
            m for m in memberships_of(request.user) if m.tenant_id != membership.tenant_id
        ],
    }
