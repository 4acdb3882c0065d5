"""Tests for performance.spc, the Making Data Count XmR engine.

Three kinds of evidence:

1. Published results of the reference implementation, NHSRplotthedots (R, NHS-R community), taken
   from its own test fixtures and snapshots - cited file by file, with the commit we read.
2. Small constructed series whose expected limits are worked out by hand in the comments (the
   assertions recompute them from first principles, never from the module), one or more per rule,
   per precedence clash, per option and per validation error.
3. A Hypothesis property: the vectorised ``xmr_batch`` gives exactly what ``xmr`` gives, series by
   series, on random data full of ties, gaps, rebases and constant series.

No database is needed; nothing here is marked ``django_db``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from performance.spc import (
    IMPROVEMENTS,
    POINT_TYPES,
    RULES,
    _assurance,
    _part_of_seven,
    _seven_point_one_side_mean,
    _seven_point_trend,
    _two_in_three,
    xmr,
    xmr_batch,
)

LIMIT = 2.66
NEAR = 2 * (LIMIT / 3)


def types(result):
    return [p.point_type for p in result.points]


def rules(result):
    return [p.rule for p in result.points]


def flagged(result):
    """{index: rule} for the special-cause points."""
    return {p.index: p.rule for p in result.points if p.rule is not None}


# ============================================================================================
# 1. Published NHSRplotthedots results
# ============================================================================================

# --- tests/testthat/_snaps/integration_tests.md (commit 0c096d813e16e4fe606c37eb70020e74a5dcbbe8)
# These snapshots are `expect_snapshot_value(ptd_spc(...), style = "serialize")` outputs: base64
# of R's XDR serialisation of the result data frame.  We decoded them (R XDR is a documented
# big-endian format: REALSXP = 8-byte IEEE doubles, STRSXP = CHARSXPs) and copied out the input
# column `y` and the package's own `mean`, `lpl`, `upl`, `outside_limits`, `close_to_limits` and
# `point_type` columns verbatim.  The data are NHSRdatasets::ae_attendances summed over all
# trusts per month (36 months from 2016-04), as built by `ae_all()` in
# tests/testthat/test-integration_tests.R.
# The snapshots were recorded with a slightly older package than 0.2.x; these series contain no
# case affected by the 0.2 rule fixes (#143, #167, #171), so 0.2.x gives the same answers.

AE_ATTENDANCES = [
    1867781, 2070340, 1958802, 2079034, 1932901, 1952464, 2001816, 1907871, 1944567,
    1895272, 1735619, 2015834, 1949762, 2066789, 1994056, 2073944, 1924663, 1925961,
    2044137, 1976971, 2003954, 2000086, 1820012, 2049785, 1984369, 2164458, 2093942,
    2179896, 1997854, 2005695, 2079492, 2037847, 2047518, 2113413, 1954947, 2167550,
]  # fmt: skip

AE_PERFORMANCE = [
    0.9003512724457525, 0.9027555860390081, 0.9055994429248081, 0.9028524786030435,
    0.909763097023593, 0.9064786853944554, 0.8905308979446662, 0.8837903610883545,
    0.8617594559611471, 0.851413411900772, 0.8753090395991286, 0.9000949482943537,
    0.9051525263083392, 0.8970035160821932, 0.9072518525056468, 0.9034785895858326,
    0.9029928875860346, 0.8966609396555797, 0.8994186788850258, 0.8876655246839736,
    0.8498503458662225, 0.8529918213516818, 0.8504476893558943, 0.8462121637147311,
    0.8857248828216929, 0.9039011151983545, 0.9076297242234981, 0.8931949047110505,
    0.8972702710007838, 0.8894368286304747, 0.8900933497219513, 0.8760446687116353,
    0.8644632183941728, 0.843525141560121, 0.8422525009629417, 0.8660427671795345,
]  # fmt: skip


def close_points(result):
    """Indices R reports as `close_to_limits`: in the outer third but not outside."""
    return [
        p.index
        for p in result.points
        if p.rule != "outside_limits"
        and (p.value > p.outer_third_upper or p.value < p.outer_third_lower)
    ]


def test_published_ae_attendances():
    # snapshot "ae_all attendances spc returns expected values":
    # ptd_spc(ae_all(), attendances, period)
    r = xmr(AE_ATTENDANCES)
    for p in r.points:
        assert p.mean == pytest.approx(2000538.9444444445, rel=1e-12)
        assert p.lpl == pytest.approx(1731844.3644444444, rel=1e-12)
        assert p.upl == pytest.approx(2269233.5244444446, rel=1e-12)
    assert close_points(r) == [10, 22, 27]  # close_to_limits column
    assert types(r) == ["common_cause"] * 36
    assert r.variation == "common_cause"
    assert r.warnings == []


def test_published_ae_attendances_rebased():
    # snapshot "ae_all attendances spc with rebase returns expected values":
    # ptd_spc(ae_all(), attendances, period, rebase = as.Date("2017-04-01")) -> position 12
    r = xmr(AE_ATTENDANCES, rebase_at=[12])
    expected = [
        (1946858.4166666667, 1639947.374848485, 2253769.4584848485),
        (2027379.2083333333, 1772921.0639855072, 2281837.3526811595),
    ]
    for p in r.points:
        mean, lpl, upl = expected[0 if p.index < 12 else 1]
        assert (p.mean, p.lpl, p.upl) == pytest.approx((mean, lpl, upl), rel=1e-12)
        assert p.group == (0 if p.index < 12 else 1)
    assert close_points(r) == [10, 22]
    assert types(r) == ["common_cause"] * 36
    # The first group has 12 points, fewer than 13: R flags short_group_warning there.
    assert [g.short for g in r.groups] == [True, False]
    assert len(r.warnings) == 1


def test_published_ae_performance_fixed_after_12_points():
    # snapshot "ae_all performance spc returns expected values":
    # ptd_spc(ae_all(), performance, period, fix_after_n_points = 12)
    r = xmr(AE_PERFORMANCE, fix_after_n_points=12)
    for p in r.points:
        assert p.mean == pytest.approx(0.8908915564349236, rel=1e-12)
        assert p.lpl == pytest.approx(0.8614049789074258, rel=1e-12)
        assert p.upl == pytest.approx(0.9203781339624213, rel=1e-12)
    assert [p.index for p in r.points if p.rule == "outside_limits"] == [9, 20, 21, 22, 23, 33, 34]
    assert close_points(r) == [8, 32, 35]
    c, i, k = "common_cause", "special_cause_improvement", "special_cause_concern"
    assert types(r) == [c] * 9 + [k, c] + [i] * 8 + [c] + [k] * 4 + [c] * 5 + [k] * 7
    assert r.variation == k


# --- tests/testthat/test-ptd_spc_standard.R and _snaps/ptd_spc_standard.md
# (commits 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225 and ea2177d4ccfed7dc14d8f57d20f1114d9b235295)
# data: set.seed(123); y = rnorm(20).  The snapshot prints the first five values
# (-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.1~); the full vector is R's well-known
# rnorm(20) stream for seed 123, given here to the same 8 decimals.  Expected values are printed
# to 7 significant figures, so compare at that precision.
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip


def test_published_rnorm_limits():
    p = xmr(RNORM_123).points[0]
    assert (p.mean, p.lpl, p.upl) == pytest.approx((0.1416238, -3.01138, 3.294627), rel=1e-6)


def test_published_rnorm_relative_to_mean():
    # snapshot relative_to_mean column (first 15 shown): -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1,
    # 1, 1, -1, -1
    r = xmr(RNORM_123)
    signs = [1 if p.value > p.mean else -1 for p in r.points[:15]]
    assert signs == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]


@pytest.mark.parametrize(
    ("screen", "expected"),
    [
        (True, (0.6694159, -2.383666, 3.722497)),  # r2 in the snapshot
        (False, (0.6694159, -4.596625, 5.935457)),  # r3: screen_outliers = FALSE
    ],
)
def test_published_rnorm_screening(screen, expected):
    y = list(RNORM_123)
    y[14] = 10  # data$y[15] <- 10
    p = xmr(y, screen_outliers=screen).points[0]
    assert (p.mean, p.lpl, p.upl) == pytest.approx(expected, rel=1e-6)


def test_published_summary_by_facet():
    # tests/testthat/_snaps/ptd_spc.md (commit 174380d653d7a169a76f99deebb9fc21ed5fbbd6),
    # summary(ptd_spc(d, "y", "x", facet_field = "facet")) with facet = rep(c(0, 1), each = 10):
    #   f=0: mean 0.0746, lpl -2.60, upl 2.75, n 10, common_cause 10
    #   f=1: mean 0.209,  lpl -3.28, upl 3.70, n 10, common_cause 10
    frame = pd.DataFrame({"series": [0] * 10 + [1] * 10, "value": RNORM_123})
    points, summary = xmr_batch(frame, with_summary=True)
    first = points.groupby(frame["series"]).first()
    assert first["mean"].tolist() == pytest.approx([0.0746, 0.209], abs=5e-4)
    assert first["lpl"].tolist() == pytest.approx([-2.60, -3.28], abs=5e-3)
    assert first["upl"].tolist() == pytest.approx([2.75, 3.70], abs=5e-3)
    assert (points["point_type"] == "common_cause").all()
    assert summary["n_points"].tolist() == [10, 10]
    assert summary["variation"].tolist() == ["common_cause", "common_cause"]
    assert points["short_group_warning"].all()  # the R test wraps this in suppressWarnings()


def test_published_two_in_three_needs_same_side():
    # test-ptd_spc_standard.R (8aac3239...): "it only reports special cause for 2of3 points close
    # to limits when they are on the same side of the mean"
    data = [1, -1] * 8
    data[14] = 5.5
    data[15] = -5.5
    assert types(xmr(data))[-2:] == ["common_cause", "common_cause"]


# --- tests/testthat/test-ptd_calculate_point_type.R (commit 8aac3239...): the rule helpers.
# Our private helpers are line-by-line transcriptions of the R ones, so they can be fed the same
# vectors.  R returns 0/1 (or -1/0/1 for trends); we return bools/ints.


@pytest.mark.parametrize(
    ("rtm", "expected"),
    [
        ([], []),
        ([1] * 6, [0] * 6),
        ([1] * 6 + [-1], [0] * 7),
        ([1] * 8 + [-1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
        ([-1] * 8 + [1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
    ],
)
def test_r_seven_point_one_side_mean(rtm, expected):
    assert [int(x) for x in _seven_point_one_side_mean(rtm)] == expected


@pytest.mark.parametrize(
    ("ends", "expected"),
    [
        ([], []),
        ([0] * 6, [0] * 6),
        ([0] * 6 + [1, 0], [1] * 7 + [0]),
        ([0] * 7 + [1, 0], [0] + [1] * 7 + [0]),
        ([0] * 6 + [-1, 0], [1] * 7 + [0]),
        ([0] * 7 + [-1, 0], [0] + [1] * 7 + [0]),
    ],
)
def test_r_part_of_seven_trend(ends, expected):
    assert [int(x) for x in _part_of_seven(ends)] == expected


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        ([], []),
        ([1, 2, 3, 4, 5, 6], [0] * 6),
        ([1, 2, 3, 3, 4, 5, 6], [0] * 7),
        ([1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 0, 1]),
        ([2, 1, 2, 3, 4, 5, 6, 7, 3], [0, 0, 0, 0, 0, 0, 0, 1, 0]),
        ([7, 6, 5, 4, 3, 2, 1], [0, 0, 0, 0, 0, 0, -1]),
        ([2, 7, 6, 5, 4, 3, 2, 1, 3], [0, 0, 0, 0, 0, 0, 0, -1, 0]),
    ],
)
def test_r_seven_point_trend(y, expected):
    assert _seven_point_trend(np.array(y, dtype=float)) == expected


@pytest.mark.parametrize(
    ("close", "rtm", "expected"),
    [
        ([1, 0, 1], [1, 1, 1], [1, 1, 1]),
        ([0, 1, 1], [1, 1, 1], [1, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 1]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 1, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 1, 1, 1, 1, 0, 0]),
        # "when points are on opposite sides of the mean"
        ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
        ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
        ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    ],
)
def test_r_two_in_three(close, rtm, expected):
    assert [int(x) for x in _two_in_three([bool(c) for c in close], rtm)] == expected


@pytest.mark.parametrize(
    ("close", "expected"),
    [
        ([1, 0, 0, 1], [0, 0, 0, 0]),  # hv
        ([1, 0, 0, 1, 1], [0, 0, 0, 1, 1]),  # iv
        ([0, 0, 1, 0, 1, 0, 0], [0, 0, 1, 0, 1, 0, 0]),  # fv
    ],
)
def test_r_part_of_two_in_three(close, expected):
    close_b = [bool(c) for c in close]
    in_window = _two_in_three(close_b, [1] * len(close))
    assert [int(c and w) for c, w in zip(close_b, in_window, strict=True)] == expected


# --- tests/testthat/test-ptd_calculate_assurance_type.R (7ed6ae9006d4a5bc8f9839c9eb0afeb34fba4d81)
@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        (1, ["consistent_fail", "consistent_pass", "inconsistent"]),
        (-1, ["consistent_pass", "consistent_fail", "inconsistent"]),
        (0, [None, None, None]),
    ],
)
def test_r_assurance_cases(direction, expected):
    lpl, upl, target = (1, 5, 1), (3, 7, 5), 4
    got = [_assurance(direction, target, lo, hi) for lo, hi in zip(lpl, upl, strict=True)]
    assert got == expected


def test_r_assurance_without_target():
    assert _assurance(1, None, 1, 3) is None


# --- tests/testthat/test-ptd_add_short_group_warnings.R (8aac3239...): "it handles facets and
# rebase groups - warning on one facet": facet a = groups of 35 and 5 points, facet b = 20 + 20.
def test_r_short_group_warning_on_one_facet():
    frame = pd.DataFrame(
        {
            "series": ["a"] * 40 + ["b"] * 40,
            "value": np.tile(np.arange(40.0) % 5, 2),
            "rebase": [i in (35, 60) for i in range(80)],
        }
    )
    points = xmr_batch(frame, rebase="rebase")
    assert points["short_group_warning"].tolist() == [False] * 35 + [True] * 5 + [False] * 40


# ============================================================================================
# 2. Constructed cases, worked by hand
# ============================================================================================

# Alternating 8/12 has moving ranges of 4, so MR-bar is 4 and the limits are mean +/- 10.64.
# Adding one spike: its moving range is screened out (>= 3.267 * MR-bar), leaving MR-bar = 4.
#   [8,12]*6 + [30]:  mean 150/13 = 11.54, MRs 11x4 + 18 -> mean 62/12 = 5.17, 18 >= 16.9
#                     screened -> MR-bar 4, UPL 150/13 + 10.64 = 22.18 < 30.
#   [8,12]*6 + [-10]: mean 110/13 = 8.46, MRs 11x4 + 22 -> 5.5, 22 >= 17.97 screened,
#                     LPL 110/13 - 10.64 = -2.18 > -10.  (8 < 8.46 < 12: no run of 7.)
HIGH_SPIKE = [8, 12] * 6 + [30]
LOW_SPIKE = [8, 12] * 6 + [-10]


def test_outside_limits_hand_computed():
    r = xmr(HIGH_SPIKE)
    p = r.points[-1]
    assert p.mean == pytest.approx(150 / 13)
    assert p.upl == pytest.approx(150 / 13 + LIMIT * 4)
    assert p.lpl == pytest.approx(150 / 13 - LIMIT * 4)
    assert flagged(r) == {12: "outside_limits"}


@pytest.mark.parametrize(
    ("improvement", "series", "expected"),
    [
        ("increase", HIGH_SPIKE, "special_cause_improvement"),
        ("increase", LOW_SPIKE, "special_cause_concern"),
        ("decrease", HIGH_SPIKE, "special_cause_concern"),
        ("decrease", LOW_SPIKE, "special_cause_improvement"),
        ("neutral", HIGH_SPIKE, "special_cause_neutral_high"),
        ("neutral", LOW_SPIKE, "special_cause_neutral_low"),
    ],
)
def test_each_direction(improvement, series, expected):
    r = xmr(series, improvement=improvement)
    assert types(r) == ["common_cause"] * 12 + [expected]
    assert r.variation == expected


# A wide 0/20 alternation (MR 20) keeps everything else inside the limits and out of the outer
# third, so only the pattern under test can fire.
#   trend: [0,20,0,20,0,20, 7,8,9,11,12,13,14, 0,20,0,20,0]
#   mean 174/18 = 9.67; MRs 5x20, 13, 1,1,2,1,1,1, 14, 4x20 = 214 over 17 -> 12.59 (none
#   >= 41.1); limits 9.67 +/- 33.5, outer third from +/- 22.3.  7,8,9 lie below the mean and
#   11..14 above, so no run: only the rising trend 7..14 (six rises) is special.
TREND_UP = [0, 20, 0, 20, 0, 20, 7, 8, 9, 11, 12, 13, 14, 0, 20, 0, 20, 0]


def test_trend_hand_computed():
    r = xmr(TREND_UP)
    p = r.points[0]
    assert p.mean == pytest.approx(174 / 18)
    assert p.upl == pytest.approx(174 / 18 + LIMIT * 214 / 17)
    assert flagged(r) == dict.fromkeys(range(6, 13), "trend")


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        ("increase", "special_cause_improvement"),
        ("decrease", "special_cause_concern"),
        ("neutral", "special_cause_neutral_high"),
    ],
)
def test_trend_direction_follows_kpi(improvement, expected):
    assert set(types(xmr(TREND_UP, improvement=improvement))[6:13]) == {expected}


def test_six_points_rising_is_not_a_trend():
    y = [0, 20, 0, 20, 0, 20, 7, 8, 9, 11, 12, 13, 0, 20, 0, 20, 0]
    assert flagged(xmr(y)) == {}


def test_trend_must_be_strict():
    y = [0, 20, 0, 20, 0, 20, 7, 8, 9, 9, 11, 12, 13, 14, 0, 20, 0, 20, 0]
    assert "trend" not in rules(xmr(y))


def test_falling_trend_above_the_mean_is_a_concern():
    # R 0.2.x (issue #171): a trend is coloured by its direction, not by its side of the mean.
    # [0,20,0,20,0,20,0, 19,18,...,13, 20,0,20,0]: mean 212/18 = 11.78, so 19..13 and the next
    # 20 are a run of 8 above the mean, while 19..13 are also a falling trend.  Trend outranks
    # run, so 19..13 are falling-trend concerns; the 20 is only in the run: improvement.
    y = [0, 20, 0, 20, 0, 20, 0, 19, 18, 17, 16, 15, 14, 13, 20, 0, 20, 0]
    r = xmr(y)
    assert r.points[0].mean == pytest.approx(212 / 18)
    assert flagged(r) == {**dict.fromkeys(range(7, 14), "trend"), 14: "run"}
    assert set(types(r)[7:14]) == {"special_cause_concern"}
    assert types(r)[14] == "special_cause_improvement"
    neutral = types(xmr(y, improvement="neutral"))
    assert set(neutral[7:14]) == {"special_cause_neutral_low"}


def test_trend_direction_where_two_trends_meet_follows_r():
    # ptd_special_cause_type: "if a point is part of a trend either side, use right side", and
    # anything that is not a rise counts as "Decreasing".  1..7 rises, then 7,6,..,1 falls: the
    # top 7 at position 6 belongs to the rising trend, but its next point (another 7, the start
    # of the falling trend) is also a trend point, so R takes the flat step to it -> decreasing.
    y = [20, -20, 20, -20, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1, 20, -20, 20]
    r = xmr(y)
    assert set(rules(r)[4:18]) == {"trend"}
    t = types(r)
    assert t[4:10] == ["special_cause_improvement"] * 6
    assert t[10:18] == ["special_cause_concern"] * 8


#   two of three: [10,12]*6 + [17,12,17] + [10,12]
#   mean 200/17 = 11.76; MRs 11x2, 5,5,5, 7, 2 = 46 over 16 -> 2.875 (none >= 9.39).
#   Outer third starts at 11.76 + 1.7733 * 2.875 = 16.86 and UPL is 11.76 + 7.65 = 19.41, so
#   each 17 is in the upper outer third; the 12 between them is above the mean but not close.
TWO_OF_THREE = [10, 12] * 6 + [17, 12, 17] + [10, 12]


def test_two_of_three_hand_computed():
    r = xmr(TWO_OF_THREE)
    p = r.points[12]
    assert p.mean == pytest.approx(200 / 17)
    assert p.outer_third_upper == pytest.approx(200 / 17 + NEAR * 46 / 16)
    assert p.upl == pytest.approx(200 / 17 + LIMIT * 46 / 16)
    assert p.outer_third_upper < 17 < p.upl
    assert flagged(r) == {12: "two_of_three", 14: "two_of_three"}
    assert types(r)[12] == "special_cause_improvement"
    assert types(xmr(TWO_OF_THREE, improvement="decrease"))[14] == "special_cause_concern"


#   run: [10,30,10,30,10, 21,22,21,22,21,22,21, 10,30,10,30]
#   mean 320/16 = 20 exactly; MRs 4x20, 11, 6x1, 11, 3x20 = 168 over 15 -> 11.2 (none >= 36.6);
#   outer third from 20 +/- 19.9 (so 30 and 10 are not close).  The seven 21/22s are above 20.
RUN = [10, 30, 10, 30, 10, 21, 22, 21, 22, 21, 22, 21, 10, 30, 10, 30]


def test_run_hand_computed():
    r = xmr(RUN)
    assert r.points[0].mean == 20
    assert r.points[0].upl == pytest.approx(20 + LIMIT * 168 / 15)
    assert flagged(r) == dict.fromkeys(range(5, 12), "run")
    assert set(types(xmr(RUN, improvement="decrease"))[5:12]) == {"special_cause_concern"}


def test_point_on_the_mean_breaks_a_run():
    # Swap position 8 (22) for 20 and position 12 (10) for 12: the total is still 320, so the
    # mean is still exactly 20 and the 20 at position 8 splits the run into 3 + 3.
    y = list(RUN)
    y[8], y[12] = 20, 12
    r = xmr(y)
    assert r.points[0].mean == 20
    assert flagged(r) == {}


def test_mean_is_computed_like_r_so_decimal_ties_are_on_the_mean():
    # R's mean() sums in long double and corrects; NumPy's float mean of these decimals is
    # 0.19999999999999998, which would put the 0.2 at position 7 *above* the mean and turn
    # positions 3..10 into a run of 8.  Exactly, the mean is 3.4 / 17 = 0.2.
    y = [0.1, 0.3, 0.1, 0.3, 0.3, 0.3, 0.3, 0.2, 0.3, 0.3, 0.3] + [0.1] * 6
    assert np.mean(y) < 0.2  # the float answer is off by an ulp
    r = xmr(y)
    assert r.points[0].mean == 0.2
    assert flagged(r) == {}


# ---- precedence: the first matching rule wins ---------------------------------------------


def test_outside_beats_trend():
    # [0,20,0,20,0,20, 7,8,9,11,12,13, 80]: 7..80 rise six times (a trend of 7) and 80 is above
    # the UPL: mean 200/13 = 15.38; MRs 5x20, 13, 1,1,2,1,1, 67 -> 186/12 = 15.5, 67 >= 50.6 is
    # screened -> MR-bar 119/11, UPL 15.38 + 28.8 = 44.2.
    r = xmr([0, 20, 0, 20, 0, 20, 7, 8, 9, 11, 12, 13, 80])
    assert r.points[0].upl == pytest.approx(200 / 13 + LIMIT * 119 / 11)
    assert flagged(r) == {**dict.fromkeys(range(6, 12), "trend"), 12: "outside_limits"}


def test_trend_beats_two_of_three():
    # [0,20]*4 + [9,16,...,51]: mean 290/15 = 19.33; MRs 7x20, 11, 6x7 = 193 over 14 -> 13.79;
    # outer third from 19.33 + 24.4 = 43.8, UPL 56.0: 44 and 51 are close and above the mean
    # (two of three with 37), yet they are also the end of a rising trend - trend wins.
    y = [0, 20] * 4 + [9, 16, 23, 30, 37, 44, 51]
    r = xmr(y)
    p = r.points[0]
    assert p.outer_third_upper == pytest.approx(290 / 15 + NEAR * 193 / 14)
    assert p.outer_third_upper < 44 < 51 < p.upl  # rule 3 would fire for 13 and 14 on its own
    assert flagged(r) == dict.fromkeys(range(8, 15), "trend")


def test_two_of_three_beats_run():
    # [10,30,10,30,10, 26,27,26,53,53,26,27, 10,30,10,30]: mean 408/16 = 25.5; MRs 4x20, 16, 1,
    # 1, 27, 0, 27, 1, 17, 3x20 = 230 over 15 -> 15.33; outer third from 25.5 + 27.19 = 52.69,
    # UPL 66.3.  Positions 5..11 are a run of 7 above 25.5; the two 53s are also two of three.
    y = [10, 30, 10, 30, 10, 26, 27, 26, 53, 53, 26, 27, 10, 30, 10, 30]
    r = xmr(y)
    assert r.points[0].outer_third_upper == pytest.approx(25.5 + NEAR * 230 / 15)
    assert flagged(r) == {5: "run", 6: "run", 7: "run", 8: "two_of_three", 9: "two_of_three",
                          10: "run", 11: "run"}  # fmt: skip


# ---- screening -------------------------------------------------------------------------------


def test_screening_changes_limits_and_verdict():
    # [8,12,8,12,8,12, 22, 12,8,12,8,12,8, -28]
    # mean = (6x8 + 6x12 + 22 - 28) / 14 = 114/14 = 8.143
    # MRs: 5x4, 10, 10, 5x4, 36 = 96 over 13 -> 7.385; 3.267 * 7.385 = 24.1, so the 36 is
    # screened out and MR-bar becomes 60/12 = 5.
    #   screened:   UPL = 8.143 + 2.66 * 5     = 21.44 -> the 22 is outside
    #   unscreened: UPL = 8.143 + 2.66 * 96/13 = 27.79 -> the 22 is common cause
    y = [8, 12, 8, 12, 8, 12, 22, 12, 8, 12, 8, 12, 8, -28]
    on = xmr(y)
    off = xmr(y, screen_outliers=False)
    assert on.points[0].mean == off.points[0].mean == pytest.approx(114 / 14)
    assert on.points[0].upl == pytest.approx(114 / 14 + LIMIT * 5)
    assert on.points[0].lpl == pytest.approx(114 / 14 - LIMIT * 5)
    assert off.points[0].upl == pytest.approx(114 / 14 + LIMIT * 96 / 13)
    assert flagged(on) == {6: "outside_limits", 13: "outside_limits"}
    assert flagged(off) == {13: "outside_limits"}


def test_screening_is_at_or_above_the_threshold():
    # MRs [3,3,3,3,3,3,3,3,3,3,3, x]: with x = 3.267 * (33 + x)/12 exactly, x is screened.
    # Solve: 12x = 3.267*33 + 3.267x -> x = 107.811 / 8.733.  Use a value a hair above and the
    # arithmetic of the threshold as R does it (mr < 3.267 * amr keeps the MR).
    base = [0, 3] * 6
    x = 107.811 / 8.733
    kept = base + [3 + x * 0.999]
    dropped = base + [3 + x * 1.001]
    assert xmr(kept).points[0].upl == pytest.approx(sum(kept) / 13 + LIMIT * (33 + x * 0.999) / 12)
    assert xmr(dropped).points[0].upl == pytest.approx(sum(dropped) / 13 + LIMIT * 3)


def test_constant_series_follows_r():
    # All moving ranges are 0, and 0 >= 3.267 * 0, so screening drops them all and MR-bar is
    # undefined (R returns NaN limits).  Without screening the limits collapse onto the mean.
    on = xmr([5] * 15)
    assert on.points[0].mean == 5
    assert on.points[0].lpl is None and on.points[0].upl is None
    assert types(on) == ["common_cause"] * 15
    off = xmr([5] * 15, screen_outliers=False)
    assert (off.points[0].lpl, off.points[0].upl) == (5, 5)
    assert types(off) == ["common_cause"] * 15


# ---- re-basing ---------------------------------------------------------------------------------


def test_rebase_recomputes_limits_per_group():
    # [10,12]*6 + [10] then [20,22]*6 + [20], rebased at 13.  Each group: MRs all 2, so
    # MR-bar = 2 - the jump 10 -> 20 between the groups is not a moving range of either group
    # (shown with screening off, where it would otherwise count).
    # Group 1 mean 142/13, group 2 mean 272/13.
    y = [10, 12] * 6 + [10] + [20, 22] * 6 + [20]
    r = xmr(y, rebase_at=[13], screen_outliers=False)
    g1, g2 = r.groups
    assert (g1.start, g1.stop, g2.start, g2.stop) == (0, 13, 13, 26)
    assert g1.mean == pytest.approx(142 / 13)
    assert (g1.lpl, g1.upl) == pytest.approx((142 / 13 - 2 * LIMIT, 142 / 13 + 2 * LIMIT))
    assert g2.mean == pytest.approx(272 / 13)
    assert (g2.lpl, g2.upl) == pytest.approx((272 / 13 - 2 * LIMIT, 272 / 13 + 2 * LIMIT))
    assert flagged(r) == {}
    assert r.warnings == []
    # Without the rebase the level shift is special cause (runs below then above one mean).
    assert flagged(xmr(y)) != {}


def test_rules_do_not_cross_a_rebase():
    # 7,8,9 | 11,12,13,14 would be a trend of 7, but the rebase at 15 splits it 3 + 4.
    y = [0, 20] * 6 + [7, 8, 9] + [11, 12, 13, 14] + [0, 20] * 6
    assert set(flagged(xmr(y)).values()) == {"trend"}
    assert "trend" not in rules(xmr(y, rebase_at=[15]))


def test_rebase_at_zero_and_duplicates_change_nothing():
    assert xmr(TREND_UP, rebase_at=[0, 0]) == xmr(TREND_UP)


# ---- fixed limits --------------------------------------------------------------------------------


def test_fix_after_n_points():
    # The first 12 points [10,12]*6 give mean 11 and MR-bar 2: limits 5.68 .. 16.32, which then
    # apply to the later 16, 18, 12, 10 as well -> the 18 is outside.  Unfixed, the later points
    # widen the limits (mean 188/16 = 11.75, MR-bar 36/15 = 2.4, UPL 18.13) and 18 is inside.
    y = [10, 12] * 6 + [16, 18, 12, 10]
    fixed = xmr(y, fix_after_n_points=12)
    for p in fixed.points:
        assert (p.mean, p.lpl, p.upl) == pytest.approx((11, 11 - 2 * LIMIT, 11 + 2 * LIMIT))
    assert flagged(fixed) == {13: "outside_limits"}
    loose = xmr(y)
    assert loose.points[0].upl == pytest.approx(188 / 16 + LIMIT * 36 / 15)
    assert flagged(loose) == {}


def test_fix_after_applies_within_each_rebase_group():
    y = [10, 12] * 6 + [30] + [20, 22] * 6 + [40]
    r = xmr(y, rebase_at=[13], fix_after_n_points=12)
    assert r.groups[0].mean == 11 and r.groups[1].mean == 21
    assert flagged(r) == {12: "outside_limits", 25: "outside_limits"}


def test_fix_after_longer_than_the_series_changes_nothing():
    assert xmr(TREND_UP, fix_after_n_points=100) == xmr(TREND_UP)


# ---- assurance -------------------------------------------------------------------------------

# [10,12]*7: mean 11, MR-bar 2, limits 5.68 .. 16.32.
STEADY = [10, 12] * 7


@pytest.mark.parametrize(
    ("improvement", "target", "expected"),
    [
        ("increase", 20, "consistent_fail"),
        ("increase", 3, "consistent_pass"),
        ("increase", 11, "inconsistent"),
        ("decrease", 20, "consistent_pass"),
        ("decrease", 3, "consistent_fail"),
        ("decrease", 16, "inconsistent"),
        ("neutral", 20, None),
        ("increase", None, None),
    ],
)
def test_assurance(improvement, target, expected):
    assert xmr(STEADY, improvement=improvement, target=target).assurance == expected


def test_assurance_target_on_a_limit_is_inconsistent():
    upl = xmr(STEADY).points[0].upl
    assert upl == pytest.approx(11 + 2 * LIMIT)
    assert xmr(STEADY, target=upl).assurance == "inconsistent"


def test_assurance_uses_the_latest_group():
    # After the rebase the process runs at 31 +/- 5.32, so a target of 20 is always beaten.
    y = STEADY + [30, 32] * 7
    assert xmr(y, target=20, rebase_at=[14]).assurance == "consistent_pass"
    assert xmr(y, target=20).assurance == "inconsistent"


def test_assurance_with_undefined_limits_is_inconsistent():
    assert xmr([5] * 15, target=1).assurance == "inconsistent"


# ---- short groups ------------------------------------------------------------------------------


def test_short_group_warning_threshold_is_13():
    twelve = xmr([10, 12] * 6)
    assert len(twelve.warnings) == 1
    assert "12 points" in twelve.warnings[0] and "13" in twelve.warnings[0]
    assert twelve.groups[0].short
    assert xmr([10, 12] * 6 + [10]).warnings == []


def test_short_group_warning_per_group():
    r = xmr(list(range(30)), rebase_at=[25])
    assert [g.short for g in r.groups] == [False, True]
    assert len(r.warnings) == 1 and "position 25" in r.warnings[0]


# ---- missing values (R keeps NA rows) ---------------------------------------------------------


def test_missing_value_is_a_gap():
    # [10, 12, None, 20, 10]: mean of the 4 values = 52/4 = 13.  Moving ranges never bridge the
    # gap: 2, -, -, 10 -> MR-bar 6 (bridging would give (2+8+10)/3).  No short-group exemption.
    r = xmr([10, 12, None, 20, 10])
    assert r.points[0].mean == 13
    assert r.points[0].upl == pytest.approx(13 + LIMIT * 6)
    gap = r.points[2]
    assert gap.value is None and gap.point_type == "common_cause" and gap.rule is None
    assert gap.mean == 13  # the group's limits still apply to the position
    assert xmr([10, 12, float("nan"), 20, 10]) == r


def test_missing_value_breaks_a_run():
    y = list(RUN)
    y[8] = None
    assert "run" not in rules(xmr(y))


def test_missing_values_count_towards_positions():
    # rebase_at and fix_after_n_points count positions, gaps included (R's row_number()).
    y = [10, None, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10, 12, 30]
    r = xmr(y, fix_after_n_points=12)
    assert r.points[0].mean == pytest.approx(sum(v for v in y[:12] if v is not None) / 11)
    assert flagged(r) == {13: "outside_limits"}


def test_all_missing():
    r = xmr([None, None, None])
    assert all(p.mean is None and p.lpl is None for p in r.points)
    assert r.variation == "common_cause"


# ---- input validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"improvement": "up"}, "improvement must be one of"),
        ({"improvement": None}, "improvement must be one of"),
        ({"fix_after_n_points": 11}, "at least 12"),
        ({"fix_after_n_points": 12.5}, "whole number"),
        ({"fix_after_n_points": True}, "whole number"),
        ({"rebase_at": [14]}, "out of range"),
        ({"rebase_at": [-1]}, "out of range"),
        ({"rebase_at": [1.5]}, "whole numbers"),
        ({"rebase_at": "3"}, "collection of 0-based positions"),
        ({"target": float("inf")}, "finite"),
        ({"target": float("nan")}, "finite"),
        ({"target": "5"}, "number or None"),
        ({"screen_outliers": "yes"}, "True or False"),
    ],
)
def test_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        xmr(STEADY, **kwargs)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "at least one point"),
        ([1, 2, float("inf")], "finite; position 2"),
        ([1, -np.inf], "finite; position 1"),
        ([1, "2"], "position 1"),
        ([1, True], "position 1"),
        (5, "sequence of numbers"),
        ("123", "sequence of numbers"),
    ],
)
def test_value_validation(values, message):
    with pytest.raises(ValueError, match=message):
        xmr(values)


def test_accepts_numpy_pandas_and_decimals():
    from decimal import Decimal

    expected = xmr([10.0, 12.0, 11.0, 13.0])
    assert xmr(np.array([10, 12, 11, 13])) == expected
    assert xmr(pd.Series([10, 12, 11, 13])) == expected
    assert xmr([Decimal("10"), Decimal("12"), 11, 13.0]) == expected
    assert xmr(pd.Series([10, None, 11], dtype="Float64")).points[1].value is None


def test_result_shape():
    r = xmr(TREND_UP, target=5)
    assert len(r.points) == len(TREND_UP)
    assert [p.index for p in r.points] == list(range(len(TREND_UP)))
    assert [p.value for p in r.points] == TREND_UP
    assert {p.point_type for p in r.points} <= set(POINT_TYPES)
    assert {p.rule for p in r.points} <= {None, *RULES}
    assert r.variation == r.points[-1].point_type
    assert r.improvement == "increase" and r.target == 5.0
    assert all(p.outer_third_lower < p.mean < p.outer_third_upper for p in r.points)


# ============================================================================================
# xmr_batch
# ============================================================================================


def long_frame(series: dict[str, list], **extra) -> pd.DataFrame:
    rows = []
    for key, values in series.items():
        for t, v in enumerate(values):
            rows.append(
                {"series": key, "t": t, "value": v, **{k: f(key, t) for k, f in extra.items()}}
            )
    return pd.DataFrame(rows)


def test_batch_matches_single_and_keeps_the_callers_index_and_order():
    frame = long_frame({"a": TREND_UP, "b": TWO_OF_THREE, "c": RUN})
    shuffled = frame.sample(frac=1, random_state=7)
    shuffled.index = [f"row{i}" for i in range(len(shuffled))]
    points = xmr_batch(shuffled, order="t")
    assert list(points.index) == list(shuffled.index)
    assert list(points.columns) == [
        "mean", "lpl", "upl", "outer_third_lower", "outer_third_upper", "point_type", "rule",
        "rebase_group", "short_group_warning",
    ]  # fmt: skip
    for key, values in {"a": TREND_UP, "b": TWO_OF_THREE, "c": RUN}.items():
        mine = points[shuffled["series"].to_numpy() == key]
        mine = mine.iloc[np.argsort(shuffled.loc[mine.index, "t"].to_numpy())]
        assert mine["point_type"].tolist() == types(xmr(values))


def test_batch_summary():
    frame = long_frame(
        {"up": HIGH_SPIKE, "down": LOW_SPIKE, "flat": STEADY},
        improvement=lambda k, t: "neutral" if k == "flat" else "increase",
        # limits: up 0.90 .. 22.18, down -2.18 .. 19.10 (see HIGH_SPIKE / LOW_SPIKE)
        target=lambda k, t: {"up": -5.0, "down": 50.0, "flat": 20.0}[k],
    )
    points, summary = xmr_batch(
        frame, order="t", improvement="improvement", target="target", with_summary=True
    )
    assert list(summary.index) == ["up", "down", "flat"]
    assert summary.loc["up", "variation"] == "special_cause_improvement"
    assert summary.loc["down", "variation"] == "special_cause_concern"
    assert summary.loc["flat", "variation"] == "common_cause"
    assert summary.loc["up", "assurance"] == "consistent_pass"
    assert summary.loc["down", "assurance"] == "consistent_fail"
    assert pd.isna(summary.loc["flat", "assurance"])  # neutral KPI
    assert summary["n_points"].tolist() == [13, 13, 14]
    assert summary["short_groups"].tolist() == [0, 0, 0]
    assert summary.loc["flat", "improvement"] == "neutral"


def test_batch_scalar_options_and_two_key_columns():
    frame = pd.DataFrame(
        {
            "contract": ["c1"] * 13 + ["c2"] * 13,
            "kpi": ["k"] * 26,
            "month": list(pd.period_range("2024-01", periods=13, freq="M")) * 2,
            "value": HIGH_SPIKE + LOW_SPIKE,
        }
    )
    points, summary = xmr_batch(
        frame,
        series=["contract", "kpi"],
        order="month",
        improvement="decrease",
        target=0.0,
        with_summary=True,
    )
    assert summary.index.names == ["contract", "kpi"]
    assert summary.loc[("c1", "k"), "variation"] == "special_cause_concern"
    assert summary.loc[("c2", "k"), "variation"] == "special_cause_improvement"
    assert summary["assurance"].tolist() == ["consistent_fail", "inconsistent"]


def test_batch_presorted_interleaved_series_and_rebase_flags():
    a = [10, 12] * 6 + [10] + [20, 22] * 6 + [20]
    frame = pd.DataFrame(
        {
            "series": ["a", "b"] * 26,
            "value": [v for pair in zip(a, a[::-1], strict=True) for v in pair],
            "flag": [1.0 if i == 26 else (np.nan if i % 7 else 0.0) for i in range(52)],
        }
    )
    points = xmr_batch(frame, rebase="flag", screen_outliers=False)
    a_points = points[frame["series"] == "a"]
    assert a_points["rebase_group"].tolist() == [0] * 13 + [1] * 13
    assert a_points["mean"].iloc[0] == pytest.approx(142 / 13)
    assert a_points["mean"].iloc[-1] == pytest.approx(272 / 13)
    expected = xmr(a, rebase_at=[13], screen_outliers=False)
    assert a_points["point_type"].tolist() == types(expected)


def test_batch_missing_values_and_empty_frame():
    frame = pd.DataFrame({"series": ["a"] * 5, "value": [10, 12, None, 20, 10]})
    points = xmr_batch(frame)
    assert points["mean"].tolist() == [13.0] * 5
    assert points["point_type"].tolist() == ["common_cause"] * 5
    empty, summary = xmr_batch(frame.iloc[:0], with_summary=True)
    assert list(empty.columns)[:6] == ["mean", "lpl", "upl", "outer_third_lower",
                                       "outer_third_upper", "point_type"]  # fmt: skip
    assert len(empty) == 0 and len(summary) == 0


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"value": [1.0]}), {}, "series column 'series'"),
        (pd.DataFrame({"series": [1]}), {}, "value column 'value'"),
        (pd.DataFrame({"series": [1, 1], "value": [1, 2], "t": [1, 1]}), {"order": "t"},
         "duplicate"),
        (pd.DataFrame({"series": [1, 1], "value": [1, 2], "t": [1, None]}), {"order": "t"},
         "missing"),
        (pd.DataFrame({"series": [1], "value": [np.inf]}), {}, "finite"),
        (pd.DataFrame({"series": [1], "value": ["x"]}), {}, "numeric"),
        (pd.DataFrame({"series": [1], "value": [1.0], "d": ["up"]}), {"improvement": "d"},
         "'up'"),
        (pd.DataFrame({"series": [1, 1], "value": [1, 2], "d": ["increase", "decrease"]}),
         {"improvement": "d"}, "same on every row"),
        (pd.DataFrame({"series": [1], "value": [1.0]}), {"fix_after_n_points": 5}, "at least"),
        (pd.DataFrame({"series": [1], "value": [1.0]}), {"target": "nope"}, "target column"),
        (pd.DataFrame({"series": [1], "value": [1.0], "g": [np.inf]}), {"target": "g"},
         "finite"),
        (pd.DataFrame({"series": [1], "value": [1.0]}), {"rebase": "r"}, "rebase column"),
        (pd.DataFrame({"series": [1], "value": [1.0], "r": ["yes"]}), {"rebase": "r"},
         "true/false"),
        ([1, 2, 3], {}, "DataFrame"),
    ],
)  # fmt: skip
def test_batch_validation_errors(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        xmr_batch(frame, **kwargs)


# ============================================================================================
# 3. Property: xmr_batch == xmr, series by series
# ============================================================================================


@st.composite
def series_specs(draw):
    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["ties", "walk", "floats", "decimals", "constant"]))
    if kind == "ties":
        values = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    elif kind == "walk":  # random walks make trends, runs and limit breaches likely
        steps = draw(st.lists(st.sampled_from([-3, -1, 0, 1, 2]), min_size=n, max_size=n))
        values = list(np.cumsum(steps))
    elif kind == "floats":
        values = draw(
            st.lists(
                st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
                min_size=n,
                max_size=n,
            )
        )
    elif kind == "decimals":
        values = [k / 10 for k in draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))]
    else:
        values = [draw(st.integers(-5, 5))] * n
    values = [float(v) for v in values]
    for i in draw(st.sets(st.integers(0, n - 1), max_size=3)) if draw(st.booleans()) else ():
        values[i] = None
    return {
        "values": values,
        "rebase_at": sorted(draw(st.sets(st.integers(0, n - 1), max_size=3))),
        "improvement": draw(st.sampled_from(IMPROVEMENTS)),
        "target": draw(
            st.none()
            | st.integers(-3, 8).map(float)
            | st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
        ),
    }


def as_float(x):
    return np.nan if x is None else x


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(series_specs(), min_size=1, max_size=8),
    screen=st.booleans(),
    fix=st.none() | st.integers(12, 20),
    data=st.data(),
)
def test_batch_equals_single(specs, screen, fix, data):
    rows = [
        {
            "series": f"s{k}",
            "t": t,
            "value": as_float(v),
            "improvement": spec["improvement"],
            "target": as_float(spec["target"]),
            "rebase": t in spec["rebase_at"],
        }
        for k, spec in enumerate(specs)
        for t, v in enumerate(spec["values"])
    ]
    order = data.draw(st.permutations(range(len(rows))))
    frame = pd.DataFrame([rows[i] for i in order])

    points, summary = xmr_batch(
        frame,
        order="t",
        improvement="improvement",
        target="target",
        rebase="rebase",
        screen_outliers=screen,
        fix_after_n_points=fix,
        with_summary=True,
    )

    for k, spec in enumerate(specs):
        single = xmr(
            spec["values"],
            improvement=spec["improvement"],
            target=spec["target"],
            rebase_at=spec["rebase_at"],
            screen_outliers=screen,
            fix_after_n_points=fix,
        )
        mask = (frame["series"] == f"s{k}").to_numpy()
        mine = points[mask].iloc[np.argsort(frame.loc[mask, "t"].to_numpy())]
        for column in ("mean", "lpl", "upl", "outer_third_lower", "outer_third_upper"):
            expected = [as_float(getattr(p, column)) for p in single.points]
            np.testing.assert_array_equal(mine[column].to_numpy(), expected, err_msg=column)
        assert mine["point_type"].tolist() == types(single)
        assert [None if pd.isna(r) else r for r in mine["rule"]] == rules(single)
        assert mine["rebase_group"].tolist() == [p.group for p in single.points]
        assert mine["short_group_warning"].tolist() == [
            single.groups[p.group].short for p in single.points
        ]
        row = summary.loc[f"s{k}"]
        assert row["variation"] == single.variation
        assert (None if pd.isna(row["assurance"]) else row["assurance"]) == single.assurance
        assert row["n_groups"] == len(single.groups)
        assert row["short_groups"] == sum(g.short for g in single.groups)
        assert row["n_points"] == len(spec["values"])


def test_batch_handles_a_nightly_sized_frame_quickly():
    # A smoke test of scale (the measured figure is in the report, not asserted here, because CI
    # machines vary): 2,000 series x 60 months.
    rng = np.random.default_rng(0)
    n_series, n_months = 2_000, 60
    frame = pd.DataFrame(
        {
            "series": np.repeat(np.arange(n_series), n_months),
            "month": np.tile(np.arange(n_months), n_series),
            "value": rng.normal(100, 5, n_series * n_months).round(1),
        }
    )
    points = xmr_batch(frame.sample(frac=1, random_state=0), order="month")
    assert len(points) == n_series * n_months
    assert set(points["point_type"].unique()) <= set(POINT_TYPES)
    assert not math.isnan(points["mean"].iloc[0])
