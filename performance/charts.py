"""Pure figures for the performance pages: no ORM, no request.

``rag`` says whether a value met its target, fell within the amber tolerance
or missed; ``timeliness`` turns each provider's recent due periods into the
share of returns sent on time. ``kpi_chart`` / ``control_chart`` draw a
KPI's XmR control chart the "Making Data Count" way (from ``spc.xmr``) and
``risk_history_chart`` a contract's risk score over time, as Plotly figures
(plain dicts). All take plain values so they are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from oversight import formatting

from . import signal_rules
from .signal_rules import BANDS, MAX_SCORE
from .spc import xmr

TIMELINESS_PERIODS = 12  # a provider's timeliness is judged on its last 12 due periods

MET, AMBER, MISSED, NO_TARGET, MONITORED = "met", "amber", "missed", "no_target", "monitored"

RAG_LABELS = {
    MET: "Met",
    AMBER: "Amber",
    MISSED: "Missed",
    NO_TARGET: "No target",
    MONITORED: "Monitored",
}
# USWDS utility classes: light backgrounds keep dark text at AA contrast; the
# label text carries the meaning, colour only repeats it.
RAG_CLASSES = {
    MET: "bg-success-lighter",
    AMBER: "bg-warning-lighter",
    MISSED: "bg-error-lighter",
    NO_TARGET: "",
    MONITORED: "",
}


def rag(direction: str, value: Decimal, target: Decimal | None, amber: Decimal | None) -> str:
    """Met, amber or missed against the target in force.

    Higher is better: at or above target is met; short of it by no more than
    the amber tolerance is amber; further short is missed. Lower is better
    mirrors that. A KPI with no direction is monitored, not judged."""
    if direction not in ("higher", "lower"):
        return MONITORED
    if target is None:
        return NO_TARGET
    amber = amber or Decimal(0)
    shortfall = (target - value) if direction == "higher" else (value - target)
    if shortfall <= 0:
        return MET
    if shortfall <= amber:
        return AMBER
    return MISSED


@dataclass(frozen=True)
class DuePeriod:
    """One period that has fallen due, as the timeliness figure needs it."""

    provider_id: int
    provider_name: str
    due_date: date
    first_submitted_on: date | None  # the day the first version was submitted


@dataclass(frozen=True)
class Timeliness:
    provider_id: int
    provider_name: str
    periods: int
    on_time: int
    late: int
    not_received: int

    @property
    def share_on_time(self) -> float | None:
        return self.on_time / self.periods if self.periods else None

    @property
    def percent_on_time(self) -> str:
        share = self.share_on_time
        return formatting.number(None if share is None else share * 100, "percentage")


def timeliness(periods: list[DuePeriod], *, last: int = TIMELINESS_PERIODS) -> list[Timeliness]:
    """Per provider, over its ``last`` most recent due periods: how many
    returns were first submitted on or before the due date, how many after,
    and how many never arrived. Providers sorted by name."""
    by_provider: dict[int, list[DuePeriod]] = {}
    for period in periods:
        by_provider.setdefault(period.provider_id, []).append(period)
    results = []
    for provider_id, rows in by_provider.items():
        recent = sorted(rows, key=lambda p: p.due_date, reverse=True)[:last]
        on_time = sum(
            1 for p in recent if p.first_submitted_on and p.first_submitted_on <= p.due_date
        )
        not_received = sum(1 for p in recent if p.first_submitted_on is None)
        results.append(
            Timeliness(
                provider_id=provider_id,
                provider_name=recent[0].provider_name,
                periods=len(recent),
                on_time=on_time,
                late=len(recent) - on_time - not_received,
                not_received=not_received,
            )
        )
    return sorted(results, key=lambda t: t.provider_name.lower())


# --- control charts (NHS England "Making Data Count") ---------------------------------
#
# ``kpi_chart`` runs ``spc.xmr`` once and returns everything a dashboard panel
# needs: the Plotly figure (a plain dict, rendered by Plotly.js from a JSON
# script tag), the points as table rows (the chart's text alternative) and the
# variation and assurance icons as words. ``control_chart`` is the figure alone.

IMPROVEMENT = {"higher": "increase", "lower": "decrease", "none": "neutral"}

# MDC colours. Orange and blue are light on white, so markers carry a darker
# outline of the same hue (at least 3:1 against white, WCAG 1.4.11) and a shape
# per point type, so that colour is never the only cue.
POINT_COLOURS = {
    "common_cause": "#757575",
    "special_cause_improvement": "#289DE0",
    "special_cause_concern": "#ED8B00",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
}
POINT_OUTLINES = {
    "common_cause": "#757575",
    "special_cause_improvement": "#00629B",
    "special_cause_concern": "#9B4D00",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
}
POINT_SYMBOLS = {
    "common_cause": "circle",
    "special_cause_improvement": "diamond",
    "special_cause_concern": "square",
    "special_cause_neutral_high": "triangle-up",
    "special_cause_neutral_low": "triangle-down",
}
POINT_LABELS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause improvement",
    "special_cause_concern": "Special cause concern",
    "special_cause_neutral_high": "Special cause, high",
    "special_cause_neutral_low": "Special cause, low",
}
RULE_LABELS = {
    "outside_limits": "outside the process limits",
    "trend": "in a run of 7 rising or falling",
    "two_of_three": "two of three close to a limit",
    "run": "in a run of 7 on one side of the mean",
}
# Text badges: white text on USWDS shades of the MDC hues (all at least 4.5:1).
VARIATION_CLASSES = {
    "common_cause": "bg-base-dark",
    "special_cause_improvement": "bg-primary",
    "special_cause_concern": "bg-accent-warm-dark",
    "special_cause_neutral_high": "bg-violet",
    "special_cause_neutral_low": "bg-violet",
}
ASSURANCE_LABELS = {
    "consistent_pass": "Consistently passing the target",
    "consistent_fail": "Consistently failing the target",
    "inconsistent": "Hit and miss: the target lies within the process limits",
}
ASSURANCE_CLASSES = {
    "consistent_pass": "bg-primary",
    "consistent_fail": "bg-accent-warm-dark",
    "inconsistent": "bg-base-dark",
    None: "bg-base-dark",
}
UNIT_NOUNS = {
    "percentage": "percentage",
    "count": "count",
    "rate_per_1000": "rate",
    "days": "number of days",
    "currency": "amount",
}
UNIT_TITLES = {
    "percentage": "Per cent",
    "count": "Count",
    "rate_per_1000": "Rate per 1,000",
    "days": "Days",
    "currency": "Amount",
}

# Layout, in px: the title's band at the top of a figure and, below it in a
# control chart, the two badges (one row each).
TITLE_SPACE = 48
BADGE_ROW = 26
BADGES_HEIGHT = 2 * BADGE_ROW + 8

INK = "#1b1b1b"
TARGET_COLOUR = "#B50909"
FONT = "Source Sans Pro Web, Helvetica Neue, Helvetica, Roboto, Arial, sans-serif"


def variation_label(variation: str, improvement: str) -> str:
    """The MDC variation icon in words, e.g. "Special cause concern — high"."""
    if variation == "common_cause":
        return "Common cause variation — no significant change"
    if variation == "special_cause_neutral_high":
        return "Special cause variation — high"
    if variation == "special_cause_neutral_low":
        return "Special cause variation — low"
    improving = variation == "special_cause_improvement"
    # Higher is better: an improvement is high and a concern low; and the reverse.
    high = improving == (improvement == "increase")
    kind = "improvement" if improving else "concern"
    return f"Special cause {kind} — {'high' if high else 'low'}"


def assurance_label(assurance: str | None, *, improvement: str, target: float | None) -> str:
    if assurance is not None:
        return ASSURANCE_LABELS[assurance]
    if improvement == "neutral":
        return "No assurance: the measure has no direction of improvement"
    return "No assurance: no target is set"


def format_value(value: float | None, unit: str = "") -> str:
    """A value to its unit's precision (``oversight.formatting.number``)."""
    return formatting.number(value, unit)


def format_limit(value: float | None, unit: str = "") -> str:
    """A process limit as shown: inside what the unit can be (no negative count)."""
    return formatting.limit(value, unit)


def format_statistic(value: float | None, unit: str = "") -> str:
    """A mean: at least one decimal (a count's mean of 2.3 is not a count)."""
    return formatting.statistic(value, unit)


def _differs(raw, shown, unit: str) -> bool:
    return formatting.statistic(raw, unit) != formatting.statistic(shown, unit)


def _shown_limits(points, unit: str) -> tuple[list, list, list[str]]:
    """The limit lines as drawn, clipped to the unit, and a note per limit
    that was clipped. ``spc.xmr`` keeps the raw limits: only the drawing and
    the words change."""
    lower, upper = [], []
    clipped_low = clipped_high = None
    for p in points:
        low, was_low = formatting.clip_to_unit(p.lpl, unit)
        high, was_high = formatting.clip_to_unit(p.upl, unit)
        lower.append(low)
        upper.append(high)
        # A limit that only rounds to the edge (-0.04 for 0.0%) needs no note.
        if was_low and clipped_low is None and _differs(p.lpl, low, unit):
            clipped_low = (p.lpl, low)
        if was_high and clipped_high is None and _differs(p.upl, high, unit):
            clipped_high = (p.upl, high)
    noun = UNIT_NOUNS.get(unit, "value")
    notes = []
    if clipped_low is not None:
        raw, shown = clipped_low
        notes.append(
            f"The lower process limit works out at {formatting.statistic(raw, unit)}; "
            f"a {noun} cannot be below {formatting.number(shown, unit)}, "
            f"so it is drawn at {formatting.number(shown, unit)}."
        )
    if clipped_high is not None:
        raw, shown = clipped_high
        notes.append(
            f"The upper process limit works out at {formatting.statistic(raw, unit)}; "
            f"a {noun} cannot be above {formatting.number(shown, unit)}, "
            f"so it is drawn at {formatting.number(shown, unit)}."
        )
    return lower, upper, notes


@dataclass(frozen=True)
class ChartRow:
    """One point of a control chart, as its data table shows it."""

    period: str
    value: str
    mean: str
    lower_limit: str
    upper_limit: str
    target: str
    point_type: str
    label: str  # "Special cause concern (outside the process limits)"


@dataclass(frozen=True)
class KpiChart:
    title: str
    figure: dict
    rows: list[ChartRow]
    variation: str
    variation_label: str
    variation_class: str
    assurance: str | None
    assurance_label: str
    assurance_class: str
    warnings: list[str]
    summary: str  # one sentence: the chart's short text alternative
    limit_notes: list[str] = ()  # a limit drawn clipped to what the unit can be


def _targets(target, n: int) -> list[float | None]:
    """A target per point: one number for all, or one per period (phase targets)."""
    if target is None or isinstance(target, int | float | Decimal):
        value = None if target is None else float(target)
        return [value] * n
    targets = [None if t is None else float(t) for t in target]
    if len(targets) != n:
        raise ValueError(f"{len(targets)} targets for {n} periods")
    return targets


def _step(name: str, x: list[str], y: list, line: dict, *, legend: bool = True) -> dict:
    # "hvh" steps half way between points, where a re-base line is drawn.
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": {**line, "shape": "hvh"},
        "hoverinfo": "skip",
        "showlegend": legend,
    }


def kpi_chart(
    *,
    title: str,
    periods: list,
    values: list,
    improvement: str,
    target=None,
    rebase_at=(),
    unit: str = "",
    rebase_notes: dict[int, str] | None = None,
) -> KpiChart:
    """An XmR control chart of one KPI series, with its data table and icons.

    ``periods`` are the x labels (strings or dates), ``values`` the series in
    time order, ``target`` a number, a list with one target per period (the
    one in force then) or None; assurance is judged against the latest
    target. ``rebase_at`` holds positions where the limits were re-based, and
    ``rebase_notes`` what caused each (position → "Variation VAR-2026-002")."""
    if len(periods) != len(values):
        raise ValueError(f"{len(periods)} periods for {len(values)} values")
    targets = _targets(target, len(values))
    latest_target = next((t for t in reversed(targets) if t is not None), None)
    result = xmr(
        [None if v is None else float(v) for v in values],
        improvement=improvement,
        target=latest_target,
        rebase_at=rebase_at,
    )
    x = [p if isinstance(p, str) else period_label(p) for p in periods]
    if len(set(x)) != len(x):
        raise ValueError("period labels must be unique: the x axis would merge their points")
    points = result.points
    lower_shown, upper_shown, limit_notes = _shown_limits(points, unit)
    hover = [
        f"<b>{x[i]}</b>: {format_value(p.value, unit)}<br>"
        f"Mean {format_statistic(p.mean, unit)}; limits {format_limit(p.lpl, unit)} to "
        f"{format_limit(p.upl, unit)}"
        + (f"; target {format_value(targets[i], unit)}" if targets[i] is not None else "")
        + f"<br>{_point_words(p)}"
        for i, p in enumerate(points)
    ]

    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Values",
            "x": x,
            "y": [p.value for p in points],
            "line": {"color": POINT_COLOURS["common_cause"], "width": 1.5},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]
    for point_type in POINT_COLOURS:
        index = [
            i for i, p in enumerate(points) if p.point_type == point_type and p.value is not None
        ]
        if not index:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": POINT_LABELS[point_type],
                "meta": point_type,
                "x": [x[i] for i in index],
                "y": [points[i].value for i in index],
                "text": [hover[i] for i in index],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "color": POINT_COLOURS[point_type],
                    "symbol": POINT_SYMBOLS[point_type],
                    "size": 9 if point_type == "common_cause" else 11,
                    "line": {"color": POINT_OUTLINES[point_type], "width": 1.5},
                },
            }
        )
    data.append(_step("Mean", x, [p.mean for p in points], {"color": INK, "width": 1.5}))
    limit_line = {"color": "#565c65", "width": 1.5, "dash": "dash"}
    data.append(_step("Upper process limit", x, upper_shown, limit_line))
    data.append(_step("Lower process limit", x, lower_shown, limit_line))
    if latest_target is not None:
        data.append(
            _step("Target", x, targets, {"color": TARGET_COLOUR, "width": 2, "dash": "dot"})
        )

    shapes, annotations = [], []
    for group in result.groups[1:]:
        position = group.start - 0.5  # between the last point before and the first after
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": position,
                "x1": position,
                "y0": 0,
                "y1": 1,
                "line": {"color": INK, "width": 1, "dash": "dashdot"},
            }
        )
        annotations.append(
            {
                "xref": "x",
                "yref": "paper",
                "x": position,
                "y": 1,
                "yanchor": "bottom",
                "text": f"Re-based from {x[group.start]}"
                + (f": {rebase_notes[group.start]}" if group.start in (rebase_notes or {}) else ""),
                "showarrow": False,
                "font": {"size": 11, "color": INK},
            }
        )

    v_label = variation_label(result.variation, result.improvement)
    a_label = assurance_label(
        result.assurance, improvement=result.improvement, target=latest_target
    )
    # The badges are stacked at the left above the plot, so that they never
    # overlap each other whatever the width; a page that shows them in HTML
    # leaves them out (static/oversight/charts.js, data-badges="outside").
    for shift, name, prefix, label, colour in (
        (BADGE_ROW + 4, "variation badge", "Variation", v_label, POINT_OUTLINES[result.variation]),
        (4, "assurance badge", "Assurance", a_label, _assurance_colour(result.assurance)),
    ):
        annotations.append(
            {
                "name": name,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "xanchor": "left",
                "y": 1,
                "yshift": shift,
                "yanchor": "bottom",
                "text": f"{prefix}: {label}",
                "showarrow": False,
                "font": {"size": 12, "color": INK},
                "bgcolor": "#ffffff",
                "bordercolor": colour,
                "borderwidth": 2,
                "borderpad": 3,
            }
        )

    figure = {
        "data": data,
        "layout": {
            "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
            "xaxis": {
                "type": "category",
                "title": {"text": "Period", "standoff": 8},
                "automargin": True,
                "nticks": 12,  # charts.js fits the ticks to the width drawn at
                "tickangle": 0,
            },
            "yaxis": {
                "title": {"text": UNIT_TITLES.get(unit, "")},
                "ticksuffix": "%" if unit == "percentage" else "",
                # Grouped thousands, no trailing zeros: 1,200 and 92.5, never 92.5000.
                "tickformat": ",~f",
                # A count or a percentage is never below 0: the axis does not go there.
                **({"rangemode": "nonnegative"} if unit in formatting.UNIT_BOUNDS else {}),
                "automargin": True,
                "zeroline": False,
            },
            "shapes": shapes,
            "annotations": annotations,
            # The legend sits at the foot of the figure, below the axis title
            # (Plotly makes room for both), four entries a row in equal columns
            # so that a line's symbol never runs into the label before it.
            "legend": {
                "orientation": "h",
                "yref": "container",
                "y": 0,
                "yanchor": "bottom",
                "x": 0,
                "xanchor": "left",
                "entrywidth": 0.25,
                "entrywidthmode": "fraction",
            },
            "margin": {"t": TITLE_SPACE + BADGES_HEIGHT, "r": 16, "b": 16, "l": 16},
            "height": 440,
            "hovermode": "closest",
            "font": {"family": FONT, "color": INK},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "meta": {
                "variation": result.variation,
                "variation_label": v_label,
                "assurance": result.assurance,
                "assurance_label": a_label,
                "badges_height": BADGES_HEIGHT,
            },
        },
    }

    rows = [
        ChartRow(
            period=x[i],
            value=format_value(p.value, unit),
            mean=format_statistic(p.mean, unit),
            lower_limit=format_limit(p.lpl, unit),
            upper_limit=format_limit(p.upl, unit),
            target=format_value(targets[i], unit),
            point_type=p.point_type,
            label=_point_words(p),
        )
        for i, p in enumerate(points)
    ]
    last = points[-1]
    summary = (
        f"{title}: {len(points)} period{'s' if len(points) != 1 else ''} from {x[0]} to {x[-1]}. "
        f"Latest {format_value(last.value, unit)} against a mean of "
        f"{format_statistic(last.mean, unit)} (process limits {format_limit(last.lpl, unit)} to "
        f"{format_limit(last.upl, unit)})"
        + (f", target {format_value(latest_target, unit)}" if latest_target is not None else "")
        + f". Variation: {v_label}. Assurance: {a_label}."
        + "".join(f" {note}" for note in limit_notes)
    )
    return KpiChart(
        title=title,
        figure=figure,
        rows=rows,
        variation=result.variation,
        variation_label=v_label,
        variation_class=VARIATION_CLASSES[result.variation],
        assurance=result.assurance,
        assurance_label=a_label,
        assurance_class=ASSURANCE_CLASSES[result.assurance],
        warnings=list(result.warnings),
        summary=summary,
        limit_notes=limit_notes,
    )


def control_chart(
    *,
    title: str,
    periods: list,
    values: list,
    improvement: str,
    target=None,
    rebase_at=(),
    unit: str = "",
) -> dict:
    """The Plotly figure (a dict) of an XmR control chart; see ``kpi_chart``."""
    return kpi_chart(
        title=title,
        periods=periods,
        values=values,
        improvement=improvement,
        target=target,
        rebase_at=rebase_at,
        unit=unit,
    ).figure


def rebases_at(starts: list, rebases: Iterable) -> tuple[list[int], dict[int, str]]:
    """Where the limits of a series with period ``starts`` (dates, in order)
    start again: each re-base (``starts_on``, ``source_label``) falls on the
    first period starting on or after its day. Positions (past the first
    point, where a re-base changes nothing) and what caused each."""
    positions: dict[int, str] = {}
    for starts_on, label in sorted(rebases):
        at = next((i for i, start in enumerate(starts) if start >= starts_on), None)
        if at:
            positions[at] = "; ".join(filter(None, [positions.get(at), label]))
    return sorted(positions), positions


def period_label(value) -> str:
    return formatting.period_label(value) if isinstance(value, date) else str(value)


def period_labels(starts: list[date]) -> list[str]:
    """Month and week labels ("Mar 2026", "week of 2 Mar 2026"): see
    ``formatting.period_labels``."""
    return formatting.period_labels(starts)


def _point_words(point) -> str:
    words = POINT_LABELS[point.point_type]
    if point.value is None:
        return "No value"
    if point.rule:
        words += f" ({RULE_LABELS[point.rule]})"
    return words


def _assurance_colour(assurance: str | None) -> str:
    return {
        "consistent_pass": POINT_OUTLINES["special_cause_improvement"],
        "consistent_fail": POINT_OUTLINES["special_cause_concern"],
    }.get(assurance or "", POINT_OUTLINES["common_cause"])


# --- risk score history -------------------------------------------------------------

# The bands of ``signal_rules.BANDS`` as (floor, ceiling, label, background),
# shaded lightly so that the line and its labels keep AA contrast on top of them.
BAND_SHADES = {"low": "#ecf3ec", "medium": "#faf3d1", "high": "#f2e4d4", "critical": "#f4e3db"}
RISK_BANDS = [
    (floor, ceiling, name.capitalize(), BAND_SHADES[name])
    for (floor, name), ceiling in zip(
        BANDS, [floor for floor, _ in BANDS[1:]] + [MAX_SCORE], strict=True
    )
]
RISK_CLASSES = {
    "low": "bg-base-dark",
    "medium": "bg-warning-darker",
    "high": "bg-accent-warm-dark",
    "critical": "bg-error-dark",
}
SEVERITY_CLASSES = {
    "info": "bg-primary",
    "low": "bg-base-dark",
    "medium": "bg-warning-darker",
    "high": "bg-accent-warm-dark",
    "critical": "bg-error-dark",
}


def risk_band(score: float) -> str:
    """The band a risk score falls in, as the chart labels it ("Low")."""
    return signal_rules.risk_band(score).capitalize()


DAY_MS = 86_400_000


def _day_axis(days: list) -> dict:
    """A date axis labelled in days: Plotly would tick every 12 hours over a
    short span, so up to a fortnight ticks once a day."""
    axis = {
        "type": "date",
        "title": {"text": "Day"},
        "tickformat": "%-d %b %Y",
        "hoverformat": "%-d %b %Y",
        "automargin": True,
    }
    dated = [d for d in days if isinstance(d, date)]
    if dated and (max(dated) - min(dated)).days <= 14:
        axis["dtick"] = DAY_MS
    return axis


def risk_history_chart(days: list[date], scores: list[int], *, title: str = "Risk score") -> dict:
    """A contract's daily risk score (0–100) over the band it fell in."""
    if len(days) != len(scores):
        raise ValueError(f"{len(days)} days for {len(scores)} scores")
    x = [d.isoformat() if isinstance(d, date) else str(d) for d in days]
    text = [
        f"<b>{formatting.date(d)}</b>: {s} ({risk_band(s)})"
        if isinstance(d, date)
        else f"<b>{d}</b>: {s} ({risk_band(s)})"
        for d, s in zip(days, scores, strict=True)
    ]
    shapes = [
        {
            "type": "rect",
            "xref": "paper",
            "yref": "y",
            "x0": 0,
            "x1": 1,
            "y0": low,
            "y1": high,
            "fillcolor": colour,
            "line": {"width": 0},
            "layer": "below",
        }
        for low, high, _, colour in RISK_BANDS
    ]
    annotations = [
        {
            "xref": "paper",
            "yref": "y",
            "x": 1,
            "xanchor": "right",
            "y": (low + high) / 2,
            "text": name,
            "showarrow": False,
            "font": {"size": 11, "color": INK},
        }
        for low, high, name, _ in RISK_BANDS
    ]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Risk score",
                "x": x,
                "y": list(scores),
                "text": text,
                "hovertemplate": "%{text}<extra></extra>",
                "line": {"color": "#1a4480", "width": 2},
                "marker": {"color": "#1a4480", "size": 6},
            }
        ],
        "layout": {
            "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
            "xaxis": _day_axis(days),
            "yaxis": {"range": [0, 100], "title": {"text": "Score (0–100)"}, "automargin": True},
            "shapes": shapes,
            "annotations": annotations,
            "showlegend": False,
            "margin": {"t": TITLE_SPACE, "r": 16, "b": 16, "l": 16},
            "height": 300,
            "hovermode": "closest",
            "font": {"family": FONT, "color": INK},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
        },
    }
