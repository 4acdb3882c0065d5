"""The demo part ``escalation.plans``: each deteriorating provider's contract has
an improvement plan half done (actions verified, one done awaiting
verification, some open, one overdue), with controls and one review, written
through the services on the days of the story; the overdue action raises its
signal. Seeded once per pinned day (the demo's days are relative to today),
without the slow signals part, inside a transaction rolled back at the end."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from escalation import plans
from escalation.models import ActionStatus, ImprovementPlan, PlanAction, PlanStatus
from oversight import clock, registry
from oversight.models import User
from tests.dates import DAYS, day_params

CONTRACTS = ("RC-HCBS-2023-014", "WV-HC-2023-011")


@pytest.fixture(scope="module", params=day_params("plans-demo", days=DAYS[:2]))
def seeded(request, django_db_setup, django_db_blocker):
    today = request.param
    parts = registry.DEMO_PARTS._entries
    signals = parts.pop("performance.signals")
    try:
        with clock.pinned(today), django_db_blocker.unblock(), transaction.atomic():
            seeder = User.objects.create(email="seeder@example.org", full_name="Demo Seeder")
            call_command(
                "seed_demo", "--allow-without-debug", "--actor", seeder.email, stdout=StringIO()
            )
            yield today
            transaction.set_rollback(True)
    finally:
        parts["performance.signals"] = signals


pytestmark = pytest.mark.django_db


def test_each_deteriorating_contract_has_a_plan_half_done(seeded):
    for reference in CONTRACTS:
        plan = ImprovementPlan.objects.get(contract__reference=reference)
        assert plan.status == PlanStatus.AGREED
        assert plan.root_causes.count() >= 2 and plan.controls.count() >= 2
        actions = list(plan.actions.all())
        statuses = [a.status for a in actions]
        assert statuses.count(ActionStatus.VERIFIED) >= 2
        assert statuses.count(ActionStatus.DONE) == 1
        assert statuses.count(ActionStatus.OPEN) >= 2
        assert sum(1 for a in actions if plans.is_overdue(a, seeded)) == 1
        # Actions are linked to the KPIs the contract reports.
        assert any(a.contract_kpis.exists() for a in actions if a.status == ActionStatus.VERIFIED)
        [review] = plan.reviews.all()
        assert review.checks.count() == plan.controls.count()
        assert review.held_on < seeded


def test_the_demo_steps_are_in_the_history_with_who_and_why(seeded):
    for action in PlanAction.objects.filter(
        plan__contract__reference__in=CONTRACTS, status=ActionStatus.VERIFIED
    ):
        records = list(action.history.order_by("history_id"))
        assert [r.status for r in records][-2:] == ["done", "verified"]
        done, verified = records[-2:]
        assert done.history_user.memberships.filter(role="provider").exists()
        assert verified.history_user.memberships.filter(role="commissioner").exists()
        assert verified.history_change_reason.startswith("Verified by ")
        assert done.history_date < verified.history_date


def test_the_overdue_action_raises_its_signal(seeded):
    contracts = list(
        ImprovementPlan.objects.filter(contract__reference__in=CONTRACTS).values_list(
            "contract_id", flat=True
        )
    )
    findings = plans.overdue_actions_rule(contract_ids=contracts, today=seeded)
    assert len(findings) == 2 and {f.contract_id for f in findings} == set(contracts)
