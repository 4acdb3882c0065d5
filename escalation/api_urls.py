from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ladders", apis.LadderViewSet, basename="api-ladder")
router.register("escalations", apis.EscalationStepViewSet, basename="api-escalation")

urlpatterns = router.urls
