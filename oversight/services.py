"""Writes to tenants' memberships (the admin's user management) and to the
tenant's own settings."""

from django.core.exceptions import ValidationError
from django.db import transaction

from .history import save_with_history
from .models import Membership, Role, Tenant, User
from .permissions import require
from .tasks import send_welcome_email


@transaction.atomic
def membership_create(
    *,
    membership: Membership,
    email: str,
    full_name: str,
    role: str,
    provider=None,
    reason: str,
    request=None,
) -> Membership:
    """Give a person a role in the admin's tenant, creating their account if new.
    A new account has no password: the person gets an email to set one."""
    require(membership, "membership.change")
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email, full_name=full_name.strip())
        user.set_unusable_password()
        save_with_history(user, user=membership.user, reason=reason)
    elif Membership.objects.filter(user=user, tenant_id=membership.tenant_id).exists():
        raise ValidationError({"email": "This person is already a member of this organisation."})
    new = Membership(user=user, tenant=membership.tenant, role=role, provider=provider)
    new.full_clean()
    save_with_history(new, user=membership.user, reason=reason)
    if created:
        _send_set_password(new, request)
    return new


def _send_set_password(new: Membership, request) -> None:
    """Queue the welcome email once the membership is committed: the worker reads
    it from the database. The request's host and scheme go along so that the
    set-password link points at the site the admin is using."""
    kwargs = {"domain": request.get_host(), "use_https": request.is_secure()} if request else {}
    transaction.on_commit(lambda: send_welcome_email.delay(new.id, **kwargs))


@transaction.atomic
def membership_update(
    *, membership: Membership, target: Membership, role: str, provider, is_active: bool, reason: str
) -> Membership:
    require(membership, "membership.change")
    target = Membership.objects.select_for_update().get(pk=target.pk)
    if target.pk == membership.pk and (role != Role.ADMIN or not is_active):
        raise ValidationError({"role": "You cannot remove your own admin role."})
    target.role = role
    target.provider = provider if role == Role.PROVIDER else None
    target.is_active = is_active
    target.full_clean()
    save_with_history(target, user=membership.user, reason=reason)
    return target


@transaction.atomic
def tenant_calendar_set(
    *, membership: Membership, holiday_country: str, holiday_subdivision: str, reason: str
) -> Tenant:
    """Set whose public holidays the tenant's working-day deadlines skip (a
    country and optional subdivision the holidays library knows); refused with
    a message naming the field, nothing written, for one it does not."""
    require(membership, "tenant.change")
    tenant = Tenant.objects.select_for_update().get(pk=membership.tenant_id)
    tenant.holiday_country = (holiday_country or "").strip().upper()
    tenant.holiday_subdivision = (holiday_subdivision or "").strip().upper()
    tenant.full_clean()
    save_with_history(tenant, user=membership.user, reason=reason)
    return tenant
