"""Every read of review meetings: what a membership may see.

A provider's member sees the meetings, actions and roadmap topics of its own
provider's contracts, never a portfolio review (internal, no contract) nor a
portfolio topic; every other role sees the tenant's. With no membership,
nothing (deny by default).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from contracts.selectors import contracts_visible
from oversight.models import Membership, Role

from .models import (
    AgendaItem,
    CalendarFeed,
    Decision,
    Meeting,
    MeetingAction,
    MeetingActionStatus,
    MeetingStatus,
    RoadmapTopic,
)


def _contract_scope(membership: Membership, field: str = "contract") -> Q:
    """Rows of the contracts the membership sees; a provider's member, never
    those without a contract (the portfolio's)."""
    seen = Q(**{f"{field}__in": contracts_visible(membership=membership)})
    if membership.role == Role.PROVIDER:
        return seen
    return seen | Q(**{f"{field}__isnull": True})


def meetings_visible(*, membership: Membership | None) -> QuerySet[Meeting]:
    if membership is None:
        return Meeting.objects.none()
    return Meeting.objects.filter(tenant_id=membership.tenant_id).filter(
        _contract_scope(membership)
    )


def meetings_detailed(*, membership: Membership | None) -> QuerySet[Meeting]:
    """Meetings with their agenda, decisions, actions and attendees: a fixed
    number of queries."""
    return (
        meetings_visible(membership=membership)
        .select_related("tenant", "contract__provider", "scheduled_by")
        .prefetch_related(
            Prefetch("agenda_items", queryset=AgendaItem.objects.order_by("part", "order", "id")),
            Prefetch(
                "decisions", queryset=Decision.objects.select_related("recorded_by").order_by("id")
            ),
            Prefetch(
                "actions",
                queryset=MeetingAction.objects.select_related("owner__user").order_by(
                    "due_on", "id"
                ),
            ),
            Prefetch("attendees", queryset=Membership.objects.select_related("user", "provider")),
        )
    )


def meeting_get(*, membership: Membership | None, pk) -> Meeting:
    return get_object_or_404(meetings_detailed(membership=membership), pk=pk)


def previous_meeting(*, meeting: Meeting) -> Meeting | None:
    """The last meeting of the same contract (or of the portfolio) that was
    held before this one started."""
    return (
        Meeting.objects.filter(
            tenant_id=meeting.tenant_id,
            contract_id=meeting.contract_id,
            status=MeetingStatus.HELD,
            starts_at__lt=meeting.starts_at,
        )
        .exclude(pk=meeting.pk)
        .order_by("-starts_at", "-id")
        .first()
    )


def next_meeting(*, membership: Membership | None, contract, now: datetime) -> Meeting | None:
    return (
        meetings_visible(membership=membership)
        .filter(contract_id=contract.pk, status=MeetingStatus.SCHEDULED, ends_at__gte=now)
        .order_by("starts_at", "id")
        .first()
    )


def actions_visible(*, membership: Membership | None) -> QuerySet[MeetingAction]:
    if membership is None:
        return MeetingAction.objects.none()
    return MeetingAction.objects.filter(tenant_id=membership.tenant_id).filter(
        _contract_scope(membership, "meeting__contract")
    )


def action_get(*, membership: Membership | None, pk) -> MeetingAction:
    qs = actions_visible(membership=membership).select_related(
        "tenant", "meeting__tenant", "meeting__contract", "owner__user"
    )
    return get_object_or_404(qs, pk=pk)


def actions_carried(*, meeting: Meeting) -> QuerySet[MeetingAction]:
    """The actions still open from the earlier meetings of the same contract
    (or of the portfolio): what this meeting's follow-up goes through."""
    return (
        MeetingAction.objects.filter(
            tenant_id=meeting.tenant_id,
            meeting__contract_id=meeting.contract_id,
            meeting__starts_at__lt=meeting.starts_at,
            status=MeetingActionStatus.OPEN,
        )
        .exclude(meeting_id=meeting.pk)
        .select_related("owner__user", "meeting")
        .order_by("due_on", "id")
    )


def topics_visible(*, membership: Membership | None) -> QuerySet[RoadmapTopic]:
    if membership is None:
        return RoadmapTopic.objects.none()
    return RoadmapTopic.objects.filter(tenant_id=membership.tenant_id).filter(
        _contract_scope(membership)
    )


def topic_get(*, membership: Membership | None, pk) -> RoadmapTopic:
    qs = topics_visible(membership=membership).select_related(
        "tenant", "contract__provider", "owner__user"
    )
    return get_object_or_404(qs, pk=pk)


def feed_of(*, membership: Membership | None) -> CalendarFeed | None:
    if membership is None:
        return None
    return CalendarFeed.objects.filter(membership=membership, revoked_at__isnull=True).first()
