"""Pages of variations and of a contract's terms as at a date: parse, call one
selector or service, render. Object kwargs are named <model>_pk
(``variation_pk``) so the isolation crawl maps each to its object."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import clock
from oversight.forms import apply_service_errors
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

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


def _form_page(
    request, membership, contract, *, form, save, title, cancel_url, crumbs, offer_submit=True
):
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
            "offer_submit": offer_submit,
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="variations.view", action="variation.propose")
def variation_propose(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
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


@tenant_view(read="variations.view", action="variation.propose")
def variation_edit(request, *, membership, variation_pk):
    variation = selectors.variation_get(membership=membership, pk=variation_pk)
    contract = variation.contract
    if variation.status != VariationStatus.DRAFT or not services._proposer_side(
        membership, variation
    ):
        raise PermissionDenied("Only the side that proposed a draft changes it.")
    form = VariationForm(
        request.POST or None,
        membership=membership,
        contract=contract,
        initial=VariationForm.initial_from(variation),
    )
    return _form_page(
        request,
        membership,
        contract,
        form=form,
        save=lambda f: services.variation_update(
            membership=membership,
            variation=variation,
            kind=f.cleaned_data["kind"],
            title=f.cleaned_data["title"],
            rationale=f.cleaned_data["rationale"],
            effective_on=f.cleaned_data["effective_on"],
            changes=f.change_inputs(),
            reason=f.cleaned_data["reason"],
        ),
        title=f"Change draft {variation.reference}",
        offer_submit=False,
        cancel_url=variation.get_absolute_url(),
        crumbs=_crumbs(membership, contract, (variation.reference, variation.get_absolute_url())),
    )


def _changes_shown(variation: Variation) -> list[dict]:
    """Each change with the value it replaces: the one recorded when it was
    applied, or the contract's current one while it is pending."""
    contract = variation.contract
    rows = []
    for change in variation.changes.all():
        if variation.status == VariationStatus.EFFECTIVE:
            before = change.previous
        elif change.field in services.CONTRACT_FIELDS:
            current = getattr(contract, change.field)
            before = "\n".join(current) if isinstance(current, list) else current
        elif change.field == "kpi_target" and change.contract_kpi is not None:
            before = change.contract_kpi.target
        else:
            before = ""
        rows.append({"change": change, "before": before})
    return rows


def _detail_context(membership, variation, forms=None) -> dict:
    forms = forms or {}
    status = variation.status
    proposer_side = services._proposer_side(membership, variation)
    may = {
        "edit": status == VariationStatus.DRAFT
        and proposer_side
        and can(membership, "variation.propose"),
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


def _step(request, membership, variation_pk, run, *, form_key=None, form=None, done: str):
    """A POST that moves a variation one step: call the service, go back to the
    variation; a refusal shows the page again with its message (400)."""
    variation = selectors.variation_get(membership=membership, pk=variation_pk)
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


@tenant_view(read="variations.view", action="variation.propose")
@require_POST
def variation_submit(request, *, membership, variation_pk):
    return _step(
        request,
        membership,
        variation_pk,
        lambda v: services.variation_submit(membership=membership, variation=v),
        done="Submitted for assessment.",
    )


@tenant_view(read="variations.view", action="variation.propose")
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
        done="Withdrawn.",
    )


@tenant_view(read="variations.view", action="variation.assess")
@require_POST
def variation_assessment_start(request, *, membership, variation_pk):
    return _step(
        request,
        membership,
        variation_pk,
        lambda v: services.variation_assessment_start(membership=membership, variation=v),
        done="Assessment started.",
    )


@tenant_view(read="variations.view", action="variation.assess")
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
        done="Assessment recorded.",
    )


@tenant_view(read="variations.view", action="variation.approve")
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
        selectors.variations_in_progress_of(membership=membership, contract=contract).order_by(
            "effective_on", "pk"
        )[: PANEL_ROWS + 1]
    )
    return "variations/panel.html", {
        "contract": contract,
        "pending": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "today": clock.tenant_today(membership.tenant),
    }
