from rest_framework.routers import DefaultRouter

from .apis import kpis, returns, signals

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("kpis", kpis.KpiViewSet, basename="api-kpi")
router.register("contract-kpis", kpis.ContractKpiViewSet, basename="api-contract-kpi")
router.register("reporting-periods", returns.ReportingPeriodViewSet, basename="api-period")
router.register("returns", returns.ReturnViewSet, basename="api-return")
router.register("signals", signals.SignalViewSet, basename="api-signal")
router.register("risk-scores", signals.RiskScoreViewSet, basename="api-risk-score")

urlpatterns = router.urls
