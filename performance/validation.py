"""One validation for every way a return comes in: the web form, a provider's
spreadsheet, the API, and the commissioner's multi-contract upload.

Each way in turns its input into ``ValueRow`` and ``ReturnHeader`` objects that
say where they came from (``row 4`` or ``values[2]``); ``validate`` loads what it
needs in a fixed number of queries, checks every row and returns either a list
of problems (``oversight.errors.Problem``: where, field, message) or the
prepared returns ready to write. Nothing is written here.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, Q

from contracts.models import Contract, DeliverySite
from contracts.selectors import contracts_visible
from oversight import clock, formatting
from oversight.errors import Problem
from oversight.models import Membership

from .calendar import WEEKLY, parse_period_label
from .models import (
    ContractKpi,
    Direction,
    PhaseTarget,
    ReportingPeriod,
    Return,
    ReturnStatus,
    Unit,
)
from .terms import target_in_force

MAX_VALUE = Decimal("1e10")
RATIO_TOLERANCE = Decimal("0.05")  # absolute, in the KPI's unit, after rounding


@dataclass
class ReturnHeader:
    """What a return says as a whole."""

    contract_ref: str
    period: str
    narrative: str = ""
    no_activity: bool = False
    where: str = "return"


@dataclass
class ValueRow:
    """One value as it arrived (strings from a spreadsheet, numbers from JSON)."""

    where: str
    contract_ref: str
    period: str
    kpi_code: str
    site: str = ""
    value: object = None
    numerator: object = None
    denominator: object = None
    variance_explanation: str = ""


@dataclass
class PreparedValue:
    contract_kpi: ContractKpi
    site: DeliverySite | None
    value: Decimal
    numerator: Decimal | None
    denominator: Decimal | None
    variance_explanation: str


@dataclass
class PreparedReturn:
    contract: Contract
    period: ReportingPeriod
    narrative: str
    no_activity: bool
    replaces_draft: Return | None
    version: int
    values: list[PreparedValue] = field(default_factory=list)
    # (contract KPI id, site id) named by some row, valid or not: completeness
    # is judged on these so that a bad value is not also reported as missing.
    attempted: set = field(default_factory=set)


@dataclass
class Outcome:
    problems: list[Problem]
    returns: list[PreparedReturn]

    @property
    def ok(self) -> bool:
        return not self.problems


class NotANumber(ValueError):
    """What someone typed cannot be read as a number; ``str()`` says why, quoting it."""


# 1234, 1,234, 1,234.5, .5, -3, +2, 1e30 (a spreadsheet's text for a large
# number); commas (or spaces) only between groups of three digits.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d{1,3}(?:(?P<sep>[, ])\d{3})(?:(?P=sep)\d{3})*|\d+)(?:\.\d*)?|\.\d+)"
    r"(?:[eE][+-]?\d+)?"
)
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-"})


def parse_number(raw, *, percent: bool = False) -> Decimal | None:
    """A number as people type it, or None when nothing was given.

    Accepts " 12 ", "1,234", "1,234.5", "1 234" and, where ``percent`` (the
    value of a percentage KPI), "95%" meaning 95. Numbers from JSON or a
    spreadsheet cell (int, float, Decimal) are taken as they are. Raises
    ``NotANumber`` with a message that quotes what was typed. The one parser
    behind the web form, the spreadsheets and the API (through ``validate``)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise NotANumber(f"{raw!r} is not a number")
    if isinstance(raw, int | Decimal):
        number = Decimal(raw)
    elif isinstance(raw, float):
        number = Decimal(repr(raw)) if raw == raw and abs(raw) != float("inf") else None
        if number is None:
            raise NotANumber(f"{raw!r} is not a number")
    else:
        typed = str(raw)
        text = typed.translate(_SPACES).strip()
        if not text:
            return None
        if text.endswith("%"):
            if not percent:
                raise NotANumber(
                    f"{typed.strip()!r}: give the number without a percent sign; "
                    "this figure is not a percentage"
                )
            text = text[:-1].rstrip()
        match = _NUMBER.fullmatch(text)
        if match is None:
            if re.fullmatch(r"[+-]?\d+,\d{1,2}", text):
                raise NotANumber(
                    f"{typed.strip()!r} is not a number: write decimals with a point "
                    f"({text.replace(',', '.')}); commas only separate thousands (1,234)"
                )
            raise NotANumber(f"{typed.strip()!r} is not a number")
        if match.group("sep"):
            text = text.replace(match.group("sep"), "")
        number = Decimal(text)
    if not number.is_finite():
        raise NotANumber(f"{raw!r} is not a number")
    return number


def unit_range_problem(unit: str, value: Decimal) -> str | None:
    """Why a value cannot be right for its unit, or None."""
    if abs(value) >= MAX_VALUE:
        return "is far too large"
    if unit == Unit.PERCENTAGE and not (0 <= value <= 100):
        return f"{value} is not a percentage between 0 and 100"
    if unit == Unit.COUNT:
        if value < 0:
            return f"{value} is negative; a count cannot be"
        if value != value.to_integral_value():
            return f"{value} is not a whole number; a count must be"
    if unit in (Unit.RATE_PER_1000, Unit.DAYS) and value < 0:
        return f"{value} is negative; a {Unit(unit).label.lower()} cannot be"
    return None


def misses_target(direction: str, value: Decimal, target: Decimal | None) -> bool:
    if target is None:
        return False
    if direction == Direction.HIGHER:
        return value < target
    if direction == Direction.LOWER:
        return value > target
    return False


def outside_expected(contract_kpi: ContractKpi, value: Decimal) -> bool:
    low, high = contract_kpi.expected_low, contract_kpi.expected_high
    return (low is not None and value < low) or (high is not None and value > high)


def _scale(unit: str) -> Decimal:
    return {Unit.PERCENTAGE: Decimal(100), Unit.RATE_PER_1000: Decimal(1000)}.get(unit, Decimal(1))


class _Context:
    """Everything validation needs, loaded in bulk for the contracts named."""

    def __init__(self, membership: Membership, refs: set[str], today: date, labels: set[str]):
        self.today = today
        # The KPIs are prefetched, not joined: a bulk upload names 20 KPIs on
        # 10,000 contract KPIs; the prefetch also sets each one's contract.
        # Phase targets are read in one query by contract (a prefetch would
        # build a queryset per contract KPI).
        contracts = (
            contracts_visible(membership=membership)
            .filter(reference__in=refs)
            .prefetch_related(
                Prefetch("contract_kpis", queryset=ContractKpi.objects.prefetch_related("kpi")),
                "sites",
            )
        )
        self.contracts = {c.reference: c for c in contracts}
        ids = [c.id for c in self.contracts.values()]
        self.phases: dict[int, list[PhaseTarget]] = defaultdict(list)
        for phase in PhaseTarget.objects.filter(contract_kpi__contract_id__in=ids).order_by(
            "from_month"
        ):
            self.phases[phase.contract_kpi_id].append(phase)
        # A period named "2026-03" may start after the 1st (clipped to the
        # contract's start, or to the end of the previous period after a change
        # of frequency): load the periods starting within each span named.
        spans = Q()
        for span in {_period_span(label) for label in labels} - {None}:
            spans |= Q(start__range=span)
        self.periods: dict[tuple[int, str], ReportingPeriod] = {}
        for period in ReportingPeriod.objects.filter(spans, contract_id__in=ids) if spans else ():
            self.periods[(period.contract_id, period.label)] = period
        period_ids = [p.id for p in self.periods.values()]
        self.kpis = {
            c.id: {ck.kpi.code.lower(): ck for ck in c.contract_kpis.all()}
            for c in self.contracts.values()
        }
        self.sites = {
            c.id: {s.name.strip().lower(): s for s in c.sites.all()}
            for c in self.contracts.values()
        }
        self.returns: dict[int, list[Return]] = defaultdict(list)
        for ret in Return.objects.filter(period_id__in=period_ids).order_by("version"):
            self.returns[ret.period_id].append(ret)


def _period_span(label: str) -> tuple[date, date] | None:
    """The days a period label covers: a calendar month or an ISO week."""
    try:
        frequency, start = parse_period_label(label)
    except ValueError:
        return None  # reported for its header
    if frequency == WEEKLY:
        # The last ISO week of 9999 runs past date.max: stop there.
        return start, start + timedelta(days=min(6, (date.max - start).days))
    return start, start.replace(day=monthrange(start.year, start.month)[1])


def validate(
    *,
    membership: Membership,
    headers: list[ReturnHeader],
    rows: list[ValueRow],
    today: date | None = None,
) -> Outcome:
    today = today or clock.today()
    problems: list[Problem] = []
    refs = {h.contract_ref.strip() for h in headers} | {r.contract_ref.strip() for r in rows}
    labels = {h.period.strip().upper() for h in headers}
    ctx = _Context(membership, refs, today, labels)

    prepared: dict[tuple[str, str], PreparedReturn] = {}
    rejected: set[tuple[str, str]] = set()  # its header's problem covers its rows
    for header in headers:
        key = (header.contract_ref.strip(), header.period.strip())
        if key in prepared:
            problems.append(Problem(header.where, "period", "this return is given twice"))
            continue
        ret = _prepare_header(ctx, header, problems)
        if ret is not None:
            prepared[key] = ret
        else:
            rejected.add(key)

    seen: dict[tuple, str] = {}
    for row in rows:
        key = (row.contract_ref.strip(), row.period.strip())
        ret = prepared.get(key)
        if ret is None:
            if key not in rejected:
                _explain_orphan(ctx, row, prepared, problems)
            continue
        _check_value(ctx, ret, row, seen, problems)

    for ret in prepared.values():
        if not ret.no_activity:
            _check_complete(ctx, ret, problems)
    return Outcome(problems=problems, returns=list(prepared.values()) if not problems else [])


def _prepare_header(ctx: _Context, header: ReturnHeader, problems: list[Problem]):
    contract = ctx.contracts.get(header.contract_ref.strip())
    if contract is None:
        problems.append(
            Problem(
                header.where,
                "contract",
                f"no contract {header.contract_ref!r} that you can report on",
            )
        )
        return None
    try:
        parse_period_label(header.period)
    except ValueError as error:
        problems.append(Problem(header.where, "period", str(error)))
        return None
    period = ctx.periods.get((contract.id, header.period.strip().upper()))
    if period is None:
        span = _period_span(header.period)
        if span and (span[1] < contract.start_date or span[0] > contract.end_date):
            why = (
                f"the contract runs from {formatting.date(contract.start_date)} "
                f"to {formatting.date(contract.end_date)}"
            )
        else:
            why = f"it reports {contract.get_reporting_frequency_display().lower()}"
        problems.append(
            Problem(
                header.where,
                "period",
                f"{header.period} is not a reporting period of {contract.reference} ({why})",
            )
        )
        return None
    if period.end >= ctx.today:
        problems.append(
            Problem(
                header.where,
                "period",
                f"{period.label} has not ended yet; report after {period.end:%d %b %Y}",
            )
        )
        return None
    versions = ctx.returns.get(period.id, [])
    live = [r for r in versions if r.status != ReturnStatus.QUERIED]
    draft = None
    if live:
        current = live[-1]
        if current.status != ReturnStatus.DRAFT:
            problems.append(
                Problem(
                    header.where,
                    "period",
                    f"a return for {period.label} is already "
                    f"{current.get_status_display().lower()} (version {current.version}); "
                    "it can be corrected only after the commissioner queries it",
                )
            )
            return None
        draft = current
    version = draft.version if draft else (versions[-1].version + 1 if versions else 1)
    if header.no_activity and not header.narrative.strip():
        problems.append(
            Problem(header.where, "narrative", "say why there was no activity in the period")
        )
    return PreparedReturn(
        contract=contract,
        period=period,
        narrative=header.narrative.strip(),
        no_activity=bool(header.no_activity),
        replaces_draft=draft,
        version=version,
    )


def _explain_orphan(ctx, row: ValueRow, prepared, problems: list[Problem]) -> None:
    contract = ctx.contracts.get(row.contract_ref.strip())
    if contract is None:
        problems.append(
            Problem(
                row.where, "contract", f"no contract {row.contract_ref!r} that you can report on"
            )
        )
    else:
        problems.append(
            Problem(
                row.where, "period", f"{row.period!r} does not match the return being submitted"
            )
        )


def _check_value(ctx, ret: PreparedReturn, row: ValueRow, seen: dict, problems: list[Problem]):
    where = row.where
    contract = ret.contract
    ck = ctx.kpis[contract.id].get((row.kpi_code or "").strip().lower())
    if ck is None:
        known = ", ".join(sorted(ctx.kpis[contract.id])) or "none"
        problems.append(
            Problem(
                where,
                "kpi_code",
                f"unknown KPI code {row.kpi_code!r} for {contract.reference} (it reports: {known})",
            )
        )
        return
    kpi = ck.kpi
    site = None
    site_name = (row.site or "").strip()
    if kpi.reporting_level == "site":
        if not site_name:
            problems.append(
                Problem(where, "site", f"{kpi.code} is reported per site: name the site")
            )
            return
        site = ctx.sites[contract.id].get(site_name.lower())
        if site is None:
            known = ", ".join(s.name for s in ctx.sites[contract.id].values()) or "none"
            problems.append(
                Problem(
                    where, "site", f"no site {site_name!r} on {contract.reference} (sites: {known})"
                )
            )
            return
    elif site_name:
        problems.append(
            Problem(where, "site", f"{kpi.code} is reported for the whole contract, not per site")
        )
        return

    key = (contract.id, ret.period.id, ck.id, site.id if site else None)
    if key in seen:
        problems.append(
            Problem(
                where,
                "kpi_code",
                f"duplicate of {seen[key]} ({kpi.code}{' at ' + site.name if site else ''})",
            )
        )
        return
    seen[key] = where
    ret.attempted.add((ck.id, site.id if site else None))
    if ret.no_activity:
        problems.append(
            Problem(where, "value", "the return says there was no activity: give no values")
        )
        return

    numbers = {}
    for name in ("value", "numerator", "denominator"):
        percent = name == "value" and kpi.unit == Unit.PERCENTAGE
        try:
            numbers[name] = parse_number(getattr(row, name), percent=percent)
        except NotANumber as error:
            problems.append(Problem(where, name, f"{_named(kpi, site)}: {error}"))
            return
    value, numerator, denominator = numbers["value"], numbers["numerator"], numbers["denominator"]
    # Stored with 4 decimal places; a number too large for that (or for the
    # ratio arithmetic below) is reported, never left to overflow.
    for name, number in numbers.items():
        if number is not None and (number.adjusted() >= 10 or abs(_round(number)) >= MAX_VALUE):
            typed = str(getattr(row, name)).strip()
            problems.append(Problem(where, name, f"{_named(kpi, site)}: {typed} is far too large"))
            return
    value, numerator, denominator = (_round(n) for n in (value, numerator, denominator))

    if kpi.has_ratio:
        if numerator is None or denominator is None:
            missing = "numerator" if numerator is None else "denominator"
            problems.append(
                Problem(
                    where,
                    missing,
                    f"{kpi.name} is a ratio: give the {missing} ({getattr(kpi, missing)})",
                )
            )
            return
        if denominator <= 0:
            problems.append(
                Problem(
                    where,
                    "denominator",
                    "must be more than 0 (mark the return as no activity instead)",
                )
            )
            return
        if numerator < 0:
            problems.append(Problem(where, "numerator", "cannot be negative"))
            return
        out_of = f"{_fmt(numerator)} out of {_fmt(denominator)}"
        if kpi.unit == Unit.PERCENTAGE and numerator > denominator:
            # Said in the provider's own figures, not as the percentage they make.
            problems.append(
                Problem(
                    where,
                    "numerator",
                    f"{_named(kpi, site)}: {out_of} is more than 100%: the numerator "
                    f"({kpi.numerator or 'numerator'}) cannot exceed the denominator "
                    f"({kpi.denominator or 'denominator'})",
                )
            )
            return
        computed = (numerator / denominator * _scale(kpi.unit)).quantize(Decimal("0.0001"))
        if value is None:
            value = computed
        elif abs(value - computed) > RATIO_TOLERANCE:
            unit = {Unit.PERCENTAGE: "%", Unit.RATE_PER_1000: " per 1,000"}.get(kpi.unit, "")
            problems.append(
                Problem(
                    where,
                    "value",
                    f"{_named(kpi, site)}: {_fmt(value)} does not match numerator ÷ "
                    f"denominator: {out_of} is {_fmt(computed)}{unit}",
                )
            )
            return
    if value is None:
        problems.append(Problem(where, "value", f"no value for {kpi.name}"))
        return
    reason = unit_range_problem(kpi.unit, value)
    if reason:
        problems.append(Problem(where, "value", f"{_named(kpi, site)}: {reason}"))
        return

    explanation = (row.variance_explanation or "").strip()
    if not explanation:
        target, _amber = target_in_force(ck, ret.period.start, ctx.phases.get(ck.id, ()))
        if misses_target(kpi.direction, value, target):
            problems.append(
                Problem(
                    where,
                    "variance_explanation",
                    # The target and range as the form shows them (oversight.formatting).
                    f"{kpi.name}: {_fmt(value)} misses its target of "
                    f"{formatting.number(target, kpi.unit)}: explain the variance",
                )
            )
            return
        if outside_expected(ck, value):
            problems.append(
                Problem(
                    where,
                    "variance_explanation",
                    f"{kpi.name}: {_fmt(value)} is outside the expected range "
                    f"({formatting.value_range(ck.expected_low, ck.expected_high, kpi.unit)}): "
                    "explain the variance",
                )
            )
            return
    ret.values.append(
        PreparedValue(
            contract_kpi=ck,
            site=site,
            value=value,
            numerator=numerator,
            denominator=denominator,
            variance_explanation=explanation,
        )
    )


def _fmt(number: Decimal | None) -> str:
    """A figure as the provider typed it (92.5, not 92.5000); a missing one as —."""
    return formatting.NONE if number is None else formatting.plain(number)


def _round(number: Decimal | None) -> Decimal | None:
    """To the 4 places stored (keeping the number as typed when it fits, so
    that messages quote it as the provider wrote it)."""
    if number is None:
        return None
    rounded = number.quantize(Decimal("0.0001"), ROUND_HALF_UP)
    return number if rounded == number else rounded


def _named(kpi, site) -> str:
    """The KPI by its name (and the site), as a message names what it is about."""
    return f"{kpi.name} at {site.name}" if site else kpi.name


def _check_complete(ctx, ret: PreparedReturn, problems: list[Problem]) -> None:
    given = ret.attempted
    for ck in ctx.kpis[ret.contract.id].values():
        if ck.kpi.reporting_level == "site":
            for site in ctx.sites[ret.contract.id].values():
                if (ck.id, site.id) not in given:
                    problems.append(
                        Problem(
                            f"return {ret.contract.reference} {ret.period.label}",
                            "values",
                            f"no value for {ck.kpi.code} at {site.name}",
                        )
                    )
        elif (ck.id, None) not in given:
            problems.append(
                Problem(
                    f"return {ret.contract.reference} {ret.period.label}",
                    "values",
                    f"no value for {ck.kpi.code}",
                )
            )
