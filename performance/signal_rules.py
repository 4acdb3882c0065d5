"""The signal rules and the risk score, as pure computation over DataFrames.

No ORM here: ``performance/signal_engine.py`` loads the data in bulk and
writes the results in bulk. Every rule works on whole columns (pandas/NumPy);
Python loops run only over the few series or contracts that raised a signal,
to write their sentences.

Inputs (see ``signal_engine.load_frames`` for how they are built):

- ``values``: one row per accepted value: ``ck`` (contract KPI id), ``period_start``
  (datetime64), ``value`` (float). Site-level KPIs are already rolled up to the
  contract (sum for counts, mean otherwise).
- ``kpis``: indexed by ``ck``: ``contract``, ``code``, ``name``, ``unit``, ``direction``
  (higher / lower / none), ``is_stress``, ``is_priority``, ``is_fidelity``,
  ``weight``, ``target`` (mature target, NaN if none).
- ``phases``: ``ck``, ``from_month``, ``to_month`` (NaN = open), ``target``.
- ``contracts``: indexed by contract id: ``tenant``, ``reference``, ``start_date``,
  ``end_date``, ``annual_value``.
- ``periods``: one row per reporting period: ``contract``, ``period_start``,
  ``due_date``, ``missing_after``, ``first_submitted`` (date or NaT), ``received``
  (a non-draft return exists), ``versions`` (number of versions).
- ``recent_text``: for the last three accepted periods of each contract:
  ``contract``, ``ck``, ``period_start``, ``explanation``, ``narrative``.
- ``early_warnings`` (optional): the early warnings providers raised themselves
  (registry ``early_warning_source``: escalation's concerns), ``contract``,
  ``raised_at`` (aware datetime), ``id``; raised since the start of the
  earliest period of ``recent_text``.
- ``first_opened`` (optional): the live deterioration signals' ``contract``,
  ``key`` and ``opened_at``, so that a warning raised after a signal opened
  does not count as raised before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from oversight import formatting

from .calendar import months_since_start
from .spc import xmr_batch
from .terms import phase_covers

# Severities in rising order, with the points each adds to the risk score.
SEVERITY_POINTS = {"info": 0, "low": 4, "medium": 10, "high": 20, "critical": 35}
SEVERITY_ORDER = list(SEVERITY_POINTS)
# Risk bands, lowest first: (floor, band), up to a score of 100. A score is in
# the highest band whose floor it reaches; the risk chart shades these bands.
BANDS = [(0, "low"), (25, "medium"), (50, "high"), (75, "critical")]
BAND_NAMES = [name for _floor, name in BANDS]  # lowest first
MAX_SCORE = 100

TARGET_MISSED_MIN, TARGET_MISSED_LONG = 3, 6  # consecutive periods
# A special cause's strength (``concern_strength``): how many of the last
# SHIFT_RECENT points are concerns, and how far their mean has moved from the
# baseline in its standard deviations (worse is positive).
SHIFT_RECENT = 3
SHIFT_WINDOWS = (3, 6, 12)
HISTORY_GAP = 6  # the autocorrelation is read on the values before the last 6
BASELINE_GAP, BASELINE_MAX, BASELINE_MIN = 12, 24, 8
SUSTAINED_CONCERNS = 2
Z_SUSTAINED, Z_STRONG, SHIFT_STRONG = 3.25, 4.25, 1.5
Z_AGREE, STRAIN_MEASURES = 2.0, 3  # agreement across important measures (strain)
STRESS_SD = 1.0  # a stress indicator's recent mean this many baseline SDs worse
VOLATILITY_RECENT = 6  # periods compared with the rest of the series
VOLATILITY_RATIO = 1.75
RECOVERY_LOOKBACK = 12
STRESS_RECENT = 3
LATE_WINDOW = 6
MISSING_WINDOW = 12
THIN_EXPLANATION = 25  # characters: "see above" is not an explanation
EXPIRY_SOON, EXPIRY_NEAR = 180, 90

_IMPROVEMENT = {"higher": "increase", "lower": "decrease", "none": "neutral"}
_RULE_WORDS = {
    "outside_limits": "outside its process limits",
    "trend": "in a run of {n} periods each {worse} than the last",
    "two_of_three": "two of the last three periods close to the process limit",
    "run": "{n} periods {side} the mean",
}


@dataclass
class SignalSpec:
    contract: int
    kind: str
    key: str
    severity: str
    message: str
    ck: int | None = None
    period_start: date | None = None
    evidence: dict = field(default_factory=dict)


def at_least(severity: str, floor: str) -> bool:
    """Whether ``severity`` is ``floor`` or more severe."""
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(floor)


def important_measures(frame: pd.DataFrame) -> pd.Series:
    """Which rows (contract KPIs) are priority, stress or fidelity measures:
    the few that weigh more than the rest of a contract's many."""
    return (frame["is_priority"] | frame["is_stress"] | frame["is_fidelity"]).astype(bool)


def bump(severity: str, steps: int = 1) -> str:
    """``steps`` severities up (down when negative), within info to critical."""
    index = min(max(SEVERITY_ORDER.index(severity) + steps, 0), len(SEVERITY_ORDER) - 1)
    return SEVERITY_ORDER[index]


def _fmt(value: float, unit: str) -> str:
    """A figure in a sentence, to its unit's precision (as every page shows it)."""
    return formatting.number(None if pd.isna(value) else value, unit)


def _fmt_mean(value: float, unit: str) -> str:
    """A mean in a sentence: at least one decimal (a count's mean of 2.3)."""
    return formatting.statistic(None if pd.isna(value) else value, unit)


def _trailing_run(frame: pd.DataFrame, flag: pd.Series) -> pd.Series:
    """Per series (``ck``), how many of its last rows in a row have ``flag`` true."""
    flag = flag.astype(bool)
    previous = flag.groupby(frame["ck"]).shift()
    starts = (flag != previous) | previous.isna()
    block = starts.cumsum()
    size = flag.groupby(block).transform("size")
    last = ~frame["ck"].duplicated(keep="last")
    run = pd.Series(np.where(flag, size, 0), index=frame.index)
    return run[last].set_axis(frame.loc[last, "ck"].to_numpy())


class _Series:
    """Row positions of a frame sorted by series (``ck``) then time, so that
    per-series work is plain NumPy over contiguous blocks instead of a
    groupby (which hashes millions of keys each time it is called)."""

    def __init__(self, ck: np.ndarray) -> None:
        n = len(ck)
        self.n = n
        self.start = np.ones(n, dtype=bool)
        self.start[1:] = ck[1:] != ck[:-1]
        first = np.flatnonzero(self.start)
        self.last_rows = np.append(first[1:] - 1, n - 1) if n else first
        self.gid = np.cumsum(self.start) - 1
        self.rows_after = self.last_rows[self.gid] - np.arange(n)  # cumcount(ascending=False)
        self.last_ck = ck[self.last_rows]

    def diff(self, x: np.ndarray) -> np.ndarray:
        """x[i] - x[i - 1] within a series; NaN on each series' first row."""
        out = np.empty(self.n)
        out[0:1] = np.nan
        out[1:] = x[1:] - x[:-1]
        out[self.start] = np.nan
        return out

    def last_valid(self, x: np.ndarray) -> np.ndarray:
        """Each row gets its series' last non-NaN value (groupby "last")."""
        index = np.where(np.isnan(x), -1, np.arange(self.n))
        at_end = np.maximum.accumulate(index)[self.last_rows]
        first = np.flatnonzero(self.start)
        value = np.where(at_end >= first, x[np.maximum(at_end, 0)], np.nan)
        return value[self.gid]

    def trailing_run(self, flag: np.ndarray) -> pd.Series:
        """As ``_trailing_run``: per series, how many of its last rows in a row
        have ``flag`` true (indexed by ``ck``)."""
        flag = np.asarray(flag, dtype=bool)
        change = self.start.copy()
        change[1:] |= flag[1:] != flag[:-1]
        block_start = np.maximum.accumulate(np.where(change, np.arange(self.n), 0))
        rows = self.last_rows
        run = np.where(flag[rows], rows - block_start[rows] + 1, 0)
        return pd.Series(run, index=self.last_ck)


def _per_row(column: pd.Series, position: np.ndarray, fill) -> np.ndarray:
    """``column`` (indexed by ck) looked up for each row; ``fill`` where the
    row's ck is not in the index (position -1), as ``Series.map`` gives NaN."""
    values = column.to_numpy()[position]
    missing = position < 0
    if missing.any():
        values = values.astype(object if fill is None else np.result_type(values, type(fill)))
        values[missing] = fill
    return values


def targets_in_force(
    values: pd.DataFrame,
    kpis: pd.DataFrame,
    phases: pd.DataFrame,
    contracts,
    position: np.ndarray | None = None,
    column: str = "target",
):
    """The target (or, with ``column="amber"``, the amber tolerance) for each
    value: ``terms.target_in_force`` over a whole frame (a phase's covering its
    contract month, otherwise the contract KPI's mature one). ``position`` is
    each row's position in ``kpis`` (``kpis.index.get_indexer(values["ck"])``)."""
    if position is None:
        position = kpis.index.get_indexer(values["ck"])
    fill = 0.0 if column == "amber" else np.nan
    default = kpis[column] if column in kpis else pd.Series(fill, index=kpis.index)
    target = _per_row(default.astype(float), position, fill).astype(float)
    if phases is None or phases.empty or column not in phases:
        return pd.Series(target, index=values.index)
    # The contract's start month per contract KPI (thousands), then per row.
    start = pd.to_datetime(kpis["contract"].map(contracts["start_date"]))
    start_year = _per_row(start.dt.year.astype(float), position, np.nan)
    start_month = _per_row(start.dt.month.astype(float), position, np.nan)
    period = values["period_start"]
    month = months_since_start(
        start_year,
        start_month,
        period.dt.year.to_numpy(dtype=float),
        period.dt.month.to_numpy(dtype=float),
    )
    phased = values["ck"].isin(phases["ck"]).to_numpy()
    rows = pd.DataFrame(
        {"ck": values["ck"].to_numpy()[phased], "month": month[phased],
         "row": np.flatnonzero(phased)}
    )  # fmt: skip
    joined = rows.merge(phases, on="ck")
    covers = phase_covers(joined["month"], joined["from_month"], joined["to_month"])
    joined = joined[covers].drop_duplicates("row")  # the first phase covering the month
    result = target.copy()
    result[joined["row"].to_numpy()] = joined[column].to_numpy(dtype=float)
    return pd.Series(result, index=values.index)


def evaluate(
    *,
    values: pd.DataFrame,
    kpis: pd.DataFrame,
    phases: pd.DataFrame,
    contracts: pd.DataFrame,
    periods: pd.DataFrame,
    recent_text: pd.DataFrame,
    today: date,
    early_warnings: pd.DataFrame | None = None,
    first_opened: pd.DataFrame | None = None,
    rebases: pd.DataFrame | None = None,
) -> tuple[list[SignalSpec], pd.DataFrame]:
    """Every signal whose condition holds today, and the SPC chart rows.
    ``rebases`` (``ck``, ``starts_on``): where a KPI's limits start again (a
    formal variation): the SPC splits the series there and the shift evidence
    reads only the values since the latest re-base."""
    specs: list[SignalSpec] = []
    chart = pd.DataFrame()
    if not values.empty:
        voice = _ProviderVoice(recent_text, early_warnings, first_opened)
        chart, kpi_specs = _kpi_signals(
            values, kpis, phases, contracts, recent_text, voice, rebases
        )
        specs += kpi_specs
    specs += _return_signals(periods, contracts, today)
    specs += _expiry_signals(contracts, today)
    return specs, chart


XMR_BLOCK_ROWS = 500_000


def _xmr_in_blocks(values: pd.DataFrame, block: int = XMR_BLOCK_ROWS) -> pd.DataFrame:
    """``xmr_batch`` over blocks of whole series (``values`` is sorted by ``ck``).

    Series are independent, so the answers are those of one call; but the
    temporaries ``xmr_batch`` allocates (a few dozen arrays as long as its
    input) then cost one block's memory, not millions of rows' worth."""
    ck = values["ck"].to_numpy()
    n = len(values)
    starts = np.flatnonzero(np.r_[True, ck[1:] != ck[:-1]]) if n else np.zeros(0, dtype=int)
    wanted = np.searchsorted(starts, np.arange(block, n, block))
    cuts = np.unique(np.r_[0, starts[wanted[wanted < len(starts)]], n])
    parts = [
        xmr_batch(
            values.iloc[begin:end],
            series="ck",
            value="value",
            improvement="improvement",
            target="target",
            rebase="rebase",
        )
        for begin, end in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def rebase_flags(values: pd.DataFrame, rebases: pd.DataFrame | None) -> np.ndarray:
    """Per row of ``values`` (sorted by ``ck`` then ``period_start``), whether
    it is the first period of its series starting on or after one of the
    series' ``rebases`` (``ck``, ``starts_on``): where new limits begin."""
    flags = np.zeros(len(values), dtype=bool)
    if rebases is None or rebases.empty or values.empty:
        return flags
    ck = values["ck"].to_numpy(dtype=np.int64)
    day = values["period_start"].to_numpy().astype("datetime64[D]").astype(np.int64)
    r_ck = rebases["ck"].to_numpy(dtype=np.int64)
    r_day = pd.to_datetime(rebases["starts_on"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    # One sortable key per (series, day): series ids are far apart in days.
    span = int(max(day.max(), r_day.max())) + 1
    key, r_key = ck * span + day, r_ck * span + r_day
    at = np.searchsorted(key, r_key, side="left")
    found = at < len(key)
    at = at[found]
    flags[at[ck[at] == r_ck[found]]] = True
    return flags


def _kpi_signals(values, kpis, phases, contracts, recent_text, voice=None, rebases=None):
    values = values.sort_values(["ck", "period_start"], kind="stable").reset_index(drop=True)
    values["rebase"] = rebase_flags(values, rebases)
    # Per-KPI facts reach the rows through one position look-up (no string
    # columns of millions of rows); the direction goes in as a categorical.
    position = kpis.index.get_indexer(values["ck"])
    improvement = pd.Categorical(kpis["direction"].map(_IMPROVEMENT))
    values["improvement"] = improvement.take(position, allow_fill=True)
    values["target"] = targets_in_force(values, kpis, phases, contracts, position)
    values["amber"] = targets_in_force(values, kpis, phases, contracts, position, "amber")
    chart = _xmr_in_blocks(values)
    frame = pd.concat([values, chart], axis=1)
    ck = frame["ck"].to_numpy()
    series = _Series(ck)
    last = frame.iloc[series.last_rows].set_index("ck")
    position_from_end = series.rows_after
    value = frame["value"].to_numpy(dtype=float)
    direction = kpis["direction"]

    # Rule: special-cause concern at the latest point.
    side = np.sign(value - frame["mean"].to_numpy(dtype=float))
    run_same_side = series.trailing_run(side == series.last_valid(side))
    step = np.sign(series.diff(value))
    run_trend = series.trailing_run(step == series.last_valid(step)) + 1

    # Rule: target missed (beyond its amber tolerance: red, not amber) in
    # consecutive periods. Amber is what the tolerance is for, not a failure.
    higher = _per_row(direction == "higher", position, False).astype(bool)
    lower = _per_row(direction == "lower", position, False).astype(bool)
    target = frame["target"].to_numpy(dtype=float)
    amber = frame["amber"].to_numpy(dtype=float)
    miss_run = series.trailing_run(
        (higher & (value < target - amber)) | (lower & (value > target + amber))
    )

    # Rule: volatility, the recent moving range against the rest of the series.
    moving_range = pd.Series(np.abs(series.diff(value)), index=frame.index)
    recent = position_from_end < VOLATILITY_RECENT
    mr_recent = moving_range[recent].groupby(ck[recent]).mean()
    mr_before = moving_range[~recent].groupby(ck[~recent]).mean()
    counts = pd.Series(np.diff(series.last_rows, prepend=-1), index=series.last_ck)

    # Rule: recovery, an improvement now after a concern within the lookback.
    concern = (frame["point_type"] == "special_cause_concern").to_numpy()
    lookback = (position_from_end >= 1) & (position_from_end <= RECOVERY_LOOKBACK)
    concern_before = set(ck[concern & lookback].tolist())

    # Rule: stress indicators, the recent mean against the mean before it.
    stress_recent = position_from_end < STRESS_RECENT
    mean_recent = frame["value"][stress_recent].groupby(ck[stress_recent]).mean()
    mean_before = frame["value"][~stress_recent].groupby(ck[~stress_recent]).mean()

    evidence_frame = _shift_evidence(frame, series, position_from_end, concern, kpis["contract"])

    # One row per series with every rule's inputs, then flags as whole columns;
    # the loop below visits only the series that raised something.
    last = last.join(kpis.rename(columns={"target": "mature_target", "amber": "mature_amber"}))
    last["run_side"] = run_same_side
    last["run_trend"] = run_trend
    last["miss_run"] = miss_run.reindex(last.index).fillna(0).astype(int)
    last["mr_recent"] = mr_recent
    last["mr_before"] = mr_before
    last["n"] = counts
    last["mean_recent"] = mean_recent
    last["mean_before"] = mean_before
    sign = np.where(last["direction"] == "lower", 1.0, -1.0)
    last = last.join(evidence_frame)
    last["important"] = important_measures(last)
    # Worse is positive; of the windows, the one with the stronger evidence.
    z = np.column_stack([last[f"z{w}"].to_numpy(dtype=float) * sign for w in SHIFT_WINDOWS])
    d = np.column_stack([last[f"d{w}"].to_numpy(dtype=float) * sign for w in SHIFT_WINDOWS])
    best = np.argmax(np.where(np.isnan(z), -np.inf, z), axis=1)
    rows = np.arange(len(last))
    last["z"], last["shift"] = z[rows, best], d[rows, best]
    last["beyond"] = np.where(sign > 0, last["beyond_high"], last["beyond_low"])
    none = (last["direction"] == "none") | last["z"].isna()
    last.loc[none, ["z", "shift"]] = np.nan
    ratio = last["mr_recent"] / last["mr_before"].where(last["mr_before"] > 0)
    flags = pd.DataFrame(
        {
            "concern": last["point_type"] == "special_cause_concern",
            "missed": last["miss_run"] >= TARGET_MISSED_MIN,
            "volatile": (last["n"] >= 3 * VOLATILITY_RECENT) & (ratio >= VOLATILITY_RATIO),
            "recovery": (last["point_type"] == "special_cause_improvement")
            & last.index.isin(list(concern_before)),
            "stress": last["is_stress"].astype(bool)
            & (last["direction"] != "none")
            & (last["n"] > 2 * STRESS_RECENT)
            & (last["z"] >= Z_SUSTAINED)
            & (last["shift"] >= STRESS_SD)
            & (last["beyond"] >= SUSTAINED_CONCERNS)
            & ((last["mean_recent"] - last["mean_before"]) * sign > 0),
        },
        index=last.index,
    )
    last["ratio"] = ratio
    specs: list[SignalSpec] = []
    # Only the series that raised something, as plain dicts (iterrows would
    # build a Series per row and index it by label for every field).
    raised = flags.any(axis=1).to_numpy()
    rows = last[raised].to_dict("records")
    row_flags = flags[raised].to_dict("records")
    for ck, row, flag in zip(last.index[raised].tolist(), rows, row_flags, strict=True):
        contract = int(row["contract"])
        unit = row["unit"]
        period = row["period_start"].date()
        important = row["important"]
        worse = "higher" if row["direction"] == "lower" else "lower"
        evidence = {
            "kpi": row["code"],
            "latest": _num(row["value"]),
            "mean": _num(row["mean"]),
            "lower_limit": _num(row["lpl"]),
            "upper_limit": _num(row["upl"]),
            "target": _num(row["target"]),
            "point_type": row["point_type"],
        }
        strength = concern_strength(row["concerns_recent"], row["z"], row["shift"])
        if flag["concern"]:
            words = _RULE_WORDS[row["rule"]].format(
                n=int(row["run_trend"] if row["rule"] == "trend" else row["run_side"]),
                worse="worse",
                side="above" if row["value"] > row["mean"] else "below",
            )
            # The rest of a contract's measures are many (the family-wise
            # false-alarm rate): one step lower than its priority, stress and
            # fidelity measures.
            severity = (
                ("low", "medium", "high")[strength]
                if important
                else (("low", "low", "medium")[strength])
            )
            persistence = (
                f" {int(row['concerns_recent'])} of the last {SHIFT_RECENT} periods are "
                f"concerns, their mean {_fmt_mean(row['shift'], 'count')} standard "
                "deviations worse than before."
                if strength
                else ""
            )
            specs.append(
                SignalSpec(
                    contract,
                    "spc_concern",
                    f"spc_concern:{ck}",
                    severity,
                    f"{row['name']}: {words} (concern); latest {_fmt(row['value'], unit)} "
                    f"against a mean of {_fmt_mean(row['mean'], unit)}.{persistence}",
                    ck,
                    period,
                    {
                        **evidence,
                        "rule": row["rule"],
                        "concerns_recent": int(row["concerns_recent"]),
                        "shift_sd": _num(row["shift"]),
                        "z": _num(row["z"]),
                    },
                )
            )
        if flag["missed"]:
            streak = int(row["miss_run"])
            severity = "high" if streak >= TARGET_MISSED_LONG else "medium"
            if row["is_priority"] and streak >= TARGET_MISSED_LONG:
                # Three months under target is what a steady service that
                # wanders does now and then; six on a priority measure is not.
                severity = bump(severity)
            elif not important:
                severity = bump(severity, -1)  # one of the many other measures
            specs.append(
                SignalSpec(
                    contract,
                    "target_missed",
                    f"target_missed:{ck}",
                    severity,
                    f"{row['name']}: target of {_fmt(row['target'], unit)} missed"
                    + (
                        f" beyond its tolerance of {_fmt(row['amber'], unit)}"
                        if row["amber"] > 0
                        else ""
                    )
                    + f" for {streak} periods in a row (latest {_fmt(row['value'], unit)}).",
                    ck,
                    period,
                    {**evidence, "periods": streak, "amber_tolerance": _num(row["amber"])},
                )
            )
        if flag["volatile"]:
            specs.append(
                SignalSpec(
                    contract,
                    "volatility",
                    f"volatility:{ck}",
                    "medium" if row["ratio"] >= 2.5 else "low",
                    f"{row['name']}: period-to-period swings have widened to "
                    f"{row['ratio']:.1f} times their earlier size.",
                    ck,
                    period,
                    {
                        **evidence,
                        "recent_moving_range": _num(row["mr_recent"]),
                        "earlier_moving_range": _num(row["mr_before"]),
                    },
                )
            )
        if flag["recovery"]:
            specs.append(
                SignalSpec(
                    contract,
                    "recovery",
                    f"recovery:{ck}",
                    "info",
                    f"{row['name']}: recovering — now a special-cause improvement after a "
                    f"concern in the last {RECOVERY_LOOKBACK} periods.",
                    ck,
                    period,
                    evidence,
                )
            )
        if flag["stress"]:
            specs.append(
                SignalSpec(
                    contract,
                    "stress",
                    f"stress:{ck}",
                    "high" if flag["concern"] and strength == 2 else "medium",
                    f"{row['name']} is moving against the contract: last {STRESS_RECENT} "
                    f"periods averaged {_fmt_mean(row['mean_recent'], unit)} against "
                    f"{_fmt_mean(row['mean_before'], unit)} before ({worse} is worse).",
                    ck,
                    period,
                    {
                        **evidence,
                        "recent_mean": _num(row["mean_recent"]),
                        "earlier_mean": _num(row["mean_before"]),
                    },
                )
            )
    specs += _strain_signals(last)
    specs += _text_signals(specs, kpis, recent_text, voice)
    return frame, specs


def _shift_evidence(frame, series, position_from_end, concern, contract_of) -> pd.DataFrame:
    """Per series (indexed by ``ck``), how far and how surely its latest values
    have moved from its own baseline, and how persistently the SPC calls them.

    The baseline is up to BASELINE_MAX values ending BASELINE_GAP periods before
    the latest (fewer on a short series, never inside the last SHIFT_RECENT),
    so that a change under way for months is measured against the time before
    it. For each window of SHIFT_WINDOWS latest values: ``d`` is its mean's
    distance from the baseline mean in baseline standard deviations (the
    sample SD, not MR-bar / 1.128: an autocorrelated series wanders further
    than its moving ranges say), and ``z`` that distance over its standard
    error, with both means' effective sizes shrunk by the baseline's lag-1
    autocorrelation r, n (1 − r) / (1 + r): a steady series that wanders is
    not mistaken for a shifted one. Signed later (worse is positive).
    ``concerns_recent``: how many of the last SHIFT_RECENT points are
    special-cause concerns."""
    x = frame["value"].to_numpy(dtype=float)
    first = np.flatnonzero(series.start)
    index = pd.Index(series.last_ck, name="ck")
    # Only the values since the series' latest re-base (a formal variation):
    # a known change of target, definition or model of delivery is not a shift.
    group = frame["rebase_group"].to_numpy()
    current = group == group[series.last_rows][series.gid]

    def total(values) -> np.ndarray:
        """Per series, the sum of ``values`` over its rows (series are contiguous)."""
        return np.add.reduceat(np.asarray(values, dtype=float), first) if len(first) else values

    def mean_of(mask):
        n = total(mask)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total(np.where(mask, x, 0.0)) / n, n

    length = total(current).astype(int)  # since the latest re-base
    whole = np.diff(np.r_[-1, series.last_rows])
    # Periods per month (weekly returns: about 4), from the series' own spacing
    # (first to last period over the gaps between them): the baseline and the
    # windows span the same months whatever the calendar.
    day = frame["period_start"].to_numpy().astype("datetime64[D]").astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        spacing = (day[series.last_rows] - day[first]) / (whole - 1)
        per_month = np.nan_to_num(np.clip(np.round(30 / spacing), 1, 5), nan=1.0)
    per_row = per_month[series.gid]
    gap = np.clip(length[series.gid] - BASELINE_MIN * per_row, SHIFT_RECENT, BASELINE_GAP * per_row)
    baseline = (
        current & (position_from_end >= gap) & (position_from_end < gap + BASELINE_MAX * per_row)
    )
    base_mean, base_n = mean_of(baseline)
    base_row = base_mean[series.gid]
    with np.errstate(invalid="ignore", divide="ignore"):
        base_sd = np.sqrt(total(np.where(baseline, (x - base_row) ** 2, 0.0)) / (base_n - 1))
    # Lag-1 autocorrelation over the whole history before the latest
    # HISTORY_GAP periods (more values than the baseline: a surer estimate),
    # about that history's own mean.
    history = current & (position_from_end >= HISTORY_GAP * per_row)
    hist_mean, hist_n = mean_of(history)
    dev = np.where(history, x - hist_mean[series.gid], 0.0)
    previous = np.r_[0.0, dev[:-1]]
    previous[series.start] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = total(dev * previous) / total(dev**2)
        # The lag-1 estimate from a short history is biased low (about
        # (1 + 3r) / n): corrected, or a wandering series would look surer
        # than it is.
        r = np.clip(r + (1 + 3 * r) / hist_n, 0.0, 0.9)
    # Pooled over the contract's series (the median): one provider's measures
    # share their rhythm of reporting and service, the median is not moved by
    # the one series whose own estimate a level shift has inflated, and it is
    # surer than any one short history.
    r = pd.Series(r, index=index)
    r = r.groupby(contract_of.reindex(index).to_numpy()).transform("median").fillna(r)
    shrink = ((1 - r.fillna(0.0)) / (1 + r.fillna(0.0))).to_numpy()
    spread = np.where((base_n >= BASELINE_MIN) & (base_sd > 0), base_sd, np.nan)
    n_base = np.clip(base_n * shrink, 1, None)
    out = pd.DataFrame(index=index)
    with np.errstate(invalid="ignore", divide="ignore"):
        for w in SHIFT_WINDOWS:
            mean, n = mean_of(current & (position_from_end < w * per_row))
            d = (mean - base_mean) / spread
            full = n >= w * per_month
            out[f"d{w}"] = np.where(full, d, np.nan)
            z = d / np.sqrt(1 / np.clip(n * shrink, 1, None) + 1 / n_base)
            out[f"z{w}"] = np.where(full, z, np.nan)
    recent = position_from_end < SHIFT_RECENT
    out["concerns_recent"] = total(concern & recent).astype(int)
    # How many of the last SHIFT_RECENT values are a baseline SD or more above
    # (``beyond_high``) or below (``beyond_low``) its mean: one spike is not a move.
    sd_row = spread[series.gid]
    out["beyond_high"] = total(recent & (x >= base_row + sd_row)).astype(int)
    out["beyond_low"] = total(recent & (x <= base_row - sd_row)).astype(int)
    return out


def _strain_signals(last: pd.DataFrame) -> list[SignalSpec]:
    """Agreement across related measures: STRAIN_MEASURES or more of a
    contract's important measures (priority, stress, fidelity) each at least
    Z_AGREE standard errors worse than their baselines at once. Each may be
    short of a special cause of its own; together, by chance, they rarely are
    (independent series: under 1 % of contracts a month at 8 such measures)."""
    moving = last[last["important"] & (last["z"] >= Z_AGREE) & (last["shift"] >= STRESS_SD)]
    out = []
    for contract, rows in moving.groupby("contract"):
        if len(rows) < STRAIN_MEASURES:
            continue
        rows = rows.sort_values("z", ascending=False)
        names = rows["name"].tolist()
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        out.append(
            SignalSpec(
                int(contract),
                "strain",
                "strain",
                "high" if rows["is_priority"].any() else "medium",
                f"{len(rows)} important measures are moving against the contract together: "
                f"{listed}, each at least {Z_AGREE:g} standard errors worse than its baseline.",
                period_start=rows["period_start"].max().date(),
                evidence={
                    "kpis": [str(code) for code in rows["code"]],
                    "z": [_num(z) for z in rows["z"]],
                },
            )
        )
    return out


def concern_strength(concerns_recent, z, shift) -> int:
    """How strong a special-cause concern's evidence is (``_shift_evidence``):
    0 when it may be chance (fewer than SUSTAINED_CONCERNS of the last
    SHIFT_RECENT points are concerns, or their move is within Z_SUSTAINED
    standard errors of the baseline), 1 when sustained, 2 when sustained and
    both sure (Z_STRONG) and large (SHIFT_STRONG baseline SDs)."""
    if pd.isna(z) or pd.isna(concerns_recent) or concerns_recent < SUSTAINED_CONCERNS:
        return 0
    if z >= Z_STRONG and shift >= SHIFT_STRONG:
        return 2
    return 1 if z >= Z_SUSTAINED else 0


def _num(value) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


DETERIORATION = ("spc_concern", "stress", "target_missed")


class _ProviderVoice:
    """Which deterioration the provider raised itself before it was flagged.

    A warning (a provider's concern) counts for a deterioration signal of a
    contract when it was raised on that contract at or after the start of the
    earliest period whose return the silence rule reads (``recent_text``: the
    same window as the returns' words) and before the signal first opened (a
    live signal's ``opened_at``; a signal this run opens is flagged now, so any
    warning already raised counts). The earliest such warning is the one cited."""

    def __init__(self, recent_text, early_warnings, first_opened):
        self.since: dict[int, pd.Timestamp] = {}
        self.warnings: dict[int, list[tuple[pd.Timestamp, int]]] = {}
        self.opened: dict[tuple[int, str], pd.Timestamp] = {}
        if early_warnings is None or early_warnings.empty or recent_text is None:
            return
        if recent_text.empty:
            return
        starts = pd.to_datetime(recent_text["period_start"]).groupby(recent_text["contract"]).min()
        self.since = {int(c): pd.Timestamp(start).tz_localize("UTC") for c, start in starts.items()}
        for row in early_warnings.sort_values("raised_at").itertuples(index=False):
            self.warnings.setdefault(int(row.contract), []).append(
                (pd.Timestamp(row.raised_at), int(row.id))
            )
        if first_opened is not None and not first_opened.empty:
            self.opened = {
                (int(r.contract), r.key): pd.Timestamp(r.opened_at)
                for r in first_opened.itertuples(index=False)
            }

    def raised_before(self, spec: SignalSpec) -> tuple[pd.Timestamp, int] | None:
        """The (raised at, id) of the provider's earliest warning that counts for
        ``spec``, or None."""
        since = self.since.get(spec.contract)
        if since is None:
            return None
        opened = self.opened.get((spec.contract, spec.key))
        for raised_at, pk in self.warnings.get(spec.contract, ()):
            if raised_at >= since and (opened is None or raised_at < opened):
                return raised_at, pk
        return None


def _credit(spec: SignalSpec, raised_at: pd.Timestamp, pk: int) -> None:
    """The deterioration signal's reason says the provider raised it, and when."""
    day = formatting.date(raised_at.date())
    spec.message += f" The provider raised a concern on {day}, before it was flagged."
    spec.evidence = {
        **spec.evidence,
        "provider_concern": {"id": pk, "raised_at": raised_at.isoformat()},
    }


def _text_signals(specs, kpis, recent_text, voice=None) -> list[SignalSpec]:
    """Silence and thin explanations, read from the latest returns' words and
    the provider's own early warnings (``_ProviderVoice``)."""
    out: list[SignalSpec] = []
    if recent_text is None or recent_text.empty:
        return out
    text = recent_text.assign(
        explanation=recent_text["explanation"].fillna(""),
        narrative=recent_text["narrative"].fillna(""),
    )
    explanation_length = text["explanation"].str.len()
    # A chance special cause (low) is not a deterioration to explain.
    deteriorating = [s for s in specs if s.kind in DETERIORATION and at_least(s.severity, "medium")]
    credited: set[int] = set()
    if voice is not None and voice.warnings:
        for index, spec in enumerate(deteriorating):
            warning = voice.raised_before(spec)
            if warning is not None:
                _credit(spec, *warning)
                credited.add(index)
    deteriorating = [s for i, s in enumerate(deteriorating) if i not in credited]
    raised: dict[int, list[str]] = {}
    worst: dict[int, str] = {}
    if deteriorating:
        # Whole-column work first; the loop below does dictionary look-ups only.
        explained = set(text.loc[explanation_length >= 40, "ck"].tolist())
        contracts = {spec.contract for spec in deteriorating}
        narratives = text.drop_duplicates(["contract", "period_start"])
        narratives = narratives[narratives["contract"].isin(contracts)]
        joined = narratives.groupby("contract")["narrative"].agg(" ".join)
        narrative_text = joined.str.lower() if len(joined) else joined
        cks = list(dict.fromkeys(spec.ck for spec in deteriorating))
        names = kpis.loc[cks, "name"].to_dict()
        priorities = kpis.loc[cks, "is_priority"].astype(bool).to_dict()
        codes = kpis.loc[cks, "code"].to_dict()
        for spec in deteriorating:
            name = names[spec.ck]
            words = narrative_text.get(spec.contract, "")
            mentioned = name.lower() in words or codes[spec.ck].lower() in words
            if spec.ck not in explained and not mentioned:
                raised.setdefault(spec.contract, [])
                # A priority measure left unsaid is as serious as a high signal.
                severity = "high" if priorities.get(spec.ck) else spec.severity
                worst[spec.contract] = max(
                    severity, worst.get(spec.contract, "info"), key=SEVERITY_ORDER.index
                )
                if name not in raised[spec.contract]:
                    raised[spec.contract].append(name)
    for contract, names_raised in raised.items():
        out.append(
            SignalSpec(
                contract,
                "silence",
                "silence",
                # As serious as what was left unsaid: high for a high signal or
                # a priority measure, else medium.
                "high" if worst[contract] in ("high", "critical") else "medium",
                "Deterioration the provider has not raised: "
                + ", ".join(names_raised)
                + " worsened and the last returns neither explain nor mention it.",
                evidence={"kpis": names_raised},
            )
        )
    thin = text[(text["explanation"] != "") & (explanation_length < THIN_EXPLANATION)]
    by_contract = thin.groupby("contract")["explanation"]
    thin_counts = by_contract.size()
    thin_first = by_contract.first()
    for contract, count in thin_counts[thin_counts >= 2].items():
        out.append(
            SignalSpec(
                int(contract),
                "variance_unexplained",
                "variance_unexplained",
                "medium" if count >= 4 else "low",
                f"{count} variances in the last returns are explained in a few words "
                f"(e.g. “{thin_first[contract]}”).",
                evidence={"count": int(count)},
            )
        )
    return out


def _return_signals(periods: pd.DataFrame, contracts: pd.DataFrame, today: date):
    out: list[SignalSpec] = []
    if periods is None or periods.empty:
        return out
    today_ts = pd.Timestamp(today)
    frame = periods[periods["due_date"] < today_ts].sort_values(["contract", "period_start"])
    frame = frame.assign(rank=frame.groupby("contract").cumcount(ascending=False))
    late = frame["first_submitted"].isna() | (frame["first_submitted"] > frame["due_date"])
    window = frame[(frame["rank"] < LATE_WINDOW) & late]
    missing = frame[
        (frame["rank"] < MISSING_WINDOW) & ~frame["received"] & (frame["missing_after"] < today_ts)
    ]
    resubmitted = frame[(frame["rank"] < LATE_WINDOW) & (frame["versions"] > 1)]
    for contract, rows in window.groupby("contract"):
        if len(rows) >= 2:
            out.append(
                SignalSpec(
                    int(contract),
                    "return_late",
                    "return_late",
                    "medium" if len(rows) >= 3 else "low",
                    f"{len(rows)} returns late in the last {LATE_WINDOW}.",
                    period_start=rows["period_start"].iloc[-1].date(),
                    evidence={"periods": [p.strftime("%Y-%m-%d") for p in rows["period_start"]]},
                )
            )
    for contract, rows in missing.groupby("contract"):
        n = len(rows)
        labels = ", ".join(formatting.period_labels([p.date() for p in rows["period_start"]]))
        out.append(
            SignalSpec(
                int(contract),
                "return_missing",
                "return_missing",
                "critical" if n >= 4 else "high" if n >= 2 else "medium",
                f"{n} return{'s' if n > 1 else ''} never received: {labels}.",
                period_start=rows["period_start"].iloc[-1].date(),
                evidence={"periods": [p.strftime("%Y-%m-%d") for p in rows["period_start"]]},
            )
        )
    for contract, rows in resubmitted.groupby("contract"):
        if len(rows) >= 2:
            out.append(
                SignalSpec(
                    int(contract),
                    "return_resubmitted",
                    "return_resubmitted",
                    "low",
                    f"{len(rows)} of the last {LATE_WINDOW} returns had to be corrected "
                    "and resubmitted.",
                    evidence={"periods": [p.strftime("%Y-%m-%d") for p in rows["period_start"]]},
                )
            )
    return out


def _expiry_signals(contracts: pd.DataFrame, today: date) -> list[SignalSpec]:
    out: list[SignalSpec] = []
    if contracts.empty:
        return out
    days = (pd.to_datetime(contracts["end_date"]) - pd.Timestamp(today)).dt.days
    for contract, left in days[(days >= 0) & (days <= EXPIRY_SOON)].items():
        near = left <= EXPIRY_NEAR
        out.append(
            SignalSpec(
                int(contract),
                "expiry",
                f"expiry:{EXPIRY_NEAR if near else EXPIRY_SOON}",
                "medium" if near else "low",
                f"Contract ends in {left} days "
                f"({formatting.date(contracts.loc[contract, 'end_date'])}): "
                "decide on renewal, extension or re-procurement.",
                evidence={"days_left": int(left)},
            )
        )
    return out


# Signals about the returns themselves: a risk of their own kind (the
# commissioner cannot see the service), not evidence that it is failing.
DATA_KINDS = ("return_late", "return_missing", "return_resubmitted", "variance_unexplained")
# Together they can take a contract to the top of medium, never further alone.
DATA_CAP = 0.4
# A contribution's weight in the combination: its points over this.
POINTS_SCALE = 55.0
COMBINED = 5  # contributions combined (and reasons shown before "n more")
STRONG = SEVERITY_POINTS["high"] / POINTS_SCALE  # a high signal's chance
CRITICAL = SEVERITY_POINTS["critical"] / POINTS_SCALE
AGREEMENT = 2  # important measures deteriorating together


def risk_contributions(
    specs: list[SignalSpec], kpis: pd.DataFrame, contracts: pd.DataFrame
) -> dict[int, list[tuple[float, SignalSpec]]]:
    """Per contract, its signals' contributions to the risk score, largest
    first, as (points, signal). A KPI counts once, with its strongest signal
    (a special cause, a missed target and a stressed indicator on one measure
    are one piece of evidence, not three); a KPI signal's points are scaled by
    its weight against the contract's mean (0.5–2×) and × 1.25 for a priority
    measure."""
    mean_weight = kpis.groupby("contract")["weight"].mean() if not kpis.empty else pd.Series()
    cks = kpis.index.tolist()
    weights = dict(zip(cks, kpis["weight"].tolist(), strict=True)) if len(cks) else {}
    priority = dict(zip(cks, kpis["is_priority"].tolist(), strict=True)) if len(cks) else {}
    mean_weights = mean_weight.to_dict()
    best: dict[tuple[int, object], tuple[float, SignalSpec]] = {}
    for spec in specs:
        if spec.contract not in contracts.index:
            continue
        points = float(SEVERITY_POINTS[spec.severity])
        key: object = spec.key
        if spec.ck is not None and spec.ck in weights:
            average = mean_weights.get(spec.contract, 1.0) or 1.0
            points *= float(np.clip(weights[spec.ck] / average, 0.5, 2.0))
            if priority[spec.ck]:
                points *= 1.25
            key = ("kpi", spec.ck)
        if points <= 0:
            continue
        held = best.get((spec.contract, key))
        if held is None or points > held[0]:
            best[(spec.contract, key)] = (points, spec)
    out: dict[int, list[tuple[float, SignalSpec]]] = {int(c): [] for c in contracts.index}
    for (contract, _key), part in best.items():
        out[contract].append(part)
    for parts in out.values():
        parts.sort(key=lambda p: -p[0])
    return out


def combine(
    parts: list[tuple[float, SignalSpec]], important: set | frozenset = frozenset()
) -> tuple[float, int]:
    """0–1 from the contributions, and the highest score it may make (the
    gates below hold after the contract's value has scaled it). Each is read as
    the chance, on its own, that
    the service is in trouble (points / POINTS_SCALE, at most 0.95) and the
    largest COMBINED are joined as independent evidence, 1 − Π(1 − p). Many
    weak signals do not add up to a critical contract (25 KPIs will show a
    chance special cause most months), two or three strong ones do. The data
    signals are read apart, together at most DATA_CAP: late or missing returns
    can make a contract medium on their own, and do not add to the evidence
    that its service is failing."""
    chances, data = [], []
    for points, spec in parts:
        p = min(0.95, points / POINTS_SCALE)
        (data if spec.kind in DATA_KINDS else chances).append(p)
    chances.sort(reverse=True)
    service = 1 - float(np.prod([1 - p for p in chances[:COMBINED]]))
    # No contract is high without one strong piece of evidence (a high or
    # critical signal), nor critical without two or one critical: moderate
    # signals on many measures are what chance looks like.
    strong = [p for p in chances if p >= STRONG]
    # Agreement: sustained deterioration on two important measures (priority,
    # stress, fidelity) is as strong as one high signal; on three, as two.
    agreeing = sum(
        1
        for _points, spec in parts
        if spec.kind in DETERIORATION and spec.ck in important and at_least(spec.severity, "medium")
    )
    if agreeing >= AGREEMENT:
        strong += [STRONG] * (1 if agreeing == AGREEMENT else 2)
    strong.sort(reverse=True)
    ceiling = MAX_SCORE
    if not strong:
        ceiling = BANDS[2][0] - 1
    elif len(strong) < 2 and strong[0] < CRITICAL:
        ceiling = BANDS[3][0] - 1
    reporting = min(DATA_CAP, 1 - float(np.prod([1 - p for p in data])))
    if reporting > service:
        return reporting, BANDS[2][0] - 1
    return service, ceiling


class Risk(NamedTuple):
    """A contract's risk on a day: its score, band, reasons (strongest first)
    and, for each reason, where it comes from (``detail``)."""

    score: int
    band: str
    reasons: list[str]
    details: list[dict]


def detail(points: float, spec: SignalSpec) -> dict:
    """Where a reason comes from: its signal's kind and key, the KPI (contract
    KPI id) and period it was read at, and the points it added."""
    return {
        "kind": spec.kind,
        "key": spec.key,
        "kpi": spec.ck,
        "period": spec.period_start.isoformat() if spec.period_start else None,
        "points": round(points, 1),
    }


def risk_scores(
    specs: list[SignalSpec], kpis: pd.DataFrame, contracts: pd.DataFrame
) -> dict[int, Risk]:
    """0–100 per contract with its band and reasons, largest contribution first
    (``risk_contributions``, ``combine``), times 0.85 for the smallest contract
    of its tenant by annual value to 1.15 for the largest."""
    if contracts.empty:
        return {}
    value_rank = contracts.groupby("tenant")["annual_value"].rank(pct=True).fillna(0.5)
    factors = (0.85 + 0.3 * value_rank).to_dict()
    result = {}
    important = (
        frozenset(kpis.index[important_measures(kpis)].tolist()) if len(kpis) else frozenset()
    )
    for contract, parts in risk_contributions(specs, kpis, contracts).items():
        chance, ceiling = combine(parts, important)
        score = int(min(ceiling, round(100 * chance * float(factors[contract]))))
        result[contract] = Risk(
            score,
            risk_band(score),
            [spec.message for _, spec in parts],
            [detail(points, spec) for points, spec in parts],
        )
    return result


def bands_in_words() -> str:
    """The bands as a reader is told them: "low under 25, …, critical 75 and over"."""
    parts = []
    for i, (floor, name) in enumerate(BANDS):
        if i == 0:
            parts.append(f"{name} under {BANDS[1][0]}")
        elif i == len(BANDS) - 1:
            parts.append(f"{name} {floor} and over")
        else:
            parts.append(f"{name} {floor} to {BANDS[i + 1][0] - 1}")
    return ", ".join(parts)


def risk_band(score: float) -> str:
    """The band a risk score falls in (the lowest for anything below its floor)."""
    return next((name for floor, name in reversed(BANDS) if score >= floor), BANDS[0][1])
