"""The dashboard's charts read well at every width the browser tests use: the
badges do not overlap, every x tick label is whole and inside the chart, the
axis title clears the legend and no legend entry runs into the next. And the
charts are drawn as they scroll into view, each with its text alternative in
the page before it is drawn."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from oversight.models import Role
from tests.performance.test_dashboard import build_dashboard

pytestmark = pytest.mark.browser

PERIOD_LABEL = re.compile(r"[A-Z][a-z]{2} \d{4}")  # "Feb 2026", not "Feb 20"


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _inside(box: dict, outer: dict) -> bool:
    return (
        box["x"] >= outer["x"] - 0.5
        and box["y"] >= outer["y"] - 0.5
        and box["x"] + box["width"] <= outer["x"] + outer["width"] + 0.5
        and box["y"] + box["height"] <= outer["y"] + outer["height"] + 0.5
    )


def _boxes(locator) -> list[dict]:
    return [locator.nth(i).bounding_box() for i in range(locator.count())]


def _open_dashboard(page, sign_in, world, role: str, width: int):
    dashboard = build_dashboard(world.a, kpis=3, points=17)  # as many months as the demo
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, world.a.members[role].user)
    page.goto(
        reverse(
            "contract_dashboard",
            kwargs={"tenant_slug": world.a.tenant.slug, "contract_pk": dashboard.contract.pk},
        )
    )
    page.wait_for_load_state("load")
    return dashboard


def _drawn(page, panel):
    """Scroll the panel's chart into view and wait until Plotly has drawn it."""
    chart = panel.locator("[data-chart]")
    chart.scroll_into_view_if_needed()
    panel.locator("[data-chart][data-rendered='true']").wait_for()
    page.wait_for_timeout(100)  # the ticks settle after the first layout pass
    return chart


def _check_kpi_panel(page, panel, width: int) -> None:
    badges = _boxes(panel.locator(".oversight-badges .usa-tag"))
    assert len(badges) >= 2  # variation, assurance (and "Priority measure")
    for i, a in enumerate(badges):
        assert a["x"] >= 0 and a["x"] + a["width"] <= width, f"badge {i} is off screen"
        for b in badges[i + 1 :]:
            assert not _overlap(a, b), f"badges overlap at {width}px: {a} {b}"

    chart = _drawn(page, panel)
    svg = chart.locator("svg.main-svg").first.bounding_box()
    assert svg["width"] <= width
    ticks = panel.locator(".xtick text")
    labels = ticks.all_text_contents()
    assert len(labels) >= 2, labels
    assert all(PERIOD_LABEL.fullmatch(label) for label in labels), labels
    tick_boxes = _boxes(ticks)
    for box, label in zip(tick_boxes, labels, strict=True):
        assert _inside(box, svg), f"x label {label!r} is cut at {width}px: {box} not in {svg}"
    for i, a in enumerate(tick_boxes):
        for b in tick_boxes[i + 1 :]:
            assert not _overlap(a, b), f"x labels overlap at {width}px: {labels}"

    legend = panel.locator(".legend").bounding_box()
    title = panel.locator(".g-xtitle").bounding_box()
    assert _inside(legend, svg), f"the legend is cut at {width}px"
    assert not _overlap(legend, title), f"'Period' prints over the legend at {width}px"
    for tick in tick_boxes:
        assert not _overlap(legend, tick), f"the legend covers an x label at {width}px"
    entries = panel.locator(".legend .traces")
    assert entries.count() >= 5  # the point types shown, mean, limits and target
    drawn = []  # what each entry shows: its symbol and its label
    for i in range(entries.count()):
        symbol = entries.nth(i).locator(".legendsymbols").bounding_box()
        text = entries.nth(i).locator(".legendtext").bounding_box()
        left, right = (
            min(symbol["x"], text["x"]),
            max(symbol["x"] + symbol["width"], text["x"] + text["width"]),
        )
        drawn.append({"x": left, "y": text["y"], "width": right - left, "height": text["height"]})
        assert _inside(drawn[-1], svg), f"legend entry {i} is cut at {width}px"
    for i, a in enumerate(drawn):
        for b in drawn[i + 1 :]:
            # A clear gap between entries: a symbol never runs into the label before it.
            gapped = {**a, "x": a["x"] - 8, "width": a["width"] + 16}
            assert not _overlap(gapped, b), f"legend entries touch at {width}px: {a} {b}"


@pytest.mark.parametrize("width", [390, 1024, 1920])
def test_kpi_charts_read_well_for_a_commissioner(page, world, sign_in, width):
    _open_dashboard(page, sign_in, world, Role.COMMISSIONER, width)
    panels = page.locator("section[id^='kpi-']")
    assert panels.count() == 3
    for i in range(panels.count()):
        _check_kpi_panel(page, panels.nth(i), width)


def test_at_390px_a_providers_badges_do_not_overlap_and_x_labels_are_whole(page, world, sign_in):
    _open_dashboard(page, sign_in, world, Role.PROVIDER, 390)
    panels = page.locator("section[id^='kpi-']")
    assert panels.count() == 3
    for i in range(panels.count()):
        _check_kpi_panel(page, panels.nth(i), 390)


def test_the_risk_chart_labels_its_days_whole_at_390px(page, world, sign_in):
    _open_dashboard(page, sign_in, world, Role.COMMISSIONER, 390)
    section = page.locator("#risk-history")
    chart = _drawn(page, section)
    svg = chart.locator("svg.main-svg").first.bounding_box()
    labels = section.locator(".xtick text").all_text_contents()
    assert labels and all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", t) for t in labels)
    boxes = _boxes(section.locator(".xtick text"))
    assert all(_inside(box, svg) for box in boxes), boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not _overlap(a, b), labels


def test_charts_are_drawn_as_they_scroll_into_view_with_their_text_alternative_before(
    page, world, sign_in
):
    _open_dashboard(page, sign_in, world, Role.COMMISSIONER, 390)
    last = page.locator("section[id^='kpi-']").last
    # Far below the first screen: not drawn yet, but its caption and table are there.
    assert last.locator("[data-chart]").get_attribute("data-rendered") is None
    assert last.locator("svg").count() == 0
    caption = last.locator("figcaption").text_content()
    assert re.match(r"Measure number \d: 17 periods from ", caption), caption
    assert "Variation:" in caption and "Assurance:" in caption
    assert last.locator("table tbody tr").count() == 17
    box = last.locator("[data-chart]").bounding_box()
    assert box["height"] >= 400  # the chart's room is kept: the page will not jump

    _drawn(page, last)
    assert last.locator("svg.main-svg").count() >= 1
