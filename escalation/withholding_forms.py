"""Page forms of the withholding ledger. Choices are the contract's own rows
(its notices, steps in effect and signals still open); the services in
escalation/withholdings.py validate everything again."""

from __future__ import annotations

import re
import uuid
from datetime import date

from django import forms

from oversight import clock, formatting
from oversight.forms import ReasonMixin, USWDSMixin

from .forms import contract_rows
from .models import (
    TEXT_MAX,
    ActionStatus,
    EscalationStep,
    FormalNotice,
    PlanAction,
    StepStatus,
)

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s*$")


def parse_month(value) -> date | None:
    """``2026-11`` (a month input's value) or ``2026-11-01``: the month's first
    day; None for anything else."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH.match(str(value or ""))
    if not match:
        return None
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return date(year, month, day).replace(day=1)
    except ValueError:
        return None


class MonthInput(forms.TextInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, date):
            return value.strftime("%Y-%m")
        return super().format_value(value)


class MonthField(forms.Field):
    widget = MonthInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError("Give a month as YYYY-MM, e.g. 2026-11.")
        return month


def _note(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,  # the service says why it is needed
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


class WithholdingForm(USWDSMixin, ReasonMixin, forms.Form):
    reason_default = "Payment withheld under the contract's remedy"

    period = MonthField(
        label="Payment period (month)",
        required=False,
        help_text="The month whose payment the money is withheld from, e.g. 2026-11.",
    )
    amount = forms.DecimalField(
        label="Amount withheld",
        required=False,
        max_digits=14,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    ground = forms.CharField(
        label="Failure or milestone it is tied to",
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What must happen for the money to be released, in words.",
    )
    tied = forms.ChoiceField(
        label="Tied to (optional)",
        required=False,
        help_text="The notice, step or signal whose milestone releases the money.",
    )
    step = forms.TypedChoiceField(
        label="Authorised by the escalation step (optional)",
        required=False,
        coerce=int,
        empty_value=None,
    )
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    field_order = ["period", "amount", "ground", "tied", "step", "reason", "request_key"]

    def __init__(self, *args, membership, contract, instance=None, **kwargs):
        self.membership = membership
        super().__init__(*args, **kwargs)
        self.fields["amount"].label = f"Amount withheld ({membership.tenant.currency})"
        if not self.is_bound:
            # A new key each time the form is shown: sending it again finds the
            # withholding it made (withholdings.withholding_record).
            self.initial.setdefault("request_key", uuid.uuid4().hex)
            self.initial.setdefault("period", clock.tenant_today(membership.tenant).replace(day=1))
        notices = FormalNotice.objects.filter(
            tenant_id=contract.tenant_id, contract_id=contract.pk
        ).order_by("-issued_at", "-id")
        steps = list(
            EscalationStep.objects.filter(
                tenant_id=contract.tenant_id, contract_id=contract.pk, status=StepStatus.EFFECTIVE
            )
            .select_related("stage")
            .order_by("-effective_at", "-id")
        )
        signals = contract_rows("Signal", contract).exclude(status="closed").order_by("-opened_at")
        # The plan milestones still to be met (the NHS procedure repays the
        # withheld sums when they are).
        actions = (
            PlanAction.objects.filter(tenant_id=contract.tenant_id, plan__contract_id=contract.pk)
            .exclude(status=ActionStatus.VERIFIED)
            .order_by("due_on", "id")
        )
        choices = [("", "Nothing: the failure described above")]
        choices += [
            (
                f"formal_notice:{n.pk}",
                f"Notice {n.pk}, issued {formatting.date(n.issued_at)} "
                f"({n.get_status_display().lower()})",
            )
            for n in notices
        ]
        choices += [
            (f"escalation_step:{s.pk}", f"Step {s.pk}: level {s.from_level} → {s.to_level}")
            for s in steps
        ]
        choices += [
            (f"signal:{s.pk}", f"Signal: {formatting.shorten(s.message, 80)}") for s in signals
        ]
        choices += [
            (
                f"plan_action:{a.pk}",
                f"Plan milestone: {formatting.shorten(a.milestone, 80)} "
                f"(due {formatting.date(a.due_on)})",
            )
            for a in actions
        ]
        self.fields["tied"].choices = choices
        self.fields["step"].choices = [("", "None")] + [
            (s.pk, f"Step {s.pk}: level {s.from_level} → {s.to_level} ({s.stage.name})")
            for s in steps
        ]

    def clean(self):
        data = super().clean()
        kind, _, pk = (data.pop("tied", "") or "").partition(":")
        data["tied_kind"] = kind
        data["tied_id"] = int(pk) if pk.isdigit() else None
        data["step_id"] = data.pop("step", None)
        return data


class WithholdingReleaseForm(USWDSMixin, forms.Form):
    release_note = _note(
        "How the milestone was met", "Recorded with your name and the time; the provider reads it."
    )


class WithholdingRetainForm(USWDSMixin, forms.Form):
    retain_note = _note(
        "Why the money is retained",
        "Which milestone was not met; recorded with your name and the time.",
    )
