"""The reporting calendar: monthly and weekly periods from the contract's
dates, clipped to them, with due and missing dates; and the sync that writes
them (idempotent, follows a change of frequency without reporting a day twice)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contracts import services as contract_services
from contracts.models import ContractStatus
from oversight.clock import tenant_today
from oversight.models import Role
from performance.calendar import (
    DRAFT,
    LATE,
    MISSING,
    MONTHLY,
    WEEKLY,
    contract_month,
    parse_period_label,
    period_label,
    period_state,
    periods_between,
)
from performance.models import ReportingPeriod, ReportingPolicy, Return, ReturnStatus
from performance.selectors import periods_with_state, with_state
from performance.services import reporting_calendar_sync
from performance.tasks import sync_reporting_calendars
from tests.oversight.test_history import _csv, _import, _row
from tests.oversight.test_isolation import (
    _snapshot,
    _url,
    _values,
    add_every_app,
    all_routes,
)


def _spans(periods):
    return [(p.start, p.end, p.due_date, p.missing_after) for p in periods]


def test_monthly_periods_are_calendar_months_clipped_to_the_contract():
    periods = periods_between(
        frequency=MONTHLY,
        contract_start=date(2025, 1, 15),
        contract_end=date(2025, 4, 10),
        until=date(2026, 1, 1),
        due_days=15,
        missing_after_days=30,
    )
    assert _spans(periods) == [
        # starts mid-month: the first period is from the contract's start
        (date(2025, 1, 15), date(2025, 1, 31), date(2025, 2, 15), date(2025, 3, 17)),
        (date(2025, 2, 1), date(2025, 2, 28), date(2025, 3, 15), date(2025, 4, 14)),
        (date(2025, 3, 1), date(2025, 3, 31), date(2025, 4, 15), date(2025, 5, 15)),
        # ends mid-month: due 15 days after the contract's last day
        (date(2025, 4, 1), date(2025, 4, 10), date(2025, 4, 25), date(2025, 5, 25)),
    ]
    assert [p.label for p in periods] == ["2025-01", "2025-02", "2025-03", "2025-04"]


def test_only_periods_started_by_the_day_are_generated():
    periods = periods_between(
        frequency=MONTHLY,
        contract_start=date(2025, 11, 1),
        contract_end=date(2027, 10, 31),
        until=date(2026, 1, 1),
        due_days=10,
        missing_after_days=20,
    )
    assert [p.label for p in periods] == ["2025-11", "2025-12", "2026-01"]
    assert periods[-1].due_date == date(2026, 2, 10)  # the running month is due after it ends


def test_weekly_periods_are_iso_weeks_clipped_to_the_contract():
    periods = periods_between(
        frequency=WEEKLY,
        contract_start=date(2025, 12, 31),  # a Wednesday
        contract_end=date(2026, 1, 14),  # a Wednesday
        until=date(2026, 2, 1),
        due_days=3,
        missing_after_days=7,
    )
    assert _spans(periods) == [
        (date(2025, 12, 31), date(2026, 1, 4), date(2026, 1, 7), date(2026, 1, 14)),
        (date(2026, 1, 5), date(2026, 1, 11), date(2026, 1, 14), date(2026, 1, 21)),
        (date(2026, 1, 12), date(2026, 1, 14), date(2026, 1, 17), date(2026, 1, 24)),
    ]
    # ISO week labels: 31 December 2025 is in week 1 of 2026.
    assert [p.label for p in periods] == ["2026-W01", "2026-W02", "2026-W03"]


def test_a_contract_not_started_or_with_since_after_its_end_has_no_periods():
    common = dict(frequency=MONTHLY, due_days=15, missing_after_days=30)
    assert periods_between(
        contract_start=date(2026, 5, 1), contract_end=date(2027, 1, 1), until=date(2026, 4, 30),
        **common,
    ) == []  # fmt: skip
    assert periods_between(
        contract_start=date(2025, 1, 1), contract_end=date(2025, 6, 30), until=date(2026, 1, 1),
        since=date(2025, 7, 1), **common,
    ) == []  # fmt: skip


def test_labels_round_trip_and_bad_labels_say_the_format():
    assert parse_period_label("2026-03") == (MONTHLY, date(2026, 3, 1))
    assert parse_period_label("2026-W11") == (WEEKLY, date(2026, 3, 9))
    assert period_label(WEEKLY, date(2026, 3, 11)) == "2026-W11"
    for bad in ("March 2026", "2026-3", "2026-13", "2026-W60", ""):
        with pytest.raises(ValueError, match="use YYYY-MM for a month or YYYY-Www for a week"):
            parse_period_label(bad)


def test_contract_month_counts_from_the_month_the_contract_starts():
    assert contract_month(date(2025, 1, 20), date(2025, 1, 20)) == 1
    assert contract_month(date(2025, 1, 20), date(2025, 6, 1)) == 6
    assert contract_month(date(2025, 11, 1), date(2026, 2, 1)) == 4


def test_a_period_is_late_after_its_due_date_and_missing_after_that():
    due, missing = date(2026, 2, 15), date(2026, 3, 17)
    state = lambda today, status=None: period_state(  # noqa: E731
        due_date=due, missing_after=missing, latest_status=status, today=today
    )
    assert state(date(2026, 2, 15)) == "due"  # on the due date: not yet late
    assert state(date(2026, 2, 16)) == LATE
    assert state(date(2026, 3, 17)) == LATE
    assert state(date(2026, 3, 18)) == MISSING
    assert state(date(2026, 3, 18), "draft") == MISSING  # a draft is not received
    assert state(date(2026, 3, 18), "submitted") == "submitted"


@pytest.mark.django_db
def test_the_database_works_out_the_same_state_as_the_rule(world):
    """``with_state`` (the returns pages and the API's state filter) says what
    ``period_state`` says, day by day around the due and missing dates, for a
    period with no return, with a draft, and with a submitted return."""
    contract = world.a.p1.contract
    reporting_calendar_sync(contracts=[contract], today=date(2025, 1, 5))
    period = ReportingPeriod.objects.get(contract=contract, start=date(2025, 1, 1))
    assert (period.due_date, period.missing_after) == (date(2025, 2, 15), date(2025, 3, 17))
    commissioner = world.a.members[Role.COMMISSIONER]
    days = [date(2025, 2, 15), date(2025, 2, 16), date(2025, 3, 17), date(2025, 3, 18)]

    def states():
        rows = periods_with_state(membership=commissioner).filter(pk=period.pk)
        return [with_state(rows, today=day).get().state for day in days]

    assert states() == ["due", "late", "late", "missing"]
    ret = Return.objects.create(
        tenant=world.a.tenant,
        contract=contract,
        period=period,
        status=ReturnStatus.DRAFT,
        source="web",
        created_by=commissioner.user,
    )
    assert states() == ["due", "late", "late", "missing"]  # a draft is not received
    ret.status = ReturnStatus.SUBMITTED
    ret.save()
    assert states() == ["submitted"] * 4
    assert DRAFT == ReturnStatus.DRAFT  # the rule's word for a draft is the model's


# --- the sync --------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_writes_the_calendar_once_with_the_tenants_policy(world):
    contract = world.a.p1.contract  # 1 January 2025 to 31 December 2027
    ReportingPolicy.objects.create(
        tenant=world.a.tenant, monthly_due_days=20, missing_after_days=10
    )
    created = reporting_calendar_sync(contracts=[contract], today=date(2025, 3, 5))
    assert created == 3
    periods = list(ReportingPeriod.objects.filter(contract=contract).order_by("start"))
    assert [(p.label, p.due_date, p.missing_after) for p in periods] == [
        ("2025-01", date(2025, 2, 20), date(2025, 3, 2)),
        ("2025-02", date(2025, 3, 20), date(2025, 3, 30)),
        ("2025-03", date(2025, 4, 20), date(2025, 4, 30)),
    ]
    assert all(p.tenant_id == world.a.tenant.pk for p in periods)
    assert periods[0].history.first().history_change_reason == "Reporting calendar"
    assert reporting_calendar_sync(contracts=[contract], today=date(2025, 3, 5)) == 0
    assert reporting_calendar_sync(contracts=[contract], today=date(2025, 4, 1)) == 1


@pytest.mark.django_db
def test_enhanced_monitoring_switches_to_weekly_from_the_end_of_the_last_period(world):
    contract = world.a.p1.contract
    reporting_calendar_sync(contracts=[contract], today=date(2025, 2, 10))  # Jan, Feb
    contract.reporting_frequency = WEEKLY
    contract.save()
    reporting_calendar_sync(contracts=[contract], today=date(2025, 3, 12))
    periods = list(ReportingPeriod.objects.filter(contract=contract).order_by("start"))
    assert [(p.frequency, p.label, p.start, p.end) for p in periods] == [
        ("monthly", "2025-01", date(2025, 1, 1), date(2025, 1, 31)),
        ("monthly", "2025-02", date(2025, 2, 1), date(2025, 2, 28)),
        ("weekly", "2025-W09", date(2025, 3, 1), date(2025, 3, 2)),  # Sat–Sun, no overlap
        ("weekly", "2025-W10", date(2025, 3, 3), date(2025, 3, 9)),
        ("weekly", "2025-W11", date(2025, 3, 10), date(2025, 3, 16)),
    ]
    assert periods[3].due_date == date(2025, 3, 12)  # three days after the week, by default
    # And back to monthly: the month starts the day after the last week ends.
    contract.reporting_frequency = MONTHLY
    contract.save()
    reporting_calendar_sync(contracts=[contract], today=date(2025, 4, 2))
    last = ReportingPeriod.objects.filter(contract=contract).order_by("-start")
    assert [(p.label, p.start, p.end) for p in last[:2]] == [
        ("2025-04", date(2025, 4, 1), date(2025, 4, 30)),
        ("2025-03", date(2025, 3, 17), date(2025, 3, 31)),
    ]


# --- who writes the calendar: the register's services and the nightly task, never a page


def _month_starts_to(today: date, count: int) -> list[date]:
    """The first days of the ``count`` months up to and including today's."""
    starts = [today.replace(day=1)]
    while len(starts) < count:
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    return starts


def _contract_data(tw, **over) -> dict:
    data = {
        "reference": "CAL-001",
        "title": "Reablement at home",
        "provider": tw.p1.provider,
        "service_type": tw.service_type,
        "status": ContractStatus.ACTIVE,
        "scope": "Short-term reablement after a hospital stay.",
        "end_date": date(2099, 12, 31),
        "annual_value": Decimal("100000"),
        "total_value": Decimal("200000"),
        "payment_model": "block",
        "payment_at_risk_pct": Decimal("0"),
        "contract_manager": tw.user("commissioner"),
    }
    data.update(over)
    return data


@pytest.mark.django_db
def test_a_contract_created_active_has_its_periods_at_once_with_history(world):
    tw = world.a
    starts = _month_starts_to(tenant_today(tw.tenant), 3)
    contract = contract_services.contract_create(
        membership=tw.members["commissioner"],
        data=_contract_data(tw, start_date=starts[0]),
        reason="Award",
    )
    periods = list(ReportingPeriod.objects.filter(contract=contract).order_by("start"))
    assert [p.start for p in periods] == starts
    assert periods[0].history.first().history_change_reason == "Reporting calendar of CAL-001"
    assert periods[0].history.first().history_user == tw.user("commissioner")


@pytest.mark.django_db
def test_a_planned_contract_gets_its_periods_when_it_is_made_active(world):
    tw = world.a
    starts = _month_starts_to(tenant_today(tw.tenant), 2)
    contract = contract_services.contract_create(
        membership=tw.members["commissioner"],
        data=_contract_data(tw, start_date=starts[0], status=ContractStatus.PLANNED),
        reason="Award",
    )
    assert not ReportingPeriod.objects.filter(contract=contract).exists()
    contract_services.contract_update(
        membership=tw.members["commissioner"],
        contract=contract,
        data={"status": ContractStatus.ACTIVE},
        reason="Service started",
    )
    assert [p.start for p in ReportingPeriod.objects.filter(contract=contract)] == starts


@pytest.mark.django_db
def test_a_rejected_contract_change_writes_no_period(world):
    tw = world.a
    with pytest.raises(ValidationError):
        contract_services.contract_create(
            membership=tw.members["commissioner"],
            data=_contract_data(tw, start_date=date(2025, 1, 1), end_date=date(2024, 1, 1)),
            reason="Award",
        )
    assert not ReportingPeriod.objects.filter(contract__reference="CAL-001").exists()


@pytest.mark.django_db
def test_the_nightly_task_adds_the_periods_that_fell_due(world):
    contract = world.a.p1.contract  # active, 1 January 2025 to 31 December 2027
    created = sync_reporting_calendars(tenant_id=world.a.tenant.pk, today="2025-03-05")
    assert created == 6  # three for each of the tenant's two contracts
    assert [p.label for p in ReportingPeriod.objects.filter(contract=contract)] == [
        "2025-01",
        "2025-02",
        "2025-03",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["commissioner", "provider", "admin"])
def test_reading_every_page_writes_nothing(world, client_for, role):
    """GET every tenant route (pages and API) of tenant A as one member, with a
    KPI, a period, a return and a signal per contract: no row is added,
    changed (a history row would be added) or deleted. The contracts are active
    and owe periods they do not have yet, which a page must not create."""
    for tw in (world.a, world.b):
        add_every_app(tw)  # every route's objects, as the isolation crawl has them
    contract = world.a.p1.contract
    assert contract.status == ContractStatus.ACTIVE and contract.start_date < date(2025, 3, 1)
    assert ReportingPeriod.objects.filter(contract=contract).count() == 1
    client = client_for(world.a.members[role])
    routes = [r for r in all_routes() if r.is_tenant]
    before = _snapshot()
    answered = []
    for route in routes:
        url = _url(route, _values(route, world.a, world.a.p1, world.a.tenant.slug))
        response = client.get(url)
        assert response.status_code < 500, f"GET {url} → {response.status_code}"
        answered.append((url, response.status_code))
    after = _snapshot()
    assert {k: (before[k], after[k]) for k in before if before[k] != after[k]} == {}
    assert (contract_returns_url(world.a), 200) in answered
    assert sum(1 for _, status in answered if status == 200) >= 30, answered


def contract_returns_url(tw) -> str:
    return reverse(
        "contract_returns", kwargs={"tenant_slug": tw.tenant.slug, "contract_pk": tw.p1.contract.pk}
    )


@pytest.mark.django_db
def test_contracts_imported_active_have_their_periods_and_planned_ones_none(world, tmp_path):
    starts = _month_starts_to(tenant_today(world.a.tenant), 3)
    path = _csv(
        tmp_path,
        world,
        _row(world, "IMP-001", start_date=starts[0].isoformat()),
        _row(world, "IMP-002", start_date=starts[0].isoformat(), status="planned"),
    )
    _import(path, world, reason="Register migrated from spreadsheet")
    active = ReportingPeriod.objects.filter(contract__reference="IMP-001").order_by("start")
    assert [p.start for p in active] == starts
    assert active[0].history.first().history_change_reason == (
        "Reporting calendar (Register migrated from spreadsheet)"
    )
    assert not ReportingPeriod.objects.filter(contract__reference="IMP-002").exists()
