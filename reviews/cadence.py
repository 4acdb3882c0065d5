"""The meeting cadence: which contracts meet monthly and which quarterly, and
the slots of the months ahead.

A contract gets **monthly** check-ins when it is

- **high-risk**: its latest risk score is in the high or critical band;
- **high-value**: its annual value is at least ``HIGH_VALUE_ANNUAL`` (one
  million in the contract's currency, the size at which most agencies put a
  contract under a named senior manager; a deployment may set
  ``REVIEWS_HIGH_VALUE_ANNUAL`` in Django's settings);
- **new**: it started within the last ``NEW_MONTHS`` (12) months;

and **quarterly** check-ins otherwise. Each active contract's slots are the
months (or quarters) whose meeting day falls in the next ``HORIZON_DAYS``; the
meeting day is the second Tuesday of the month (of the quarter's first month)
at 10:00 on the tenant's clock. Each tenant also has a quarterly internal
portfolio review on the third Thursday of the quarter's first month.

The functions here are pure: ``reviews.services.meetings_generate`` reads the
contracts and writes the meetings.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings

HIGH_VALUE_ANNUAL = Decimal("1000000")
NEW_MONTHS = 12
HORIZON_DAYS = 92
HIGH_BANDS = {"high", "critical"}
MEETING_TIME = time(10, 0)
MEETING_MINUTES = 60
PORTFOLIO_MINUTES = 90

MONTHLY = "monthly"
QUARTERLY = "quarterly"


def high_value_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "REVIEWS_HIGH_VALUE_ANNUAL", HIGH_VALUE_ANNUAL)))


@dataclass(frozen=True)
class Rhythm:
    frequency: str  # MONTHLY or QUARTERLY
    reasons: tuple[str, ...]  # why monthly ("high-risk", "high-value", "new"); () if quarterly


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def rhythm(
    *, band: str | None, annual_value: Decimal | None, start_date: date, today: date
) -> Rhythm:
    reasons = []
    if band in HIGH_BANDS:
        reasons.append("high-risk")
    if annual_value is not None and annual_value >= high_value_threshold():
        reasons.append("high-value")
    if start_date <= today and months_between(start_date, today) < NEW_MONTHS:
        reasons.append("new")
    return Rhythm(MONTHLY if reasons else QUARTERLY, tuple(reasons))


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0) of the month."""
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    day = 1 + offset + 7 * (n - 1)
    assert day <= calendar.monthrange(year, month)[1]
    return date(year, month, day)


@dataclass(frozen=True)
class Slot:
    key: str  # the cadence_key: "<contract>:2027-01", "<contract>:2027Q1", "portfolio:2027Q1"
    day: date
    label: str  # "January 2027", "Q1 2027"


def _months(today: date, count: int):
    year, month = today.year, today.month
    for _ in range(count):
        yield year, month
        month += 1
        if month == 13:
            year, month = year + 1, 1


def slots(*, frequency: str, prefix: str, today: date, weekday: int = 1, nth: int = 2):
    """The slots whose meeting day is on or after ``today`` and within the horizon."""
    horizon = today + timedelta(days=HORIZON_DAYS)
    out = []
    for year, month in _months(today, 5):
        if frequency == QUARTERLY and month not in (1, 4, 7, 10):
            continue
        day = nth_weekday(year, month, weekday, nth)
        if not today <= day <= horizon:
            continue
        if frequency == MONTHLY:
            out.append(
                Slot(f"{prefix}:{year}-{month:02d}", day, f"{calendar.month_name[month]} {year}")
            )
        else:
            quarter = (month - 1) // 3 + 1
            out.append(Slot(f"{prefix}:{year}Q{quarter}", day, f"Q{quarter} {year}"))
    return out


def moment(day: date, zone, minutes: int) -> tuple[datetime, datetime]:
    start = datetime.combine(day, MEETING_TIME, tzinfo=zone)
    return start, start + timedelta(minutes=minutes)
