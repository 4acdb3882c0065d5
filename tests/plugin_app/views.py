from django.shortcuts import render
from django.views.decorators.http import require_safe

from oversight.tenancy import tenant_view

from .apps import SITE_VISITS_READ


@tenant_view(read=SITE_VISITS_READ)
@require_safe
def site_visits(request, *, membership):
    return render(request, "plugin_app/site_visits.html")
