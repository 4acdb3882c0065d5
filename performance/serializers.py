"""API shapes for KPIs, contract KPIs, the reporting calendar and returns.

Reads are plain model serializers over selector querysets. A submitted return
is parsed only for its shape here (which keys, lists and objects); every rule
about its content lives in ``validation.validate``, the one validation that the
web form and the spreadsheets share.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import Frequency
from oversight import clock
from oversight.serializers import StrictSerializer

from .calendar import period_state
from .imports import normalise_period
from .models import (
    ContractKpi,
    Kpi,
    PhaseTarget,
    ReportingPeriod,
    Return,
    ReturnStatus,
    ReturnValue,
)
from .validation import Problem, ReturnHeader, ValueRow

MAX_VALUES_PER_RETURN = 2000


def _named_choices(choices, component: str):
    """A read-only choice field whose enum is its own schema component: the
    register's Contract.status and reporting_frequency already claim the
    names drf-spectacular would derive ("StatusEnum", "FrequencyEnum")."""

    @extend_schema_field(
        {"type": "string", "enum": [value for value, _ in choices]}, component_name=component
    )
    class NamedChoiceField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices, read_only=True, **kwargs)

    return NamedChoiceField


ReturnStatusField = _named_choices(ReturnStatus.choices, "ReturnStatus")
FrequencyField = _named_choices(Frequency.choices, "ReportingFrequency")


class KpiSerializer(serializers.ModelSerializer):
    class Meta:
        model = Kpi
        fields = [
            "id", "code", "name", "definition", "numerator", "denominator", "unit",
            "direction", "category", "is_fidelity", "is_stress_indicator", "reporting_level",
        ]  # fmt: skip
        read_only_fields = fields


class PhaseTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhaseTarget
        fields = ["phase", "from_month", "to_month", "target", "amber_tolerance"]
        read_only_fields = fields


class ContractKpiSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    kpi_code = serializers.CharField(source="kpi.code", read_only=True)
    kpi_name = serializers.CharField(source="kpi.name", read_only=True)
    unit = serializers.CharField(source="kpi.unit", read_only=True)
    direction = serializers.CharField(source="kpi.direction", read_only=True)
    reporting_level = serializers.CharField(source="kpi.reporting_level", read_only=True)
    phase_targets = PhaseTargetSerializer(many=True, read_only=True)

    class Meta:
        model = ContractKpi
        fields = [
            "id", "contract", "contract_reference", "kpi", "kpi_code", "kpi_name", "unit",
            "direction", "reporting_level", "is_priority", "target", "amber_tolerance",
            "weight", "baseline", "peer_benchmark", "best_practice",
            "expected_low", "expected_high", "phase_targets",
        ]  # fmt: skip
        read_only_fields = fields


class ReportingPeriodSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    label = serializers.CharField(read_only=True)
    state = serializers.SerializerMethodField(
        help_text="submitted / accepted / queried (the latest version), else due, late or "
        "missing by the calendar."
    )
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)
    frequency = FrequencyField()

    class Meta:
        model = ReportingPeriod
        fields = [
            "id", "contract", "contract_reference", "label", "frequency", "start", "end",
            "due_date", "missing_after", "state", "latest_version",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_state(self, period) -> str:
        return period_state(
            due_date=period.due_date,
            missing_after=period.missing_after,
            latest_status=getattr(period, "latest_status", None),
            today=self.context.get("today") or clock.today(),
        )


class ReturnValueSerializer(serializers.ModelSerializer):
    kpi_code = serializers.CharField(source="contract_kpi.kpi.code", read_only=True)
    site_name = serializers.CharField(source="site.name", read_only=True, allow_null=True)

    class Meta:
        model = ReturnValue
        fields = [
            "id", "contract_kpi", "kpi_code", "site", "site_name",
            "value", "numerator", "denominator", "variance_explanation",
        ]  # fmt: skip
        read_only_fields = fields


class ReturnVersionSerializer(serializers.ModelSerializer):
    status = ReturnStatusField()

    class Meta:
        model = Return
        fields = ["id", "version", "status", "submitted_at", "reviewed_at"]
        read_only_fields = fields


class OnBehalfSerializer(serializers.Serializer):
    """Who entered a return for the provider, and why (issue 7)."""

    provider = serializers.CharField(source="contract.provider.name")
    entered_by = serializers.CharField(source="entered_on_behalf_by.__str__")
    reason = serializers.CharField(source="on_behalf_reason")
    text = serializers.CharField(source="on_behalf_text")


class ReturnSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    period_label = serializers.CharField(source="period.label", read_only=True)
    submitted_on_time = serializers.BooleanField(read_only=True, allow_null=True)
    values = ReturnValueSerializer(many=True, read_only=True)
    status = ReturnStatusField()
    versions = serializers.SerializerMethodField(
        help_text="Every version of the return for this period, oldest first."
    )
    entered_on_behalf = serializers.SerializerMethodField(
        help_text="Set when the commissioning organisation entered the return for the "
        "provider: who, and the reason given; null when the provider submitted it."
    )

    class Meta:
        model = Return
        fields = [
            "id", "contract", "contract_reference", "period", "period_label", "version",
            "status", "no_activity", "narrative", "source", "created_at",
            "submitted_at", "submitted_on_time", "reviewed_at", "review_comment",
            "values", "versions", "entered_on_behalf",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OnBehalfSerializer(allow_null=True))
    def get_entered_on_behalf(self, ret):
        if ret.entered_on_behalf_by_id is None:
            return None
        return OnBehalfSerializer(ret).data

    @extend_schema_field(ReturnVersionSerializer(many=True))
    def get_versions(self, ret):
        versions = sorted(ret.period.returns.all(), key=lambda r: r.version)
        return ReturnVersionSerializer(versions, many=True).data


# --- input ------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberInput(serializers.Field):
    """A number as JSON gives it (or as text); the validation judges it."""

    default_error_messages = {"invalid": "give a number"}

    def to_internal_value(self, data):
        if data is None or isinstance(data, str | int | float) and not isinstance(data, bool):
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class ReturnValueInputSerializer(StrictSerializer):
    also_accepted = frozenset()

    kpi_code = serializers.CharField(max_length=100)
    site = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    value = NumberInput(required=False, allow_null=True, default=None)
    numerator = NumberInput(required=False, allow_null=True, default=None)
    denominator = NumberInput(required=False, allow_null=True, default=None)
    variance_explanation = serializers.CharField(
        max_length=20_000, required=False, allow_blank=True, default=""
    )


class ReturnSubmitSerializer(StrictSerializer):
    """``POST …/returns/``: one period's return for one contract."""

    also_accepted = frozenset()

    contract = serializers.CharField(max_length=60, help_text="The contract's reference.")
    period = serializers.CharField(max_length=20, help_text="2026-03 for a month, 2026-W11 a week.")
    narrative = serializers.CharField(
        max_length=50_000, required=False, allow_blank=True, default=""
    )
    no_activity = serializers.BooleanField(required=False, default=False)
    values = ReturnValueInputSerializer(
        many=True, required=False, default=list, max_length=MAX_VALUES_PER_RETURN
    )
    on_behalf_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the commissioning organisation enters the return for the "
        "provider: why (recorded and shown with the return). Providers leave it out.",
    )

    def to_submission(self) -> tuple[ReturnHeader, list[ValueRow]]:
        data = self.validated_data
        contract, period = data["contract"].strip(), normalise_period(data["period"])
        header = ReturnHeader(
            contract_ref=contract,
            period=period,
            narrative=data["narrative"],
            no_activity=data["no_activity"],
        )
        rows = [
            ValueRow(
                where=f"values[{index}]",
                contract_ref=contract,
                period=period,
                kpi_code=value["kpi_code"],
                site=value["site"],
                value=value["value"],
                numerator=value["numerator"],
                denominator=value["denominator"],
                variance_explanation=value["variance_explanation"],
            )
            for index, value in enumerate(data["values"])
        ]
        return header, rows


class ReviewSerializer(StrictSerializer):
    also_accepted = frozenset()

    comment = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")


class ProblemSerializer(serializers.Serializer):
    where = serializers.CharField(help_text='"values[2]", "return" or "request"')
    field = serializers.CharField()
    message = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = ProblemSerializer(many=True)


def problems_from_drf(detail, where: str = "return") -> list[Problem]:
    """A DRF serializer's nested error detail as flat (where, field, message)
    problems: ``{"values": [{}, {"value": ["…"]}]}`` → ``values[1], value``."""
    problems: list[Problem] = []
    if isinstance(detail, dict):
        for key, sub in detail.items():
            name = "return" if key == "non_field_errors" else key
            if key == "values" and isinstance(sub, list) and any(isinstance(s, dict) for s in sub):
                for index, item in enumerate(sub):
                    if item:
                        problems.extend(_item_problems(item, f"values[{index}]"))
            elif key == "values" and isinstance(sub, dict):  # keyed by index
                for index, item in sub.items():
                    if str(index).isdigit():
                        problems.extend(_item_problems(item, f"values[{index}]"))
                    else:
                        problems.extend(Problem(where, key, str(m)) for m in _messages(item))
            else:
                problems.extend(Problem(where, name, str(message)) for message in _messages(sub))
    else:
        problems.extend(Problem(where, "return", str(message)) for message in _messages(detail))
    return problems


def _item_problems(item, where: str) -> list[Problem]:
    if isinstance(item, dict):
        return [
            Problem(where, "value" if key == "non_field_errors" else key, str(message))
            for key, sub in item.items()
            for message in _messages(sub)
        ]
    return [Problem(where, "value", str(message)) for message in _messages(item)]


def _messages(detail) -> list[str]:
    if isinstance(detail, list | tuple):
        return [m for part in detail for m in _messages(part)]
    if isinstance(detail, dict):
        return [m for part in detail.values() for m in _messages(part)]
    return [str(detail)]
