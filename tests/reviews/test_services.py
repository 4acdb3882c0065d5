"""Review meetings: the workflow, the role rules, the cadence and the agenda."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from oversight import clock
from reviews import cadence, selectors, services
from reviews.models import AgendaPart, Meeting, MeetingAction, MeetingStatus
from tests.reviews.conftest import add_measures, add_signal, at, hold

pytestmark = pytest.mark.django_db


# --- the workflow ------------------------------------------------------------------


def test_a_meeting_is_scheduled_started_and_held(world, schedule):
    tw = world.a
    meeting = schedule()
    assert meeting.status == MeetingStatus.SCHEDULED
    assert set(meeting.attendees.all()) >= {tw.p1.member}
    services.meeting_start(membership=tw.members["commissioner"], meeting=meeting)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.IN_PROGRESS and meeting.started_at == clock.now()
    services.meeting_hold(
        membership=tw.members["commissioner"], meeting=meeting, minutes="Agreed the rota."
    )
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD and meeting.minutes == "Agreed the rota."
    record = meeting.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == tw.user("commissioner")
    assert record.history_change_reason == "Meeting held; minutes recorded"


def test_a_held_or_cancelled_meeting_does_not_start_again(world, schedule):
    tw = world.a
    member = tw.members["commissioner"]
    held = schedule()
    hold(held, member)
    with pytest.raises(ValidationError, match="held: it cannot become in progress"):
        services.meeting_start(membership=member, meeting=held)
    cancelled = schedule(days=9)
    services.meeting_cancel(membership=member, meeting=cancelled, reason="Provider unwell")
    with pytest.raises(ValidationError, match="cancelled"):
        services.meeting_start(membership=member, meeting=cancelled)


def test_minutes_are_needed_to_close_a_meeting_as_held(world, schedule):
    tw = world.a
    meeting = schedule()
    services.meeting_start(membership=tw.members["commissioner"], meeting=meeting)
    with pytest.raises(ValidationError) as error:
        services.meeting_hold(membership=tw.members["commissioner"], meeting=meeting, minutes=" ")
    assert "minutes" in error.value.message_dict


def test_actions_and_decisions_are_recorded_in_the_meeting_not_before(world, schedule):
    tw = world.a
    meeting = schedule()
    with pytest.raises(ValidationError, match="once it has started"):
        services.decision_record(
            membership=tw.members["commissioner"], meeting=meeting, text="Too early"
        )


@pytest.mark.parametrize("role", ["provider", "executive", "auditor"])
def test_only_the_commissioning_side_schedules_and_runs_meetings(world, schedule, role):
    tw = world.a
    with pytest.raises(PermissionDenied):
        schedule(member=tw.members[role])
    meeting = schedule()
    with pytest.raises(PermissionDenied):
        services.meeting_start(membership=tw.members[role], meeting=meeting)
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.SCHEDULED


def test_a_provider_updates_its_own_actions_only(world, schedule):
    tw = world.a
    commissioner = tw.members["commissioner"]
    meeting = schedule()
    services.meeting_start(membership=commissioner, meeting=meeting)
    due = clock.today() + dt.timedelta(days=14)
    theirs = services.meeting_action_add(
        membership=commissioner,
        meeting=meeting,
        description="Rota",
        owner=tw.p1.member,
        due_on=due,
    )
    ours = services.meeting_action_add(
        membership=commissioner,
        meeting=meeting,
        description="Referral mix",
        owner=commissioner,
        due_on=due,
    )
    services.meeting_action_done(membership=tw.p1.member, action=theirs, note="Published")
    assert MeetingAction.objects.get(pk=theirs.pk).status == "done"
    with pytest.raises(PermissionDenied):
        services.meeting_action_done(membership=tw.p1.member, action=ours, note="Not mine")
    with pytest.raises(PermissionDenied):  # dropping is the commissioning side's
        services.meeting_action_drop(membership=tw.p1.member, action=ours, note="No")
    with pytest.raises(PermissionDenied):
        services.meeting_action_done(membership=tw.members["executive"], action=ours, note="x")
    # another provider's member cannot even see it
    assert (
        not selectors.actions_visible(membership=tw.members["provider_p2"])
        .filter(pk=theirs.pk)
        .exists()
    )


def test_an_action_owner_must_be_of_the_meeting_s_contract(world, schedule):
    tw = world.a
    meeting = schedule()
    services.meeting_start(membership=tw.members["commissioner"], meeting=meeting)
    with pytest.raises(ValidationError) as error:
        services.meeting_action_add(
            membership=tw.members["commissioner"],
            meeting=meeting,
            description="x",
            owner=tw.members["provider_p2"],
            due_on=clock.today(),
        )
    assert "owner" in error.value.message_dict


def test_a_provider_never_sees_a_portfolio_review(world, schedule):
    tw = world.a
    review = schedule(kind="portfolio_review", contract=False)
    assert selectors.meetings_visible(membership=tw.members["executive"]).filter(pk=review.pk)
    assert not selectors.meetings_visible(membership=tw.p1.member).filter(pk=review.pk)


# --- the cadence -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("band", "value", "started_months_ago", "expected"),
    [
        ("high", Decimal("100000"), 36, ("monthly", ("high-risk",))),
        ("critical", Decimal("100000"), 36, ("monthly", ("high-risk",))),
        ("low", Decimal("1000000"), 36, ("monthly", ("high-value",))),
        ("medium", Decimal("100000"), 11, ("monthly", ("new",))),
        ("medium", Decimal("999999.99"), 12, ("quarterly", ())),
        (None, Decimal("100000"), 40, ("quarterly", ())),
    ],
)
def test_high_risk_high_value_or_new_contracts_meet_monthly(
    band, value, started_months_ago, expected
):
    today = dt.date(2026, 12, 1)
    index = today.year * 12 + today.month - 1 - started_months_ago
    start = dt.date(index // 12, index % 12 + 1, 1)
    rhythm = cadence.rhythm(band=band, annual_value=value, start_date=start, today=today)
    assert (rhythm.frequency, rhythm.reasons) == expected


def test_slots_fall_on_the_second_tuesday_within_the_horizon():
    today = dt.date(2026, 12, 1)
    monthly = cadence.slots(frequency="monthly", prefix="7", today=today)
    assert [s.day for s in monthly] == [
        dt.date(2026, 12, 8),
        dt.date(2027, 1, 12),
        dt.date(2027, 2, 9),
    ]
    assert [s.key for s in monthly] == ["7:2026-12", "7:2027-01", "7:2027-02"]
    quarterly = cadence.slots(frequency="quarterly", prefix="7", today=today)
    assert [(s.key, s.day) for s in quarterly] == [("7:2027Q1", dt.date(2027, 1, 12))]


def test_generating_twice_creates_nothing_new(world):
    tw = world.a
    from contracts.models import Contract

    Contract.objects.filter(tenant=tw.tenant).update(status="active")
    first = services.meetings_generate(tenant=tw.tenant)
    assert first
    count = Meeting.objects.filter(tenant=tw.tenant).count()
    assert services.meetings_generate(tenant=tw.tenant) == []
    assert Meeting.objects.filter(tenant=tw.tenant).count() == count
    # each slot once, each active contract's and the portfolio's
    keys = list(Meeting.objects.filter(tenant=tw.tenant).values_list("cadence_key", flat=True))
    assert len(keys) == len(set(keys))
    assert any(k.startswith("portfolio:") for k in keys)
    assert not Meeting.objects.filter(tenant=world.b.tenant).exists()


def test_a_high_risk_contract_gets_monthly_check_ins_the_rest_quarterly(world):
    from contracts.models import Contract
    from performance.models import RiskScore

    tw = world.a
    old = clock.today().replace(year=clock.today().year - 3)
    Contract.objects.filter(tenant=tw.tenant).update(
        status="active",
        start_date=old,
        annual_value=Decimal("250000"),
        end_date=clock.today().replace(year=clock.today().year + 3),
    )
    RiskScore.objects.create(
        tenant=tw.tenant,
        contract=tw.p1.contract,
        day=clock.today(),
        score=70,
        band="high",
        reasons=["Missed visits"],
    )
    services.meetings_generate(tenant=tw.tenant)
    p1 = Meeting.objects.filter(contract=tw.p1.contract)
    p2 = Meeting.objects.filter(contract=tw.p2.contract)
    assert p1.count() == 3 and set(p1.values_list("kind", flat=True)) == {"check_in"}
    assert p2.count() == 1 and p2.get().kind == "quarterly_check_in"


# --- the agenda ------------------------------------------------------------------------


def test_the_agenda_follows_up_last_meeting_s_actions_and_signals_since(world, schedule):
    tw = world.a
    member = tw.members["commissioner"]
    measures = add_measures(tw, tw.p1, count=2)
    today = clock.today()
    with clock.pinned(at(today - dt.timedelta(days=40), 9)):
        last = schedule(days=2)
    with clock.pinned(at(today - dt.timedelta(days=38), 11)):
        done_one, open_one = hold(
            last,
            member,
            actions=[
                ("Share the referral mix", member, today),
                ("Publish the back-up rota", tw.p1.member, today + dt.timedelta(days=7)),
            ],
        )
    with clock.pinned(at(today - dt.timedelta(days=30))):
        services.meeting_action_done(membership=member, action=done_one, note="Sent")
    add_signal(
        tw,
        tw.p1,
        message="Old signal before the last meeting",
        opened_at=at(today - dt.timedelta(days=50)),
    )
    add_signal(
        tw,
        tw.p1,
        message="Missed visits rose in the rural townships",
        opened_at=at(today - dt.timedelta(days=10)),
        contract_kpi=measures[0],
    )

    meeting = schedule(days=7)
    items = {part: [i.title for i in meeting.agenda_items.filter(part=part)] for part in (1, 2, 3)}
    assert items[AgendaPart.FOLLOW_UP] == ["Action: Publish the back-up rota"]
    assert "Signal (medium): Missed visits rose in the rural townships" in items[2]
    assert not any("Old signal" in t for t in items[2])
    assert f"Progress: {measures[0].kpi.name}" in items[2]
    assert f"Progress: {measures[1].kpi.name}" not in items[2]  # not a priority measure


def test_the_deep_dive_is_the_roadmap_s_topic_and_the_agenda_is_editable(world, schedule):
    tw = world.a
    member = tw.members["commissioner"]
    services.roadmap_topic_add(
        membership=member,
        contract=tw.p1.contract,
        month=clock.today(),
        title="Referral matching",
        owner=member,
    )
    meeting = schedule(days=7)
    deep = meeting.agenda_items.get(part=AgendaPart.DEEP_DIVE)
    assert deep.title == "Deep dive: Referral matching"
    services.agenda_item_change(
        membership=member, item=deep, title="Deep dive: referral matching by township", notes=""
    )
    services.agenda_item_add(membership=member, meeting=meeting, part=1, title="Welcome")
    assert meeting.agenda_items.get(part=1, title="Welcome")
    with pytest.raises(PermissionDenied):
        services.agenda_item_add(membership=tw.p1.member, meeting=meeting, part=1, title="Mine")


def test_the_nightly_task_is_on_beat_s_schedule_and_idempotent(world):
    from contracts.models import Contract
    from oversight import registry
    from reviews.tasks import generate_review_meetings

    assert registry.beat_schedule()["generate-review-meetings"]["task"] == (
        "reviews.tasks.generate_review_meetings"
    )
    Contract.objects.filter(tenant=world.a.tenant).update(status="active")
    first = generate_review_meetings.delay(tenant_id=world.a.tenant.pk).get()
    assert first > 0
    assert generate_review_meetings.delay(tenant_id=world.a.tenant.pk).get() == 0


def test_a_planned_deep_dive_is_dropped_on_its_page_saying_why(world, client_for):
    from django.urls import reverse

    from reviews.models import RoadmapStatus, RoadmapTopic

    tw = world.a
    member = tw.members["commissioner"]
    topic = services.roadmap_topic_add(
        membership=member, contract=tw.p1.contract, month=clock.today(),
        title="Referral matching", owner=member,
    )  # fmt: skip
    url = reverse("roadmap_topic_drop", args=[tw.tenant.slug, topic.pk])
    refused = client_for(member).post(url, {"drop-note": " "})
    assert refused.status_code == 400
    assert "Say why the topic is dropped." in refused.content.decode()
    assert RoadmapTopic.objects.get(pk=topic.pk).status == RoadmapStatus.PLANNED
    assert client_for(tw.p1.member).post(url, {"drop-note": "x"}).status_code == 403
    done = client_for(member).post(url, {"drop-note": "Covered by the county's own review"})
    assert done.status_code == 302
    topic.refresh_from_db()
    assert topic.status == RoadmapStatus.DROPPED
    record = topic.history.order_by("-history_id").first()  # the clock is pinned: one time
    assert record.history_user == member.user
    assert record.history_change_reason == "Topic dropped: Covered by the county's own review"
