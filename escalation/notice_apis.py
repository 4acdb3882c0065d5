"""Formal notices through the API (``notices/``), both ways, on the same reads
and services as the pages (escalation/notices.py).

- ``GET notices/``: the notices of the contracts the caller sees
  (``?contract=``, ``?direction=``, ``?status=``), newest first.
- ``POST notices/``: a commissioner or admin issues a notice to the provider
  (the contract at level 3 or above); a provider's member raises one to the
  commissioner (with a ``ground``). ``response_due_on`` defaults to today plus
  the current level's response days. ``kind: "explanation"`` is the
  commissioner's informal request for an explanation (the ladder's level 1, at
  any level; its deadline defaults to today plus level 1's response days);
  ``signal`` attaches one of the contract's signals (its id; its words are
  kept).
- ``POST notices/<formal_notice_pk>/respond/`` (the receiving side, with a
  ``response``), ``…/close/`` (the issuing side, a responded notice) and
  ``…/withdraw/`` (the issuing side, a notice awaiting response), each with a
  ``note``.

Invalid input and refused rules answer ``{"errors": [{"where", "field",
"message"}]}`` (oversight/api.py); nothing is written.
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight.api import ReadOnlyViewSet, change_reason
from oversight.models import Role
from oversight.serializers import StrictSerializer

from . import notices
from .models import (
    TEXT_MAX,
    EscalationStep,
    FormalNotice,
    NoticeDirection,
    NoticeKind,
    NoticeStatus,
)


def _person(user) -> str | None:
    return (user.full_name or user.email) if user else None


class NoticeSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    direction_label = serializers.CharField(source="get_direction_display", read_only=True)
    signal = serializers.IntegerField(source="signal_id", read_only=True, allow_null=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    issued_by = serializers.SerializerMethodField()
    responded_by = serializers.SerializerMethodField()
    closed_by = serializers.SerializerMethodField()

    class Meta:
        model = FormalNotice
        fields = [
            "id", "contract", "contract_reference", "kind", "kind_label", "signal", "signal_text",
            "direction", "direction_label", "ground",
            "concerns", "required_actions", "step", "status", "status_label", "issued_by",
            "issued_at", "response_due_on", "response", "responded_by", "responded_at",
            "responded_late", "closed_by", "closed_at", "withdrawn_at", "close_note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_issued_by(self, notice) -> str | None:
        return _person(notice.issued_by)

    def get_responded_by(self, notice) -> str | None:
        return _person(notice.responded_by)

    def get_closed_by(self, notice) -> str | None:
        return _person(notice.closed_by)


class NoticeIssueSerializer(StrictSerializer):
    contract = serializers.PrimaryKeyRelatedField(queryset=Contract.objects.none())
    kind = serializers.ChoiceField(choices=NoticeKind.choices, required=False)
    signal = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    ground = serializers.CharField(required=False, allow_blank=True, max_length=20)
    concerns = serializers.CharField(max_length=TEXT_MAX)
    required_actions = serializers.CharField(max_length=TEXT_MAX)
    response_due_on = serializers.DateField(required=False, allow_null=True)
    step = serializers.PrimaryKeyRelatedField(
        queryset=EscalationStep.objects.none(), required=False, allow_null=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        membership = self.context.get("membership")
        self.fields["contract"].queryset = contracts_visible(membership=membership)
        self.fields["step"].queryset = EscalationStep.objects.filter(
            tenant_id=getattr(membership, "tenant_id", None),
            contract__in=contracts_visible(membership=membership),
        )


class NoticeResponseSerializer(StrictSerializer):
    also_accepted = frozenset()

    response = serializers.CharField(max_length=TEXT_MAX)


class NoticeNoteSerializer(StrictSerializer):
    also_accepted = frozenset()

    note = serializers.CharField(max_length=TEXT_MAX)


class NoticeFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    direction = django_filters.ChoiceFilter(choices=NoticeDirection.choices)
    kind = django_filters.ChoiceFilter(choices=NoticeKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=NoticeStatus.choices)


def _notices(*, membership):
    return notices.notices_detailed(membership=membership).order_by("-issued_at", "-id")


class NoticeViewSet(ReadOnlyViewSet):
    """Formal notices both ways, with their responses."""

    queryset = FormalNotice.objects.all()
    serializer_class = NoticeSerializer
    selector = staticmethod(_notices)
    lookup_url_kwarg = "formal_notice_pk"
    filterset_class = NoticeFilter
    write_action = "notice.issue"
    http_method_names = ["get", "post", "head", "options"]

    def _answer(self, notice, code=status.HTTP_200_OK):
        return Response(
            self.get_serializer(self.get_queryset().get(pk=notice.pk)).data, status=code
        )

    @extend_schema(request=NoticeIssueSerializer, responses={201: NoticeSerializer})
    def create(self, request, *args, **kwargs):
        """Issue a notice (commissioner, admin: to the provider) or raise one
        (the provider: to the commissioner)."""
        provider = self.membership is not None and self.membership.role == Role.PROVIDER
        self.check_write("notice.raise" if provider else "notice.issue")
        payload = NoticeIssueSerializer(data=request.data, context={"membership": self.membership})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        if "signal" in data:
            data["signal_id"] = data.pop("signal")
        notice = notices.notice_issue(
            membership=self.membership,
            contract=data.pop("contract"),
            reason=change_reason(request, default="Formal notice issued through the API"),
            **data,
        )
        return self._answer(notice, status.HTTP_201_CREATED)

    @extend_schema(request=NoticeResponseSerializer, responses={200: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def respond(self, request, *args, **kwargs):
        """The receiving side responds (late responses are kept, marked late)."""
        notice = self.get_object()
        self.check_write(notices.responding_action(notice.direction))
        payload = NoticeResponseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        notice = notices.notice_respond(
            membership=self.membership, notice=notice, response=payload.validated_data["response"]
        )
        return self._answer(notice)

    def _end(self, request, service):
        notice = self.get_object()
        self.check_write(notices.issuing_action(notice.direction))
        payload = NoticeNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        notice = service(
            membership=self.membership, notice=notice, note=payload.validated_data["note"]
        )
        return self._answer(notice)

    @extend_schema(request=NoticeNoteSerializer, responses={200: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        """The issuing side closes a responded notice, with a ``note``."""
        return self._end(request, notices.notice_close)

    @extend_schema(request=NoticeNoteSerializer, responses={200: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, *args, **kwargs):
        """The issuing side withdraws a notice awaiting response, with a ``note``."""
        return self._end(request, notices.notice_withdraw)
