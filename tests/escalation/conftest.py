"""Helpers for the escalation tests: propose a step as a member of tenant A, and
count every table so that a refused write can be shown to write nothing."""

import datetime as dt

import pytest
from django.apps import apps

from escalation import services
from oversight import clock


def default_step(**over) -> dict:
    """What a commissioner writes for a step, as the service takes it."""
    data = {
        "to_level": 1,
        "reason": "Missed visits for three months with no explanation",
        "proportionality_note": "An informal concern is the smallest step that asks for one",
        "next_review_on": clock.today() + dt.timedelta(days=28),
    }
    data.update(over)
    return data


@pytest.fixture
def propose(world):
    """``propose(to_level=…, role=…, contract=…, **fields)``: a step on tenant
    A's P1 contract by its commissioner unless told otherwise."""

    def _propose(*, role="commissioner", contract=None, member=None, **over):
        tw = world.a
        return services.escalation_step_propose(
            membership=member or tw.members[role],
            contract=contract or tw.p1.contract,
            **default_step(**over),
        )

    return _propose


@pytest.fixture
def row_counts():
    """``row_counts()``: rows in every table, history included (every write
    leaves a history row), to show that a refused write wrote nothing."""

    def _counts() -> dict[str, int]:
        return {
            m._meta.label: m._default_manager.count()
            for m in apps.get_models()
            if m._meta.label != "sessions.Session"
        }

    return _counts


@pytest.fixture
def signal_on():
    """``signal_on(contract)``: an open signal of that contract (in its tenant),
    to attach as evidence."""
    from performance.models import Signal

    def _signal_on(contract):
        now = clock.now()
        return Signal.objects.create(
            tenant_id=contract.tenant_id,
            contract=contract,
            kind="return_late",
            key=f"return_late:{contract.pk}",
            severity="medium",
            message=f"Returns late three months running on {contract.reference}",
            opened_at=now,
            last_seen_at=now,
        )

    return _signal_on
