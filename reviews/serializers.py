"""API shapes of review meetings. Input serializers refuse unknown fields and
leave the rules to reviews/services.py, whose messages name the field."""

from django.urls import reverse
from rest_framework import serializers

from oversight.serializers import StrictSerializer

from .models import (
    TEXT_MAX,
    AgendaItem,
    Decision,
    Meeting,
    MeetingAction,
    MeetingKind,
    RoadmapTopic,
)


def _person(user) -> str | None:
    return str(user) if user else None


class AgendaItemSerializer(serializers.ModelSerializer):
    part_label = serializers.CharField(source="get_part_display", read_only=True)

    class Meta:
        model = AgendaItem
        fields = ["id", "part", "part_label", "order", "title", "notes", "source"]


class DecisionSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = ["id", "text", "recorded_by", "recorded_at"]

    def get_recorded_by(self, obj) -> str | None:
        return _person(obj.recorded_by)


class MeetingActionSerializer(serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()

    class Meta:
        model = MeetingAction
        fields = [
            "id",
            "meeting",
            "description",
            "owner",
            "owner_name",
            "due_on",
            "status",
            "note",
            "created_at",
            "done_at",
            "dropped_at",
            "reopened_at",
        ]
        read_only_fields = fields

    def get_owner_name(self, obj) -> str:
        return str(obj.owner.user)


class MeetingSerializer(serializers.ModelSerializer):
    agenda = AgendaItemSerializer(source="agenda_items", many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    actions = MeetingActionSerializer(many=True, read_only=True)
    attendees = serializers.SerializerMethodField()
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    pack_pdf = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = [
            "id",
            "reference",
            "kind",
            "kind_label",
            "contract",
            "title",
            "starts_at",
            "ends_at",
            "location",
            "status",
            "attendees",
            "agenda",
            "minutes",
            "decisions",
            "actions",
            "started_at",
            "held_at",
            "cancelled_at",
            "cancel_reason",
            "pack_pdf",
        ]
        read_only_fields = fields

    def get_attendees(self, obj) -> list[dict]:
        return [{"membership": m.pk, "name": str(m.user)} for m in obj.attendees.all()]

    def get_pack_pdf(self, obj) -> str:
        return reverse(
            "api-meeting-pack-pdf", kwargs={"tenant_slug": obj.tenant.slug, "meeting_pk": obj.pk}
        )


class MeetingScheduleSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=MeetingKind.choices)
    contract = serializers.IntegerField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    attendees = serializers.ListField(child=serializers.IntegerField(), required=False)
    change_reason = serializers.CharField(required=False, allow_blank=True)


class MeetingChangeSerializer(StrictSerializer):
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    change_reason = serializers.CharField(required=False, allow_blank=True)


class MinutesSerializer(StrictSerializer):
    minutes = serializers.CharField(required=False, allow_blank=True)


class TextSerializer(StrictSerializer):
    text = serializers.CharField(max_length=TEXT_MAX)


class CancelSerializer(StrictSerializer):
    cancel_reason = serializers.CharField(max_length=TEXT_MAX)


class AgendaItemInputSerializer(StrictSerializer):
    part = serializers.IntegerField()
    title = serializers.CharField(max_length=300)
    notes = serializers.CharField(required=False, allow_blank=True)


class MeetingActionInputSerializer(StrictSerializer):
    meeting = serializers.IntegerField()
    description = serializers.CharField(max_length=TEXT_MAX)
    owner = serializers.IntegerField(help_text="The owner's membership id.")
    due_on = serializers.DateField()
    change_reason = serializers.CharField(required=False, allow_blank=True)


class MeetingNoteSerializer(StrictSerializer):
    note = serializers.CharField(max_length=TEXT_MAX)


class RoadmapTopicSerializer(serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()

    class Meta:
        model = RoadmapTopic
        fields = [
            "id",
            "contract",
            "month",
            "title",
            "description",
            "owner",
            "owner_name",
            "status",
            "finding",
            "done_at",
        ]
        read_only_fields = fields

    def get_owner_name(self, obj) -> str:
        return str(obj.owner.user)


class TopicInputSerializer(StrictSerializer):
    contract = serializers.IntegerField(required=False, allow_null=True)
    month = serializers.DateField()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.IntegerField(help_text="The owner's membership id.")
    change_reason = serializers.CharField(required=False, allow_blank=True)


class TopicUpdateSerializer(StrictSerializer):
    finding = serializers.CharField(max_length=TEXT_MAX)
    change_reason = serializers.CharField(required=False, allow_blank=True)
