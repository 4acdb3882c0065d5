"""The demo part ``escalation.plans`` (registered in apps.py, order 106): the
improvement plans of ``escalation/demo/plans.yaml``, written through the
services with the clock held at each day of the story, so that the demo's
plans, actions, verifications and reviews are in the history like any other,
with who did them and why. Runs after the performance demo's returns (its
contract KPIs) and before its signals (which then see the overdue actions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from contracts.models import Contract
from oversight import clock
from oversight.demo_files import DemoFileError, choices, load
from performance import exports

from . import plans
from .models import ControlKind

DATA_FILE = Path(__file__).with_name("demo") / "plans.yaml"


@dataclass(frozen=True)
class ActionSpec:
    description: str
    lead: str
    milestone: str
    due: int
    evidence_expected: str
    kpis: tuple[str, ...] = ()
    done: int | None = None
    done_by: str = ""
    evidence: str = ""
    verified: int | None = None
    verified_by: str = ""
    note: str = ""


@dataclass(frozen=True)
class ControlSpec:
    kind: str = field(metadata=choices(ControlKind.values))
    description: str = ""


@dataclass(frozen=True)
class CheckSpec:
    in_place: bool
    note: str = ""


@dataclass(frozen=True)
class ReviewSpec:
    held: int
    by: str
    note: str
    checks: tuple[CheckSpec, ...]


@dataclass(frozen=True)
class PlanSpec:
    contract: str
    opened: int
    opened_by: str
    issue_statement: str
    symptoms: str
    root_causes: tuple[str, ...]
    actions: tuple[ActionSpec, ...]
    controls: tuple[ControlSpec, ...] = ()
    reviews: tuple[ReviewSpec, ...] = ()
    agreed: int | None = None
    settling_periods: int = 3


@dataclass(frozen=True)
class PlansFile:
    plans: tuple[PlanSpec, ...]

    def problems(self):
        for i, plan in enumerate(self.plans):
            where = f"plans[{i}] {plan.contract}"
            for j, action in enumerate(plan.actions):
                if action.due < plan.opened:
                    yield f"{where} actions[{j}]", "due before the plan was opened"
                if action.verified is not None and (
                    action.done is None or action.verified < action.done
                ):
                    yield f"{where} actions[{j}]", "verified without being done first"
                if action.done is not None and not (action.done_by and action.evidence):
                    yield f"{where} actions[{j}]", "done needs done_by and evidence"
            for j, review in enumerate(plan.reviews):
                if len(review.checks) != len(plan.controls):
                    yield f"{where} reviews[{j}]", "give one check per control, in their order"


def seed_plans(ctx) -> None:
    """The tenant's plans, where the tenant has the plan's contract."""
    spec = load(DATA_FILE, PlansFile)
    for plan in spec.plans:
        contract = ctx.contracts.get(plan.contract)
        if contract is None:  # another tenant's contract
            continue
        _seed_plan(ctx, plan, contract)


def _member(ctx, email: str, where: str):
    membership = ctx.memberships.get(email)
    if membership is None:
        raise DemoFileError(DATA_FILE, where, f"{email} is not a member of {ctx.tenant.slug}")
    return membership


def _seed_plan(ctx, spec: PlanSpec, contract: Contract) -> None:
    day = ctx.day
    kpis = {
        row["code"]: row["id"]
        for row in exports.contract_kpis_of(tenant_id=contract.tenant_id, contract_id=contract.pk)
    }
    where = f"plan of {spec.contract}"
    opener = _member(ctx, spec.opened_by, where)
    with clock.pinned(day(spec.opened)):
        plan = plans.plan_open(
            membership=opener,
            contract=contract,
            issue_statement=spec.issue_statement,
            symptoms=spec.symptoms,
            root_causes=list(spec.root_causes),
            settling_periods=spec.settling_periods,
            actions=[
                plans.ActionInput(
                    description=a.description,
                    lead=a.lead,
                    milestone=a.milestone,
                    due_on=day(a.due),
                    evidence_expected=a.evidence_expected,
                    contract_kpis=tuple(kpis[code] for code in a.kpis if code in kpis),
                )
                for a in spec.actions
            ],
            controls=[
                plans.ControlInput(kind=c.kind, description=c.description) for c in spec.controls
            ],
            reason="Improvement plan required at enhanced monitoring (demo)",
        )
    if spec.agreed is not None:
        with clock.pinned(day(spec.agreed)):
            plans.plan_agree(membership=opener, plan=plan, note="Agreed at the contract meeting")
    actions = list(plan.actions.order_by("id"))
    controls = list(plan.controls.order_by("id"))
    # Each dated step of the story, in the order of its days.
    steps = []
    for action, a in zip(actions, spec.actions, strict=True):
        if a.done is not None:
            steps.append((a.done, 0, "done", action, a))
        if a.verified is not None:
            steps.append((a.verified, 1, "verified", action, a))
    for review in spec.reviews:
        steps.append((review.held, 2, "review", None, review))
    for offset, _, kind, action, item in sorted(steps, key=lambda s: (s[0], s[1])):
        with clock.pinned(day(offset)):
            if kind == "done":
                plans.action_mark_done(
                    membership=_member(ctx, item.done_by, where),
                    action=action,
                    evidence=item.evidence,
                )
            elif kind == "verified":
                plans.action_verify(
                    membership=_member(ctx, item.verified_by or spec.opened_by, where),
                    action=action,
                    note=item.note,
                )
            else:
                plans.plan_review(
                    membership=_member(ctx, item.by, where),
                    plan=plan,
                    held_on=day(offset),
                    note=item.note,
                    checks={
                        c.pk: plans.CheckInput(in_place=check.in_place, note=check.note)
                        for c, check in zip(controls, item.checks, strict=True)
                    },
                    reason="Monthly review of the improvement plan (demo)",
                )
