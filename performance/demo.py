"""The demo's performance data: a KPI library, contract KPIs, and returns that tell stories.

The data is in ``performance/demo/`` (read once by ``data()``, checked by
oversight/demo_files.py): ``library.yaml`` (service groups and the KPI library),
``measures.yaml`` (what each group's contracts report, and the norms values are
drawn around), ``stories.yaml`` (each demo contract's story, the returns left
for review, how returns arrive) and ``words.yaml`` (narratives, explanations,
queries). This module is the logic that turns it into rows.

``seed_performance(tenant, contracts, *, user, today)`` is called by ``seed_demo``
for each demo tenant. It builds, in order and idempotently:

1. ``seed_kpi_library``: the tenant's standard measures for the demo service
   types (US or NHS wording by the tenant's currency), stress indicators included.
2. ``seed_contract_kpis``: 5–8 measures per contract (at most five priority),
   with targets, amber tolerances, weights, benchmarks, and an implementation
   phase target (contract months 1–6) so a new site is not judged against the
   mature standard.
3. The reporting calendar (``services.reporting_calendar_sync``).
4. ``seed_returns``: a return for every period each contract owes, generated
   from seeded random processes that tell one story per contract (stories.yaml):

   - ``steady``: good and near target throughout;
   - ``deteriorating``: workforce strain over the last ~12 months: turnover,
     vacancies and then missed visits rising, narratives thinning to a line and
     explanations to a word or two;
   - ``recovered``: a dip about 18 months ago, an improvement plan, back to target;
   - ``late``: values fine, but returns often after the due date, a few never
     sent, and a couple queried and resubmitted;
   - ``new``: a new site in its implementation phase, judged against phase targets.

   The latest return of each contract in stories.yaml's ``awaiting_review`` is
   left submitted, so that every demo commissioner has returns to accept or query.
5. With ``nightly_history_months`` (seed_demo passes 13), the nightly signals
   job, replayed within the returns at each past month-end in turn: the real
   ``recompute_signals`` for the whole tenant, on the returns accepted by then,
   so the risk-score history and the signals' opening and closing are the
   engine's own (``_nightly``).

How the returns are written: replayed through the real path, in time order.
Each submission is built as ``ReturnHeader``/``ValueRow`` and goes through
``services.returns_enter``, the one way in of the form, the spreadsheets and
the API (validated, then written whole or not at all); the contract manager
then accepts it with ``services.return_accept`` (or queries it with
``services.return_query``, and a corrected version follows), and the expected
ranges are refreshed as an accepted return would refresh them. Each step runs
with the clock set to the moment it happened (``replaying_at``), so
``submitted_at``, ``reviewed_at`` and the history records carry historical
times, and a value that misses its target (or leaves the expected range as it
stood then) carries the explanation validation demands. The provider's own
member submits; where a provider has no user in the demo, the tenant's admin
enters it as a commissioner bulk upload. Calendar, library and contract KPI rows
are written with ``bulk_create`` (history: ``user``, ``REASON``); returns and
values carry the submitting member and a reason starting with ``REASON``.

Deterministic: ``numpy.random.default_rng`` seeded with ``DEMO_SEED``, the
tenant's slug and the contract's reference; only the anchor date moves.
"""

from __future__ import annotations

import functools
import heapq
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction

from contracts.models import Contract, DeliverySite, ServiceType
from oversight import clock
from oversight.demo_files import DemoFileError, choices, load, unknown_placeholders
from oversight.errors import ImportRejected
from oversight.history import bulk_create
from oversight.models import Membership, Role, Tenant

from . import services, terms, validation
from .calendar import contract_month
from .models import (
    Category,
    ContractKpi,
    Direction,
    Kpi,
    PhaseTarget,
    ReportingLevel,
    ReportingPeriod,
    Return,
    ReturnSource,
    Unit,
)
from .signal_engine import (
    contracts_frame,
    contracts_in_scope,
    kpi_risk_scores,
    load_frames,
    recompute_signals,
)

REASON = "Demo data (seed_demo)"
DEMO_SEED = 20260101
Q4 = Decimal("0.0001")

# The data: performance/demo/*.yaml (read once, checked as it is read).
DATA_DIR = Path(__file__).with_name("demo")

# The service group of a service type that no other group's keywords match.
GENERAL = "general"

# The stories a contract's returns tell (stories.yaml names one per contract).
STEADY = "steady"
DETERIORATING = "deteriorating"
RECOVERED = "recovered"
LATE = "late"
NEW = "new"
STORY_NAMES = (STEADY, DETERIORATING, RECOVERED, LATE, NEW)

# What the text templates of words.yaml may fill in (``_fill``, ``_explanation``).
NARRATIVE_FIELDS = {"commissioner", "k", "k2", "posts", "total"}
EXPLANATION_FIELDS = NARRATIVE_FIELDS | {"site", "n"}
QUERY_FIELDS = {"kpi", "label"}

# --------------------------------------------------------------------------
# What the data files hold.
# --------------------------------------------------------------------------

KPI_TEXTS = ("name", "definition", "numerator", "denominator")  # NHS wording may replace


@dataclass(frozen=True)
class KpiSpec:
    code: str
    name: str
    definition: str
    unit: str = field(metadata=choices(Unit.values))
    direction: str = field(metadata=choices(Direction.values))
    category: str = field(metadata=choices(Category.values))
    groups: tuple[str, ...]  # the service groups whose service types report it
    numerator: str = ""
    denominator: str = ""
    fidelity: bool = False
    stress: bool = False
    level: str = field(default=ReportingLevel.CONTRACT, metadata=choices(ReportingLevel.values))
    uk: dict[str, str] = field(default_factory=dict)  # NHS wording, by field

    def text(self, field_name: str, tenant_dialect: str) -> str:
        if tenant_dialect == "uk" and field_name in self.uk:
            return self.uk[field_name]
        return getattr(self, field_name)


@dataclass(frozen=True)
class LibraryFile:
    """library.yaml: the service groups, which group a service type belongs to,
    and the tenant's standard measures."""

    groups: tuple[str, ...]
    service_types: dict[str, str]  # service type code -> group
    keywords: tuple[tuple[str, str], ...]  # (word, group), the first found wins
    kpis: tuple[KpiSpec, ...]

    def problems(self):
        groups = set(self.groups)
        if GENERAL not in groups:
            yield "groups", f"the fallback group {GENERAL!r} is missing"
        for code, group in self.service_types.items():
            if group not in groups:
                yield f"service_types.{code}", f"no group {group!r} in groups"
        for i, (word, group) in enumerate(self.keywords):
            if group not in groups:
                yield f"keywords[{i}] ({word})", f"no group {group!r} in groups"
        codes = [k.code for k in self.kpis]
        for i, kpi in enumerate(self.kpis):
            where = f"kpis[{i}] ({kpi.code})"
            if codes.index(kpi.code) != i:
                yield where, f"the code {kpi.code!r} is used twice"
            for group in kpi.groups:
                if group not in groups:
                    yield f"{where}.groups", f"no group {group!r} in groups"
            for name in kpi.uk:
                if name not in KPI_TEXTS:
                    yield f"{where}.uk.{name}", f"only {', '.join(KPI_TEXTS)} have NHS wording"


@dataclass(frozen=True)
class Norm:
    good: float  # the level a well-run service sits at
    bad: float  # the level of a service under real strain
    target: float | None = None  # None for measures with no direction
    amber: float = 0.0
    phase: float | None = None  # implementation target, contract months 1–6
    best: float | None = None  # best practice
    sd: float = 0.0  # month-to-month wobble of the underlying level
    volume: float = 0.0  # typical monthly denominator (ratios)
    sens: float = 1.0  # how strongly a story moves the measure
    onset: int = 10  # months before today a deterioration starts to show


@dataclass(frozen=True)
class NormChange:
    """A measure's norm in one service group: the fields that differ."""

    good: float | None = None
    bad: float | None = None
    target: float | None = None
    amber: float | None = None
    phase: float | None = None
    best: float | None = None
    sd: float | None = None
    volume: float | None = None
    sens: float | None = None
    onset: int | None = None

    def changes(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class GroupKpis:
    priority: tuple[str, ...]  # at most five, listed first
    other: tuple[str, ...] = ()

    def pairs(self) -> tuple[tuple[str, bool], ...]:
        return tuple((c, True) for c in self.priority) + tuple((c, False) for c in self.other)


@dataclass(frozen=True)
class MeasuresFile:
    """measures.yaml: which measures each group's contracts report, and what good,
    the target and a bad month look like for each."""

    contract_kpis: dict[str, GroupKpis]  # by service group
    norms: dict[str, Norm]  # by KPI code
    by_group: dict[str, dict[str, NormChange]]  # KPI code -> group -> change


@dataclass(frozen=True)
class StoriesFile:
    """stories.yaml: the demo contracts' stories and how their returns arrive."""

    stories: dict[str, str]  # contract reference -> story
    awaiting_review: tuple[str, ...]
    sources: dict[str, str]  # contract reference -> return source, where not the web

    def problems(self):
        for reference, story in self.stories.items():
            if story not in STORY_NAMES:
                yield f"stories.{reference}", f"{story!r} is not one of: {', '.join(STORY_NAMES)}"
        for reference, source in self.sources.items():
            if source not in ReturnSource.values:
                yield (
                    f"sources.{reference}",
                    f"{source!r} is not one of: {', '.join(ReturnSource.values)}",
                )


@dataclass(frozen=True)
class Narratives:
    good: tuple[str, ...]
    strain: tuple[str, ...]
    terse: tuple[str, ...]
    dip: tuple[str, ...]
    recovered: tuple[str, ...]
    implementation: tuple[str, ...]
    late: tuple[str, ...]


@dataclass(frozen=True)
class Explanations:
    by_kpi: dict[str, tuple[str, ...]]  # a miss of this measure
    by_category: dict[str, tuple[str, ...]]  # a miss of another measure of the category
    unusual: tuple[str, ...]  # outside the expected range, no direction
    better: tuple[str, ...]  # outside the range on the good side
    terse: tuple[str, ...]
    dip: tuple[str, ...]
    recovering: tuple[str, ...]
    mobilising: tuple[str, ...]


@dataclass(frozen=True)
class WordsFile:
    """words.yaml: narratives, variance explanations and review comments."""

    narratives: Narratives
    explanations: Explanations
    queries: tuple[str, ...]

    def problems(self):
        for name, texts in vars(self.narratives).items():
            yield from unknown_placeholders(f"narratives.{name}", texts, NARRATIVE_FIELDS)
        for name, texts in vars(self.explanations).items():
            tables = texts.items() if isinstance(texts, dict) else [("", texts)]
            for key, table in tables:
                where = f"explanations.{name}" + (f".{key}" if key else "")
                yield from unknown_placeholders(where, table, EXPLANATION_FIELDS)
        for category in Category.values:
            if category not in self.explanations.by_category:
                yield "explanations.by_category", f"no explanations for the category {category!r}"
        yield from unknown_placeholders("queries", self.queries, QUERY_FIELDS)


@dataclass(frozen=True)
class DemoData:
    library: LibraryFile
    measures: MeasuresFile
    stories: StoriesFile
    words: WordsFile

    @functools.cached_property
    def kpis_by_code(self) -> dict[str, KpiSpec]:
        return {spec.code: spec for spec in self.library.kpis}


def _measure_problems(library: LibraryFile, measures: MeasuresFile):
    """What measures.yaml names must be in library.yaml."""
    codes, groups = {k.code for k in library.kpis}, set(library.groups)
    for group, kpis in measures.contract_kpis.items():
        if group not in groups:
            yield f"contract_kpis.{group}", "not a group of library.yaml"
        for code, _priority in kpis.pairs():
            if code not in codes:
                yield f"contract_kpis.{group}", f"{code!r} is not in library.yaml"
            elif code not in measures.norms:
                yield "norms", f"no norm for {code!r} (contract_kpis.{group} reports it)"
    for group in groups - set(measures.contract_kpis):
        yield "contract_kpis", f"no measures for the group {group!r}"
    for code, changes in measures.by_group.items():
        if code not in measures.norms:
            yield f"by_group.{code}", f"no norm for {code!r} to change"
        for group in changes:
            if group not in groups:
                yield f"by_group.{code}.{group}", "not a group of library.yaml"


@functools.cache
def data() -> DemoData:
    """The demo's performance data, read from ``DATA_DIR`` and checked."""
    library = load(DATA_DIR / "library.yaml", LibraryFile)
    measures = load(DATA_DIR / "measures.yaml", MeasuresFile)
    for where, message in _measure_problems(library, measures):
        raise DemoFileError(DATA_DIR / "measures.yaml", where, message)
    return DemoData(
        library=library,
        measures=measures,
        stories=load(DATA_DIR / "stories.yaml", StoriesFile),
        words=load(DATA_DIR / "words.yaml", WordsFile),
    )


# --------------------------------------------------------------------------
# Service groups: which family of measures a service type reports.
# --------------------------------------------------------------------------


def service_group(service_type: ServiceType, overrides: dict[str, str] | None = None) -> str:
    groups = data().library
    code = service_type.code.lower()
    mapping = {**groups.service_types, **(overrides or {})}
    if code in mapping:
        return mapping[code]
    text = f"{code} {service_type.name.lower()}"
    return next((group for word, group in groups.keywords if word in text), GENERAL)


def dialect(tenant: Tenant) -> str:
    """NHS wording for a tenant paying in pounds, US wording otherwise."""
    return "uk" if tenant.currency == "GBP" else "us"


# --------------------------------------------------------------------------
# The KPI library.
# --------------------------------------------------------------------------


@transaction.atomic
def seed_kpi_library(
    tenant: Tenant, *, user, service_groups: dict[str, str] | None = None
) -> dict[str, Kpi]:
    """Create the tenant's standard KPIs (those not there yet), each linked to the
    tenant's service types of the groups that report it. Returns every KPI by code."""
    existing = {k.code: k for k in Kpi.objects.filter(tenant=tenant)}
    words = dialect(tenant)
    new = [
        Kpi(
            tenant=tenant,
            code=spec.code,
            name=spec.text("name", words),
            definition=spec.text("definition", words),
            numerator=spec.text("numerator", words),
            denominator=spec.text("denominator", words),
            unit=spec.unit,
            direction=spec.direction,
            category=spec.category,
            is_fidelity=spec.fidelity,
            is_stress_indicator=spec.stress,
            reporting_level=spec.level,
        )
        for spec in data().library.kpis
        if spec.code not in existing
    ]
    for kpi in new:
        kpi.full_clean(validate_unique=False, validate_constraints=False)
    created = bulk_create(Kpi, new, user=user, reason=REASON) if new else []
    by_group: dict[str, list[int]] = {}
    for service_type in ServiceType.objects.filter(tenant=tenant).order_by("code"):
        by_group.setdefault(service_group(service_type, service_groups), []).append(service_type.id)
    for kpi in created:
        ids = [i for g in data().kpis_by_code[kpi.code].groups for i in by_group.get(g, [])]
        if ids:
            # m2m history: the change to the KPI's service types is a change of the KPI
            kpi._history_user = user
            kpi._change_reason = REASON
            kpi.service_types.set(ids)
        existing[kpi.code] = kpi
    return existing


# --------------------------------------------------------------------------
# Norms: what good, the target and a bad month look like for each measure.
# --------------------------------------------------------------------------

UNIT_COUNT_SCALED = (Unit.COUNT, Unit.CURRENCY)


def norm_for(code: str, group: str) -> Norm:
    measures = data().measures
    change = measures.by_group.get(code, {}).get(group)
    return replace(measures.norms[code], **(change.changes() if change else {}))


def _size(tenant: Tenant, contract: Contract) -> float:
    """How big the contract is relative to a typical one of its kind (deterministic)."""
    return 0.7 + 0.6 * float(_rng(tenant, contract, "size").random())


def _scaled(number: float | None, unit: str, size: float) -> float | None:
    if number is None or unit not in UNIT_COUNT_SCALED:
        return number
    return number * size if unit == Unit.CURRENCY else max(1.0, round(number * size))


def _dec(number: float | None, places: int = 4) -> Decimal | None:
    if number is None:
        return None
    return Decimal(str(round(float(number), places))).quantize(Q4, ROUND_HALF_UP)


@transaction.atomic
def seed_contract_kpis(
    tenant: Tenant,
    contracts: list[Contract],
    library: dict[str, Kpi],
    *,
    user,
    service_groups: dict[str, str] | None = None,
) -> list[ContractKpi]:
    """The measures each contract reports (for contracts that have none yet), with
    targets, amber tolerances, weights, benchmarks, and an implementation phase
    target for contract months 1–6."""
    done = set(
        ContractKpi.objects.filter(contract__in=contracts).values_list("contract_id", flat=True)
    )
    new: list[ContractKpi] = []
    norms: list[Norm] = []
    for contract in contracts:
        if contract.id in done:
            continue
        group = service_group(contract.service_type, service_groups)
        size = _size(tenant, contract)
        for code, priority in data().measures.contract_kpis[group].pairs():
            kpi = library[code]
            norm = norm_for(code, group)
            good, bad = _scaled(norm.good, kpi.unit, size), _scaled(norm.bad, kpi.unit, size)
            directed = kpi.direction != Direction.NONE
            new.append(
                ContractKpi(
                    tenant=tenant,
                    contract=contract,
                    kpi=kpi,
                    is_priority=priority,
                    target=_dec(_scaled(norm.target, kpi.unit, size)) if directed else None,
                    amber_tolerance=_dec(_scaled(norm.amber, kpi.unit, size) if directed else 0),
                    weight=Decimal("3")
                    if priority and kpi.is_fidelity
                    else Decimal(2 if priority else 1),
                    baseline=_dec(good + 0.3 * (bad - good), 1),
                    peer_benchmark=_dec(good + 0.15 * (bad - good), 1),
                    best_practice=_dec(_scaled(norm.best, kpi.unit, size)) if directed else None,
                )
            )
            norms.append(norm)
    for ck in new:
        ck.full_clean(validate_unique=False, validate_constraints=False)
    created = bulk_create(ContractKpi, new, user=user, reason=REASON) if new else []
    phases = [
        PhaseTarget(
            tenant=tenant,
            contract_kpi=ck,
            phase="Implementation (months 1–6)",
            from_month=1,
            to_month=6,
            target=_dec(_scaled(norm.phase, ck.kpi.unit, _size(tenant, ck.contract))),
            amber_tolerance=ck.amber_tolerance,
        )
        for ck, norm in zip(created, norms, strict=True)
        if norm.phase is not None and ck.target is not None
    ]
    if phases:
        bulk_create(PhaseTarget, phases, user=user, reason=REASON)
    return created


# --------------------------------------------------------------------------
# Stories.
# --------------------------------------------------------------------------


def story_of(contract: Contract, today: date, stories: dict[str, str] | None = None) -> str:
    story = (stories or data().stories.stories).get(contract.reference)
    if story:
        return story
    return NEW if contract_month(contract.start_date, today) <= 7 else STEADY


def _months_ago(period_start: date, today: date) -> int:
    """1 for last month's period, 2 for the month before…"""
    return (today.year - period_start.year) * 12 + today.month - period_start.month


def _ramp(x: float) -> float:
    return min(1.0, max(0.0, x))


def stress(story: str, months_ago: int, norm: Norm) -> float:
    """How far from good towards bad a measure sits: 0 good, 1 bad."""
    a = months_ago
    if story == DETERIORATING:
        # Workforce first (turnover, vacancies), then missed visits, outcomes last.
        return 0.08 + 0.95 * _ramp((norm.onset + 1 - a) / norm.onset) ** 1.3 * norm.sens
    if story == RECOVERED:
        # Trouble from ~22 months ago, worst 19–16 months ago (the improvement
        # plan is agreed 17 months ago), back to target by 12 months ago.
        if a >= 23 or a <= 11:
            bump = 0.0
        elif a >= 19:
            bump = (23 - a) / 4
        elif a >= 16:
            bump = 1.0
        else:
            bump = (a - 11) / 5
        return (0.06 if a > 11 else 0.03) + 0.95 * bump * norm.sens
    return {STEADY: 0.04, LATE: 0.2, NEW: 0.05}.get(story, 0.05)


# --------------------------------------------------------------------------
# Generating the values.
# --------------------------------------------------------------------------


def _rng(tenant: Tenant, contract: Contract, purpose: str) -> np.random.Generator:
    key = [DEMO_SEED, zlib.crc32(tenant.slug.encode()), zlib.crc32(contract.reference.encode())]
    return np.random.default_rng(key + [zlib.crc32(purpose.encode())])


@dataclass
class _Value:
    ck: ContractKpi
    site: DeliverySite | None
    value: Decimal
    numerator: Decimal | None = None
    denominator: Decimal | None = None


@dataclass
class _Period:
    period: ReportingPeriod
    months_ago: int
    month: int  # contract month
    no_activity: bool
    values: list[_Value]
    missing: bool = False
    submit_lag: float = 0.0  # days after the period ends
    review_lag: float = 0.0
    query: bool = False
    resubmit_lag: float = 0.0
    accept_lag: float = 0.0
    awaiting_review: bool = False  # submitted, and left for the commissioner to review


@dataclass
class _Plan:
    tenant: Tenant
    contract: Contract
    story: str
    group: str
    words: str
    size: float
    cks: list[ContractKpi]
    sites: list[DeliverySite]
    submitter: Membership
    reviewer: Membership
    source: str
    text_rng: np.random.Generator
    periods: list[_Period] = field(default_factory=list)
    accepted_with_values: int = 0
    # The signals engine's frames of the contract (KPIs, targets), loaded once.
    frames: dict | None = None


def _level(plan: _Plan, ck: ContractKpi, norm: Norm, p: _Period, site_factor: float) -> float:
    unit = ck.kpi.unit
    good, bad = _scaled(norm.good, unit, plan.size), _scaled(norm.bad, unit, plan.size)
    s = stress(plan.story, p.months_ago, norm) * site_factor
    level = good + s * (bad - good)
    target = _scaled(norm.target, unit, plan.size)
    phase = _scaled(norm.phase, unit, plan.size)
    if p.month <= 6 and phase is not None and target is not None:
        # Mobilising: starts between the phase target and the mature one and
        # reaches "good" as the team settles in.
        start = phase + 0.35 * (target - phase)
        early = start + (p.month - 1) / 6 * (good - start)
        higher = ck.kpi.direction == Direction.HIGHER
        level = min(level, early) if higher else max(level, early)
    return level


def _generate_value(
    plan: _Plan,
    ck: ContractKpi,
    p: _Period,
    site: DeliverySite | None,
    share: float,
    site_factor: float,
    fraction: float,
    rng: np.random.Generator,
) -> _Value:
    norm = norm_for(ck.kpi.code, plan.group)
    level = _level(plan, ck, norm, p, site_factor)
    unit = ck.kpi.unit
    if ck.kpi.has_ratio:
        scale = 100 if unit == Unit.PERCENTAGE else 1000
        rate = min(max(level + rng.normal(0, norm.sd), 0.05), 99.9 if scale == 100 else 999)
        volume = max(norm.volume * plan.size * share * fraction, 3)
        den = max(int(rng.poisson(volume)), 1)
        num = int(rng.binomial(den, rate / scale))
        value = (Decimal(num) / Decimal(den) * scale).quantize(Q4)
        return _Value(ck, site, value, Decimal(num), Decimal(den))
    if unit == Unit.COUNT:
        return _Value(ck, site, Decimal(int(rng.poisson(max(level * share * fraction, 0.05)))))
    # days and money: a positive quantity with multiplicative noise
    noisy = level * float(np.exp(rng.normal(0, norm.sd or 0.05)))
    return _Value(ck, site, _dec(noisy, 1 if unit == Unit.DAYS else 2))


def _site_factors(plan: _Plan) -> list[float]:
    """Under strain the pressure lands unevenly: later sites (the rural ones in the
    demo) take more of it."""
    n = len(plan.sites)
    if plan.story != DETERIORATING or n < 2:
        return [1.0] * n
    return [0.85 + 0.3 * i / (n - 1) for i in range(n)]


STORY_ATTEMPTS = 60


def _build_periods(plan: _Plan, periods: list[ReportingPeriod], today: date) -> None:
    """The plan's values and timings, drawn until they tell its story.

    A story is a promise about the realised data, not only about the levels the
    noise is drawn around (a lucky or unlucky draw can hide a dip or a recovery):
    each draw is checked against the story's promise (``story_broken``) and, if it
    breaks it, drawn again from the next seeded stream. The same day still gives
    the same demo; a story that no draw tells is an error, not a quiet demo."""
    problem = ""
    for attempt in range(STORY_ATTEMPTS):
        purpose = "values" if attempt == 0 else f"values/{attempt}"
        _draw_periods(plan, periods, today, _rng(plan.tenant, plan.contract, purpose))
        problem = story_broken(plan, today)
        if not problem:
            return
    raise DemoDataError(
        f"{plan.contract.reference}: no draw in {STORY_ATTEMPTS} tells the {plan.story} "
        f"story ({problem})"
    )


def _draw_periods(
    plan: _Plan, periods: list[ReportingPeriod], today: date, rng: np.random.Generator
) -> None:
    plan.periods = []
    weights = rng.uniform(0.7, 1.3, size=max(len(plan.sites), 1))
    shares = list(weights / weights.sum())
    factors = _site_factors(plan)
    for period in periods:
        month = contract_month(plan.contract.start_date, period.start)
        days = (period.end - max(period.start, plan.contract.start_date)).days + 1
        fraction = days / 30.4  # volumes are monthly; a week or a clipped month is a share
        first_short = month == 1 and days < 10
        p = _Period(period, _months_ago(period.start, today), month, first_short, [])
        if not first_short:
            for ck in plan.cks:
                if ck.kpi.reporting_level == ReportingLevel.SITE:
                    for i, site in enumerate(plan.sites):
                        p.values.append(
                            _generate_value(
                                plan, ck, p, site, shares[i], factors[i], min(fraction, 1), rng
                            )
                        )
                else:
                    p.values.append(
                        _generate_value(plan, ck, p, None, 1.0, 1.0, min(fraction, 1), rng)
                    )
        _timing(plan, p, rng)
        plan.periods.append(p)
    _choose_queries(plan, rng)


def _timing(plan: _Plan, p: _Period, rng: np.random.Generator) -> None:
    """When the return is sent (days after the period ends) and reviewed."""
    due = (p.period.due_date - p.period.end).days  # 15 by default
    if plan.story == LATE:
        # Often after the due date; now and then never sent at all.
        p.missing = p.months_ago > 2 and rng.random() < 0.12
        p.submit_lag = (
            due + float(rng.uniform(-5, 30))
            if rng.random() < 0.8
            else float(rng.uniform(5, due - 1))
        )
    elif plan.story == DETERIORATING and p.months_ago <= 9:
        p.submit_lag = float(rng.uniform(due - 8, due + 2))  # sliding towards the deadline
    else:
        p.submit_lag = float(rng.uniform(3, due - 2))
    p.review_lag = float(rng.uniform(1.5, 9))
    p.resubmit_lag = float(rng.uniform(2, 8))
    p.accept_lag = float(rng.uniform(1, 5))


def _choose_queries(plan: _Plan, rng: np.random.Generator) -> None:
    """A commissioner queries a few returns; the provider corrects and resubmits."""
    candidates = [p for p in plan.periods if p.values and not p.missing and p.months_ago > 1]
    if not candidates:
        return
    if plan.story == LATE:
        picks = rng.choice(len(candidates), size=min(2, len(candidates)), replace=False)
        for i in picks:
            candidates[int(i)].query = True
    elif plan.story == DETERIORATING:
        recent = [p for p in candidates if 2 <= p.months_ago <= 6]
        if recent:
            recent[int(rng.integers(len(recent)))].query = True
    elif plan.story == RECOVERED:
        dip = [p for p in candidates if 16 <= p.months_ago <= 19]
        if dip:
            dip[int(rng.integers(len(dip)))].query = True


# --------------------------------------------------------------------------
# What each story promises of the realised data.
# --------------------------------------------------------------------------

# Every measure of a deteriorating contract is worse over the last year than in its
# mature years before; the measures the strain shows in first (workforce, then
# missed visits) by at least this share of the shift their levels were drawn around.
DETERIORATION_SHARE = 0.7
DETERIORATION_LEADS = frozenset({"staff-turnover", "vacancy-rate", "missed-visits"})


def _realised(plan: _Plan, ck: ContractKpi, skip_latest: bool) -> dict[int, tuple[float, int]]:
    """One KPI's values by months ago (with the contract month), sites pooled as a
    reader of the returns would pool them (Σ numerator ÷ Σ denominator)."""
    series: dict[int, tuple[float, int]] = {}
    for p in plan.periods:
        if p.missing or not p.values or (skip_latest and p.months_ago <= 1):
            continue
        mine = [v for v in p.values if v.ck is ck]
        if not mine:
            continue
        if mine[0].denominator is not None:
            scale = 100 if ck.kpi.unit == Unit.PERCENTAGE else 1000
            den = sum(float(v.denominator) for v in mine)
            value = sum(float(v.numerator) for v in mine) / den * scale
        else:
            value = sum(float(v.value) for v in mine)
        series[p.months_ago] = (value, p.month)
    return series


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _deterioration_broken(plan: _Plan, ck: ContractKpi, series, worse: int) -> str:
    norm = norm_for(ck.kpi.code, plan.group)
    recent_p = [p for p in plan.periods if p.values and 1 <= p.months_ago <= 12]
    before_p = [p for p in plan.periods if p.values and p.months_ago > 12 and p.month > 6]
    recent = _mean([v for a, (v, _m) in series.items() if a <= 12])
    before = _mean([v for a, (v, m) in series.items() if a > 12 and m > 6])
    if recent is None or before is None or len(before_p) < 6:
        return ""  # too young for a before-and-after
    drawn_recent = _mean([_level(plan, ck, norm, p, 1.0) for p in recent_p])
    drawn_before = _mean([_level(plan, ck, norm, p, 1.0) for p in before_p])
    if ck.kpi.code not in DETERIORATION_LEADS:
        return "" if worse * (recent - before) > 0 else f"{ck.kpi.code} is not worse"
    wanted = worse * (drawn_recent - drawn_before) * DETERIORATION_SHARE
    if worse * (recent - before) < wanted:
        return f"{ck.kpi.code} is not worse enough over the last year"
    quarter = _mean([v for a, (v, _m) in series.items() if a <= 3])
    if quarter is not None and worse * (quarter - recent) < -0.05 * abs(recent):
        return f"{ck.kpi.code}: the latest quarter is not the worst"
    return ""


def _recovery_broken(ck: ContractKpi, series, worse: int) -> str:
    dip = _mean([v for a, (v, _m) in series.items() if 16 <= a <= 19])
    before = _mean([v for a, (v, m) in series.items() if a >= 24 and m > 6])
    after = _mean([v for a, (v, _m) in series.items() if a <= 10])
    if dip is None or after is None:
        return ""
    if before is not None and worse * (dip - before) <= 0:
        return f"{ck.kpi.code} shows no dip"
    if worse * (dip - after) <= 0:
        return f"{ck.kpi.code} did not come back from its dip"
    if ck.target is not None and validation.misses_target(
        ck.kpi.direction, Decimal(str(after)), ck.target
    ):
        return f"{ck.kpi.code} is not back on target"
    return ""


def _engine_band(plan: _Plan, today: date, skip_latest: bool) -> tuple[int, str, list[str]] | None:
    """The score, band and reasons the signals engine gives the drawn data on
    its KPIs alone, or None when no value is drawn."""
    if plan.frames is None:  # the contract's KPIs and targets: the same for every draw
        plan.frames = load_frames(Contract.objects.filter(pk=plan.contract.pk), today=today)
        # Its value ranked among its tenant's contracts, as the nightly run ranks
        # it (alone, it would be its tenant's largest and scaled up).
        peers = contracts_in_scope(tenant_id=plan.contract.tenant_id)
        plan.frames["contracts"] = contracts_frame(peers)
    rows = [
        (v.ck.pk, p.period.start, float(v.value), v.site.pk if v.site else None)
        for p in plan.periods
        if not p.missing and not (skip_latest and p.months_ago <= 1)
        for v in p.values
    ]
    if not rows:
        return None
    return kpi_risk_scores(plan.frames, rows, today=today)[plan.contract.pk]


def _steady_broken(plan: _Plan, today: date, skip_latest: bool) -> str:
    """A steady contract is one the signals engine itself rates low on its KPIs."""
    rated = _engine_band(plan, today, skip_latest)
    if rated is None or rated[1] == "low":
        return ""
    return f"rated {rated[1]} ({rated[0]}): {rated[2][:2]}"


def _deteriorating_unseen(plan: _Plan, today: date, skip_latest: bool) -> str:
    """A deteriorating contract is one the signals engine itself rates high or
    critical on its KPIs."""
    rated = _engine_band(plan, today, skip_latest)
    if rated is None or rated[1] in ("high", "critical"):
        return ""
    return f"rated only {rated[1]} ({rated[0]}): {rated[2][:2]}"


def story_broken(plan: _Plan, today: date) -> str:
    """Why the drawn data does not tell the plan's story, or "" if it does. Judged
    with and without the latest period (which may still be awaiting review)."""
    for skip_latest in (False, True):
        if plan.story == STEADY:
            problem = _steady_broken(plan, today, skip_latest)
            if problem:
                return problem
            continue
        if plan.story not in (DETERIORATING, RECOVERED):
            continue
        if plan.story == DETERIORATING:
            problem = _deteriorating_unseen(plan, today, skip_latest)
            if problem:
                return problem
        for ck in plan.cks:
            if ck.kpi.direction == Direction.NONE:
                continue
            worse = 1 if ck.kpi.direction == Direction.LOWER else -1
            series = _realised(plan, ck, skip_latest)
            if plan.story == DETERIORATING:
                problem = _deterioration_broken(plan, ck, series, worse)
            else:
                problem = _recovery_broken(ck, series, worse)
            if problem:
                return problem
    return ""


def _misreported(p: _Period) -> list[_Value]:
    """The first version of a queried return: one figure taken from the wrong
    extract (a ratio's denominator, else a count doubled)."""
    values = list(p.values)
    for i, v in enumerate(values):
        if v.site is None and v.denominator is not None and v.ck.is_priority:
            den = (v.denominator * Decimal("1.4")).to_integral_value()
            scale = Decimal(100 if v.ck.kpi.unit == Unit.PERCENTAGE else 1000)
            wrong = (v.numerator / den * scale).quantize(Q4)
            values[i] = _Value(v.ck, None, wrong, v.numerator, den)
            return values
    for i, v in enumerate(values):
        if v.ck.kpi.unit == Unit.COUNT and v.site is None:
            values[i] = _Value(v.ck, None, v.value * 2 + 3)
            return values
    return values


# --------------------------------------------------------------------------
# Words: narratives, variance explanations, review comments (words.yaml).
# --------------------------------------------------------------------------


def _pick(rng: np.random.Generator, options: tuple[str, ...], **fill) -> str:
    return options[int(rng.integers(len(options)))].format(**fill)


def _fill(plan: _Plan, p: _Period) -> dict:
    posts_total = max(6, int(round(12 * plan.size)))
    return {
        "commissioner": "ICB" if plan.words == "uk" else "County",
        "k": 2 + p.months_ago % 3,
        "k2": 3 + p.months_ago % 3,
        "posts": max(2, int(round(posts_total * (0.5 + 0.08 * p.month)))),
        "total": posts_total,
    }


def _narrative(plan: _Plan, p: _Period, late: bool) -> str:
    rng = plan.text_rng
    said = data().words.narratives
    fill = _fill(plan, p)
    month = p.period.start.strftime("%B %Y")
    if p.no_activity:
        return (
            f"The service went live on {plan.contract.start_date:%d %B %Y}; no one was "
            "referred before the month ended."
        )
    counts = {v.ck.kpi.code: v.value for v in p.values if v.site is None}
    if "referrals-received" in counts:
        opener = f"{month}: {int(counts['referrals-received'])} referrals received."
    else:
        opener = f"{month} return."
    a, story = p.months_ago, plan.story
    sentences: list[str] = []
    if story == DETERIORATING and a <= 6:
        return _pick(rng, said.terse)
    if story == DETERIORATING and a <= 11:
        sentences = [opener, _pick(rng, said.strain)]
    elif story == RECOVERED and 12 <= a <= 21:
        sentences = [
            opener,
            _pick(rng, said.dip, **fill),
            _pick(rng, said.dip, **fill),
            _pick(rng, said.strain),
        ]
    elif story == RECOVERED and a < 12:
        sentences = [opener, _pick(rng, said.recovered), _pick(rng, said.good)]
    elif p.month <= 6:
        sentences = [
            opener,
            _pick(rng, said.implementation, **fill),
            _pick(rng, said.implementation, **fill),
        ]
    else:
        k = 4 if story == DETERIORATING else 3
        sentences = [opener] + [_pick(rng, said.good) for _ in range(k)]
    if late and rng.random() < 0.6:
        sentences.insert(1, _pick(rng, said.late))
    return " ".join(dict.fromkeys(sentences))  # no sentence twice


def _explanation(plan: _Plan, p: _Period, v: _Value, why: str) -> str:
    """``why``: "miss" (worse than target), "unusual" (outside the expected range,
    no direction), "better" (outside the range on the good side)."""
    rng, said = plan.text_rng, data().words.explanations
    kpi = v.ck.kpi
    fill = {
        **_fill(plan, p),
        "site": v.site.name if v.site else "the",
        "n": int(v.numerator if v.numerator is not None else v.value),
    }
    if plan.story == DETERIORATING and p.months_ago <= 9:
        return _pick(rng, said.terse)
    if why == "better":
        if plan.story == RECOVERED and p.months_ago <= 15:
            return _pick(rng, said.recovering)
        return _pick(rng, said.better)
    if why == "unusual":
        return _pick(rng, said.unusual)
    if plan.story == RECOVERED and 12 <= p.months_ago <= 21:
        return _pick(rng, said.dip, **fill)
    if p.month <= 6:
        return _pick(rng, said.mobilising, **fill)
    options = said.by_kpi.get(kpi.code) or said.by_category[kpi.category]
    return _pick(rng, options, **fill)


def _rows(plan: _Plan, p: _Period, values: list[_Value]) -> list[validation.ValueRow]:
    """The value rows as the provider sends them, explained where validation (with
    the contract's targets and expected ranges as they stand now) will ask."""
    rows = []
    for i, v in enumerate(values):
        ck, kpi = v.ck, v.ck.kpi
        target, _amber = terms.target_in_force(ck, p.period.start)
        why = ""
        if validation.misses_target(kpi.direction, v.value, target):
            why = "miss"
        elif validation.outside_expected(ck, v.value):
            if kpi.direction == Direction.NONE:
                why = "unusual"
            else:
                low = ck.expected_low is not None and v.value < ck.expected_low
                worse = low == (kpi.direction == Direction.HIGHER)
                why = "miss" if worse else "better"
        rows.append(
            validation.ValueRow(
                where=f"values[{i}]",
                contract_ref=plan.contract.reference,
                period=p.period.label,
                kpi_code=kpi.code,
                site=v.site.name if v.site else "",
                value=v.value,
                numerator=v.numerator,
                denominator=v.denominator,
                variance_explanation=_explanation(plan, p, v, why) if why else "",
            )
        )
    return rows


# --------------------------------------------------------------------------
# Replaying the returns through the services.
# --------------------------------------------------------------------------


class DemoDataError(RuntimeError):
    """The generated demo data did not pass the product's own validation."""


@contextmanager
def replaying_at(moment: datetime) -> Iterator[None]:
    """Run the real services as if it were ``moment``: the clock is pinned there
    (submitted and reviewed times, due/late judgements, ``created_at`` and the
    history records' dates, which all read the clock)."""
    with clock.pinned(moment):
        yield


def _at(plan: _Plan, day: date, lag_days: float) -> datetime:
    """A working-hours moment ``lag_days`` after ``day``, in the tenant's time zone."""
    whole = int(lag_days)
    minutes = int((lag_days - whole) * 9 * 60)  # spread across 08:30–17:30
    local = datetime.combine(
        day + timedelta(days=whole), time(8, 30), ZoneInfo(plan.tenant.time_zone)
    )
    return local + timedelta(minutes=minutes)


def _cutoff(tenant: Tenant, today: date) -> datetime:
    """Nothing is replayed on or after the start of ``today`` (tenant time)."""
    return datetime.combine(today, time(0, 0), ZoneInfo(tenant.time_zone))


def _setup_moment(tenant: Tenant, day: date, cutoff: datetime) -> datetime:
    moment = datetime.combine(day, time(9, 0), ZoneInfo(tenant.time_zone))
    return min(moment, cutoff - timedelta(hours=1))


@dataclass
class _Replay:
    user: object
    cutoff: datetime
    queue: list = field(default_factory=list)
    seq: int = 0
    counts: dict = field(default_factory=dict)

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        if moment >= self.cutoff:
            return  # has not happened yet
        self.seq += 1
        heapq.heappush(self.queue, (moment, self.seq, action))

    def run(self) -> None:
        while self.queue:
            moment, _seq, action = heapq.heappop(self.queue)
            with replaying_at(moment):
                action(moment)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def _submit(replay: _Replay, plan: _Plan, p: _Period, *, version_values, first: bool):
    def action(moment: datetime) -> None:
        local_day = moment.astimezone(ZoneInfo(plan.tenant.time_zone)).date()
        late = local_day > p.period.due_date
        header = validation.ReturnHeader(
            contract_ref=plan.contract.reference,
            period=p.period.label,
            narrative=_narrative(plan, p, late)
            if first
            else (
                "Corrected as queried: the figure now comes from the right extract. "
                + _narrative(plan, p, late)
            ),
            no_activity=p.no_activity,
        )
        rows = _rows(plan, p, version_values)
        key = None
        if plan.source == ReturnSource.API:
            # The first version, or the one correcting a queried return.
            key = f"demo-{plan.contract.reference}-{p.period.label}-v{1 if first else 2}"
        try:
            # The one way in of the form, the spreadsheets and the API.
            [ret] = services.returns_enter(
                membership=plan.submitter,
                headers=[header],
                rows=rows,
                source=plan.source,
                today=local_day,
                submit=True,
                idempotency_key=key,
                reason=f"{REASON}: return submitted",
                on_behalf_reason=""
                if plan.submitter.role == Role.PROVIDER
                else "The provider sent its return as a spreadsheet by email; the data team "
                "uploaded it",
            )
        except ImportRejected as rejected:
            raise DemoDataError(
                f"{plan.contract.reference} {p.period.label}: "
                + "; ".join(str(problem) for problem in rejected.problems)
            ) from None
        replay.count("submitted")
        if p.awaiting_review:
            return  # nobody has reviewed it yet: the demo's commissioner will
        if p.query and first:
            replay.at(moment + timedelta(days=p.review_lag), _query(replay, plan, p, ret))
        else:
            lag = p.accept_lag if not first else p.review_lag
            replay.at(moment + timedelta(days=lag), _accept(replay, plan, ret, p))

    return action


def _accept(replay: _Replay, plan: _Plan, ret: Return, p: _Period):
    def action(moment: datetime) -> None:
        # Ranges are refreshed below as each return lands; signals are computed
        # once for the whole demo at the end (seed_demo's seed_signals).
        services.return_accept(membership=plan.reviewer, ret=ret, recompute=False)
        replay.count("accepted")
        plan.accepted_with_values += bool(p.values)
        # What an accepted return sets off after commit (too late inside seed_demo's
        # transaction): the contract's expected ranges, which the next return is
        # validated against. Below 12 points there is none.
        if plan.accepted_with_values < services.MIN_POINTS_FOR_RANGE:
            return
        if services.contract_expected_ranges_refresh(
            contract_ids=[plan.contract.id], user=replay.user
        ):
            ranges = {
                ck_id: (low, high)
                for ck_id, low, high in ContractKpi.objects.filter(
                    contract=plan.contract
                ).values_list("id", "expected_low", "expected_high")
            }
            for ck in plan.cks:
                ck.expected_low, ck.expected_high = ranges[ck.id]

    return action


def _query(replay: _Replay, plan: _Plan, p: _Period, ret: Return):
    def action(moment: datetime) -> None:
        wrong = next(
            (v for v, w in zip(p.values, _misreported(p), strict=True) if v is not w), None
        )
        kpi = wrong.ck.kpi.name if wrong else "The figures"
        comment = _pick(plan.text_rng, data().words.queries, kpi=kpi, label=p.period.label)
        services.return_query(membership=plan.reviewer, ret=ret, comment=comment)
        replay.count("queried")
        replay.at(
            moment + timedelta(days=p.resubmit_lag),
            _submit(replay, plan, p, version_values=p.values, first=False),
        )

    return action


def _leave_latest_for_review(plan: _Plan, cutoff: datetime) -> None:
    """The latest return sent before ``cutoff`` stays submitted: not accepted, not
    queried. Which period that is moves with the seeding date; that there is one
    does not (every demo contract has sent a return by then)."""
    sent = [
        p for p in plan.periods if not p.missing and _at(plan, p.period.end, p.submit_lag) < cutoff
    ]
    if sent:
        sent[-1].awaiting_review, sent[-1].query = True, False


# When the nightly signals job runs (apps.py, the periodic task
# "recompute-portfolio-signals"), in the tenant's time.
NIGHTLY_AT = time(2, 0)


def month_ends_before(today: date, months: int) -> list[date]:
    """The last ``months`` month-ends strictly before ``today``, oldest first."""
    ends: list[date] = []
    day = today.replace(day=1) - timedelta(days=1)
    while len(ends) < months:
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def _nightly(replay: _Replay, tenant: Tenant, contracts: list[Contract], day: date):
    """The nightly portfolio recompute as it ran on ``day``: the whole tenant in
    one call, from the returns accepted by then (the replay has reached that
    moment, so later ones do not exist yet). Contracts not yet started were not
    being monitored."""

    def action(moment: datetime) -> None:
        started = [c.id for c in contracts if c.start_date <= day]
        if started:
            recompute_signals(
                tenant_id=tenant.id, contract_ids=started, today=day, user=replay.user
            )
            replay.count("nightly recomputes")

    return action


def _memberships(tenant: Tenant) -> tuple[dict, dict, Membership | None]:
    members = list(
        Membership.objects.filter(tenant=tenant, is_active=True)
        .select_related("user", "tenant")
        .order_by("user__email")
    )
    providers: dict[int, Membership] = {}
    reviewers: dict[int, Membership] = {}
    for m in members:
        if m.role == Role.PROVIDER:
            providers.setdefault(m.provider_id, m)
        elif m.role in (Role.COMMISSIONER, Role.ADMIN):
            reviewers.setdefault(m.user_id, m)
    admin = next((m for m in members if m.role == Role.ADMIN), None)
    fallback = next((m for m in members if m.role == Role.COMMISSIONER), admin)
    return providers, reviewers, admin or fallback


@transaction.atomic
def seed_returns(
    tenant: Tenant,
    contracts: list[Contract],
    *,
    user,
    today: date,
    stories: dict[str, str] | None = None,
    service_groups: dict[str, str] | None = None,
    awaiting_review: frozenset[str] | None = None,
    nightly_history_months: int = 0,
) -> dict[str, int]:
    """Replay a return for every period the contracts owe (skipping contracts that
    already have returns), in time order, through validation and the services.

    The latest return of each contract in ``awaiting_review`` (references;
    default stories.yaml's ``awaiting_review``) is left submitted. With ``nightly_history_months``
    the nightly signals recompute runs, within the replay, at each of that many
    month-ends before ``today``: the risk-score history and the signals' opening
    and closing are the engine's own, on the data as it stood each night."""
    has_returns = set(
        Return.objects.filter(contract__in=contracts).values_list("contract_id", flat=True)
    )
    todo = [c for c in contracts if c.id not in has_returns]
    if not todo:
        return {}
    providers, reviewers, data_team = _memberships(tenant)
    stories_data = data().stories
    cks: dict[int, list[ContractKpi]] = {}
    for ck in (
        ContractKpi.objects.filter(contract__in=todo)
        .select_related("kpi", "contract")
        .prefetch_related("phase_targets")
        .order_by("contract_id", "-is_priority", "kpi__code")
    ):
        cks.setdefault(ck.contract_id, []).append(ck)
    sites: dict[int, list[DeliverySite]] = {}
    for site in DeliverySite.objects.filter(contract__in=todo).order_by("name"):
        sites.setdefault(site.contract_id, []).append(site)
    periods: dict[int, list[ReportingPeriod]] = {}
    for period in ReportingPeriod.objects.filter(contract__in=todo, end__lt=today).order_by(
        "start"
    ):
        periods.setdefault(period.contract_id, []).append(period)

    replay = _Replay(user=user, cutoff=_cutoff(tenant, today))
    for contract in todo:
        reviewer = reviewers.get(contract.contract_manager_id) or data_team
        submitter = providers.get(contract.provider_id)
        source = stories_data.sources.get(contract.reference, ReturnSource.WEB)
        if submitter is None:  # the provider sends a spreadsheet; the data team uploads it
            submitter, source = data_team, ReturnSource.BULK
        if submitter is not None and reviewer is not None and reviewer.user_id == submitter.user_id:
            # Nobody reviews a return they entered (issue 7): a colleague does.
            reviewer = next((m for m in reviewers.values() if m.user_id != submitter.user_id), None)
        if submitter is None or reviewer is None or not cks.get(contract.id):
            continue
        plan = _Plan(
            tenant=tenant,
            contract=contract,
            story=story_of(contract, today, stories),
            group=service_group(contract.service_type, service_groups),
            words=dialect(tenant),
            size=_size(tenant, contract),
            cks=cks[contract.id],
            sites=sites.get(contract.id, []),
            submitter=submitter,
            reviewer=reviewer,
            source=source,
            text_rng=_rng(tenant, contract, "words"),
        )
        _build_periods(plan, periods.get(contract.id, []), today)
        held = stories_data.awaiting_review if awaiting_review is None else awaiting_review
        if contract.reference in held:
            _leave_latest_for_review(plan, replay.cutoff)
        for p in plan.periods:
            if p.missing:
                continue
            first_values = _misreported(p) if p.query else p.values
            replay.at(
                _at(plan, p.period.end, p.submit_lag),
                _submit(replay, plan, p, version_values=first_values, first=True),
            )
    zone = ZoneInfo(tenant.time_zone)
    for day in month_ends_before(today, nightly_history_months):
        replay.at(datetime.combine(day, NIGHTLY_AT, zone), _nightly(replay, tenant, contracts, day))
    replay.run()
    return replay.counts


# --------------------------------------------------------------------------
# The whole thing, as seed_demo calls it.
# --------------------------------------------------------------------------


@transaction.atomic
def seed_performance(
    tenant: Tenant,
    contracts: list[Contract],
    *,
    user,
    today: date,
    stories: dict[str, str] | None = None,
    service_groups: dict[str, str] | None = None,
    awaiting_review: frozenset[str] | None = None,
    nightly_history_months: int = 0,
) -> dict[str, int]:
    """KPI library, contract KPIs, reporting calendar and returns for a demo tenant
    (and, with ``nightly_history_months``, the nightly signals runs of those
    months: see ``seed_returns``). Idempotent: what is already there is left alone."""
    contracts = list(
        Contract.objects.filter(pk__in=[c.pk for c in contracts])
        .select_related("service_type", "tenant")
        .order_by("reference")
    )
    # Each piece is dated when it would have been set up: the library before the
    # first contract started, a contract's KPIs and calendar two weeks before it
    # started (never later than the eve of ``today``).
    cutoff = _cutoff(tenant, today)
    first = min((c.start_date for c in contracts), default=today)
    with replaying_at(_setup_moment(tenant, first - timedelta(days=30), cutoff)):
        library = seed_kpi_library(tenant, user=user, service_groups=service_groups)
    created: list[ContractKpi] = []
    periods = 0
    for contract in contracts:
        moment = _setup_moment(tenant, contract.start_date - timedelta(days=14), cutoff)
        with replaying_at(moment):
            created += seed_contract_kpis(
                tenant, [contract], library, user=user, service_groups=service_groups
            )
            periods += services.reporting_calendar_sync(
                contracts=[contract], today=today, user=user, reason=REASON
            )
    counts = seed_returns(
        tenant,
        contracts,
        user=user,
        today=today,
        stories=stories,
        service_groups=service_groups,
        awaiting_review=awaiting_review,
        nightly_history_months=nightly_history_months,
    )
    return {"kpis": len(library), "contract_kpis": len(created), "periods": periods, **counts}


__all__ = [
    "REASON",
    "STORY_NAMES",
    "month_ends_before",
    "seed_contract_kpis",
    "seed_kpi_library",
    "seed_performance",
    "seed_returns",
    "service_group",
    "story_of",
]
