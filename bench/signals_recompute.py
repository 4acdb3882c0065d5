"""What the nightly signals recompute costs against merely reading its data.

Builds one tenant with a large portfolio (default 2,500 contracts x 25 KPIs x
60 months = 3.75 million accepted values) in a throwaway PostgreSQL database,
then times, in one process:

  (a) the bare read: the accepted-values query the engine runs, read the
      way the engine reads it (``accepted_values_query`` + ``_fetch_chunks``,
      a server-side cursor), every row fetched as a tuple;
  (b) ``recompute_signals`` end to end, first run (opens the signals and
      writes the risk scores, with history);
  (c) ``recompute_signals`` again, the steady state (nothing has changed).

The read and the steady recompute are each run --repeat times and the best
is reported (the machine may be busy); the first recompute runs once.

It prints rows, seconds (wall and CPU), rows per second, the ratio recompute /
read, the recompute's phases (load, evaluate, risk, write) and peak memory.
Target: the steady-state recompute costs no more than a few times the read.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/signals_recompute.py [--contracts 2500] [--kpis 25]
        [--months 60] [--quick] [--repeat 2] [--profile] [--keep]

The database named by DATABASE_URL is only used to connect: the bench creates
its own database ``oversight_bench_signals`` (dropped afterwards unless
--keep; with --keep a database already built at the same size is reused, so
a second run skips the build).

The portfolio is written with PostgreSQL COPY straight into the tables. That
is set-up, not what is measured, so it deliberately bypasses the services and
their history rows; the recompute under test writes its signals and risk
scores through the normal path, history included.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "oversight_bench_signals"
ROOT = Path(__file__).resolve().parent.parent
SEED = 20261123


def _database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "bench/signals_recompute.py needs PostgreSQL: set DATABASE_URL, e.g. "
            "postgres://postgres@127.0.0.1:5432/postgres (a database named "
            f"{BENCH_DB} is created for the run)."
        )
    admin = urlunsplit(parts._replace(path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    return admin, bench


def _drop_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _create_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _built_size(bench_url: str) -> dict | None:
    """The size recorded by a previous build, or None if there is none."""
    import psycopg

    try:
        with psycopg.connect(bench_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT obj_description('performance_returnvalue'::regclass, 'pg_class')"
            ).fetchone()
    except psycopg.Error:
        return None
    try:
        return json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None


def _setup_django(bench_url: str, *, migrate: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")
    os.environ.setdefault("DB_CONN_MAX_AGE", "0")
    # New high signals email their contract manager: keep those in memory.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()
    import logging

    for name in ("oversight.notifications", "performance.signal_engine"):
        logging.getLogger(name).setLevel(logging.WARNING)  # one line per email otherwise
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


# --- the portfolio -------------------------------------------------------------

# code, name, unit, direction, stress, fidelity, typical level, noise, target
KPI_LIBRARY = [
    ("visits_on_time", "Visits on time", "percentage", "higher", False, False, 91, 2.5, 85),
    ("missed_visits", "Missed visits", "count", "lower", True, False, 6, 0, 10),
    ("staff_turnover", "Staff turnover", "percentage", "lower", True, False, 11, 1.4, 15),
    ("vacancy_rate", "Vacancy rate", "percentage", "lower", True, False, 8, 1.0, 12),
    ("incidents", "Safeguarding incidents", "count", "lower", True, False, 3, 0, 6),
    ("complaints", "Complaints", "count", "lower", True, False, 2, 0, 5),
    ("referrals", "Referral volume", "count", "none", False, False, 40, 0, None),
    ("wait_days", "Days from referral to start", "days", "lower", False, False, 9, 1.5, 14),
    ("satisfaction", "People satisfied with care", "percentage", "higher", False, False, 87, 2.0,
     80),
    ("readmissions", "Hospital readmissions", "rate_per_1000", "lower", False, False, 18, 2.5,
     25),
    ("reviews_on_time", "Care reviews on time", "percentage", "higher", False, True, 94, 1.5, 90),
    ("acuity", "Referral acuity score", "days", "none", True, False, 5, 0.6, None),
]  # fmt: skip


def _month_starts(last: date, months: int) -> list[date]:
    out = []
    year, month = last.year, last.month
    for _ in range(months):
        out.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def _month_end(start: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _copy(cursor, table: str, columns: list[str], frame) -> None:
    """COPY a DataFrame into a table (text format; None/NaN become NULL)."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    chunk = 500_000
    with cursor.copy(sql) as copy:
        for begin in range(0, len(frame), chunk):
            part = frame.iloc[begin : begin + chunk]
            buffer = io.StringIO()
            part.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
            copy.write(buffer.getvalue())


def build_portfolio(bench_url: str, n_contracts: int, n_kpis: int, n_months: int, today: date):
    """Write the whole portfolio with COPY (set-up only: no history rows)."""
    import numpy as np
    import pandas as pd
    import psycopg

    rng = np.random.default_rng(SEED)
    now = datetime.now(UTC)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    starts = _month_starts(last_month, n_months)
    n_series = n_contracts * n_kpis
    n_managers = 25

    contract_ids = np.arange(1, n_contracts + 1)
    ck_ids = np.arange(1, n_series + 1)

    # Contracts: all live for the whole window; ~6% end within 180 days.
    ends_soon = rng.random(n_contracts) < 0.06
    end_offsets = np.where(
        ends_soon, rng.integers(10, 180, n_contracts), rng.integers(200, 1500, n_contracts)
    )
    contract_start = starts[0]
    contracts = pd.DataFrame(
        {
            "id": contract_ids,
            "tenant_id": 1,
            "reference": [f"BS-{n:05d}" for n in contract_ids],
            "title": [f"Home care lot {n}" for n in contract_ids],
            "status": "active",
            "scope": "Personal care and support at home",
            "population_coverage": "",
            "intensity": "",
            "start_date": contract_start,
            "end_date": [today + timedelta(days=int(d)) for d in end_offsets],
            "extension_options": "",
            "annual_value": np.round(rng.lognormal(13, 0.8, n_contracts), 2),
            "total_value": 0.0,
            "currency": "USD",
            "payment_model": "block",
            "payment_at_risk_pct": 0,
            "protected_core_components": "[]",
            "created_at": now,
            "updated_at": now,
            "contract_manager_id": (contract_ids % n_managers) + 2,
            "provider_id": (contract_ids % 120) + 1,
            "service_type_id": (contract_ids % 3) + 1,
            "reporting_frequency": "monthly",
        }
    )
    contracts["total_value"] = (contracts["annual_value"] * 3).round(2)

    library = [KPI_LIBRARY[k % len(KPI_LIBRARY)] for k in range(n_kpis)]
    kpis = pd.DataFrame(
        {
            "id": np.arange(1, n_kpis + 1),
            "tenant_id": 1,
            "code": [f"{spec[0]}_{k:02d}" for k, spec in enumerate(library)],
            "name": [f"{spec[1]} ({k})" for k, spec in enumerate(library)],
            "definition": "Bench measure",
            "numerator": "",
            "denominator": "",
            "unit": [spec[2] for spec in library],
            "direction": [spec[3] for spec in library],
            "category": "quality",
            "is_fidelity": [spec[5] for spec in library],
            "is_stress_indicator": [spec[4] for spec in library],
            "reporting_level": "contract",
        }
    )

    # Contract KPIs: the first five of each contract are its priority measures.
    kpi_of = np.tile(np.arange(n_kpis), n_contracts)
    contract_of = np.repeat(contract_ids, n_kpis)
    level = np.array([spec[6] for spec in library], dtype=float)[kpi_of]
    level *= rng.uniform(0.9, 1.1, n_series)
    target = np.array([np.nan if spec[8] is None else spec[8] for spec in library])[kpi_of]
    cks = pd.DataFrame(
        {
            "id": ck_ids,
            "tenant_id": 1,
            "contract_id": contract_of,
            "kpi_id": kpi_of + 1,
            "is_priority": kpi_of < 5,
            "target": target,
            "amber_tolerance": 0,
            "weight": rng.choice([0.5, 1.0, 1.0, 1.0, 1.5, 2.0], n_series),
        }
    )

    # Values: seeded random walks around each series' level (AR(1) noise),
    # then stories: ~8% of contracts deteriorate over the last year, single
    # series shift or turn volatile late on, some recover.
    noise_sd = np.array([spec[7] for spec in library])[kpi_of]
    is_count = np.array([spec[2] == "count" for spec in library])[kpi_of]
    noise_sd = np.where(is_count, np.sqrt(level) * 0.6, noise_sd)
    worse_sign = np.array(
        [{"higher": -1.0, "lower": 1.0, "none": 1.0}[spec[3]] for spec in library]
    )[kpi_of]
    t = np.arange(n_months)
    shocks = rng.standard_normal((n_series, n_months)) * noise_sd[:, None]
    walk = np.empty_like(shocks)
    walk[:, 0] = shocks[:, 0]
    for month in range(1, n_months):  # set-up only: 60 steps over arrays
        walk[:, month] = 0.2 * walk[:, month - 1] + shocks[:, month]
    deteriorating = np.repeat(rng.random(n_contracts) < 0.08, n_kpis) & (rng.random(n_series) < 0.6)
    ramp = np.clip((t - (n_months - 12)) / 12.0, 0, None)
    walk += deteriorating[:, None] * worse_sign[:, None] * 3.0 * noise_sd[:, None] * ramp
    shifted = rng.random(n_series) < 0.03
    walk += (shifted[:, None] * worse_sign[:, None] * 2.0 * noise_sd[:, None]
             * (t >= n_months - 8))  # fmt: skip
    volatile = rng.random(n_series) < 0.02
    walk += volatile[:, None] * (t >= n_months - 6) * shocks * 2.5
    recovering = rng.random(n_series) < 0.02
    bump = (t >= n_months - 12) & (t < n_months - 3)
    walk += recovering[:, None] * worse_sign[:, None] * 3.5 * noise_sd[:, None] * bump
    walk -= (
        recovering[:, None] * worse_sign[:, None] * 3.0 * noise_sd[:, None] * (t >= n_months - 3)
    )
    values = level[:, None] + walk
    unit = np.array([spec[2] for spec in library])[kpi_of]
    values = np.where(
        (unit == "percentage")[:, None],
        np.clip(np.round(values, 1), 0, 100),
        values,
    )
    values = np.where(is_count[:, None], np.maximum(np.round(values), 0), values)
    values = np.where((unit == "days")[:, None], np.maximum(np.round(values, 1), 0), values)
    values = np.where((unit == "rate_per_1000")[:, None], np.maximum(np.round(values, 2), 0),
                      values)  # fmt: skip

    # Periods and returns: one accepted return per contract per month. ~10% of
    # providers are often late (half their returns after the due date).
    n_periods = n_contracts * n_months
    period_start = np.tile(np.array(starts, dtype="datetime64[D]"), n_contracts)
    period_end = np.tile(np.array([_month_end(s) for s in starts], dtype="datetime64[D]"),
                         n_contracts)  # fmt: skip
    due = period_end + np.timedelta64(15, "D")
    periods = pd.DataFrame(
        {
            "id": np.arange(1, n_periods + 1),
            "tenant_id": 1,
            "contract_id": np.repeat(contract_ids, n_months),
            "frequency": "monthly",
            "start": period_start,
            "end": period_end,
            "due_date": due,
            "missing_after": due + np.timedelta64(30, "D"),
        }
    )
    often_late = np.repeat(rng.random(n_contracts) < 0.10, n_months)
    late = often_late & (rng.random(n_periods) < 0.5)
    offset_days = np.where(late, rng.integers(1, 12, n_periods), -rng.integers(0, 10, n_periods))
    submitted = (due + offset_days.astype("timedelta64[D]")).astype("datetime64[s]")
    submitted = submitted + np.timedelta64(10, "h")
    submitted = pd.to_datetime(submitted).tz_localize("UTC")
    narratives = np.array(
        [
            "A steady month; staffing stable.",
            "Two carers left; recruitment under way.",
            "Winter pressures increased demand.",
            "",
        ],
        dtype=object,
    )
    returns = pd.DataFrame(
        {
            "id": periods["id"],
            "tenant_id": 1,
            "contract_id": periods["contract_id"],
            "period_id": periods["id"],
            "version": 1,
            "status": "accepted",
            "no_activity": False,
            "narrative": narratives[rng.integers(0, len(narratives), n_periods)],
            "source": "web",
            "created_at": submitted - pd.Timedelta(days=1),
            "submitted_at": submitted,
            "reviewed_at": submitted + pd.Timedelta(days=2),
            "review_comment": "",
            "idempotency_fingerprint": "",
            "on_behalf_reason": "",
            "created_by_id": 1,
            "submitted_by_id": 1,
            "reviewed_by_id": 1,
        }
    )

    # Return values, series-major: row = series * months + month.
    n_values = n_series * n_months
    month_of = np.tile(np.arange(n_months), n_series)
    flat = values.ravel()
    missed = np.where(worse_sign[:, None] > 0, values > target[:, None], values < target[:, None])
    explain = missed.ravel() & (month_of >= n_months - 3)
    kinds = rng.random(n_values)
    explanations = np.full(n_values, "", dtype=object)
    explanations[explain & (kinds < 0.4)] = (
        "Vacancies in two rounds; agency cover booked and a recruitment drive under way."
    )
    explanations[explain & (kinds >= 0.4) & (kinds < 0.6)] = "see above"
    return_values = pd.DataFrame(
        {
            "id": np.arange(1, n_values + 1),
            "tenant_id": 1,
            "return_id": np.repeat(contract_of - 1, n_months) * n_months + month_of + 1,
            "contract_kpi_id": np.repeat(ck_ids, n_months),
            "value": flat,
            "variance_explanation": explanations,
        }
    )
    # Phase targets on ~5% of contract KPIs: a gentler target in months 1-6.
    phased = ck_ids[(rng.random(n_series) < 0.05) & ~np.isnan(target)]
    phases = pd.DataFrame(
        {
            "id": np.arange(1, len(phased) + 1),
            "tenant_id": 1,
            "contract_kpi_id": phased,
            "phase": "Implementation",
            "from_month": 1,
            "to_month": 6,
            "target": target[phased - 1] * np.where(worse_sign[phased - 1] > 0, 1.2, 0.9),
            "amber_tolerance": 0,
        }
    )

    users = pd.DataFrame(
        {
            "id": np.arange(1, n_managers + 2),
            "password": "!",
            "is_superuser": False,
            "email": ["bench.commissioner@example.org"]
            + [f"manager{n:02d}@example.org" for n in range(n_managers)],
            "full_name": ["Bench Team"] + [f"Manager {n}" for n in range(n_managers)],
            "is_active": True,
            "is_staff": False,
            "date_joined": now,
        }
    )
    memberships = pd.DataFrame(
        {
            "id": users["id"],
            "user_id": users["id"],
            "tenant_id": 1,
            "role": "commissioner",
            "is_active": True,
            "created_at": now,
        }
    )
    providers = pd.DataFrame(
        {
            "id": np.arange(1, 121),
            "tenant_id": 1,
            "name": [f"Provider {n:03d}" for n in range(1, 121)],
            "ein": "", "uei": "", "ods_code": "", "contact_name": "", "contact_email": "",
            "contact_phone": "", "address": "",
        }
    )  # fmt: skip
    service_types = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "tenant_id": 1,
            "code": ["home-care", "supported-living", "reablement"],
            "name": ["Home care", "Supported living", "Reablement"],
            "description": "",
        }
    )
    tenant = pd.DataFrame(
        [{"id": 1, "name": "Bench County", "slug": "bench", "currency": "USD",
          "time_zone": "UTC", "created_at": now, "holiday_country": "US",
          "holiday_subdivision": ""}]
    )  # fmt: skip

    tables = [
        ("oversight_tenant", tenant),
        ("oversight_user", users),
        ("oversight_membership", memberships),
        ("contracts_provider", providers),
        ("contracts_servicetype", service_types),
        ("contracts_contract", contracts),
        ("performance_kpi", kpis),
        ("performance_contractkpi", cks),
        ("performance_phasetarget", phases),
        ("performance_reportingperiod", periods),
        ("performance_return", returns),
        ("performance_returnvalue", return_values),
    ]
    with psycopg.connect(bench_url) as conn:
        with conn.cursor() as cursor:
            # Set-up only: skip the per-row foreign-key triggers (the ids are
            # consistent by construction). Needs a superuser, as the bench does.
            cursor.execute("SET session_replication_role = replica")
            for table, frame in tables:
                started = time.perf_counter()
                quoted = [f'"{c}"' for c in frame.columns]
                _copy(cursor, table, quoted, frame)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
                print(f"  {table:30}{len(frame):>12,} rows {time.perf_counter() - started:6.1f}s",
                      flush=True)  # fmt: skip
            size = {"contracts": n_contracts, "kpis": n_kpis, "months": n_months,
                    "today": today.isoformat()}  # fmt: skip
            cursor.execute(f"COMMENT ON TABLE performance_returnvalue IS '{json.dumps(size)}'")
        conn.commit()
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --- timing --------------------------------------------------------------------


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend process,
    when the server runs on this machine and /proc is readable; else None."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Clock:
    """Wall seconds of a block, CPU seconds of this process (Python) and,
    where it can be read, of the PostgreSQL backend serving it."""

    def __enter__(self):
        self.db0 = _backend_cpu()
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        db1 = _backend_cpu()
        self.db = None if self.db0 is None or db1 is None else db1 - self.db0

    @property
    def total_cpu(self) -> float:
        return self.cpu + (self.db or 0.0)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_read(tenant_id: int) -> tuple[int, Clock]:
    """The engine's own read: the same query, the same fetch, fetched completely."""
    from performance.signal_engine import _fetch_chunks, accepted_values_query, contracts_in_scope

    with Clock() as clock:
        ids = contracts_in_scope(tenant_id=tenant_id).values("id")
        n = 0
        for rows in _fetch_chunks(accepted_values_query(ids)):
            n += len(rows)
    clock.queries = 1
    return n, clock


class QueryCount:
    """How many SQL statements the block sends."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def time_recompute(tenant_id: int, today: date, profile: bool):
    from django.db import connection

    from performance.signal_engine import recompute_signals

    profiler = cProfile.Profile() if profile else None
    queries = QueryCount()
    with Clock() as clock, connection.execute_wrapper(queries):
        if profiler:
            profiler.enable()
        result = recompute_signals(tenant_id=tenant_id, today=today)
        if profiler:
            profiler.disable()
    clock.queries = queries.n
    if profiler:
        print("\nprofile (top 30 by cumulative time):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return result, clock


def run(args, today: date) -> None:
    from django.db import connection

    from performance.models import RiskScore, Signal

    tenant_id = 1
    print(f"\nmeasuring (today {today}); peak RSS after set-up {maxrss_mib():,.0f} MiB", flush=True)
    # Warm the cache once so neither side pays for cold pages.
    time_read(tenant_id)
    reads = []
    for _ in range(args.repeat):
        n_read, clock = time_read(tenant_id)
        reads.append(clock)
    read = min(reads, key=lambda c: c.wall)
    rss_read = maxrss_mib()
    print(f"  bare read: {n_read:,} rows in " + ", ".join(f"{c.wall:.2f}s" for c in reads),
          flush=True)  # fmt: skip

    first, first_clock = time_recompute(tenant_id, today, args.profile)
    print(f"  first recompute: {first_clock.wall:.2f}s  {first}", flush=True)
    rss_first = maxrss_mib()
    steadies = []
    for _ in range(args.repeat):
        steady, steady_clock = time_recompute(tenant_id, today, False)
        print(f"  steady recompute: {steady_clock.wall:.2f}s  {steady}", flush=True)
        assert steady.opened == steady.updated == steady.closed == steady.scores == 0, steady
        steadies.append((steady, steady_clock))
    steady, steady_clock = min(steadies, key=lambda pair: pair[1].wall)
    rss_steady = maxrss_mib()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM performance_historicalsignal")
        history = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM oversight_notification")
        notices = cursor.fetchone()[0]
    kinds = {}
    for kind in Signal.objects.values_list("kind", flat=True):
        kinds[kind] = kinds.get(kind, 0) + 1
    bands = {}
    for band in RiskScore.objects.values_list("band", flat=True):
        bands[band] = bands.get(band, 0) + 1

    n = first.values
    print(f"\n{args.contracts:,} contracts x {args.kpis} KPIs x {args.months} months: "
          f"{n:,} accepted values")  # fmt: skip
    opened = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"signals opened: {first.opened:,} ({opened}); history rows {history:,}; "
          f"notices to contract managers {notices:,}")  # fmt: skip
    print(f"risk bands: {', '.join(f'{k} {v}' for k, v in sorted(bands.items()))}")

    def db(clock):
        return "     n/a" if clock.db is None else f"{clock.db:8.2f}"

    print(f"\n{'':24}{'rows':>11}{'wall s':>8}{'py CPU':>8}{'db CPU':>8}{'rows/s':>11}"
          f"{'x read':>8}{'x CPU':>7}{'queries':>9}")  # fmt: skip
    print(f"{'(a) bare read':24}{n_read:>11,}{read.wall:8.2f}{read.cpu:8.2f}{db(read)}"
          f"{n_read / read.wall:11,.0f}{1:8.1f}{1:7.1f}{read.queries:9,}")  # fmt: skip
    for label, clock in (("(b) recompute, first", first_clock),
                         ("(c) recompute, steady", steady_clock)):  # fmt: skip
        print(f"{label:24}{n:>11,}{clock.wall:8.2f}{clock.cpu:8.2f}{db(clock)}"
              f"{n / clock.wall:11,.0f}{clock.wall / read.wall:8.1f}"
              f"{clock.total_cpu / read.total_cpu:7.1f}{clock.queries:9,}")  # fmt: skip
    print(
        "  (x read: wall-clock ratio; x CPU: Python + PostgreSQL backend CPU ratio, "
        "steadier on a busy machine)"
    )
    print("\nphases (wall s / CPU s):")
    for label, result in (("first", first), ("steady", steady)):
        parts = "  ".join(
            f"{phase} {result.timings[phase]:.2f}/{result.cpu[phase]:.2f}"
            for phase in result.timings
        )
        print(f"  {label:7} {parts}")
    print(f"\npeak RSS (ru_maxrss): after read {rss_read:,.0f} MiB, after first recompute "
          f"{rss_first:,.0f} MiB, after steady {rss_steady:,.0f} MiB")  # fmt: skip
    ratio = steady_clock.wall / read.wall
    cpu_ratio = steady_clock.total_cpu / read.total_cpu
    print(f"\ntarget: steady recompute <= 5x bare read: {'met' if ratio <= 5 else 'NOT met'} "
          f"(wall {ratio:.1f}x, CPU {cpu_ratio:.1f}x; first run wall "
          f"{first_clock.wall / read.wall:.1f}x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=2500)
    parser.add_argument("--kpis", type=int, default=25)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--quick", action="store_true",
                        help="a small portfolio (250 x 25 x 36) for a fast check")  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=2, help="timed reads and steady recomputes (best is used)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the first recompute")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database; reuse one built at this size"
    )
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.contracts, args.kpis, args.months = 250, 25, 36
    today = date.today()
    admin_url, bench_url = _database_urls()

    if args.build_only:  # the child process: keeps the build out of the measured RSS
        _setup_django(bench_url, migrate=True)
        from django.db import connections

        connections.close_all()
        build_portfolio(bench_url, args.contracts, args.kpis, args.months, today)
        return

    wanted = {"contracts": args.contracts, "kpis": args.kpis, "months": args.months,
              "today": today.isoformat()}  # fmt: skip
    reuse = args.keep and _built_size(bench_url) == wanted
    if reuse:
        print(f"reusing database {BENCH_DB} (built at this size today)", flush=True)
    else:
        print(f"creating database {BENCH_DB} and building "
              f"{args.contracts:,} x {args.kpis} x {args.months} …", flush=True)  # fmt: skip
        _create_database(admin_url)
        started = time.perf_counter()
        command = [sys.executable, __file__, "--build-only", "--contracts", str(args.contracts),
                   "--kpis", str(args.kpis), "--months", str(args.months)]  # fmt: skip
        env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"]}
        subprocess.run(command, check=True, env=env)
        print(f"built in {time.perf_counter() - started:.1f}s", flush=True)
    try:
        _setup_django(bench_url, migrate=False)
        if reuse:
            _reset_signals()
        run(args, today)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(admin_url)


def _reset_signals() -> None:
    """A reused database starts again without signals, scores or notifications."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE performance_signal, performance_historicalsignal, performance_riskscore, "
            "performance_historicalriskscore, oversight_notification"
        )


if __name__ == "__main__":
    main()
