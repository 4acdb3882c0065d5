"""Page forms for supportive measures, provider concerns and frontline reports.
Choices come from the selectors (the tenant's own providers, contracts and
members); the services in escalation/support.py validate everything again."""

from django import forms
from django.db.models import Q

from contracts.selectors import contracts_visible, providers_visible
from oversight.forms import DateInput, ReasonMixin, USWDSMixin
from oversight.models import Role, User

from .models import TEXT_MAX, FrontlineReport, ProviderConcern, SupportiveMeasure


def _rows(n: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": n})


class _MemberForm(USWDSMixin, ReasonMixin, forms.ModelForm):
    def __init__(self, *args, membership, **kwargs):
        self.membership = membership
        super().__init__(*args, **kwargs)


class MeasureForm(_MemberForm):
    reason_default = "Support offered to help the provider recover"

    class Meta:
        model = SupportiveMeasure
        fields = ["kind", "description", "owner", "starts_on", "review_on", "recovery_expectation"]
        widgets = {
            "description": _rows(3),
            "recovery_expectation": _rows(3),
            "starts_on": DateInput(),
            "review_on": DateInput(),
        }
        labels = {"recovery_expectation": "Recovery expectation it is tied to"}

    def __init__(self, *args, contract, **kwargs):
        super().__init__(*args, **kwargs)
        # The commissioning side's members, and the contract's own provider's.
        staff = [role for role in Role.values if role != Role.PROVIDER]
        self.fields["owner"].queryset = (
            User.objects.filter(
                Q(memberships__role__in=staff) | Q(memberships__provider_id=contract.provider_id),
                memberships__tenant_id=self.membership.tenant_id,
                memberships__is_active=True,
            )
            .distinct()
            .order_by("full_name")
        )


class ConcernForm(_MemberForm):
    reason_default = "Early warning raised before it was asked"

    class Meta:
        model = ProviderConcern
        fields = ["drifting", "drivers", "mitigation", "support_requested"]
        widgets = {name: _rows(3) for name in fields}
        labels = {
            "drifting": "What is drifting",
            "drivers": "Likely drivers",
            "mitigation": "Mitigation in place",
            "support_requested": "Support requested",
        }


class FrontlineReportForm(_MemberForm):
    reason_default = "Reported by commissioner staff"

    class Meta:
        model = FrontlineReport
        fields = ["provider", "contract", "category", "occurred_on", "description"]
        widgets = {"description": _rows(4), "occurred_on": DateInput()}
        labels = {"contract": "Contract (optional)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers_visible(membership=self.membership).order_by(
            "name"
        )
        self.fields["contract"].queryset = (
            contracts_visible(membership=self.membership)
            .select_related("provider")
            .order_by("reference")
        )
        self.fields["contract"].label_from_instance = lambda c: f"{c.reference}: {c.title}"


def _note(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,  # the service says why it is needed
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


class MeasureEndForm(USWDSMixin, forms.Form):
    outcome_note = _note(
        "Outcome note", "What the measure achieved; recorded with your name and the time."
    )


class ConcernAcknowledgeForm(USWDSMixin, forms.Form):
    acknowledgement_note = _note(
        "Note to the provider", "What you will do about it; the provider reads it."
    )
