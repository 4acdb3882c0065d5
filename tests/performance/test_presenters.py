"""The rows the returns pages show, built by pure functions
(performance/presenters.py) from what the selectors read: tested here with
rows in memory, no request."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from performance import presenters
from performance.models import ContractKpi, ReportingPeriod, Return, ReturnStatus, ReturnValue
from performance.selectors import DueRow, ValuesGrid
from tests.performance.test_validation import build_returns_world

TODAY = date(2026, 3, 10)


def _period(pk: int, start: date, end: date, due: date, missing: date) -> ReportingPeriod:
    return ReportingPeriod(pk=pk, start=start, end=end, due_date=due, missing_after=missing)


FEB = _period(2, date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 15), date(2026, 4, 15))
JAN = _period(1, date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 15), date(2026, 3, 15))
DEC = _period(0, date(2025, 12, 1), date(2025, 12, 31), date(2026, 1, 15), date(2026, 2, 15))
MARCH = _period(3, date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 15), date(2026, 5, 15))


def test_a_period_without_a_value_says_why():
    assert presenters.not_received(MARCH, TODAY) == "Still running"
    assert presenters.not_received(FEB, TODAY) == "Not yet due"
    assert presenters.not_received(JAN, TODAY) == "No return"  # late
    assert presenters.not_received(DEC, TODAY) == "No return"  # missing


@pytest.mark.django_db
def test_each_cell_of_the_values_grid_says_met_amber_missed_or_why_there_is_none(world):
    rw = build_returns_world(world)
    # Lower is better, target 7, amber to 8.
    ck = ContractKpi.objects.prefetch_related("phase_targets").get(
        contract=rw.contract, kpi__code="days_to_first_contact"
    )
    ck.amber_tolerance = Decimal(1)
    missed = _period(
        10, date(2025, 9, 1), date(2025, 9, 30), date(2025, 10, 15), date(2025, 11, 15)
    )
    amber = _period(11, date(2025, 8, 1), date(2025, 8, 31), date(2025, 9, 15), date(2025, 10, 15))
    met = _period(12, date(2025, 7, 1), date(2025, 7, 31), date(2025, 8, 15), date(2025, 9, 15))
    quiet = _period(13, date(2025, 6, 1), date(2025, 6, 30), date(2025, 7, 15), date(2025, 8, 15))
    silent = _period(14, date(2025, 5, 1), date(2025, 5, 31), date(2025, 6, 15), date(2025, 7, 15))
    accepted = Return(status=ReturnStatus.ACCEPTED, no_activity=False)
    grid = ValuesGrid(
        contract_kpis=[ck],
        sites=[],
        live={
            10: accepted,
            11: accepted,
            12: Return(status=ReturnStatus.SUBMITTED, no_activity=False),
            13: Return(status=ReturnStatus.ACCEPTED, no_activity=True),
            14: accepted,  # a return without this KPI's value
        },
        values={
            (10, ck.pk, None): ReturnValue(value=Decimal("9.0"), variance_explanation="Sickness"),
            (11, ck.pk, None): ReturnValue(value=Decimal(8), variance_explanation=""),
            (12, ck.pk, None): ReturnValue(value=Decimal(4), variance_explanation=""),
        },
    )
    periods = [MARCH, missed, amber, met, quiet, silent]
    (line,) = presenters.values_lines(grid, periods=periods, today=TODAY)
    assert line["ck"] == ck and line["site"] is None
    cells = line["cells"]
    assert [c["label"] for c in cells] == [
        "Still running",
        "Missed",
        "Amber",
        "Met",
        "No activity",
        "Not reported",
    ]
    # days are shown to one decimal place
    assert [c["text"] for c in cells] == ["—", "9.0", "8.0", "4.0", "—", "—"]
    assert (cells[1]["target"], cells[1]["explained"], cells[1]["provisional"]) == (
        "7.0",
        True,
        False,
    )
    assert cells[3]["provisional"] is True  # submitted, not yet accepted
    assert cells[1]["css"] != cells[3]["css"]


@pytest.mark.django_db
def test_a_site_level_kpi_has_a_line_per_site(world):
    rw = build_returns_world(world)
    ck = ContractKpi.objects.prefetch_related("phase_targets").get(
        contract=rw.contract, kpi__code="missed_visits"
    )
    sites = list(rw.contract.sites.order_by("name"))
    assert len(sites) == 2
    grid = ValuesGrid(contract_kpis=[ck], sites=sites, live={}, values={})
    lines = presenters.values_lines(grid, periods=[JAN], today=TODAY)
    assert [line["site"] for line in lines] == sites
    assert [line["cells"][0]["label"] for line in lines] == ["No return", "No return"]


def test_timeliness_dates_a_submission_by_the_tenants_day():
    """Sent at 02:00 UTC on 16 March is 15 March in Chicago: on time for a
    return due on the 15th; in London it is the 16th, a day late."""
    due = date(2026, 3, 15)
    rows = [
        DueRow(1, "Prompt Care", due, datetime(2026, 3, 16, 2, 0, tzinfo=UTC)),
        DueRow(1, "Prompt Care", date(2026, 2, 15), None),
        DueRow(2, "Another Care", due, datetime(2026, 3, 14, 12, 0, tzinfo=UTC)),
    ]
    chicago = presenters.timeliness_rows(rows, time_zone="America/Chicago")
    assert [(t.provider_name, t.on_time, t.late, t.not_received) for t in chicago] == [
        ("Another Care", 1, 0, 0),
        ("Prompt Care", 1, 0, 1),
    ]
    london = presenters.timeliness_rows(rows, time_zone="Europe/London")
    prompt = next(t for t in london if t.provider_name == "Prompt Care")
    assert (prompt.on_time, prompt.late, prompt.not_received) == (0, 1, 1)
