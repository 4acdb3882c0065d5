"""The reporting calendar: monthly and weekly periods from the contract's
dates, clipped to them, with due and missing dates; and the sync that writes
them (idempotent, follows a change of frequency without reporting a day twice)."""

from __future__ import annotations

from datetime import date

import pytest

from performance.calendar import (
    MONTHLY,
    WEEKLY,
    contract_month,
    parse_period_label,
    period_label,
    periods_between,
)
from performance.models import ReportingPeriod, ReportingPolicy
from performance.selectors import LATE, MISSING, period_state
from performance.services import reporting_calendar_sync


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
