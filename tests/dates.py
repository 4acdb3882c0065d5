"""The days that date-sensitive tests run on, whatever the day the suite runs.

A result that depends on the date (a demo story, due / late / missing, a table
of months) is tested at each of these pinned days, inside the normal suite:
month ends, a 29 February, the last week of December and the turn of the year,
and 1 December 2026, the day main first went red for a lucky draw.
"""

from datetime import date

import pytest

# The day every other test runs on: the suite's answers never depend on the day
# it runs (tests/conftest.py pins the clock there for each test).
DEFAULT_DAY = date(2026, 12, 1)

DAYS = (
    date(2026, 1, 31),  # a 31-day month's end
    date(2026, 12, 1),  # the day a demo story first failed on a lucky draw
    date(2026, 12, 28),  # the last week of December
    date(2027, 6, 30),  # a 30-day month's end, mid-year
    date(2028, 2, 29),  # a leap day
)


# The same kinds of day inside the term of the ``world`` fixture's contracts
# (1 January 2025 to 31 December 2027), for tests that need a current period.
WORLD_DAYS = (
    date(2025, 12, 29),  # the last week of December
    date(2026, 1, 31),
    date(2026, 2, 28),  # the last day of a February
    date(2026, 12, 1),
    date(2027, 6, 30),
)


def day_params(group: str, days=DAYS):
    """``days`` as pytest params, each in an xdist group of its own, so that a
    module-scoped fixture seeded for one day is built once, by one worker."""
    return [
        pytest.param(day, id=day.isoformat(), marks=pytest.mark.xdist_group(f"{group}-{day}"))
        for day in days
    ]


def pin_days(days=DAYS):
    """Run a test once on each of ``days``: parametrises the autouse ``pinned_day``
    fixture of tests/conftest.py, which holds the clock at the day."""
    return pytest.mark.parametrize(
        "pinned_day", [pytest.param(d, id=d.isoformat()) for d in days], indirect=True
    )


def seeded_day(request) -> date:
    """The day of the module-scoped ``seeded`` fixture a test runs with (a
    ``day_params`` param), else ``DEFAULT_DAY``."""
    callspec = getattr(request.node, "callspec", None)
    day = callspec.params.get("seeded") if callspec else None
    return day if isinstance(day, date) else DEFAULT_DAY
