"""Forms for the KPI library, contract KPIs, returns and their review.

The return form only collects what the provider typed (as text) and turns it
into ``ReturnHeader`` / ``ValueRow`` for ``validation.validate`` — the one
validation shared with the spreadsheet upload and the API — then puts each
``Problem`` back on the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.conf import settings

from contracts.models import DeliverySite
from contracts.selectors import contracts_visible, providers_visible, service_types_visible
from oversight import formatting
from oversight.forms import ReasonMixin, USWDSMixin

from .models import (
    ContractKpi,
    Direction,
    Kpi,
    PhaseTarget,
    ReportingLevel,
    ReportingPeriod,
    Return,
    ReturnStatus,
)
from .selectors import DUE, LATE, MISSING, kpis_visible
from .terms import target_in_force
from .validation import Problem, ReturnHeader, ValueRow

# --- KPI library and contract KPIs --------------------------------------------


class KpiForm(USWDSMixin, ReasonMixin, forms.ModelForm):
    class Meta:
        model = Kpi
        fields = [
            "code",
            "name",
            "definition",
            "numerator",
            "denominator",
            "unit",
            "direction",
            "category",
            "reporting_level",
            "is_fidelity",
            "is_stress_indicator",
            "service_types",
        ]
        widgets = {"definition": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_types"].queryset = service_types_visible(membership=membership)
        self.fields[
            "service_types"
        ].help_text = "The service types whose contracts share this standard measure."
        self.membership = membership

    def validate_unique(self):
        # The tenant is set by the service; check the per-tenant code here so the
        # message lands on the field.
        code = self.cleaned_data.get("code")
        if code:
            clash = kpis_visible(membership=self.membership).filter(code__iexact=code)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("code", "A KPI with this code already exists.")


class ContractKpiForm(USWDSMixin, ReasonMixin, forms.ModelForm):
    """A KPI on a contract: its target, tolerance, weight and benchmarks."""

    class Meta:
        model = ContractKpi
        fields = [
            "kpi",
            "is_priority",
            "target",
            "amber_tolerance",
            "weight",
            "baseline",
            "peer_benchmark",
            "best_practice",
        ]
        labels = {"is_priority": "Priority measure (at most five per contract)"}

    def __init__(self, *args, membership, contract, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["kpi"]
        else:
            taken = ContractKpi.objects.filter(contract=contract).values("kpi_id")
            self.fields["kpi"].queryset = kpis_visible(membership=membership).exclude(pk__in=taken)
            self.fields["kpi"].label = "KPI from the library"
        self.fields[
            "target"
        ].help_text = "The mature target. Phase targets below apply in their months instead."
        self.fields[
            "amber_tolerance"
        ].help_text = (
            "How far on the wrong side of target still counts as amber rather than missed."
        )

    def validate_unique(self):
        pass  # the service checks the contract's KPIs and reports on the field


class PhaseTargetForm(USWDSMixin, forms.ModelForm):
    class Meta:
        model = PhaseTarget
        fields = ["phase", "from_month", "to_month", "target", "amber_tolerance"]
        labels = {"from_month": "From contract month", "to_month": "To contract month"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amber_tolerance"].required = False
        # Ids of hints and errors must be unique on a page of several phases.
        for name, fld in self.fields.items():
            if fld.help_text:
                fld.widget.attrs["aria-describedby"] = f"{self.add_prefix(name)}-hint"

    def clean_amber_tolerance(self):
        return self.cleaned_data.get("amber_tolerance") or Decimal(0)

    def has_changed(self) -> bool:
        """A blank extra row adds nothing, whatever its default tolerance."""
        if self.instance.pk:
            return super().has_changed()
        return any(
            (self.data.get(self.add_prefix(name)) or "").strip()
            for name in ("phase", "from_month", "to_month", "target")
        )

    def _mark_errors(self) -> None:
        for name in self._errors or {}:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "usa-input--error" not in attrs.get("class", ""):
                    attrs["class"] = (attrs.get("class", "") + " usa-input--error").strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self.add_prefix(name)}-error"


PhaseTargetFormSet = forms.modelformset_factory(
    PhaseTarget, form=PhaseTargetForm, extra=2, can_delete=True
)


# --- returns -----------------------------------------------------------------------


@dataclass
class ReturnLine:
    """One value the return asks for: a contract KPI, for the contract or a site."""

    contract_kpi: ContractKpi
    site: DeliverySite | None
    prefix: str
    target: Decimal | None
    amber: Decimal
    bound: dict = field(default_factory=dict)

    @property
    def kpi(self) -> Kpi:
        return self.contract_kpi.kpi

    @property
    def where(self) -> str:
        """How validation names this line in its messages (and how the form finds it)."""
        return f"{self.kpi.code} at {self.site.name}" if self.site else self.kpi.code

    @property
    def title(self) -> str:
        return f"{self.kpi.name}{' — ' + self.site.name if self.site else ''}"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "No target set."
        words = {
            Direction.HIGHER: "at least",
            Direction.LOWER: "at most",
        }.get(self.kpi.direction, "")
        unit = self.kpi.unit
        text = f"Target: {words} {formatting.number(self.target, unit)}".replace("  ", " ")
        if self.amber:
            text += f" (amber within {formatting.number(self.amber, unit)})"
        return text + "."

    @property
    def range_text(self) -> str:
        ck = self.contract_kpi
        if ck.expected_low is None and ck.expected_high is None:
            return ""
        # Shown inside what the unit can be: a count's range never starts below 0.
        shown = formatting.value_range(ck.expected_low, ck.expected_high, ck.kpi.unit)
        return f"Expected range: {shown}."

    @property
    def fields(self) -> list:
        return [
            self.bound[name] for name in ("value", "numerator", "denominator") if name in self.bound
        ]

    @property
    def explanation(self):
        return self.bound["variance_explanation"]


class ReturnForm(forms.Form):
    """A return for one period: a value per contract KPI (per site for a
    site-level KPI), numerator and denominator where the KPI is a ratio, a
    variance explanation per value, the narrative and "no activity"."""

    no_activity = forms.BooleanField(
        required=False,
        label="There was no activity in this period",
        help_text="Nothing was delivered, so there are no values. Say why in the narrative.",
    )
    narrative = forms.CharField(
        required=False,
        label="Overall narrative",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What happened in the period: pressures, changes, what you are doing about them.",
    )

    def __init__(
        self,
        data=None,
        *,
        period: ReportingPeriod,
        contract_kpis: list[ContractKpi],
        sites: list[DeliverySite],
        prefill: Return | None = None,
        on_behalf: bool = False,
    ):
        self.period = period
        self.on_behalf = on_behalf
        self.lines: list[ReturnLine] = []
        for ck in contract_kpis:
            target, amber = target_in_force(ck, period.start)
            targets = sites if ck.kpi.reporting_level == ReportingLevel.SITE else [None]
            for site in targets:
                prefix = f"k{ck.pk}" + (f"s{site.pk}" if site else "")
                self.lines.append(ReturnLine(ck, site, prefix, target, amber))
        initial = self._initial_from(prefill) if prefill is not None and data is None else None
        super().__init__(data, initial=initial)
        if on_behalf:
            self.fields["on_behalf_reason"] = on_behalf_reason_field(
                period.contract.provider.name, judged_later=True
            )
        for line in self.lines:
            kpi = line.kpi
            unit = kpi.get_unit_display().lower()
            specs = [("value", f"Value ({unit})")]
            if kpi.has_ratio:
                specs = [
                    ("numerator", f"Numerator: {kpi.numerator}"),
                    ("denominator", f"Denominator: {kpi.denominator}"),
                    ("value", f"Value ({unit}), worked out if left empty"),
                ]
            for name, label in specs:
                self.fields[f"{line.prefix}-{name}"] = forms.CharField(
                    required=False,
                    label=label,
                    max_length=40,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                )
            self.fields[f"{line.prefix}-variance_explanation"] = forms.CharField(
                required=False,
                label="Variance explanation",
                help_text="Needed if the value misses its target or is outside its expected range.",
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self._style_fields()
        for line in self.lines:
            line.bound = {
                name.split("-", 1)[1]: self[name]
                for name in self.fields
                if name.startswith(line.prefix + "-")
            }

    # Not USWDSMixin: it reads self.errors in __init__, before the value
    # fields exist. USWDS classes and error attributes are set here instead.
    def _style_fields(self) -> None:
        for name, fld in self.fields.items():
            widget = fld.widget
            css = "usa-textarea" if isinstance(widget, forms.Textarea) else "usa-input"
            if isinstance(widget, forms.CheckboxInput):
                css = "usa-checkbox__input"
            widget.attrs["class"] = css
            if fld.help_text:
                widget.attrs["aria-describedby"] = f"{name}-hint"

    def full_clean(self) -> None:
        super().full_clean()
        self._mark_errors()

    def _initial_from(self, ret: Return) -> dict:
        initial = {"narrative": ret.narrative, "no_activity": ret.no_activity}
        by_key = {(v.contract_kpi_id, v.site_id): v for v in ret.values.all()}
        for line in self.lines:
            value = by_key.get((line.contract_kpi.pk, line.site.pk if line.site else None))
            if value is None:
                continue
            initial[f"{line.prefix}-value"] = formatting.plain(value.value)
            initial[f"{line.prefix}-numerator"] = formatting.plain(value.numerator)
            initial[f"{line.prefix}-denominator"] = formatting.plain(value.denominator)
            initial[f"{line.prefix}-variance_explanation"] = value.variance_explanation
        return initial

    def validation_input(self) -> tuple[ReturnHeader, list[ValueRow]]:
        """What the provider typed, as the one validation takes it. With "no
        activity", empty lines are left out (a line with a value is kept, so
        validation can say it should not be there)."""
        data = self.cleaned_data
        contract = self.period.contract
        header = ReturnHeader(
            contract_ref=contract.reference,
            period=self.period.label,
            narrative=data.get("narrative", ""),
            no_activity=bool(data.get("no_activity")),
            where="return",
        )
        rows = []
        for line in self.lines:
            raw = {
                name: (data.get(f"{line.prefix}-{name}") or "").strip()
                for name in ("value", "numerator", "denominator", "variance_explanation")
            }
            if header.no_activity and not any(raw.values()):
                continue
            rows.append(
                ValueRow(
                    where=line.where,
                    contract_ref=contract.reference,
                    period=self.period.label,
                    kpi_code=line.kpi.code,
                    site=line.site.name if line.site else "",
                    value=raw["value"] or None,
                    numerator=raw["numerator"] or None,
                    denominator=raw["denominator"] or None,
                    variance_explanation=raw["variance_explanation"],
                )
            )
        return header, rows

    def has_on_behalf_reason(self) -> bool:
        """True unless the form is entered on the provider's behalf without a
        reason (then the field says so). Checked after the figures are
        validated, so that every problem is shown at once."""
        if not self.on_behalf or self.cleaned_data.get("on_behalf_reason", "").strip():
            return True
        self.add_error("on_behalf_reason", ON_BEHALF_REASON_MISSING)
        self._mark_errors()
        return False

    def apply_problems(self, problems: list[Problem]) -> None:
        """Put each problem on the field it names; what names no field goes on top."""
        by_where = {line.where: line for line in self.lines}
        for problem in problems:
            line = by_where.get(problem.where)
            if line is not None:
                name = f"{line.prefix}-{problem.field}"
                if name not in self.fields:
                    name = f"{line.prefix}-value"
                self.add_error(name, problem.message)
            elif problem.where == "return" and problem.field in ("narrative", "no_activity"):
                self.add_error(problem.field, problem.message)
            else:
                self.add_error(None, problem.message)
        self._mark_errors()

    def _mark_errors(self) -> None:
        for name in self._errors or {}:
            if name in self.fields:
                fld = self.fields[name]
                attrs = fld.widget.attrs
                if "usa-input--error" not in attrs.get("class", ""):
                    attrs["class"] += " usa-input--error"
                attrs["aria-invalid"] = "true"
                hint = f"{name}-hint " if fld.help_text else ""
                attrs["aria-describedby"] = f"{hint}{name}-error"

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, what, message) for every error, in page order."""
        titles = {}
        for line in self.lines:
            for name in self.fields:
                if name.startswith(line.prefix + "-"):
                    titles[name] = f"{line.title}, {self.fields[name].label.split(',')[0]}"
        items = [("", "", str(e)) for e in self.non_field_errors()]
        for name in self.fields:
            for error in self.errors.get(name, []):
                what = titles.get(name, self.fields[name].label)
                items.append((self[name].id_for_label, what, error))
        return items


ON_BEHALF_REASON_MISSING = "Say why you are entering this on the provider's behalf."


class _ReasonLaterField(forms.CharField):
    """Required, but judged by the form after the figures (``has_on_behalf_reason``)
    so that a missing reason and the figures' problems are shown together."""

    def validate(self, value):
        pass


def on_behalf_reason_field(provider_name: str, *, judged_later: bool = False) -> forms.CharField:
    """The reason asked of anyone entering a return for a provider (issue 7)."""
    return (_ReasonLaterField if judged_later else forms.CharField)(
        label=f"Why are you entering this for {provider_name}?",
        max_length=2000,
        help_text="You are entering it on the provider's behalf. The reason is recorded and "
        "shown wherever the return appears, and someone else must accept or query it.",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": ON_BEHALF_REASON_MISSING},
    )


class ReviewForm(USWDSMixin, forms.Form):
    comment = forms.CharField(
        required=False,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to query the return: say what the provider must correct.",
    )


class UploadForm(USWDSMixin, forms.Form):
    file = forms.FileField(
        label="Spreadsheet (CSV or XLSX)",
        help_text=(
            f"Up to {settings.MAX_UPLOAD_MB} MB, with the template's columns. "
            "Any error rejects the whole file."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.xlsm,.tsv,.txt"}),
    )

    def __init__(self, *args, on_behalf_of: str | None = None, **kwargs):
        """``on_behalf_of``: the provider (or "the providers") the returns are
        entered for, when the uploader is not the provider: a reason is asked."""
        if on_behalf_of:
            self.base_fields = {
                **self.base_fields,
                "on_behalf_reason": on_behalf_reason_field(on_behalf_of),
            }
        super().__init__(*args, **kwargs)


# --- list filters ------------------------------------------------------------------

ATTENTION = "attention"
STATE_CHOICES = [
    (ATTENTION, "Needs attention (due, late, missing, awaiting review)"),
    ("", "All states"),
    (DUE, "Due"),
    (LATE, "Late"),
    (MISSING, "Missing"),
    (ReturnStatus.SUBMITTED, "Submitted, awaiting review"),
    (ReturnStatus.QUERIED, "Queried"),
    (ReturnStatus.ACCEPTED, "Accepted"),
]


class ReturnFilterForm(USWDSMixin, forms.Form):
    state = forms.ChoiceField(choices=STATE_CHOICES, required=False, initial=ATTENTION)
    provider = forms.ModelChoiceField(queryset=None, required=False, empty_label="All providers")
    contract = forms.ModelChoiceField(queryset=None, required=False, empty_label="All contracts")

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers_visible(membership=membership).order_by("name")
        contracts = contracts_visible(membership=membership).order_by("reference")
        self.fields["contract"].queryset = contracts
        self.fields["contract"].label_from_instance = lambda c: c.reference

    def values(self) -> dict:
        if not self.is_bound:
            return {"state": ATTENTION, "provider": None, "contract": None}
        if not self.is_valid():
            return {"state": ATTENTION, "provider": None, "contract": None}
        return self.cleaned_data


class AcknowledgeForm(USWDSMixin, forms.Form):
    note = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you have done or decided about this signal (it is kept in its history).",
        error_messages={"required": "Write a note: say what you have done or decided."},
    )
