"""Control charts as SVG for the meeting pack: a pure function from the chart
data that ``performance.exports.measure_charts`` answers to an ``<svg>``.

A small renderer of our own rather than matplotlib's SVG backend: the chart
is five kinds of line and a marker per point, the pack draws 25 of them in a
few milliseconds, the markup is the same as the dashboard's meaning (MDC
colours and shapes, so colour is never the only cue), and no 40 MB plotting
stack is loaded into the web process to print a PDF. WeasyPrint draws inline
SVG as vectors.
"""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 680, 230
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 14, 44
INK = "#1b1b1b"
GRID = "#dfe1e2"
COLOURS = {
    "common_cause": ("#565c65", "#3d4551"),
    "special_cause_improvement": ("#2378c3", "#005ea2"),
    "special_cause_concern": ("#e66f0e", "#8c3d10"),
    "special_cause_neutral_high": ("#6c4ab0", "#40276b"),
    "special_cause_neutral_low": ("#6c4ab0", "#40276b"),
}
LABELS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Improvement",
    "special_cause_concern": "Concern",
    "special_cause_neutral_high": "Special cause, high",
    "special_cause_neutral_low": "Special cause, low",
}


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / max(ticks, 1)
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _tick_text(value: float, step: float) -> str:
    """A tick at a round number, with as many decimals as the step has (1, 2
    or 5 times a power of ten)."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    text = f"{value:,.{decimals}f}"
    return "0" if text in ("-0", "-0.0", "-0.00") else text


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _path(points: list[tuple[float, float] | None]) -> str:
    """A polyline broken where a point is missing."""
    parts, pen = [], False
    for p in points:
        if p is None:
            pen = False
            continue
        parts.append(("L" if pen else "M") + f"{_fmt(p[0])},{_fmt(p[1])}")
        pen = True
    return " ".join(parts)


def _steps(xs: list[float], ys: list[float | None], step: float) -> str:
    """A line stepping half way between points (limits, mean, target)."""
    parts, pen = [], False
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            pen = False
            continue
        a, b = x - step / 2, x + step / 2
        parts.append(("L" if pen else "M") + f"{_fmt(a)},{_fmt(y)} L{_fmt(b)},{_fmt(y)}")
        pen = True
    return " ".join(parts)


def _marker(kind: str, x: float, y: float) -> str:
    fill, stroke = COLOURS.get(kind, COLOURS["common_cause"])
    if kind == "common_cause":
        return f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="3.5" fill="{fill}" stroke="{stroke}"/>'
    if kind == "special_cause_concern":  # a triangle pointing up
        d = (
            f"M{_fmt(x)},{_fmt(y - 6)} L{_fmt(x + 5.5)},{_fmt(y + 4)} "
            f"L{_fmt(x - 5.5)},{_fmt(y + 4)} Z"
        )
        return f'<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
    # improvement and neutral special causes: a square
    return (
        f'<rect x="{_fmt(x - 4.5)}" y="{_fmt(y - 4.5)}" width="9" height="9" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
    )


def control_chart(chart: dict, *, width: int = WIDTH, height: int = HEIGHT) -> str:
    """``chart`` is one entry of ``measure_charts`` (name, unit, points with
    period, value, mean, lpl, upl, target, point_type). An empty series is a
    short sentence, not an empty axis."""
    points = chart.get("points") or []
    title = escape(chart.get("name", ""))
    if not points:
        return f'<p class="pack-chart-empty">{title}: no accepted values yet.</p>'
    numbers = [
        v
        for p in points
        for v in (p.get("value"), p.get("lpl"), p.get("upl"), p.get("target"), p.get("mean"))
        if v is not None
    ]
    low, high = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
    if high == low:
        low, high = low - 1, high + 1
    step = _nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    n = len(points)
    band = plot_w / n

    def sx(i: int) -> float:
        return LEFT + band * (i + 0.5)

    def sy(v: float | None) -> float | None:
        return None if v is None else TOP + plot_h * (1 - (v - low) / (high - low))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto" '
        f'role="img" aria-label="Control chart: {title}" '
        'class="pack-chart" font-family="Source Sans Pro, Helvetica, Arial, sans-serif" '
        'font-size="11">',
        f"<title>Control chart: {title}</title>",
    ]
    # the value axis: gridlines and labels at round numbers
    ticks, value = [], low
    while value <= high + step / 1000:
        ticks.append(value)
        value += step
    for t in ticks:
        y = sy(t)
        out.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end" fill="{INK}">'
            f"{_tick_text(t, step)}</text>"
        )
    # the period axis: at most eight labels, the last always shown
    every = max(1, math.ceil(n / 8))
    for i, p in enumerate(points):
        if i % every and i != n - 1:
            continue
        if i != n - 1 and n - 1 - i < every:
            continue  # would crowd the last label
        out.append(
            f'<text x="{_fmt(sx(i))}" y="{height - BOTTOM + 16}" text-anchor="middle" '
            f'fill="{INK}">{escape(str(p.get("period", "")))}</text>'
        )
    out.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{height - BOTTOM}" y2="{height - BOTTOM}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    xs = [sx(i) for i in range(n)]

    def line(key: str, **style) -> None:
        ys = [sy(p.get(key)) for p in points]
        if all(y is None for y in ys):
            return
        attrs = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in style.items())
        out.append(f'<path d="{_steps(xs, ys, band)}" fill="none" {attrs}/>')

    # a re-base (a variation, a new model of delivery): the limits start again
    index = {str(p.get("period")): i for i, p in enumerate(points)}
    for rebase in chart.get("rebases") or []:
        i = index.get(str(rebase.get("period")))
        if not i:
            continue
        x = LEFT + band * i
        out.append(
            f'<line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{TOP}" y2="{height - BOTTOM}" '
            'stroke="#1a4480" stroke-width="1.5" stroke-dasharray="2 3"/>'
        )
        out.append(f'<text x="{_fmt(x + 3)}" y="{TOP + 10}" fill="#1a4480">Re-based</text>')
    line("lpl", stroke="#565c65", stroke_width="1.5", stroke_dasharray="5 3")
    line("upl", stroke="#565c65", stroke_width="1.5", stroke_dasharray="5 3")
    line("mean", stroke=INK, stroke_width="1.5")
    line("target", stroke="#c05600", stroke_width="1.5", stroke_dasharray="1.5 2.5")
    values = [
        None if p.get("value") is None else (xs[i], sy(p["value"])) for i, p in enumerate(points)
    ]
    out.append(f'<path d="{_path(values)}" fill="none" stroke="#565c65" stroke-width="1.5"/>')
    for i, p in enumerate(points):
        if p.get("value") is not None:
            out.append(_marker(p.get("point_type", "common_cause"), xs[i], sy(p["value"])))
    # the legend, under the axis labels
    legend = [
        ("Mean", f'<line x1="0" x2="18" y1="0" y2="0" stroke="{INK}" stroke-width="1.5"/>'),
        (
            "Process limits",
            '<line x1="0" x2="18" y1="0" y2="0" stroke="#565c65" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>',
        ),
    ]
    if any(p.get("target") is not None for p in points):
        legend.append(
            (
                "Target",
                '<line x1="0" x2="18" y1="0" y2="0" stroke="#c05600" stroke-width="1.5" '
                'stroke-dasharray="1.5 2.5"/>',
            )
        )
    kinds = []
    for p in points:
        kind = p.get("point_type", "common_cause")
        if p.get("value") is not None and kind not in kinds:
            kinds.append(kind)
    for kind in kinds:
        legend.append((LABELS.get(kind, kind), _marker(kind, 9, 0)))
    x = LEFT
    for label, sample in legend:
        out.append(
            f'<g transform="translate({x},{height - 10})">{sample}'
            f'<text x="24" y="4" fill="{INK}">{escape(label)}</text></g>'
        )
        x += 30 + 6.2 * len(label)
    out.append("</svg>")
    return "".join(out)
