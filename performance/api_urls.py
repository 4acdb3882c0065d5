from rest_framework.routers import DefaultRouter

from . import apis, signal_apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("kpis", apis.KpiViewSet, basename="api-kpi")
router.register("contract-kpis", apis.ContractKpiViewSet, basename="api-contract-kpi")
router.register("reporting-periods", apis.ReportingPeriodViewSet, basename="api-period")
router.register("returns", apis.ReturnViewSet, basename="api-return")
router.register("signals", signal_apis.SignalViewSet, basename="api-signal")
router.register("risk-scores", signal_apis.RiskScoreViewSet, basename="api-risk-score")

urlpatterns = router.urls
