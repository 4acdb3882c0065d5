"""Page forms of variations. The services (variations/services.py) check
everything again and their messages are shown on the fields they name."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from oversight.forms import DateInput, ReasonMixin, USWDSMixin
from performance import exports

from .models import ChangeField, VariationKind
from .services import Assessment, ChangeInput

CHANGE_ROWS = 5  # rows of changes on the page (the API takes up to CHANGES_MAX)


def _text(label: str, help_text: str = "", rows: int = 3, required: bool = False):
    return forms.CharField(
        label=label,
        required=required,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class VariationForm(USWDSMixin, ReasonMixin, forms.Form):
    """A variation's words, date and up to CHANGE_ROWS changes, each as four
    fields (``change_<n>_field``, ``_kpi``, ``_value``, ``_detail``) so that every
    field has its own id and label."""

    reason_default = "Variation proposed"

    kind = forms.ChoiceField(label="Kind of variation", choices=VariationKind.choices)
    title = forms.CharField(label="Title", max_length=200, required=False)
    rationale = _text("Rationale", "Why the contract should change.", rows=4)
    effective_on = forms.DateField(
        label="Effective date", required=False, widget=DateInput(),
        help_text="The changes apply from this day (KPI targets from the period starting then).",
    )  # fmt: skip
    changes = forms.CharField(required=False, widget=forms.HiddenInput)  # the service's messages

    def __init__(self, *args, membership, contract, **kwargs):
        super().__init__(*args, **kwargs)
        kpi_choices = [("", "(not a KPI change)")] + [
            (str(pk), name)
            for pk, name in exports.contract_kpi_choices(membership=membership, contract=contract)
        ]
        field_choices = [("", "(no change)")] + list(ChangeField.choices)
        for n in range(1, CHANGE_ROWS + 1):
            self.fields[f"change_{n}_field"] = forms.ChoiceField(
                label=f"Change {n}: what changes", choices=field_choices, required=False
            )
            self.fields[f"change_{n}_kpi"] = forms.ChoiceField(
                label=f"Change {n}: KPI", choices=kpi_choices, required=False,
                help_text="For a KPI's target or a re-base of its control limits.",
            )  # fmt: skip
            self.fields[f"change_{n}_value"] = forms.CharField(
                label=f"Change {n}: new value", required=False, max_length=2000,
                help_text="An amount (1250000), a date (2027-03-31), a payment model's code, a "
                "target, a site's name; protected components one per line.",
            )  # fmt: skip
            self.fields[f"change_{n}_detail"] = forms.CharField(
                label=f"Change {n}: detail", required=False, max_length=300,
                help_text="A target's amber tolerance, or the area a new site serves.",
            )  # fmt: skip
        self.order_fields(["kind", "title", "rationale", "effective_on"])

    def change_rows(self) -> list[list]:
        """The bound fields of each change row, for the template."""
        return [
            [self[f"change_{n}_{part}"] for part in ("field", "kpi", "value", "detail")]
            for n in range(1, CHANGE_ROWS + 1)
        ]

    def head_fields(self) -> list:
        return [self[name] for name in ("kind", "title", "rationale", "effective_on")]

    def change_inputs(self) -> list[ChangeInput]:
        data = self.cleaned_data
        rows = []
        for n in range(1, CHANGE_ROWS + 1):
            field = data.get(f"change_{n}_field") or ""
            if not field:
                continue
            kpi = data.get(f"change_{n}_kpi") or ""
            rows.append(
                ChangeInput(
                    field=field,
                    contract_kpi=int(kpi) if kpi else None,
                    value=data.get(f"change_{n}_value") or "",
                    detail=data.get(f"change_{n}_detail") or "",
                )
            )
        return rows


class AssessmentForm(USWDSMixin, ReasonMixin, forms.Form):
    reason_default = "Impact assessed"

    cost_per_year = forms.DecimalField(
        label="Cost a year", required=False, max_digits=14, decimal_places=2,
        help_text="In the tenant's currency; 0 for none, negative for a saving.",
    )  # fmt: skip
    cost_total = forms.DecimalField(
        label="Total cost", required=False, max_digits=14, decimal_places=2,
        help_text="Over the contract's remaining term.",
    )  # fmt: skip
    quality_impact = _text("Impact on quality")
    outcomes_impact = _text("Impact on outcomes")
    risk_impact = _text("Impact on risk")
    protected_components = forms.MultipleChoiceField(
        label="Protected core components it touches",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, components=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protected_components"].choices = [(c, c) for c in components]

    def assessment(self) -> Assessment:
        data = self.cleaned_data
        return Assessment(
            cost_per_year=data.get("cost_per_year"),
            cost_total=data.get("cost_total"),
            quality_impact=data.get("quality_impact", ""),
            outcomes_impact=data.get("outcomes_impact", ""),
            risk_impact=data.get("risk_impact", ""),
            protected_components=tuple(data.get("protected_components") or ()),
        )


class NoteForm(USWDSMixin, forms.Form):
    note = _text("Note", rows=2)


class DecisionForm(USWDSMixin, forms.Form):
    decision_note = _text("Decision note", "Required to reject; recorded with the decision.", 2)


class TermsDateForm(USWDSMixin, forms.Form):
    as_at = forms.DateField(label="Terms as at", widget=DateInput())


class PolicyForm(USWDSMixin, ReasonMixin, forms.Form):
    reason_default = "Approval rules changed"

    executive_above = forms.DecimalField(
        label="Executive approval above (total cost)", min_value=Decimal("0"),
        max_digits=14, decimal_places=2,
    )  # fmt: skip
    executive_for_protected = forms.BooleanField(
        label="Executive approval when a protected core component is touched", required=False
    )
    executive_kinds = forms.MultipleChoiceField(
        label="Kinds that always need an executive",
        choices=VariationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
