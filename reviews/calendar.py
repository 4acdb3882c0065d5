"""Review meetings as iCalendar (RFC 5545): one meeting's invitation (.ics)
and a member's calendar feed of its meetings.

A calendar client cannot sign in, so the feed's URL carries a secret of the
member's own (``services.calendar_feed_issue``): 32 random bytes, stored only
as their SHA-256, shown once, replaced (and the old one revoked) whenever the
member asks for a new one, and useless once the membership is inactive. The
feed holds the member's meetings from 30 days back, as the member may see them.
"""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from oversight import clock

from .models import Meeting, MeetingStatus

PRODID = "-//Oversight//Review meetings//EN"
FEED_PAST_DAYS = 30


def _uid(meeting: Meeting) -> str:
    return f"review-meeting-{meeting.pk}@{meeting.tenant.slug}.oversight"


def _event(meeting: Meeting, *, url: str, sequence: int) -> Event:
    event = Event()
    event.add("uid", _uid(meeting))
    event.add("dtstamp", clock.now())
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    event.add("summary", meeting.title)
    if meeting.location:
        event.add("location", meeting.location)
    agenda = "\n".join(
        f"{item.get_part_display()}: {item.title}" for item in meeting.agenda_items.all()
    )
    event.add(
        "description", f"{meeting.get_kind_display()} ({meeting.reference}).\n{agenda}\n{url}"
    )
    event.add("url", url)
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED")
    for member in meeting.attendees.all():
        attendee = vCalAddress(f"mailto:{member.user.email}")
        attendee.params["cn"] = vText(str(member.user))
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    return event


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def _sequence(meeting: Meeting) -> int:
    """Bumped by every change of the meeting, so that clients take the update."""
    return max(meeting.history.count() - 1, 0)


def meeting_ics(meeting: Meeting, *, url: str) -> bytes:
    cal = _calendar(meeting.title)
    cal.add("method", "PUBLISH")
    cal.add_component(_event(meeting, url=url, sequence=_sequence(meeting)))
    return cal.to_ical()


def feed_meetings(meetings_qs, *, membership):
    """The membership's meetings for its feed: those it is invited to, from
    ``FEED_PAST_DAYS`` ago on."""
    since = clock.now() - timedelta(days=FEED_PAST_DAYS)
    return (
        meetings_qs.filter(attendees=membership, ends_at__gte=since)
        .select_related("tenant")
        .prefetch_related("agenda_items", "attendees__user")
        .order_by("starts_at", "id")
    )


def feed_ics(meetings, *, name: str, url_of) -> bytes:
    cal = _calendar(name)
    for meeting in meetings:
        cal.add_component(_event(meeting, url=url_of(meeting), sequence=_sequence(meeting)))
    return cal.to_ical()
