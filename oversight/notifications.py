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
from dataclasses import dataclass

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


def notification_recipients(
    *,
    tenant: Tenant,
    roles: Iterable[str] | None = None,
    providers: Iterable | None = None,
    contract=None,
    users: Iterable | None = None,
) -> QuerySet[Membership]:
    """Who in ``tenant`` hears of something: its active members with active
    accounts, narrowed to ``roles``, to the users of ``providers`` (providers
    or their ids) or of ``contract``'s provider, and to ``users`` (users or their
    ids: a contract's manager). Each membership carries its user."""
    members = Membership.objects.filter(
        tenant_id=tenant.pk, is_active=True, user__is_active=True
    ).select_related("user")
    if roles is not None:
        members = members.filter(role__in=list(roles))
    if contract is not None:
        providers = [contract.provider_id]
    if providers is not None:
        members = members.filter(provider_id__in=[getattr(p, "pk", p) for p in providers])
    if users is not None:
        members = members.filter(user_id__in=[getattr(u, "pk", u) for u in users])
    return members.order_by("pk")


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


@dataclass(frozen=True)
class Notice:
    """One notice to send to some users (``notify_many`` sends many at once).
    Without ``email_subject`` it is shown in the app only."""

    tenant: Tenant
    users: Iterable[User]
    kind: str
    message: str
    url: str = ""
    dedupe_key: str = ""
    email_subject: str | None = None
    email_body: str | None = None


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
    notice = Notice(
        tenant=tenant,
        users=users,
        kind=kind,
        message=message,
        url=url,
        dedupe_key=dedupe_key,
        email_subject=email_subject,
        email_body=email_body,
    )
    return notify_many([notice])


def notify_many(notices: Iterable[Notice]) -> list[Notification]:
    """Send many notices at once (the nightly run's form of ``notify``): each
    user gets each notice once per ``dedupe_key``; the new rows are written
    with one bulk insert (notifications keep no history: they are messages,
    not domain data) and one email task is queued for them after commit.
    Returns the notifications created now."""
    notices = list(notices)
    for notice in notices:
        require_kind(notice.kind)
    planned: list[tuple[Notice, Notification]] = []
    for notice in notices:
        # Cut at a word, never inside a figure (the email has it whole).
        message = formatting.shorten(notice.message, MESSAGE_LENGTH)
        for user in {u.pk: u for u in notice.users if u.is_active}.values():
            row = Notification(
                tenant=notice.tenant,
                user=user,
                kind=notice.kind,
                message=message,
                url=notice.url,
                dedupe_key=notice.dedupe_key,
            )
            planned.append((notice, row))
    planned = _not_sent_yet(planned)
    if not planned:
        return []
    rows = [row for _, row in planned]
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(rows)
    except IntegrityError:
        # A concurrent run sent some of them first: send only what is left, one by one.
        created = []
        for notice, row in planned:
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:
                continue
            created.append((notice, row))
        planned = created
    emails: dict[tuple[str, str], list[int]] = {}
    for notice, row in planned:
        if notice.email_subject and row.pk:
            body = notice.email_body or notice.message
            emails.setdefault((notice.email_subject, body), []).append(row.pk)
    if emails:
        batch = [[ids, subject, body] for (subject, body), ids in emails.items()]
        transaction.on_commit(lambda: send_notification_emails.delay(batch))
    return [row for _, row in planned]


def _not_sent_yet(planned: list[tuple[Notice, Notification]]) -> list:
    """Drop the rows whose (tenant, user, dedupe_key) already exists, reading
    the existing keys in a few queries however many notices there are."""
    keys = sorted({row.dedupe_key for _, row in planned if row.dedupe_key})
    sent: set[tuple[int, int, str]] = set()
    for start in range(0, len(keys), 500):
        sent.update(
            Notification.objects.filter(
                tenant_id__in={row.tenant_id for _, row in planned},
                dedupe_key__in=keys[start : start + 500],
            ).values_list("tenant_id", "user_id", "dedupe_key")
        )
    kept, seen = [], set()
    for notice, row in planned:
        key = (row.tenant_id, row.user_id, row.dedupe_key)
        if row.dedupe_key and (key in sent or key in seen):
            continue
        seen.add(key)
        kept.append((notice, row))
    return kept


def notifications_mark_read(*, membership: Membership, ids: list[int] | None = None) -> int:
    """Mark the member's notifications read: the ones given, or all."""
    qs = notifications_visible(membership=membership).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=clock.now())


# --- page ---------------------------------------------------------------------


@tenant_view(read="notifications.view")
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


@tenant_view(read="notifications.view")
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
