"""Review meetings through the API: the same selectors and services as the pages.

- ``meetings/``: the meetings the caller sees (``?contract=``, ``?status=``,
  ``?kind=``), each with its agenda, minutes, decisions and actions. ``POST``
  schedules one, ``PATCH`` moves or renames a scheduled one; ``POST
  meetings/<pk>/generate-agenda/``, ``…/agenda/`` (an item), ``…/start/``
  (freezes the pack), ``…/minutes/``, ``…/decisions/``, ``…/hold/``,
  ``…/cancel/``; ``GET meetings/<pk>/pack.pdf`` (the frozen one once started).
- ``meeting-actions/``: ``POST`` records an action of a started meeting;
  ``…/done/``, ``…/reopen/`` (the owner's side), ``…/drop/`` (the commissioning side).
- ``roadmap-topics/``: ``POST`` adds a topic; ``PATCH`` with a ``finding``
  records the deep dive done.
- ``calendar-feed/<token>/``: the member's meetings as iCalendar, opened by
  the feed's secret (reviews/calendar.py), for calendar clients.

Refusals answer ``{"errors": [...]}`` (oversight/api.py); nothing is written.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.selectors import contract_get
from oversight.api import ReadOnlyViewSet, change_reason
from oversight.models import Membership
from oversight.serializers import NoInputSerializer
from oversight.tenancy import membership_for

from . import calendar, pack, selectors, services
from .models import Meeting, MeetingAction, MeetingKind, MeetingStatus, RoadmapTopic
from .serializers import (
    AgendaItemInputSerializer,
    CancelSerializer,
    MeetingActionInputSerializer,
    MeetingActionSerializer,
    MeetingChangeSerializer,
    MeetingNoteSerializer,
    MeetingScheduleSerializer,
    MeetingSerializer,
    MinutesSerializer,
    RoadmapTopicSerializer,
    TextSerializer,
    TopicInputSerializer,
    TopicUpdateSerializer,
)


def _member(membership, pk) -> Membership | None:
    if pk is None:
        return None
    return (
        Membership.objects.filter(tenant_id=membership.tenant_id, pk=pk)
        .select_related("user", "provider")
        .first()
    )


class MeetingFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=MeetingStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=MeetingKind.choices)


def _meetings(*, membership):
    return selectors.meetings_detailed(membership=membership).order_by("starts_at", "id")


class MeetingViewSet(ReadOnlyViewSet):
    queryset = Meeting.objects.all()
    serializer_class = MeetingSerializer
    selector = staticmethod(_meetings)
    lookup_url_kwarg = "meeting_pk"
    filterset_class = MeetingFilter
    write_action = "meeting.manage"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _answer(self, meeting, code=status.HTTP_200_OK):
        fresh = selectors.meeting_get(membership=self.membership, pk=meeting.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def _payload(self, serializer_class):
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    @extend_schema(request=MeetingScheduleSerializer, responses={201: MeetingSerializer})
    def create(self, request, *args, **kwargs):
        """Schedule a meeting (attendees by default: the contract's named owners
        and its provider's members; for a portfolio review, the commissioning side)."""
        self.check_write()
        data = self._payload(MeetingScheduleSerializer)
        contract = (
            contract_get(membership=self.membership, pk=data["contract"])
            if data.get("contract")
            else None
        )
        attendees = None
        if "attendees" in data:
            attendees = [_member(self.membership, pk) for pk in data["attendees"]]
            if any(a is None for a in attendees):
                raise ValidationError({"attendees": "Invite members of this organisation."})
        meeting = services.meeting_schedule(
            membership=self.membership,
            kind=data["kind"],
            contract=contract,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            location=data.get("location", ""),
            title=data.get("title", ""),
            attendees=attendees,
            reason=change_reason(
                request, default=f"Meeting scheduled through the API by {request.user}"
            ),
        )
        return self._answer(meeting, status.HTTP_201_CREATED)

    @extend_schema(request=MeetingChangeSerializer, responses={200: MeetingSerializer})
    def partial_update(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        data = self._payload(MeetingChangeSerializer)
        services.meeting_change(
            membership=self.membership,
            meeting=meeting,
            reason=change_reason(
                request, default=f"Meeting changed through the API by {request.user}"
            ),
            title=data.get("title"),
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            location=data.get("location"),
        )
        return self._answer(meeting)

    @extend_schema(request=None, responses={200: MeetingSerializer})
    @action(detail=True, methods=["post"], url_path="generate-agenda", url_name="regenerate")
    def generate_agenda(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        self._payload(NoInputSerializer)
        services.agenda_generate(membership=self.membership, meeting=meeting)
        return self._answer(meeting)

    @extend_schema(request=AgendaItemInputSerializer, responses={201: MeetingSerializer})
    @action(detail=True, methods=["post"], url_path="agenda", url_name="agenda")
    def add_agenda_item(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        data = self._payload(AgendaItemInputSerializer)
        services.agenda_item_add(
            membership=self.membership,
            meeting=meeting,
            part=data["part"],
            title=data["title"],
            notes=data.get("notes", ""),
        )
        return self._answer(meeting, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: MeetingSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, *args, **kwargs):
        """Start the meeting: its pack is frozen as it is now."""
        meeting = self.get_object()
        self.check_write()
        self._payload(NoInputSerializer)
        services.meeting_start(membership=self.membership, meeting=meeting)
        return self._answer(meeting)

    @extend_schema(request=MinutesSerializer, responses={200: MeetingSerializer})
    @action(detail=True, methods=["post"])
    def minutes(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        data = self._payload(MinutesSerializer)
        services.meeting_minutes_save(
            membership=self.membership, meeting=meeting, minutes=data.get("minutes", "")
        )
        return self._answer(meeting)

    @extend_schema(request=TextSerializer, responses={201: MeetingSerializer})
    @action(detail=True, methods=["post"])
    def decisions(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        data = self._payload(TextSerializer)
        services.decision_record(membership=self.membership, meeting=meeting, text=data["text"])
        return self._answer(meeting, status.HTTP_201_CREATED)

    @extend_schema(request=MinutesSerializer, responses={200: MeetingSerializer})
    @action(detail=True, methods=["post"])
    def hold(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        data = self._payload(MinutesSerializer)
        services.meeting_hold(
            membership=self.membership, meeting=meeting, minutes=data.get("minutes", "")
        )
        return self._answer(meeting)

    @extend_schema(request=CancelSerializer, responses={200: MeetingSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        meeting = self.get_object()
        self.check_write()
        data = self._payload(CancelSerializer)
        services.meeting_cancel(
            membership=self.membership, meeting=meeting, reason=data["cancel_reason"]
        )
        return self._answer(meeting)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def pack_pdf(self, request, *args, **kwargs):
        """The meeting's pack as a PDF: the frozen one once the meeting started."""
        meeting = self.get_object()
        body = pack.pack_pdf_for(membership=self.membership, meeting=meeting)
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{meeting.reference}-pack.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


class ActionFilter(django_filters.FilterSet):
    meeting = django_filters.NumberFilter(field_name="meeting_id")
    status = django_filters.CharFilter(field_name="status")


def _actions(*, membership):
    return (
        selectors.actions_visible(membership=membership)
        .select_related("owner__user", "meeting")
        .order_by("due_on", "id")
    )


class MeetingActionViewSet(ReadOnlyViewSet):
    queryset = MeetingAction.objects.all()
    serializer_class = MeetingActionSerializer
    selector = staticmethod(_actions)
    lookup_url_kwarg = "meeting_action_pk"
    filterset_class = ActionFilter
    write_action = "meeting.manage"
    http_method_names = ["get", "post", "head", "options"]

    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)

    @extend_schema(request=MeetingActionInputSerializer, responses={201: MeetingActionSerializer})
    def create(self, request, *args, **kwargs):
        self.check_write()
        payload = MeetingActionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        meeting = selectors.meeting_get(membership=self.membership, pk=data["meeting"])
        obj = services.meeting_action_add(
            membership=self.membership,
            meeting=meeting,
            description=data["description"],
            owner=_member(self.membership, data["owner"]),
            due_on=data["due_on"],
        )
        return self._answer(obj, status.HTTP_201_CREATED)

    def _step(self, request, service, write):
        obj = self.get_object()
        self.check_write(write)
        payload = MeetingNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        service(membership=self.membership, action=obj, note=payload.validated_data["note"])
        return self._answer(obj)

    @extend_schema(request=MeetingNoteSerializer, responses={200: MeetingActionSerializer})
    @action(detail=True, methods=["post"])
    def done(self, request, *args, **kwargs):
        return self._step(request, services.meeting_action_done, "meeting_action.update")

    @extend_schema(request=MeetingNoteSerializer, responses={200: MeetingActionSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, *args, **kwargs):
        return self._step(request, services.meeting_action_reopen, "meeting_action.update")

    @extend_schema(request=MeetingNoteSerializer, responses={200: MeetingActionSerializer})
    @action(detail=True, methods=["post"])
    def drop(self, request, *args, **kwargs):
        return self._step(request, services.meeting_action_drop, "meeting.manage")


def _topics(*, membership):
    return (
        selectors.topics_visible(membership=membership)
        .select_related("owner__user")
        .order_by("month", "id")
    )


class RoadmapTopicViewSet(ReadOnlyViewSet):
    queryset = RoadmapTopic.objects.all()
    serializer_class = RoadmapTopicSerializer
    selector = staticmethod(_topics)
    lookup_url_kwarg = "roadmap_topic_pk"
    write_action = "roadmap.manage"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)

    @extend_schema(request=TopicInputSerializer, responses={201: RoadmapTopicSerializer})
    def create(self, request, *args, **kwargs):
        self.check_write()
        payload = TopicInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        contract = (
            contract_get(membership=self.membership, pk=data["contract"])
            if data.get("contract")
            else None
        )
        topic = services.roadmap_topic_add(
            membership=self.membership,
            contract=contract,
            month=data["month"],
            title=data["title"],
            description=data.get("description", ""),
            owner=_member(self.membership, data["owner"]),
            reason=change_reason(request, default=f"Topic added through the API by {request.user}"),
        )
        return self._answer(topic, status.HTTP_201_CREATED)

    @extend_schema(request=TopicUpdateSerializer, responses={200: RoadmapTopicSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Record the deep dive's finding (the topic is then done)."""
        topic = self.get_object()
        self.check_write()
        payload = TopicUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.roadmap_topic_complete(
            membership=self.membership, topic=topic, finding=payload.validated_data["finding"]
        )
        return self._answer(topic)


class FeedTokenAuthentication(authentication.BaseAuthentication):
    """The calendar feed's secret in its URL authenticates the feed's member
    (a calendar client has no session); a wrong one authenticates no one."""

    def authenticate(self, request):
        kwargs = request.parser_context.get("kwargs", {}) if request.parser_context else {}
        member = services.calendar_feed_member(
            tenant_slug=kwargs.get("tenant_slug", ""), token=kwargs.get("token", "")
        )
        if member is None:
            return None
        request.feed_membership = member
        return (member.user, None)


class CalendarFeedView(APIView):
    """A member's meetings as an iCalendar feed (``text/calendar``)."""

    authentication_classes = [
        FeedTokenAuthentication,
        authentication.TokenAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(request, "feed_membership", None) is None:
            # Signed in, but no live feed of this secret: a tenant the user is
            # not a member of is 404 whatever the method (as every route); in
            # their own tenant a read is 404 (the secret is out of reach) and a
            # write is refused as a method the feed never takes (405).
            membership_for(request.user, kwargs["tenant_slug"])
            if request.method.lower() in self.http_method_names:
                raise exceptions.NotFound()

    # Left out of the API schema: it is a URL for a calendar client, opened by
    # the secret in it, not an API for programs (docs/reviews.md describes it).
    @extend_schema(exclude=True)
    def get(self, request, tenant_slug: str, token: str):
        membership = request.feed_membership
        meetings = calendar.feed_meetings(
            selectors.meetings_visible(membership=membership), membership=membership
        )
        body = calendar.feed_ics(
            meetings,
            name=f"Review meetings, {membership.tenant.name}",
            url_of=lambda m: request.build_absolute_uri(m.get_absolute_url()),
        )
        return HttpResponse(body, content_type="text/calendar; charset=utf-8")
