"""Forms of the review meeting pages, with choices limited by the selectors."""

from __future__ import annotations

from datetime import datetime, time

from django import forms

from contracts.selectors import contracts_visible
from oversight import clock
from oversight.forms import DateInput, ReasonMixin, USWDSMixin
from oversight.models import Membership, Role

from .models import CONTRACTLESS_KINDS, AgendaPart, MeetingKind
from .services import roadmap_months


def _members(membership, contract=None):
    """Who may attend or own: the tenant's active members of the commissioning
    side and, for a contract, its own provider's."""
    members = Membership.objects.filter(
        tenant_id=membership.tenant_id, is_active=True, user__is_active=True
    ).select_related("user", "provider")
    if contract is None:
        members = members.exclude(role=Role.PROVIDER)
    else:
        members = members.exclude(role=Role.PROVIDER) | members.filter(
            role=Role.PROVIDER, provider_id=contract.provider_id
        )
    return members.order_by("user__full_name", "pk")


def _member_label(m: Membership) -> str:
    side = m.provider.name if m.provider_id else m.get_role_display()
    return f"{m.user} ({side})"


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%H:%M")


class MeetingForm(USWDSMixin, ReasonMixin, forms.Form):
    reason_default = "Meeting scheduled"
    kind = forms.ChoiceField(label="Kind of meeting", choices=MeetingKind.choices)
    contract = forms.TypedChoiceField(
        label="Contract",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Every kind but the internal portfolio review is about one contract.",
    )
    day = forms.DateField(label="Day", widget=DateInput())
    start = forms.TimeField(label="Starts", widget=TimeInput(), initial=time(10, 0))
    end = forms.TimeField(label="Ends", widget=TimeInput(), initial=time(11, 0))
    location = forms.CharField(label="Location or call link", max_length=200, required=False)
    title = forms.CharField(
        label="Title", max_length=200, required=False, help_text="Leave empty for the usual title."
    )

    def __init__(self, *args, membership, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        contracts = contracts_visible(membership=membership).order_by("reference")
        self.contracts = {c.pk: c for c in contracts}
        self.fields["contract"].choices = [("", "None (portfolio review)")] + [
            (c.pk, f"{c.reference}: {c.title}") for c in self.contracts.values()
        ]
        if contract is not None and not self.is_bound:
            self.initial["contract"] = contract.pk

    def clean(self):
        data = super().clean()
        contract_id = data.get("contract")
        if contract_id is not None and contract_id not in self.contracts:
            self.add_error("contract", "Choose one of the contracts listed.")
        if data.get("kind") in CONTRACTLESS_KINDS:
            data["contract"] = None
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        zone = clock.tenant_zone(self.membership.tenant)
        return {
            "kind": data["kind"],
            "contract": self.contracts.get(data.get("contract")),
            "starts_at": datetime.combine(data["day"], data["start"], tzinfo=zone),
            "ends_at": datetime.combine(data["day"], data["end"], tzinfo=zone),
            "location": data.get("location", ""),
            "title": data.get("title", ""),
        }


class MeetingChangeForm(USWDSMixin, ReasonMixin, forms.Form):
    """Move a scheduled meeting, or change its place or title (the attendees are
    told when it moves). Times are on the tenant's clock."""

    reason_default = "Meeting moved"
    day = forms.DateField(label="Day", widget=DateInput())
    start = forms.TimeField(label="Starts", widget=TimeInput())
    end = forms.TimeField(label="Ends", widget=TimeInput())
    location = forms.CharField(label="Location or call link", max_length=200, required=False)
    title = forms.CharField(label="Title", max_length=200, required=False)

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = clock.tenant_zone(meeting.tenant)
        if not self.is_bound:
            starts, ends = (
                meeting.starts_at.astimezone(self.zone),
                meeting.ends_at.astimezone(self.zone),
            )
            self.initial.update(
                day=starts.date(),
                start=starts.time().replace(second=0, microsecond=0),
                end=ends.time().replace(second=0, microsecond=0),
                location=meeting.location,
                title=meeting.title,
            )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "starts_at": datetime.combine(data["day"], data["start"], tzinfo=self.zone),
            "ends_at": datetime.combine(data["day"], data["end"], tzinfo=self.zone),
            "location": data.get("location", ""),
            "title": data.get("title", ""),
        }


class AgendaItemForm(USWDSMixin, forms.Form):
    part = forms.TypedChoiceField(label="Part", coerce=int, choices=AgendaPart.choices)
    title = forms.CharField(label="Item", max_length=300)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AgendaItemChangeForm(AgendaItemForm):
    remove = forms.BooleanField(label="Remove this item", required=False)


class MinutesForm(USWDSMixin, forms.Form):
    minutes = forms.CharField(
        label="Minutes", required=False, widget=forms.Textarea(attrs={"rows": 8})
    )


class DecisionForm(USWDSMixin, forms.Form):
    text = forms.CharField(label="Decision", widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(USWDSMixin, forms.Form):
    cancel_reason = forms.CharField(
        label="Why is it cancelled?", widget=forms.Textarea(attrs={"rows": 2})
    )


class ActionForm(USWDSMixin, forms.Form):
    description = forms.CharField(label="Action", widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.TypedChoiceField(label="Owner", coerce=int)
    due_on = forms.DateField(label="Due date", widget=DateInput())

    def __init__(self, *args, membership, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        members = [m for m in _members(membership, meeting.contract) if m.role != Role.AUDITOR]
        self.members = {m.pk: m for m in members}
        self.fields["owner"].choices = [("", "Choose the owner")] + [
            (m.pk, _member_label(m)) for m in members
        ]


class ActionNoteForm(USWDSMixin, forms.Form):
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}))


class TopicForm(USWDSMixin, ReasonMixin, forms.Form):
    reason_default = "Roadmap topic added"
    contract = forms.TypedChoiceField(
        label="Contract", coerce=int, required=False, empty_value=None
    )
    month = forms.TypedChoiceField(label="Month", coerce=lambda v: v)
    title = forms.CharField(label="Topic", max_length=200)
    description = forms.CharField(
        label="What the deep dive looks at",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    owner = forms.TypedChoiceField(label="Owner", coerce=int)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.contracts = {
            c.pk: c for c in contracts_visible(membership=membership).order_by("reference")
        }
        self.fields["contract"].choices = [("", "The portfolio (no one contract)")] + [
            (c.pk, f"{c.reference}: {c.title}") for c in self.contracts.values()
        ]
        months = roadmap_months(clock.tenant_today(membership.tenant))
        self.months = {m.isoformat(): m for m in months}
        self.fields["month"].choices = [(k, m.strftime("%B %Y")) for k, m in self.months.items()]
        members = [m for m in _members(membership, None) if m.role != Role.AUDITOR]
        self.members = {
            m.pk: m
            for m in Membership.objects.filter(
                tenant_id=membership.tenant_id, is_active=True
            ).select_related("user", "provider")
        }
        self.fields["owner"].choices = (
            [("", "Choose the owner")]
            + [(m.pk, _member_label(m)) for m in members]
            + [
                (m.pk, _member_label(m))
                for m in self.members.values()
                if m.role == Role.PROVIDER and m.user.is_active
            ]
        )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "contract": self.contracts.get(data.get("contract")),
            "month": self.months.get(data["month"]),
            "title": data["title"],
            "description": data.get("description", ""),
            "owner": self.members.get(data["owner"]),
        }


class DropForm(USWDSMixin, forms.Form):
    note = forms.CharField(
        label="Why the topic is dropped",
        required=False,  # the service says why it is needed
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class FindingForm(USWDSMixin, forms.Form):
    finding = forms.CharField(
        label="What the deep dive found", widget=forms.Textarea(attrs={"rows": 4})
    )
