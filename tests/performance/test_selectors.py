"""The returns pages' reads (performance/selectors.py): what a membership
sees of a contract's values and of the providers' due periods, in a fixed
number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oversight import clock
from performance.models import ReportingPeriod, ReturnSource
from performance.selectors import due_periods_latest, values_grid
from performance.services import returns_enter
from performance.validation import ReturnHeader, ValueRow
from tests.performance.test_validation import PERIOD, valid_values

pytestmark = pytest.mark.django_db


def _submit(rw):
    rows = [
        ValueRow(where=f"values[{i}]", contract_ref=rw.contract.reference, period=PERIOD, **v)
        for i, v in enumerate(valid_values(rw.contract))
    ]
    header = ReturnHeader(contract_ref=rw.contract.reference, period=PERIOD)
    (ret,) = returns_enter(
        membership=rw.provider, headers=[header], rows=rows, source=ReturnSource.WEB
    )
    return ret


def test_the_values_grid_holds_the_live_returns_values_in_five_queries(
    rw, django_assert_num_queries
):
    ret = _submit(rw)
    periods = list(
        ReportingPeriod.objects.filter(contract=rw.contract, start__lte=rw.period.start).order_by(
            "-start"
        )[:12]
    )  # a page of 12 periods, the submitted one first
    assert periods[0] == rw.period
    with django_assert_num_queries(5):
        grid = values_grid(membership=rw.commissioner, contract=rw.contract, periods=periods)
    assert {ck.contract_id for ck in grid.contract_kpis} == {rw.contract.pk}
    assert len(grid.contract_kpis) == 4 and len(grid.sites) == 2
    assert grid.live == {rw.period.pk: ret}
    assert len(grid.values) == ret.values.count()
    assert all(key[0] == rw.period.pk for key in grid.values)


def test_the_values_grid_shows_another_provider_nothing(rw):
    _submit(rw)
    other_provider = rw.world.a.members["provider_p2"]
    periods = list(ReportingPeriod.objects.filter(contract=rw.contract))
    grid = values_grid(membership=other_provider, contract=rw.contract, periods=periods)
    assert (grid.contract_kpis, grid.live, grid.values) == ([], {}, {})
    outsider = rw.world.b.members["commissioner"]
    grid = values_grid(membership=outsider, contract=rw.contract, periods=periods)
    assert (grid.contract_kpis, grid.live, grid.values) == ([], {}, {})


def test_due_periods_are_each_providers_latest_due_before_today(rw, django_assert_num_queries):
    ret = _submit(rw)
    today = clock.today()
    with django_assert_num_queries(1):
        rows = due_periods_latest(membership=rw.commissioner, today=today, per_provider=3)
    by_provider: dict[int, list] = {}
    for row in rows:
        by_provider.setdefault(row.provider_id, []).append(row)
    providers = {rw.contract.provider_id, rw.other.provider_id}
    assert set(by_provider) == providers
    for provider_id, due in by_provider.items():
        latest = (
            ReportingPeriod.objects.filter(contract__provider_id=provider_id, due_date__lt=today)
            .order_by("-due_date")
            .values_list("due_date", flat=True)[:3]
        )
        assert sorted(row.due_date for row in due) == sorted(latest)
        assert len(due) == 3
    # Over the whole window, the one period sent carries when it was first sent.
    every = due_periods_latest(membership=rw.commissioner, today=today, per_provider=1000)
    sent = [(row.due_date, row.first_submitted_at) for row in every if row.first_submitted_at]
    assert sent == [(rw.period.due_date, ret.submitted_at)]
    assert (
        len(every)
        == ReportingPeriod.objects.filter(tenant=rw.contract.tenant, due_date__lt=today).count()
    )
    # Another provider's member sees only its own; another tenant's none of these.
    own = due_periods_latest(
        membership=rw.world.a.members["provider_p2"], today=today, per_provider=3
    )
    assert {row.provider_id for row in own} == {rw.other.provider_id}
    outsider = rw.world.b.members["commissioner"]
    assert (
        not {
            row.provider_id
            for row in due_periods_latest(
                membership=outsider, today=today + timedelta(days=1), per_provider=12
            )
        }
        & providers
    )
