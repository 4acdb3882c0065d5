"""The demo part ``reviews.meetings`` (registered in apps.py, order 120): the
roadmaps and review meetings of ``reviews/demo/meetings.yaml``, written through
the services with the clock held at each day of the story (so every step is in
the history with who did it and why), then the cadence's upcoming meetings
with their generated agendas. Runs after the performance demo's signals (110),
so the next meeting's pack shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from oversight import clock
from oversight.demo_files import DemoFileError, load

from . import services

DATA_FILE = Path(__file__).with_name("demo") / "meetings.yaml"


@dataclass(frozen=True)
class ActionSpec:
    description: str
    owner: str
    due: int
    done: int | None = None
    note: str = ""


@dataclass(frozen=True)
class PastSpec:
    day: int
    location: str
    minutes: str
    decisions: tuple[str, ...] = ()
    actions: tuple[ActionSpec, ...] = ()


@dataclass(frozen=True)
class TopicSpec:
    month: int
    title: str
    owner: str = ""
    description: str = ""
    finding: str = ""


@dataclass(frozen=True)
class ContractSpec:
    contract: str
    chair: str
    past: PastSpec
    roadmap: tuple[TopicSpec, ...] = ()


@dataclass(frozen=True)
class PortfolioSpec:
    tenant: str
    owner: str
    roadmap: tuple[TopicSpec, ...] = ()


@dataclass(frozen=True)
class MeetingsFile:
    contracts: tuple[ContractSpec, ...]
    portfolio: tuple[PortfolioSpec, ...] = ()

    def problems(self):
        for i, spec in enumerate(self.contracts):
            where = f"contracts[{i}] {spec.contract}"
            if spec.past.day >= 0:
                yield f"{where} past", "a past meeting's day is before the seeding day"
            for j, action in enumerate(spec.past.actions):
                if action.done is not None and not spec.past.day <= action.done < 0:
                    yield f"{where} actions[{j}]", "done between the meeting and today"
            for j, topic in enumerate(spec.roadmap):
                if topic.finding and topic.month >= 0:
                    yield f"{where} roadmap[{j}]", "a finding belongs to a past month's topic"


def _month(today: date, offset: int) -> date:
    index = today.year * 12 + today.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def _member(ctx, email: str, where: str):
    membership = ctx.memberships.get(email)
    if membership is None:
        raise DemoFileError(DATA_FILE, where, f"{email} is not a member of {ctx.tenant.slug}")
    return membership


def _topics(ctx, topics, *, contract, chair, where: str) -> None:
    """Each topic added on the first of the month before its own (so a past
    month is in the running year then), its finding on its month's 20th."""
    for topic in sorted(topics, key=lambda t: t.month):
        month = _month(ctx.today, topic.month)
        added = min(_month(ctx.today, min(topic.month, 0) - 1), ctx.today)
        with clock.pinned(datetime.combine(added, time(9), tzinfo=clock.tenant_zone(ctx.tenant))):
            row = services.roadmap_topic_add(
                membership=chair,
                contract=contract,
                month=month,
                title=topic.title,
                description=topic.description,
                owner=_member(ctx, topic.owner, where) if topic.owner else chair,
                reason="Deep-dive roadmap (demo)",
            )
        if topic.finding:
            done = min(month + timedelta(days=19), ctx.today - timedelta(days=1))
            with clock.pinned(
                datetime.combine(done, time(16), tzinfo=clock.tenant_zone(ctx.tenant))
            ):
                services.roadmap_topic_complete(membership=chair, topic=row, finding=topic.finding)


def _past_meeting(ctx, spec: ContractSpec, contract, chair) -> None:
    zone = clock.tenant_zone(ctx.tenant)
    past = spec.past
    day = ctx.day(past.day)
    starts = datetime.combine(day, time(10), tzinfo=zone)
    with clock.pinned(starts - timedelta(days=14)):
        meeting = services.meeting_schedule(
            membership=chair,
            kind="check_in",
            contract=contract,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            location=past.location,
            reason="Monthly check-in (demo)",
        )
    with clock.pinned(starts):
        services.meeting_start(membership=chair, meeting=meeting)
    with clock.pinned(starts + timedelta(minutes=50)):
        for text in past.decisions:
            services.decision_record(membership=chair, meeting=meeting, text=text)
        actions = []
        for j, action in enumerate(past.actions):
            actions.append(
                (
                    action,
                    services.meeting_action_add(
                        membership=chair,
                        meeting=meeting,
                        description=action.description,
                        owner=_member(ctx, action.owner, f"{spec.contract} actions[{j}]"),
                        due_on=max(ctx.day(action.due), day),
                    ),
                )
            )
        services.meeting_hold(membership=chair, meeting=meeting, minutes=past.minutes)
    for action, row in actions:
        if action.done is not None:
            owner = _member(ctx, action.owner, spec.contract)
            with clock.pinned(datetime.combine(ctx.day(action.done), time(15), tzinfo=zone)):
                services.meeting_action_done(membership=owner, action=row, note=action.note)


def seed_meetings(ctx) -> None:
    spec = load(DATA_FILE, MeetingsFile)
    for item in spec.contracts:
        contract = ctx.contracts.get(item.contract)
        if contract is None:  # another tenant's contract
            continue
        chair = _member(ctx, item.chair, item.contract)
        _topics(ctx, item.roadmap, contract=contract, chair=chair, where=item.contract)
        _past_meeting(ctx, item, contract, chair)
    for item in spec.portfolio:
        if item.tenant != ctx.tenant.slug:
            continue
        owner = _member(ctx, item.owner, item.tenant)
        chair = next((m for m in ctx.memberships.values() if m.role == "commissioner"), None)
        _topics(
            ctx,
            [
                TopicSpec(t.month, t.title, t.owner or item.owner, t.description)
                for t in item.roadmap
            ],
            contract=None,
            chair=chair,
            where=item.tenant,
        )
        del owner
    # The months ahead, as the nightly task would have filled them.
    services.meetings_generate(tenant=ctx.tenant, today=ctx.today)
