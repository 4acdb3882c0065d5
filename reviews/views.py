"""Pages of review meetings: thin views over reviews/selectors.py and
reviews/services.py. Object kwargs are named <model>_pk (``meeting_pk``,
``meeting_action_pk``, ``agenda_item_pk``, ``roadmap_topic_pk``) so the
isolation crawl maps each to its object."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import clock
from oversight.forms import apply_service_errors
from oversight.history import history_entries
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from . import calendar, pack, selectors, services
from .forms import (
    ActionForm,
    ActionNoteForm,
    AgendaItemChangeForm,
    AgendaItemForm,
    CancelForm,
    DecisionForm,
    DropForm,
    FindingForm,
    MeetingChangeForm,
    MeetingForm,
    MinutesForm,
    TopicForm,
)
from .models import (
    AgendaItem,
    AgendaPart,
    MeetingActionStatus,
    MeetingStatus,
    RoadmapStatus,
)

UPCOMING_SHOWN = 50
PAST_SHOWN = 50


def _meetings_crumbs(membership, *extra):
    return [("Meetings", tenant_url(membership, "meeting_list")), *extra]


def _rows(queryset, now):
    upcoming = list(
        queryset.filter(ends_at__gte=now)
        .exclude(status__in=[MeetingStatus.HELD, MeetingStatus.CANCELLED])
        .select_related("contract__provider")
        .order_by("starts_at", "id")[:UPCOMING_SHOWN]
    )
    past = list(
        queryset.exclude(pk__in=[m.pk for m in upcoming])
        .filter(starts_at__lt=now)
        .select_related("contract__provider")
        .order_by("-starts_at", "-id")[:PAST_SHOWN]
    )
    return upcoming, past


@tenant_view(read="meetings.view")
@require_safe
def meeting_list(request, *, membership):
    """The meetings the member may see: upcoming first, then the past ones."""
    upcoming, past = _rows(selectors.meetings_visible(membership=membership), clock.now())
    return render(
        request,
        "reviews/meeting_list.html",
        {
            "upcoming": upcoming,
            "past": past,
            "may_manage": can(membership, "meeting.manage"),
            "zone": clock.tenant_zone(membership.tenant),
            "breadcrumbs": [],
        },
    )


@tenant_view(read="meetings.view")
@require_safe
def contract_meetings(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    upcoming, past = _rows(
        selectors.meetings_visible(membership=membership).filter(contract_id=contract.pk),
        clock.now(),
    )
    return render(
        request,
        "reviews/meeting_list.html",
        {
            "contract": contract,
            "upcoming": upcoming,
            "past": past,
            "may_manage": can(membership, "meeting.manage"),
            "zone": clock.tenant_zone(membership.tenant),
            "breadcrumbs": contract_crumbs(membership, contract),
        },
    )


@tenant_view(read="meetings.view")
def meeting_create(request, *, membership):
    require(membership, "meeting.manage")
    contract = None
    if request.GET.get("contract", "").isdigit():
        contract = contract_get(membership=membership, pk=int(request.GET["contract"]))
    form = MeetingForm(request.POST or None, membership=membership, contract=contract)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_schedule(
                membership=membership,
                reason=form.cleaned_data["reason"],
                **form.service_kwargs(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Meeting scheduled; its attendees are invited.")
            return redirect(meeting.get_absolute_url())
    return render(
        request,
        "includes/form_page.html",
        {
            "form": form,
            "title": "Schedule a meeting",
            "cancel_url": tenant_url(membership, "meeting_list"),
            "breadcrumbs": _meetings_crumbs(membership),
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="meetings.view")
def meeting_edit(request, *, membership, meeting_pk):
    """Move a scheduled meeting, or change its place or title."""
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    form = MeetingChangeForm(request.POST or None, meeting=meeting)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_change(
                membership=membership,
                meeting=meeting,
                reason=form.cleaned_data["reason"],
                **form.service_kwargs(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Meeting changed; if it moved, its attendees are told.")
            return redirect(meeting.get_absolute_url())
    return render(
        request,
        "includes/form_page.html",
        {
            "form": form,
            "title": f"Change {meeting.title}",
            "cancel_url": meeting.get_absolute_url(),
            "breadcrumbs": _meetings_crumbs(membership),
        },
        status=400 if request.method == "POST" else 200,
    )


def _action_forms(membership, action, bound=None):
    prefix = f"action-{action.pk}"
    forms = {}
    owner_side = membership.role != "provider" or action.owner.provider_id == membership.provider_id
    if can(membership, "meeting_action.update") and owner_side:
        if action.status == MeetingActionStatus.OPEN:
            forms["done"] = ActionNoteForm(prefix=prefix)
        if action.status == MeetingActionStatus.DONE:
            forms["reopen"] = ActionNoteForm(prefix=prefix)
    if can(membership, "meeting.manage") and action.status == MeetingActionStatus.OPEN:
        forms["drop"] = ActionNoteForm(prefix=f"{prefix}-drop")
    if bound and bound[0] == action.pk:
        forms[bound[1]] = bound[2]
    return forms


def _detail(request, membership, meeting, *, bound=None, status=200):
    """The meeting: when, who, the agenda by part (editable while scheduled),
    the minutes, decisions and actions (recorded once it has started)."""
    manage = can(membership, "meeting.manage")
    scheduled = meeting.status == MeetingStatus.SCHEDULED
    recording = meeting.status in (MeetingStatus.IN_PROGRESS, MeetingStatus.HELD)
    bound_name, bound_form = (bound[1], bound[2]) if bound and bound[0] is None else (None, None)

    def form(name, factory):
        return bound_form if bound_name == name else factory()

    items = list(meeting.agenda_items.all())
    parts = []
    for value, label in AgendaPart.choices:
        rows = []
        for item in (i for i in items if i.part == value):
            item.form = (
                bound[2]
                if bound and bound[0] == ("item", item.pk)
                else AgendaItemChangeForm(
                    prefix=f"item-{item.pk}",
                    initial={"part": item.part, "title": item.title, "notes": item.notes},
                )
            )
            rows.append(item)
        parts.append({"value": value, "label": label, "items": rows})
    actions = list(meeting.actions.all())
    today = clock.tenant_today(meeting.tenant)
    for action in actions:
        action.overdue = action.status == MeetingActionStatus.OPEN and action.due_on < today
        action.forms = _action_forms(membership, action, bound if bound and bound[0] else None)
    carried = list(selectors.actions_carried(meeting=meeting))
    return render(
        request,
        "reviews/meeting_detail.html",
        {
            "meeting": meeting,
            "contract": meeting.contract,
            "parts": parts,
            "actions": actions,
            "carried": carried,
            "decisions": list(meeting.decisions.all()),
            "attendees": sorted(meeting.attendees.all(), key=lambda m: str(m.user)),
            "may_edit_agenda": manage and scheduled,
            "may_record": manage and recording,
            "may_start": manage and scheduled,
            "may_hold": manage and meeting.status == MeetingStatus.IN_PROGRESS,
            "may_cancel": manage and scheduled,
            "item_form": form("item", lambda: AgendaItemForm(prefix="new-item")),
            "minutes_form": form(
                "minutes", lambda: MinutesForm(initial={"minutes": meeting.minutes})
            ),
            "decision_form": form("decision", DecisionForm),
            "action_form": form(
                "action", lambda: ActionForm(membership=membership, meeting=meeting)
            ),
            "cancel_form": form("cancel", CancelForm),
            "zone": clock.tenant_zone(meeting.tenant),
            "history": history_entries(meeting, limit=50),
            "breadcrumbs": (
                contract_crumbs(
                    membership,
                    meeting.contract,
                    (
                        "Meetings",
                        tenant_url(
                            membership, "contract_meetings", contract_pk=meeting.contract_id
                        ),
                    ),
                )
                if meeting.contract_id
                else _meetings_crumbs(membership)
            ),
        },
        status=status,
    )


@tenant_view(read="meetings.view")
@require_safe
def meeting_detail(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    return _detail(request, membership, meeting)


def _run(request, membership, meeting, *, form, run, done: str, bound_key, anchor=""):
    """One write from a posted form; a refusal shows the meeting again with
    the form's errors (400), nothing written."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(meeting.get_absolute_url() + anchor)
    meeting = selectors.meeting_get(membership=membership, pk=meeting.pk)
    return _detail(request, membership, meeting, bound=(*bound_key, form), status=400)


@tenant_view(read="meetings.view")
@require_POST
def meeting_agenda_generate(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    try:
        services.agenda_generate(membership=membership, meeting=meeting)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Agenda generated from today's data.")
    return redirect(meeting.get_absolute_url() + "#agenda")


@tenant_view(read="meetings.view")
@require_POST
def agenda_item_add(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    return _run(
        request,
        membership,
        meeting,
        form=AgendaItemForm(request.POST, prefix="new-item"),
        run=lambda d: services.agenda_item_add(
            membership=membership,
            meeting=meeting,
            part=d["part"],
            title=d["title"],
            notes=d["notes"],
        ),
        done="Item added to the agenda.",
        bound_key=(None, "item"),
        anchor="#agenda",
    )


@tenant_view(read="meetings.view")
@require_POST
def agenda_item_change(request, *, membership, agenda_item_pk):
    item = get_object_or_404(
        AgendaItem.objects.filter(
            meeting__in=selectors.meetings_visible(membership=membership)
        ).select_related("meeting"),
        pk=agenda_item_pk,
    )
    meeting = item.meeting
    require(membership, "meeting.manage")
    return _run(
        request,
        membership,
        meeting,
        form=AgendaItemChangeForm(request.POST, prefix=f"item-{item.pk}"),
        run=lambda d: services.agenda_item_change(
            membership=membership,
            item=item,
            part=d["part"],
            title=d["title"],
            notes=d["notes"],
            remove=d["remove"],
        ),
        done="Agenda updated.",
        bound_key=(("item", item.pk), "item"),
        anchor="#agenda",
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_start(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    try:
        services.meeting_start(membership=membership, meeting=meeting)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Meeting started: the pack is frozen as it is now.")
    return redirect(meeting.get_absolute_url())


@tenant_view(read="meetings.view")
@require_POST
def meeting_hold(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    return _run(
        request,
        membership,
        meeting,
        form=MinutesForm(request.POST),
        run=lambda d: services.meeting_hold(
            membership=membership, meeting=meeting, minutes=d["minutes"]
        ),
        done="Meeting closed as held.",
        bound_key=(None, "minutes"),
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_minutes(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    return _run(
        request,
        membership,
        meeting,
        form=MinutesForm(request.POST),
        run=lambda d: services.meeting_minutes_save(
            membership=membership, meeting=meeting, minutes=d["minutes"]
        ),
        done="Minutes saved.",
        bound_key=(None, "minutes"),
        anchor="#minutes",
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_cancel(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    return _run(
        request,
        membership,
        meeting,
        form=CancelForm(request.POST),
        run=lambda d: services.meeting_cancel(
            membership=membership, meeting=meeting, reason=d["cancel_reason"]
        ),
        done="Meeting cancelled; its attendees are told.",
        bound_key=(None, "cancel"),
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_decision_add(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    return _run(
        request,
        membership,
        meeting,
        form=DecisionForm(request.POST),
        run=lambda d: services.decision_record(
            membership=membership, meeting=meeting, text=d["text"]
        ),
        done="Decision recorded.",
        bound_key=(None, "decision"),
        anchor="#decisions",
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_action_add(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    require(membership, "meeting.manage")
    form = ActionForm(request.POST, membership=membership, meeting=meeting)
    return _run(
        request,
        membership,
        meeting,
        form=form,
        run=lambda d: services.meeting_action_add(
            membership=membership,
            meeting=meeting,
            description=d["description"],
            owner=form.members.get(d["owner"]),
            due_on=d["due_on"],
        ),
        done="Action recorded; its owner is told.",
        bound_key=(None, "action"),
        anchor="#actions",
    )


def _action_step(request, membership, meeting_action_pk, *, step, service, done, write, prefix=""):
    action = selectors.action_get(membership=membership, pk=meeting_action_pk)
    require(membership, write)
    meeting = selectors.meeting_get(membership=membership, pk=action.meeting_id)
    form = ActionNoteForm(request.POST, prefix=f"action-{action.pk}{prefix}")
    return _run(
        request,
        membership,
        meeting,
        form=form,
        run=lambda d: service(membership=membership, action=action, note=d["note"]),
        done=done,
        bound_key=(action.pk, step),
        anchor=f"#action-{action.pk}",
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_action_done(request, *, membership, meeting_action_pk):
    return _action_step(
        request,
        membership,
        meeting_action_pk,
        step="done",
        service=services.meeting_action_done,
        write="meeting_action.update",
        done="Action marked done.",
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_action_reopen(request, *, membership, meeting_action_pk):
    return _action_step(
        request,
        membership,
        meeting_action_pk,
        step="reopen",
        service=services.meeting_action_reopen,
        write="meeting_action.update",
        done="Action open again.",
    )


@tenant_view(read="meetings.view")
@require_POST
def meeting_action_drop(request, *, membership, meeting_action_pk):
    return _action_step(
        request,
        membership,
        meeting_action_pk,
        step="drop",
        service=services.meeting_action_drop,
        write="meeting.manage",
        done="Action dropped.",
        prefix="-drop",
    )


# --- the pack ------------------------------------------------------------------------


@tenant_view(read="meetings.view")
@require_safe
def meeting_pack(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    view = pack.pack_for(membership=membership, meeting=meeting)
    return render(
        request,
        "reviews/pack_page.html",
        {
            "meeting": meeting,
            "pack_html": view.html,
            "frozen": view.frozen,
            "zone": clock.tenant_zone(meeting.tenant),
            "breadcrumbs": _meetings_crumbs(
                membership, (meeting.reference, meeting.get_absolute_url())
            ),
        },
    )


def pdf_response(meeting, pdf: bytes) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{meeting.reference}-pack.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@tenant_view(read="meetings.view")
@require_safe
def meeting_pack_pdf(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    return pdf_response(meeting, pack.pack_pdf_for(membership=membership, meeting=meeting))


@tenant_view(read="meetings.view")
@require_safe
def meeting_invitation(request, *, membership, meeting_pk):
    meeting = selectors.meeting_get(membership=membership, pk=meeting_pk)
    body = calendar.meeting_ics(meeting, url=request.build_absolute_uri(meeting.get_absolute_url()))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{meeting.reference}.ics"'
    return response


@tenant_view(read="meetings.view")
def meeting_calendar(request, *, membership):
    """The member's calendar feed: issue a new link (shown once) or revoke it."""
    token = None
    if request.method == "POST":
        if request.POST.get("revoke"):
            services.calendar_feed_revoke(membership=membership)
            messages.success(request, "Your calendar feed link no longer works.")
            return redirect(tenant_url(membership, "meeting_calendar"))
        token = services.calendar_feed_issue(membership=membership)
    feed = selectors.feed_of(membership=membership)
    url = ""
    if token:
        url = request.build_absolute_uri(
            tenant_url(membership, "api-meeting-calendar-feed", token=token)
        )
    return render(
        request,
        "reviews/calendar.html",
        {
            "feed": feed,
            "feed_url": url,
            "breadcrumbs": _meetings_crumbs(membership),
            "zone": clock.tenant_zone(membership.tenant),
        },
    )


# --- the roadmap ---------------------------------------------------------------------


@tenant_view(read="roadmap.view")
@require_safe
def roadmap(request, *, membership):
    """The running 12 months of deep-dive topics: a row per contract (and the
    portfolio), a column per month."""
    months = services.roadmap_months(clock.tenant_today(membership.tenant))
    topics = list(
        selectors.topics_visible(membership=membership)
        .filter(month__gte=months[0], month__lte=months[-1])
        .select_related("contract", "owner__user")
        .order_by("month", "id")
    )
    rows: dict = {}
    for topic in topics:
        key = topic.contract.reference if topic.contract_id else ""
        row = rows.setdefault(key, {"contract": topic.contract, "cells": {m: [] for m in months}})
        row["cells"][topic.month].append(topic)
    ordered = [rows[k] for k in sorted(rows)]
    for row in ordered:
        row["cells"] = [row["cells"][m] for m in months]
    return render(
        request,
        "reviews/roadmap.html",
        {
            "months": months,
            "rows": ordered,
            "topics": topics,
            "may_manage": can(membership, "roadmap.manage"),
            "breadcrumbs": [],
        },
    )


@tenant_view(read="roadmap.view")
def roadmap_topic_create(request, *, membership):
    require(membership, "roadmap.manage")
    form = TopicForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        try:
            topic = services.roadmap_topic_add(
                membership=membership, reason=form.cleaned_data["reason"], **form.service_kwargs()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Topic added to the roadmap.")
            return redirect(topic.get_absolute_url())
    return render(
        request,
        "includes/form_page.html",
        {
            "form": form,
            "title": "Add a deep-dive topic",
            "cancel_url": tenant_url(membership, "roadmap"),
            "breadcrumbs": [("Roadmap", tenant_url(membership, "roadmap"))],
        },
        status=400 if request.method == "POST" else 200,
    )


def _topic_page(request, membership, topic, *, form=None, drop_form=None, status=200):
    return render(
        request,
        "reviews/roadmap_topic.html",
        {
            "topic": topic,
            "may_complete": can(membership, "roadmap.manage")
            and topic.status == RoadmapStatus.PLANNED,
            "finding_form": form or FindingForm(),
            "drop_form": drop_form or DropForm(prefix="drop"),
            "history": history_entries(topic, limit=50),
            "breadcrumbs": [("Roadmap", tenant_url(membership, "roadmap"))],
        },
        status=status,
    )


@tenant_view(read="roadmap.view")
@require_safe
def roadmap_topic_detail(request, *, membership, roadmap_topic_pk):
    topic = selectors.topic_get(membership=membership, pk=roadmap_topic_pk)
    return _topic_page(request, membership, topic)


@tenant_view(read="roadmap.view")
@require_POST
def roadmap_topic_complete(request, *, membership, roadmap_topic_pk):
    topic = selectors.topic_get(membership=membership, pk=roadmap_topic_pk)
    require(membership, "roadmap.manage")
    form = FindingForm(request.POST)
    if form.is_valid():
        try:
            services.roadmap_topic_complete(
                membership=membership, topic=topic, finding=form.cleaned_data["finding"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Finding recorded.")
            return redirect(topic.get_absolute_url())
    return _topic_page(request, membership, topic, form=form, status=400)


@tenant_view(read="roadmap.view")
@require_POST
def roadmap_topic_drop(request, *, membership, roadmap_topic_pk):
    """Drop a planned deep dive, saying why (recorded in its history)."""
    topic = selectors.topic_get(membership=membership, pk=roadmap_topic_pk)
    require(membership, "roadmap.manage")
    form = DropForm(request.POST, prefix="drop")
    if form.is_valid():
        try:
            services.roadmap_topic_drop(
                membership=membership, topic=topic, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, "Topic dropped.")
            return redirect(topic.get_absolute_url())
    return _topic_page(request, membership, topic, drop_form=form, status=400)


# --- panels --------------------------------------------------------------------------


def next_review_panel(membership, contract):
    """The contract dashboard's "Next review": the next scheduled meeting and
    the actions still open from the contract's meetings (two queries)."""
    meeting = selectors.next_meeting(membership=membership, contract=contract, now=clock.now())
    open_actions = (
        selectors.actions_visible(membership=membership)
        .filter(meeting__contract_id=contract.pk, status=MeetingActionStatus.OPEN)
        .values_list("due_on", flat=True)
    )
    today = clock.tenant_today(membership.tenant)
    dues = list(open_actions)
    return (
        "reviews/next_review_panel.html",
        {
            "next_meeting": meeting,
            "review_actions_open": len(dues),
            "review_actions_overdue": sum(1 for d in dues if d < today),
            "review_zone": clock.tenant_zone(membership.tenant),
            "review_may_schedule": can(membership, "meeting.manage"),
        },
    )


HOME_SHOWN = 5


def upcoming_panel(membership):
    """The home page's upcoming meetings: the member's own first, then the
    rest it may see (one query)."""
    now = clock.now()
    meetings = list(
        selectors.meetings_visible(membership=membership)
        .filter(ends_at__gte=now, status__in=[MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS])
        .select_related("contract")
        .order_by("starts_at", "id")[:HOME_SHOWN]
    )
    return (
        "reviews/home_panel.html",
        {"home_meetings": meetings, "home_zone": clock.tenant_zone(membership.tenant)},
    )
