"""API shapes of supportive measures, provider concerns and frontline reports.
Input serializers refuse unknown fields and leave the rules to the services in
escalation/support.py, whose messages name the field."""

from rest_framework import serializers

from contracts.models import Contract, Provider
from contracts.selectors import contracts_visible, providers_visible
from oversight.serializers import StrictSerializer

from .models import (
    TEXT_MAX,
    FrontlineReport,
    MeasureKind,
    ProviderConcern,
    ReportCategory,
    SupportiveMeasure,
)
from .serializers import _person


class _People(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)


# A kind or a category read and written as its value: a schema enum named
# "kind" or "category" would collide with the signals' and the KPI library's
# (the services validate the value against the model's choices).
def _choice(choices, **kwargs) -> serializers.CharField:
    values = ", ".join(value for value, _ in choices)
    return serializers.CharField(max_length=30, help_text=f"One of: {values}.", **kwargs)


class SupportiveMeasureSerializer(_People):
    kind = _choice(MeasureKind.choices, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    owner_name = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    ended_by = serializers.SerializerMethodField()

    class Meta:
        model = SupportiveMeasure
        fields = [
            "id", "contract", "contract_reference", "kind", "kind_label", "description",
            "owner", "owner_name", "starts_on", "review_on", "recovery_expectation",
            "status", "created_by", "created_at", "ended_at", "ended_by", "outcome_note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_owner_name(self, measure) -> str | None:
        return _person(measure.owner)

    def get_created_by(self, measure) -> str | None:
        return _person(measure.created_by)

    def get_ended_by(self, measure) -> str | None:
        return _person(measure.ended_by)


class MeasureStartSerializer(StrictSerializer):
    contract = serializers.PrimaryKeyRelatedField(queryset=Contract.objects.none())
    kind = _choice(MeasureKind.choices)
    description = serializers.CharField(max_length=TEXT_MAX)
    owner = serializers.IntegerField(min_value=1, help_text="The owner's user id.")
    starts_on = serializers.DateField()
    review_on = serializers.DateField()
    recovery_expectation = serializers.CharField(max_length=TEXT_MAX)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts_visible(
            membership=self.context.get("membership")
        )


class MeasureEndSerializer(StrictSerializer):
    outcome_note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class ProviderConcernSerializer(_People):
    provider_name = serializers.CharField(source="contract.provider.name", read_only=True)
    raised_by = serializers.SerializerMethodField()
    acknowledged_by = serializers.SerializerMethodField()

    class Meta:
        model = ProviderConcern
        fields = [
            "id", "contract", "contract_reference", "provider_name", "drifting", "drivers",
            "mitigation", "support_requested", "raised_by", "raised_at", "status",
            "acknowledged_at", "acknowledged_by", "acknowledgement_note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_raised_by(self, concern) -> str | None:
        return _person(concern.raised_by)

    def get_acknowledged_by(self, concern) -> str | None:
        return _person(concern.acknowledged_by)


class ConcernRaiseSerializer(StrictSerializer):
    # An id, read through contract_get by the view: another provider's contract
    # answers 404, as a missing one does.
    contract = serializers.IntegerField(min_value=1)
    drifting = serializers.CharField(max_length=TEXT_MAX)
    drivers = serializers.CharField(max_length=TEXT_MAX)
    mitigation = serializers.CharField(max_length=TEXT_MAX)
    support_requested = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class ConcernAcknowledgeSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class FrontlineReportSerializer(serializers.ModelSerializer):
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    contract_reference = serializers.CharField(
        source="contract.reference", read_only=True, default=None
    )
    category = _choice(ReportCategory.choices, read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    reported_by = serializers.SerializerMethodField()

    class Meta:
        model = FrontlineReport
        fields = [
            "id", "provider", "provider_name", "contract", "contract_reference", "category",
            "category_label", "occurred_on", "description", "reported_by", "reported_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_reported_by(self, report) -> str | None:
        return _person(report.reported_by)


class FrontlineReportCreateSerializer(StrictSerializer):
    provider = serializers.PrimaryKeyRelatedField(queryset=Provider.objects.none())
    contract = serializers.PrimaryKeyRelatedField(
        queryset=Contract.objects.none(), required=False, allow_null=True
    )
    category = _choice(ReportCategory.choices)
    occurred_on = serializers.DateField()
    description = serializers.CharField(max_length=TEXT_MAX)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        membership = self.context.get("membership")
        self.fields["provider"].queryset = providers_visible(membership=membership)
        self.fields["contract"].queryset = contracts_visible(membership=membership)
