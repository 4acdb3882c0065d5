"""Improvement plans: reads, writes and the two signal rules.

A plan (``ImprovementPlan``) states the issue, the symptoms that show it and,
kept apart, its root causes (``PlanRootCause``: why the symptoms happen); its
actions (``PlanAction``) each name an accountable lead, a milestone, a due date,
the evidence that will show it done and the contract KPIs it is expected to
move; its controls (``PlanControl``) are the safeguarding and continuity
measures that must stay in place during recovery, each confirmed (or not) at
every review (``PlanReview`` with one ``ControlCheck`` per control).

The rules, here and not in forms or templates:

- the commissioning side (``plan.open``, ``plan.manage``) opens a plan on a
  contract (optionally from an escalation step of that contract), adds
  actions and controls, agrees it (draft → agreed) and closes it with a note;
- the provider (``plan_action.complete``) marks done only its own contract's
  open actions, and must give the evidence that it is done;
- only the commissioning side verifies a done action (``plan_action.verify``)
  or sends it back to open with a reason (``plan_action.reopen``);
- a review (``plan.review``) confirms every control of the plan in place or
  not, with a note for each one not in place.

Statuses move along ``PLAN_TRANSITIONS`` and ``ACTION_TRANSITIONS`` through
``oversight.workflow``; every write is saved with history (who and why) and the
other side is notified (``improvement_plan``). A refused write writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from contracts.models import Contract
from contracts.selectors import contracts_visible
from oversight import clock, formatting, workflow
from oversight.history import save_with_history
from oversight.models import Membership, Role
from oversight.notifications import notification_recipients, notify
from oversight.permissions import require, require_same_tenant
from oversight.registry import SignalFinding
from performance import exports

from .models import (
    ACTION_TRANSITIONS,
    PLAN_TRANSITIONS,
    TEXT_MAX,
    ActionStatus,
    ControlCheck,
    ControlKind,
    EscalationStep,
    ImprovementPlan,
    PlanAction,
    PlanControl,
    PlanReview,
    PlanRootCause,
    PlanStatus,
)

PLAN_WORKFLOW = workflow.declare(
    ImprovementPlan,
    PLAN_TRANSITIONS,
    noun="improvement plan",
    stamps={PlanStatus.AGREED: "agreed_at", PlanStatus.CLOSED: "closed_at"},
    refusal="This plan is {source}: it cannot become {target}.",
)
ACTION_WORKFLOW = workflow.declare(
    PlanAction,
    ACTION_TRANSITIONS,
    noun="plan action",
    stamps={
        ActionStatus.DONE: "done_at",
        ActionStatus.VERIFIED: "verified_at",
        # An action is only ever moved back to open (it starts there).
        ActionStatus.OPEN: "reopened_at",
    },
    refusal="This action is {source}: it cannot become {target}.",
)

# Notification kind (registered in apps.py) and the signal kinds of the rules below.
PLAN_NOTICE = "improvement_plan"
ACTION_OVERDUE = "plan_action_overdue"
PLAN_NO_EFFECT = "plan_no_effect"

COMMISSIONING_SIDE = (Role.COMMISSIONER, Role.ADMIN)
ROOT_CAUSES_MAX = 20
ACTIONS_MAX = 50
CONTROLS_MAX = 30


# --- reads -----------------------------------------------------------------------


def plans_visible(*, membership: Membership | None) -> QuerySet[ImprovementPlan]:
    """The plans of the contracts the membership sees (a provider: its own)."""
    if membership is None:
        return ImprovementPlan.objects.none()
    return ImprovementPlan.objects.filter(
        tenant_id=membership.tenant_id,
        contract__in=contracts_visible(membership=membership),
    )


def _actions_prefetch() -> Prefetch:
    return Prefetch(
        "actions",
        queryset=PlanAction.objects.select_related("done_by", "verified_by", "reopened_by")
        .prefetch_related("contract_kpis__kpi")
        .order_by("due_on", "id"),
    )


def plans_detailed(*, membership: Membership | None) -> QuerySet[ImprovementPlan]:
    """Plans with everything their page and the API show, in a fixed number of queries."""
    return (
        plans_visible(membership=membership)
        .select_related(
            "tenant", "contract__provider", "step", "opened_by", "agreed_by", "closed_by"
        )
        .prefetch_related(
            Prefetch("root_causes", queryset=PlanRootCause.objects.order_by("id")),
            _actions_prefetch(),
            Prefetch("controls", queryset=PlanControl.objects.order_by("id")),
            Prefetch(
                "reviews",
                queryset=PlanReview.objects.select_related("reviewed_by")
                .prefetch_related(
                    Prefetch(
                        "checks",
                        queryset=ControlCheck.objects.select_related("control").order_by(
                            "control_id"
                        ),
                    )
                )
                .order_by("-held_on", "-id"),
            ),
        )
    )


def plan_get(*, membership: Membership | None, pk) -> ImprovementPlan:
    return get_object_or_404(plans_detailed(membership=membership), pk=pk)


def actions_visible(*, membership: Membership | None) -> QuerySet[PlanAction]:
    if membership is None:
        return PlanAction.objects.none()
    return PlanAction.objects.filter(
        tenant_id=membership.tenant_id,
        plan__contract__in=contracts_visible(membership=membership),
    )


def action_get(*, membership: Membership | None, pk) -> PlanAction:
    qs = actions_visible(membership=membership).select_related(
        "tenant", "plan__contract__provider", "plan__tenant"
    )
    return get_object_or_404(qs, pk=pk)


def open_plan(*, membership: Membership | None, contract: Contract) -> ImprovementPlan | None:
    """The contract's newest plan not closed, with its actions (two queries), or None."""
    return (
        plans_visible(membership=membership)
        .filter(contract_id=contract.pk)
        .exclude(status=PlanStatus.CLOSED)
        .select_related("opened_by")
        .prefetch_related(
            Prefetch(
                "actions",
                queryset=PlanAction.objects.select_related("done_by", "verified_by").order_by(
                    "due_on", "id"
                ),
            )
        )
        .order_by("-opened_at", "-id")
        .first()
    )


def is_overdue(action: PlanAction, today: date) -> bool:
    return action.status == ActionStatus.OPEN and action.due_on < today


# --- inputs ----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    """One action as a form or the API gives it."""

    description: str
    lead: str
    milestone: str
    due_on: date | None
    evidence_expected: str
    contract_kpis: Sequence[int] = ()


@dataclass(frozen=True)
class ControlInput:
    kind: str
    description: str


@dataclass(frozen=True)
class CheckInput:
    """One control as a review found it: ``in_place`` None if not said."""

    in_place: bool | None
    note: str = ""


def _text(value) -> str:
    return (value or "").strip()


def _not_closed(plan: ImprovementPlan, what: str) -> None:
    if plan.status == PlanStatus.CLOSED:
        raise ValidationError({"plan": f"This plan is closed: {what}."})


def _kpi_ids_of(contract: Contract) -> set[int]:
    return {
        row["id"]
        for row in exports.contract_kpis_of(tenant_id=contract.tenant_id, contract_id=contract.pk)
    }


def _action_problems(
    item: ActionInput, *, contract: Contract, known_kpis: set[int], today: date, where: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _text(item.description):
        errors["description"] = f"{where}say what will be done."
    elif len(_text(item.description)) > TEXT_MAX:
        errors["description"] = f"{where}the description is longer than {TEXT_MAX} characters."
    if not _text(item.lead):
        errors["lead"] = f"{where}name the person accountable for the action."
    elif len(_text(item.lead)) > 200:
        errors["lead"] = f"{where}the lead's name is longer than 200 characters."
    if not _text(item.milestone):
        errors["milestone"] = f"{where}name the milestone the action reaches."
    elif len(_text(item.milestone)) > 200:
        errors["milestone"] = f"{where}the milestone is longer than 200 characters."
    if item.due_on is None:
        errors["due_on"] = f"{where}give the date the action is due."
    elif item.due_on < today:
        errors["due_on"] = (
            f"{where}the due date ({formatting.date(item.due_on)}) cannot be before today "
            f"({formatting.date(today)})."
        )
    if not _text(item.evidence_expected):
        errors["evidence_expected"] = f"{where}say what evidence will show the action is done."
    unknown = sorted(set(item.contract_kpis) - known_kpis)
    if unknown:
        errors["contract_kpis"] = (
            f"{where}link KPIs that {contract.reference} reports "
            f"({', '.join(str(pk) for pk in unknown)} {'is' if len(unknown) == 1 else 'are'} "
            "not among them)."
        )
    return {k: v[0].upper() + v[1:] for k, v in errors.items()}


def _control_problems(item: ControlInput, where: str) -> dict[str, str]:
    errors = {}
    if item.kind not in ControlKind.values:
        known = ", ".join(f"{v} ({label.lower()})" for v, label in ControlKind.choices)
        errors["kind"] = f"{where}say what kind of control it is: one of {known}."
    if not _text(item.description):
        errors["description"] = f"{where}say what must stay in place."
    elif len(_text(item.description)) > TEXT_MAX:
        errors["description"] = f"{where}the description is longer than {TEXT_MAX} characters."
    return {k: v[0].upper() + v[1:] for k, v in errors.items()}


def _new_action(plan, item: ActionInput, membership, now) -> PlanAction:
    return PlanAction(
        tenant_id=plan.tenant_id,
        plan=plan,
        description=_text(item.description),
        lead=_text(item.lead),
        milestone=_text(item.milestone),
        due_on=item.due_on,
        evidence_expected=_text(item.evidence_expected),
        status=ActionStatus.OPEN,
        created_by=membership.user,
        created_at=now,
    )


def _save_action(action: PlanAction, kpis: Iterable[int], *, user, reason: str) -> PlanAction:
    save_with_history(action, user=user, reason=reason)
    kpis = sorted(set(kpis))
    if kpis:
        action.contract_kpis.set(kpis)  # recorded in the action's history (m2m_fields)
    return action


# --- notices to the other side ------------------------------------------------------


def _tell_provider(plan: ImprovementPlan, message: str, key: str, url: str = "") -> None:
    members = notification_recipients(
        tenant=plan.tenant, roles=[Role.PROVIDER], contract=plan.contract
    )
    users = [m.user for m in members]
    if users:
        notify(
            tenant=plan.tenant,
            users=users,
            kind=PLAN_NOTICE,
            message=message,
            url=url or plan.get_absolute_url(),
            dedupe_key=f"improvement-plan:{plan.pk}:{key}",
        )


def _tell_commissioners(plan: ImprovementPlan, message: str, key: str, url: str = "") -> None:
    users = [m.user for m in notification_recipients(tenant=plan.tenant, roles=COMMISSIONING_SIDE)]
    if users:
        notify(
            tenant=plan.tenant,
            users=users,
            kind=PLAN_NOTICE,
            message=message,
            url=url or plan.get_absolute_url(),
            dedupe_key=f"improvement-plan:{plan.pk}:{key}",
        )


# --- writes: the plan -------------------------------------------------------------


@transaction.atomic
def plan_open(
    *,
    membership: Membership,
    contract: Contract,
    issue_statement: str,
    symptoms: str,
    root_causes: Sequence[str],
    settling_periods: int | None = 3,
    step: EscalationStep | None = None,
    actions: Sequence[ActionInput] = (),
    controls: Sequence[ControlInput] = (),
    reason: str = "",
    now: datetime | None = None,
) -> ImprovementPlan:
    """Open a plan (as a draft) on ``contract``, with its root causes and any
    first actions and controls. Root causes say why the problem happens: at
    least one, none a copy of the symptoms."""
    require(membership, "plan.open")
    require_same_tenant(membership, contract, "contract")
    contract = Contract.objects.select_related("tenant").get(pk=contract.pk)
    now = now or clock.now()
    today = clock.tenant_today(contract.tenant)
    errors: dict[str, str] = {}
    issue_statement, symptoms = _text(issue_statement), _text(symptoms)
    causes = [_text(c) for c in root_causes if _text(c)]
    if not issue_statement:
        errors["issue_statement"] = "State the issue the plan addresses."
    if not symptoms:
        errors["symptoms"] = "Describe the symptoms: what is seen that shows the problem."
    if not causes:
        errors["root_causes"] = (
            "Give at least one root cause: why the problem happens, not what is seen."
        )
    elif symptoms and any(c.casefold() == symptoms.casefold() for c in causes):
        errors["root_causes"] = (
            "A root cause repeats the symptoms: say why they happen (the cause), not what is seen."
        )
    elif len(causes) > ROOT_CAUSES_MAX:
        errors["root_causes"] = f"Give at most {ROOT_CAUSES_MAX} root causes."
    elif any(len(c) > TEXT_MAX for c in causes):
        errors["root_causes"] = f"A root cause is longer than {TEXT_MAX} characters."
    if step is not None and (
        step.tenant_id != contract.tenant_id or step.contract_id != contract.pk
    ):
        errors["step"] = f"Link a step of {contract.reference}, or none."
    if len(actions) > ACTIONS_MAX:
        errors["actions"] = f"Give at most {ACTIONS_MAX} actions."
    if len(controls) > CONTROLS_MAX:
        errors["controls"] = f"Give at most {CONTROLS_MAX} controls."
    known = _kpi_ids_of(contract)
    for number, item in enumerate(actions, start=1):
        for name, message in _action_problems(
            item, contract=contract, known_kpis=known, today=today, where=f"action {number}: "
        ).items():
            errors.setdefault(f"actions[{number - 1}].{name}", message)
    for number, item in enumerate(controls, start=1):
        for name, message in _control_problems(item, f"control {number}: ").items():
            errors.setdefault(f"controls[{number - 1}].{name}", message)
    plan = ImprovementPlan(
        tenant_id=contract.tenant_id,
        contract=contract,
        step=step if "step" not in errors else None,
        issue_statement=issue_statement,
        symptoms=symptoms,
        settling_periods=settling_periods if settling_periods is not None else 3,
        status=PlanStatus.DRAFT,
        opened_by=membership.user,
        opened_at=now,
    )
    try:
        plan.full_clean(exclude=["contract", "step", "opened_by"])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    reason = _text(reason) or f"Improvement plan opened by {membership.user}"
    user = membership.user
    save_with_history(plan, user=user, reason=reason)
    for cause in causes:
        save_with_history(
            PlanRootCause(tenant_id=plan.tenant_id, plan=plan, cause=cause),
            user=user,
            reason=reason,
        )
    for item in actions:
        _save_action(
            _new_action(plan, item, membership, now), item.contract_kpis, user=user, reason=reason
        )
    for item in controls:
        save_with_history(
            PlanControl(
                tenant_id=plan.tenant_id,
                plan=plan,
                kind=item.kind,
                description=_text(item.description),
            ),
            user=user,
            reason=reason,
        )
    _tell_provider(
        plan,
        f"{contract.reference}: an improvement plan was opened: "
        f"{formatting.shorten(issue_statement, 120)}",
        "opened",
    )
    return plan


def _locked_plan(membership: Membership, plan: ImprovementPlan) -> ImprovementPlan:
    require_same_tenant(membership, plan, "plan")
    return (
        ImprovementPlan.objects.select_for_update()
        .select_related("tenant", "contract")
        .get(pk=plan.pk)
    )


@transaction.atomic
def plan_action_add(
    *, membership: Membership, plan: ImprovementPlan, action: ActionInput, reason: str = ""
) -> PlanAction:
    """Add an action to a plan not closed."""
    require(membership, "plan.manage")
    plan = _locked_plan(membership, plan)
    _not_closed(plan, "no action can be added")
    today = clock.tenant_today(plan.tenant)
    errors = _action_problems(
        action, contract=plan.contract, known_kpis=_kpi_ids_of(plan.contract), today=today, where=""
    )
    if errors:
        raise ValidationError(errors)
    reason = _text(reason) or f"Action added to the plan by {membership.user}"
    new = _save_action(
        _new_action(plan, action, membership, clock.now()),
        action.contract_kpis,
        user=membership.user,
        reason=reason,
    )
    _tell_provider(
        plan,
        f"{plan.contract.reference}: a new improvement-plan action is due "
        f"{formatting.date(new.due_on)}: {formatting.shorten(new.description, 100)}",
        f"action-added:{new.pk}",
        new.get_absolute_url(),
    )
    return new


@transaction.atomic
def plan_control_add(
    *, membership: Membership, plan: ImprovementPlan, control: ControlInput, reason: str = ""
) -> PlanControl:
    """Add a safeguarding or continuity control to a plan not closed."""
    require(membership, "plan.manage")
    plan = _locked_plan(membership, plan)
    _not_closed(plan, "no control can be added")
    errors = _control_problems(control, "")
    if errors:
        raise ValidationError(errors)
    new = PlanControl(
        tenant_id=plan.tenant_id,
        plan=plan,
        kind=control.kind,
        description=_text(control.description),
    )
    save_with_history(
        new, user=membership.user, reason=_text(reason) or f"Control added by {membership.user}"
    )
    return new


@transaction.atomic
def plan_agree(
    *, membership: Membership, plan: ImprovementPlan, note: str = "", now: datetime | None = None
) -> ImprovementPlan:
    """The commissioning side records the plan as agreed with the provider; a
    plan with no action cannot be agreed."""
    require(membership, "plan.manage")
    plan = _locked_plan(membership, plan)
    PLAN_WORKFLOW.check(plan.status, PlanStatus.AGREED)
    if not plan.actions.exists():
        raise ValidationError({"actions": "Add the plan's actions before it is agreed."})
    note = _text(note)
    plan = workflow.transition(
        plan,
        PlanStatus.AGREED,
        membership=membership,
        action="plan.manage",
        reason=f"Agreed by {membership.user}" + (f": {note}" if note else ""),
        now=now,
        fields={"agreed_by": membership.user},
    )
    _tell_provider(plan, f"{plan.contract.reference}: the improvement plan is agreed.", "agreed")
    return plan


@transaction.atomic
def plan_close(
    *, membership: Membership, plan: ImprovementPlan, note: str, now: datetime | None = None
) -> ImprovementPlan:
    """Close a plan, saying why (met, superseded, ended with the contract)."""
    require(membership, "plan.manage")
    plan = _locked_plan(membership, plan)
    PLAN_WORKFLOW.check(plan.status, PlanStatus.CLOSED)
    note = _text(note)
    if not note:
        raise ValidationError({"close_note": "Say why the plan is closed."})
    plan = workflow.transition(
        plan,
        PlanStatus.CLOSED,
        membership=membership,
        action="plan.manage",
        reason=f"Closed by {membership.user}: {note}",
        now=now,
        fields={"closed_by": membership.user, "close_note": note},
        validate=lambda obj: obj.full_clean(),
    )
    _tell_provider(
        plan, f"{plan.contract.reference}: the improvement plan was closed: {note}", "closed"
    )
    return plan


# --- writes: an action's life ----------------------------------------------------------


def _locked_action(membership: Membership, action: PlanAction) -> PlanAction:
    require_same_tenant(membership, action, "action")
    return (
        PlanAction.objects.select_for_update()
        .select_related("tenant", "plan__contract", "plan__tenant")
        .get(pk=action.pk)
    )


@transaction.atomic
def action_mark_done(
    *, membership: Membership, action: PlanAction, evidence: str, now: datetime | None = None
) -> PlanAction:
    """The provider marks one of its own contract's open actions done, with
    the evidence that it is; another provider's action reads as missing."""
    require(membership, "plan_action.complete")
    if not actions_visible(membership=membership).filter(pk=action.pk).exists():
        raise Http404("No such action")
    action = _locked_action(membership, action)
    _not_closed(action.plan, "its actions cannot change")
    ACTION_WORKFLOW.check(action.status, ActionStatus.DONE)
    evidence = _text(evidence)
    if not evidence:
        raise ValidationError({"completion_evidence": "Give the evidence that the action is done."})
    action = workflow.transition(
        action,
        ActionStatus.DONE,
        membership=membership,
        action="plan_action.complete",
        reason=f"Marked done by {membership.user}: {formatting.shorten(evidence, 200)}",
        now=now,
        fields={"done_by": membership.user, "completion_evidence": evidence},
        validate=lambda obj: obj.full_clean(exclude=["contract_kpis"]),
    )
    _tell_commissioners(
        action.plan,
        f"{action.plan.contract.reference}: the provider marked an improvement-plan action "
        f"done, to verify: {formatting.shorten(action.description, 100)}",
        f"action-done:{action.pk}:{action.done_at.isoformat()}",
        action.get_absolute_url(),
    )
    return action


@transaction.atomic
def action_verify(
    *, membership: Membership, action: PlanAction, note: str = "", now: datetime | None = None
) -> PlanAction:
    """The commissioning side verifies a done action against its evidence."""
    require(membership, "plan_action.verify")
    action = _locked_action(membership, action)
    _not_closed(action.plan, "its actions cannot change")
    ACTION_WORKFLOW.check(action.status, ActionStatus.VERIFIED)
    note = _text(note)
    action = workflow.transition(
        action,
        ActionStatus.VERIFIED,
        membership=membership,
        action="plan_action.verify",
        reason=f"Verified by {membership.user}" + (f": {note}" if note else ""),
        now=now,
        fields={"verified_by": membership.user, "verification_note": note},
        validate=lambda obj: obj.full_clean(exclude=["contract_kpis"]),
    )
    _tell_provider(
        action.plan,
        f"{action.plan.contract.reference}: your improvement-plan action was verified: "
        f"{formatting.shorten(action.description, 100)}",
        f"action-verified:{action.pk}",
        action.get_absolute_url(),
    )
    return action


@transaction.atomic
def action_reopen(
    *, membership: Membership, action: PlanAction, reason: str, now: datetime | None = None
) -> PlanAction:
    """The commissioning side sends a done action back to open, saying why
    (the evidence does not show it done)."""
    require(membership, "plan_action.reopen")
    action = _locked_action(membership, action)
    _not_closed(action.plan, "its actions cannot change")
    ACTION_WORKFLOW.check(action.status, ActionStatus.OPEN)
    reason = _text(reason)
    if not reason:
        raise ValidationError(
            {"reopen_reason": "Say why the action goes back to open: what the evidence lacks."}
        )
    action = workflow.transition(
        action,
        ActionStatus.OPEN,
        membership=membership,
        action="plan_action.reopen",
        reason=f"Sent back to open by {membership.user}: {formatting.shorten(reason, 200)}",
        now=now,
        fields={"reopened_by": membership.user, "reopen_reason": reason},
        validate=lambda obj: obj.full_clean(exclude=["contract_kpis"]),
    )
    _tell_provider(
        action.plan,
        f"{action.plan.contract.reference}: an improvement-plan action is open again: {reason}",
        f"action-reopened:{action.pk}:{action.reopened_at.isoformat()}",
        action.get_absolute_url(),
    )
    return action


# --- writes: a review ---------------------------------------------------------------


@transaction.atomic
def plan_review(
    *,
    membership: Membership,
    plan: ImprovementPlan,
    held_on: date | None,
    note: str,
    checks: Mapping[int, CheckInput],
    reason: str = "",
) -> PlanReview:
    """Record a review of a plan not closed: every control confirmed in place
    or not (``checks`` by control id), a note for each one not in place."""
    require(membership, "plan.review")
    plan = _locked_plan(membership, plan)
    _not_closed(plan, "it is not reviewed any more")
    today = clock.tenant_today(plan.tenant)
    controls = list(plan.controls.order_by("id"))
    errors: dict[str, str] = {}
    if held_on is None:
        errors["held_on"] = "Give the date of the review."
    elif held_on > today:
        errors["held_on"] = f"The review date cannot be after today ({formatting.date(today)})."
    note = _text(note)
    if not note:
        errors["note"] = "Say what the review found."
    elif len(note) > TEXT_MAX:
        errors["note"] = f"The note is longer than {TEXT_MAX} characters."
    ids = {c.pk for c in controls}
    unknown = sorted(set(checks) - ids)
    if unknown:
        errors["checks"] = (
            f"Confirm this plan's controls only ({', '.join(map(str, unknown))} "
            f"{'is' if len(unknown) == 1 else 'are'} not among them)."
        )
    unconfirmed = [c for c in controls if checks.get(c.pk) is None or checks[c.pk].in_place is None]
    if unconfirmed:
        names = "; ".join(formatting.shorten(c.description, 60) for c in unconfirmed)
        errors.setdefault(
            "checks", f"Confirm every control in place or not: still to confirm: {names}."
        )
    for c in controls:
        check = checks.get(c.pk)
        if check is not None and check.in_place is False and not _text(check.note):
            errors[f"control_{c.pk}"] = (
                f"Say what is missing of the control “{formatting.shorten(c.description, 60)}” "
                "and what is being done."
            )
        elif check is not None and len(_text(check.note)) > TEXT_MAX:
            errors[f"control_{c.pk}"] = f"The note is longer than {TEXT_MAX} characters."
    if errors:
        raise ValidationError(errors)
    user = membership.user
    missing = [c for c in controls if not checks[c.pk].in_place]
    reason = _text(reason) or (
        f"Plan reviewed by {user}: "
        + (
            f"{len(missing)} of {len(controls)} controls not in place"
            if missing
            else f"all {len(controls)} controls in place"
        )
    )
    review = PlanReview(
        tenant_id=plan.tenant_id,
        plan=plan,
        held_on=held_on,
        note=note,
        reviewed_by=user,
        created_at=clock.now(),
    )
    save_with_history(review, user=user, reason=reason)
    for c in controls:
        save_with_history(
            ControlCheck(
                tenant_id=plan.tenant_id,
                review=review,
                control=c,
                in_place=checks[c.pk].in_place,
                note=_text(checks[c.pk].note),
            ),
            user=user,
            reason=reason,
        )
    _tell_provider(
        plan,
        f"{plan.contract.reference}: the improvement plan was reviewed on "
        f"{formatting.date(held_on)}"
        + (
            f"; {len(missing)} control(s) not in place." if missing else "; every control in place."
        ),
        f"review:{review.pk}",
    )
    return review


# --- the signal rules (registered in apps.py) ------------------------------------------

# An action more than this many days late is a high signal (medium before).
OVERDUE_HIGH_DAYS = 28


def overdue_actions_rule(*, contract_ids, today: date) -> list[SignalFinding]:
    """``plan_action_overdue`` for each action still open past its due date on
    a plan not closed, in one query: medium, high when more than
    ``OVERDUE_HIGH_DAYS`` days late. It closes when the action is done (or the
    plan closed)."""
    rows = (
        PlanAction.objects.filter(
            plan__contract_id__in=list(contract_ids),
            status=ActionStatus.OPEN,
            due_on__lt=today,
        )
        .exclude(plan__status=PlanStatus.CLOSED)
        .order_by("plan__contract_id", "due_on", "id")
        .values_list("pk", "plan_id", "plan__contract_id", "description", "lead", "due_on")
    )
    findings = []
    for pk, plan_id, contract_id, description, lead, due in rows:
        days = (today - due).days
        findings.append(
            SignalFinding(
                contract_id=contract_id,
                kind=ACTION_OVERDUE,
                key=f"{ACTION_OVERDUE}:{pk}",
                severity="high" if days > OVERDUE_HIGH_DAYS else "medium",
                message=(
                    f"Improvement-plan action “{formatting.shorten(description, 80)}” (lead: "
                    f"{lead}) was due {formatting.date(due)} and is still open: "
                    f"{days} day{'s' if days != 1 else ''} late."
                ),
                evidence={
                    "plan": plan_id,
                    "action": pk,
                    "lead": lead,
                    "due_on": due.isoformat(),
                    "days_late": days,
                },
            )
        )
    return findings


# A linked KPI "moved" when the mean of its values after the settling time is
# better than the mean before verification, in the KPI's direction, by at least
# MIN_IMPROVEMENT of the mean before (or by any amount when that mean is 0).
# Judged on at least MIN_POINTS values each side: up to BEFORE_PERIODS values
# before the verification, and every value after the settling time.
MIN_IMPROVEMENT = 0.05
MIN_POINTS = 2
BEFORE_PERIODS = 6


@dataclass(frozen=True)
class KpiEffect:
    """How one linked KPI changed around one verified action."""

    name: str
    unit: str
    direction: str
    before: float
    before_n: int
    after: float
    after_n: int

    @property
    def change(self) -> float:
        """The improvement, in the KPI's unit: positive is better."""
        sign = 1 if self.direction == "higher" else -1
        return sign * (self.after - self.before)

    @property
    def moved(self) -> bool:
        needed = MIN_IMPROVEMENT * abs(self.before)
        return self.change > needed if needed else self.change > 0


def kpi_effect(
    points: Sequence[tuple[date, float]], *, verified_on: date, settling_periods: int, **kpi
) -> KpiEffect | None:
    """The effect of an action verified on ``verified_on`` on one KPI series
    (period start, value; in order): None when it cannot be judged yet (no
    direction, or fewer than ``MIN_POINTS`` values on either side). The
    settling time is the first ``settling_periods`` periods that start after
    the verification day; the period under way that day counts as before."""
    if kpi.get("direction") not in ("higher", "lower"):
        return None
    before = [v for start, v in points if start <= verified_on][-BEFORE_PERIODS:]
    later = [v for start, v in points if start > verified_on]
    after = later[settling_periods:]
    if len(before) < MIN_POINTS or len(after) < MIN_POINTS:
        return None
    return KpiEffect(
        before=sum(before) / len(before),
        before_n=len(before),
        after=sum(after) / len(after),
        after_n=len(after),
        **kpi,
    )


def _effect_words(effect: KpiEffect) -> str:
    better = "higher" if effect.direction == "higher" else "lower"
    return (
        f"{effect.name} {formatting.number(effect.before, effect.unit)} before "
        f"(mean of {effect.before_n}), {formatting.number(effect.after, effect.unit)} after "
        f"(mean of {effect.after_n}; {better} is better)"
    )


def no_effect_rule(*, contract_ids, today: date) -> list[SignalFinding]:
    """``plan_no_effect`` for each verified action of a plan not closed whose
    linked KPIs did not move (``KpiEffect.moved``) once the plan's settling time
    after the verification has passed, in four queries for all contracts. The
    reason says the figures; the signal closes when the KPIs move, or the plan
    is closed."""
    actions = list(
        PlanAction.objects.filter(
            plan__contract_id__in=list(contract_ids),
            status=ActionStatus.VERIFIED,
            verified_at__isnull=False,
        )
        .exclude(plan__status=PlanStatus.CLOSED)
        .select_related("plan", "tenant")
        .prefetch_related("contract_kpis")
        .order_by("plan__contract_id", "verified_at", "id")
    )
    linked = {ck.pk for a in actions for ck in a.contract_kpis.all()}
    series = {v.contract_kpi_id: v for v in exports.kpi_values(contract_kpi_ids=linked)}
    findings = []
    for action in actions:
        verified_on = action.verified_at.astimezone(clock.tenant_zone(action.tenant)).date()
        effects = []
        for ck in action.contract_kpis.all():
            values = series.get(ck.pk)
            if values is None:
                continue
            effect = kpi_effect(
                values.points,
                verified_on=verified_on,
                settling_periods=action.plan.settling_periods,
                name=values.name,
                unit=values.unit,
                direction=values.direction,
            )
            if effect is not None:
                effects.append(effect)
        stuck = [e for e in effects if not e.moved]
        if not stuck:
            continue
        settling = action.plan.settling_periods
        findings.append(
            SignalFinding(
                contract_id=action.plan.contract_id,
                kind=PLAN_NO_EFFECT,
                key=f"{PLAN_NO_EFFECT}:{action.pk}",
                severity="medium",
                message=(
                    f"Improvement-plan action “{formatting.shorten(action.description, 60)}”, "
                    f"verified {formatting.date(verified_on)}, has not moved "
                    + "; ".join(_effect_words(e) for e in stuck)
                    + f", after a settling time of {settling} period{'s' if settling != 1 else ''}."
                ),
                evidence={
                    "plan": action.plan_id,
                    "action": action.pk,
                    "verified_on": verified_on.isoformat(),
                    "settling_periods": settling,
                    "min_improvement": MIN_IMPROVEMENT,
                    "kpis": [
                        {
                            "name": e.name,
                            "direction": e.direction,
                            "before": round(e.before, 4),
                            "before_n": e.before_n,
                            "after": round(e.after, 4),
                            "after_n": e.after_n,
                        }
                        for e in stuck
                    ],
                },
            )
        )
    return findings
