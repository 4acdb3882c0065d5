"""API shapes of the withholding ledger. Input serializers refuse unknown
fields and leave the rules to escalation/withholdings.py, whose messages name
the field."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oversight.serializers import StrictSerializer

from .models import TEXT_MAX, Withholding
from .serializers import _person
from .withholding_forms import parse_month
from .withholdings import TIES, tie_kind


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "example": "2026-11"})
class MonthField(serializers.Field):
    """A payment month: ``2026-11`` or any date in it (answered as its first day)."""

    default_error_messages = {"invalid": "Give a month as YYYY-MM, e.g. 2026-11."}

    def to_internal_value(self, data):
        month = parse_month(data)
        if month is None:
            self.fail("invalid")
        return month

    def to_representation(self, value):
        return value.isoformat()


class WithholdingSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    period = serializers.DateField(read_only=True, help_text="The payment month's first day.")
    period_label = serializers.CharField(read_only=True)
    tied_kind = serializers.SerializerMethodField()
    tied_id = serializers.IntegerField(read_only=True, allow_null=True)
    stage_level = serializers.IntegerField(source="stage.level", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    recorded_by = serializers.SerializerMethodField()
    released_by = serializers.SerializerMethodField()
    retained_by = serializers.SerializerMethodField()

    class Meta:
        model = Withholding
        fields = [
            "id", "contract", "contract_reference", "period", "period_label", "amount",
            "currency", "ground", "tied_kind", "tied_id", "step", "stage_level", "stage_name",
            "cap_percent", "monthly_value", "status", "recorded_by", "recorded_at",
            "released_at", "released_by", "release_note", "retained_at", "retained_by",
            "retain_note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_tied_kind(self, withholding) -> str | None:
        return tie_kind(withholding.tied_type)

    def get_recorded_by(self, withholding) -> str | None:
        return _person(withholding.recorded_by)

    def get_released_by(self, withholding) -> str | None:
        return _person(withholding.released_by)

    def get_retained_by(self, withholding) -> str | None:
        return _person(withholding.retained_by)


class WithholdingRecordSerializer(StrictSerializer):
    # An id, read through contract_get by the view: another provider's or
    # tenant's contract answers 404, as a missing one does.
    contract = serializers.IntegerField(min_value=1)
    period = MonthField(help_text="The payment month: YYYY-MM (or a date in it).")
    # No minimum here: the service refuses zero and less with its own message.
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    ground = serializers.CharField(max_length=TEXT_MAX)
    tied_kind = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=30,
        help_text=f"What it is tied to: one of {', '.join(TIES)}; with tied_id.",
    )
    tied_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    step = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The id of the contract's escalation step in effect that authorised it.",
    )


class WithholdingNoteSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
