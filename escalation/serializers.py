"""The escalation API's shapes. Read serializers show what the pages show;
input serializers refuse unknown fields (``oversight.serializers``) and leave
the domain rules to the services, whose messages name the field."""

from rest_framework import serializers

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight.serializers import StrictSerializer

from .ladder import EDITABLE_FIELDS
from .models import TEXT_MAX, EscalationStep, LadderStage, LadderVersion, StepEvidence


def _person(user) -> str | None:
    return (user.full_name or user.email) if user else None


# A reporting frequency read as its value ("monthly", "weekly"): the register's
# Contract.reporting_frequency already names the schema's enum for these choices.
def _frequency() -> serializers.CharField:
    return serializers.CharField(read_only=True)


class LadderStageSerializer(serializers.ModelSerializer):
    reporting_frequency = _frequency()

    class Meta:
        model = LadderStage
        fields = ["id", "level", *EDITABLE_FIELDS]
        read_only_fields = fields


class LadderVersionSerializer(serializers.ModelSerializer):
    stages = LadderStageSerializer(many=True, read_only=True)
    created_by = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = LadderVersion
        fields = ["id", "number", "is_current", "created_at", "created_by", "note", "stages"]
        read_only_fields = fields

    def get_created_by(self, version) -> str | None:
        return _person(version.created_by)

    def get_is_current(self, version) -> bool:
        return version.pk == self.context.get("current_id")


class StageChangeSerializer(StrictSerializer):
    """One level's changes: ``level`` and only the fields that change."""

    also_accepted = frozenset()

    level = serializers.IntegerField(min_value=0)
    name = serializers.CharField(required=False, max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    response_days = serializers.IntegerField(required=False, allow_null=True)
    deadline_basis = serializers.CharField(required=False, max_length=10)
    reporting_frequency = serializers.CharField(required=False, max_length=10)
    plan_required = serializers.BooleanField(required=False)
    executive_approval_required = serializers.BooleanField(required=False)
    withholding_cap_percent = serializers.DecimalField(
        required=False, allow_null=True, max_digits=5, decimal_places=2
    )


class PresetAdoptSerializer(StrictSerializer):
    """Which preset to adopt (escalation/presets/); the reason is the change reason."""

    preset = serializers.CharField(max_length=60)


class LadderReviseSerializer(StrictSerializer):
    stages = StageChangeSerializer(many=True, allow_empty=False)

    def changes(self) -> dict[int, dict]:
        changes: dict[int, dict] = {}
        for item in self.validated_data["stages"]:
            item = dict(item)
            changes.setdefault(item.pop("level"), {}).update(item)
        return changes


class StepEvidenceSerializer(serializers.ModelSerializer):
    object_type = serializers.SerializerMethodField()

    class Meta:
        model = StepEvidence
        fields = ["id", "kind", "object_type", "object_id", "text"]
        read_only_fields = fields

    def get_object_type(self, evidence) -> str | None:
        return evidence.kind if evidence.object_id else None


class EscalationStepSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    stage = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    proposed_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    acknowledged_by = serializers.SerializerMethodField()
    evidence = StepEvidenceSerializer(many=True, read_only=True)
    reporting_set_to = _frequency()
    reporting_before = _frequency()

    class Meta:
        model = EscalationStep
        fields = [
            "id", "contract", "contract_reference", "from_level", "to_level", "stage",
            "status", "status_label", "reason", "justification", "proportionality_note",
            "recovery_evidence", "next_review_on", "proposed_by", "proposed_at",
            "decided_by", "effective_at", "rejected_at", "decision_note",
            "reporting_set_to", "reporting_before", "provider_notified_at",
            "acknowledged_at", "acknowledged_by", "evidence",
        ]  # fmt: skip
        read_only_fields = fields

    def get_stage(self, step) -> dict:
        stage = step.stage
        return {
            "id": stage.pk,
            "level": stage.level,
            "name": stage.name,
            "ladder_version": stage.version.number,
            "reporting_frequency": stage.reporting_frequency,
            "executive_approval_required": stage.executive_approval_required,
        }

    def get_proposed_by(self, step) -> str | None:
        return _person(step.proposed_by)

    def get_decided_by(self, step) -> str | None:
        return _person(step.decided_by)

    def get_acknowledged_by(self, step) -> str | None:
        return _person(step.acknowledged_by)


class EvidenceInputSerializer(StrictSerializer):
    also_accepted = frozenset()

    kind = serializers.CharField(
        max_length=20,
        help_text="signal, return (give id), missed_action, incident, provider_concern, other "
        "(give text).",
    )
    id = serializers.IntegerField(required=False, min_value=1)
    text = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class StepProposeSerializer(StrictSerializer):
    contract = serializers.PrimaryKeyRelatedField(queryset=Contract.objects.none())
    to_level = serializers.IntegerField(min_value=0)
    reason = serializers.CharField(max_length=TEXT_MAX)
    proportionality_note = serializers.CharField(max_length=TEXT_MAX)
    justification = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    recovery_evidence = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    next_review_on = serializers.DateField()
    evidence = EvidenceInputSerializer(many=True, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts_visible(
            membership=self.context.get("membership")
        )


class DecisionSerializer(StrictSerializer):
    also_accepted = frozenset()

    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class AcknowledgeSerializer(StrictSerializer):
    also_accepted = frozenset()


class AdoptSerializer(StrictSerializer):
    """Adopting the default ladder takes nothing but the change reason."""
