from django.urls import path

from . import views

urlpatterns = [
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:contract_pk>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:contract_pk>/edit/", views.contract_edit, name="contract_edit"),
    path(
        "contracts/<int:contract_pk>/dashboard/",
        views.contract_dashboard,
        name="contract_dashboard",
    ),
    path("contracts/<int:contract_pk>/history/", views.contract_history, name="contract_history"),
    path("contracts/<int:contract_pk>/sites/new/", views.site_create, name="site_create"),
    path("sites/<int:site_pk>/edit/", views.site_edit, name="site_edit"),
    path(
        "contracts/<int:contract_pk>/milestones/new/",
        views.milestone_create,
        name="milestone_create",
    ),
    path("milestones/<int:milestone_pk>/edit/", views.milestone_edit, name="milestone_edit"),
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/new/", views.provider_create, name="provider_create"),
    path("providers/<int:provider_pk>/", views.provider_detail, name="provider_detail"),
    path("providers/<int:provider_pk>/edit/", views.provider_edit, name="provider_edit"),
    path("service-types/", views.service_type_list, name="service_type_list"),
    path("service-types/new/", views.service_type_create, name="service_type_create"),
    path(
        "service-types/<int:service_type_pk>/edit/",
        views.service_type_edit,
        name="service_type_edit",
    ),
]
