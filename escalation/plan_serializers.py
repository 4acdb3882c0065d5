"""API shapes of improvement plans. Input serializers refuse unknown fields and
leave the rules to the services in escalation/plans.py, whose messages name
the field."""

from rest_framework import serializers

from oversight.serializers import StrictSerializer

from .models import (
    SETTLING_PERIODS_MAX,
    TEXT_MAX,
    ControlCheck,
    ControlKind,
    ImprovementPlan,
    PlanAction,
    PlanControl,
    PlanReview,
)
from .serializers import _person
from .support_serializers import _choice


class LinkedKpiSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The contract KPI's id.")
    code = serializers.CharField(source="kpi.code")
    name = serializers.CharField(source="kpi.name")


class PlanActionSerializer(serializers.ModelSerializer):
    contract_kpis = LinkedKpiSerializer(many=True, read_only=True)
    done_by = serializers.SerializerMethodField()
    verified_by = serializers.SerializerMethodField()
    reopened_by = serializers.SerializerMethodField()

    class Meta:
        model = PlanAction
        fields = [
            "id", "plan", "description", "lead", "milestone", "due_on", "evidence_expected",
            "contract_kpis", "status", "created_at", "done_at", "done_by",
            "completion_evidence", "verified_at", "verified_by", "verification_note",
            "reopened_at", "reopened_by", "reopen_reason",
        ]  # fmt: skip
        read_only_fields = fields

    def get_done_by(self, action) -> str | None:
        return _person(action.done_by)

    def get_verified_by(self, action) -> str | None:
        return _person(action.verified_by)

    def get_reopened_by(self, action) -> str | None:
        return _person(action.reopened_by)


class PlanControlSerializer(serializers.ModelSerializer):
    kind = _choice(ControlKind.choices, read_only=True)

    class Meta:
        model = PlanControl
        fields = ["id", "kind", "description"]
        read_only_fields = fields


class ControlCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = ControlCheck
        fields = ["control", "in_place", "note"]
        read_only_fields = fields


class PlanReviewSerializer(serializers.ModelSerializer):
    reviewed_by = serializers.SerializerMethodField()
    checks = ControlCheckSerializer(many=True, read_only=True)

    class Meta:
        model = PlanReview
        fields = ["id", "held_on", "note", "reviewed_by", "created_at", "checks"]
        read_only_fields = fields

    def get_reviewed_by(self, review) -> str | None:
        return _person(review.reviewed_by)


class ImprovementPlanSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    root_causes = serializers.SerializerMethodField()
    actions = PlanActionSerializer(many=True, read_only=True)
    controls = PlanControlSerializer(many=True, read_only=True)
    reviews = PlanReviewSerializer(many=True, read_only=True)
    opened_by = serializers.SerializerMethodField()
    agreed_by = serializers.SerializerMethodField()
    closed_by = serializers.SerializerMethodField()

    class Meta:
        model = ImprovementPlan
        fields = [
            "id", "contract", "contract_reference", "step", "issue_statement", "symptoms",
            "root_causes", "settling_periods", "status", "opened_by", "opened_at",
            "agreed_at", "agreed_by", "closed_at", "closed_by", "close_note", "actions",
            "controls", "reviews",
        ]  # fmt: skip
        read_only_fields = fields

    def get_root_causes(self, plan) -> list[str]:
        return [c.cause for c in plan.root_causes.all()]

    def get_opened_by(self, plan) -> str | None:
        return _person(plan.opened_by)

    def get_agreed_by(self, plan) -> str | None:
        return _person(plan.agreed_by)

    def get_closed_by(self, plan) -> str | None:
        return _person(plan.closed_by)


# --- input ----------------------------------------------------------------------


class ActionInputSerializer(StrictSerializer):
    description = serializers.CharField(max_length=TEXT_MAX)
    lead = serializers.CharField(max_length=200, help_text="The named accountable lead.")
    milestone = serializers.CharField(max_length=200)
    due_on = serializers.DateField()
    evidence_expected = serializers.CharField(max_length=TEXT_MAX)
    contract_kpis = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=50,
        help_text="Ids of the contract's KPIs the action is expected to move.",
    )


class ControlInputSerializer(StrictSerializer):
    kind = _choice(ControlKind.choices)
    description = serializers.CharField(max_length=TEXT_MAX)


class PlanOpenSerializer(StrictSerializer):
    # An id, read through contract_get by the view (another provider's or
    # tenant's answers 404, as a missing one does).
    contract = serializers.IntegerField(min_value=1)
    issue_statement = serializers.CharField(max_length=TEXT_MAX)
    symptoms = serializers.CharField(max_length=TEXT_MAX)
    root_causes = serializers.ListField(
        child=serializers.CharField(max_length=TEXT_MAX),
        max_length=20,
        help_text="Why the problem happens, one cause per item (not the symptoms).",
    )
    settling_periods = serializers.IntegerField(
        min_value=1, max_value=SETTLING_PERIODS_MAX, required=False
    )
    step = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="An escalation step's id."
    )
    actions = ActionInputSerializer(many=True, required=False)
    controls = ControlInputSerializer(many=True, required=False)


class NoteSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class CloseSerializer(StrictSerializer):
    close_note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class CheckInputSerializer(StrictSerializer):
    control = serializers.IntegerField(min_value=1)
    in_place = serializers.BooleanField(allow_null=True, required=False, default=None)
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class ReviewInputSerializer(StrictSerializer):
    held_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    checks = CheckInputSerializer(many=True, required=False)


class DoneSerializer(StrictSerializer):
    completion_evidence = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX
    )


class ReopenSerializer(StrictSerializer):
    reopen_reason = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
