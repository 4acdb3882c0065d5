"""Pages of variations and of a contract's terms as at a date: parse, call one
selector or service, render. Object kwargs are named <model>_pk
(``variation_pk``) so the isolation crawl maps each to its object."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.models import PaymentModel
from contracts.selectors import contract_get
from oversight import clock, formatting
from oversight.forms import apply_service_errors
from oversight.permissions import can, can_read, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url
from performance import exports

from . import selectors, services, terms
from .forms import AssessmentForm, DecisionForm, NoteForm, PolicyForm, TermsDateForm, VariationForm
from .models import IN_PROGRESS, Variation, VariationStatus

LIST_LIMIT = 200
PANEL_ROWS = 5


def _contract_url(membership, contract) -> str:
    return tenant_url(membership, "contract_variations", contract_pk=contract.pk)


def _crumbs(membership, contract, *extra):
    return contract_crumbs(
        membership, contract, ("Variations", _contract_url(membership, contract)), *extra
    )


@tenant_view(read="variations.view")
@require_safe
def variation_list(request, *, membership):
    """Every variation the membership sees, soonest effective first, by status."""
    status = request.GET.get("status", "")
    rows = selectors.variations_detailed(membership=membership)
    if status in VariationStatus.values:
        rows = rows.filter(status=status)
    elif status == "in_progress":
        rows = rows.filter(status__in=IN_PROGRESS)
    rows = list(rows.order_by("-effective_on", "-pk")[:LIST_LIMIT])
    return render(
        request,
        "variations/list.html",
        {
            "variations": rows,
            "status": status,
            "statuses": [("in_progress", "In progress"), *VariationStatus.choices],
            "may_read_rules": can_read(membership, "variation_policy.view"),
            "limit": LIST_LIMIT,
        },
    )


@tenant_view(read="variations.view")
@require_safe
def contract_variations(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    rows = list(
        selectors.variations_detailed(membership=membership)
        .filter(contract_id=contract.pk)
        .order_by("-effective_on", "-pk")
    )
    return render(
        request,
        "variations/contract.html",
        {
            "contract": contract,
            "variations": rows,
            "may_propose": can(membership, "variation.propose"),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


def _form_page(request, membership, contract, *, form, save, title, cancel_url, crumbs):
    if request.method == "POST" and form.is_valid():
        try:
            variation = save(form)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Saved {variation.reference}.")
            return redirect(variation.get_absolute_url())
    return render(
        request,
        "variations/form.html",
        {
            "form": form,
            "contract": contract,
            "title": title,
            "cancel_url": cancel_url,
            "breadcrumbs": crumbs,
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="variations.view")
def variation_propose(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "variation.propose")
    form = VariationForm(request.POST or None, membership=membership, contract=contract)
    return _form_page(
        request,
        membership,
        contract,
        form=form,
        save=lambda f: services.variation_propose(
            membership=membership,
            contract=contract,
            kind=f.cleaned_data["kind"],
            title=f.cleaned_data["title"],
            rationale=f.cleaned_data["rationale"],
            effective_on=f.cleaned_data["effective_on"],
            changes=f.change_inputs(),
            reason=f.cleaned_data["reason"],
            submit="submit" in request.POST,
        ),
        title=f"Propose a variation of {contract.reference}",
        cancel_url=_contract_url(membership, contract),
        crumbs=_crumbs(membership, contract),
    )


def _shown(field_name: str, text, contract, unit: str = "") -> str:
    """A change's value as a person reads it: money with its symbol, dates as
    dates, a payment model by its name; "—" for none."""
    if text is None or text == "" or text == []:
        return formatting.NONE
    if isinstance(text, list):
        return "\n".join(text)
    text = str(text)
    try:
        if field_name in ("annual_value", "total_value"):
            locale = formatting.tenant_locale(contract.tenant)
            return formatting.money(Decimal(text), contract.currency, locale)
        if field_name in ("end_date", "latest_end_date"):
            return formatting.date(dt.date.fromisoformat(text))
        if field_name == "payment_at_risk_pct":
            return formatting.number(Decimal(text), "percentage")
        if field_name == "kpi_target":
            return formatting.number(Decimal(text), unit)
    except (ValueError, ArithmeticError):
        return text
    if field_name == "payment_model":
        return dict(PaymentModel.choices).get(text, text)
    return text


def _changes_shown(variation: Variation) -> list[dict]:
    """Each change with the value it replaces (the one recorded when it was
    applied, or the contract's current one while it is pending) and the value
    it sets, as a person reads them; a KPI's new limits start at the first
    period on or after the effective date."""
    contract = variation.contract
    rebased_from = exports.first_period_on_or_after(variation.effective_on)
    rows = []
    for change in variation.changes.all():
        unit = change.contract_kpi.kpi.unit if change.contract_kpi else ""
        if variation.status == VariationStatus.EFFECTIVE:
            before = change.previous
            recorded = re.fullmatch(r"(\S+) \(amber (\S+)\)", before or "")
            if change.field == "kpi_target" and recorded:
                target, amber = recorded.groups()
                before = (
                    f"{_shown('kpi_target', target, contract, unit)} "
                    f"(amber {_shown('kpi_target', amber, contract, unit)})"
                )
            else:
                before = _shown(change.field, before, contract, unit)
        elif change.field in services.CONTRACT_FIELDS:
            before = _shown(change.field, getattr(contract, change.field), contract)
        elif change.field == "kpi_target" and change.contract_kpi is not None:
            ck = change.contract_kpi
            before = f"{_shown('kpi_target', ck.target, contract, unit)} (amber " + (
                f"{formatting.number(ck.amber_tolerance, unit)})"
            )
        else:
            before = formatting.NONE
        after = _shown(change.field, change.value, contract, unit)
        if change.field == "kpi_target" and change.detail:
            after += f" (amber {_shown('kpi_target', change.detail, contract, unit)})"
        rows.append(
            {"change": change, "before": before, "after": after, "rebased_from": rebased_from}
        )
    return rows


def _detail_context(membership, variation, forms=None) -> dict:
    forms = forms or {}
    status = variation.status
    proposer_side = services.proposer_side(membership, variation)
    may = {
        "submit": status == VariationStatus.DRAFT
        and proposer_side
        and can(membership, "variation.propose"),
        "withdraw": status in IN_PROGRESS[:3]
        and proposer_side
        and can(membership, "variation.propose"),
        "start": status == VariationStatus.SUBMITTED and can(membership, "variation.assess"),
        "assess": status == VariationStatus.UNDER_ASSESSMENT
        and can(membership, "variation.assess"),
    }
    refusal = services.approval_refusal(membership, variation)
    may["decide"] = not refusal
    components = variation.contract.protected_core_components or []
    if may["assess"] and "assess" not in forms:
        forms["assess"] = AssessmentForm(
            components=components,
            initial={
                "cost_per_year": variation.cost_per_year,
                "cost_total": variation.cost_total,
                "quality_impact": variation.quality_impact,
                "outcomes_impact": variation.outcomes_impact,
                "risk_impact": variation.risk_impact,
                "protected_components": variation.protected_components,
            },
        )
    if may["withdraw"] and "withdraw" not in forms:
        forms["withdraw"] = NoteForm(prefix="withdraw")
    if may["decide"] and "decide" not in forms:
        forms["decide"] = DecisionForm()
    return {
        "variation": variation,
        "contract": variation.contract,
        "changes": _changes_shown(variation),
        "may": may,
        "decision_refusal": refusal
        if variation.status == VariationStatus.UNDER_ASSESSMENT
        and can(membership, "variation.approve")
        else "",
        "forms": forms,
        "breadcrumbs": _crumbs(membership, variation.contract),
    }


@tenant_view(read="variations.view")
@require_safe
def variation_detail(request, *, membership, variation_pk):
    variation = selectors.variation_get(membership=membership, pk=variation_pk)
    return render(request, "variations/detail.html", _detail_context(membership, variation))


def _step(request, membership, variation_pk, run, *, action, form_key=None, form=None, done: str):
    """A POST that moves a variation one step: the variation (404 outside the
    membership's reach), the role (403), then the service; back to the
    variation, or the page again with the refusal's message (400)."""
    variation = selectors.variation_get(membership=membership, pk=variation_pk)
    require(membership, action)
    if form is not None and not form.is_valid():
        context = _detail_context(membership, variation, {form_key: form})
        return render(request, "variations/detail.html", context, status=400)
    try:
        run(variation)
    except ValidationError as error:
        variation = selectors.variation_get(membership=membership, pk=variation_pk)
        if form is None:
            form = NoteForm()
            form_key = "errors"
        apply_service_errors(form, error)
        context = _detail_context(membership, variation, {form_key: form})
        return render(request, "variations/detail.html", context, status=400)
    messages.success(request, done)
    return redirect(tenant_url(membership, "variation_detail", variation_pk=variation_pk))


@tenant_view(read="variations.view")
@require_POST
def variation_submit(request, *, membership, variation_pk):
    return _step(
        request,
        membership,
        variation_pk,
        lambda v: services.variation_submit(membership=membership, variation=v),
        action="variation.propose",
        done="Submitted for assessment.",
    )


@tenant_view(read="variations.view")
@require_POST
def variation_withdraw(request, *, membership, variation_pk):
    form = NoteForm(request.POST, prefix="withdraw")
    return _step(
        request,
        membership,
        variation_pk,
        lambda v: services.variation_withdraw(
            membership=membership, variation=v, note=form.cleaned_data["note"]
        ),
        form_key="withdraw",
        form=form,
        action="variation.propose",
        done="Withdrawn.",
    )


@tenant_view(read="variations.view")
@require_POST
def variation_assessment_start(request, *, membership, variation_pk):
    return _step(
        request,
        membership,
        variation_pk,
        lambda v: services.variation_assessment_start(membership=membership, variation=v),
        action="variation.assess",
        done="Assessment started.",
    )


@tenant_view(read="variations.view")
@require_POST
def variation_assess(request, *, membership, variation_pk):
    variation = selectors.variation_get(membership=membership, pk=variation_pk)
    form = AssessmentForm(request.POST, components=variation.contract.protected_core_components)
    return _step(
        request,
        membership,
        variation_pk,
        lambda v: services.variation_assess(
            membership=membership,
            variation=v,
            assessment=form.assessment(),
            reason=form.cleaned_data["reason"],
        ),
        form_key="assess",
        form=form,
        action="variation.assess",
        done="Assessment recorded.",
    )


@tenant_view(read="variations.view")
@require_POST
def variation_decide(request, *, membership, variation_pk):
    form = DecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"

    def run(variation):
        note = form.cleaned_data["decision_note"]
        if approve:
            return services.variation_approve(membership=membership, variation=variation, note=note)
        return services.variation_reject(membership=membership, variation=variation, note=note)

    return _step(
        request,
        membership,
        variation_pk,
        run,
        form_key="decide",
        form=form,
        action="variation.approve",
        done="Approved." if approve else "Rejected.",
    )


@tenant_view(read="variations.view")
@require_safe
def contract_terms(request, *, membership, contract_pk):
    """The contract's terms as they stood on a date (``?as_at=``, today by
    default), and the variations that made them so."""
    contract = contract_get(membership=membership, pk=contract_pk)
    today = clock.tenant_today(membership.tenant)
    form = TermsDateForm(request.GET or {"as_at": today.isoformat()})
    as_at = form.cleaned_data["as_at"] if form.is_valid() else today
    return render(
        request,
        "variations/terms.html",
        {
            "contract": contract,
            "form": form,
            "terms": terms.contract_terms(membership=membership, contract=contract, as_at=as_at),
            "is_today": as_at == today,
            "breadcrumbs": contract_crumbs(membership, contract),
        },
        status=200 if form.is_valid() else 400,
    )


@tenant_view(read="variation_policy.view")
def variation_policy(request, *, membership):
    """The tenant's approval rules (the admin changes them)."""
    policy = services.policy_for(membership.tenant)
    may_change = can(membership, "variation_policy.change")
    form = PolicyForm(
        request.POST or None,
        initial={
            "executive_above": policy.executive_above,
            "executive_for_protected": policy.executive_for_protected,
            "executive_kinds": policy.executive_kinds,
        },
    )
    if request.method == "POST":
        require(membership, "variation_policy.change")
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
            try:
                services.policy_update(
                    membership=membership, data=data, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Approval rules saved.")
                return redirect(tenant_url(membership, "variation_policy"))
    return render(
        request,
        "variations/policy.html",
        {"policy": policy, "form": form, "may_change": may_change},
        status=400 if request.method == "POST" else 200,
    )


def dashboard_panel(membership, contract):
    """The contract dashboard's "Pending variations" panel."""
    rows = list(
        selectors.variations_visible(membership=membership)
        .filter(contract_id=contract.pk, status__in=IN_PROGRESS)
        .order_by("effective_on", "pk")[: PANEL_ROWS + 1]
    )
    return "variations/panel.html", {
        "contract": contract,
        "pending": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "today": clock.tenant_today(membership.tenant),
    }
