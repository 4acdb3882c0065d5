"""The core's notifications: every notice is of a registered kind, and the
page names each kind by the label its app registered."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oversight.celery import app as celery_app
from oversight.models import Notification
from oversight.notifications import Notice, notification_recipients, notify, notify_many
from oversight.tasks import send_notification_emails
from tests.factories import MembershipFactory, TenantFactory
from tests.oversight.test_celery_worker import (  # noqa: F401 (fixtures)
    celery_worker_process,
    services_or_skip,
    worker_queue,
)

pytestmark = pytest.mark.django_db


def test_a_notice_of_a_kind_nobody_registered_is_refused_and_nothing_is_written(world):
    a = world.a
    with pytest.raises(ValueError, match="Unknown notification kind 'site_visit'"):
        notify(tenant=a.tenant, users=[a.members["admin"].user], kind="site_visit", message="m")
    assert not Notification.objects.exists()


def test_the_page_names_a_signal_notice_by_its_registered_label(world, client_for):
    a = world.a
    member = a.members["commissioner"]
    notify(tenant=a.tenant, users=[member.user], kind="signal", message="C-1: 2 new signals")
    page = client_for(member).get(
        reverse("notification_list", kwargs={"tenant_slug": a.tenant.slug})
    )
    body = page.content.decode()
    assert "<strong>New high-risk signals</strong>" in body
    assert "C-1: 2 new signals" in body


class FlakyBackend(locmem.EmailBackend):
    """Delivers like the test backend, but the connection drops once, at the
    message to ``fail_at`` (then comes back)."""

    fail_at = None

    def send_messages(self, messages):
        if FlakyBackend.fail_at and messages[0].to == [FlakyBackend.fail_at]:
            FlakyBackend.fail_at = None
            raise ConnectionResetError("connection dropped")
        return super().send_messages(messages)


def test_an_email_that_fails_is_retried_and_none_is_sent_twice(world, settings, mailoutbox):
    a = world.a
    first, second = a.members["admin"].user, a.members["commissioner"].user
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    # (Outside the test's transaction nothing commits, so notify queues nothing:
    # the task runs here as Celery runs it, retries included.)
    notes = notify(
        tenant=a.tenant,
        users=[first, second],
        kind="general",
        message="The register was updated.",
        email_subject="Register updated",
    )
    # The task mails in id order: the connection drops at the second message.
    FlakyBackend.fail_at = max(notes, key=lambda n: n.pk).user.email
    result = send_notification_emails.apply(
        args=[[[[n.pk for n in notes], "Register updated", "The register was updated."]]],
        throw=False,
    )
    # The first attempt sent one email and failed; the retry sent only the other.
    assert FlakyBackend.fail_at is None and result.get() == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted([first.email, second.email])
    assert all(m.subject == f"[{a.tenant.name}] Register updated" for m in mailoutbox)
    for note in notes:
        note.refresh_from_db()
        assert note.emailed_at is not None


def test_with_no_broker_the_email_is_sent_on_commit_in_process(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    a = world.a
    user = a.members["admin"].user
    with django_capture_on_commit_callbacks(execute=True):
        (note,) = notify(
            tenant=a.tenant,
            users=[user],
            kind="general",
            message="m",
            url="/t/x/",
            email_subject="Register updated",
        )
        assert mailoutbox == []  # not before the commit
    assert [m.to for m in mailoutbox] == [[user.email]]
    note.refresh_from_db()
    assert note.emailed_at is not None


def test_the_email_task_sends_nothing_for_notices_already_emailed(world, mailoutbox):
    a = world.a
    user = a.members["admin"].user
    (note,) = notify(tenant=a.tenant, users=[user], kind="general", message="m")
    assert send_notification_emails([[[note.pk], "Subject", "Body"]]) == 1
    assert send_notification_emails([[[note.pk], "Subject", "Body"]]) == 0
    assert [m.to for m in mailoutbox] == [[user.email]]


def test_notify_many_writes_all_notices_in_one_insert_and_mails_each_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    a = world.a
    users = [a.members[r].user for r in ("admin", "commissioner", "auditor")]
    notices = [
        Notice(
            tenant=a.tenant,
            users=[user],
            kind="signal",
            message=f"C-{n}: 1 new high-risk signal — High: outside its limits",
            url=f"/t/{a.tenant.slug}/contracts/{n}/dashboard/",
            dedupe_key=f"signals:{n}",
            email_subject=f"C-{n}: 1 new high-risk signal",
        )
        for n, user in enumerate(users, start=1)
    ]
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = notify_many(notices)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert len(created) == 3
    # One insert for the three; the email task marks them emailed in one update.
    assert statements.count("INSERT") == 1
    assert statements.count("UPDATE") == 1
    assert {(m.to[0], m.subject) for m in mailoutbox} == {
        (users[0].email, f"[{a.tenant.name}] C-1: 1 new high-risk signal"),
        (users[1].email, f"[{a.tenant.name}] C-2: 1 new high-risk signal"),
        (users[2].email, f"[{a.tenant.name}] C-3: 1 new high-risk signal"),
    }
    assert len(mailoutbox) == 3
    # The same notices again (a retried nightly run): nothing new, no email.
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_many(notices) == []
    assert len(mailoutbox) == 3
    assert Notification.objects.filter(kind="signal").count() == 3


def test_the_recipients_are_the_active_members_of_the_roles_and_provider_asked_for(world):
    a = world.a
    left = MembershipFactory(tenant=a.tenant, role="provider", provider=a.p1.provider)
    left.is_active = False
    left.save()
    locked = MembershipFactory(tenant=a.tenant, role="provider", provider=a.p1.provider)
    locked.user.is_active = False
    locked.user.save()
    # Another tenant's user of a provider with the same name is not a recipient here.
    MembershipFactory(tenant=world.b.tenant, role="provider", provider=world.b.p1.provider)

    p1_users = notification_recipients(tenant=a.tenant, roles={"provider"}, contract=a.p1.contract)
    assert [m.user for m in p1_users] == [a.members["provider"].user]
    both = notification_recipients(
        tenant=a.tenant, roles={"provider"}, providers=[a.p1.provider, a.p2.provider.pk]
    )
    assert {m.user for m in both} == {
        a.members["provider"].user,
        a.members["provider_p2"].user,
    }
    admins = notification_recipients(tenant=a.tenant, roles={"admin"})
    assert [m.user for m in admins] == [a.members["admin"].user]


NOTICE_EMAILS_SENT = re.compile(
    r"Task oversight\.tasks\.send_notification_emails\[[^\]]+\] succeeded in [^:]+: 1\b"
)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_sends_the_notice_email_and_marks_it_emailed(
    celery_worker_process,  # noqa: F811 (the fixture imported above)
    worker_queue,  # noqa: F811
    monkeypatch,
):
    task = celery_app.tasks[send_notification_emails.name]
    monkeypatch.setattr(task, "queue", worker_queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None)  # Celery caches the routing options
    member = MembershipFactory(
        tenant=TenantFactory(), role="commissioner", user__email="officer@county.example.gov"
    )
    with transaction.atomic():
        (note,) = notify(
            tenant=member.tenant,
            users=[member.user],
            kind="general",
            message="The register was updated.",
            url="/t/x/contracts/",
            email_subject="Register updated",
        )
    deadline = time.monotonic() + 90
    log = celery_worker_process["log"]
    while not NOTICE_EMAILS_SENT.search(log.read_text()):
        assert celery_worker_process["process"].poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no notice email within 90s:\n" + log.read_text()
        time.sleep(0.2)
    (sent,) = sorted(celery_worker_process["outbox"].glob("*.log"))
    text = sent.read_text()
    assert "To: officer@county.example.gov" in text
    assert f"Subject: [{member.tenant.name}] Register updated" in text
    assert mail.outbox == []  # sent by the worker, not here
    note.refresh_from_db()
    assert note.emailed_at is not None
