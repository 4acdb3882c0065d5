"""Page forms of improvement plans. Choices come from the contract (its KPIs
through performance.exports, its steps through the selectors); the services
in escalation/plans.py validate everything again, with the messages shown."""

from __future__ import annotations

from django import forms

from oversight.forms import DateInput, ReasonMixin, USWDSMixin
from performance import exports

from .models import SETTLING_PERIODS_MAX, TEXT_MAX, ControlKind, StepStatus
from .plans import ActionInput, CheckInput, ControlInput


def _text(label: str, help_text: str = "", *, required: bool = False, rows: int = 3):
    return forms.CharField(
        label=label,
        required=required,  # the service says why it is needed
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _kpi_field() -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        label="KPIs it is expected to move",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )


class _ActionFields(forms.Form):
    description = _text("Action", "What will be done.")
    lead = forms.CharField(
        label="Accountable lead",
        required=False,
        max_length=200,
        help_text="The named person who answers for it.",
    )
    milestone = forms.CharField(label="Milestone", required=False, max_length=200)
    due_on = forms.DateField(label="Due date", required=False, widget=DateInput())
    evidence_expected = _text("Evidence that will show it is done", rows=2)
    contract_kpis = _kpi_field()

    def action_input(self) -> ActionInput:
        data = self.cleaned_data
        return ActionInput(
            description=data.get("description", ""),
            lead=data.get("lead", ""),
            milestone=data.get("milestone", ""),
            due_on=data.get("due_on"),
            evidence_expected=data.get("evidence_expected", ""),
            contract_kpis=tuple(data.get("contract_kpis") or ()),
        )


def _kpi_choices(membership, contract) -> list[tuple[int, str]]:
    return exports.contract_kpi_choices(membership=membership, contract=contract)


class PlanForm(USWDSMixin, ReasonMixin, _ActionFields):
    """A new plan: the issue, symptoms and root causes apart, the settling
    time, controls one per line, and (optionally) its first action."""

    reason_default = "Improvement plan opened"
    issue_statement = _text("Issue statement", "The problem the plan addresses.")
    symptoms = _text("Symptoms", "What is seen that shows the problem (the measures, the events).")
    root_causes = _text(
        "Root causes", "Why the problem happens, one cause per line (not what is seen).", rows=4
    )
    settling_periods = forms.IntegerField(
        label="Settling time (reporting periods)",
        min_value=1,
        max_value=SETTLING_PERIODS_MAX,
        initial=3,
        help_text="After an action is verified, how many periods before its KPIs should move.",
    )
    step = forms.TypedChoiceField(
        label="Escalation step it answers (optional)", required=False, coerce=int, empty_value=None
    )
    safeguarding_controls = _text(
        "Safeguarding controls", "What must stay in place during recovery, one per line.", rows=2
    )
    continuity_controls = _text(
        "Continuity controls", "What keeps people's care going meanwhile, one per line.", rows=2
    )

    field_order = [
        "issue_statement",
        "symptoms",
        "root_causes",
        "settling_periods",
        "step",
        "safeguarding_controls",
        "continuity_controls",
        "description",
        "lead",
        "milestone",
        "due_on",
        "evidence_expected",
        "contract_kpis",
        "reason",
    ]

    def __init__(self, *args, membership, contract, steps, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.fields["description"].label = "First action (optional)"
        self.fields["contract_kpis"].choices = _kpi_choices(membership, contract)
        self.fields["step"].choices = [("", "None")] + [
            (s.pk, f"Level {s.from_level} → {s.to_level}, {s.proposed_at:%d %b %Y}")
            for s in steps
            if s.status == StepStatus.EFFECTIVE
        ]
        if not self.fields["contract_kpis"].choices:
            del self.fields["contract_kpis"]

    def service_kwargs(self, steps_by_pk: dict) -> dict:
        data = self.cleaned_data
        action = self.action_input()
        has_action = any(
            [
                action.description,
                action.lead,
                action.milestone,
                action.due_on,
                action.evidence_expected,
            ]
        )
        controls = [
            ControlInput(kind=ControlKind.SAFEGUARDING, description=line)
            for line in _lines(data.get("safeguarding_controls"))
        ] + [
            ControlInput(kind=ControlKind.CONTINUITY, description=line)
            for line in _lines(data.get("continuity_controls"))
        ]
        return {
            "issue_statement": data.get("issue_statement", ""),
            "symptoms": data.get("symptoms", ""),
            "root_causes": _lines(data.get("root_causes")),
            "settling_periods": data.get("settling_periods"),
            "step": steps_by_pk.get(data.get("step")),
            "actions": [action] if has_action else [],
            "controls": controls,
        }


class ActionForm(USWDSMixin, ReasonMixin, _ActionFields):
    reason_default = "Action added to the plan"

    def __init__(self, *args, membership, contract, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.fields["contract_kpis"].choices = _kpi_choices(membership, contract)
        if not self.fields["contract_kpis"].choices:
            del self.fields["contract_kpis"]


class ControlForm(USWDSMixin, ReasonMixin, forms.Form):
    reason_default = "Control added to the plan"
    kind = forms.ChoiceField(label="Kind of control", choices=ControlKind.choices)
    description = _text("What must stay in place")

    def __init__(self, *args, membership, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership

    def control_input(self) -> ControlInput:
        return ControlInput(
            kind=self.cleaned_data["kind"], description=self.cleaned_data.get("description", "")
        )


IN_PLACE_CHOICES = [("yes", "In place"), ("no", "Not in place")]


class ReviewForm(USWDSMixin, ReasonMixin, forms.Form):
    """A review: the date, what it found, and each control in place or not
    (fields ``control_<id>`` and ``control_<id>_note``)."""

    reason_default = "Plan reviewed"
    held_on = forms.DateField(label="Review date", required=False, widget=DateInput())
    note = _text("What the review found")

    def __init__(self, *args, membership, controls, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.controls = list(controls)
        reason = self.fields.pop("reason")
        for control in self.controls:
            self.fields[f"control_{control.pk}"] = forms.ChoiceField(
                label=f"{control.get_kind_display()}: {control.description}",
                choices=IN_PLACE_CHOICES,
                required=False,  # the service names every control left unconfirmed
                widget=forms.RadioSelect,
            )
            self.fields[f"control_{control.pk}_note"] = forms.CharField(
                label="Note",
                required=False,
                max_length=TEXT_MAX,
                widget=forms.Textarea(attrs={"rows": 2, "class": "usa-textarea"}),
                help_text="Required when it is not in place: what is missing, what is done.",
            )
        self.fields["reason"] = reason

    def control_rows(self):
        return [(c, self[f"control_{c.pk}"], self[f"control_{c.pk}_note"]) for c in self.controls]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        checks = {}
        for control in self.controls:
            answer = data.get(f"control_{control.pk}") or ""
            checks[control.pk] = CheckInput(
                in_place={"yes": True, "no": False}.get(answer),
                note=data.get(f"control_{control.pk}_note", ""),
            )
        return {"held_on": data.get("held_on"), "note": data.get("note", ""), "checks": checks}


class DoneForm(USWDSMixin, forms.Form):
    completion_evidence = _text(
        "Evidence that it is done", "What shows the action done; the commissioner verifies it."
    )


class VerifyForm(USWDSMixin, forms.Form):
    note = _text("Verification note (optional)", rows=2)


class ReopenForm(USWDSMixin, forms.Form):
    reopen_reason = _text(
        "Why it goes back to open", "What the evidence lacks; the provider reads it.", rows=2
    )


class AgreeForm(USWDSMixin, forms.Form):
    note = _text("Note (optional)", rows=2)


class CloseForm(USWDSMixin, forms.Form):
    close_note = _text("Why the plan is closed", rows=2)
