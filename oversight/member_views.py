"""The admin's pages for people and roles in the tenant."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors, services
from .member_forms import MemberCreateForm, MemberEditForm
from .models import Role
from .permissions import can, require
from .tenancy import tenant_view
from .views import edit_page, tenant_url


class _Saved:
    def __init__(self, url):
        self._url = url

    def get_absolute_url(self):
        return self._url


@tenant_view
@require_safe
def member_list(request, *, membership):
    if membership.role not in (Role.ADMIN, Role.AUDITOR):
        raise Http404
    members = selectors.memberships_visible(membership=membership)
    return render(
        request,
        "oversight/member_list.html",
        {"members": members, "can_edit": can(membership, "membership.change")},
    )


@tenant_view(action="membership.change")
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


@tenant_view
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
