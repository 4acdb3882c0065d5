"""The admin's form for the organisation's own settings: its public holidays
calendar (oversight/workdays.py). The service validates again."""

from functools import cache

from babel import Locale
from django import forms

from .forms import ReasonMixin, USWDSMixin
from .workdays import supported_countries

NO_COUNTRY = "No public holidays: skip weekends only"


@cache
def country_choices() -> list[tuple[str, str]]:
    """Every country the holidays library knows, by its English name."""
    names = Locale("en").territories
    countries = sorted(
        ((code, names.get(code, code)) for code in supported_countries()), key=lambda c: c[1]
    )
    return [("", NO_COUNTRY), *((code, f"{name} ({code})") for code, name in countries)]


class TenantCalendarForm(USWDSMixin, ReasonMixin, forms.Form):
    holiday_country = forms.ChoiceField(
        label="Public holidays of",
        required=False,
        help_text="Working-day deadlines skip weekends and this country's public holidays.",
    )
    holiday_subdivision = forms.CharField(
        label="Subdivision (optional)",
        required=False,
        max_length=10,
        help_text=(
            "A state, nation or region whose own holidays count too, by its code: ENG for "
            "England, SCT for Scotland, TX for Texas. Empty: the holidays of the whole country."
        ),
    )
    field_order = ["holiday_country", "holiday_subdivision", "reason"]
    reason_default = "Our public holidays calendar"

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holiday_country"].choices = country_choices()
        if not self.is_bound:
            self.initial.update(
                holiday_country=tenant.holiday_country,
                holiday_subdivision=tenant.holiday_subdivision,
            )
