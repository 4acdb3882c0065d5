from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("providers", apis.ProviderViewSet, basename="api-provider")
router.register("service-types", apis.ServiceTypeViewSet, basename="api-service-type")
router.register("contracts", apis.ContractViewSet, basename="api-contract")
router.register("sites", apis.SiteViewSet, basename="api-site")
router.register("milestones", apis.MilestoneViewSet, basename="api-milestone")

urlpatterns = router.urls
