"""Working days: weekends and a tenant's public holidays skipped.

A deadline "within 10 operational days" (the NHS Standard Contract's
Operational Days) is the tenth day after the start that is neither a Saturday
or Sunday nor a public holiday of the tenant's calendar. The holidays come
from the maintained ``holidays`` library for the tenant's country and optional
subdivision (``Tenant.holiday_country`` / ``holiday_subdivision``: "US", or
"GB" and "ENG" for England), never from a hand-typed list. With no country set
only weekends are skipped.

Pure computation: the holiday dates of one country, subdivision and year are
looked up once per process (``holiday_dates`` is cached; a year's list does not
change while the process runs, and a library upgrade restarts it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache

import holidays

SATURDAY = 5  # date.weekday(): Saturday and Sunday are 5 and 6


@dataclass(frozen=True)
class HolidayCalendar:
    """Whose public holidays count: a country (ISO 3166 alpha-2) and optionally
    one of its subdivisions; an empty country means weekends only."""

    country: str = ""
    subdivision: str = ""

    @classmethod
    def of(cls, tenant) -> HolidayCalendar:
        return cls(
            country=getattr(tenant, "holiday_country", "") or "",
            subdivision=getattr(tenant, "holiday_subdivision", "") or "",
        )


WEEKENDS_ONLY = HolidayCalendar()


# --- what the library supports ---------------------------------------------------


@cache
def supported_countries() -> dict[str, tuple[str, ...]]:
    """Country code -> its subdivision codes, as the holidays library knows them
    (two-letter codes only, no aliases)."""
    return {
        code: tuple(subdivisions)
        for code, subdivisions in holidays.list_supported_countries(include_aliases=False).items()
        if len(code) == 2
    }


@cache
def subdivision_names(country: str) -> dict[str, str]:
    """Subdivision code -> its name where the library names it ("ENG" -> "England")."""
    try:
        aliases = holidays.country_holidays(country).subdivisions_aliases
    except (NotImplementedError, KeyError):
        return {}
    return {code: name for name, code in aliases.items()}


def calendar_problems(country: str, subdivision: str) -> dict[str, str]:
    """Messages naming the field for a calendar the library cannot give; {} if fine."""
    country = (country or "").strip()
    subdivision = (subdivision or "").strip()
    if not country:
        if subdivision:
            return {
                "holiday_subdivision": "Choose the country first: a subdivision "
                f"({subdivision!r}) belongs to a country."
            }
        return {}
    known = supported_countries()
    if country not in known:
        return {
            "holiday_country": f"{country!r} is not a country the public holidays calendar "
            "knows: use a two-letter ISO 3166 code in capitals, e.g. US or GB."
        }
    if subdivision and subdivision not in known[country]:
        codes = known[country]
        listed = ", ".join(codes) if codes else "none"
        return {
            "holiday_subdivision": f"{subdivision!r} is not a subdivision of {country}: use "
            f"one of {listed}, or leave it empty for the holidays of the whole country."
        }
    return {}


# --- holidays and working days ---------------------------------------------------


@lru_cache(maxsize=1024)
def holiday_dates(country: str, subdivision: str, year: int) -> frozenset[dt.date]:
    """The public holidays of one year (observed substitutes included, e.g.
    "Boxing Day (observed)" or "Independence Day (observed)")."""
    if not country:
        return frozenset()
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(found.keys())


def holiday_names(calendar: HolidayCalendar, start: dt.date, end: dt.date) -> list[tuple]:
    """(date, name) of the calendar's holidays from ``start`` to ``end``, in order."""
    if not calendar.country:
        return []
    found = holidays.country_holidays(
        calendar.country,
        subdiv=calendar.subdivision or None,
        years=range(start.year, end.year + 1),
    )
    return sorted((day, name) for day, name in found.items() if start <= day <= end)


def is_working_day(day: dt.date, calendar: HolidayCalendar = WEEKENDS_ONLY) -> bool:
    if day.weekday() >= SATURDAY:
        return False
    return day not in holiday_dates(calendar.country, calendar.subdivision, day.year)


def add_working_days(
    start: dt.date, days: int, calendar: HolidayCalendar = WEEKENDS_ONLY
) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself not
    counted, as "within 10 days of the notice" starts the day after it);
    ``days`` 0 is ``start``."""
    if days < 0:
        raise ValueError("Count working days forward: days must be 0 or more.")
    day = start
    remaining = days
    while remaining:
        day += dt.timedelta(days=1)
        if is_working_day(day, calendar):
            remaining -= 1
    return day


def working_days_between(
    start: dt.date, end: dt.date, calendar: HolidayCalendar = WEEKENDS_ONLY
) -> int:
    """Working days after ``start`` up to and including ``end`` (so that
    ``working_days_between(d, add_working_days(d, n)) == n``); negative when
    ``end`` is before ``start``."""
    if end < start:
        return -working_days_between(end, start, calendar)
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, calendar):
            count += 1
    return count
