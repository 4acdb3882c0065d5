"""What the returns pages show, built from what the selectors read.

Pure functions: they take rows already loaded (``selectors.values_grid``,
``selectors.due_periods_latest``) and plain values, and answer the rows a
template shows. No query, no request, so a page's query count is its
selectors' and each rule here is tested without a client.
"""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.utils import timezone

from oversight import formatting

from . import charts
from .calendar import DUE, period_state
from .models import ReportingPeriod, ReturnStatus
from .selectors import DueRow, ValuesGrid
from .terms import target_in_force


def not_received(period: ReportingPeriod, today: date) -> str:
    """Why a period has no value yet, in the words of the returns pages."""
    if period.end >= today:
        return "Still running"
    state = period_state(
        due_date=period.due_date,
        missing_after=period.missing_after,
        latest_status=None,
        today=today,
    )
    return "Not yet due" if state == DUE else "No return"


def values_lines(grid: ValuesGrid, *, periods: list[ReportingPeriod], today: date) -> list[dict]:
    """The values-against-target table: a line per KPI (per site for a
    site-level KPI), a cell per period in ``periods`` order, each saying met /
    amber / missed against the target in force at the period's start, or why
    there is no value."""
    lines = []
    for ck in grid.contract_kpis:
        for site in grid.sites if ck.kpi.reporting_level == "site" else [None]:
            cells = []
            for period in periods:
                ret = grid.live.get(period.pk)
                value = grid.values.get((period.pk, ck.pk, site.pk if site else None))
                if ret is None:
                    cells.append({"text": "—", "label": not_received(period, today), "css": ""})
                elif ret.no_activity:
                    cells.append({"text": "—", "label": "No activity", "css": ""})
                elif value is None:
                    cells.append({"text": "—", "label": "Not reported", "css": ""})
                else:
                    target, amber = target_in_force(ck, period.start)
                    status = charts.rag(ck.kpi.direction, value.value, target, amber)
                    cells.append(
                        {
                            "text": formatting.number(value.value, ck.kpi.unit),
                            "label": charts.RAG_LABELS[status],
                            "css": charts.RAG_CLASSES[status],
                            "target": (
                                formatting.number(target, ck.kpi.unit) if target is not None else ""
                            ),
                            "provisional": ret.status == ReturnStatus.SUBMITTED,
                            "explained": bool(value.variance_explanation),
                        }
                    )
            lines.append({"ck": ck, "site": site, "cells": cells})
    return lines


def timeliness_rows(due: list[DueRow], *, time_zone: str) -> list[charts.Timeliness]:
    """Each provider's share of returns first submitted on or before the due
    date, a submission dated by the day it was on the tenant's calendar."""
    zone = zoneinfo.ZoneInfo(time_zone)
    return charts.timeliness(
        [
            charts.DuePeriod(
                provider_id=row.provider_id,
                provider_name=row.provider_name,
                due_date=row.due_date,
                first_submitted_on=(
                    timezone.localtime(row.first_submitted_at, zone).date()
                    if row.first_submitted_at
                    else None
                ),
            )
            for row in due
        ]
    )
