"""Pages of improvement plans: thin views that read through escalation/plans.py's
selectors and write through its services. Object kwargs are named <model>_pk
(``improvement_plan_pk``, ``plan_action_pk``) so the isolation crawl maps each
to its object."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import clock, registry
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url
from performance import exports

from . import notices, plans, selectors
from .models import ActionStatus, PlanStatus
from .plan_forms import (
    ActionForm,
    AgreeForm,
    CloseForm,
    ControlForm,
    DoneForm,
    PlanForm,
    ReopenForm,
    ReviewForm,
    VerifyForm,
)

PANEL_ACTIONS = 8  # actions listed on the dashboard panel (the rest on the plan's page)


def _plans_url(membership, contract) -> str:
    return tenant_url(membership, "contract_plans", contract_pk=contract.pk)


def _plans_crumbs(membership, contract, *extra):
    return contract_crumbs(
        membership, contract, ("Improvement plans", _plans_url(membership, contract)), *extra
    )


def _plan_crumbs(membership, plan):
    return _plans_crumbs(membership, plan.contract, (f"Plan {plan.pk}", plan.get_absolute_url()))


@tenant_view(read="plans.view")
@require_safe
def contract_plans(request, *, membership, contract_pk):
    """A contract's improvement plans, newest first, with their action counts."""
    contract = contract_get(membership=membership, pk=contract_pk)
    rows = list(
        plans.plans_visible(membership=membership)
        .filter(contract_id=contract.pk)
        .select_related("opened_by")
        .prefetch_related("actions")
        .order_by("-opened_at", "-id")
    )
    today = clock.tenant_today(membership.tenant)
    for plan in rows:
        actions = list(plan.actions.all())
        plan.counts = {
            status.label: sum(1 for a in actions if a.status == status) for status in ActionStatus
        }
        plan.overdue = sum(1 for a in actions if plans.is_overdue(a, today))
    return render(
        request,
        "escalation/plan_list.html",
        {
            "contract": contract,
            "plans": rows,
            "may_open": can(membership, "plan.open"),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


def _from_signal(request, contract) -> dict:
    """``?signal=<id>`` (the "Open an improvement plan" lever beside a live
    signal): the issue statement starts from the signal's words and the first
    action is linked to its KPI, when it is one of this contract's signals."""
    signal = notices.contract_signal(contract, registry.lever_signal_id(request))
    if signal is None:
        return {}
    initial = {"issue_statement": signal.message, "symptoms": signal.message}
    if signal.contract_kpi_id:
        initial["contract_kpis"] = [signal.contract_kpi_id]
    return initial


def _form_page(request, membership, *, form, save, title, cancel_url, breadcrumbs, intro=""):
    """A plan's create/add page (as ``oversight.views.edit_page``, with the
    plan template that lays out checkbox groups): bind, call one service,
    redirect to the saved object; a refusal shows its messages (400)."""
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect(obj.get_absolute_url())
    return render(
        request,
        "escalation/plan_form.html",
        {
            "form": form,
            "title": title,
            "intro": intro,
            "cancel_url": cancel_url,
            "breadcrumbs": breadcrumbs,
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="plans.view")
def plan_create(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "plan.open")
    steps = list(selectors.contract_steps(membership=membership, contract=contract))
    by_pk = {s.pk: s for s in steps}
    form = PlanForm(
        request.POST or None,
        membership=membership,
        contract=contract,
        steps=steps,
        initial=_from_signal(request, contract),
    )
    return _form_page(
        request,
        membership,
        form=form,
        save=lambda f: plans.plan_open(
            membership=membership,
            contract=contract,
            reason=f.cleaned_data["reason"],
            **f.service_kwargs(by_pk),
        ),
        title=f"Open an improvement plan on {contract.reference}",
        intro=(
            "State the issue and the symptoms that show it, then its root causes: why it "
            "happens. The plan starts as a draft; record it as agreed once the provider has "
            "agreed its actions."
        ),
        cancel_url=_plans_url(membership, contract),
        breadcrumbs=_plans_crumbs(membership, contract),
    )


def _action_forms(action, membership, *, bound=None):
    """The forms of the one next step of an action this member may take,
    prefixed by the action (several on one page)."""
    prefix = f"action-{action.pk}"
    forms = {}
    if action.status == ActionStatus.OPEN and can(membership, "plan_action.complete"):
        forms["done"] = DoneForm(bound if bound == "done" else None, prefix=prefix)
    if action.status == ActionStatus.DONE:
        if can(membership, "plan_action.verify"):
            forms["verify"] = VerifyForm(prefix=prefix)
        if can(membership, "plan_action.reopen"):
            forms["reopen"] = ReopenForm(prefix=prefix)
    return forms


def _markers(plan) -> list[exports.Marker]:
    """Each linked KPI's chart marks the days its actions were done and verified."""
    markers = []
    zone = clock.tenant_zone(plan.tenant)
    for number, action in enumerate(plan.actions.all(), start=1):
        for ck in action.contract_kpis.all():
            if action.done_at:
                markers.append(
                    exports.Marker(
                        ck.pk, action.done_at.astimezone(zone).date(), f"A{number} done", "done"
                    )
                )
            if action.verified_at:
                markers.append(
                    exports.Marker(
                        ck.pk,
                        action.verified_at.astimezone(zone).date(),
                        f"A{number} verified",
                        "verified",
                    )
                )
    return markers


def _plan_page(request, membership, plan, *, errors_for=None, status=200):
    """The plan: issue, symptoms, root causes, actions (with who and when, and
    the forms of their next step), controls, reviews, the linked KPIs' charts
    with the action dates marked, and the history."""
    today = clock.tenant_today(plan.tenant)
    actions = list(plan.actions.all())
    for number, action in enumerate(actions, start=1):
        action.number = number
        action.overdue = plans.is_overdue(action, today)
        if errors_for is not None and errors_for[0] == action.pk:
            action.forms = {**_action_forms(action, membership), errors_for[1]: errors_for[2]}
        else:
            action.forms = _action_forms(action, membership)
    linked = {ck.pk for a in actions for ck in a.contract_kpis.all()}
    charts = exports.kpi_charts(
        membership=membership,
        contract=plan.contract,
        contract_kpi_ids=linked,
        markers=_markers(plan),
    )
    open_plan = plan.status != PlanStatus.CLOSED
    may_manage = can(membership, "plan.manage") and open_plan
    return render(
        request,
        "escalation/plan_detail.html",
        {
            "plan": plan,
            "contract": plan.contract,
            "actions": actions,
            "charts": charts,
            "may_manage": may_manage,
            "may_agree": may_manage and plan.status == PlanStatus.DRAFT,
            "may_review": can(membership, "plan.review") and open_plan,
            "agree_form": (
                errors_for[2] if errors_for and errors_for[1] == "agree" else AgreeForm()
            ),
            "close_form": (
                errors_for[2] if errors_for and errors_for[1] == "close" else CloseForm()
            ),
            "history": history_entries(plan, limit=200),
            "action_history": [(a, history_entries(a, limit=50)) for a in actions],
            "breadcrumbs": _plans_crumbs(membership, plan.contract),
        },
        status=status,
    )


@tenant_view(read="plans.view")
@require_safe
def plan_detail(request, *, membership, improvement_plan_pk):
    plan = plans.plan_get(membership=membership, pk=improvement_plan_pk)
    return _plan_page(request, membership, plan)


def _run(request, membership, plan, *, form, run, done: str, errors_for):
    """Run one write from a posted form; on a refusal, the plan's page again
    with the form's errors (400), nothing written."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(plan.get_absolute_url())
    plan = plans.plan_get(membership=membership, pk=plan.pk)
    return _plan_page(request, membership, plan, errors_for=(*errors_for, form), status=400)


@tenant_view(read="plans.view")
@require_POST
def plan_agree(request, *, membership, improvement_plan_pk):
    plan = plans.plan_get(membership=membership, pk=improvement_plan_pk)
    return _run(
        request,
        membership,
        plan,
        form=AgreeForm(request.POST),
        run=lambda data: plans.plan_agree(membership=membership, plan=plan, note=data["note"]),
        done="Plan recorded as agreed; the provider is told.",
        errors_for=(None, "agree"),
    )


@tenant_view(read="plans.view")
@require_POST
def plan_close(request, *, membership, improvement_plan_pk):
    plan = plans.plan_get(membership=membership, pk=improvement_plan_pk)
    return _run(
        request,
        membership,
        plan,
        form=CloseForm(request.POST),
        run=lambda data: plans.plan_close(
            membership=membership, plan=plan, note=data["close_note"]
        ),
        done="Plan closed.",
        errors_for=(None, "close"),
    )


def _action_of(membership, pk):
    action = plans.action_get(membership=membership, pk=pk)
    return action, action.plan


@tenant_view(read="plans.view")
@require_POST
def action_done(request, *, membership, plan_action_pk):
    action, plan = _action_of(membership, plan_action_pk)
    return _run(
        request,
        membership,
        plan,
        form=DoneForm(request.POST, prefix=f"action-{action.pk}"),
        run=lambda data: plans.action_mark_done(
            membership=membership, action=action, evidence=data["completion_evidence"]
        ),
        done="Action marked done; the commissioner is asked to verify it.",
        errors_for=(action.pk, "done"),
    )


@tenant_view(read="plans.view")
@require_POST
def action_verify(request, *, membership, plan_action_pk):
    action, plan = _action_of(membership, plan_action_pk)
    return _run(
        request,
        membership,
        plan,
        form=VerifyForm(request.POST, prefix=f"action-{action.pk}"),
        run=lambda data: plans.action_verify(
            membership=membership, action=action, note=data["note"]
        ),
        done="Action verified; the provider is told.",
        errors_for=(action.pk, "verify"),
    )


@tenant_view(read="plans.view")
@require_POST
def action_reopen(request, *, membership, plan_action_pk):
    action, plan = _action_of(membership, plan_action_pk)
    return _run(
        request,
        membership,
        plan,
        form=ReopenForm(request.POST, prefix=f"action-{action.pk}"),
        run=lambda data: plans.action_reopen(
            membership=membership, action=action, reason=data["reopen_reason"]
        ),
        done="Action sent back to open; the provider is told why.",
        errors_for=(action.pk, "reopen"),
    )


@tenant_view(read="plans.view")
def plan_action_add(request, *, membership, improvement_plan_pk):
    plan = plans.plan_get(membership=membership, pk=improvement_plan_pk)
    require(membership, "plan.manage")
    form = ActionForm(request.POST or None, membership=membership, contract=plan.contract)
    return _form_page(
        request,
        membership,
        form=form,
        save=lambda f: plans.plan_action_add(
            membership=membership,
            plan=plan,
            action=f.action_input(),
            reason=f.cleaned_data["reason"],
        ),
        title=f"Add an action to plan {plan.pk} on {plan.contract.reference}",
        cancel_url=plan.get_absolute_url(),
        breadcrumbs=_plan_crumbs(membership, plan),
    )


@tenant_view(read="plans.view")
def plan_control_add(request, *, membership, improvement_plan_pk):
    plan = plans.plan_get(membership=membership, pk=improvement_plan_pk)
    require(membership, "plan.manage")
    form = ControlForm(request.POST or None, membership=membership)
    return _form_page(
        request,
        membership,
        form=form,
        save=lambda f: (
            plans.plan_control_add(
                membership=membership,
                plan=plan,
                control=f.control_input(),
                reason=f.cleaned_data["reason"],
            ).plan
        ),
        title=f"Add a control to plan {plan.pk} on {plan.contract.reference}",
        cancel_url=plan.get_absolute_url(),
        breadcrumbs=_plan_crumbs(membership, plan),
    )


@tenant_view(read="plans.view")
def plan_review_create(request, *, membership, improvement_plan_pk):
    """A review: the date, what it found, and every control in place or not."""
    plan = plans.plan_get(membership=membership, pk=improvement_plan_pk)
    require(membership, "plan.review")
    controls = list(plan.controls.all())
    form = ReviewForm(
        request.POST or None,
        membership=membership,
        controls=controls,
        initial={"held_on": clock.tenant_today(plan.tenant)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            plans.plan_review(
                membership=membership,
                plan=plan,
                reason=form.cleaned_data["reason"],
                **form.service_kwargs(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Review recorded; the provider is told.")
            return redirect(plan.get_absolute_url() + "#reviews")
    return render(
        request,
        "escalation/plan_review_form.html",
        {
            "plan": plan,
            "contract": plan.contract,
            "form": form,
            "breadcrumbs": _plan_crumbs(membership, plan),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- the contract dashboard's panel ----------------------------------------------


def dashboard_panel(membership, contract):
    """The open plan with its actions (status, lead, due date): two queries."""
    plan = plans.open_plan(membership=membership, contract=contract)
    today = clock.tenant_today(membership.tenant)
    actions = list(plan.actions.all()) if plan else []
    for number, action in enumerate(actions, start=1):
        action.number = number
        action.overdue = plans.is_overdue(action, today)
    counts = {s: sum(1 for a in actions if a.status == s) for s in ActionStatus.values}
    return (
        "escalation/plan_panel.html",
        {
            "plan_open": plan,
            "plan_actions": actions[:PANEL_ACTIONS],
            "plan_actions_more": max(len(actions) - PANEL_ACTIONS, 0),
            "plan_counts": counts,
            "plan_overdue": sum(1 for a in actions if a.overdue),
            "plan_may_open": can(membership, "plan.open"),
        },
    )
