"""The reporting calendar, as pure date arithmetic (no ORM).

Monthly periods are calendar months, weekly periods ISO weeks (Monday to
Sunday), clipped to the contract's dates. A period falls due a set number of
days after it ends and counts as missing a set number of days after that.

``period_state`` is the one rule for where a period stands (due, late,
missing, or its latest return's status); ``selectors.with_state`` writes the
same rule in SQL for lists that filter and count by state.
"""

from dataclasses import dataclass
from datetime import date, timedelta

MONTHLY = "monthly"
WEEKLY = "weekly"

# Where a period stands when no return has been received for it.
DUE, LATE, MISSING = "due", "late", "missing"
# A draft return is not received (``ReturnStatus.DRAFT``'s value).
DRAFT = "draft"


@dataclass(frozen=True)
class Period:
    frequency: str
    start: date
    end: date
    due_date: date
    missing_after: date

    @property
    def label(self) -> str:
        return period_label(self.frequency, self.start)


def period_label(frequency: str, start: date) -> str:
    if frequency == MONTHLY:
        return start.strftime("%Y-%m")
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def parse_period_label(label: str) -> tuple[str, date]:
    """'2026-03' → (monthly, 2026-03-01); '2026-W11' → (weekly, Monday of week 11).
    Raises ValueError with a message a provider can act on."""
    text = (label or "").strip()
    try:
        if "-W" in text.upper():
            year, week = text.upper().split("-W")
            return WEEKLY, date.fromisocalendar(int(year), int(week), 1)
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return MONTHLY, date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(
            f"{label!r} is not a period: use YYYY-MM for a month or YYYY-Www for a week"
        ) from None


def _month_end(day: date) -> date:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def periods_between(
    *,
    frequency: str,
    contract_start: date,
    contract_end: date,
    until: date,
    due_days: int,
    missing_after_days: int,
    since: date | None = None,
) -> list[Period]:
    """Every period of the contract that has started on or before ``until``
    (and, with ``since``, starts on or after the period containing it)."""
    first = since if since and since > contract_start else contract_start
    last = min(contract_end, until)
    if last < first:
        return []
    periods: list[Period] = []
    if frequency == MONTHLY:
        cursor = date(first.year, first.month, 1)
        step = _month_end
    elif frequency == WEEKLY:
        cursor = first - timedelta(days=first.weekday())

        def step(day: date) -> date:
            return day + timedelta(days=6)
    else:
        raise ValueError(f"Unknown reporting frequency {frequency!r}")
    while cursor <= last:
        period_end = step(cursor)
        # Clipped at both ends: a contract starting mid-month reports from its
        # start, and after a change of frequency the first new period starts
        # the day after the last old one ended (no day is reported twice).
        clipped_start = max(cursor, first)
        clipped_end = min(period_end, contract_end)
        due = clipped_end + timedelta(days=due_days)
        periods.append(
            Period(
                frequency=frequency,
                start=clipped_start,
                end=clipped_end,
                due_date=due,
                missing_after=due + timedelta(days=missing_after_days),
            )
        )
        cursor = period_end + timedelta(days=1)
    return periods


def period_state(
    *, due_date: date, missing_after: date, latest_status: str | None, today: date
) -> str:
    """One word for a period: the latest live return's status, else due / late /
    missing by the calendar. A draft does not count as received."""
    if latest_status and latest_status != DRAFT:
        return latest_status
    if today > missing_after:
        return MISSING
    if today > due_date:
        return LATE
    return DUE


def months_since_start(start_year, start_month, year, month):
    """The contract month (1 for the month the contract starts) from years and
    months: plain numbers, or NumPy/pandas columns for a whole frame at once."""
    return (year - start_year) * 12 + (month - start_month) + 1


def contract_month(contract_start: date, period_start: date) -> int:
    """The contract month a period falls in: 1 for the month the contract starts."""
    return months_since_start(
        contract_start.year, contract_start.month, period_start.year, period_start.month
    )
