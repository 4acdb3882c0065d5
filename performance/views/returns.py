"""The returns pages a reader opens: what is due, late, missing and awaiting
review across the tenant (or, for a provider, its own returns due), each
provider's timeliness, a contract's returns and its values against target.
List pages run a fixed number of queries whatever the number of periods (the
state of a period is computed in SQL)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight.clock import tenant_today
from oversight.permissions import can, can_read
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from .. import charts, presenters, services
from ..calendar import DUE, LATE, MISSING
from ..forms import (
    ATTENTION,
    ReturnFilterForm,
)
from ..models import Return, ReturnStatus
from ..selectors import (
    due_periods_latest,
    periods_visible,
    periods_with_state,
    returns_visible,
    values_grid,
    with_state,
)

PAGE_SIZE = 25
PERIODS_PER_PAGE = 12
NEEDS_ACTION = [DUE, LATE, MISSING, ReturnStatus.QUERIED]  # what a provider must do
ATTENTION_STATES = [DUE, LATE, MISSING, ReturnStatus.SUBMITTED]  # what a commissioner watches
STATE_LABELS = {
    DUE: "Due",
    LATE: "Late",
    MISSING: "Missing",
    ReturnStatus.DRAFT: "Draft",
    ReturnStatus.SUBMITTED: "Submitted, awaiting review",
    ReturnStatus.ACCEPTED: "Accepted",
    ReturnStatus.QUERIED: "Queried",
}


# --- helpers ------------------------------------------------------------------------


def may_enter(membership) -> bool:
    """May this membership enter returns at all (its own, or on a provider's behalf)?"""
    return can(membership, "return.submit") or can(membership, services.ON_BEHALF)


def entry_url_name(membership) -> str:
    """Providers fill in their own return; anyone else the on-behalf form."""
    return "period_return" if can(membership, "return.submit") else "period_return_on_behalf"


def _querystring(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def returns_crumbs(membership, *extra):
    return [("Returns", tenant_url(membership, "returns_home")), *extra]


# --- returns: home ----------------------------------------------------------------


@tenant_view(read="returns.view")
@require_safe
def returns_home(request, *, membership):
    """Providers see what they owe; everyone else the tenant's overview."""
    if not can_read(membership, "returns.overview"):
        return _provider_home(request, membership)
    return _returns_overview(request, membership)


def _provider_home(request, membership):
    today = tenant_today(membership.tenant)
    periods = with_state(periods_with_state(membership=membership), today=today)
    ended = periods.filter(end__lt=today)
    action = ended.filter(state__in=NEEDS_ACTION).order_by("due_date", "contract__reference")
    page = Paginator(action, PAGE_SIZE).get_page(request.GET.get("page"))
    recent = ended.filter(state__in=[ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED]).order_by(
        "-due_date", "contract__reference"
    )[:10]
    current = periods.filter(end__gte=today).order_by("end", "contract__reference")[:10]
    return render(
        request,
        "performance/returns_provider.html",
        {
            "page": page,
            "recent": recent,
            "current": current,
            "state_labels": STATE_LABELS,
            "today": today,
        },
    )


def _returns_overview(request, membership):
    today = tenant_today(membership.tenant)
    form = ReturnFilterForm(request.GET or None, membership=membership)
    chosen = form.values()
    periods = with_state(periods_with_state(membership=membership), today=today).filter(
        end__lt=today
    )
    if chosen.get("provider"):
        periods = periods.filter(contract__provider=chosen["provider"])
    if chosen.get("contract"):
        periods = periods.filter(contract=chosen["contract"])
    counts = dict(
        periods.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    state = chosen.get("state")
    if state == ATTENTION:
        periods = periods.filter(state__in=ATTENTION_STATES)
    elif state:
        periods = periods.filter(state=state)
    periods = periods.order_by("-due_date", "contract__reference", "pk")
    page = Paginator(periods, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = [
        (key, STATE_LABELS[key], counts.get(key, 0))
        for key in (DUE, LATE, MISSING, ReturnStatus.SUBMITTED, ReturnStatus.QUERIED)
    ]
    return render(
        request,
        "performance/returns_overview.html",
        {
            "filter_form": form,
            "page": page,
            "querystring": _querystring(request),
            "summary": summary,
            "state_labels": STATE_LABELS,
            "can_bulk_upload": can(membership, "return.review"),
            "today": today,
        },
    )


@tenant_view(read="returns.overview")
@require_safe
def returns_timeliness(request, *, membership):
    """Each provider's share of returns first submitted on or before the due
    date, over its last 12 periods that have fallen due."""
    today = tenant_today(membership.tenant)
    due = due_periods_latest(
        membership=membership, today=today, per_provider=charts.TIMELINESS_PERIODS
    )
    return render(
        request,
        "performance/timeliness.html",
        {
            "rows": presenters.timeliness_rows(due, time_zone=membership.tenant.time_zone),
            "last": charts.TIMELINESS_PERIODS,
            "breadcrumbs": returns_crumbs(membership),
            "today": today,
        },
    )


# --- a contract's returns and values ---------------------------------------------------


@tenant_view(read="returns.view")
@require_safe
def contract_returns(request, *, membership, contract_pk):
    """Every period of the contract, newest first, with every version."""
    contract = contract_get(membership=membership, pk=contract_pk)
    today = tenant_today(membership.tenant)
    periods = with_state(periods_with_state(membership=membership), today=today).filter(
        contract=contract
    )
    page = Paginator(periods.order_by("-start"), PERIODS_PER_PAGE).get_page(request.GET.get("page"))
    versions: dict[int, list[Return]] = {}
    for ret in (
        returns_visible(membership=membership)
        .filter(period_id__in=[p.pk for p in page.object_list])
        .order_by("version")
    ):
        versions.setdefault(ret.period_id, []).append(ret)
    rows = [(p, versions.get(p.pk, [])) for p in page.object_list]
    return render(
        request,
        "performance/contract_returns.html",
        {
            "contract": contract,
            "rows": rows,
            "page": page,
            "state_labels": STATE_LABELS,
            "can_submit": may_enter(membership),
            "entry_url_name": entry_url_name(membership),
            "needs_action": NEEDS_ACTION,
            "today": today,
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


@tenant_view(read="returns.view")
@require_safe
def contract_values(request, *, membership, contract_pk):
    """Values against the target in force, KPIs as rows and periods as columns
    (12 a page, newest page and newest column first); each cell says met / amber
    / missed."""
    contract = contract_get(membership=membership, pk=contract_pk)
    page = Paginator(
        periods_visible(membership=membership).filter(contract=contract).order_by("-start"),
        PERIODS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    columns = list(page.object_list)  # the latest period first, where the eye starts
    grid = values_grid(membership=membership, contract=contract, periods=columns)
    lines = presenters.values_lines(grid, periods=columns, today=tenant_today(membership.tenant))
    return render(
        request,
        "performance/contract_values.html",
        {
            "contract": contract,
            "columns": columns,
            "lines": lines,
            "page": page,
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )
