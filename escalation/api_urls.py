from rest_framework.routers import DefaultRouter

from . import apis, notice_apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ladders", apis.LadderViewSet, basename="api-ladder")
router.register("escalations", apis.EscalationStepViewSet, basename="api-escalation")
router.register("notices", notice_apis.NoticeViewSet, basename="api-notice")

urlpatterns = router.urls
