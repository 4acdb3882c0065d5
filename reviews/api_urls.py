from django.urls import path
from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("meetings", apis.MeetingViewSet, basename="api-meeting")
router.register("meeting-actions", apis.MeetingActionViewSet, basename="api-meeting-action")
router.register("roadmap-topics", apis.RoadmapTopicViewSet, basename="api-roadmap-topic")

urlpatterns = [
    path(
        "meetings/<int:meeting_pk>/pack.pdf",
        apis.MeetingViewSet.as_view({"get": "pack_pdf"}),
        name="api-meeting-pack-pdf",
    ),
    path(
        "calendar-feed/<str:token>/",
        apis.CalendarFeedView.as_view(),
        name="api-meeting-calendar-feed",
    ),
    *router.urls,
]
