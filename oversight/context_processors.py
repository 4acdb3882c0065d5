"""Navigation that fits the role of the current membership: the items registered
in oversight/registry.py (by the core and by each feature app's ready()), in
their order, then the member's notifications."""

from django.urls import reverse

from . import registry
from .notifications import unread_count
from .tenancy import memberships_of


def navigation(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    slug = membership.tenant.slug
    items = []
    for item in registry.navigation_for(membership):
        url = reverse(item.url_name, kwargs={"tenant_slug": slug})
        current = request.path == url or (
            item.url_name != "tenant_home" and request.path.startswith(url)
        )
        items.append({"label": item.label, "url": url, "current": current})
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
