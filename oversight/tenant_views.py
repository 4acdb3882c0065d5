"""The organisation's settings page: what the tenant is set up with, and the
admin's form for its public holidays calendar (working-day deadlines)."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import clock, services, workdays
from .forms import apply_service_errors, service_data
from .history import history_entries
from .permissions import can, require
from .tenancy import tenant_view
from .tenant_forms import TenantCalendarForm, country_choices
from .views import tenant_url

UPCOMING_DAYS = 365


@tenant_view(read="settings.view")
@require_http_methods(["GET", "HEAD", "POST"])
def tenant_settings(request, *, membership):
    tenant = membership.tenant
    can_edit = can(membership, "tenant.change")
    form = None
    status = 200
    if request.method == "POST":
        require(membership, "tenant.change")
        form = TenantCalendarForm(request.POST, tenant=tenant)
        if form.is_valid():
            try:
                services.tenant_calendar_set(
                    membership=membership,
                    reason=form.cleaned_data["reason"],
                    **service_data(form),
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Saved the public holidays calendar.")
                return redirect(tenant_url(membership, "tenant_settings"))
        status = 400
        tenant.refresh_from_db()
    elif can_edit:
        form = TenantCalendarForm(tenant=tenant)
    calendar = workdays.HolidayCalendar.of(tenant)
    today = clock.tenant_today(tenant)
    return render(
        request,
        "oversight/tenant_settings.html",
        {
            "form": form,
            "country_name": dict(country_choices()).get(tenant.holiday_country, ""),
            "subdivision_name": workdays.subdivision_names(tenant.holiday_country).get(
                tenant.holiday_subdivision, ""
            )
            if tenant.holiday_country
            else "",
            "upcoming": workdays.holiday_names(
                calendar, today, today + dt.timedelta(days=UPCOMING_DAYS)
            ),
            "today": today,
            "history": history_entries(tenant, limit=20),
        },
        status=status,
    )
