"""The admin's pages for people and roles in the tenant."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors, services
from .member_forms import MemberCreateForm, MemberEditForm
from .permissions import can, require
from .tenancy import tenant_view
from .views import edit_page, tenant_url


class _Saved:
    def __init__(self, url):
        self._url = url

    def get_absolute_url(self):
        return self._url


@tenant_view(read="members.view")
@require_safe
def member_list(request, *, membership):
    members = selectors.memberships_visible(membership=membership)
    return render(
        request,
        "oversight/member_list.html",
        {"members": members, "can_edit": can(membership, "membership.change")},
    )


@tenant_view(read="members.view", action="membership.change")
def member_create(request, *, membership):
    def save(data, reason):
        services.membership_create(membership=membership, reason=reason, request=request, **data)
        return _Saved(tenant_url(membership, "member_list"))

    return edit_page(
        request,
        membership=membership,
        form_class=MemberCreateForm,
        save=save,
        title="Add a member",
        cancel_url=tenant_url(membership, "member_list"),
        breadcrumbs=[("Members", tenant_url(membership, "member_list"))],
    )


# Members are outside the reach of roles that may not read them
# (selectors.memberships_visible): their pages are 404 for those roles.
@tenant_view(read="members.view", hides_objects=True)
def member_edit(request, *, membership, membership_pk):
    target = selectors.membership_get(membership=membership, pk=membership_pk)
    require(membership, "membership.change")

    def save(data, reason):
        services.membership_update(membership=membership, target=target, reason=reason, **data)
        return _Saved(tenant_url(membership, "member_list"))

    return edit_page(
        request,
        membership=membership,
        instance=target,
        form_class=MemberEditForm,
        save=save,
        title=f"Edit {target.user}",
        cancel_url=tenant_url(membership, "member_list"),
        breadcrumbs=[("Members", tenant_url(membership, "member_list"))],
    )
