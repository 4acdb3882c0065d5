"""Sign-in landing, the tenant switcher and a tenant's home page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from contracts import selectors as contract_selectors

from .forms import apply_service_errors, service_data
from .models import Role
from .tenancy import memberships_of, tenant_view


@login_required
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
def tenant_switch(request):
    memberships = list(memberships_of(request.user))
    return render(request, "oversight/tenant_switch.html", {"memberships": memberships})


@tenant_view
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
