"""Thin Celery tasks for the core: ids in, re-read, do the work.

With REDIS_URL set these run in a worker process (a different process from the
web request that queued them), so they take ids and plain values, never model
instances or the request.
"""

import logging
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import clock
from .models import Membership, Notification

logger = logging.getLogger(__name__)


def _default_domain() -> str:
    """The first concrete ALLOWED_HOSTS entry: where links point when neither a
    request nor SITE_URL says."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return host
    return "localhost"


def _site() -> tuple[str, str]:
    """(protocol, host[:port]) for links when no request told us the host (a
    member added by a management command): SITE_URL, else the first allowed host."""
    site = urlsplit(getattr(settings, "SITE_URL", ""))
    if site.scheme and site.netloc:
        return site.scheme, site.netloc
    return "http", _default_domain()


def _site_url() -> str:
    """Where links in emails point: SITE_URL if set, else the first allowed host."""
    configured = getattr(settings, "SITE_URL", "")
    return (configured or f"http://{_default_domain()}").rstrip("/")


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),  # network and SMTP failures (SMTPException is an OSError)
    retry_backoff=True,
    max_retries=5,
)
def send_welcome_email(
    membership_id: int, *, domain: str | None = None, use_https: bool = False
) -> bool:
    """Email a new member a link to choose their password.

    Acks are late, so a worker lost mid-task means the task runs again: it
    re-reads the membership and sends only while the account still has no
    password, so a person who has already signed in is never mailed again.
    Returns whether an email went out.
    """
    membership = (
        Membership.objects.select_related("user", "tenant")
        .filter(pk=membership_id, is_active=True, user__is_active=True)
        .first()
    )
    if membership is None:
        logger.info("welcome email skipped: membership %s is gone or inactive", membership_id)
        return False
    user = membership.user
    if user.has_usable_password():
        logger.info("welcome email skipped: user %s has already set a password", user.pk)
        return False

    if domain:
        protocol = "https" if use_https else "http"
    else:
        protocol, domain = _site()
    context = {
        "user": user,
        "email": user.email,
        "tenant": membership.tenant,
        "domain": domain,
        "site_name": domain,
        "protocol": protocol,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    # The same link as Django's password reset (the set-password page checks the
    # token), but sent here rather than through PasswordResetForm, which mails only
    # users who already have a password and swallows sending errors: a failure
    # must reach Celery so that the task is retried.
    subject = "".join(render_to_string("registration/welcome_subject.txt", context).splitlines())
    body = render_to_string("registration/welcome_email.txt", context)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()
    return True


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),  # network and SMTP failures (SMTPException is an OSError)
    retry_backoff=True,
    max_retries=5,
)
def send_notification_emails(batch: list[list]) -> int:
    """Email each notification's user (``notifications.notify_many`` queues one
    of these per call, on commit): ``batch`` is a list of ``[notification ids,
    subject, body]``. Returns how many emails went out.

    It re-reads the notifications and mails only those not yet emailed, and
    marks each one emailed once its message is sent, also when a later one
    fails: a retry (or a late ack re-run) sends only what is left, never twice.
    """
    text = {pk: (subject, body) for ids, subject, body in batch for pk in ids}
    pending = list(
        Notification.objects.filter(pk__in=list(text), emailed_at__isnull=True)
        .select_related("user", "tenant")
        .order_by("pk")
    )
    if not pending:
        return 0
    base = _site_url()
    sent: list[int] = []
    try:
        with get_connection() as connection:
            for note in pending:
                subject, body = text[note.pk]
                link = f"\n\n{base}{note.url}" if note.url else ""
                message = EmailMessage(
                    subject=f"[{note.tenant.name}] {subject}",
                    body=f"{body}{link}\n",
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[note.user.email],
                    connection=connection,
                )
                if connection.send_messages([message]):
                    sent.append(note.pk)
    finally:
        if sent:
            Notification.objects.filter(pk__in=sent).update(emailed_at=clock.now())
        logger.info("notifications emailed: %s of %s", len(sent), len(pending))
    return len(sent)
