"""The meeting pack: what a meeting is shown, as a page and a PDF.

``pack_data`` gathers it, through the other apps' exports (performance's
charts, narratives, signals and timeliness; escalation's level, history,
plan actions and concerns; variations' ``variations_in_progress``) and this
app's selectors, into plain text and numbers; ``pack_build`` renders the
page's HTML (charts as inline SVG, reviews/svg.py) and the printed PDF
(WeasyPrint: a cover, a contents list with page numbers, one section per
agenda part, the tenant's name and the meeting's date on every page).
Until the meeting starts the pack is built afresh each time it is asked
for; ``services.meeting_start`` freezes it (``MeetingPack``), and from then
on ``pack_for`` answers the frozen copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.template.loader import render_to_string

from contracts.models import Contract, ContractStatus
from escalation import exports as escalation_exports
from oversight import clock, formatting
from performance import exports as performance_exports
from variations import exports as variations_exports

from . import selectors
from .models import AgendaPart, Meeting, MeetingPack, RoadmapStatus, RoadmapTopic
from .svg import control_chart

SECTIONS = [
    ("part-1", "1. Follow-up of actions"),
    ("part-2", "2. Progress on the priority measures"),
    ("part-3", "3. Deep dive"),
]


def plan_actions(*, membership, contract, today: date) -> list[dict]:
    return escalation_exports.plan_actions_open(
        membership=membership, contract_ids=[contract.pk], today=today
    )


def _day(value) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return formatting.date(value)


def _portfolio_rows(membership, meeting: Meeting) -> list[dict]:
    contracts = list(
        Contract.objects.filter(tenant_id=meeting.tenant_id, status=ContractStatus.ACTIVE)
        .select_related("provider")
        .order_by("reference")
    )
    bands = performance_exports.latest_risk_bands(
        tenant_id=meeting.tenant_id, contract_ids=[c.pk for c in contracts]
    )
    rows = []
    for contract in contracts:
        level = escalation_exports.escalation_summary(membership=membership, contract=contract)
        rows.append(
            {
                "reference": contract.reference,
                "title": contract.title,
                "provider": contract.provider.name,
                "band": (bands.get(contract.pk) or "not scored").capitalize(),
                "level": level["level"],
                "stage": level["stage"],
            }
        )
    order = {"Critical": 0, "High": 1, "Medium": 2, "Low": 3}
    return sorted(rows, key=lambda r: (order.get(r["band"], 4), -r["level"], r["reference"]))


def pack_data(*, membership, meeting: Meeting, as_at: datetime | None = None) -> dict:
    """Everything the pack shows, as plain text and numbers (JSON-ready)."""
    tenant = meeting.tenant
    zone = clock.tenant_zone(tenant)
    today = clock.tenant_today(tenant)
    contract = meeting.contract
    from .services import since_last

    since = since_last(meeting)
    previous = selectors.previous_meeting(meeting=meeting)
    agenda = {part: [] for part in AgendaPart.values}
    for item in meeting.agenda_items.all():
        agenda[item.part].append({"title": item.title, "notes": item.notes})
    carried = [
        {
            "description": a.description,
            "owner": str(a.owner.user),
            "due_on": _day(a.due_on),
            "overdue": a.due_on < today,
            "from": a.meeting.reference,
        }
        for a in selectors.actions_carried(meeting=meeting)
    ]
    data = {
        "tenant": tenant.name,
        "meeting": {
            "reference": meeting.reference,
            "title": meeting.title,
            "kind": meeting.get_kind_display(),
            "when": formatting.datetime(meeting.starts_at, tz=zone),
            "day": _day(meeting.starts_at.astimezone(zone)),
            "ends": meeting.ends_at.astimezone(zone).strftime("%H:%M"),
            "location": meeting.location or "To be confirmed",
            "attendees": sorted(str(m.user) for m in meeting.attendees.all()),
        },
        "contract": (
            {
                "reference": contract.reference,
                "title": contract.title,
                "provider": contract.provider.name,
            }
            if contract
            else None
        ),
        "previous": (
            {"reference": previous.reference, "day": _day(previous.starts_at.astimezone(zone))}
            if previous
            else None
        ),
        "since": _day(since.astimezone(zone)),
        "as_at": formatting.datetime(as_at or clock.now(), tz=zone),
        "agenda": {str(k): v for k, v in agenda.items()},
        "actions": carried,
        "actions_overdue": sum(1 for a in carried if a["overdue"]),
        "plan_actions": [],
        "escalation": None,
        "charts": [],
        "narratives": [],
        "signals": [],
        "timeliness": [],
        "concerns": [],
        "variations": [],
        "portfolio": [],
        "topic": None,
        "roadmap": [],
    }
    if contract is not None:
        data["plan_actions"] = [
            {**row, "due_on": _day(row["due_on"])}
            for row in plan_actions(membership=membership, contract=contract, today=today)
        ]
        summary = escalation_exports.escalation_summary(membership=membership, contract=contract)
        data["escalation"] = {
            "level": summary["level"],
            "stage": summary["stage"],
            "steps": [
                {
                    **step,
                    "proposed_at": _day(step["proposed_at"]),
                    "effective_at": _day(step["effective_at"]) if step["effective_at"] else "",
                }
                for step in summary["steps"][:10]
            ],
        }
        data["charts"] = performance_exports.measure_charts(
            membership=membership, contract=contract
        )
        data["narratives"] = performance_exports.narratives(
            membership=membership, contract=contract
        )
        data["signals"] = [
            {**s, "opened_at": _day(s["opened_at"])}
            for s in performance_exports.signals_since(
                membership=membership, contract=contract, since=since
            )
        ]
        data["timeliness"] = [
            {**row, "due_date": _day(row["due_date"]), "submitted_on": _day(row["submitted_on"])}
            for row in performance_exports.returns_timeliness(
                membership=membership, contract=contract, today=today
            )
        ]
        data["variations"] = [
            {**v, "effective_on": _day(v["effective_on"]) if v["effective_on"] else ""}
            for v in variations_exports.variations_in_progress(
                membership=membership, contract=contract
            )
        ]
        data["concerns"] = [
            {**c, "raised_at": _day(c["raised_at"])}
            for c in escalation_exports.concerns_of(membership=membership, contract=contract)[:10]
        ]
    else:
        data["portfolio"] = _portfolio_rows(membership, meeting)
    from .services import deep_dive_topic

    topic = deep_dive_topic(meeting=meeting)
    if topic is not None:
        data["topic"] = {
            "title": topic.title,
            "month": topic.month.strftime("%B %Y"),
            "owner": str(topic.owner.user),
            "description": topic.description,
        }
    data["roadmap"] = [
        {
            "month": t.month.strftime("%b %Y"),
            "title": t.title,
            "owner": str(t.owner.user),
            "status": t.get_status_display(),
            "finding": t.finding,
        }
        for t in RoadmapTopic.objects.filter(
            tenant_id=meeting.tenant_id, contract_id=meeting.contract_id
        )
        .exclude(status=RoadmapStatus.DROPPED)
        .select_related("owner__user")
        .order_by("month", "id")[:12]
    ]
    return data


def _with_svgs(data: dict) -> dict:
    charts = [
        {
            **c,
            "svg": control_chart(c),
            # the chart's sentence names the measure: the caption already does
            "caption": c["summary"].removeprefix(f"{c['name']}: "),
        }
        for c in data["charts"]
    ]
    return {
        **data,
        "priority_charts": [c for c in charts if c["is_priority"]],
        "other_charts": [c for c in charts if not c["is_priority"]],
        "sections": SECTIONS,
    }


@dataclass(frozen=True)
class BuiltPack:
    html: str  # the pack's body, as the page shows it
    pdf: bytes
    data: dict


def pack_html(data: dict) -> str:
    return render_to_string("reviews/pack_body.html", {"pack": _with_svgs(data)})


def pack_pdf(data: dict, body: str | None = None) -> bytes:
    from weasyprint import HTML  # loaded on first use: the pack is its only user

    # WeasyPrint logs each layout step at INFO: noise in the server's log.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    document = render_to_string(
        "reviews/pack_print.html",
        {"pack": _with_svgs(data), "body": body if body is not None else pack_html(data)},
    )
    return HTML(string=document, base_url=".").write_pdf()


def pack_build(*, membership, meeting: Meeting, frozen_at: datetime | None = None) -> BuiltPack:
    data = pack_data(membership=membership, meeting=meeting, as_at=frozen_at)
    data["frozen"] = frozen_at is not None
    body = pack_html(data)
    return BuiltPack(html=body, pdf=pack_pdf(data, body), data=data)


@dataclass(frozen=True)
class PackView:
    html: str
    data: dict
    frozen: MeetingPack | None


def pack_for(*, membership, meeting: Meeting) -> PackView:
    """The frozen pack once the meeting has started; before, a fresh one."""
    frozen = MeetingPack.objects.filter(meeting_id=meeting.pk).first()
    if frozen is not None:
        return PackView(html=frozen.html, data=frozen.data, frozen=frozen)
    data = pack_data(membership=membership, meeting=meeting)
    data["frozen"] = False
    return PackView(html=pack_html(data), data=data, frozen=None)


def pack_pdf_for(*, membership, meeting: Meeting) -> bytes:
    frozen = MeetingPack.objects.filter(meeting_id=meeting.pk).first()
    if frozen is not None:
        return bytes(frozen.pdf)
    view = pack_for(membership=membership, meeting=meeting)
    return pack_pdf(view.data, view.html)
