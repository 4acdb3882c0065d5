"""How much a month's bulk import of returns costs against a bare insert.

Builds a tenant with 500 contracts x 20 KPIs and their reporting calendar in a
throwaway PostgreSQL database, writes ONE spreadsheet holding a month's
returns for all of them (10,000 values), and times ``import_returns`` end to
end (read, validation, write with history) for CSV and XLSX. In the same run
it times a bare ``bulk_create`` of the same 500 returns and 10,000 values and
prints rows per second for each and the ratio. Target: import <= 10x bare.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/returns_import.py [--contracts 500] [--kpis 20]
        [--repeat 3] [--profile] [--keep]

The database named by DATABASE_URL is only used to connect: the bench creates
(and afterwards drops, unless --keep) its own database ``oversight_bench_returns``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "oversight_bench_returns"
ROOT = Path(__file__).resolve().parent.parent


def _database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "bench/returns_import.py needs PostgreSQL: set DATABASE_URL, e.g. "
            "postgres://postgres@127.0.0.1:5432/postgres (a database named "
            f"{BENCH_DB} is created for the run)."
        )
    admin = urlunsplit(parts._replace(path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    return admin, bench


def _recreate_database(admin_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _setup_django(bench_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")
    os.environ.setdefault("DB_CONN_MAX_AGE", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- the tenant ---------------------------------------------------------------


# code, unit, direction, numerator words, denominator words
KPI_SHAPES = [
    ("pct_ratio", "percentage", "higher", "Visits on time", "Visits scheduled"),
    ("pct", "percentage", "lower", "", ""),
    ("count", "count", "lower", "", ""),
    ("days", "days", "lower", "", ""),
    ("rate", "rate_per_1000", "lower", "", ""),
]


def build_tenant(n_contracts: int, n_kpis: int, period_start: date):
    from contracts.models import Contract, Provider, ServiceType
    from oversight.models import Membership, Role, Tenant, User
    from performance.models import ContractKpi, Kpi, ReportingPeriod
    from performance.services import reporting_calendar_sync

    tenant = Tenant.objects.create(name="Bench County", slug="bench")
    user = User.objects.create_user("bench.commissioner@example.org", full_name="Bench Team")
    membership = Membership.objects.create(user=user, tenant=tenant, role=Role.COMMISSIONER)
    service_type = ServiceType.objects.create(tenant=tenant, code="hcbs", name="HCBS")
    providers = Provider.objects.bulk_create(
        Provider(tenant=tenant, name=f"Provider {n:03d}") for n in range(50)
    )
    start = date(period_start.year - 1, period_start.month, 1)
    contracts = Contract.objects.bulk_create(
        Contract(
            tenant=tenant,
            reference=f"BC-{n:05d}",
            title=f"Bench contract {n}",
            provider=providers[n % len(providers)],
            service_type=service_type,
            scope="Personal care",
            start_date=start,
            end_date=date(start.year + 3, start.month, 1) - timedelta(days=1),
            annual_value=Decimal("100000"),
            total_value=Decimal("300000"),
            currency="USD",
            payment_model="block",
            contract_manager=user,
        )
        for n in range(n_contracts)
    )
    kpis = Kpi.objects.bulk_create(
        Kpi(
            tenant=tenant,
            code=f"{shape[0]}_{n:02d}",
            name=f"KPI {n}",
            definition="Bench measure",
            numerator=shape[3],
            denominator=shape[4],
            unit=shape[1],
            direction=shape[2],
            category="quality",
        )
        for n in range(n_kpis)
        for shape in [KPI_SHAPES[n % len(KPI_SHAPES)]]
    )
    targets = {"pct_ratio": Decimal("80"), "pct": Decimal("15"), "count": Decimal("8"),
               "days": Decimal("10"), "rate": Decimal("20")}  # fmt: skip
    ContractKpi.objects.bulk_create(
        ContractKpi(
            tenant=tenant,
            contract=contract,
            kpi=kpi,
            target=targets[kpi.code.rsplit("_", 1)[0]],
            is_priority=index < 5,
        )
        for contract in contracts
        for index, kpi in enumerate(kpis)
    )
    reporting_calendar_sync(contracts=contracts, today=date.today(), user=user)
    periods = ReportingPeriod.objects.filter(contract__tenant=tenant, start=period_start).count()
    assert periods == n_contracts, periods
    return membership, contracts, kpis, targets


def spreadsheet_rows(contracts, kpis, targets, label: str) -> list[dict]:
    """A month's values; those that miss their target carry an explanation."""
    rng = random.Random(42)
    rows = []
    for contract in contracts:
        for index, kpi in enumerate(kpis):
            shape = kpi.code.rsplit("_", 1)[0]
            row = {"contract_reference": contract.reference, "period": label,
                   "kpi_code": kpi.code}  # fmt: skip
            if shape == "pct_ratio":
                denominator = rng.randint(40, 200)
                numerator = rng.randint(int(denominator * 0.6), denominator)
                row |= {"numerator": numerator, "denominator": denominator}
                value = Decimal(numerator) / Decimal(denominator) * 100
                missed = value < targets[shape]
            else:
                value = {
                    "pct": lambda: round(rng.uniform(2, 20), 1),
                    "count": lambda: rng.randint(0, 10),
                    "days": lambda: round(rng.uniform(1, 14), 1),
                    "rate": lambda: round(rng.uniform(1, 25), 2),
                }[shape]()
                row["value"] = value
                missed = Decimal(str(value)) > targets[shape]
            if missed:
                row["variance_explanation"] = "Staff vacancies in the period; recovery plan agreed."
            if index == 0:
                row["narrative"] = f"Month summary for {contract.reference}."
            rows.append(row)
    return rows


COLUMNS = ["contract_reference", "period", "kpi_code", "site", "value", "numerator",
           "denominator", "variance_explanation", "narrative", "no_activity"]  # fmt: skip


def as_csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def as_xlsx(rows) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([row.get(c) for c in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- timing --------------------------------------------------------------------


def clear_returns() -> None:
    from django.db import connection

    from performance.models import Return, ReturnValue

    tables = [
        ReturnValue._meta.db_table,
        Return._meta.db_table,
        ReturnValue.history.model._meta.db_table,
        Return.history.model._meta.db_table,
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


def time_import(membership, data: bytes, filename: str, n_values: int, profile: bool):
    from performance.imports import import_returns
    from performance.models import ReturnSource

    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    result = import_returns(
        membership=membership, file=data, filename=filename, source=ReturnSource.BULK
    )
    if profiler:
        profiler.disable()
    elapsed = (time.perf_counter() - started, time.process_time() - cpu)
    if not result.ok:
        for problem in result.problems[:10]:
            print("  ", problem)
        sys.exit("the bench spreadsheet did not import")
    assert result.value_count == n_values, result.value_count
    if profiler:
        print(f"\nprofile of the {filename} import (top 25 by cumulative time):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return elapsed


def time_bare_insert(membership, contracts, kpis, rows, period_start: date):
    """The same returns and values, built as model objects beforehand and
    written with plain bulk_create: no parsing, validation or history."""
    from django.db import transaction

    from performance.models import ContractKpi, ReportingPeriod, Return, ReturnValue

    periods = {
        p.contract_id: p
        for p in ReportingPeriod.objects.filter(contract__in=contracts, start=period_start).only(
            "id", "contract_id"
        )
    }
    cks = {(ck.contract_id, ck.kpi_id): ck.id for ck in ContractKpi.objects.filter(
        contract__in=contracts).only("id", "contract_id", "kpi_id")}  # fmt: skip
    by_ref = {c.reference: c for c in contracts}
    kpi_by_code = {k.code: k for k in kpis}

    def number(raw):
        return None if raw in (None, "") else Decimal(str(raw))

    returns = [
        Return(
            tenant_id=membership.tenant_id,
            contract=contract,
            period=periods[contract.id],
            version=1,
            status="submitted",
            narrative=f"Month summary for {contract.reference}.",
            source="bulk",
            created_by=membership.user,
            submitted_by=membership.user,
        )
        for contract in contracts
    ]
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        Return.objects.bulk_create(returns, batch_size=500)
        by_contract = {r.contract_id: r for r in returns}
        values = []
        for row in rows:
            contract = by_ref[row["contract_reference"]]
            numerator, denominator = number(row.get("numerator")), number(row.get("denominator"))
            value = number(row.get("value"))
            if value is None:
                value = (numerator / denominator * 100).quantize(Decimal("0.0001"))
            values.append(
                ReturnValue(
                    tenant_id=membership.tenant_id,
                    return_obj=by_contract[contract.id],
                    contract_kpi_id=cks[(contract.id, kpi_by_code[row["kpi_code"]].id)],
                    value=value,
                    numerator=numerator,
                    denominator=denominator,
                    variance_explanation=row.get("variance_explanation", ""),
                )
            )
        ReturnValue.objects.bulk_create(values, batch_size=2000)
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=500)
    parser.add_argument("--kpis", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one CSV import")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    admin_url, bench_url = _database_urls()
    print(f"creating database {BENCH_DB} …", flush=True)
    _recreate_database(admin_url)
    try:
        _setup_django(bench_url)
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _recreate_database(admin_url, drop_only=True)


def run(args) -> None:
    today = date.today()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    period_start = last_month_end.replace(day=1)
    label = f"{period_start:%Y-%m}"
    started = time.perf_counter()
    membership, contracts, kpis, targets = build_tenant(args.contracts, args.kpis, period_start)
    rows = spreadsheet_rows(contracts, kpis, targets, label)
    n = len(rows)
    files = {"csv": as_csv(rows), "xlsx": as_xlsx(rows)}
    print(
        f"tenant built in {time.perf_counter() - started:.1f}s: {args.contracts} contracts x "
        f"{args.kpis} KPIs, period {label}, {n:,} values; "
        f"CSV {len(files['csv']) / 1024:.0f} KiB, XLSX {len(files['xlsx']) / 1024:.0f} KiB"
    )

    timings: dict[str, list[tuple[float, float]]] = {"bare": [], "csv": [], "xlsx": []}
    for attempt in range(args.repeat):
        for kind in ("bare", "csv", "xlsx"):
            clear_returns()
            if kind == "bare":
                elapsed = time_bare_insert(membership, contracts, kpis, rows, period_start)
            else:
                elapsed = time_import(
                    membership, files[kind], f"month.{kind}", n,
                    profile=args.profile and kind == "csv" and attempt == 0,
                )  # fmt: skip
            timings[kind].append(elapsed)
    clear_returns()

    def median(kind: str, which: int) -> float:
        runs = timings[kind]
        if args.profile and kind == "csv" and len(runs) > 1:
            runs = runs[1:]  # the profiled run is slower
        return statistics.median(t[which] for t in runs)

    bare = median("bare", 0)
    print(f"\nmedian of {args.repeat} runs, {n:,} values + {args.contracts} returns each")
    print(f"{'':24}{'wall s':>8}{'rows/s':>9}{'x bare':>8}{'client CPU s':>14}")
    rows_out = [("bare bulk_create", "bare"), ("import_returns CSV", "csv"),
                ("import_returns XLSX", "xlsx")]  # fmt: skip
    for title, kind in rows_out:
        wall = median(kind, 0)
        print(f"{title:24}{wall:8.3f}{n / wall:9,.0f}{wall / bare:8.1f}{median(kind, 1):14.3f}")
    worst = max(median(k, 0) for k in ("csv", "xlsx")) / bare
    verdict = "met" if worst <= 10 else "NOT met"
    print(f"\ntarget: import <= 10x bare insert: {verdict} (worst {worst:.1f}x)")


if __name__ == "__main__":
    main()
