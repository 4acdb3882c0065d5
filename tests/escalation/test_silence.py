"""The provider's voice in the signals: an early-warning concern raised on a
contract before its deterioration was flagged counts in the provider's favour
(no "silence" signal; the deterioration signal's reason says so, and when),
while one raised after the signal opened, before the window, or on another
contract does not."""

from datetime import UTC, datetime

import pytest

from escalation.support import concern_raise
from oversight.models import Role
from performance.models import Signal, SignalStatus
from performance.signal_engine import recompute_signals
from tests.factories import ContractFactory, MembershipFactory
from tests.performance.test_signal_engine import STABLE, TODAY, build

pytestmark = pytest.mark.django_db

SPIKE = STABLE[:-3] + [20, 21, 22]  # a sustained special-cause concern, unexplained


def live(contract, kind):
    return Signal.objects.filter(contract=contract, kind=kind).exclude(status=SignalStatus.CLOSED)


def raise_concern(contract, when):
    member = MembershipFactory(
        tenant=contract.tenant, role=Role.PROVIDER, provider=contract.provider
    )
    return concern_raise(
        membership=member,
        contract=contract,
        drifting="Missed visits are rising with two carers off sick",
        drivers="Sickness in the east team",
        mitigation="Agency cover booked for the rounds at risk",
        now=when,
    )


def test_without_a_concern_unexplained_deterioration_is_silence():
    tenant, contract, *_ = build(SPIKE)
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert live(contract, "silence").count() == 1
    assert "raised a concern" not in live(contract, "spc_concern").get().message


def test_a_concern_raised_before_the_signal_counts_in_the_providers_favour():
    tenant, contract, *_ = build(SPIKE)
    concern = raise_concern(contract, datetime(2026, 11, 3, 10, tzinfo=UTC))
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert not live(contract, "silence").exists()
    signal = live(contract, "spc_concern").get()
    assert "The provider raised a concern on 3 Nov 2026, before it was flagged." in signal.message
    assert signal.evidence["provider_concern"]["id"] == concern.pk
    # Steady: the next run changes nothing.
    again = recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert (again.opened, again.updated, again.closed) == (0, 0, 0)


def test_a_concern_raised_after_the_signal_opened_leaves_the_silence():
    tenant, contract, *_ = build(SPIKE)
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    opened = live(contract, "spc_concern").get().opened_at
    raise_concern(contract, opened.replace(year=opened.year + 1))
    result = recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert live(contract, "silence").count() == 1
    assert "raised a concern" not in live(contract, "spc_concern").get().message
    assert (result.opened, result.updated, result.closed) == (0, 0, 0)


def test_a_concern_from_before_the_returns_the_rule_reads_does_not_count():
    # The silence rule reads the returns of periods starting in the last 100
    # days (from September 2026 here); a concern of the spring is about something else.
    tenant, contract, *_ = build(SPIKE)
    raise_concern(contract, datetime(2026, 4, 2, 9, tzinfo=UTC))
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert live(contract, "silence").count() == 1


def test_another_contracts_concern_has_no_effect():
    tenant, contract, *_ = build(SPIKE)
    other = ContractFactory(tenant=tenant, provider=contract.provider)
    raise_concern(other, datetime(2026, 11, 3, 10, tzinfo=UTC))
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert live(contract, "silence").count() == 1
    assert "raised a concern" not in live(contract, "spc_concern").get().message


def test_reading_the_concerns_costs_the_same_queries_whatever_their_number():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(concerns: int) -> int:
        tenant, contract, *_ = build(SPIKE)
        for day in range(concerns):
            raise_concern(contract, datetime(2026, 11, 2 + day, 10, tzinfo=UTC))
        with CaptureQueriesContext(connection) as ctx:
            recompute_signals(tenant_id=tenant.id, today=TODAY)
        return len(ctx.captured_queries)

    assert statements(1) == statements(4)
