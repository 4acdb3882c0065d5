"""How long a review meeting's pack takes for a contract with 25 KPIs.

Builds, in a throwaway database, one tenant with a contract reporting 25 KPIs
(five priority measures) with 24 months of accepted returns, a dozen signals,
a held meeting with open actions and a roadmap topic; then times, for the
next meeting, what a user waits for: the pack's page (``pack_for``: the data
and the HTML with 25 SVG charts), its PDF (``pack_pdf_for``: WeasyPrint) and
starting the meeting (``meeting_start``: one last build, frozen, stored), and
prints the median of ``--repeat`` runs and the PDF's size and pages.
Target (issue 11): the pack of a 25-KPI contract in under 10 s.

    .venv/bin/python bench/meeting_pack.py [--kpis 25] [--months 24] [--repeat 3]

SQLite by default (a file in the temporary directory, removed afterwards);
with DATABASE_URL=postgres://… the bench creates and drops its own database
``oversight_bench_pack`` on that server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "oversight_bench_pack"
TODAY = date(2026, 12, 1)


def _database() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme in ("postgres", "postgresql"):
        import psycopg

        parts = urlsplit(url)
        admin = urlunsplit(parts._replace(path="/postgres"))

        def drop():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')

        drop()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
        return urlunsplit(parts._replace(path=f"/{BENCH_DB}")), drop
    path = Path(tempfile.gettempdir()) / f"{BENCH_DB}.sqlite3"
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def _month(back: int) -> date:
    index = TODAY.year * 12 + TODAY.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _build(kpis: int, months: int):
    from contracts.models import Contract, Provider, ServiceType
    from oversight import clock
    from oversight.models import Membership, Role, Tenant, User
    from performance.models import (
        ContractKpi,
        Kpi,
        ReportingPeriod,
        Return,
        ReturnValue,
        Signal,
    )
    from reviews import services

    tenant = Tenant.objects.create(name="Bench County", slug="bench", currency="USD")
    boss = User.objects.create(email="chair@bench.example", full_name="Chair Person")
    lead = User.objects.create(email="lead@provider.example", full_name="Provider Lead")
    provider = Provider.objects.create(tenant=tenant, name="Bench Home Care")
    chair = Membership.objects.create(user=boss, tenant=tenant, role=Role.COMMISSIONER)
    member = Membership.objects.create(
        user=lead, tenant=tenant, role=Role.PROVIDER, provider=provider
    )
    kind = ServiceType.objects.create(tenant=tenant, code="hcbs", name="Home care")
    contract = Contract.objects.create(
        tenant=tenant,
        reference="BC-2025-001",
        title="Home and community-based support",
        provider=provider,
        service_type=kind,
        status="active",
        scope="Personal care.",
        start_date=_month(months + 1),
        end_date=date(2028, 12, 31),
        annual_value=Decimal("2400000"),
        total_value=Decimal("9600000"),
        currency="USD",
        payment_model="block",
        payment_at_risk_pct=Decimal("0"),
        contract_manager=boss,
    )
    returns = []
    for back in range(months, 0, -1):
        start = _month(back)
        end = _month(back - 1) - timedelta(days=1)
        period = ReportingPeriod.objects.create(
            tenant=tenant,
            contract=contract,
            frequency="monthly",
            start=start,
            end=end,
            due_date=end + timedelta(days=15),
            missing_after=end + timedelta(days=45),
        )
        returns.append(
            Return.objects.create(
                tenant=tenant,
                contract=contract,
                period=period,
                status="accepted",
                source="web",
                narrative=f"The month of {start:%B %Y}: staffing steady, referrals up.",
                created_by=lead,
                submitted_by=lead,
                submitted_at=datetime.combine(period.due_date, datetime.min.time(), UTC),
            )
        )
    values = []
    cks = []
    for n in range(kpis):
        kpi = Kpi.objects.create(
            tenant=tenant,
            code=f"kpi-{n:02d}",
            name=f"Measure {n + 1}: visits delivered on time",
            definition="Bench.",
            unit="percentage",
            direction="higher",
            category="quality",
        )
        ck = ContractKpi.objects.create(
            tenant=tenant, contract=contract, kpi=kpi, target=Decimal("85"), is_priority=n < 5
        )
        cks.append(ck)
        for i, ret in enumerate(returns):
            wobble = ((i * 37 + n * 11) % 13) - 6
            drift = -6 if (n % 4 == 0 and i > months - 5) else 0
            values.append(
                ReturnValue(
                    tenant=tenant,
                    return_obj=ret,
                    contract_kpi=ck,
                    value=Decimal(str(86 + wobble * 0.7 + drift)),
                )
            )
    ReturnValue.objects.bulk_create(values)
    now = datetime.combine(TODAY, datetime.min.time(), UTC)
    for n in range(12):
        Signal.objects.create(
            tenant=tenant,
            contract=contract,
            contract_kpi=cks[n % len(cks)],
            kind="target_missed",
            key=f"bench:{n}",
            severity="medium",
            message=f"Measure {n % len(cks) + 1} missed its target in the last month",
            opened_at=now - timedelta(days=3 * n),
            last_seen_at=now,
        )
    with clock.pinned(now - timedelta(days=40)):
        starts = now - timedelta(days=35)
        last = services.meeting_schedule(
            membership=chair,
            kind="check_in",
            contract=contract,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        )
    with clock.pinned(now - timedelta(days=35)):
        services.meeting_start(membership=chair, meeting=last)
        for n in range(6):
            services.meeting_action_add(
                membership=chair,
                meeting=last,
                description=f"Action {n + 1} agreed at the last meeting",
                owner=member if n % 2 else chair,
                due_on=TODAY + timedelta(days=n * 5 - 10),
            )
        services.meeting_hold(membership=chair, meeting=last, minutes="Bench minutes.")
    with clock.pinned(now):
        services.roadmap_topic_add(
            membership=chair, contract=contract, month=TODAY, title="Referral matching", owner=chair
        )
    return chair, contract, now


def _pages(pdf: bytes) -> str:
    try:
        out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "?"
    for line in out.stdout.decode().splitlines():
        if line.startswith("Pages:"):
            return line.split()[1]
    return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=25)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url, drop = _database()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from oversight import clock
    from reviews import pack, services
    from reviews.models import Meeting, MeetingPack

    try:
        call_command("migrate", verbosity=0)
        chair, contract, now = _build(args.kpis, args.months)
        timings: dict[str, list[float]] = {"page": [], "pdf": [], "start": []}
        size = pages = "?"
        for run in range(args.repeat):
            with clock.pinned(now):
                starts = now + timedelta(days=7 + run)
                meeting = services.meeting_schedule(
                    membership=chair,
                    kind="check_in",
                    contract=contract,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                )
                meeting = Meeting.objects.get(pk=meeting.pk)
                t = time.perf_counter()
                view = pack.pack_for(membership=chair, meeting=meeting)
                timings["page"].append(time.perf_counter() - t)
                t = time.perf_counter()
                pdf = pack.pack_pdf_for(membership=chair, meeting=meeting)
                timings["pdf"].append(time.perf_counter() - t)
                t = time.perf_counter()
                services.meeting_start(membership=chair, meeting=meeting)
                timings["start"].append(time.perf_counter() - t)
                size, pages = f"{len(pdf) / 1024:.0f} KiB", _pages(pdf)
                assert view.html.count("<svg") == args.kpis
                assert MeetingPack.objects.filter(meeting=meeting).exists()
        print(
            f"meeting pack, {args.kpis} KPIs x {args.months} months, "
            f"{os.environ['DATABASE_URL'].split(':')[0]}, median of {args.repeat}:"
        )
        for label, key in (
            ("pack page (data + HTML + SVG)", "page"),
            ("pack PDF (WeasyPrint)", "pdf"),
            ("meeting start (build, freeze)", "start"),
        ):
            print(f"  {label:32} {statistics.median(timings[key]):6.2f} s")
        print(f"  PDF {size}, {pages} pages")
    finally:
        from django.db import connections

        connections.close_all()
        drop()


if __name__ == "__main__":
    main()
