"""Return reminders and late notices: in-app and by email, to the provider's
users of that contract only, each sent once however often the task runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from contracts.models import ContractStatus
from oversight.models import Notification, NotificationKind
from oversight.notifications import notify
from performance.models import ReportingPeriod, ReportingPolicy, Return, ReturnSource
from performance.tasks import send_return_reminders, sync_reporting_calendars
from tests.factories import ContractFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def _period(contract, *, due: date) -> ReportingPeriod:
    end = due - timedelta(days=15)
    return ReportingPeriod.objects.create(
        tenant=contract.tenant,
        contract=contract,
        frequency="monthly",
        start=end - timedelta(days=20),
        end=end,
        due_date=due,
        missing_after=due + timedelta(days=30),
    )


def _run(capture, today=TODAY, **kwargs):
    with capture(execute=True):
        return send_return_reminders(today=today.isoformat(), **kwargs)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_a_reminder_goes_once_to_the_providers_users_of_that_contract(world, capture):
    a = world.a
    second_p1_user = MembershipFactory(tenant=a.tenant, role="provider", provider=a.p1.provider)
    period = _period(a.p1.contract, due=TODAY + timedelta(days=3))  # inside the 5-day window
    _period(a.p1.contract, due=TODAY + timedelta(days=9))  # not yet, nor tomorrow

    assert _run(capture) == {"reminders": 1, "late": 0}
    notes = Notification.objects.filter(kind=NotificationKind.RETURN_REMINDER)
    assert {n.user_id for n in notes} == {a.members["provider"].user_id, second_p1_user.user_id}
    note = notes.first()
    assert a.p1.contract.reference in note.message and "due on 13 Mar 2026" in note.message
    assert note.url == reverse(
        "period_return", kwargs={"tenant_slug": a.tenant.slug, "period_pk": period.pk}
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [a.members["provider"].user.email, second_p1_user.user.email]
    )
    assert f"Return due 13 Mar 2026: {a.p1.contract.reference} " in mail.outbox[0].subject
    assert note.url in mail.outbox[0].body
    period.refresh_from_db()
    assert period.reminded_at is not None
    assert period.history.first().history_change_reason == "Return reminder sent"

    # Nobody else: not P2's member, not the commissioners, not tenant B.
    others = [a.members[r].user_id for r in ("provider_p2", "commissioner", "admin")]
    assert not Notification.objects.filter(user_id__in=others).exists()
    assert not Notification.objects.filter(tenant=world.b.tenant).exists()

    # The task runs again (a retry, a second beat): nothing more is sent.
    assert _run(capture) == {"reminders": 0, "late": 0}
    assert _run(capture, today=TODAY + timedelta(days=1)) == {"reminders": 0, "late": 0}
    assert notes.count() == 2
    assert len(mail.outbox) == 2


def test_a_reminder_is_not_sent_twice_even_if_the_period_mark_is_lost(world, capture):
    """The notification's dedupe key stops a second send on its own."""
    period = _period(world.a.p1.contract, due=TODAY + timedelta(days=2))
    _run(capture)
    ReportingPeriod.objects.filter(pk=period.pk).update(reminded_at=None)
    _run(capture)
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_late_return_is_notified_once_and_a_received_one_is_not(world, capture):
    a = world.a
    late = _period(a.p1.contract, due=TODAY - timedelta(days=1))
    drafted = _period(a.p2.contract, due=TODAY - timedelta(days=2))
    received = _period(a.p2.contract, due=TODAY - timedelta(days=3))
    long_missing = _period(a.p1.contract, due=TODAY - timedelta(days=90))
    p2_user = a.members["provider_p2"].user
    for period, status in ((drafted, "draft"), (received, "submitted")):
        Return.objects.create(
            tenant=a.tenant,
            contract=period.contract,
            period=period,
            status=status,
            source=ReturnSource.WEB,
            created_by=p2_user,
        )

    assert _run(capture) == {"reminders": 0, "late": 2}
    late_notes = Notification.objects.filter(kind=NotificationKind.RETURN_LATE)
    assert {(n.user_id, n.url.split("/")[-3]) for n in late_notes} == {
        (a.members["provider"].user_id, str(late.pk)),
        (p2_user.pk, str(drafted.pk)),  # a draft is not a return received
    }
    assert (
        "is late: it was due on 9 Mar 2026."
        in late_notes.get(user=a.members["provider"].user).message
    )
    assert {m.subject.split("] ")[1] for m in mail.outbox} == {
        f"Return late: {a.p1.contract.reference} Feb 2026",
        f"Return late: {a.p2.contract.reference} Feb 2026",
    }
    # Long missing periods are not announced as newly late.
    long_missing.refresh_from_db()
    assert long_missing.late_notified_at is None
    assert _run(capture) == {"reminders": 0, "late": 0}
    assert late_notes.count() == 2


def test_the_reminder_window_follows_the_tenants_policy(world, capture):
    ReportingPolicy.objects.create(tenant=world.a.tenant, reminder_days_before=10)
    _period(world.a.p1.contract, due=TODAY + timedelta(days=8))
    assert _run(capture, tenant_id=world.a.tenant.pk) == {"reminders": 1, "late": 0}


def test_reminders_are_tenant_scoped(world, capture):
    _period(world.a.p1.contract, due=TODAY + timedelta(days=1))
    _period(world.b.p1.contract, due=TODAY + timedelta(days=1))
    assert _run(capture, tenant_id=world.b.tenant.pk) == {"reminders": 1, "late": 0}
    assert set(Notification.objects.values_list("tenant_id", flat=True)) == {world.b.tenant.pk}
    assert mail.outbox[0].to == [world.b.members["provider"].user.email]
    assert world.b.tenant.name in mail.outbox[0].subject


def test_the_notifications_page_lists_marks_read_and_counts_unread(world, client_for, capture):
    a = world.a
    _period(a.p1.contract, due=TODAY + timedelta(days=1))
    _run(capture)
    member = a.members["provider"]
    client = client_for(member)
    page_url = reverse("notification_list", kwargs={"tenant_slug": a.tenant.slug})
    page = client.get(page_url)
    assert page.status_code == 200
    body = page.content.decode()
    assert a.p1.contract.reference in body
    assert "Notifications (1 unread)" in body  # in the navigation
    note = Notification.objects.get(user=member.user)
    # Opening it marks it read and goes to the return form.
    response = client.post(
        reverse("notification_read", kwargs={"tenant_slug": a.tenant.slug}),
        {"notification": note.pk, "open": "1"},
    )
    assert response.status_code == 302 and response["Location"] == note.url
    note.refresh_from_db()
    assert note.read_at is not None
    assert "Notifications (1 unread)" not in client.get(page_url).content.decode()


def test_a_member_cannot_see_or_mark_anothers_notifications(world, client_for, capture):
    a = world.a
    _period(a.p1.contract, due=TODAY + timedelta(days=1))
    _run(capture)
    note = Notification.objects.get()
    other = client_for(a.members["provider_p2"])
    page = other.get(reverse("notification_list", kwargs={"tenant_slug": a.tenant.slug}))
    assert a.p1.contract.reference not in page.content.decode()
    other.post(
        reverse("notification_read", kwargs={"tenant_slug": a.tenant.slug}),
        {"notification": note.pk},
    )
    other.post(reverse("notification_read", kwargs={"tenant_slug": a.tenant.slug}), {"all": "1"})
    note.refresh_from_db()
    assert note.read_at is None
    outsider = client_for(world.b.members["admin"])
    response = outsider.get(reverse("notification_list", kwargs={"tenant_slug": a.tenant.slug}))
    assert response.status_code == 404


def test_notify_skips_users_already_notified_with_the_key(world):
    a = world.a
    users = [a.members["commissioner"].user, a.members["admin"].user]
    first = notify(tenant=a.tenant, users=users[:1], kind="general", message="m", dedupe_key="k")
    second = notify(tenant=a.tenant, users=users, kind="general", message="m", dedupe_key="k")
    assert len(first) == 1 and [n.user for n in second] == [users[1]]
    # The same key in another tenant is another notification.
    assert notify(
        tenant=world.b.tenant, users=users[:1], kind="general", message="m", dedupe_key="k"
    )


def test_a_long_notice_is_cut_at_a_word_never_inside_a_number(world):
    a = world.a
    user = a.members["commissioner"].user
    # 479 characters of words, then a figure straddling the 500-character limit:
    # cut at 500 the notice would end "…against a mean of 95".
    words = ("word " * 96).rstrip()
    message = words + " against a mean of 95.2% and the rest of the sentence."
    (note,) = notify(tenant=a.tenant, users=[user], kind="general", message=message)
    note.refresh_from_db()
    assert len(note.message) <= 500
    assert note.message == words + " against a mean of…"


def test_the_nightly_sync_creates_periods_for_active_contracts(world):
    a = world.a
    active = ContractFactory(
        tenant=a.tenant, provider=a.p1.provider, start_date=date(2026, 1, 1),
        end_date=date(2027, 12, 31),
    )  # fmt: skip
    planned = ContractFactory(
        tenant=a.tenant, provider=a.p1.provider, status=ContractStatus.PLANNED,
        start_date=date(2026, 1, 1), end_date=date(2027, 12, 31),
    )  # fmt: skip
    created = sync_reporting_calendars(today="2026-03-10")
    # January to March 2026 for the new contract; each world contract from January 2025.
    assert ReportingPeriod.objects.filter(contract=active).count() == 3
    assert not ReportingPeriod.objects.filter(contract=planned).exists()
    assert created == ReportingPeriod.objects.count()
    assert sync_reporting_calendars(today="2026-03-10") == 0  # idempotent


def test_both_tasks_are_on_the_beat_schedule():
    from oversight.celery import app

    app.finalize()  # as celery beat does, after Django is set up
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {
        "performance.tasks.send_return_reminders",
        "performance.tasks.sync_reporting_calendars",
    } <= tasks


def test_a_queried_return_is_notified_to_the_providers_users(world, capture):
    from performance.services import return_query

    a = world.a
    period = _period(a.p1.contract, due=TODAY - timedelta(days=1))
    ret = Return.objects.create(
        tenant=a.tenant,
        contract=a.p1.contract,
        period=period,
        status="submitted",
        source=ReturnSource.WEB,
        created_by=a.members["provider"].user,
    )
    with capture(execute=True):
        return_query(membership=a.members["commissioner"], ret=ret, comment="Turnover is blank")
    note = Notification.objects.get()
    assert (note.user, note.kind) == (a.members["provider"].user, NotificationKind.RETURN_QUERIED)
    assert "was queried: Turnover is blank" in note.message
    assert note.url.endswith(f"/returns/{ret.pk}/")
    assert [m.to for m in mail.outbox] == [[a.members["provider"].user.email]]
