"""Escalation's demo part (escalation/demo.py, escalation/demo/ladder.yaml): the
deteriorating provider at enhanced monitoring (weekly reporting), a level-4 step
awaiting an executive's approval after a formal notice and the provider's
response, the recovered provider's way up and back down, all made through the
services (history with who and why) and dated from the seeding day, on a month
end, a year end and mid-year."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from contracts.models import Contract
from escalation.demo import ladder_data
from escalation.models import (
    EscalationRecord,
    EscalationStep,
    FormalNotice,
    NoticeKind,
    NoticeStatus,
    StepStatus,
)
from oversight import clock
from oversight.models import Role, User
from tests.dates import day_params

DAYS = (dt.date(2026, 1, 31), dt.date(2026, 12, 31), dt.date(2027, 6, 30))
AT_LEVEL_2 = ("RC-HCBS-2023-014", "WV-HC-2023-011")
AWAITING_LEVEL_4 = ("RC-HCBS-2024-001", "WV-D2A-2024-003")
RECOVERED = ("RC-BH-2022-003", "WV-MH-2022-008")


@pytest.fixture(scope="module", params=day_params("demo-ladder", DAYS))
def seeded(request, django_db_setup, django_db_blocker):
    today = request.param
    with clock.pinned(today), django_db_blocker.unblock(), transaction.atomic():
        seeder = User.objects.create(email="seeder@example.org", full_name="Demo Seeder")
        call_command(
            "seed_demo", "--allow-without-debug", "--actor", seeder.email, stdout=StringIO()
        )
        yield {"today": today}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def _steps(reference):
    return list(
        EscalationStep.objects.filter(contract__reference=reference)
        .select_related("contract__tenant", "proposed_by")
        .order_by("proposed_at", "id")
    )


def _level(reference) -> int:
    return EscalationRecord.objects.get(contract__reference=reference).level


def test_the_deteriorating_provider_sits_at_enhanced_monitoring_reporting_weekly(seeded):
    from performance.models import ReportingPeriod
    from performance.services import reporting_calendar_sync

    today = seeded["today"]
    for reference in AT_LEVEL_2:
        contract = Contract.objects.get(reference=reference)
        assert _level(reference) == 2
        assert contract.reporting_frequency == "weekly"
        steps = _steps(reference)
        assert [(s.from_level, s.to_level, s.status) for s in steps] == [
            (0, 1, StepStatus.EFFECTIVE),
            (1, 2, StepStatus.EFFECTIVE),
        ]
        for step in steps:
            assert step.reason and step.proportionality_note
            assert step.evidence.exists(), (reference, step.to_level)
            assert step.next_review_on > step.proposed_at.date()
            # The commissioner proposed it, and the history says who and why.
            record = step.history.earliest()
            assert record.history_user == step.proposed_by
            assert record.history_change_reason == step.reason
            assert step.proposed_at.date() < today
        assert steps[1].acknowledged_at is not None  # the provider acknowledged
        # The level-1 request for explanation, answered, with a signal attached
        # where the nightly runs had one open then.
        request = FormalNotice.objects.get(contract=contract, kind=NoticeKind.EXPLANATION)
        assert request.status == NoticeStatus.RESPONDED and not request.responded_late
        # Weekly periods follow the current month: the calendar's next sync makes them.
        with transaction.atomic():
            reporting_calendar_sync(contracts=[contract], today=today + dt.timedelta(days=45))
            weekly = ReportingPeriod.objects.filter(contract=contract, frequency="weekly")
            assert weekly.count() >= 2
            assert weekly.order_by("start").first().start.day == 1
            transaction.set_rollback(True)


def test_a_level_4_step_awaits_an_executives_approval_after_a_notice_and_a_response(seeded):
    for reference in AWAITING_LEVEL_4:
        assert _level(reference) == 3
        steps = _steps(reference)
        assert [s.to_level for s in steps] == [1, 2, 3, 4]
        pending = steps[-1]
        assert (pending.from_level, pending.status) == (3, StepStatus.PENDING)
        assert pending.decided_by is None and pending.stage.executive_approval_required
        notice = FormalNotice.objects.get(contract__reference=reference, kind=NoticeKind.FORMAL)
        assert notice.step == steps[2]
        assert notice.status == NoticeStatus.RESPONDED and notice.response
        assert notice.responded_by.memberships.get(tenant=notice.tenant).role == Role.PROVIDER
        # The executive is asked (the pending step's notification).
        from oversight.models import Notification

        assert Notification.objects.filter(
            tenant=notice.tenant, kind="escalation_approval", user__memberships__role="executive"
        ).exists()


def test_the_recovered_provider_went_up_and_back_down_with_recovery_evidence(seeded):
    for reference in RECOVERED:
        contract = Contract.objects.get(reference=reference)
        steps = _steps(reference)
        assert [(s.from_level, s.to_level) for s in steps] == [(0, 1), (1, 0)]
        assert steps[-1].recovery_evidence
        assert _level(reference) == 0
        assert contract.reporting_frequency == "monthly"


def test_the_steps_are_dated_from_the_seeding_day(seeded):
    today = seeded["today"]
    for slug, contracts in ladder_data().tenants.items():
        for spec in contracts:
            steps = _steps(spec.reference)
            assert steps[0].contract.tenant.slug == slug
            assert [s.proposed_at.date() for s in steps] == [
                today + dt.timedelta(days=step.day) for step in spec.steps
            ]


def test_no_notice_of_the_demo_is_overdue(seeded):
    from performance.models import Signal

    assert not Signal.objects.filter(kind="notice_overdue").exists()
    assert not FormalNotice.objects.filter(status=NoticeStatus.ISSUED).exists()
