"""Pages of review meetings, under /t/<tenant_slug>/. Object kwargs are named
<model>_pk so the isolation crawl maps each to its object."""

from django.urls import path

from . import views

urlpatterns = [
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/new/", views.meeting_create, name="meeting_create"),
    path("meetings/calendar/", views.meeting_calendar, name="meeting_calendar"),
    path("meetings/<int:meeting_pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:meeting_pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path(
        "meetings/<int:meeting_pk>/agenda/generate/",
        views.meeting_agenda_generate,
        name="meeting_agenda_generate",
    ),
    path("meetings/<int:meeting_pk>/agenda/add/", views.agenda_item_add, name="agenda_item_add"),
    path(
        "agenda-items/<int:agenda_item_pk>/change/",
        views.agenda_item_change,
        name="agenda_item_change",
    ),
    path("meetings/<int:meeting_pk>/start/", views.meeting_start, name="meeting_start"),
    path("meetings/<int:meeting_pk>/hold/", views.meeting_hold, name="meeting_hold"),
    path("meetings/<int:meeting_pk>/minutes/", views.meeting_minutes, name="meeting_minutes"),
    path("meetings/<int:meeting_pk>/cancel/", views.meeting_cancel, name="meeting_cancel"),
    path(
        "meetings/<int:meeting_pk>/decisions/add/",
        views.meeting_decision_add,
        name="meeting_decision_add",
    ),
    path(
        "meetings/<int:meeting_pk>/actions/add/",
        views.meeting_action_add,
        name="meeting_action_add",
    ),
    path("meetings/<int:meeting_pk>/pack/", views.meeting_pack, name="meeting_pack"),
    path("meetings/<int:meeting_pk>/pack.pdf", views.meeting_pack_pdf, name="meeting_pack_pdf"),
    path(
        "meetings/<int:meeting_pk>/invitation.ics",
        views.meeting_invitation,
        name="meeting_invitation",
    ),
    path(
        "meeting-actions/<int:meeting_action_pk>/done/",
        views.meeting_action_done,
        name="meeting_action_done",
    ),
    path(
        "meeting-actions/<int:meeting_action_pk>/reopen/",
        views.meeting_action_reopen,
        name="meeting_action_reopen",
    ),
    path(
        "meeting-actions/<int:meeting_action_pk>/drop/",
        views.meeting_action_drop,
        name="meeting_action_drop",
    ),
    path(
        "contracts/<int:contract_pk>/meetings/",
        views.contract_meetings,
        name="contract_meetings",
    ),
    path("roadmap/", views.roadmap, name="roadmap"),
    path("roadmap/new/", views.roadmap_topic_create, name="roadmap_topic_create"),
    path(
        "roadmap/<int:roadmap_topic_pk>/",
        views.roadmap_topic_detail,
        name="roadmap_topic_detail",
    ),
    path(
        "roadmap/<int:roadmap_topic_pk>/complete/",
        views.roadmap_topic_complete,
        name="roadmap_topic_complete",
    ),
    path(
        "roadmap/<int:roadmap_topic_pk>/drop/",
        views.roadmap_topic_drop,
        name="roadmap_topic_drop",
    ),
]
