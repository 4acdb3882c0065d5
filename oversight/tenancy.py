"""Resolve the tenant and membership of a request, once.

``/t/<tenant_slug>/…`` for pages and ``/api/v1/t/<tenant_slug>/…`` for the API.
No membership in the tenant answers 404, the same as a tenant that does not
exist, so a URL never confirms another organisation's existence.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import Membership
from .permissions import require


def membership_for(user, tenant_slug: str) -> Membership:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such tenant")
    membership = (
        Membership.objects.select_related("tenant", "provider", "user")
        .filter(user=user, tenant__slug=tenant_slug, is_active=True)
        .first()
    )
    if membership is None:
        raise Http404("No such tenant")
    return membership


def memberships_of(user):
    return (
        Membership.objects.select_related("tenant", "provider")
        .filter(user=user, is_active=True)
        .order_by("tenant__name")
    )


def tenant_view(view=None, *, action: str | None = None):
    """Decorate a page view: sign-in required, membership resolved and passed as
    ``membership=``; with ``action``, the role must be allowed to perform it."""

    def decorate(func):
        @login_required
        @wraps(func)
        def wrapper(request, tenant_slug: str, *args, **kwargs):
            membership = membership_for(request.user, tenant_slug)
            request.membership = membership  # for templates and navigation
            if action is not None:
                require(membership, action)
            return func(request, *args, membership=membership, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
