"""The engine against the database: signals open, are not duplicated,
acknowledge, close by themselves, and leave history; risk scores are stored
per day with reasons; a new high signal notifies the contract manager."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.core.management import call_command

from oversight.models import Notification, Role
from performance.models import (
    ContractKpi,
    Kpi,
    ReportingPeriod,
    Return,
    ReturnStatus,
    ReturnValue,
    RiskScore,
    Signal,
    SignalStatus,
)
from performance.services import reporting_calendar_sync
from performance.signal_engine import recompute_signals
from performance.signal_services import signal_acknowledge
from tests.factories import (
    ContractFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    member_user,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
STABLE = [5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6]


def build(series, *, priority=True, target=None):
    tenant = TenantFactory()
    manager = member_user(tenant, Role.COMMISSIONER)
    contract = ContractFactory(
        tenant=tenant,
        contract_manager=manager,
        # Dec 2024 to Nov 2026: 24 periods, every one answered on time below.
        start_date=date(2024, 12, 1),
        end_date=date(2029, 12, 31),
    )
    kpi = Kpi.objects.create(
        tenant=tenant,
        code="missed_visits",
        name="Missed visits",
        definition="Share of planned visits missed",
        unit="percentage",
        direction="lower",
        category="quality",
    )
    ck = ContractKpi.objects.create(
        tenant=tenant, contract=contract, kpi=kpi, is_priority=priority, target=target
    )
    reporting_calendar_sync(contracts=[contract], today=TODAY)
    periods = list(ReportingPeriod.objects.filter(contract=contract).order_by("start"))
    for period, value in zip(periods, series, strict=False):
        put(contract, ck, period, value, manager)
    return tenant, contract, ck, manager, periods


def put(contract, ck, period, value, user):
    ret = Return.objects.create(
        tenant=contract.tenant,
        contract=contract,
        period=period,
        status=ReturnStatus.ACCEPTED,
        source="web",
        created_by=user,
        submitted_at=datetime.combine(period.due_date, time(9), tzinfo=UTC),
    )
    ReturnValue.objects.create(
        tenant=contract.tenant, return_obj=ret, contract_kpi=ck, value=Decimal(str(value))
    )


def live(contract):
    return Signal.objects.filter(contract=contract).exclude(status=SignalStatus.CLOSED)


def test_concern_opens_once_and_recompute_never_duplicates():
    tenant, contract, ck, manager, _ = build(STABLE[:-3] + [20, 21, 22])
    first = recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert first.opened >= 1
    concern = live(contract).get(kind="spc_concern")
    assert concern.severity == "high"  # a sustained, large move on a priority KPI
    assert concern.contract_kpi == ck
    assert concern.history.first().history_change_reason == "Signal opened: condition appeared"

    again = recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert (again.opened, again.updated, again.closed) == (0, 0, 0)
    assert live(contract).filter(kind="spc_concern").count() == 1


def test_acknowledge_then_auto_close_when_the_condition_clears():
    tenant, contract, ck, manager, periods = build(STABLE[:-1] + [20])
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    concern = live(contract).get(kind="spc_concern")
    membership = manager.memberships.get(tenant=tenant)
    signal_acknowledge(membership=membership, signal=concern, note="Called the provider")
    concern.refresh_from_db()
    assert concern.status == SignalStatus.ACKNOWLEDGED
    assert concern.acknowledged_by == manager

    # Acknowledged and still true: it stays acknowledged, not reopened or duplicated.
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    concern.refresh_from_db()
    assert concern.status == SignalStatus.ACKNOWLEDGED

    # The spike was a keying error: corrected value, the condition clears.
    ReturnValue.objects.filter(return_obj__period=periods[len(STABLE) - 1]).update(value=5)
    result = recompute_signals(tenant_id=tenant.id, today=TODAY)
    concern.refresh_from_db()
    assert result.closed >= 1
    assert concern.status == SignalStatus.CLOSED
    assert concern.closed_at is not None
    assert concern.history.first().history_change_reason == "Condition cleared"


def test_acknowledge_needs_a_note_and_a_commissioner():
    from django.core.exceptions import PermissionDenied, ValidationError

    tenant, contract, *_ = build(STABLE[:-1] + [20])
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    signal = live(contract).get(kind="spc_concern")
    commissioner = MembershipFactory(tenant=tenant, role=Role.COMMISSIONER)
    with pytest.raises(ValidationError):
        signal_acknowledge(membership=commissioner, signal=signal, note="  ")
    auditor = MembershipFactory(tenant=tenant, role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        signal_acknowledge(membership=auditor, signal=signal, note="seen")


def test_risk_score_stored_once_per_day_with_reasons():
    tenant, contract, *_ = build(STABLE[:-1] + [20], target=Decimal("5.5"))
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    recompute_signals(tenant_id=tenant.id, today=TODAY)
    scores = RiskScore.objects.filter(contract=contract)
    assert scores.count() == 1
    score = scores.get()
    assert score.score > 0
    assert any("Missed visits" in reason for reason in score.reasons)

    quiet_tenant, quiet, *_ = build(STABLE, priority=False)
    recompute_signals(tenant_id=quiet_tenant.id, today=TODAY)
    assert RiskScore.objects.get(contract=quiet).band == "low"


def test_new_high_signal_notifies_the_contract_manager_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    tenant, contract, _, manager, _ = build(STABLE[:-3] + [20, 21, 22])
    with django_capture_on_commit_callbacks(execute=True):
        recompute_signals(tenant_id=tenant.id, today=TODAY)
        recompute_signals(tenant_id=tenant.id, today=TODAY)
    notes = Notification.objects.filter(user=manager, tenant=tenant)
    assert notes.count() == 1
    message = notes.get().message
    assert message.startswith(f"{contract.reference}: 2 new high-risk signals")
    assert "outside its process limits" in message
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [manager.email]
    assert "Deterioration the provider has not raised" in mailoutbox[0].body


def test_a_manager_who_has_left_the_tenant_is_not_notified(
    mailoutbox, django_capture_on_commit_callbacks
):
    from oversight.models import Membership

    tenant, contract, _, manager, _ = build(STABLE[:-1] + [20])
    Membership.objects.filter(tenant=tenant, user=manager).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        recompute_signals(tenant_id=tenant.id, today=TODAY)
    assert live(contract).exists()
    assert not Notification.objects.filter(user=manager).exists()
    assert mailoutbox == []


def test_scope_by_contract_leaves_other_contracts_alone():
    tenant, contract, *_ = build(STABLE[:-1] + [20])
    other_tenant, other, *_ = build(STABLE[:-1] + [20])
    recompute_signals(contract_ids=[contract.id], today=TODAY)
    assert live(contract).exists()
    assert not live(other).exists()


def test_compute_signals_command(capsys):
    tenant, contract, *_ = build(STABLE[:-1] + [20])
    call_command("compute_signals", "--tenant", tenant.slug, "--contract", contract.reference)
    assert "signals opened" in capsys.readouterr().out
    assert live(contract).exists()


def test_accepting_a_return_recomputes_that_contracts_signals(
    django_capture_on_commit_callbacks,
):
    from performance.services import return_accept
    from performance.tasks import recompute_portfolio_signals

    tenant, contract, ck, manager, periods = build(STABLE[:-1])
    last = periods[len(STABLE) - 1]
    ret = Return.objects.create(
        tenant=tenant,
        contract=contract,
        period=last,
        status=ReturnStatus.SUBMITTED,
        source="api",
        # the provider's (nobody accepts a return they entered: issue 7)
        created_by=UserFactory(),
        submitted_at=datetime.combine(last.due_date, time(9), tzinfo=UTC),
    )
    ReturnValue.objects.create(tenant=tenant, return_obj=ret, contract_kpi=ck, value=Decimal(20))
    assert not live(contract).exists()

    membership = manager.memberships.get(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        return_accept(membership=membership, ret=ret, comment="")
    assert live(contract).filter(kind="spc_concern").exists()
    ck.refresh_from_db()
    assert ck.expected_high is not None  # the expected range was refreshed too

    # The nightly task over the whole portfolio finds nothing new to open.
    totals = recompute_portfolio_signals(tenant_id=tenant.id)
    assert totals["opened"] == 0
    assert totals["contracts"] == 1


def test_kpi_risk_scores_rates_values_as_the_engine_would_without_writing():
    """The demo builder's check of a drawn story: the engine's rating of values
    that are not stored, from the KPI signals alone, and nothing written."""
    from performance.signal_engine import kpi_risk_scores, load_frames

    tenant, contract, ck, _manager, periods = build(
        STABLE[:-3] + [20, 21, 22], target=Decimal("5.5")
    )
    frames = load_frames(contract.__class__.objects.filter(pk=contract.pk), today=TODAY)
    stored = frames["values"]
    signals, scores = Signal.objects.count(), RiskScore.objects.count()

    # The values as rows rate the same as the stored values the engine loaded.
    spiked = [
        (ck.pk, p.start, float(v), None)
        for p, v in zip(periods, STABLE[:-3] + [20, 21, 22], strict=False)
    ]
    loaded = list(
        zip(
            stored["ck"], stored["period_start"], stored["value"], [None] * len(stored), strict=True
        )
    )
    rated = kpi_risk_scores(frames, spiked, today=TODAY)[contract.pk]
    score, band, reasons, _details = rated
    assert rated == kpi_risk_scores(frames, loaded, today=TODAY)[contract.pk]
    assert band in ("medium", "high", "critical") and any("Missed visits" in r for r in reasons)

    steady = [(ck.pk, p.start, float(v), None) for p, v in zip(periods, STABLE, strict=False)]
    assert kpi_risk_scores(frames, steady, today=TODAY)[contract.pk][1] == "low"
    # Site values are rolled up as the engine rolls them (a percentage: the mean).
    at_two_sites = [row[:3] + (site,) for row in spiked for site in (1, 2)]
    assert kpi_risk_scores(frames, at_two_sites, today=TODAY)[contract.pk] == rated
    assert (Signal.objects.count(), RiskScore.objects.count()) == (signals, scores)
