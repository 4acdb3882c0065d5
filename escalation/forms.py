"""Page forms of the escalation app. Choices come from the tenant's own rows
(the contract's signals and returns, the ladder's levels); the services
validate everything again."""

from django import forms
from django.apps import apps

from contracts.models import Frequency
from oversight.forms import DateInput, USWDSMixin

from .ladder import EDITABLE_FIELDS
from .models import TEXT_MAX, EvidenceKind, LadderStage
from .services import EvidenceItem


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def contract_rows(model_name: str, contract):
    """A contract's signals or returns, by app label (escalation does not import
    performance): the tenant's and the contract's own rows only."""
    model = apps.get_model("performance", model_name)
    return model._default_manager.filter(tenant_id=contract.tenant_id, contract_id=contract.pk)


def _text(label: str, help_text: str, *, required: bool = True, rows: int = 2):
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


def _picks(label: str):
    return forms.TypedMultipleChoiceField(
        label=label, required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )


class StepProposeForm(USWDSMixin, forms.Form):
    to_level = forms.TypedChoiceField(label="Move to level", coerce=int)
    reason = _text(
        "Reason for this step",
        "Recorded on the step and in the history with your name and the time.",
        rows=3,
    )
    proportionality_note = _text(
        "Proportionality", "Why this step and not a smaller or a larger one.", rows=3
    )
    justification = _text(
        "Justification for moving more than one level",
        "Required when the step skips a level.",
        required=False,
    )
    recovery_evidence = _text(
        "Evidence of recovery",
        "Required to de-escalate: what shows the provider has recovered.",
        required=False,
    )
    next_review_on = forms.DateField(label="Next review date", widget=DateInput())
    signals = _picks("Signals")
    returns = _picks("Returns")
    missed_actions = _text("Missed actions", "One per line.", required=False)
    incidents = _text("Incidents", "One per line.", required=False)
    provider_concerns = _text("Provider concerns", "One per line.", required=False)

    TEXT_EVIDENCE = {
        "missed_actions": EvidenceKind.MISSED_ACTION,
        "incidents": EvidenceKind.INCIDENT,
        "provider_concerns": EvidenceKind.PROVIDER_CONCERN,
    }

    def __init__(self, *args, contract, stages, level: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_level"].choices = [
            (s.level, f"{s.level}: {s.name}") for s in stages if s.level != level
        ]
        self.fields["signals"].choices = [
            (s.pk, s.message) for s in contract_rows("Signal", contract).order_by("-opened_at")
        ]
        self.fields["returns"].choices = [
            (r.pk, f"{r.period} version {r.version} ({r.get_status_display().lower()})")
            for r in contract_rows("Return", contract)
            .select_related("period")
            .order_by("-period__start", "-version")[:24]
        ]
        for name in ("signals", "returns"):
            self.fields[name].widget.attrs["class"] = "usa-checkbox__input"
            if not self.fields[name].choices:
                del self.fields[name]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        evidence = [
            EvidenceItem(kind=EvidenceKind.SIGNAL, object_id=pk) for pk in data.get("signals", [])
        ]
        evidence += [
            EvidenceItem(kind=EvidenceKind.RETURN, object_id=pk) for pk in data.get("returns", [])
        ]
        for name, kind in self.TEXT_EVIDENCE.items():
            evidence += [EvidenceItem(kind=kind, text=line) for line in _lines(data.get(name))]
        return {
            "to_level": data["to_level"],
            "reason": data["reason"],
            "proportionality_note": data["proportionality_note"],
            "justification": data["justification"],
            "recovery_evidence": data["recovery_evidence"],
            "next_review_on": data["next_review_on"],
            "evidence": evidence,
        }


class DecisionForm(forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "class": "usa-textarea"}),
    )


class LadderAdoptForm(USWDSMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for adopting the ladder",
        max_length=500,
        initial="Adopted the default ladder to edit it",
        help_text="Recorded as version 1's note, with your name and the time.",
    )


class PresetAdoptForm(USWDSMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for adopting this preset",
        max_length=500,
        help_text="Recorded as the new version's note, with your name and the time.",
    )

    def __init__(self, *args, preset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].initial = f"Adopted the {preset.name} preset"


class LadderReviseForm(USWDSMixin, forms.Form):
    """Every stage of a ladder version as fields ``level_<n>_<field>``, and the
    reason for the new version."""

    reason = forms.CharField(
        label="Reason for this change",
        max_length=500,
        help_text="Recorded as the new version's note, with your name and the time.",
    )

    def __init__(self, *args, stages: list[LadderStage], **kwargs):
        super().__init__(*args, **kwargs)
        self.stages = stages
        reason = self.fields.pop("reason")
        for stage in stages:
            prefix = f"level_{stage.level}_"
            for name in EDITABLE_FIELDS:
                model_field = LadderStage._meta.get_field(name)
                if name == "reporting_frequency":
                    field = forms.ChoiceField(choices=Frequency.choices)
                elif name == "description":
                    field = forms.CharField(
                        required=False,
                        max_length=TEXT_MAX,
                        widget=forms.Textarea(attrs={"rows": 2}),
                    )
                else:
                    field = model_field.formfield()
                field.label = str(model_field.verbose_name).capitalize()
                field.initial = getattr(stage, name)
                self.fields[prefix + name] = field
        self.fields["reason"] = reason
        # USWDS classes for the fields added after the mixin styled the others.
        for field in self.fields.values():
            widget = field.widget
            if not widget.attrs.get("class"):
                widget.attrs["class"] = {
                    forms.Select: "usa-select",
                    forms.Textarea: "usa-textarea",
                    forms.CheckboxInput: "usa-checkbox__input",
                }.get(type(widget), "usa-input")

    def stage_fields(self):
        """(stage, [bound fields]) per level, for the template."""
        return [
            (stage, [self[f"level_{stage.level}_{name}"] for name in EDITABLE_FIELDS])
            for stage in self.stages
        ]

    def changes(self) -> dict[int, dict]:
        data = self.cleaned_data
        return {
            stage.level: {name: data.get(f"level_{stage.level}_{name}") for name in EDITABLE_FIELDS}
            for stage in self.stages
        }
