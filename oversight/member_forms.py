from django import forms

from contracts.selectors import providers_visible

from .forms import ReasonMixin, USWDSMixin
from .models import Role


class _ProviderChoice(USWDSMixin, ReasonMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    provider = forms.ModelChoiceField(
        queryset=None, required=False, help_text="Only for the provider role."
    )

    def __init__(self, *args, membership, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers_visible(membership=membership)

    def clean(self):
        data = super().clean()
        if data.get("role") == Role.PROVIDER and not data.get("provider"):
            self.add_error("provider", "Choose the provider this person works for.")
        if data.get("role") != Role.PROVIDER and data.get("provider"):
            self.add_error("provider", "Only provider members name a provider.")
        return data


class MemberCreateForm(_ProviderChoice):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    field_order = ["email", "full_name", "role", "provider", "reason"]
    reason_default = "New member"


class MemberEditForm(_ProviderChoice):
    is_active = forms.BooleanField(required=False, label="Active")

    def __init__(self, *args, membership, instance=None, **kwargs):
        super().__init__(*args, membership=membership, **kwargs)
        if instance is not None and not self.is_bound:
            self.initial.update(
                role=instance.role, provider=instance.provider, is_active=instance.is_active
            )
