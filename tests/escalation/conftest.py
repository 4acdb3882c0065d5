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


@pytest.fixture
def capped(world):
    """``capped(tw, level=1, cap="2.00")``: the tenant's ladder revised (by its
    admin) so that ``level`` sets a withholding cap of ``cap`` %, and P1's
    contract stepped to that level under it; returns the step in effect."""
    from decimal import Decimal

    def _capped(tw=None, *, level=1, cap="2.00", contract=None):
        tw = tw or world.a
        version = services.ladder_for(tw.tenant)
        services.ladder_revise(
            membership=tw.members["admin"],
            version=version,
            changes={level: {"withholding_cap_percent": Decimal(cap)}},
            reason="Withholding allowed at this level",
        )
        return services.escalation_step_propose(
            membership=tw.members["commissioner"],
            contract=contract or tw.p1.contract,
            **default_step(to_level=level, justification="Skipped levels for the test"),
        )

    return _capped
