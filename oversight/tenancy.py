"""Resolve the tenant and membership of a request, once.

``/t/<tenant_slug>/…`` for pages and ``/api/v1/t/<tenant_slug>/…`` for the API.
No membership in the tenant answers 404, the same as a tenant that does not
exist, so a URL never confirms another organisation's existence. Every page
declares its read (``tenant_view(read=…)``, a key of
``oversight.permissions.READS``): a role that may not use the page gets the
styled 403.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import Membership
from .permissions import can_read, require, require_read


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


def tenant_view(view=None, *, read: str, action: str | None = None, hides_objects: bool = False):
    """Decorate a page view: sign-in required, membership resolved and passed as
    ``membership=``, then the page's ``read`` (``permissions.READS``) checked —
    403 for a role that may not use the page — and, with ``action``, the write.

    ``hides_objects``: a role without the read can see none of the objects the
    page is about (its selector returns nothing for that role), so the page
    answers 404, as for any object outside a membership's reach, not 403.
    The read is kept on the view (``view.read``) for the role tests and for
    the test that every tenant page declares one."""

    def decorate(func):
        @login_required
        @wraps(func)
        def wrapper(request, tenant_slug: str, *args, **kwargs):
            membership = membership_for(request.user, tenant_slug)
            request.membership = membership  # for templates and navigation
            if hides_objects and not can_read(membership, read):
                raise Http404("No such object")
            require_read(membership, read)
            if action is not None:
                require(membership, action)
            return func(request, *args, membership=membership, **kwargs)

        wrapper.read = read
        wrapper.read_hides_objects = hides_objects
        return wrapper

    return decorate(view) if view is not None else decorate
