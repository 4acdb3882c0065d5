"""Every write of review meetings.

The rules, here and not in forms or templates:

- the commissioning side (``meeting.manage``: commissioners, admins) schedules
  meetings, generates and edits their agenda, starts them (which freezes the
  pack), records minutes, decisions and actions, holds or cancels them;
- an action's owner's side updates it (``meeting_action.update``): the
  commissioning side any action, a provider's member only the actions owned by
  its own provider's members, on its own contracts;
- the roadmap's topics are the commissioning side's (``roadmap.manage``);
- the cadence (``meetings_generate``) is the system's: it fills the slots of the
  months ahead and never the same slot twice.

Statuses move through ``oversight.workflow``; every write is saved with history
(who and why); attendees and owners hear of what concerns them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from contracts.models import Contract, ContractStatus
from oversight import clock, formatting, workflow
from oversight.history import bulk_create, delete_with_history, save_with_history
from oversight.models import Membership, Role
from oversight.notifications import Notice, notification_recipients, notify_many
from oversight.permissions import require, require_same_tenant
from performance import exports as performance_exports

from . import cadence, selectors
from .models import (
    CONTRACTLESS_KINDS,
    MEETING_ACTION_TRANSITIONS,
    MEETING_TRANSITIONS,
    ROADMAP_TRANSITIONS,
    TEXT_MAX,
    AgendaItem,
    AgendaPart,
    Attendance,
    CalendarFeed,
    Decision,
    Meeting,
    MeetingAction,
    MeetingActionStatus,
    MeetingKind,
    MeetingPack,
    MeetingStatus,
    RoadmapStatus,
    RoadmapTopic,
)

MEETING_WORKFLOW = workflow.declare(
    Meeting,
    MEETING_TRANSITIONS,
    noun="meeting",
    stamps={
        MeetingStatus.IN_PROGRESS: "started_at",
        MeetingStatus.HELD: "held_at",
        MeetingStatus.CANCELLED: "cancelled_at",
    },
    refusal="This meeting is {source}: it cannot become {target}.",
)
ACTION_WORKFLOW = workflow.declare(
    MeetingAction,
    MEETING_ACTION_TRANSITIONS,
    noun="meeting action",
    stamps={
        MeetingActionStatus.DONE: "done_at",
        MeetingActionStatus.DROPPED: "dropped_at",
        MeetingActionStatus.OPEN: "reopened_at",
    },
    refusal="This action is {source}: it cannot become {target}.",
)
TOPIC_WORKFLOW = workflow.declare(
    RoadmapTopic,
    ROADMAP_TRANSITIONS,
    noun="roadmap topic",
    stamps={RoadmapStatus.DONE: "done_at", RoadmapStatus.DROPPED: "dropped_at"},
    refusal="This topic is {source}: it cannot become {target}.",
)

# Notification kinds (registered in apps.py).
MEETING_NOTICE = "review_meeting"
ACTION_NOTICE = "meeting_action"

COMMISSIONING_SIDE = (Role.COMMISSIONER, Role.ADMIN)
AGENDA_ITEMS_MAX = 60
SIGNALS_LOOKBACK_DAYS = 92  # "since the last meeting" for a contract's first meeting
# The agenda names the live signals since the last meeting, most severe first,
# up to this many (the pack lists them all).
AGENDA_SIGNALS = 8
SEVERITY_ORDER = {"Critical": 0, "High": 1, "Medium": 2, "Low": 3, "Information": 4}


def _text(value) -> str:
    return (value or "").strip()


def _capital(errors: dict[str, str]) -> dict[str, str]:
    return {k: v[0].upper() + v[1:] for k, v in errors.items()}


# --- notices ---------------------------------------------------------------------


def _invite(meetings: Sequence[Meeting], *, what: str) -> None:
    """Tell each meeting's attendees (once per meeting and ``what``)."""
    notices = []
    for meeting in meetings:
        users = [m.user for m in meeting.attendees.select_related("user") if m.user.is_active]
        if not users:
            continue
        when = formatting.datetime(meeting.starts_at, tz=clock.tenant_zone(meeting.tenant))
        words = {
            "scheduled": f"You are invited to {meeting.title}, {when}.",
            "cancelled": f"{meeting.title} ({when}) is cancelled.",
            "moved": f"{meeting.title} is now {when}.",
        }[what]
        notices.append(
            Notice(
                tenant=meeting.tenant,
                users=users,
                kind=MEETING_NOTICE,
                message=words,
                url=meeting.get_absolute_url(),
                dedupe_key=f"review-meeting:{meeting.pk}:{what}:{meeting.starts_at.isoformat()}",
                email_subject=words,
                email_body=(
                    f"{words}\n\nThe agenda, the pack and a calendar invitation (.ics) are on "
                    f"the meeting's page: {meeting.get_absolute_url()}"
                ),
            )
        )
    if notices:
        notify_many(notices)


def _tell_owner(action: MeetingAction, message: str, key: str) -> None:
    if action.owner.is_active and action.owner.user.is_active:
        notify_many(
            [
                Notice(
                    tenant=action.tenant,
                    users=[action.owner.user],
                    kind=ACTION_NOTICE,
                    message=message,
                    url=action.get_absolute_url(),
                    dedupe_key=f"meeting-action:{action.pk}:{key}",
                )
            ]
        )


# --- attendees ---------------------------------------------------------------------


def default_attendees(*, tenant, contract: Contract | None, kind: str) -> list[Membership]:
    """Who is invited by default: for a contract, its contract manager's,
    service owner's and executive sponsor's memberships and the provider's
    active members (an executive meeting: the tenant's executives too); for a
    portfolio review, the tenant's commissioners, admins and executives."""
    if contract is None:
        return list(
            notification_recipients(
                tenant=tenant, roles=[Role.COMMISSIONER, Role.ADMIN, Role.EXECUTIVE]
            )
        )
    named = [
        u
        for u in (
            contract.contract_manager_id,
            contract.service_owner_id,
            contract.executive_sponsor_id,
        )
        if u
    ]
    members = list(notification_recipients(tenant=tenant, users=named))
    members += list(
        notification_recipients(tenant=tenant, roles=[Role.PROVIDER], contract=contract)
    )
    if kind == MeetingKind.EXECUTIVE:
        members += list(notification_recipients(tenant=tenant, roles=[Role.EXECUTIVE]))
    seen, out = set(), []
    for m in members:
        if m.pk not in seen:
            seen.add(m.pk)
            out.append(m)
    return out


def _check_attendees(tenant, contract, attendees: Iterable[Membership]) -> list[Membership]:
    out = []
    for member in attendees:
        if member.tenant_id != tenant.pk or not member.is_active:
            raise ValidationError({"attendees": "Invite active members of this organisation."})
        if member.role == Role.PROVIDER and (
            contract is None or member.provider_id != contract.provider_id
        ):
            raise ValidationError(
                {
                    "attendees": (
                        f"{member.user} works for another provider: invite only the "
                        "contract's own provider's members."
                    )
                }
            )
        out.append(member)
    return out


def _attendees_set(meeting: Meeting, members: Sequence[Membership], *, user, reason: str) -> None:
    """Invite exactly ``members``: new invitations and withdrawn ones are
    written with history."""
    wanted = {m.pk for m in members}
    current = {a.membership_id: a for a in meeting.attendances.all()}
    for pk, attendance in current.items():
        if pk not in wanted:
            delete_with_history(attendance, user=user, reason=reason)
    bulk_create(
        Attendance,
        [
            Attendance(tenant_id=meeting.tenant_id, meeting=meeting, membership_id=pk)
            for pk in sorted(wanted - set(current))
        ],
        user=user,
        reason=reason,
    )


# --- scheduling --------------------------------------------------------------------


def _reference(tenant, contract: Contract | None, starts_at: datetime, kind: str) -> str:
    day = starts_at.astimezone(clock.tenant_zone(tenant)).date()
    code = {
        MeetingKind.CHECK_IN: "CI",
        MeetingKind.QUARTERLY: "QR",
        MeetingKind.PORTFOLIO: "PR",
        MeetingKind.EXECUTIVE: "EX",
        MeetingKind.SPRINT: "IS",
    }[kind]
    base = f"{contract.reference if contract else 'PORTFOLIO'}-{code}-{day:%Y%m%d}"
    reference, n = base, 1
    while Meeting.objects.filter(tenant_id=tenant.pk, reference=reference).exists():
        n += 1
        reference = f"{base}-{n}"
    return reference


def _title(kind: str, contract: Contract | None, starts_at: datetime, tenant) -> str:
    day = starts_at.astimezone(clock.tenant_zone(tenant)).date()
    label = MeetingKind(kind).label
    about = contract.reference if contract else tenant.name
    return f"{label}: {about}, {formatting.date(day)}"


def _meeting_problems(*, kind, contract, starts_at, ends_at, location) -> dict[str, str]:
    errors: dict[str, str] = {}
    if kind not in MeetingKind.values:
        errors["kind"] = "choose the kind of meeting."
    elif kind in CONTRACTLESS_KINDS and contract is not None:
        errors["contract"] = "a portfolio review is about every contract: leave the contract empty."
    elif kind not in CONTRACTLESS_KINDS and contract is None:
        errors["contract"] = "choose the contract the meeting is about."
    if starts_at is None:
        errors["starts_at"] = "give the day and time the meeting starts."
    if ends_at is None:
        errors["ends_at"] = "give the time the meeting ends."
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "the meeting must end after it starts."
    elif starts_at is not None and ends_at - starts_at > timedelta(hours=12):
        errors["ends_at"] = "a meeting lasts at most 12 hours: schedule another for the next day."
    if len(_text(location)) > 200:
        errors["location"] = "the location is longer than 200 characters."
    return _capital(errors)


@transaction.atomic
def meeting_schedule(
    *,
    membership: Membership,
    kind: str,
    contract: Contract | None,
    starts_at: datetime,
    ends_at: datetime,
    location: str = "",
    title: str = "",
    attendees: Iterable[Membership] | None = None,
    reason: str = "Meeting scheduled",
) -> Meeting:
    """Schedule a meeting by hand; its attendees are told (on commit)."""
    require(membership, "meeting.manage")
    tenant = membership.tenant
    if contract is not None:
        require_same_tenant(membership, contract, "contract")
    errors = _meeting_problems(
        kind=kind, contract=contract, starts_at=starts_at, ends_at=ends_at, location=location
    )
    if starts_at is not None and starts_at < clock.now() - timedelta(days=1):
        errors.setdefault("starts_at", "A new meeting cannot start in the past.")
    if errors:
        raise ValidationError(errors)
    invited = _check_attendees(
        tenant,
        contract,
        attendees
        if attendees is not None
        else default_attendees(tenant=tenant, contract=contract, kind=kind),
    )
    meeting = Meeting(
        tenant=tenant,
        reference=_reference(tenant, contract, starts_at, kind),
        kind=kind,
        contract=contract,
        title=_text(title)[:200] or _title(kind, contract, starts_at, tenant),
        starts_at=starts_at,
        ends_at=ends_at,
        location=_text(location),
        scheduled_by=membership.user,
    )
    meeting.agenda_generated_at = clock.now()
    meeting.full_clean()
    save_with_history(meeting, user=membership.user, reason=reason)
    _attendees_set(meeting, invited, user=membership.user, reason=reason)
    _agenda_items_write(meeting, membership=membership, user=membership.user, reason=reason)
    transaction.on_commit(lambda: _invite([meeting], what="scheduled"))
    return meeting


@transaction.atomic
def meeting_change(
    *,
    membership: Membership,
    meeting: Meeting,
    reason: str,
    title: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    location: str | None = None,
    attendees: Iterable[Membership] | None = None,
) -> Meeting:
    """Change a scheduled meeting's title, time, place or attendees; moving it
    tells the attendees."""
    require(membership, "meeting.manage")
    require_same_tenant(membership, meeting, "meeting")
    meeting = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("tenant", "contract")
        .get(pk=meeting.pk)
    )
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ValidationError(
            {"status": f"This meeting is {meeting.get_status_display().lower()}: it cannot change."}
        )
    moved = False
    if title is not None:
        meeting.title = _text(title)[:200] or meeting.title
    if starts_at is not None or ends_at is not None:
        new_start, new_end = starts_at or meeting.starts_at, ends_at or meeting.ends_at
        moved = new_start != meeting.starts_at
        meeting.starts_at, meeting.ends_at = new_start, new_end
    if location is not None:
        meeting.location = _text(location)
    errors = _meeting_problems(
        kind=meeting.kind,
        contract=meeting.contract,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        location=meeting.location,
    )
    if errors:
        raise ValidationError(errors)
    meeting.full_clean()
    save_with_history(meeting, user=membership.user, reason=reason)
    if attendees is not None:
        _attendees_set(
            meeting,
            _check_attendees(meeting.tenant, meeting.contract, attendees),
            user=membership.user,
            reason=reason,
        )
    if moved:
        transaction.on_commit(lambda: _invite([meeting], what="moved"))
    return meeting


def _system_member(contract: Contract | None, tenant) -> Membership | None:
    """Whose reading the cadence generates an agenda with: the contract
    manager's active membership (for a portfolio review, the first active
    commissioner), or None."""
    members = notification_recipients(tenant=tenant, roles=list(COMMISSIONING_SIDE))
    if contract is not None:
        members = members.filter(user_id=contract.contract_manager_id)
    return members.select_related("tenant").first()


@transaction.atomic
def meetings_generate(*, tenant, today: date | None = None) -> list[Meeting]:
    """Fill the cadence's slots of the months ahead (reviews/cadence.py) for
    every active contract, and the quarterly portfolio review; a slot already
    filled (or cancelled) is left alone, so running twice creates nothing new.
    Each new meeting gets its generated agenda and its attendees are told."""
    today = today or clock.tenant_today(tenant)
    zone = clock.tenant_zone(tenant)
    contracts = list(
        Contract.objects.filter(tenant_id=tenant.pk, status=ContractStatus.ACTIVE)
        .select_related("tenant")
        .order_by("reference")
    )
    bands = performance_exports.latest_risk_bands(
        tenant_id=tenant.pk, contract_ids=[c.pk for c in contracts]
    )
    taken = set(
        Meeting.objects.filter(tenant_id=tenant.pk)
        .exclude(cadence_key="")
        .values_list("cadence_key", flat=True)
    )
    planned: list[tuple[Contract | None, str, cadence.Slot]] = []
    for contract in contracts:
        rhythm = cadence.rhythm(
            band=bands.get(contract.pk),
            annual_value=contract.annual_value,
            start_date=contract.start_date,
            today=today,
        )
        kind = (
            MeetingKind.CHECK_IN if rhythm.frequency == cadence.MONTHLY else MeetingKind.QUARTERLY
        )
        for slot in cadence.slots(frequency=rhythm.frequency, prefix=str(contract.pk), today=today):
            if slot.key not in taken and slot.day <= contract.end_date:
                planned.append((contract, kind, slot))
    for slot in cadence.slots(
        frequency=cadence.QUARTERLY, prefix="portfolio", today=today, weekday=3, nth=3
    ):
        if slot.key not in taken:
            planned.append((None, MeetingKind.PORTFOLIO, slot))
    created = []
    for contract, kind, slot in planned:
        minutes = cadence.PORTFOLIO_MINUTES if contract is None else cadence.MEETING_MINUTES
        starts_at, ends_at = cadence.moment(slot.day, zone, minutes)
        meeting = Meeting(
            tenant=tenant,
            reference=_reference(tenant, contract, starts_at, kind),
            kind=kind,
            contract=contract,
            title=_title(kind, contract, starts_at, tenant),
            starts_at=starts_at,
            ends_at=ends_at,
            location="",
            cadence_key=slot.key,
        )
        reader = _system_member(contract, tenant)
        if reader is not None:
            meeting.agenda_generated_at = clock.now()
        try:
            with transaction.atomic():  # a slot another run filled meanwhile: skip it
                save_with_history(meeting, user=None, reason=f"Cadence: {slot.label}")
        except IntegrityError:
            continue
        _attendees_set(
            meeting,
            default_attendees(tenant=tenant, contract=contract, kind=kind),
            user=None,
            reason=f"Cadence: {slot.label}",
        )
        if reader is not None:
            _agenda_items_write(
                meeting, membership=reader, user=None, reason=f"Cadence: {slot.label}"
            )
        created.append(meeting)
    if created:
        transaction.on_commit(lambda: _invite(created, what="scheduled"))
    return created


@transaction.atomic
def meeting_cancel(*, membership: Membership, meeting: Meeting, reason: str) -> Meeting:
    require(membership, "meeting.manage")
    if not _text(reason):
        raise ValidationError({"cancel_reason": "Say why the meeting is cancelled."})
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=meeting.pk)
    )
    return workflow.transition(
        meeting,
        MeetingStatus.CANCELLED,
        membership=membership,
        action="meeting.manage",
        reason=f"Cancelled: {_text(reason)}",
        fields={"cancel_reason": _text(reason)[:TEXT_MAX]},
        on_commit=lambda m: _invite([m], what="cancelled"),
    )


@transaction.atomic
def meeting_start(*, membership: Membership, meeting: Meeting) -> Meeting:
    """Open the meeting: its pack is generated one last time and frozen, so
    that what the meeting was shown stays readable as it was."""
    from .pack import pack_build  # the pack reads the services' selectors

    require(membership, "meeting.manage")
    meeting = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("tenant", "contract")
        .get(pk=meeting.pk)
    )
    MEETING_WORKFLOW.check(meeting.status, MeetingStatus.IN_PROGRESS)
    now = clock.now()
    built = pack_build(membership=membership, meeting=meeting, frozen_at=now)
    workflow.transition(
        meeting,
        MeetingStatus.IN_PROGRESS,
        membership=membership,
        action="meeting.manage",
        reason="Meeting started; pack frozen",
        now=now,
    )
    pack = MeetingPack(
        tenant_id=meeting.tenant_id,
        meeting=meeting,
        html=built.html,
        pdf=built.pdf,
        data=built.data,
        frozen_at=now,
        frozen_by=membership.user,
    )
    save_with_history(pack, user=membership.user, reason="Pack frozen at the meeting's start")
    return meeting


@transaction.atomic
def meeting_hold(*, membership: Membership, meeting: Meeting, minutes: str) -> Meeting:
    """Close the meeting as held, with its minutes."""
    require(membership, "meeting.manage")
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=meeting.pk)
    )
    minutes = _text(minutes) or meeting.minutes
    if not minutes:
        raise ValidationError({"minutes": "Record the minutes before closing the meeting."})
    return workflow.transition(
        meeting,
        MeetingStatus.HELD,
        membership=membership,
        action="meeting.manage",
        reason="Meeting held; minutes recorded",
        fields={"minutes": minutes},
        validate=lambda m: m.full_clean(),
    )


@transaction.atomic
def meeting_minutes_save(*, membership: Membership, meeting: Meeting, minutes: str) -> Meeting:
    """Record (or correct) the minutes of a meeting in progress or held."""
    require(membership, "meeting.manage")
    require_same_tenant(membership, meeting, "meeting")
    meeting = Meeting.objects.select_for_update(of=("self",)).get(pk=meeting.pk)
    if meeting.status not in (MeetingStatus.IN_PROGRESS, MeetingStatus.HELD):
        raise ValidationError({"minutes": "Minutes are recorded once the meeting has started."})
    meeting.minutes = _text(minutes)
    meeting.full_clean()
    save_with_history(meeting, user=membership.user, reason="Minutes recorded")
    return meeting


def _recording(meeting: Meeting, field: str) -> None:
    if meeting.status not in (MeetingStatus.IN_PROGRESS, MeetingStatus.HELD):
        raise ValidationError(
            {field: "Decisions and actions are recorded in the meeting, once it has started."}
        )


@transaction.atomic
def decision_record(*, membership: Membership, meeting: Meeting, text: str) -> Decision:
    require(membership, "meeting.manage")
    require_same_tenant(membership, meeting, "meeting")
    meeting = Meeting.objects.select_related("tenant").get(pk=meeting.pk)
    _recording(meeting, "text")
    if not _text(text):
        raise ValidationError({"text": "Say what was decided."})
    decision = Decision(
        tenant_id=meeting.tenant_id, meeting=meeting, text=_text(text), recorded_by=membership.user
    )
    decision.full_clean()
    save_with_history(decision, user=membership.user, reason="Decision recorded")
    return decision


# --- actions ---------------------------------------------------------------------


@transaction.atomic
def meeting_action_add(
    *,
    membership: Membership,
    meeting: Meeting,
    description: str,
    owner: Membership | None,
    due_on: date | None,
) -> MeetingAction:
    """An action agreed in the meeting: an owner (a member of the commissioning
    side, or of the contract's provider), a due date not before today."""
    require(membership, "meeting.manage")
    require_same_tenant(membership, meeting, "meeting")
    meeting = Meeting.objects.select_related("tenant", "contract").get(pk=meeting.pk)
    _recording(meeting, "description")
    today = clock.tenant_today(meeting.tenant)
    errors = {}
    if not _text(description):
        errors["description"] = "say what will be done."
    if owner is None:
        errors["owner"] = "name the member who owns the action."
    elif owner.tenant_id != meeting.tenant_id or not owner.is_active:
        errors["owner"] = "the owner must be an active member of this organisation."
    elif owner.role == Role.PROVIDER and (
        meeting.contract is None or owner.provider_id != meeting.contract.provider_id
    ):
        errors["owner"] = "a provider's member owns actions of its own provider's contract only."
    elif owner.role == Role.AUDITOR:
        errors["owner"] = "an auditor does not own actions: name someone who will do it."
    if due_on is None:
        errors["due_on"] = "give the date the action is due."
    elif due_on < today:
        errors["due_on"] = (
            f"the due date ({formatting.date(due_on)}) cannot be before today "
            f"({formatting.date(today)})."
        )
    if errors:
        raise ValidationError(_capital(errors))
    action = MeetingAction(
        tenant_id=meeting.tenant_id,
        meeting=meeting,
        description=_text(description),
        owner=owner,
        due_on=due_on,
        created_by=membership.user,
    )
    action.full_clean()
    save_with_history(action, user=membership.user, reason="Action agreed in the meeting")
    transaction.on_commit(
        lambda: _tell_owner(
            action,
            f"An action is yours from {meeting.title}: "
            f"{formatting.shorten(action.description, 120)}"
            f" (due {formatting.date(action.due_on)}).",
            "added",
        )
    )
    return action


def _may_update(membership: Membership, action: MeetingAction) -> None:
    require(membership, "meeting_action.update")
    require_same_tenant(membership, action, "meeting action")
    if membership.role == Role.PROVIDER and action.owner.provider_id != membership.provider_id:
        raise PermissionDenied("Only the action's owner's side updates it.")


def _move(membership, action, to: str, *, note: str, reason: str, field: str) -> MeetingAction:
    action = (
        MeetingAction.objects.select_for_update(of=("self",))
        .select_related("tenant", "owner__user", "meeting__tenant", "meeting__contract")
        .get(pk=action.pk)
    )
    _may_update(membership, action)
    if not _text(note):
        raise ValidationError({field: reason})
    return workflow.transition(
        action,
        to,
        membership=membership,
        action="meeting_action.update",
        reason=f"Action {MeetingActionStatus(to).label.lower()}: {_text(note)}"[:250],
        fields={"note": _text(note)[:TEXT_MAX]},
    )


@transaction.atomic
def meeting_action_done(*, membership: Membership, action: MeetingAction, note: str):
    return _move(
        membership,
        action,
        MeetingActionStatus.DONE,
        note=note,
        reason="Say what was done.",
        field="note",
    )


@transaction.atomic
def meeting_action_drop(*, membership: Membership, action: MeetingAction, note: str):
    require(membership, "meeting.manage")  # dropping is the commissioning side's decision
    return _move(
        membership,
        action,
        MeetingActionStatus.DROPPED,
        note=note,
        reason="Say why the action is dropped.",
        field="note",
    )


@transaction.atomic
def meeting_action_reopen(*, membership: Membership, action: MeetingAction, note: str):
    return _move(
        membership,
        action,
        MeetingActionStatus.OPEN,
        note=note,
        reason="Say why the action is open again.",
        field="note",
    )


# --- the agenda --------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedItem:
    part: int
    title: str
    notes: str
    source: str


def since_last(meeting: Meeting) -> datetime:
    """Where "since the last meeting" starts: the previous held meeting's
    start, or ``SIGNALS_LOOKBACK_DAYS`` before this one for a first meeting."""
    previous = selectors.previous_meeting(meeting=meeting)
    if previous is not None:
        return previous.starts_at
    return meeting.starts_at - timedelta(days=SIGNALS_LOOKBACK_DAYS)


def agenda_plan(*, membership: Membership, meeting: Meeting) -> list[PlannedItem]:
    """The three-part agenda of active contract management, as data:

    1. follow-up: every action still open from the earlier meetings of the
       contract (the previous one's first), and the open improvement-plan actions;
    2. progress: each priority measure with its chart's sentence, and each
       signal opened since the last meeting;
    3. one deep-dive topic from the roadmap: this month's, or the next planned.
    """
    from . import pack as pack_reads  # escalation's reads go through reviews/pack.py

    items: list[PlannedItem] = []
    today = clock.tenant_today(meeting.tenant)
    for action in selectors.actions_carried(meeting=meeting):
        items.append(
            PlannedItem(
                AgendaPart.FOLLOW_UP,
                f"Action: {formatting.shorten(action.description, 200)}",
                f"Owner {action.owner.user}; due {formatting.date(action.due_on)}; agreed at "
                f"{action.meeting.reference}." + (" Overdue." if action.due_on < today else ""),
                f"meeting_action:{action.pk}",
            )
        )
    contract = meeting.contract
    if contract is not None:
        for row in pack_reads.plan_actions(membership=membership, contract=contract, today=today):
            items.append(
                PlannedItem(
                    AgendaPart.FOLLOW_UP,
                    f"Improvement plan: {formatting.shorten(row['description'], 200)}",
                    f"Lead {row['lead']}; due {formatting.date(row['due_on'])}."
                    + (" Overdue." if row["overdue"] else ""),
                    f"plan_action:{row['id']}",
                )
            )
        for chart in performance_exports.measure_charts(
            membership=membership, contract=contract, priority_only=True
        ):
            items.append(
                PlannedItem(
                    AgendaPart.PROGRESS,
                    f"Progress: {chart['name']}",
                    chart["summary"] or "No accepted values yet.",
                    f"measure:{chart['contract_kpi_id']}",
                )
            )
        signals = [
            signal
            for signal in performance_exports.signals_since(
                membership=membership, contract=contract, since=since_last(meeting)
            )
            if signal["status"] != "Closed"
        ]
        signals.sort(key=lambda x: SEVERITY_ORDER.get(x["severity"], 9))
        for signal in signals[:AGENDA_SIGNALS]:
            items.append(
                PlannedItem(
                    AgendaPart.PROGRESS,
                    f"Signal ({signal['severity'].lower()}): "
                    f"{formatting.shorten(signal['message'], 220)}",
                    f"Opened {formatting.date(signal['opened_at'])}; {signal['status'].lower()}.",
                    f"signal:{signal['id']}",
                )
            )
        if len(signals) > AGENDA_SIGNALS:
            items.append(
                PlannedItem(
                    AgendaPart.PROGRESS,
                    f"And {len(signals) - AGENDA_SIGNALS} more live signals since the last meeting",
                    "Every signal since the last meeting is listed in the pack.",
                    "signals",
                )
            )
    else:
        items.append(
            PlannedItem(
                AgendaPart.PROGRESS,
                "Portfolio: contracts by risk band and escalation level",
                "The pack lists every active contract with its latest risk band and level.",
                "portfolio",
            )
        )
    topic = deep_dive_topic(meeting=meeting)
    if topic is not None:
        items.append(
            PlannedItem(
                AgendaPart.DEEP_DIVE,
                f"Deep dive: {topic.title}",
                f"Owner {topic.owner.user}. {topic.description}".strip(),
                f"roadmap:{topic.pk}",
            )
        )
    return items[:AGENDA_ITEMS_MAX]


def deep_dive_topic(*, meeting: Meeting) -> RoadmapTopic | None:
    """The roadmap's planned topic for the meeting's month (of the contract, or
    the portfolio's), else the earliest planned one from that month on."""
    day = meeting.starts_at.astimezone(clock.tenant_zone(meeting.tenant)).date()
    month = day.replace(day=1)
    planned = RoadmapTopic.objects.filter(
        tenant_id=meeting.tenant_id,
        contract_id=meeting.contract_id,
        status=RoadmapStatus.PLANNED,
        month__gte=month,
    ).select_related("owner__user")
    return planned.order_by("month", "id").first()


def _agenda_write(meeting: Meeting, *, membership: Membership, user, reason: str) -> None:
    """Replace the meeting's agenda by the generated one (with history)."""
    for item in list(meeting.agenda_items.all()):
        delete_with_history(item, user=user, reason=reason)
    _agenda_items_write(meeting, membership=membership, user=user, reason=reason)
    meeting.agenda_generated_at = clock.now()
    save_with_history(meeting, user=user, reason=reason)


def _agenda_items_write(meeting: Meeting, *, membership: Membership, user, reason: str) -> None:
    planned = agenda_plan(membership=membership, meeting=meeting)
    orders: dict[int, int] = {}
    rows = []
    for item in planned:
        orders[item.part] = orders.get(item.part, 0) + 1
        rows.append(
            AgendaItem(
                tenant_id=meeting.tenant_id,
                meeting=meeting,
                part=item.part,
                order=orders[item.part],
                title=item.title[:300],
                notes=item.notes[:TEXT_MAX],
                source=item.source,
            )
        )
    bulk_create(AgendaItem, rows, user=user, reason=reason)


@transaction.atomic
def agenda_generate(*, membership: Membership, meeting: Meeting) -> Meeting:
    """(Re)generate a scheduled meeting's agenda from today's data; the items
    added or edited by hand are replaced, so the page asks first."""
    require(membership, "meeting.manage")
    require_same_tenant(membership, meeting, "meeting")
    meeting = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("tenant", "contract")
        .get(pk=meeting.pk)
    )
    _scheduled(meeting, "agenda")
    _agenda_write(meeting, membership=membership, user=membership.user, reason="Agenda generated")
    return meeting


def _scheduled(meeting: Meeting, field: str) -> None:
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ValidationError(
            {
                field: (
                    f"This meeting is {meeting.get_status_display().lower()}: its agenda is "
                    "what the meeting was shown."
                )
            }
        )


def _item_problems(part, title, notes) -> dict[str, str]:
    errors = {}
    if part not in AgendaPart.values:
        errors["part"] = "choose the part of the agenda: 1, 2 or 3."
    if not _text(title):
        errors["title"] = "give the item a title."
    elif len(_text(title)) > 300:
        errors["title"] = "the title is longer than 300 characters."
    if len(_text(notes)) > TEXT_MAX:
        errors["notes"] = f"the notes are longer than {TEXT_MAX} characters."
    return _capital(errors)


@transaction.atomic
def agenda_item_add(
    *, membership: Membership, meeting: Meeting, part: int, title: str, notes: str = ""
) -> AgendaItem:
    require(membership, "meeting.manage")
    require_same_tenant(membership, meeting, "meeting")
    _scheduled(meeting, "title")
    errors = _item_problems(part, title, notes)
    if not errors and meeting.agenda_items.count() >= AGENDA_ITEMS_MAX:
        errors["title"] = f"An agenda holds at most {AGENDA_ITEMS_MAX} items."
    if errors:
        raise ValidationError(errors)
    last = meeting.agenda_items.filter(part=part).order_by("-order").first()
    item = AgendaItem(
        tenant_id=meeting.tenant_id,
        meeting=meeting,
        part=part,
        order=(last.order + 1) if last else 1,
        title=_text(title),
        notes=_text(notes),
    )
    save_with_history(item, user=membership.user, reason="Agenda item added")
    return item


@transaction.atomic
def agenda_item_change(
    *,
    membership: Membership,
    item: AgendaItem,
    title: str,
    notes: str,
    part: int | None = None,
    remove: bool = False,
) -> AgendaItem | None:
    require(membership, "meeting.manage")
    require_same_tenant(membership, item, "agenda item")
    item = (
        AgendaItem.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=item.pk)
    )
    _scheduled(item.meeting, "title")
    if remove:
        delete_with_history(item, user=membership.user, reason="Agenda item removed")
        return None
    part = item.part if part is None else part
    errors = _item_problems(part, title, notes)
    if errors:
        raise ValidationError(errors)
    item.part, item.title, item.notes = part, _text(title), _text(notes)
    save_with_history(item, user=membership.user, reason="Agenda item edited")
    return item


# --- the roadmap -------------------------------------------------------------------


def roadmap_months(today: date, count: int = 12) -> list[date]:
    """The running 12 months from the tenant's current month."""
    out, year, month = [], today.year, today.month
    for _ in range(count):
        out.append(date(year, month, 1))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


@transaction.atomic
def roadmap_topic_add(
    *,
    membership: Membership,
    contract: Contract | None,
    month: date | None,
    title: str,
    owner: Membership | None,
    description: str = "",
    reason: str = "Roadmap topic added",
) -> RoadmapTopic:
    """A deep-dive topic in one of the running 12 months, of a contract or of
    the portfolio (no contract), owned by a member of the commissioning side or
    of the contract's provider."""
    require(membership, "roadmap.manage")
    if contract is not None:
        require_same_tenant(membership, contract, "contract")
    months = roadmap_months(clock.tenant_today(membership.tenant))
    errors = {}
    if month is None:
        errors["month"] = "choose the month of the deep dive."
    else:
        month = month.replace(day=1)
        if not months[0] <= month <= months[-1]:
            errors["month"] = (
                f"choose a month of the running year: {formatting.date(months[0])} to "
                f"{formatting.date(months[-1])}."
            )
    if not _text(title):
        errors["title"] = "give the topic a title."
    elif len(_text(title)) > 200:
        errors["title"] = "the title is longer than 200 characters."
    if owner is None:
        errors["owner"] = "name the member who owns the topic."
    elif owner.tenant_id != membership.tenant_id or not owner.is_active:
        errors["owner"] = "the owner must be an active member of this organisation."
    elif owner.role == Role.PROVIDER and (
        contract is None or owner.provider_id != contract.provider_id
    ):
        errors["owner"] = "a provider's member owns topics of its own provider's contract only."
    if errors:
        raise ValidationError(_capital(errors))
    topic = RoadmapTopic(
        tenant_id=membership.tenant_id,
        contract=contract,
        month=month,
        title=_text(title),
        description=_text(description),
        owner=owner,
    )
    try:
        topic.full_clean()
    except ValidationError as error:
        if "__all__" in error.message_dict:
            raise ValidationError(
                {"title": "That topic is already on the roadmap for this month."}
            ) from error
        raise
    save_with_history(topic, user=membership.user, reason=reason)
    return topic


@transaction.atomic
def roadmap_topic_complete(
    *, membership: Membership, topic: RoadmapTopic, finding: str
) -> RoadmapTopic:
    require(membership, "roadmap.manage")
    topic = (
        RoadmapTopic.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=topic.pk)
    )
    if not _text(finding):
        raise ValidationError({"finding": "Record what the deep dive found."})
    return workflow.transition(
        topic,
        RoadmapStatus.DONE,
        membership=membership,
        action="roadmap.manage",
        reason="Deep dive done; finding recorded",
        fields={"finding": _text(finding)[:TEXT_MAX]},
    )


@transaction.atomic
def roadmap_topic_drop(*, membership: Membership, topic: RoadmapTopic, note: str) -> RoadmapTopic:
    require(membership, "roadmap.manage")
    topic = (
        RoadmapTopic.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=topic.pk)
    )
    if not _text(note):
        raise ValidationError({"note": "Say why the topic is dropped."})
    return workflow.transition(
        topic,
        RoadmapStatus.DROPPED,
        membership=membership,
        action="roadmap.manage",
        reason=f"Topic dropped: {_text(note)}"[:250],
    )


# --- calendar feeds -----------------------------------------------------------------


def feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_issue(*, membership: Membership) -> str:
    """A new secret for the member's calendar feed; the one before stops
    working. Returns the secret, which is shown once and stored only hashed."""
    if membership is None:
        raise Http404("No such feed")
    now = clock.now()
    for feed in CalendarFeed.objects.select_for_update(of=("self",)).filter(
        membership=membership, revoked_at__isnull=True
    ):
        feed.revoked_at = now
        save_with_history(feed, user=membership.user, reason="Calendar feed link replaced")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        tenant_id=membership.tenant_id, membership=membership, token_hash=feed_hash(token)
    )
    save_with_history(feed, user=membership.user, reason="Calendar feed link issued")
    return token


@transaction.atomic
def calendar_feed_revoke(*, membership: Membership) -> int:
    now, count = clock.now(), 0
    for feed in CalendarFeed.objects.select_for_update(of=("self",)).filter(
        membership=membership, revoked_at__isnull=True
    ):
        feed.revoked_at = now
        save_with_history(feed, user=membership.user, reason="Calendar feed link revoked")
        count += 1
    return count


def calendar_feed_member(*, tenant_slug: str, token: str) -> Membership | None:
    """The active membership whose live feed ``token`` opens, in the tenant of
    ``tenant_slug``; None for anything else (unknown, revoked, another tenant's,
    an inactive member)."""
    if not token or len(token) > 200:
        return None
    feed = (
        CalendarFeed.objects.filter(
            token_hash=feed_hash(token),
            revoked_at__isnull=True,
            membership__tenant__slug=tenant_slug,
            membership__is_active=True,
            membership__user__is_active=True,
        )
        .select_related("membership__tenant", "membership__user", "membership__provider")
        .first()
    )
    return feed.membership if feed else None
