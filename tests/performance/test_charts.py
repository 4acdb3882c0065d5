"""The control chart and risk history figures, built from plain data.

The numbers on a chart must be the numbers ``spc.xmr`` computes (mean, process
limits, point types), the colours and shapes must say what each point is, and
target, limits and re-base lines must be drawn where they belong. Figures are
checked against Plotly's own schema and must be valid JSON (no NaN).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import plotly.graph_objects as go
import pytest

from performance import charts
from performance.spc import xmr

STEADY = [5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6]
PERIODS = [f"P{i:02d}" for i in range(1, 40)]


def chart(values, **kwargs):
    kwargs.setdefault("improvement", "increase")
    kwargs.setdefault("unit", "count")
    return charts.kpi_chart(
        title="Visits completed", periods=PERIODS[: len(values)], values=values, **kwargs
    )


def traces(figure) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def markers(figure) -> dict[str, dict]:
    """The marker traces, by the point type they draw."""
    return {t["meta"]: t for t in figure["data"] if t.get("mode") == "markers"}


def test_mean_and_limits_are_the_xmr_numbers():
    values = [*STEADY, 9]
    expected = xmr(values, improvement="increase")
    figure = chart(values).figure
    lines = traces(figure)
    assert lines["Mean"]["y"] == pytest.approx([p.mean for p in expected.points])
    assert lines["Upper process limit"]["y"] == pytest.approx([p.upl for p in expected.points])
    assert lines["Lower process limit"]["y"] == pytest.approx([p.lpl for p in expected.points])
    assert lines["Values"]["y"] == values
    assert lines["Values"]["x"] == PERIODS[: len(values)]
    # limits are dashed, the mean solid
    assert lines["Upper process limit"]["line"]["dash"] == "dash"
    assert "dash" not in lines["Mean"]["line"]


def test_mean_and_limits_hand_checked():
    # mean 5; moving ranges 2, 2, 2 → MR̄ 2; limits 5 ± 2.66 × 2
    figure = chart([4, 6, 4, 6], unit="").figure
    lines = traces(figure)
    assert lines["Mean"]["y"] == pytest.approx([5.0] * 4)
    assert lines["Upper process limit"]["y"] == pytest.approx([10.32] * 4)
    assert lines["Lower process limit"]["y"] == pytest.approx([-0.32] * 4)


def test_a_count_s_lower_limit_below_zero_is_drawn_at_zero_and_the_chart_says_so():
    # mean 3; moving ranges 4, 4, 4 → MR̄ 4; limits 3 ± 2.66 × 4 = -7.64 and 13.64
    result = chart([1, 5, 1, 5], unit="count")
    lines = traces(result.figure)
    assert lines["Lower process limit"]["y"] == [0] * 4
    assert lines["Upper process limit"]["y"] == pytest.approx([13.64] * 4)
    assert result.figure["layout"]["yaxis"]["rangemode"] == "nonnegative"
    note = (
        "The lower process limit works out at -7.6; a count cannot be below 0, so it is drawn at 0."
    )
    assert result.limit_notes == [note]
    assert result.summary.endswith(note)
    assert (result.rows[0].lower_limit, result.rows[0].upper_limit) == ("0.0", "13.6")
    assert result.rows[0].mean == "3.0"  # a mean is not a count: one decimal
    (hover, *_) = markers(result.figure)["common_cause"]["text"]
    assert "Mean 3.0; limits 0.0 to 13.6" in hover


def test_a_limit_that_only_rounds_to_the_edge_is_drawn_there_without_a_note():
    # mean 2.62, MR̄ 1: the lower limit, 2.62 - 2.66 = -0.04, reads "0.0%" anyway
    result = chart([3.12, 2.12, 3.12, 2.12], unit="percentage")
    assert traces(result.figure)["Lower process limit"]["y"] == [0] * 4
    assert result.limit_notes == []
    assert result.rows[0].lower_limit == "0.0%"


def test_a_percentage_s_upper_limit_is_drawn_at_100():
    # mean 581 / 6 = 96.83; moving ranges 3, 5, 6, 7, 6 → MR̄ 5.4; UPL 96.83 + 14.36
    result = chart([96, 99, 94, 100, 93, 99], unit="percentage")
    upper = traces(result.figure)["Upper process limit"]["y"]
    assert upper == [100.0] * 6
    assert result.rows[0].upper_limit == "100.0%"
    assert result.limit_notes == [
        "The upper process limit works out at 111.2%; a percentage cannot be above 100.0%, "
        "so it is drawn at 100.0%."
    ]


def test_points_are_coloured_and_shaped_by_point_type():
    # higher is better: a high spike is an improvement
    up = chart([*STEADY, 12]).figure
    improvement = markers(up)["special_cause_improvement"]
    assert improvement["y"] == [12]
    assert improvement["x"] == [PERIODS[len(STEADY)]]
    assert improvement["marker"]["color"] == "#289DE0"
    assert improvement["marker"]["symbol"] == "diamond"
    common = markers(up)["common_cause"]
    assert common["y"] == STEADY
    assert common["marker"]["color"] == "#757575"

    # higher is better: a low drop is a concern
    down = chart([*STEADY, -2]).figure
    concern = markers(down)["special_cause_concern"]
    assert concern["y"] == [-2]
    assert concern["marker"]["color"] == "#ED8B00"
    assert concern["marker"]["symbol"] == "square"
    assert "special_cause_improvement" not in markers(down)

    # no direction: neutral purple, triangles up and down
    neutral = chart([*STEADY, 12], improvement="neutral").figure
    high = markers(neutral)["special_cause_neutral_high"]
    assert high["marker"]["color"] == "#361475"
    assert high["marker"]["symbol"] == "triangle-up"


def test_every_point_has_the_type_xmr_gives_it():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 3, 4, 2, 9, 1, 3]
    expected = xmr(values, improvement="decrease")
    figure = chart(values, improvement="decrease").figure
    drawn = {}
    for point_type, trace in markers(figure).items():
        for x in trace["x"]:
            drawn[x] = point_type
    assert drawn == {PERIODS[p.index]: p.point_type for p in expected.points}
    assert "special_cause_concern" in drawn.values()  # a rising trend, lower is better


def test_light_marker_colours_have_outlines_with_3_to_1_contrast():
    def luminance(hex_colour):
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(colour):
        return 1.05 / (luminance(colour) + 0.05)

    for point_type, outline in charts.POINT_OUTLINES.items():
        assert contrast(outline) >= 3, point_type
    assert contrast(charts.TARGET_COLOUR) >= 3
    assert contrast(charts.INK) >= 4.5


def test_target_line_and_assurance():
    # higher is better, target far above the upper limit: consistently failing
    result = chart(STEADY, target=20)
    target = traces(result.figure)["Target"]
    assert target["y"] == [20.0] * len(STEADY)
    assert result.assurance == "consistent_fail"
    assert result.assurance_label == "Consistently failing the target"
    assert "Assurance: Consistently failing the target" in _annotations(result.figure)

    passing = chart(STEADY, target=0)
    assert passing.assurance_label == "Consistently passing the target"
    hit_and_miss = chart(STEADY, target=5)
    assert hit_and_miss.assurance == "inconsistent"

    no_target = chart(STEADY)
    assert "Target" not in traces(no_target.figure)
    assert no_target.assurance is None
    assert no_target.assurance_label == "No assurance: no target is set"
    neutral = chart(STEADY, target=5, improvement="neutral")
    assert neutral.assurance_label.startswith("No assurance: the measure has no direction")


def test_a_target_per_period_steps_and_assurance_uses_the_latest():
    targets = [10] * 8 + [0] * 8  # a phase target, then the mature one
    result = chart(STEADY, target=targets)
    assert traces(result.figure)["Target"]["y"] == [10.0] * 8 + [0.0] * 8
    assert result.assurance == "consistent_pass"
    assert [row.target for row in result.rows] == ["10"] * 8 + ["0"] * 8


def test_variation_labels_name_the_side():
    assert chart([*STEADY, -20]).variation_label == "Special cause concern — low"
    assert (
        chart([*STEADY, 30], improvement="decrease").variation_label
        == "Special cause concern — high"
    )
    assert chart([*STEADY, 30]).variation_label == "Special cause improvement — high"
    assert (
        chart([*STEADY, -20], improvement="decrease").variation_label
        == "Special cause improvement — low"
    )
    assert chart([*STEADY, -20], improvement="neutral").variation_label == (
        "Special cause variation — low"
    )
    assert chart(STEADY).variation_label.startswith("Common cause")
    assert "Variation: Special cause concern — low" in _annotations(chart([*STEADY, -20]).figure)


def test_rebase_lines_and_new_limits_after_a_rebase():
    values = STEADY + [v + 20 for v in STEADY]
    rebase = len(STEADY)
    expected = xmr(values, improvement="increase", rebase_at=[rebase])
    result = chart(values, rebase_at=[rebase])
    lines = traces(result.figure)
    assert lines["Mean"]["y"] == pytest.approx([p.mean for p in expected.points])
    assert lines["Mean"]["y"][0] == pytest.approx(5.0)
    assert lines["Mean"]["y"][-1] == pytest.approx(25.0)
    assert lines["Mean"]["line"]["shape"] == "hvh"  # steps half way, on the re-base line
    (shape,) = result.figure["layout"]["shapes"]
    assert shape["x0"] == shape["x1"] == rebase - 0.5
    assert (shape["yref"], shape["y0"], shape["y1"]) == ("paper", 0, 1)
    assert f"Re-based from {PERIODS[rebase]}" in _annotations(result.figure)
    # without the re-base, the jump is special cause
    assert chart(values).variation != "common_cause"
    assert chart(values).figure["layout"]["shapes"] == []


def test_hover_text_and_table_rows_carry_value_limits_and_type():
    values = [*STEADY, -20]
    expected = xmr(values, improvement="increase").points[-1]
    result = chart(values, unit="percentage", target=5)
    concern = markers(result.figure)["special_cause_concern"]
    (hover,) = concern["text"]
    assert "-20.0%" in hover
    assert f"limits {charts.format_value(expected.lpl, 'percentage')}" in hover
    assert "Special cause concern (outside the process limits)" in hover
    assert len(result.rows) == len(values)
    last = result.rows[-1]
    assert (last.period, last.value, last.target) == (PERIODS[len(STEADY)], "-20.0%", "5.0%")
    assert last.upper_limit == charts.format_value(expected.upl, "percentage")
    assert last.label == "Special cause concern (outside the process limits)"
    assert result.figure["layout"]["yaxis"]["ticksuffix"] == "%"
    assert "Latest -20.0%" in result.summary and "Special cause concern — low" in result.summary


def test_missing_values_and_short_series():
    result = chart([5, None, 6, 4])
    assert traces(result.figure)["Values"]["y"] == [5, None, 6, 4]
    assert result.rows[1].value == "—" and result.rows[1].label == "No value"
    assert result.warnings  # fewer than 13 points: trial limits
    single = chart([7])  # one point: no moving range, no limits
    assert single.rows[0].upper_limit == "—"
    json.dumps(single.figure, allow_nan=False)


def test_figures_are_valid_plotly_and_json():
    for result in (
        chart([*STEADY, -20], target=[4] * 17, rebase_at=[8], unit="percentage"),
        chart([3, 3, 3, 3]),  # limits undefined (every moving range screened out)
    ):
        go.Figure(result.figure)  # raises on a property Plotly does not know
        json.dumps(result.figure, allow_nan=False)
    control = charts.control_chart(
        title="Visits completed",
        periods=PERIODS[:16],
        values=STEADY,
        improvement="increase",
        target=5,
        unit="count",
    )
    assert control == chart(STEADY, target=5).figure


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        charts.kpi_chart(title="x", periods=["a"], values=[1, 2], improvement="increase")
    with pytest.raises(ValueError):
        chart(STEADY, target=[1, 2])
    with pytest.raises(ValueError):
        charts.risk_history_chart([date(2026, 1, 1)], [1, 2])


def test_period_labels_are_months_until_weeks_appear():
    monthly = [date(2026, 1, 1), date(2026, 2, 1)]
    assert charts.period_labels(monthly) == ["Jan 2026", "Feb 2026"]
    weekly_after = [*monthly, date(2026, 3, 2), date(2026, 3, 9)]
    assert charts.period_labels(weekly_after) == [
        "Jan 2026",
        "Feb 2026",
        "week of 2 Mar 2026",
        "week of 9 Mar 2026",
    ]
    # A contract that started mid-month: its first period is still a month.
    assert charts.period_labels([date(2025, 6, 9), date(2025, 7, 1), date(2025, 8, 1)]) == [
        "Jun 2025",
        "Jul 2025",
        "Aug 2025",
    ]
    # A weekly period starting on the 1st is a week like its neighbours.
    assert charts.period_labels([date(2026, 5, 25), date(2026, 6, 1), date(2026, 6, 8)]) == [
        "week of 25 May 2026",
        "week of 1 Jun 2026",
        "week of 8 Jun 2026",
    ]
    with pytest.raises(ValueError, match="unique"):
        charts.kpi_chart(title="x", periods=["a", "a"], values=[1, 2], improvement="increase")


def test_dates_are_labelled_by_month():
    result = charts.kpi_chart(
        title="x",
        periods=[date(2026, 1, 1), date(2026, 2, 1)],
        values=[1, 2],
        improvement="increase",
    )
    assert traces(result.figure)["Values"]["x"] == ["Jan 2026", "Feb 2026"]


def test_risk_history_chart():
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(4)]
    figure = charts.risk_history_chart(days, [10, 30, 55, 80])
    (line,) = figure["data"]
    assert line["x"] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert line["y"] == [10, 30, 55, 80]
    assert [t.split(" (")[-1] for t in line["text"]] == [
        "Low)",
        "Medium)",
        "High)",
        "Critical)",
    ]
    assert figure["layout"]["yaxis"]["range"] == [0, 100]
    assert figure["layout"]["xaxis"]["dtick"] == 86_400_000  # a short span ticks daily
    year = [date(2025, 1, 1) + timedelta(days=n) for n in range(365)]
    assert "dtick" not in charts.risk_history_chart(year, [40] * 365)["layout"]["xaxis"]
    bands = [(s["y0"], s["y1"]) for s in figure["layout"]["shapes"]]
    assert bands == [(0, 25), (25, 50), (50, 75), (75, 100)]
    go.Figure(figure)
    json.dumps(figure, allow_nan=False)


def _annotations(figure) -> list[str]:
    return [a["text"] for a in figure["layout"]["annotations"]]


# --- layout: what keeps a chart readable at every width (the browser tests in
# tests/browser/test_charts_layout.py look at the drawn result) -------------------------


def test_the_badges_are_stacked_one_row_each_at_the_left_so_they_never_overlap():
    layout = chart([*STEADY, 20], target=4).figure["layout"]
    badges = {a["name"]: a for a in layout["annotations"] if a.get("name", "").endswith("badge")}
    assert set(badges) == {"variation badge", "assurance badge"}
    variation, assurance = badges["variation badge"], badges["assurance badge"]
    assert variation["text"] == "Variation: Special cause improvement — high"
    assert assurance["text"].startswith("Assurance: ")
    assert (variation["x"], variation["xanchor"]) == (0, "left")
    assert (assurance["x"], assurance["xanchor"]) == (0, "left")
    assert variation["yshift"] - assurance["yshift"] >= 24  # a row of 12 px text each
    # Above the plot: the title's band and both rows, which a page that shows
    # the badges itself (charts.js, data-badges="outside") takes away again.
    assert layout["margin"]["t"] == 48 + layout["meta"]["badges_height"]
    assert layout["meta"]["badges_height"] >= 2 * 24


def test_the_legend_sits_at_the_foot_in_equal_columns_below_the_axis_title():
    layout = chart(STEADY).figure["layout"]
    legend = layout["legend"]
    # At the figure's foot, not at a fraction of the plot's height, where the
    # axis title and tick labels would print over it.
    assert (legend["yref"], legend["y"], legend["yanchor"]) == ("container", 0, "bottom")
    assert (legend["entrywidth"], legend["entrywidthmode"]) == (0.25, "fraction")
    assert layout["xaxis"]["title"]["text"] == "Period"
    assert layout["xaxis"]["automargin"] is True and layout["yaxis"]["automargin"] is True
    assert layout["xaxis"]["tickangle"] == 0
