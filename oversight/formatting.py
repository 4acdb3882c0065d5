"""How values, money, dates and periods read, everywhere people see them.

One set of pure functions serves the templates (through
``oversight.templatetags.formatting``), the charts, the return form, the
signal sentences and the notifications, so that a figure reads the same on
every page: to its unit's precision (a count has no decimals, a percentage
one), money with its currency's symbol in the tenant's locale, one date
format ("1 Feb 2027") and one period label ("Oct 2026", "week of 3 Nov 2026").

Codes (``2026-03``, ``2026-W11``, KPI codes) are for the data team's files and
the API, not for these labels.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency

NONE = "—"  # what a missing figure reads as

# Decimals shown per KPI unit. Counts and money are whole; a percentage and a
# rate are read to one decimal; days (often an average) to one.
DECIMALS = {
    "count": 0,
    "percentage": 1,
    "rate_per_1000": 1,
    "days": 1,
    "currency": 0,
}
DEFAULT_DECIMALS = 2  # a unit we do not know: enough to be honest, not four

# The range a unit's value can take: no negative count, no percentage above 100.
UNIT_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "count": (0, None),
    "percentage": (0, 100),
    "rate_per_1000": (0, None),
    "days": (0, None),
    "currency": (0, None),
}

# The locale a tenant reads in, from its currency (a tenant has no locale field).
CURRENCY_LOCALES = {"USD": "en_US", "GBP": "en_GB", "EUR": "en_IE", "CAD": "en_CA", "AUD": "en_AU"}
DEFAULT_LOCALE = "en_US"


def _decimal(value) -> Decimal | None:
    """A value as a Decimal, or None when there is no number (None, NaN, text)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return Decimal(repr(value))
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return None if number.is_nan() or number.is_infinite() else number


def decimals_for(unit: str) -> int:
    return DECIMALS.get(unit or "", DEFAULT_DECIMALS)


def number(value, unit: str = "", *, places: int | None = None) -> str:
    """A value to its unit's precision: ``97`` (count), ``95.2%`` (percentage),
    ``3.4`` (rate per 1,000), ``1,204`` (thousands grouped). None reads "—"."""
    amount = _decimal(value)
    if amount is None:
        return NONE
    places = decimals_for(unit) if places is None else places
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0"
    text = f"{rounded:,.{places}f}"
    return f"{text}%" if unit == "percentage" else text


def plain(value) -> str:
    """A stored decimal as a person types it into a form: 92.5, not 92.5000."""
    amount = _decimal(value)
    if amount is None:
        return ""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clip_to_unit(value, unit: str):
    """``(shown, clipped)``: the value held inside what its unit can be (a
    process limit of -2.2 for a count shows as 0), and whether it was moved.
    The SPC arithmetic keeps its raw limits; only what is shown is clipped."""
    amount = _decimal(value)
    if amount is None:
        return value, False
    low, high = UNIT_BOUNDS.get(unit or "", (None, None))
    if low is not None and amount < low:
        return type(value)(low) if isinstance(value, float | Decimal) else low, True
    if high is not None and amount > high:
        return type(value)(high) if isinstance(value, float | Decimal) else high, True
    return value, False


def statistic(value, unit: str = "") -> str:
    """A mean or a process limit: at least one decimal, even for a count. A
    count's mean of 2.3 is not a count, and an upper limit shown as "6" would
    contradict a value of 6 flagged as outside a limit of 5.8."""
    return number(value, unit, places=max(decimals_for(unit), 1))


def limit(value, unit: str = "") -> str:
    """A process limit as shown: clipped to the unit, then as a statistic."""
    return statistic(clip_to_unit(value, unit)[0], unit)


def value_range(low, high, unit: str = "") -> str:
    """An expected range as a person can use it: "0 to 6" for a count whose
    limits work out at -2.19 and 6.79. Clipped to the unit, then rounded
    inwards (the low end up, the high end down), so that every figure the
    range shows is inside it: 7 is outside 6.79, and the range must not say
    "to 7"."""
    places = decimals_for(unit)
    step = Decimal(1).scaleb(-places)

    def end(value, rounding):
        amount = _decimal(clip_to_unit(value, unit)[0])
        if amount is None:
            return NONE
        return number(amount.quantize(step, rounding=rounding), unit)

    return f"{end(low, ROUND_CEILING)} to {end(high, ROUND_FLOOR)}"


def locale_for(currency: str | None) -> str:
    return CURRENCY_LOCALES.get((currency or "").upper(), DEFAULT_LOCALE)


def tenant_locale(tenant) -> str:
    """A tenant's locale, from its currency: en_US for USD, en_GB for GBP."""
    return locale_for(getattr(tenant, "currency", None))


def money(amount, currency: str, locale: str | None = None) -> str:
    """``$1,120,000`` / ``£5,200,000``: the currency's symbol in the locale
    (the currency's own when none is given); pence and cents only when the
    amount has them."""
    value = _decimal(amount)
    if value is None:
        return NONE
    locale = locale or locale_for(currency)
    if value == value.to_integral_value():
        return format_currency(
            value, currency, format="¤#,##0", locale=locale, currency_digits=False
        )
    return format_currency(value, currency, locale=locale)


def tenant_money(amount, currency: str, tenant) -> str:
    return money(amount, currency, tenant_locale(tenant))


def date(value) -> str:
    """One date format everywhere: "1 Feb 2027". A datetime reads as its day."""
    if value is None or value == "":
        return NONE
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.day} {value:%b %Y}"


def datetime(value, *, tz=None) -> str:
    """ "1 Feb 2027 14:05", in ``tz`` (or as given when it is naive / no tz)."""
    if value is None or value == "":
        return NONE
    if tz is not None and value.tzinfo is not None:
        value = value.astimezone(tz)
    return f"{date(value)} {value:%H:%M}"


def period_label(period=None, *, start: dt.date | None = None, frequency: str = "monthly") -> str:
    """A reporting period as people name it: "Oct 2026" for a month, "week of
    3 Nov 2026" for a week. Takes a period (anything with ``start`` and
    ``frequency``) or ``start=`` and ``frequency=``."""
    if period is not None:
        start = getattr(period, "start", period)
        frequency = getattr(period, "frequency", frequency)
    if start is None:
        return NONE
    if isinstance(start, dt.datetime):
        start = start.date()
    if frequency == "weekly":
        return f"week of {date(start)}"
    return f"{start:%b %Y}"


def period_labels(starts: list[dt.date], frequencies: dict | None = None) -> list[str]:
    """Labels for periods known by their first day (a chart's points, a
    signal's periods). ``frequencies`` maps a start to "monthly"/"weekly"
    where the calendar is known; otherwise a start within a fortnight of
    another is a week's (a contract moved to weekly returns under enhanced
    monitoring) and the rest are months'. No two labels are the same."""
    frequencies = frequencies or {}
    ordered = sorted(set(starts))
    guessed = {}
    for i, d in enumerate(ordered):
        gaps = [abs((d - o).days) for o in ordered[max(i - 1, 0) : i + 2] if o != d]
        guessed[d] = "weekly" if gaps and min(gaps) < 15 else "monthly"
    labels = [period_label(start=d, frequency=frequencies.get(d) or guessed[d]) for d in starts]
    if len(set(labels)) != len(set(starts)):  # two months' starts in one month: name the days
        labels = [period_label(start=d, frequency="weekly") for d in starts]
    return labels


# Left at the end of a cut text, these would read as a half-sentence.
_TRAILING_PUNCTUATION = " ,;:—–-(\u00a0"


def shorten(text: str, n: int, *, ellipsis: str = "…") -> str:
    """``text`` in at most ``n`` characters, cut at a word boundary (never
    inside a number or a word), ending with "…" when something was cut."""
    text = text or ""
    if len(text) <= n:
        return text
    room = n - len(ellipsis)
    if room <= 0:
        return ellipsis[:n]
    cut = text[: room + 1]
    # The last whitespace in the window: everything before it is whole words.
    boundary = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    if boundary <= 0:
        # One word longer than the room (a URL, say): only then cut inside it,
        # and never inside a figure.
        head = text[:room]
        if re.search(r"\d$", head) and re.match(r"[\d.,%]", text[room:]):
            head = re.sub(r"[\d.,%£$€]+$", "", head)
        return head.rstrip(_TRAILING_PUNCTUATION) + ellipsis
    head = cut[:boundary].rstrip(_TRAILING_PUNCTUATION)
    return head + ellipsis
