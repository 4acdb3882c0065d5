"""How figures, money, dates and periods read to people (oversight.formatting)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from oversight import formatting as f


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (Decimal("97.4684"), "count", "97"),
        (Decimal("97.5000"), "count", "98"),
        (Decimal("95.2000"), "percentage", "95.2%"),
        (Decimal("95.25"), "percentage", "95.3%"),
        (95, "percentage", "95.0%"),
        (3.456, "rate_per_1000", "3.5"),
        (12.04, "days", "12.0"),
        (1204.2, "count", "1,204"),
        (-0.2, "count", "0"),
        (Decimal("2.1857"), "", "2.19"),
        (None, "count", "—"),
        (float("nan"), "percentage", "—"),
    ],
)
def test_a_number_reads_to_its_units_precision(value, unit, shown):
    assert f.number(value, unit) == shown


@pytest.mark.parametrize(
    ("value", "unit", "shown", "clipped"),
    [
        (-2.1857, "count", 0, True),
        (6.7918, "count", 6.7918, False),
        (103.4, "percentage", 100, True),
        (-4.0, "percentage", 0, True),
        (88.0, "percentage", 88.0, False),
        (-1.0, "", -1.0, False),  # a unit we do not know is not clipped
    ],
)
def test_a_limit_is_clipped_to_what_its_unit_can_be(value, unit, shown, clipped):
    assert f.clip_to_unit(value, unit) == (shown, clipped)


def test_a_mean_or_limit_has_at_least_one_decimal_even_for_a_count():
    # A count's upper limit of 5.8 must not read "6": a value of 6 is outside it.
    assert f.statistic(5.8, "count") == "5.8"
    assert f.statistic(2.25, "count") == "2.3"
    assert f.statistic(93.87, "percentage") == "93.9%"
    assert f.limit(-2.1857, "count") == "0.0"
    assert f.limit(111.2, "percentage") == "100.0%"


def test_an_expected_range_reads_clipped_to_the_unit_and_rounded_inwards():
    # A count's range of -2.1857 to 6.7918: 7 is outside it, so it reads "0 to 6".
    assert f.value_range(Decimal("-2.1857"), Decimal("6.7918"), "count") == "0 to 6"
    assert f.value_range(Decimal("1.2"), Decimal("6"), "count") == "2 to 6"
    assert f.value_range(91.26, 104.1, "percentage") == "91.3% to 100.0%"
    assert f.value_range(None, 9, "percentage") == "— to 9.0%"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (Decimal("1120000"), "USD", "en_US", "$1,120,000"),
        (Decimal("5200000.00"), "GBP", "en_GB", "£5,200,000"),
        (Decimal("1234.5"), "GBP", "en_GB", "£1,234.50"),
        (Decimal("1120000"), "USD", None, "$1,120,000"),
        (Decimal("5200000"), "GBP", None, "£5,200,000"),
        (None, "USD", "en_US", "—"),
    ],
)
def test_money_has_the_currencys_symbol(amount, currency, locale, shown):
    assert f.money(amount, currency, locale) == shown


def test_a_tenants_locale_follows_its_currency():
    assert f.tenant_locale(SimpleNamespace(currency="USD")) == "en_US"
    assert f.tenant_locale(SimpleNamespace(currency="GBP")) == "en_GB"
    assert f.tenant_money(Decimal("5200000"), "GBP", SimpleNamespace(currency="GBP")) == (
        "£5,200,000"
    )


def test_one_date_format():
    assert f.date(date(2027, 2, 1)) == "1 Feb 2027"
    assert f.date(date(2026, 11, 30)) == "30 Nov 2026"
    assert f.date(datetime(2027, 2, 1, 14, 5, tzinfo=UTC)) == "1 Feb 2027"
    assert f.datetime(datetime(2027, 2, 1, 14, 5, tzinfo=UTC)) == "1 Feb 2027 14:05"
    assert f.date(None) == "—"


def test_one_period_label():
    monthly = SimpleNamespace(start=date(2026, 10, 1), frequency="monthly")
    weekly = SimpleNamespace(start=date(2026, 11, 3), frequency="weekly")
    assert f.period_label(monthly) == "Oct 2026"
    assert f.period_label(weekly) == "week of 3 Nov 2026"
    assert f.period_label(start=date(2026, 1, 1)) == "Jan 2026"
    assert f.period_label(date(2026, 1, 1)) == "Jan 2026"


def test_period_labels_use_the_calendar_where_it_is_known():
    starts = [date(2026, 10, 1), date(2026, 11, 2), date(2026, 11, 9)]
    assert f.period_labels(starts) == ["Oct 2026", "week of 2 Nov 2026", "week of 9 Nov 2026"]
    # A lone weekly period (its neighbours had no value) is named from the calendar.
    known = {date(2026, 12, 7): "weekly"}
    assert f.period_labels([date(2026, 10, 1), date(2026, 12, 7)], known) == [
        "Oct 2026",
        "week of 7 Dec 2026",
    ]


def test_shortening_never_cuts_inside_a_number():
    text = "Complaints resolved in time: latest 88.1% against a mean of 95.2% (concern)."
    # Cut at 62 characters, the old notice read "…against a mean of 9".
    assert f.shorten(text, 62) == "Complaints resolved in time: latest 88.1% against a mean of…"
    assert f.shorten(text, 65) == "Complaints resolved in time: latest 88.1% against a mean of…"
    assert f.shorten(text, 66) == (
        "Complaints resolved in time: latest 88.1% against a mean of 95.2%…"
    )
    assert f.shorten(text, 59) == "Complaints resolved in time: latest 88.1% against a mean…"
    assert f.shorten(text, 200) == text
    for n in range(len("Complaints…"), len(text)):
        kept = f.shorten(text, n)
        assert len(kept) <= n
        assert text.startswith(kept[:-1]) and text[len(kept) - 1] in " ,:"


def test_shortening_one_long_word_cuts_it_but_not_inside_a_figure():
    assert f.shorten("https://example.org/a-long-path", 10) == "https://e…"
    assert f.shorten("Ref:12345678901234", 10) == "Ref…"


def test_the_template_filters_use_the_module():
    template = Template(
        "{% load formatting %}{{ v|number:'count' }}|{{ low|limit:'count' }}|"
        "{{ d|day }}|{{ p|period }}|{% money amount 'GBP' %}|{% money amount 'USD' %}"
    )
    html = template.render(
        Context(
            {
                "v": Decimal("97.4684"),
                "low": Decimal("-2.1857"),
                "d": date(2027, 2, 1),
                "p": SimpleNamespace(start=date(2026, 11, 3), frequency="weekly"),
                "amount": Decimal("5200000.00"),
                "tenant": SimpleNamespace(currency="GBP"),
            }
        )
    )
    assert html == "97|0.0|1 Feb 2027|week of 3 Nov 2026|£5,200,000|US$5,200,000"
