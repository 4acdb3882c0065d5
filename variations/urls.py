"""Pages of variations, under /t/<tenant_slug>/. Object kwargs are named
<model>_pk so the isolation crawl maps each to its object."""

from django.urls import path

from . import views

urlpatterns = [
    path("variations/", views.variation_list, name="variation_list"),
    path("variations/approval-rules/", views.variation_policy, name="variation_policy"),
    path("variations/<int:variation_pk>/", views.variation_detail, name="variation_detail"),
    path("variations/<int:variation_pk>/submit/", views.variation_submit, name="variation_submit"),
    path(
        "variations/<int:variation_pk>/withdraw/",
        views.variation_withdraw,
        name="variation_withdraw",
    ),
    path(
        "variations/<int:variation_pk>/start-assessment/",
        views.variation_assessment_start,
        name="variation_assessment_start",
    ),
    path("variations/<int:variation_pk>/assess/", views.variation_assess, name="variation_assess"),
    path("variations/<int:variation_pk>/decide/", views.variation_decide, name="variation_decide"),
    path(
        "contracts/<int:contract_pk>/variations/",
        views.contract_variations,
        name="contract_variations",
    ),
    path(
        "contracts/<int:contract_pk>/variations/propose/",
        views.variation_propose,
        name="variation_propose",
    ),
    path("contracts/<int:contract_pk>/terms/", views.contract_terms, name="contract_terms"),
]
