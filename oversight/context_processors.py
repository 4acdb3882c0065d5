"""Navigation that fits the role of the current membership."""

from django.urls import reverse

from .models import Role
from .notifications import unread_count
from .tenancy import memberships_of

# (label, url name, roles that see it)
NAV = [
    ("Home", "tenant_home", None),
    ("Contracts", "contract_list", None),
    ("Returns", "returns_home", None),
    ("KPI library", "kpi_list", {Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR}),
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
    # The member's unread notifications: one COUNT per page.
    unread = unread_count(membership=membership)
    url = reverse("notification_list", kwargs={"tenant_slug": slug})
    items.append(
        {
            "label": f"Notifications ({unread} unread)" if unread else "Notifications",
            "url": url,
            "current": request.path.startswith(url),
        }
    )
    return {
        "unread_notifications": unread,
        "membership": membership,
        "tenant": membership.tenant,
        "nav_items": items,
        "other_memberships": [
            m for m in memberships_of(request.user) if m.tenant_id != membership.tenant_id
        ],
    }
