"""Helpers for the review meeting tests: KPIs with accepted returns on tenant
A's contracts (so packs have charts), signals, and meetings by the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from oversight import clock
from reviews import services


def month_start(day: dt.date, back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def add_measures(tw, pw, *, count: int = 2, periods: int = 12, prefix: str = "m"):
    """``count`` KPIs on ``pw``'s contract (the first a priority measure) with
    ``periods`` accepted monthly values up to last month."""
    from performance.models import ContractKpi, Kpi, ReportingPeriod, Return, ReturnValue

    today = clock.today()
    starts = [month_start(today, back) for back in range(periods, 0, -1)]
    period_rows = []
    for start in starts:
        end = month_start(start, -1) - dt.timedelta(days=1)
        period_rows.append(
            ReportingPeriod.objects.get_or_create(
                tenant=tw.tenant,
                contract=pw.contract,
                frequency="monthly",
                start=start,
                defaults={
                    "end": end,
                    "due_date": end + dt.timedelta(days=15),
                    "missing_after": end + dt.timedelta(days=45),
                },
            )[0]
        )
    returns = []
    for period in period_rows:
        ret, _ = Return.objects.get_or_create(
            tenant=tw.tenant,
            contract=pw.contract,
            period=period,
            version=1,
            defaults={
                "status": "accepted",
                "source": "web",
                "narrative": f"Steady month {period.start:%b %Y} {pw.mark}",
                "created_by": pw.member.user,
                "submitted_by": pw.member.user,
                "submitted_at": dt.datetime.combine(period.due_date, dt.time(9), tzinfo=dt.UTC),
            },
        )
        returns.append(ret)
    kpis = []
    for n in range(count):
        kpi = Kpi.objects.create(
            tenant=tw.tenant,
            code=f"{prefix}{n}-{pw.mark.lower()}"[:40],
            name=f"Measure {prefix}{n} {pw.mark}",
            definition="A measure for the tests.",
            unit="percentage",
            direction="higher",
            category="quality",
        )
        ck = ContractKpi.objects.create(
            tenant=tw.tenant,
            contract=pw.contract,
            kpi=kpi,
            target=Decimal("80"),
            is_priority=n == 0,
        )
        for i, ret in enumerate(returns):
            ReturnValue.objects.create(
                tenant=tw.tenant,
                return_obj=ret,
                contract_kpi=ck,
                value=Decimal(str(78 + (i * 7 + n * 3) % 9 + 0.25)),
            )
        kpis.append(ck)
    return kpis


def add_signal(tw, pw, *, message: str, opened_at: dt.datetime, contract_kpi=None):
    from performance.models import Signal

    return Signal.objects.create(
        tenant=tw.tenant,
        contract=pw.contract,
        contract_kpi=contract_kpi,
        kind="target_missed",
        key=f"test:{message}",
        severity="medium",
        message=message,
        opened_at=opened_at,
        last_seen_at=opened_at,
    )


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


@pytest.fixture
def schedule(world):
    """``schedule(days=7, pw=None, member=None, kind=...)``: a meeting on tenant
    A's P1 contract (or ``pw``'s), ``days`` from today, by its commissioner."""

    def _schedule(*, days: int = 7, pw=None, member=None, kind="check_in", contract=True):
        tw = world.a
        pw = pw or tw.p1
        starts = at(clock.today() + dt.timedelta(days=days))
        return services.meeting_schedule(
            membership=member or tw.members["commissioner"],
            kind=kind,
            contract=pw.contract if contract else None,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            location="Room 2B",
        )

    return _schedule


def hold(meeting, member, *, actions=(), minutes="We met."):
    """Start and hold ``meeting``, recording ``actions`` [(description, owner,
    due_on)] in it."""
    services.meeting_start(membership=member, meeting=meeting)
    rows = [
        services.meeting_action_add(
            membership=member, meeting=meeting, description=d, owner=o, due_on=due
        )
        for d, o, due in actions
    ]
    services.meeting_hold(membership=member, meeting=meeting, minutes=minutes)
    return rows
