"""Sign-in landing, the tenant switcher, a tenant's home page, and the error
views (see "Errors" below)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.http import require_safe

from contracts import selectors as contract_selectors

from . import registry
from .forms import apply_service_errors, service_data
from .models import Role
from .tenancy import memberships_of, tenant_view


@login_required
@require_safe
def home(request):
    """Send the user to their last tenant, their only tenant, or the switcher."""
    memberships = list(memberships_of(request.user))
    last = request.session.get("tenant_slug")
    slugs = {m.tenant.slug for m in memberships}
    if last in slugs:
        return redirect("tenant_home", tenant_slug=last)
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return redirect("tenant_switch")


@login_required
@require_safe
def tenant_switch(request):
    memberships = list(memberships_of(request.user))
    return render(request, "oversight/tenant_switch.html", {"memberships": memberships})


@tenant_view(read="home.view")
@require_safe
def tenant_home(request, *, membership):
    request.session["tenant_slug"] = membership.tenant.slug
    contracts = contract_selectors.contract_list(membership=membership)
    ending = contract_selectors.contract_list(membership=membership, ending_within_days=180)
    mine = (
        contracts.filter(contract_manager=membership.user)
        if membership.role in (Role.COMMISSIONER, Role.ADMIN)
        else contracts.none()
    )
    context = {
        "contract_count": contracts.count(),
        "active_count": contracts.filter(status="active").count(),
        "ending_soon": ending.order_by("end_date")[:10],
        "my_contracts": mine.order_by("end_date")[:10],
        # What feature apps add for this role (oversight/registry.py), in order.
        "home_panels": registry.home_panels_for(membership),
    }
    return render(request, "oversight/tenant_home.html", context)


def edit_page(
    request,
    *,
    membership,
    form_class,
    save,
    title: str,
    cancel_url: str,
    instance=None,
    form_kwargs: dict | None = None,
    breadcrumbs: list[tuple[str, str]] | None = None,
):
    """The shared create/edit page: bind the form, call one service, redirect to
    the saved object. ``save(data, reason)`` calls the service and returns the
    object, whose ``get_absolute_url`` is where the user goes next."""
    from django.core.exceptions import ValidationError

    kwargs = {"membership": membership, "instance": instance, **(form_kwargs or {})}
    form = form_class(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(service_data(form), form.cleaned_data["reason"])
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return redirect(obj.get_absolute_url())
    return render(
        request,
        "includes/form_page.html",
        {
            "form": form,
            "title": title,
            "cancel_url": cancel_url,
            "breadcrumbs": breadcrumbs or [],
        },
        status=400 if request.method == "POST" else 200,
    )


def tenant_url(membership, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": membership.tenant.slug, **kwargs})


# --- Errors ----------------------------------------------------------------------
# What a user or an API client sees when a request fails.
#
# Pages get the product's styled pages (templates/400.html, 403, 404, 413,
# 500) with the site's header and a way back; anything under ``/api/`` gets a
# JSON body in the API's shape, ``{"detail": "…"}``. The same answers are used
# by Django's error handlers (oversight/urls.py), by the CSRF failure view, and
# by ``oversight.middleware``, which also serves them when DEBUG is on (the
# demo), so that a tenant you cannot see is the product's 404 there too.

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def limit_text() -> str:
    """The request size limit as people read it: "5 MB"."""
    return f"{settings.MAX_UPLOAD_MB} MB"


def _page(request, template: str, status: int, context: dict | None = None) -> HttpResponse:
    return render(request, template, context or {}, status=status)


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    if is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return _page(request, "400.html", 400)


def permission_denied(request, exception=None, *, message: str = ""):
    message = message or (str(exception) if exception is not None else "")
    if is_api(request):
        return JsonResponse(
            {"detail": message or "You do not have permission to perform this action."},
            status=403,
        )
    return _page(request, "403.html", 403, {"message": message})


def page_not_found(request, exception=None):
    # The exception's text is never shown: "No such tenant" and a URL's parts
    # would tell an outsider what exists.
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return _page(request, "404.html", 404)


def server_error(request):
    """Rendered when something is broken: no database, no request context
    (no context processors, so no tenant and no navigation), no user."""
    if is_api(request):
        return JsonResponse(
            {"detail": "A server error occurred. It has been logged; try again later."},
            status=500,
        )
    return HttpResponse(loader.get_template("500.html").render({}), status=500)


def csrf_failure(request, reason: str = ""):
    return permission_denied(
        request,
        message=(
            "This form could not be sent because its security check failed: the page "
            "may have been open too long, or your browser blocked cookies for this site. "
            "Go back, reload the page and send the form again."
        ),
    )


def too_large(request):
    """A request body over ``settings.MAX_UPLOAD_BYTES``: 413, before anything reads it."""
    limit = limit_text()
    if is_api(request):
        message = f"the body is too large; the limit is {limit}"
        return JsonResponse(
            {
                "detail": f"The request body is too large; the limit is {limit}.",
                "errors": [{"where": "request", "field": "body", "message": message}],
            },
            status=413,
        )
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    is_file = request.content_type == "multipart/form-data"
    what = "The file is too large" if is_file else "What you sent is too large"
    shown = f" ({size / (1024 * 1024):.1f} MB)" if size else ""
    advice = ": split it into smaller files" if is_file else ""
    return _page(
        request,
        "413.html",
        413,
        {
            "message": f"{what}{shown}; the limit is {limit}{advice}.",
            "back_url": request.get_full_path(),
        },
    )
