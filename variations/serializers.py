"""API shapes of variations and of a contract's terms. Input serializers
refuse unknown fields and leave the rules to variations/services.py, whose
messages name the field."""

from rest_framework import serializers

from oversight.serializers import StrictSerializer

from .models import ChangeField, Variation, VariationChange, VariationKind
from .services import CHANGES_MAX


def _person(user) -> str | None:
    return (user.full_name or user.email) if user else None


class ChangeSerializer(serializers.ModelSerializer):
    kpi_code = serializers.CharField(source="contract_kpi.kpi.code", default=None, read_only=True)

    class Meta:
        model = VariationChange
        fields = ["field", "contract_kpi", "kpi_code", "value", "detail", "previous"]
        read_only_fields = fields


class VariationSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    changes = ChangeSerializer(many=True, read_only=True)
    proposed_by = serializers.SerializerMethodField()
    assessment = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()

    class Meta:
        model = Variation
        fields = [
            "id", "reference", "contract", "contract_reference", "kind", "title", "rationale",
            "effective_on", "status", "proposed_by", "proposer_role", "created_at",
            "submitted_at", "changes", "assessment", "decision", "applied_at", "apply_problem",
        ]  # fmt: skip
        read_only_fields = fields

    def get_proposed_by(self, v) -> str | None:
        return _person(v.proposed_by)

    def get_assessment(self, v) -> dict | None:
        if v.assessed_at is None:
            return None
        return {
            "cost_per_year": None if v.cost_per_year is None else str(v.cost_per_year),
            "cost_total": None if v.cost_total is None else str(v.cost_total),
            "quality_impact": v.quality_impact,
            "outcomes_impact": v.outcomes_impact,
            "risk_impact": v.risk_impact,
            "protected_components": v.protected_components,
            "assessed_by": _person(v.assessed_by),
            "assessed_at": v.assessed_at,
            "needs_executive": v.needs_executive,
            "approval_rule": v.approval_rule,
        }

    def get_decision(self, v) -> dict | None:
        if v.decided_by_id is None:
            return None
        return {
            "decided_by": _person(v.decided_by),
            "approved_at": v.approved_at,
            "rejected_at": v.rejected_at,
            "note": v.decision_note,
        }


class ChangeInputSerializer(StrictSerializer):
    field = serializers.ChoiceField(choices=ChangeField.choices)
    contract_kpi = serializers.IntegerField(required=False, allow_null=True)
    value = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    detail = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ProposeSerializer(StrictSerializer):
    contract = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=VariationKind.choices)
    title = serializers.CharField(max_length=200)
    rationale = serializers.CharField(max_length=4000)
    effective_on = serializers.DateField()
    changes = ChangeInputSerializer(many=True, max_length=CHANGES_MAX)
    submit = serializers.BooleanField(required=False, default=False)


class AssessSerializer(StrictSerializer):
    cost_per_year = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    quality_impact = serializers.CharField(max_length=4000)
    outcomes_impact = serializers.CharField(max_length=4000)
    risk_impact = serializers.CharField(max_length=4000)
    protected_components = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, default=list
    )


class VariationNoteSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class TermsSerializer(serializers.Serializer):
    """A contract's terms in force on ``as_at`` (variations/terms.py)."""

    def to_representation(self, terms):
        v = terms.values
        return {
            "contract": terms.contract.pk,
            "reference": v["reference"],
            "as_at": terms.as_at.isoformat(),
            "status": v["status"],
            "start_date": v["start_date"],
            "end_date": v["end_date"],
            "latest_end_date": v["latest_end_date"],
            "annual_value": None if v["annual_value"] is None else str(v["annual_value"]),
            "total_value": None if v["total_value"] is None else str(v["total_value"]),
            "currency": v["currency"],
            "payment_model": v["payment_model"],
            "payment_at_risk_pct": None
            if v["payment_at_risk_pct"] is None
            else str(v["payment_at_risk_pct"]),
            "reporting_frequency": v["reporting_frequency"],
            "protected_core_components": v["protected_core_components"],
            "sites": terms.sites,
            "kpi_targets": [
                {
                    "contract_kpi": k["contract_kpi_id"],
                    "code": k["code"],
                    "name": k["name"],
                    "target": None if k["target"] is None else str(k["target"]),
                    "amber_tolerance": str(k["amber_tolerance"]),
                    "rebased_from": k["rebased_from"],
                }
                for k in terms.kpis
            ],
            "variations": [
                {"id": x.pk, "reference": x.reference, "effective_on": x.effective_on}
                for x in terms.variations
            ],
        }
