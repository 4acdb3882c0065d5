"""The one clock: every service, view and task asks it the time.

``now()`` is an aware datetime, ``today()`` the server's calendar day and
``tenant_today(tenant)`` the day on a tenant's calendar (periods end and fall due
on its days, not the server's: a county in Chicago is still on yesterday at
00:30 UTC).

Rows' ``created_at`` (``default=now``) and their history records
(``oversight/history.py``) are dated by it too. Tests and the demo builder set
it with ``pinned(moment)``; nothing patches ``timezone.now``. A pin holds for
the whole process (the live server's threads see it too), so it is for tests
and management commands, never for a web request.
"""

from __future__ import annotations

import threading
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

from django.utils import timezone

_lock = threading.Lock()
_pins: list[datetime] = []


def now() -> datetime:
    """The current moment (aware), or the innermost pin."""
    with _lock:
        if _pins:
            return _pins[-1]
    return timezone.now()


def today() -> date:
    """The calendar day in the project's time zone (settings.TIME_ZONE)."""
    return timezone.localdate(now())


def tenant_zone(tenant) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tenant.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return zoneinfo.ZoneInfo("UTC")


def tenant_today(tenant) -> date:
    """The calendar day on the tenant's own clock."""
    return timezone.localdate(now(), timezone=tenant_zone(tenant))


def _as_moment(moment: datetime | date) -> datetime:
    if isinstance(moment, datetime):
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
    # A day: noon UTC, so that every tenant from UTC−11 to UTC+11 is on that day too.
    return datetime.combine(moment, time(12, 0), tzinfo=UTC)


@contextmanager
def pinned(moment: datetime | date) -> Iterator[datetime]:
    """Hold the clock at ``moment`` (a day means noon UTC on that day) until the
    block ends. Pins nest; the innermost wins."""
    fixed = _as_moment(moment)
    with _lock:
        _pins.append(fixed)
    try:
        yield fixed
    finally:
        with _lock:
            _pins.remove(fixed)
