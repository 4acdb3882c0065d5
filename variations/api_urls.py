from django.urls import path
from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("variations", apis.VariationViewSet, basename="api-variation")

urlpatterns = [
    *router.urls,
    path(
        "contracts/<int:contract_pk>/terms/",
        apis.ContractTermsViewSet.as_view({"get": "retrieve"}),
        name="api-contract-terms",
    ),
]
