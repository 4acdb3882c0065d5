from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("kpis", apis.KpiViewSet, basename="api-kpi")
router.register("contract-kpis", apis.ContractKpiViewSet, basename="api-contract-kpi")
router.register("reporting-periods", apis.ReportingPeriodViewSet, basename="api-period")
router.register("returns", apis.ReturnViewSet, basename="api-return")

urlpatterns = router.urls
