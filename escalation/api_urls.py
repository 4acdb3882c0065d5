from rest_framework.routers import DefaultRouter

from . import apis, notice_apis, plan_apis, support_apis, withholding_apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ladders", apis.LadderViewSet, basename="api-ladder")
router.register("escalations", apis.EscalationStepViewSet, basename="api-escalation")
router.register("notices", notice_apis.NoticeViewSet, basename="api-notice")
router.register(
    "supportive-measures",
    support_apis.SupportiveMeasureViewSet,
    basename="api-supportive-measure",
)
router.register("concerns", support_apis.ProviderConcernViewSet, basename="api-concern")
router.register(
    "frontline-reports", support_apis.FrontlineReportViewSet, basename="api-frontline-report"
)
router.register("withholdings", withholding_apis.WithholdingViewSet, basename="api-withholding")
router.register(
    "improvement-plans", plan_apis.ImprovementPlanViewSet, basename="api-improvement-plan"
)
router.register("plan-actions", plan_apis.PlanActionViewSet, basename="api-plan-action")

urlpatterns = router.urls
