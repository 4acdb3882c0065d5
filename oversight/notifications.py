"""In-app notifications and their emails.

``notify`` is the one way a notification is sent: it writes one row per user
(skipping users who already have a row with the same ``dedupe_key``, so a
retried task never sends twice) and, once the transaction commits, queues
the Celery task that emails the new ones (``tasks.send_notification_emails``,
retried on network and SMTP failures; eager when REDIS_URL is unset). The page
lists a member's notifications in the current tenant only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from . import clock, formatting, registry
from .models import Membership, Notification, Tenant, User
from .tasks import send_notification_emails
from .tenancy import tenant_view

MESSAGE_LENGTH = Notification._meta.get_field("message").max_length  # 500

logger = logging.getLogger(__name__)


# --- selectors ----------------------------------------------------------------


def notifications_visible(*, membership: Membership | None) -> QuerySet[Notification]:
    """A member's own notifications in the membership's tenant."""
    if membership is None:
        return Notification.objects.none()
    return Notification.objects.filter(tenant_id=membership.tenant_id, user_id=membership.user_id)


def unread_count(*, membership: Membership | None) -> int:
    return notifications_visible(membership=membership).filter(read_at__isnull=True).count()


# --- services -----------------------------------------------------------------


def require_kind(kind: str) -> None:
    """Every notice is of a kind some app registered (``registry.notification_kind``
    in its ``AppConfig.ready()``), so the page can name it."""
    if registry.NOTIFICATION_KINDS.get(str(kind)) is None:
        known = ", ".join(code for code, _ in registry.notification_kinds())
        raise ValueError(
            f"Unknown notification kind {kind!r}: register it with "
            f"oversight.registry.notification_kind() (registered: {known})."
        )


def notify(
    *,
    tenant: Tenant,
    users: Iterable[User],
    kind: str,
    message: str,
    url: str = "",
    dedupe_key: str = "",
    email_subject: str | None = None,
    email_body: str | None = None,
) -> list[Notification]:
    """Notify each user once per ``dedupe_key``; email the new notifications
    after commit. Returns the notifications created now."""
    require_kind(kind)
    users = {u.pk: u for u in users if u.is_active}
    if not users:
        return []
    if dedupe_key:
        already = set(
            Notification.objects.filter(
                tenant=tenant, dedupe_key=dedupe_key, user_id__in=list(users)
            ).values_list("user_id", flat=True)
        )
        users = {pk: u for pk, u in users.items() if pk not in already}
    rows = [
        Notification(
            tenant=tenant,
            user=user,
            kind=kind,
            # Cut at a word, never inside a figure (the email has it whole).
            message=formatting.shorten(message, MESSAGE_LENGTH),
            url=url,
            dedupe_key=dedupe_key,
        )
        for user in users.values()
    ]
    if not rows:
        return []
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(rows)
    except IntegrityError:
        # A concurrent run sent some of them first: send only what is left, one by one.
        created = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:
                continue
            created.append(row)
        rows = created
    if email_subject and rows:
        subject = email_subject
        body = email_body or message
        ids = [r.pk for r in rows if r.pk]
        transaction.on_commit(lambda: send_notification_emails.delay(ids, subject, body))
    return rows


def notifications_mark_read(*, membership: Membership, ids: list[int] | None = None) -> int:
    """Mark the member's notifications read: the ones given, or all."""
    qs = notifications_visible(membership=membership).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=clock.now())


# --- page ---------------------------------------------------------------------


@tenant_view
@require_safe
def notification_list(request, *, membership):
    notes = notifications_visible(membership=membership)
    page = Paginator(notes, 25).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for note in page.object_list:
        note.kind_label = registry.notification_kind_label(note.kind)
    return render(
        request,
        "oversight/notifications.html",
        {"page": page, "unread": unread_count(membership=membership)},
    )


@tenant_view
@require_POST
def notification_read(request, *, membership):
    """Mark one notification (``notification`` in the form) or all of them read;
    open the notification's page when asked to."""
    raw = request.POST.get("notification")
    if raw and raw.isdigit():
        note = notifications_visible(membership=membership).filter(pk=int(raw)).first()
        if note is not None:
            notifications_mark_read(membership=membership, ids=[note.pk])
            if request.POST.get("open") and url_has_allowed_host_and_scheme(
                note.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(note.url)
    elif request.POST.get("all"):
        notifications_mark_read(membership=membership)
    return redirect("notification_list", tenant_slug=membership.tenant.slug)
