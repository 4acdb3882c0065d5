"""Escalation pages: thin views that read through the selectors and write
through the services. Object kwargs are named <model>_pk so that the isolation
crawl maps each to its object."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import registry
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.models import Role
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from . import presets, selectors, services
from .forms import (
    DecisionForm,
    LadderAdoptForm,
    LadderReviseForm,
    PresetAdoptForm,
    StepProposeForm,
)
from .models import StepStatus

PANEL_STEPS = 3


def _ladder_crumbs(membership, *extra):
    return [("Escalation ladder", tenant_url(membership, "ladder_detail")), *extra]


def _escalation_url(membership, contract) -> str:
    return tenant_url(membership, "contract_escalation", contract_pk=contract.pk)


# --- the ladder ------------------------------------------------------------------


def _ladder_page(request, membership, version, stages, *, form=None, status=200):
    """A ladder version's page; ``version`` None: the default, not written yet."""
    current = selectors.ladder_current(tenant_id=membership.tenant_id)
    in_force = version is None or version.pk == current.pk
    return render(
        request,
        "escalation/ladder.html",
        {
            "version": version,
            "is_current": in_force,
            "stages": stages,
            "versions": selectors.ladder_versions_visible(membership=membership)
            .select_related("created_by")
            .order_by("-number"),
            "history": history_entries(version, limit=20) if version else [],
            "can_edit": can(membership, "ladder.change") and in_force,
            "adopt_form": form or (LadderAdoptForm() if version is None else None),
            "breadcrumbs": [] if in_force else _ladder_crumbs(membership),
        },
        status=status,
    )


@tenant_view(read="ladder.view", hides_objects=True)
@require_http_methods(["GET", "HEAD", "POST"])
def ladder_detail(request, *, membership):
    """The ladder in force. Before it is written, the default ladder, which the
    admin adopts (POST) to edit it."""
    if request.method == "POST":
        require(membership, "ladder.change")
        form = LadderAdoptForm(request.POST)
        if form.is_valid():
            try:
                version = services.ladder_adopt(
                    membership=membership, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return redirect(
                    tenant_url(membership, "ladder_revise", ladder_version_pk=version.pk)
                )
        version, stages = selectors.ladder_in_force(tenant_id=membership.tenant_id)
        return _ladder_page(request, membership, version, stages, form=form, status=400)
    version, stages = selectors.ladder_in_force(tenant_id=membership.tenant_id)
    return _ladder_page(request, membership, version, stages)


@tenant_view(read="ladder.view", hides_objects=True)
@require_safe
def ladder_version_detail(request, *, membership, ladder_version_pk):
    version = selectors.ladder_version_get(membership=membership, pk=ladder_version_pk)
    return _ladder_page(request, membership, version, selectors.stages_of(version))


@tenant_view(read="ladder.view")
def ladder_revise(request, *, membership, ladder_version_pk):
    """Edit the ladder: the form shows the version in force; saving writes the next.
    The role is checked first: a provider, who does not read the ladder, is
    refused like any other role that may not edit it."""
    require(membership, "ladder.change")
    version = selectors.ladder_version_get(membership=membership, pk=ladder_version_pk)
    stages = selectors.stages_of(version)
    form = LadderReviseForm(request.POST or None, stages=stages)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.ladder_revise(
                membership=membership,
                version=version,
                changes=form.changes(),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Saved as version {new.number} of the ladder.")
            return redirect(tenant_url(membership, "ladder_detail"))
    return render(
        request,
        "escalation/ladder_form.html",
        {
            "form": form,
            "version": version,
            "breadcrumbs": _ladder_crumbs(membership),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- ladder presets ---------------------------------------------------------------


@tenant_view(read="ladder.view", hides_objects=True)
@require_safe
def ladder_presets(request, *, membership):
    """The ladders a tenant can start from besides the default (escalation/presets/)."""
    return render(
        request,
        "escalation/ladder_presets.html",
        {
            "presets": presets.presets().values(),
            "can_edit": can(membership, "ladder.change"),
            "breadcrumbs": _ladder_crumbs(membership),
        },
    )


@tenant_view(read="ladder.view", hides_objects=True)
@require_http_methods(["GET", "HEAD", "POST"])
def ladder_preset_detail(request, *, membership, preset_key):
    """A preset's stages; the admin adopts it (POST) as the next ladder version."""
    preset = presets.preset_get(preset_key)
    if preset is None:
        raise Http404("No such ladder preset.")
    can_edit = can(membership, "ladder.change")
    form = PresetAdoptForm(request.POST or None, preset=preset) if can_edit else None
    if request.method == "POST":
        require(membership, "ladder.change")
        if form.is_valid():
            try:
                version = services.ladder_preset_adopt(
                    membership=membership,
                    preset_key=preset.key,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    f"{preset.name} is now the ladder, as version {version.number}: "
                    "edit its stages as you need.",
                )
                return redirect(tenant_url(membership, "ladder_detail"))
    current = selectors.ladder_current(tenant_id=membership.tenant_id)
    return render(
        request,
        "escalation/ladder_preset.html",
        {
            "preset": preset,
            "stages": preset.ladder_stages(tenant_id=membership.tenant_id),
            "current": current,
            "form": form,
            "breadcrumbs": _ladder_crumbs(
                membership, ("Presets", tenant_url(membership, "ladder_presets"))
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- a contract's escalation record ------------------------------------------------


def _where(contract, stages):
    """The contract's level and the stage it sits at (the definition it was
    taken under; before any step, that level of the ladder in force)."""
    level, stage = selectors.contract_position(contract=contract)
    if stage is None:
        stage = next((s for s in stages if s.level == level), None)
    return level, stage


def _escalation_page(request, membership, contract, *, form=None, decision=None, status=200):
    version, stages = selectors.ladder_in_force(tenant_id=contract.tenant_id)
    level, stage = _where(contract, stages)
    steps = list(selectors.contract_steps(membership=membership, contract=contract))
    for step in steps:
        step.can_decide = (
            step.status == StepStatus.PENDING
            and can(membership, "escalation.approve")
            and step.proposed_by_id != membership.user_id
        )
        step.can_acknowledge = (
            step.status == StepStatus.EFFECTIVE
            and step.acknowledged_at is None
            and can(membership, "escalation.acknowledge")
        )
    pending = next((s for s in steps if s.status == StepStatus.PENDING), None)
    may_propose = can(membership, "escalation.propose") and pending is None
    return render(
        request,
        "escalation/contract_escalation.html",
        {
            "contract": contract,
            "level": level,
            "stage": stage,
            "stages": stages,
            "version": version,
            "steps": steps,
            "pending": pending,
            "may_propose": may_propose,
            "may_read_ladder": membership.role != Role.PROVIDER,
            "decision": decision,
            "decision_form": form or DecisionForm(),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
        status=status,
    )


@tenant_view(read="escalation.view")
@require_safe
def contract_escalation(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    return _escalation_page(request, membership, contract)


def _from_signal(request) -> dict:
    """The signal a lever opened this form from (registry.signal_lever), ticked
    as evidence when it is one of this contract's (the form offers only those;
    anything else is ignored)."""
    signal = registry.lever_signal_id(request)
    return {"signals": [signal]} if signal is not None else {}


@tenant_view(read="escalation.view")
def escalation_propose(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "escalation.propose")
    _, stages = selectors.ladder_in_force(tenant_id=contract.tenant_id)
    level = selectors.contract_level(contract=contract)
    form = StepProposeForm(
        request.POST or None,
        contract=contract,
        stages=stages,
        level=level,
        initial=_from_signal(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            step = services.escalation_step_propose(
                membership=membership, contract=contract, **form.service_kwargs()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if step.status == StepStatus.PENDING:
                messages.success(
                    request, f"Step to level {step.to_level} proposed: it waits for an executive."
                )
            else:
                messages.success(request, f"{contract.reference} is now at level {step.to_level}.")
            return redirect(_escalation_url(membership, contract) + f"#step-{step.pk}")
    return render(
        request,
        "escalation/propose.html",
        {
            "form": form,
            "contract": contract,
            "level": level,
            "stages": stages,
            "breadcrumbs": contract_crumbs(
                membership, contract, ("Escalation", _escalation_url(membership, contract))
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


def _decide(request, membership, escalation_step_pk, *, action, service, done):
    step = selectors.escalation_step_get(membership=membership, pk=escalation_step_pk)
    require(membership, action)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            kwargs = {"note": form.cleaned_data["note"]} if service is not None else {}
            (service or services.escalation_step_acknowledge)(
                membership=membership, step=step, **kwargs
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(_escalation_url(membership, step.contract) + f"#step-{step.pk}")
    return _escalation_page(
        request, membership, step.contract, form=form, decision=step.pk, status=400
    )


@tenant_view(read="escalation.view")
@require_POST
def escalation_step_approve(request, *, membership, escalation_step_pk):
    return _decide(
        request,
        membership,
        escalation_step_pk,
        action="escalation.approve",
        service=services.escalation_step_approve,
        done="Step approved: it is in effect.",
    )


@tenant_view(read="escalation.view")
@require_POST
def escalation_step_reject(request, *, membership, escalation_step_pk):
    return _decide(
        request,
        membership,
        escalation_step_pk,
        action="escalation.reject",
        service=services.escalation_step_reject,
        done="Step rejected: the contract stays at its level.",
    )


@tenant_view(read="escalation.view")
@require_POST
def escalation_step_acknowledge(request, *, membership, escalation_step_pk):
    return _decide(
        request,
        membership,
        escalation_step_pk,
        action="escalation.acknowledge",
        service=None,
        done="Step acknowledged.",
    )


@tenant_view(read="escalation.view")
@require_safe
def escalation_step_history(request, *, membership, escalation_step_pk):
    """Every change of one step: proposal, approval or rejection, acknowledgement."""
    step = selectors.escalation_step_get(membership=membership, pk=escalation_step_pk)
    return render(
        request,
        "includes/history_page.html",
        {
            "object": step,
            "history": history_entries(step, limit=500),
            "breadcrumbs": contract_crumbs(
                membership,
                step.contract,
                ("Escalation", _escalation_url(membership, step.contract)),
            ),
        },
    )


# --- the contract dashboard's panel ---------------------------------------------


def dashboard_panel(membership, contract):
    """Level, the stage, a pending step and the last steps, with a link: two
    queries (registered in apps.py)."""
    level, stage = selectors.contract_position(contract=contract)
    steps = list(
        selectors.escalation_steps_visible(membership=membership)
        .filter(contract_id=contract.pk)
        .select_related("stage", "proposed_by")
        .order_by("-proposed_at", "-id")[:PANEL_STEPS]
    )
    return (
        "escalation/_panel.html",
        {
            "escalation_level": level,
            "escalation_stage": stage,
            "escalation_steps": steps,
            "escalation_pending": next((s for s in steps if s.status == StepStatus.PENDING), None),
        },
    )
