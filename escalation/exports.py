"""What escalation lets other feature apps read (pyproject.toml's import-linter
``ignore_imports`` lists each importer, e.g. "reviews.** -> escalation.exports").

Plain functions answering plain dicts, scoped by the membership (a provider:
its own contracts, through escalation's selectors), so that a review meeting's
pack reads a contract's escalation without reaching into escalation's models:

- ``escalation_summary``: the level the contract sits at, its stage's name and
  every step on the ladder, newest first;
- ``plan_actions_open``: the open improvement-plan actions, overdue ones marked;
- ``concerns_of``: the provider's early-warning concerns, newest first.
"""

from __future__ import annotations

from datetime import date, datetime

from .ladder import DEFAULT_STAGES
from .models import ActionStatus, PlanStatus
from .plans import actions_visible
from .selectors import concerns_visible, contract_position, contract_steps


def escalation_summary(*, membership, contract) -> dict:
    """``{"level", "stage", "steps": [{"from_level", "to_level", "stage", "status",
    "reason", "proposed_at", "effective_at"}]}`` in two queries (three with steps)."""
    level, stage = contract_position(contract=contract)
    defaults = {s["level"]: s["name"] for s in DEFAULT_STAGES}
    name = stage.name if stage else defaults.get(level, f"Level {level}")
    steps = [
        {
            "from_level": step.from_level,
            "to_level": step.to_level,
            "stage": step.stage.name,
            "status": step.get_status_display(),
            "reason": step.reason,
            "proposed_at": step.proposed_at,
            "effective_at": step.effective_at,
        }
        for step in contract_steps(membership=membership, contract=contract).order_by(
            "-proposed_at", "-id"
        )
    ]
    return {"level": level, "stage": name, "steps": steps}


def plan_actions_open(*, membership, contract_ids, today: date) -> list[dict]:
    """The open actions of plans not closed on ``contract_ids`` (as far as the
    membership sees them), soonest due first, in one query: ``{"id",
    "contract_id", "plan_id", "description", "lead", "due_on", "overdue",
    "url"}``."""
    rows = (
        actions_visible(membership=membership)
        .filter(plan__contract_id__in=list(contract_ids), status=ActionStatus.OPEN)
        .exclude(plan__status=PlanStatus.CLOSED)
        .select_related("plan")
        .order_by("due_on", "id")
    )
    return [
        {
            "id": action.pk,
            "contract_id": action.plan.contract_id,
            "plan_id": action.plan_id,
            "description": action.description,
            "lead": action.lead,
            "due_on": action.due_on,
            "overdue": action.due_on < today,
            "url": action.plan.get_absolute_url(),
        }
        for action in rows
    ]


def concerns_of(*, membership, contract, since: datetime | None = None) -> list[dict]:
    """The provider's concerns on ``contract`` (raised at or after ``since``),
    newest first, in one query."""
    rows = concerns_visible(membership=membership).filter(contract_id=contract.pk)
    if since is not None:
        rows = rows.filter(raised_at__gte=since)
    return [
        {
            "id": concern.pk,
            "drifting": concern.drifting,
            "drivers": concern.drivers,
            "mitigation": concern.mitigation,
            "support_requested": concern.support_requested,
            "raised_at": concern.raised_at,
            "status": concern.get_status_display(),
        }
        for concern in rows.order_by("-raised_at", "-id")
    ]
