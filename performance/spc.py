"""Statistical process control (XmR charts) the NHS England "Making Data Count" way.

Commissioners read KPI charts the way NHS England's *Making Data Count* (MDC) teaches: an XmR
chart with process limits, four special-cause rules, a variation icon and an assurance icon.
To make our charts say exactly what the NHS tools say about the same numbers, this module mirrors
the NHS-R community's R package **NHSRplotthedots 0.2.x** (``ptd_spc``) rule for rule, including
its edge cases.  Where it differs from a plain reading of MDC, the R package wins, and the
differences are written down next to the code that implements them.

Two entry points:

* :func:`xmr` - one series, returns plain Python objects for views and APIs.  Written as a direct,
  readable transcription of the R functions so that it can be audited line by line against
  ``R/ptd_spc_standard.R`` and ``R/ptd_calculate_point_type.R``.
* :func:`xmr_batch` - many series in one long DataFrame, fully vectorised (no per-point or
  per-series Python loop), for the nightly job.  It is an independent implementation of the same
  rules; the test-suite checks with Hypothesis that both give identical answers.

Behaviour mirrored from NHSRplotthedots (the "R package" below):

* Limits.  Per rebase group: mean of the points; moving ranges ``|y[i] - y[i-1]|`` within the
  group only (the first point of a group has none); mean moving range (MR-bar); moving ranges
  *at or above* ``3.267 * MR-bar`` are dropped and MR-bar recomputed (``screen_outliers``, on by
  default); process limits ``mean +/- 2.66 * MR-bar``; the outer third starts at
  ``mean +/- 2 * (2.66 / 3) * MR-bar``.  Note the R consequence that a group whose moving ranges
  are all zero (a constant series) has every moving range screened out when screening is on, so
  MR-bar and the limits are undefined (``None``/NaN) - exactly as ``ptd_spc`` returns NaN.
* ``fix_after_n_points``: the mean and moving ranges of each group use only its first N points;
  the limits then apply to the whole group.
* Rules are evaluated within a rebase group, never across a rebase, and the first that matches
  wins: (1) outside the process limits; (2) part of a trend of 7 points, each strictly higher (or
  lower) than the one before (i.e. six consecutive rises or falls); (3) two of three consecutive
  points in the outer third (strictly beyond ``2/3`` of the way to a limit but not outside it) on
  the same side of the mean, with all three on that side; (4) part of a run of 7 points on the same
  side of the mean (a point exactly on the mean breaks the run).
* Direction of a special cause: above/below the mean for rules 1, 3, 4; for a trend, the direction
  of the trend, decided as the R package does (a point joining two adjacent trends takes the
  direction of its step to the next point; a flat step there counts as "decreasing").
* Variation = the type of the last point.  Assurance uses the limits of the last point (the latest
  rebase group): for "increase", target above UPL -> consistently failing, below LPL ->
  consistently passing, otherwise hit and miss ("inconsistent"), including when the limits are
  undefined; mirrored for "decrease"; ``None`` for "neutral" or without a target.
* A group with fewer than 13 points gets a short-group warning (trial limits).
* Means are computed as R's ``mean()`` does (long-double sum, then a second correction pass), so
  that a point "exactly on the mean" is judged the same way as in R; with a naive float sum,
  ``mean([0.1, 0.2, 0.3])`` is ``0.20000000000000004`` and 0.2 would wrongly count as below it.

Missing values (``None``/NaN) follow the R package, which keeps ``NA`` rows in place: a missing
point keeps its position (so rebase positions and fix_after_n_points still count it), is left out
of the mean, has no moving range to either neighbour (moving ranges never bridge a gap), and -
because every rule test on ``NA`` is not true - it is never special cause, so its type is
``common_cause`` (R's ``case_when`` default).  It also breaks runs, trends and two-of-three windows.
One deliberate deviation: where a 7-point window contains a gap and all other steps rise (or all
fall), R stops with "missing value where TRUE/FALSE needed"; here the gap simply breaks the trend.
Infinite values are rejected.

No Django imports here: the module is pure NumPy/pandas so it can run in Celery workers, notebooks
and the conformance check alike.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, overload

import numpy as np
import pandas as pd

__all__ = [
    "ASSURANCE_TYPES",
    "IMPROVEMENTS",
    "POINT_COLUMNS",
    "POINT_TYPES",
    "RULES",
    "SUMMARY_COLUMNS",
    "XmrGroup",
    "XmrPoint",
    "XmrResult",
    "xmr",
    "xmr_batch",
]

Improvement = Literal["increase", "decrease", "neutral"]
PointType = Literal[
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
]
AssuranceType = Literal["consistent_pass", "consistent_fail", "inconsistent"]
Rule = Literal["outside_limits", "trend", "two_of_three", "run"]

IMPROVEMENTS: Final[tuple[Improvement, ...]] = ("increase", "decrease", "neutral")
POINT_TYPES: Final[tuple[PointType, ...]] = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
ASSURANCE_TYPES: Final[tuple[AssuranceType, ...]] = (
    "consistent_pass",
    "consistent_fail",
    "inconsistent",
)
RULES: Final[tuple[Rule, ...]] = ("outside_limits", "trend", "two_of_three", "run")

# Constants exactly as written in R/ptd_spc_standard.R; LIMIT_CLOSE is computed the same way so
# that the outer-third boundary is bit-for-bit the R value.
LIMIT: Final = 2.66
LIMIT_CLOSE: Final = 2 * (LIMIT / 3)
SCREEN_FACTOR: Final = 3.267
RUN_LENGTH: Final = 7  # rules 2 and 4 look at 7 points
MIN_FIX_AFTER_N_POINTS: Final = 12  # ptd_spc_options: fix_after_n_points >= 12
SHORT_GROUP_THRESHOLD: Final = 13  # ptd_add_short_group_warnings: n() < 13 warns

_DIRECTION_CODE: Final[dict[str, int]] = {"increase": 1, "decrease": -1, "neutral": 0}


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XmrPoint:
    """One point of a chart.  ``None`` means "missing" (value) or "undefined" (limits)."""

    index: int
    value: float | None
    mean: float | None
    lpl: float | None
    upl: float | None
    outer_third_lower: float | None
    """Inner edge of the lower outer third: below this (but not below ``lpl``) is "close"."""
    outer_third_upper: float | None
    point_type: PointType
    rule: Rule | None
    """Which special-cause rule fired (the highest-precedence one), or ``None``."""
    group: int
    """0-based number of the rebase group the point belongs to."""


@dataclass(frozen=True, slots=True)
class XmrGroup:
    """A run of points sharing one set of limits (the series is split at each rebase)."""

    start: int
    stop: int
    """Exclusive end position."""
    mean: float | None
    lpl: float | None
    upl: float | None
    short: bool
    """True when the group has fewer than 13 points, so its limits are only trial limits."""

    @property
    def n_points(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class XmrResult:
    """Everything a chart, a variation icon and an assurance icon need."""

    points: list[XmrPoint]
    groups: list[XmrGroup]
    variation: PointType
    """Type of the last point: MDC's variation icon."""
    assurance: AssuranceType | None
    """MDC's assurance icon; ``None`` without a target or for a neutral KPI."""
    warnings: list[str]
    improvement: Improvement
    target: float | None


# --------------------------------------------------------------------------------------------
# Input validation (shared)
# --------------------------------------------------------------------------------------------


def _check_improvement(improvement: object) -> Improvement:
    if not isinstance(improvement, str) or improvement not in _DIRECTION_CODE:
        raise ValueError(
            f"improvement must be one of 'increase', 'decrease' or 'neutral', not {improvement!r}"
        )
    return improvement  # type: ignore[return-value]


def _check_target(target: object) -> float | None:
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, numbers.Real | Decimal):
        raise ValueError(f"target must be a number or None, not {target!r}")
    value = float(target)
    if not math.isfinite(value):
        raise ValueError(f"target must be a finite number or None, not {target!r}")
    return value


def _check_fix_after(fix_after_n_points: object) -> int | None:
    if fix_after_n_points is None:
        return None
    if isinstance(fix_after_n_points, bool) or not isinstance(fix_after_n_points, numbers.Integral):
        raise ValueError(
            f"fix_after_n_points must be a whole number of at least {MIN_FIX_AFTER_N_POINTS} "
            f"or None, not {fix_after_n_points!r}"
        )
    if fix_after_n_points < MIN_FIX_AFTER_N_POINTS:
        raise ValueError(
            f"fix_after_n_points must be at least {MIN_FIX_AFTER_N_POINTS} (limits fixed on fewer "
            f"points are not reliable), not {fix_after_n_points}"
        )
    return int(fix_after_n_points)


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def _check_values(values: object) -> np.ndarray:
    """Turn the caller's values into float64 with NaN for missing; reject anything else."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValueError("values must be a sequence of numbers (None or NaN for a missing value)")
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object, na_value=None)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        y = values.astype(np.float64).ravel()
    else:
        items = list(values)  # type: ignore[call-overload]
        y = np.empty(len(items), dtype=np.float64)
        for i, item in enumerate(items):
            if item is None or item is pd.NA or item is pd.NaT:
                y[i] = np.nan
            elif isinstance(item, bool | np.bool_) or not isinstance(item, numbers.Real | Decimal):
                raise ValueError(
                    f"values must be numbers (None or NaN for a missing value); "
                    f"position {i} is {item!r}"
                )
            else:
                y[i] = float(item)
    if y.size == 0:
        raise ValueError("values must contain at least one point")
    bad = np.flatnonzero(np.isinf(y))
    if bad.size:
        raise ValueError(
            f"values must be finite; position {int(bad[0])} is {y[bad[0]]} "
            "(use None or NaN for a missing value)"
        )
    return y


def _check_rebase_at(rebase_at: object, n: int) -> list[int]:
    """Sorted group start positions, always beginning with 0."""
    if isinstance(rebase_at, str | bytes) or not isinstance(rebase_at, Iterable):
        raise ValueError("rebase_at must be a collection of 0-based positions")
    starts = {0}
    for position in rebase_at:  # type: ignore[union-attr]
        if isinstance(position, bool | np.bool_) or not isinstance(position, numbers.Integral):
            raise ValueError(f"rebase_at positions must be whole numbers, not {position!r}")
        if not 0 <= position < n:
            raise ValueError(
                f"rebase_at position {position} is out of range for {n} values "
                f"(valid positions are 0 to {n - 1})"
            )
        starts.add(int(position))
    return sorted(starts)


# --------------------------------------------------------------------------------------------
# R's mean(), shared by both implementations
# --------------------------------------------------------------------------------------------


def _grouped_r_mean(x: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mean of each contiguous group of ``x``, ignoring NaN, computed the way R's ``mean()`` is.

    R (``real_mean`` in src/main/summary.c) sums in long double, divides, then adds the mean of
    the residuals as a correction.  Matching that matters for the "point on the mean breaks a
    run" rule with decimal data.  An empty (or all-NaN) group gives NaN, as ``mean(numeric(0))``.
    Both :func:`xmr` and :func:`xmr_batch` use this function so that they agree to the bit.
    """
    valid = ~np.isnan(x)
    counts = np.add.reduceat(valid.astype(np.int64), starts)
    xl = np.where(valid, x, 0.0).astype(np.longdouble)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.add.reduceat(xl, starts) / counts
        residual = np.where(valid, xl - np.repeat(s, sizes), 0.0)
        correction = np.add.reduceat(residual, starts) / counts
    s = np.where(np.isfinite(s), s + correction, s)
    return s.astype(np.float64)


def _r_mean(x: np.ndarray) -> float:
    return float(_grouped_r_mean(x, np.array([0]), np.array([x.size]))[0])


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


# --------------------------------------------------------------------------------------------
# Single series: a readable transcription of the R functions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Limits:
    mean: float
    lpl: float
    upl: float
    nlpl: float
    nupl: float


def _group_limits(y: np.ndarray, *, screen_outliers: bool, fix_after: int | None) -> _Limits:
    """ptd_spc_standard for one rebase group."""
    fix_y = y.copy()
    if fix_after is not None:
        fix_y[fix_after:] = np.nan  # R: ifelse(row_number() <= fix_after_n_points, y, NA)
    mean = _r_mean(fix_y)
    mr = np.empty_like(fix_y)
    mr[0] = np.nan  # R: c(NA, abs(diff(fix_y)))
    mr[1:] = np.abs(np.diff(fix_y))
    amr = _r_mean(mr)
    if screen_outliers:
        with np.errstate(invalid="ignore"):
            mr = np.where(mr < SCREEN_FACTOR * amr, mr, np.nan)
        amr = _r_mean(mr)
    return _Limits(
        mean=mean,
        lpl=mean - LIMIT * amr,
        upl=mean + LIMIT * amr,
        nlpl=mean - LIMIT_CLOSE * amr,
        nupl=mean + LIMIT_CLOSE * amr,
    )


def _sign(x: float) -> int:
    """R's sign(), with NA (NaN) mapped to 0 so that a gap never extends a run."""
    return 1 if x > 0 else -1 if x < 0 else 0


def _seven_point_one_side_mean(rtm: list[int]) -> list[bool]:
    """ptd_seven_point_one_side_mean: the point ends 7 in a row on one side of the mean."""
    return [
        i >= RUN_LENGTH - 1
        and rtm[i] != 0
        and all(rtm[j] == rtm[i] for j in range(i - RUN_LENGTH + 1, i))
        for i in range(len(rtm))
    ]


def _seven_point_trend(y: np.ndarray) -> list[int]:
    """ptd_seven_point_trend: +1/-1 where the point ends 7 strictly rising/falling points."""
    out = [0] * len(y)
    for i in range(RUN_LENGTH - 1, len(y)):
        steps = [y[j] - y[j - 1] for j in range(i - RUN_LENGTH + 2, i + 1)]
        if all(d > 0 for d in steps):
            out[i] = 1
        elif all(d < 0 for d in steps):
            out[i] = -1
    return out


def _part_of_seven(ends: Sequence[int | bool]) -> list[bool]:
    """ptd_part_of_seven_trend: the point, or one of the next six, ends a 7-point pattern."""
    n = len(ends)
    return [any(ends[j] for j in range(i, min(i + RUN_LENGTH, n))) for i in range(n)]


def _two_in_three(close: list[bool], rtm: list[int]) -> list[bool]:
    """ptd_two_in_three: the point is in a window of 3 with >= 2 close and all 3 on one side."""
    n = len(close)

    def window_ok(first: int) -> bool:
        if first < 0 or first + 3 > n:  # R pads with zeros, which can never make |sum| == 3
            return False
        window = range(first, first + 3)
        return sum(close[j] for j in window) >= 2 and abs(sum(rtm[j] for j in window)) == 3

    return [window_ok(i - 2) or window_ok(i - 1) or window_ok(i) for i in range(n)]


def _special_causes(y: np.ndarray, limits: _Limits) -> list[tuple[Rule | None, int]]:
    """ptd_special_cause_type for one group: (rule, +1 high / -1 low) per point."""
    n = len(y)
    rtm = [_sign(v - limits.mean) for v in y]
    # Comparisons with NaN are False, like R's NA falling through case_when.
    outside = [bool(v > limits.upl or v < limits.lpl) for v in y]
    close = [
        not out and bool(v < limits.nlpl or v > limits.nupl)
        for v, out in zip(y, outside, strict=True)
    ]
    part_trend = _part_of_seven([abs(t) for t in _seven_point_trend(y)])
    two_in_three = _two_in_three(close, rtm)
    part_two = [c and t for c, t in zip(close, two_in_three, strict=True)]
    part_run = _part_of_seven(_seven_point_one_side_mean(rtm))

    result: list[tuple[Rule | None, int]] = []
    for i in range(n):
        if outside[i]:
            result.append(("outside_limits", 1 if rtm[i] == 1 else -1))
        elif part_trend[i]:
            # R: "if a point is part of a trend either side, use right side"
            if i + 1 < n and part_trend[i + 1]:
                step = _sign(y[i + 1] - y[i])
            else:
                step = _sign(y[i] - y[i - 1]) if i > 0 else 0
            result.append(("trend", 1 if step == 1 else -1))
        elif part_two[i]:
            result.append(("two_of_three", 1 if rtm[i] > 0 else -1))
        elif part_run[i]:
            result.append(("run", 1 if rtm[i] > 0 else -1))
        else:
            result.append((None, 0))
    return result


def _point_type(rule: Rule | None, high_or_low: int, direction: int) -> PointType:
    """ptd_point_type: orient a special cause by the KPI's improvement direction."""
    if rule is None:
        return "common_cause"
    if direction == 0:
        return "special_cause_neutral_high" if high_or_low > 0 else "special_cause_neutral_low"
    return "special_cause_improvement" if high_or_low * direction > 0 else "special_cause_concern"


def _assurance(
    direction: int, target: float | None, lpl: float, upl: float
) -> AssuranceType | None:
    """ptd_calculate_assurance_type, using the limits of the last point."""
    if target is None or direction == 0:
        return None
    if target > upl:  # False for NaN limits, as NA falls through case_when in R
        return "consistent_fail" if direction == 1 else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if direction == 1 else "consistent_fail"
    return "inconsistent"


def _short_group_warning(start: int, n_points: int) -> str:
    return (
        f"The group starting at position {start} has only {n_points} "
        f"point{'s' if n_points != 1 else ''}; with fewer than {SHORT_GROUP_THRESHOLD} points its "
        "limits are trial limits that will move as more data arrives."
    )


def xmr(
    values: Iterable[float | int | Decimal | None],
    *,
    improvement: Improvement = "increase",
    target: float | int | Decimal | None = None,
    rebase_at: Iterable[int] = (),
    screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
) -> XmrResult:
    """Compute an MDC XmR chart for one series (values in time order).

    ``rebase_at`` holds 0-based positions that start a new group with its own limits (a change
    in the process, e.g. a new contract variation); position 0 is allowed and changes nothing.
    ``fix_after_n_points`` (>= 12) bases each group's limits on its first N points only.
    Missing values (``None``/NaN) are kept in place; see the module docstring for what they mean.

    Raises ``ValueError`` for an unknown ``improvement``, a non-finite ``target`` or value,
    ``fix_after_n_points`` below 12, or rebase positions out of range.
    """
    direction_name = _check_improvement(improvement)
    direction = _DIRECTION_CODE[direction_name]
    target_value = _check_target(target)
    fix_after = _check_fix_after(fix_after_n_points)
    screen = _check_bool(screen_outliers, "screen_outliers")
    y = _check_values(values)
    starts = _check_rebase_at(rebase_at, y.size)

    points: list[XmrPoint] = []
    groups: list[XmrGroup] = []
    warnings: list[str] = []
    bounds = list(zip(starts, [*starts[1:], y.size], strict=True))
    for group_number, (start, stop) in enumerate(bounds):
        segment = y[start:stop]
        limits = _group_limits(segment, screen_outliers=screen, fix_after=fix_after)
        short = segment.size < SHORT_GROUP_THRESHOLD
        groups.append(
            XmrGroup(
                start=start,
                stop=stop,
                mean=_none_if_nan(limits.mean),
                lpl=_none_if_nan(limits.lpl),
                upl=_none_if_nan(limits.upl),
                short=short,
            )
        )
        if short:
            warnings.append(_short_group_warning(start, segment.size))
        for offset, (rule, high_or_low) in enumerate(_special_causes(segment, limits)):
            points.append(
                XmrPoint(
                    index=start + offset,
                    value=_none_if_nan(float(segment[offset])),
                    mean=_none_if_nan(limits.mean),
                    lpl=_none_if_nan(limits.lpl),
                    upl=_none_if_nan(limits.upl),
                    outer_third_lower=_none_if_nan(limits.nlpl),
                    outer_third_upper=_none_if_nan(limits.nupl),
                    point_type=_point_type(rule, high_or_low, direction),
                    rule=rule,
                    group=group_number,
                )
            )

    last_group = groups[-1]
    assurance = _assurance(
        direction,
        target_value,
        math.nan if last_group.lpl is None else last_group.lpl,
        math.nan if last_group.upl is None else last_group.upl,
    )
    return XmrResult(
        points=points,
        groups=groups,
        variation=points[-1].point_type,
        assurance=assurance,
        warnings=warnings,
        improvement=direction_name,
        target=target_value,
    )


# --------------------------------------------------------------------------------------------
# Many series: vectorised
# --------------------------------------------------------------------------------------------

_POINT_TYPE_ARRAY: Final = np.array(POINT_TYPES, dtype=object)
_ASSURANCE_ARRAY: Final = np.array([None, *ASSURANCE_TYPES], dtype=object)
_IMPROVEMENT_ARRAY: Final = np.array(["neutral", "increase", "decrease"], dtype=object)  # by code

POINT_COLUMNS: Final = (
    "mean",
    "lpl",
    "upl",
    "outer_third_lower",
    "outer_third_upper",
    "point_type",
    "rule",
    "rebase_group",
    "short_group_warning",
)
SUMMARY_COLUMNS: Final = (
    "improvement",
    "target",
    "variation",
    "assurance",
    "n_points",
    "n_groups",
    "short_groups",
)


class _Shifter:
    """Shift per-row arrays by k rows without crossing a group boundary.

    ``back(a, k)[i]`` is ``a[i - k]`` and ``ahead(a, k)[i]`` is ``a[i + k]`` when that row is in
    the same rebase group, else ``fill``.  This is how the rolling windows of the R rules are
    evaluated for every series at once.
    """

    def __init__(self, pos: np.ndarray, remaining: np.ndarray) -> None:
        self.pos = pos  # 0-based position within the group
        self.remaining = remaining  # rows after this one in the same group

    def back(self, a: np.ndarray, k: int, fill: Any) -> np.ndarray:
        if k == 0:
            return a
        out = np.full_like(a, fill)
        out[k:] = a[:-k]
        out[self.pos < k] = fill
        return out

    def ahead(self, a: np.ndarray, k: int, fill: Any) -> np.ndarray:
        if k == 0:
            return a
        out = np.full_like(a, fill)
        out[:-k] = a[k:]
        out[self.remaining < k] = fill
        return out

    def part_of_seven(self, ends: np.ndarray) -> np.ndarray:
        """ptd_part_of_seven_trend: this row or one of the next six ends a 7-point pattern."""
        out = ends.copy()
        for k in range(1, RUN_LENGTH):
            out |= self.ahead(ends, k, False)
        return out


def _xmr_arrays(
    y: np.ndarray,
    group_start: np.ndarray,
    direction: np.ndarray,
    *,
    screen_outliers: bool,
    fix_after: int | None,
) -> dict[str, np.ndarray]:
    """Vectorised ptd_spc_standard + ptd_calculate_point_type over rows sorted by series/time.

    ``group_start`` marks the first row of every rebase group (including every series' first
    row); ``direction`` is +1/-1/0 per row.
    """
    n = y.size
    starts = np.flatnonzero(group_start)
    sizes = np.diff(np.append(starts, n))
    gid = np.cumsum(group_start) - 1
    pos = np.arange(n) - starts[gid]
    shift = _Shifter(pos, sizes[gid] - pos - 1)

    # --- limits (ptd_spc_standard) ---
    fix_y = y if fix_after is None else np.where(pos < fix_after, y, np.nan)
    mean_g = _grouped_r_mean(fix_y, starts, sizes)
    mr = np.abs(fix_y - shift.back(fix_y, 1, np.nan))
    amr_g = _grouped_r_mean(mr, starts, sizes)
    if screen_outliers:
        with np.errstate(invalid="ignore"):
            mr = np.where(mr < SCREEN_FACTOR * amr_g[gid], mr, np.nan)
        amr_g = _grouped_r_mean(mr, starts, sizes)
    mean = mean_g[gid]
    amr = amr_g[gid]
    lpl = mean - LIMIT * amr
    upl = mean + LIMIT * amr
    nlpl = mean - LIMIT_CLOSE * amr
    nupl = mean + LIMIT_CLOSE * amr

    # --- per-point facts; NaN compares False, i.e. never special cause ---
    outside = (y > upl) | (y < lpl)
    close = ~outside & ((y < nlpl) | (y > nupl))
    rtm = np.sign(np.nan_to_num(y - mean, nan=0.0)).astype(np.int8)

    # Rule 2: trend of 7 (six consecutive strict rises or falls within the group).
    prev = shift.back(y, 1, np.nan)
    rise = y > prev
    fall = y < prev
    trend_up = rise.copy()
    trend_down = fall.copy()
    for k in range(1, RUN_LENGTH - 1):
        trend_up &= shift.back(rise, k, False)
        trend_down &= shift.back(fall, k, False)
    part_trend = shift.part_of_seven(trend_up | trend_down)
    # Trend direction as R decides it: the step to the next point when that point is also part
    # of a trend, otherwise the step from the previous point; anything but a rise is "down".
    step_from_prev = np.where(rise, 1, np.where(fall, -1, 0)).astype(np.int8)
    step_to_next = shift.ahead(step_from_prev, 1, 0)
    use_next = part_trend & shift.ahead(part_trend, 1, False)
    trend_sign = np.where(np.where(use_next, step_to_next, step_from_prev) == 1, 1, -1)

    # Rule 3: two of three in the outer third, all three on the same side.
    close_i = close.astype(np.int8)
    close3 = close_i + shift.back(close_i, 1, 0) + shift.back(close_i, 2, 0)
    side3 = rtm + shift.back(rtm, 1, 0) + shift.back(rtm, 2, 0)
    window_end = (close3 >= 2) & (np.abs(side3) == 3)
    in_window = window_end | shift.ahead(window_end, 1, False) | shift.ahead(window_end, 2, False)
    part_two = in_window & close

    # Rule 4: run of 7 on the same side of the mean.
    run_end = rtm != 0
    for k in range(1, RUN_LENGTH):
        run_end &= shift.back(rtm, k, 0) == rtm
    part_run = shift.part_of_seven(run_end)

    # --- precedence: first match wins (ptd_special_cause_type's case_when) ---
    rule_code = np.select(
        [outside, part_trend, part_two, part_run], [1, 2, 3, 4], default=0
    ).astype(np.int8)
    high_or_low = np.where(rule_code == 2, trend_sign, np.where(rtm > 0, 1, -1))
    oriented = high_or_low * direction
    type_code = np.select(
        [
            rule_code == 0,
            direction == 0,
            oriented > 0,
        ],
        [
            0,
            np.where(high_or_low > 0, 3, 4),
            1,
        ],
        default=2,
    ).astype(np.int8)

    return {
        "mean": mean,
        "lpl": lpl,
        "upl": upl,
        "outer_third_lower": nlpl,
        "outer_third_upper": nupl,
        "type_code": type_code,
        "rule_code": rule_code,
        "short": sizes[gid] < SHORT_GROUP_THRESHOLD,
        "gid": gid,
    }


def _series_codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    if len(keys) == 1:
        codes, _ = pd.factorize(frame[keys[0]], use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64)
    return frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in frame.columns:
        raise ValueError(f"{what} column {name!r} is not in the frame")
    return frame[name]


def _numeric_column(column: pd.Series, what: str) -> np.ndarray:
    if column.dtype == bool or not (pd.api.types.is_numeric_dtype(column) or column.isna().all()):
        raise ValueError(f"{what} column {column.name!r} must be numeric, not {column.dtype}")
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


@overload
def xmr_batch(
    frame: pd.DataFrame,
    *,
    series: str | Sequence[str] = ...,
    value: str = ...,
    order: str | None = ...,
    improvement: str = ...,
    target: float | str | None = ...,
    rebase: str | None = ...,
    screen_outliers: bool = ...,
    fix_after_n_points: int | None = ...,
    with_summary: Literal[False] = ...,
) -> pd.DataFrame: ...


@overload
def xmr_batch(
    frame: pd.DataFrame,
    *,
    series: str | Sequence[str] = ...,
    value: str = ...,
    order: str | None = ...,
    improvement: str = ...,
    target: float | str | None = ...,
    rebase: str | None = ...,
    screen_outliers: bool = ...,
    fix_after_n_points: int | None = ...,
    with_summary: Literal[True],
) -> tuple[pd.DataFrame, pd.DataFrame]: ...


def xmr_batch(
    frame: pd.DataFrame,
    *,
    series: str | Sequence[str] = "series",
    value: str = "value",
    order: str | None = None,
    improvement: str = "increase",
    target: float | str | None = None,
    rebase: str | None = None,
    screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
    with_summary: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Compute XmR charts for many series held in one long DataFrame, all at once.

    Gives the same answers as :func:`xmr` series by series, but vectorised so that the nightly
    run over every contract KPI takes seconds rather than minutes.

    * ``series``: the column (or columns) identifying a series, e.g. ``["contract", "kpi"]``.
    * ``value``: the measurement column; NaN/None is a missing point (as in :func:`xmr`).
    * ``order``: column giving time order within a series (dates, periods or numbers; no
      duplicates within a series).  ``None`` means rows are already in time order per series
      (series need not be contiguous).
    * ``improvement``: ``"increase"``, ``"decrease"`` or ``"neutral"`` for every series, or the
      name of a column holding one of those per row (constant within a series).
    * ``target``: a number for every series, the name of a numeric column (the value on a
      series' last row is used, as the R package takes the last row; NaN means no target), or
      ``None``.
    * ``rebase``: name of a boolean/0-1 column; a true row starts a new group with new limits
      (a flag on a series' first row changes nothing).
    * ``screen_outliers``, ``fix_after_n_points``: as in :func:`xmr`, for every series.

    Returns a DataFrame aligned with ``frame.index`` (same rows, same order) holding ``mean,
    lpl, upl, outer_third_lower, outer_third_upper`` (NaN where undefined), ``point_type`` and
    ``rule`` (categoricals: a fixed vocabulary is far cheaper than millions of strings; ``rule``
    is missing for common cause), ``rebase_group`` (0-based within the series) and
    ``short_group_warning``.  With ``with_summary=True`` also returns one row per series
    (indexed by the series key, in order of first appearance) with ``improvement, target,
    variation, assurance`` (missing without a target or for neutral KPIs), ``n_points,
    n_groups, short_groups``.

    For speed, pass key and improvement columns as categoricals or integers where you can;
    factorising millions of Python strings is the slowest step.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("frame must be a pandas DataFrame")
    keys = [series] if isinstance(series, str) else list(series)
    if not keys:
        raise ValueError("series must name at least one column")
    for key in keys:
        _column(frame, key, "series")
    fix_after = _check_fix_after(fix_after_n_points)
    screen = _check_bool(screen_outliers, "screen_outliers")
    n = len(frame)

    y_in = _numeric_column(_column(frame, value, "value"), "value")
    if np.isinf(y_in).any():
        where = int(np.flatnonzero(np.isinf(y_in))[0])
        raise ValueError(
            f"value column {value!r} must be finite; row {frame.index[where]!r} is "
            f"{y_in[where]} (use NaN for a missing value)"
        )
    codes = _series_codes(frame, keys) if n else np.zeros(0, dtype=np.int64)

    # Row order: by series, then time.
    if order is None:
        perm = np.argsort(codes, kind="stable")
    else:
        order_col = _column(frame, order, "order")
        if order_col.isna().any():
            raise ValueError(f"order column {order!r} has missing values")
        order_rank, order_levels = pd.factorize(order_col, sort=True)
        # One int64 sort key is several times faster than np.lexsort on two keys.
        # Keys are unique once duplicates are ruled out below, so any sort algorithm will do.
        perm = np.argsort(codes * len(order_levels) + order_rank)
        sorted_rank = order_rank[perm]
        sorted_codes = codes[perm]
        dup = (sorted_rank[1:] == sorted_rank[:-1]) & (sorted_codes[1:] == sorted_codes[:-1])
        if dup.any():
            row = frame.index[perm[int(np.flatnonzero(dup)[0]) + 1]]
            raise ValueError(
                f"order column {order!r} has duplicate values within a series (row {row!r})"
            )
    s_codes = codes[perm]
    y = y_in[perm]
    series_start = np.ones(n, dtype=bool)
    series_start[1:] = s_codes[1:] != s_codes[:-1]

    # Improvement direction per row.
    if not isinstance(improvement, str):
        raise ValueError(
            "improvement must be 'increase', 'decrease', 'neutral' or the name of a column "
            f"holding those, not {improvement!r}"
        )
    if improvement in _DIRECTION_CODE:
        direction = np.full(n, _DIRECTION_CODE[improvement], dtype=np.int8)
    else:
        # Factorise first so that only the few distinct labels are looked up in Python.
        label_codes, labels = pd.factorize(
            _column(frame, improvement, "improvement"), use_na_sentinel=False
        )
        unknown = [label for label in labels if label not in _DIRECTION_CODE]
        if unknown:
            raise ValueError(
                f"improvement column {improvement!r} must hold 'increase', 'decrease' or "
                f"'neutral', not {unknown[0]!r}"
            )
        label_direction = np.array([_DIRECTION_CODE[label] for label in labels], dtype=np.int8)
        direction = label_direction[label_codes[perm]]
        if (~series_start[1:] & (direction[1:] != direction[:-1])).any():
            raise ValueError(
                f"improvement column {improvement!r} must be the same on every row of a series"
            )

    # Target per row (only the series' last row matters).
    if target is None:
        target_rows = np.full(n, np.nan)
    elif isinstance(target, str):
        target_rows = _numeric_column(_column(frame, target, "target"), "target")[perm]
        if np.isinf(target_rows).any():
            raise ValueError(f"target column {target!r} must be finite (NaN means no target)")
    else:
        target_value = _check_target(target)
        target_rows = np.full(n, np.nan if target_value is None else target_value)

    group_start = series_start.copy()
    if rebase is not None:
        flags = _column(frame, rebase, "rebase")
        if pd.api.types.is_numeric_dtype(flags) and not pd.api.types.is_bool_dtype(flags):
            flag_values = np.nan_to_num(flags.to_numpy(dtype=np.float64, na_value=0.0)) != 0
        else:  # bool, nullable boolean or objects: missing means "no rebase"
            try:
                flag_values = flags.astype("boolean").fillna(False).to_numpy(dtype=bool)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"rebase column {rebase!r} must hold true/false flags") from exc
        group_start |= flag_values[perm]

    if n == 0:
        empty = pd.DataFrame(
            {
                column: pd.Series(dtype=object if column in ("point_type", "rule") else np.float64)
                for column in POINT_COLUMNS
            },
            index=frame.index,
        )
        if not with_summary:
            return empty
        return empty, pd.DataFrame(columns=list(SUMMARY_COLUMNS))

    arrays = _xmr_arrays(y, group_start, direction, screen_outliers=screen, fix_after=fix_after)

    # Group number within the series.
    gid = arrays["gid"]
    first_gid_of_series = np.maximum.accumulate(np.where(series_start, gid, 0))
    rebase_group = gid - first_gid_of_series

    inverse = np.empty(n, dtype=np.int64)
    inverse[perm] = np.arange(n)
    points = pd.DataFrame(
        {
            "mean": arrays["mean"][inverse],
            "lpl": arrays["lpl"][inverse],
            "upl": arrays["upl"][inverse],
            "outer_third_lower": arrays["outer_third_lower"][inverse],
            "outer_third_upper": arrays["outer_third_upper"][inverse],
            # Categoricals: a fixed vocabulary, and far cheaper than 1.5M Python strings.
            "point_type": pd.Categorical.from_codes(
                arrays["type_code"][inverse], categories=list(POINT_TYPES)
            ),
            "rule": pd.Categorical.from_codes(
                arrays["rule_code"][inverse].astype(np.int8) - 1, categories=list(RULES)
            ),
            "rebase_group": rebase_group[inverse],
            "short_group_warning": arrays["short"][inverse],
        },
        index=frame.index,
        copy=False,  # the arrays are fresh; skip pandas' defensive copy
    )
    if not with_summary:
        return points

    # --- per series: the last row carries variation and assurance ---
    first_rows = np.flatnonzero(series_start)
    last_rows = np.append(first_rows[1:] - 1, n - 1)
    last_dir = direction[last_rows]
    last_target = target_rows[last_rows]
    last_lpl = arrays["lpl"][last_rows]
    last_upl = arrays["upl"][last_rows]
    has_assurance = ~np.isnan(last_target) & (last_dir != 0)
    above = last_target > last_upl
    below = last_target < last_lpl
    assurance_code = np.select(
        [~has_assurance, above, below],
        [0, np.where(last_dir == 1, 2, 1), np.where(last_dir == 1, 1, 2)],
        default=3,
    )
    group_firsts = group_start & ~series_start
    n_groups = np.add.reduceat(group_firsts.astype(np.int64), first_rows) + 1
    short_first = group_start & arrays["short"]
    short_groups = np.add.reduceat(short_first.astype(np.int64), first_rows)

    # Order series by first appearance in the frame, like pd.factorize.
    key_rows = perm[first_rows]
    by_appearance = np.argsort(key_rows, kind="stable")
    key_frame = frame[keys].iloc[key_rows[by_appearance]]
    index = (
        pd.Index(key_frame[keys[0]], name=keys[0])
        if len(keys) == 1
        else pd.MultiIndex.from_frame(key_frame)
    )
    summary = pd.DataFrame(
        {
            "improvement": _IMPROVEMENT_ARRAY[last_dir[by_appearance]],
            "target": last_target[by_appearance],
            "variation": _POINT_TYPE_ARRAY[arrays["type_code"][last_rows][by_appearance]],
            "assurance": _ASSURANCE_ARRAY[assurance_code[by_appearance]],
            "n_points": np.diff(np.append(first_rows, n))[by_appearance],
            "n_groups": n_groups[by_appearance],
            "short_groups": short_groups[by_appearance],
        },
        index=index,
    )
    return points, summary
