"""The meeting pack: what it holds, frozen at the start, its PDF's pages, and
the meeting as iCalendar (one event and a member's feed)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from icalendar import Calendar

from oversight import clock
from reviews import pack, services
from reviews.models import MeetingPack
from tests.reviews.conftest import add_measures, add_signal, at, hold

pytestmark = pytest.mark.django_db


def test_the_pack_holds_what_the_meeting_needs(world, schedule):
    tw = world.a
    measures = add_measures(tw, tw.p1, count=3)
    add_signal(
        tw,
        tw.p1,
        message="Visits late in the east district",
        opened_at=at(clock.today() - dt.timedelta(days=5)),
        contract_kpi=measures[0],
    )
    meeting = schedule()
    view = pack.pack_for(membership=tw.members["commissioner"], meeting=meeting)
    assert view.frozen is None
    html = view.html
    assert "Visits late in the east district" in html
    assert html.count("<svg") == 3  # one vector chart per KPI
    assert measures[0].kpi.name in html and "Target" in html
    assert "Timeliness of returns" in html and "On time" in html
    assert "Level 0" in html  # escalation level
    assert tw.p2.mark not in html  # another provider's data never


def test_the_pack_is_frozen_when_the_meeting_starts(world, schedule):
    tw = world.a
    member = tw.members["commissioner"]
    add_measures(tw, tw.p1, count=1)
    meeting = schedule()
    services.meeting_start(membership=member, meeting=meeting)
    frozen = MeetingPack.objects.get(meeting=meeting)
    assert bytes(frozen.pdf).startswith(b"%PDF")
    before_html, before_pdf = frozen.html, bytes(frozen.pdf)

    # later: a new return's values and a new signal
    with clock.pinned(clock.now() + dt.timedelta(days=3)):
        add_signal(tw, tw.p1, message="A signal after the meeting started", opened_at=clock.now())
        from performance.models import ReturnValue

        ReturnValue.objects.filter(return_obj__contract=tw.p1.contract).update(value=Decimal("1"))
        view = pack.pack_for(membership=member, meeting=meeting)
        assert view.frozen == frozen
        assert view.html == before_html
        assert "A signal after the meeting started" not in view.html
        assert pack.pack_pdf_for(membership=member, meeting=meeting) == before_pdf
        fresh = pack.pack_html(pack.pack_data(membership=member, meeting=meeting))
        assert "A signal after the meeting started" in fresh  # what a new pack would show


def _pages_text(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    pages = subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    assert pages.returncode == 0
    count = len(list(tmp_path.glob("page*.png")))
    texts = []
    for n in range(1, count + 1):
        out = subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(path), "-"],
            check=True,
            capture_output=True,
            text=True,
        )
        texts.append(out.stdout)
    return texts


@pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="poppler-utils (pdftoppm, pdftotext) is missing: .ci/run and the README install it",
)
def test_the_pdf_has_a_cover_contents_and_a_page_per_section(world, schedule, tmp_path):
    tw = world.a
    add_measures(tw, tw.p1, count=2)
    meeting = schedule()
    pdf = pack.pack_pdf_for(membership=tw.members["commissioner"], meeting=meeting)
    pages = _pages_text(pdf, tmp_path)
    assert len(pages) >= 5  # cover, contents, and the three parts
    assert "Meeting pack" in pages[0]
    assert "Contents" in pages[1]
    starts = {
        title: next(i for i, text in enumerate(pages) if title in text and i > 1)
        for title in (
            "1. Follow-up of actions",
            "2. Progress on the priority measures",
            "3. Deep dive",
        )
    }
    assert sorted(starts.values()) == list(starts.values())  # in order
    assert len(set(starts.values())) == 3  # each part starts its own page
    for i, text in enumerate(pages):  # the running header and footer, every page
        assert tw.tenant.name in text, f"page {i + 1} lacks the tenant's name"
        assert f"Page {i + 1} of {len(pages)}" in text
    assert "Meeting of" in pages[2] or meeting.reference in pages[2]


def test_a_meeting_is_an_icalendar_event_with_its_attendees(world, schedule, client_for):
    tw = world.a
    meeting = schedule()
    url = reverse(
        "meeting_invitation", kwargs={"tenant_slug": tw.tenant.slug, "meeting_pk": meeting.pk}
    )
    response = client_for(tw.p1.member).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == meeting.title
    assert event.decoded("DTSTART") == meeting.starts_at
    assert event.decoded("DTEND") == meeting.ends_at
    assert str(event["LOCATION"]) == "Room 2B"
    attendees = (
        {str(a) for a in event.get("ATTENDEE")}
        if isinstance(event.get("ATTENDEE"), list)
        else {str(event.get("ATTENDEE"))}
    )
    assert f"mailto:{tw.p1.member.user.email}" in attendees
    assert str(event["UID"]).startswith(f"review-meeting-{meeting.pk}@")


def test_a_member_s_feed_opens_with_its_secret_until_revoked(world, schedule, client):
    tw = world.a
    meeting = schedule()
    member = tw.members["commissioner"]
    if not meeting.attendees.filter(pk=member.pk).exists():
        meeting.attendees.add(member)
    token = services.calendar_feed_issue(membership=member)
    url = reverse(
        "api-meeting-calendar-feed", kwargs={"tenant_slug": tw.tenant.slug, "token": token}
    )
    response = client.get(url)  # a calendar client: no session
    assert response.status_code == 200
    assert meeting.title in Calendar.from_ical(response.content).walk("VEVENT")[0]["SUMMARY"]
    from reviews.models import CalendarFeed

    assert CalendarFeed.objects.get(membership=member).token_hash != token  # kept hashed
    other = reverse(
        "api-meeting-calendar-feed", kwargs={"tenant_slug": world.b.tenant.slug, "token": token}
    )
    assert client.get(other).status_code in (401, 403)  # another tenant's slug
    new = services.calendar_feed_issue(membership=member)
    assert client.get(url).status_code in (401, 403)  # the old secret stops working
    services.calendar_feed_revoke(membership=member)
    new_url = reverse(
        "api-meeting-calendar-feed", kwargs={"tenant_slug": tw.tenant.slug, "token": new}
    )
    assert client.get(new_url).status_code in (401, 403)


def test_attendees_are_notified_of_a_new_meeting(
    world, schedule, django_capture_on_commit_callbacks
):
    from oversight.models import Notification

    tw = world.a
    with django_capture_on_commit_callbacks(execute=True):
        meeting = schedule()
    notices = Notification.objects.filter(tenant=tw.tenant, kind="review_meeting")
    assert notices.filter(user=tw.p1.member.user).exists()
    assert meeting.title in notices.first().message
    assert not notices.filter(user=tw.p2.member.user).exists()


def test_the_next_meeting_follows_up_actions_through_the_held_one(world, schedule):
    tw = world.a
    member = tw.members["commissioner"]
    today = clock.today()
    with clock.pinned(at(today - dt.timedelta(days=30))):
        last = schedule(days=1)
    with clock.pinned(at(today - dt.timedelta(days=29), 11)):
        hold(last, member, actions=[("Back-up rota", tw.p1.member, today - dt.timedelta(days=1))])
    meeting = schedule()
    view = pack.pack_for(membership=member, meeting=meeting)
    assert "Back-up rota" in view.html and "(overdue)" in view.html
