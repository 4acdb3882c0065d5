"""The ORM edge of the signals engine: load in bulk, evaluate, write in bulk.

``recompute_signals`` reads every accepted value of the contracts in scope in
one query (values cast to float in the database), evaluates the rules in
``signal_rules`` (vectorised), then, in one transaction with the contracts
locked, opens new signals, updates changed ones, closes those whose condition
cleared, and stores today's risk score with its reasons. Running it twice
changes nothing the second time; two workers on the same contracts queue on
the row locks instead of duplicating signals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from operator import itemgetter

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Exists, F, FloatField, Min, OuterRef, Subquery
from django.db.models.functions import Cast, TruncDate
from django.urls import reverse

from contracts.models import Contract, ContractStatus
from oversight import clock, registry
from oversight.history import bulk_create, bulk_update
from oversight.workflow import transition_bulk

from .models import (
    ContractKpi,
    LimitRebase,
    PhaseTarget,
    ReportingPeriod,
    Return,
    ReturnStatus,
    ReturnValue,
    RiskScore,
    Signal,
    SignalStatus,
)
from .signal_rules import (
    BAND_NAMES,
    DETERIORATION,
    SEVERITY_ORDER,
    SEVERITY_POINTS,
    Risk,
    SignalSpec,
    evaluate,
    risk_scores,
)
from .signal_services import SIGNAL_WORKFLOW

logger = logging.getLogger(__name__)

LIVE = [SignalStatus.OPEN, SignalStatus.ACKNOWLEDGED]
NOTIFY_SEVERITIES = {"high", "critical"}
MONITORED = [ContractStatus.ACTIVE, ContractStatus.SUSPENDED]


@dataclass
class RecomputeResult:
    contracts: int
    values: int
    opened: int
    updated: int
    closed: int
    scores: int
    # Seconds per phase (load, evaluate, risk, write): wall clock and this
    # process's CPU; the gap between the two is mostly waiting on the database.
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    cpu: dict[str, float] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return (
            f"{self.contracts} contracts, {self.values} values: opened {self.opened}, "
            f"updated {self.updated}, closed {self.closed}, scores {self.scores} ("
            + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
            + ")"
        )


@contextmanager
def _phase(name: str, timings: dict, cpu: dict):
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - wall0
        cpu[name] = time.process_time() - cpu0


def _fetch(queryset) -> list[tuple]:
    """Run a queryset's SQL and fetch plain tuples: no model or dict per row."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fetch_chunks(queryset, size: int = 250_000) -> Iterator[list[tuple]]:
    """Run a queryset's SQL through a server-side cursor and yield plain tuples,
    ``size`` rows at a time: memory holds one chunk, not the whole result (the
    client-side cursor of ``_fetch`` receives every row before the first)."""
    sql, params = queryset.query.sql_with_params()
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as settings:
        if postgres:
            # Every row is wanted: plan for the whole result, not the first
            # 10%. (A rollback undoes this too; it is reset on the way out.)
            settings.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(size):
                yield rows
        if postgres:
            settings.execute("SET LOCAL cursor_tuple_fraction TO DEFAULT")


def contracts_in_scope(*, tenant_id: int | None = None, contract_ids=None):
    qs = Contract.objects.filter(status__in=MONITORED)
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    if contract_ids is not None:
        qs = qs.filter(id__in=list(contract_ids))
    return qs


def accepted_values_query(contract_ids):
    """Accepted values as (contract KPI, period start, value as float, site)."""
    return (
        ReturnValue.objects.filter(
            return_obj__contract_id__in=contract_ids, return_obj__status=ReturnStatus.ACCEPTED
        )
        .annotate(fvalue=Cast("value", FloatField()), pstart=F("return_obj__period__start"))
        .values_list("contract_kpi_id", "pstart", "fvalue", "site_id")
        .order_by()
    )


def contracts_frame(contract_qs) -> pd.DataFrame:
    """The contracts of ``contract_qs`` as the rules read them, indexed by id."""
    contracts = pd.DataFrame(
        list(
            contract_qs.values_list(
                "id", "tenant_id", "reference", "start_date", "end_date", "annual_value"
            )
        ),
        columns=["id", "tenant", "reference", "start_date", "end_date", "annual_value"],
    ).set_index("id")
    contracts["annual_value"] = contracts["annual_value"].astype(float)
    return contracts


def load_frames(contract_qs, *, today: date) -> dict[str, pd.DataFrame]:
    contracts = contracts_frame(contract_qs)
    ids = contract_qs.values("id")

    kpis = pd.DataFrame(
        list(
            ContractKpi.objects.filter(contract_id__in=ids).values_list(
                "id",
                "contract_id",
                "kpi__code",
                "kpi__name",
                "kpi__unit",
                "kpi__direction",
                "kpi__is_stress_indicator",
                "is_priority",
                "kpi__is_fidelity",
                "weight",
                "target",
                "amber_tolerance",
            )
        ),
        columns=[
            "ck",
            "contract",
            "code",
            "name",
            "unit",
            "direction",
            "is_stress",
            "is_priority",
            "is_fidelity",
            "weight",
            "target",
            "amber",
        ],  # fmt: skip
    ).set_index("ck")
    kpis["weight"] = kpis["weight"].astype(float)
    kpis["target"] = pd.to_numeric(kpis["target"], errors="coerce").astype(float)
    kpis["amber"] = pd.to_numeric(kpis["amber"], errors="coerce").fillna(0).astype(float)

    phases = pd.DataFrame(
        list(
            PhaseTarget.objects.filter(contract_kpi__contract_id__in=ids).values_list(
                "contract_kpi_id", "from_month", "to_month", "target", "amber_tolerance"
            )
        ),
        columns=["ck", "from_month", "to_month", "target", "amber"],
    )
    phases["target"] = phases["target"].astype(float)
    phases["amber"] = phases["amber"].astype(float)
    phases["to_month"] = phases["to_month"].astype(float)

    values = pd.concat(
        [_values_frame(rows) for rows in _fetch_chunks(accepted_values_query(ids))]
        or [_values_frame([])],
        ignore_index=True,
    )
    if values["site"].notna().any():
        values = _roll_up_sites(values, kpis)
    values = values.drop(columns="site")

    received = Return.objects.filter(period=OuterRef("pk")).exclude(status=ReturnStatus.DRAFT)
    periods = pd.DataFrame(
        _fetch(
            ReportingPeriod.objects.filter(contract_id__in=ids)
            .annotate(
                # The UTC calendar day, computed by the database: no timezone-aware
                # datetime object per period.
                first_submitted=TruncDate(Min("returns__submitted_at"), tzinfo=UTC),
                versions=Count("returns"),
                received=Exists(received),
            )
            .values_list(
                "contract_id",
                "start",
                "due_date",
                "missing_after",
                "first_submitted",
                "received",
                "versions",
            )  # fmt: skip
        ),
        columns=[
            "contract",
            "period_start",
            "due_date",
            "missing_after",
            "first_submitted",
            "received",
            "versions",
        ],  # fmt: skip
    )
    for column in ("period_start", "due_date", "missing_after"):
        periods[column] = pd.to_datetime(periods[column])
    periods["first_submitted"] = pd.to_datetime(periods["first_submitted"])
    periods["received"] = periods["received"].astype(bool)

    recent_text = pd.DataFrame(
        list(
            ReturnValue.objects.filter(
                return_obj__contract_id__in=ids,
                return_obj__status=ReturnStatus.ACCEPTED,
                return_obj__period__start__gte=today - timedelta(days=100),
            ).values_list(
                "return_obj__contract_id",
                "contract_kpi_id",
                "return_obj__period__start",
                "variance_explanation",
                "return_obj__narrative",
            )
        ),
        columns=["contract", "ck", "period_start", "explanation", "narrative"],
    )
    rebases = pd.DataFrame(
        list(
            LimitRebase.objects.filter(contract_kpi__contract_id__in=ids).values_list(
                "contract_kpi_id", "starts_on"
            )
        ),
        columns=["ck", "starts_on"],
    )
    return {
        "contracts": contracts,
        "kpis": kpis,
        "phases": phases,
        "rebases": rebases,
        "values": values,
        "periods": periods,
        "recent_text": recent_text,
    }


_EPOCH = date(1970, 1, 1).toordinal()


def _values_frame(rows: list[tuple]) -> pd.DataFrame:
    """The fetched (ck, period start, value, site) tuples as columns.

    Column by column rather than ``DataFrame(rows)``, which inspects every
    tuple; dates become day numbers, not one Timestamp each."""
    columns = ["ck", "period_start", "value", "site"]
    if not rows:
        frame = pd.DataFrame(rows, columns=columns)
        frame["period_start"] = pd.to_datetime(frame["period_start"])
        return frame
    n = len(rows)
    days = np.fromiter(map(date.toordinal, map(itemgetter(1), rows)), np.int64, n) - _EPOCH
    site = list(map(itemgetter(3), rows))
    return pd.DataFrame(
        {
            "ck": np.fromiter(map(itemgetter(0), rows), np.int64, n),
            "period_start": days.astype("datetime64[D]").astype("datetime64[s]"),
            "value": np.fromiter(map(itemgetter(2), rows), np.float64, n),
            "site": pd.Series(site, dtype=object) if site.count(None) < n else [None] * n,
        },
        columns=columns,
    )


def _roll_up_sites(values: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Site-level values become one contract value per period: counts add up,
    other units average."""
    counts = values["ck"].map(kpis["unit"]).eq("count")
    summed = values[counts].groupby(["ck", "period_start"], as_index=False)["value"].sum()
    averaged = values[~counts].groupby(["ck", "period_start"], as_index=False)["value"].mean()
    return pd.concat([summed, averaged], ignore_index=True).assign(site=None)


def load_provider_voice(ids: list[int], recent_text: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The early warnings providers raised themselves (every registered
    ``early_warning_source``: escalation's concerns) since the start of the
    earliest period whose return the silence rule reads, in one query for every
    contract of the run; and, only when there are any, the live deterioration
    signals' first-opened moments (one more), so that a warning raised after
    its signal opened does not count as raised before it."""
    empty = {
        "early_warnings": pd.DataFrame(columns=["contract", "raised_at", "id"]),
        "first_opened": pd.DataFrame(columns=["contract", "key", "opened_at"]),
    }
    if not ids or recent_text.empty:
        return empty
    first = pd.Timestamp(pd.to_datetime(recent_text["period_start"]).min()).date()
    since = datetime.combine(first, dt_time.min, tzinfo=UTC)
    rows = registry.early_warnings(contract_ids=ids, since=since)
    if not rows:
        return empty
    warnings = pd.DataFrame(
        [(row["contract_id"], row["raised_at"], row.get("id") or 0) for row in rows],
        columns=["contract", "raised_at", "id"],
    )
    opened = pd.DataFrame(
        list(
            Signal.objects.filter(
                contract_id__in=sorted(set(warnings["contract"].tolist())),
                status__in=LIVE,
                kind__in=DETERIORATION,
            ).values_list("contract_id", "key", "opened_at")
        ),
        columns=["contract", "key", "opened_at"],
    )
    return {"early_warnings": warnings, "first_opened": opened}


def kpi_risk_scores(
    frames: dict[str, pd.DataFrame], rows: list[tuple], *, today: date
) -> dict[int, Risk]:
    """The risk score, band and reasons the engine would give each contract of
    ``frames`` (from ``load_frames``) on ``today`` from its KPI signals alone,
    were ``rows`` its accepted values: (contract KPI id, period start, value,
    site id or None), site values rolled up as ``load_frames`` rolls them. Writes
    nothing; the demo builder checks a drawn story with it before replaying it."""
    values = pd.DataFrame(rows, columns=["ck", "period_start", "value", "site"])
    values["period_start"] = pd.to_datetime(values["period_start"])
    if values["site"].notna().any():
        values = _roll_up_sites(values, frames["kpis"])
    specs, _chart = evaluate(
        values=values.drop(columns="site"),
        kpis=frames["kpis"],
        phases=frames["phases"],
        contracts=frames["contracts"],
        periods=frames["periods"].iloc[0:0],
        recent_text=frames["recent_text"].iloc[0:0],
        today=today,
        rebases=frames.get("rebases"),
    )
    specs = [spec for spec in specs if spec.ck is not None]
    return risk_scores(specs, frames["kpis"], frames["contracts"])


def recompute_signals(
    *,
    tenant_id: int | None = None,
    contract_ids=None,
    today: date | None = None,
    user=None,
) -> RecomputeResult:
    today = today or clock.today()
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    scope = contracts_in_scope(tenant_id=tenant_id, contract_ids=contract_ids)
    with _phase("load", timings, cpu):
        frames = load_frames(scope, today=today)
        ids = [int(c) for c in frames["contracts"].index]
        voice = load_provider_voice(ids, frames["recent_text"])
    with _phase("evaluate", timings, cpu):
        specs, _chart = evaluate(today=today, **frames, **voice)
    with _phase("rules", timings, cpu):
        specs += registered_findings(contract_ids=ids, today=today)
    with _phase("risk", timings, cpu):
        scores = risk_scores(specs, frames["kpis"], frames["contracts"])
    with _phase("write", timings, cpu):
        opened, updated, closed, stored = _write(
            ids=ids, specs=specs, scores=scores, today=today, user=user, tenants=frames["contracts"]
        )
    result = RecomputeResult(
        len(ids), len(frames["values"]), opened, updated, closed, stored, timings, cpu
    )
    logger.info("signals recomputed: %s", result)
    return result


def _finding_problem(finding, kinds: set[str], in_run: set[int]) -> str:
    if finding.kind not in kinds:
        return f"kind {finding.kind!r} is not one it registered"
    if finding.severity not in SEVERITY_POINTS:
        return f"severity {finding.severity!r} is unknown"
    if not finding.key.startswith(finding.kind):
        return f"key {finding.key!r} does not start with its kind"
    if finding.contract_id not in in_run:
        return f"contract {finding.contract_id} is not in this run"
    return ""


def registered_findings(*, contract_ids: list[int], today: date) -> list[SignalSpec]:
    """The findings of the rules feature apps register (oversight/registry.py
    ``signal_rule``: overdue plan actions, a notice's deadline), as the engine's
    own specs, so they open, update, close and count towards the risk score like
    every other signal. A rule that answers a kind it did not register, an
    unknown severity, a key that does not start with its kind or a contract
    outside the run is a programming error, named with the rule."""
    if not contract_ids:
        return []
    in_run = set(contract_ids)
    specs = []
    for rule in registry.signal_rules():
        kinds = {code for code, _ in rule.kinds}
        for finding in rule.run(contract_ids=list(contract_ids), today=today):
            problem = _finding_problem(finding, kinds, in_run)
            if problem:
                raise ValueError(f"Signal rule {rule.key!r}: {problem}")
            specs.append(
                SignalSpec(
                    contract=finding.contract_id,
                    kind=finding.kind,
                    key=finding.key,
                    severity=finding.severity,
                    message=finding.message,
                    period_start=finding.period_start,
                    evidence=dict(finding.evidence),
                )
            )
    return specs


@transaction.atomic
def _write(*, ids, specs: list[SignalSpec], scores, today, user, tenants):
    now = clock.now()
    # Lock the contracts: a second worker on the same contracts waits here and
    # then finds the signals this one opened, so nothing is duplicated.
    list(Contract.objects.select_for_update().filter(id__in=ids).values_list("id", flat=True))
    # Compare against plain rows; model instances only for the few that change.
    live = {
        (contract_id, key): tuple(row)
        for contract_id, key, *row in Signal.objects.filter(
            contract_id__in=ids, status__in=LIVE
        ).values_list("contract_id", "key", "pk", "severity", "message", "evidence", "period_start")
    }
    wanted = {(spec.contract, spec.key): spec for spec in specs}
    tenant_of = tenants["tenant"].to_dict()

    new, updates = [], []
    for key, spec in wanted.items():
        row = live.get(key)
        if row is None:
            new.append(
                Signal(
                    tenant_id=int(tenant_of[spec.contract]),
                    contract_id=spec.contract,
                    contract_kpi_id=spec.ck,
                    kind=spec.kind,
                    key=spec.key,
                    severity=spec.severity,
                    period_start=spec.period_start,
                    message=spec.message,
                    evidence=spec.evidence,
                    opened_at=now,
                    last_seen_at=now,
                )
            )
        elif (spec.severity, spec.message, spec.evidence, spec.period_start) != row[1:]:
            updates.append((row[0], spec))
    gone = [row[0] for key, row in live.items() if key not in wanted]
    instances = Signal.objects.in_bulk([pk for pk, _ in updates] + gone) if updates or gone else {}

    changed = []
    for pk, spec in updates:
        signal = instances[pk]
        rose = SEVERITY_ORDER.index(spec.severity) > SEVERITY_ORDER.index(signal.severity)
        if rose and signal.status == SignalStatus.ACKNOWLEDGED:
            # Worse than when acknowledged: look again. Saved below with the
            # other changes of the recompute, in one bulk update.
            SIGNAL_WORKFLOW.check(signal.status, SignalStatus.OPEN)
            signal.status = SignalStatus.OPEN
        signal.severity, signal.message = spec.severity, spec.message
        signal.evidence, signal.period_start = spec.evidence, spec.period_start
        signal.last_seen_at = now
        changed.append(signal)
    to_close = [instances[pk] for pk in gone]

    if new:
        bulk_create(Signal, new, user=user, reason="Signal opened: condition appeared")
    if changed:
        bulk_update(
            Signal,
            changed,
            ["severity", "message", "evidence", "period_start", "status", "last_seen_at"],
            user=user,
            reason="Signal updated on recompute",
        )
    if to_close:
        # The engine closes them itself (the nightly run); ``user`` is whoever
        # started the run, if anyone (the demo builder).
        transition_bulk(
            to_close,
            SignalStatus.CLOSED,
            membership=None,
            system=True,
            history_user=user,
            action=None,
            reason="Condition cleared",
            now=now,
        )
    stored = _store_scores(ids=ids, scores=scores, today=today, user=user, tenants=tenants)
    alerts = [s for s in new if s.severity in NOTIFY_SEVERITIES]
    if alerts:
        _notify_managers(alerts)
    return len(new), len(changed), len(to_close), stored


def _previous_scores(ids, today) -> dict[int, RiskScore]:
    """Each contract's latest score before ``today`` (one query)."""
    latest = (
        RiskScore.objects.filter(contract_id=OuterRef("contract_id"), day__lt=today)
        .order_by("-day")
        .values("day")[:1]
    )
    return {
        r.contract_id: r
        for r in RiskScore.objects.filter(contract_id__in=ids, day=Subquery(latest)).only(
            "contract_id", "band", "reasons"
        )
    }


def band_move(previous: RiskScore | None, band: str, reasons: list[str]) -> tuple[str, str]:
    """(the band it moved from, the reason that moved it), or ("", "") when the
    band is the one of the contract's previous score (or it has none). Up: the
    strongest reason that the previous score did not have (else the strongest).
    Down: the strongest of the previous score's reasons that has gone."""
    if previous is None or previous.band == band:
        return "", ""
    up = BAND_NAMES.index(band) > BAND_NAMES.index(previous.band)
    if up:
        new = [r for r in reasons if r not in previous.reasons]
        return previous.band, (new or reasons or [""])[0]
    gone = [r for r in previous.reasons if r not in reasons]
    return previous.band, f"No longer: {gone[0]}" if gone else ""


def _store_scores(*, ids, scores, today, user, tenants) -> int:
    existing = {r.contract_id: r for r in RiskScore.objects.filter(contract_id__in=ids, day=today)}
    previous = _previous_scores(ids, today)
    tenant_of = tenants["tenant"].to_dict()
    new, changed = [], []
    for contract_id, (score, band, reasons, details) in scores.items():
        band_from, moved_by = band_move(previous.get(contract_id), band, reasons)
        row = existing.get(contract_id)
        fields = (score, band, reasons, details, band_from, moved_by)
        if row is None:
            new.append(
                RiskScore(
                    tenant_id=int(tenant_of[contract_id]),
                    contract_id=contract_id,
                    day=today,
                    score=score,
                    band=band,
                    reasons=reasons,
                    details=details,
                    band_from=band_from,
                    moved_by=moved_by,
                )
            )
        elif (row.score, row.band, row.reasons, row.details, row.band_from, row.moved_by) != fields:
            (row.score, row.band, row.reasons, row.details, row.band_from, row.moved_by) = fields
            changed.append(row)
    if new:
        bulk_create(RiskScore, new, user=user, reason="Risk score computed")
    if changed:
        bulk_update(
            RiskScore,
            changed,
            ["score", "band", "reasons", "details", "band_from", "moved_by"],
            user=user,
            reason="Risk recomputed",
        )
    return len(new) + len(changed)


def _notify_managers(signals: list[Signal]) -> None:
    """New high or critical signals notify the contract's manager (in-app and
    email) while they are an active member of the tenant: one notice per
    contract per recompute, naming each new signal, all written in one go
    (``notify_many``: one insert, one email task)."""
    from oversight.notifications import Notice, notification_recipients, notify_many

    from .apps import SIGNAL_NOTICE

    by_contract: dict[int, list[Signal]] = {}
    for signal in signals:
        by_contract.setdefault(signal.contract_id, []).append(signal)
    contracts = Contract.objects.filter(id__in=list(by_contract)).select_related(
        "tenant", "contract_manager"
    )
    contracts = list(contracts)
    listening: set[tuple[int, int]] = set()  # (tenant, user): one query per tenant
    for tenant in {c.tenant_id: c.tenant for c in contracts}.values():
        managers = {c.contract_manager_id for c in contracts if c.tenant_id == tenant.pk}
        listening.update(
            (tenant.pk, user_id)
            for user_id in notification_recipients(tenant=tenant, users=managers).values_list(
                "user_id", flat=True
            )
        )
    notices = []
    for contract in contracts:
        if (contract.tenant_id, contract.contract_manager_id) not in listening:
            continue
        new = by_contract[contract.id]
        url = reverse(
            "contract_dashboard",
            kwargs={"tenant_slug": contract.tenant.slug, "contract_pk": contract.pk},
        )
        lines = [f"{s.get_severity_display()}: {s.message}" for s in new]
        heading = (
            f"{contract.reference}: {len(new)} new high-risk signal{'s' if len(new) > 1 else ''}"
        )
        notices.append(
            Notice(
                tenant=contract.tenant,
                users=[contract.contract_manager],
                kind=SIGNAL_NOTICE,
                message=f"{heading} — " + " ".join(lines),
                url=url,
                dedupe_key="signals:"
                + ",".join(str(s.pk) for s in sorted(new, key=lambda s: s.pk)),
                email_subject=heading,
                email_body=heading + "\n\n" + "\n".join(f"- {line}" for line in lines),
            )
        )
    notify_many(notices)
