"""Pages of the performance app, under /t/<tenant_slug>/. Object kwargs are
named <model>_pk so the isolation crawl can map each to its object."""

from django.urls import path

from . import dashboard, views

urlpatterns = [
    # Returns
    path("returns/", views.returns_home, name="returns_home"),
    path("returns/timeliness/", views.returns_timeliness, name="returns_timeliness"),
    path("returns/bulk-upload/", views.bulk_upload, name="returns_bulk_upload"),
    path("returns/<int:return_pk>/", views.return_detail, name="return_detail"),
    path("returns/<int:return_pk>/submit/", views.return_submit, name="return_submit"),
    path("returns/<int:return_pk>/review/", views.return_review, name="return_review"),
    path("periods/<int:period_pk>/return/", views.period_return, name="period_return"),
    path(
        "periods/<int:period_pk>/return/on-behalf/",
        views.period_return_on_behalf,
        name="period_return_on_behalf",
    ),
    path("periods/<int:period_pk>/upload/", views.period_upload, name="period_upload"),
    path("periods/<int:period_pk>/template/", views.period_template, name="period_template"),
    path("contracts/<int:contract_pk>/returns/", views.contract_returns, name="contract_returns"),
    path("contracts/<int:contract_pk>/values/", views.contract_values, name="contract_values"),
    # KPI library and contract KPIs
    path("kpis/", views.kpi_list, name="kpi_list"),
    path("kpis/new/", views.kpi_create, name="kpi_create"),
    path("kpis/<int:kpi_pk>/", views.kpi_detail, name="kpi_detail"),
    path("kpis/<int:kpi_pk>/edit/", views.kpi_edit, name="kpi_edit"),
    path("contracts/<int:contract_pk>/kpis/", views.contract_kpis, name="contract_kpis"),
    path(
        "contracts/<int:contract_pk>/kpis/new/",
        views.contract_kpi_create,
        name="contract_kpi_create",
    ),
    path(
        "contract-kpis/<int:contract_kpi_pk>/edit/",
        views.contract_kpi_edit,
        name="contract_kpi_edit",
    ),
    # Signals (the contract dashboard is the register's page; performance's
    # panel on it is registered in apps.py)
    path("signals/<int:signal_pk>/", dashboard.signal_detail, name="signal_detail"),
    path(
        "signals/<int:signal_pk>/acknowledge/",
        dashboard.signal_acknowledge_view,
        name="signal_acknowledge",
    ),
]
