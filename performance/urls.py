"""Pages of the performance app, under /t/<tenant_slug>/. Object kwargs are
named <model>_pk so the isolation crawl can map each to its object."""

from django.urls import path

from .views import entry, kpis, returns, signals

urlpatterns = [
    # Returns
    path("returns/", returns.returns_home, name="returns_home"),
    path("returns/timeliness/", returns.returns_timeliness, name="returns_timeliness"),
    path("returns/bulk-upload/", entry.bulk_upload, name="returns_bulk_upload"),
    path("returns/<int:return_pk>/", entry.return_detail, name="return_detail"),
    path("returns/<int:return_pk>/submit/", entry.return_submit, name="return_submit"),
    path("returns/<int:return_pk>/review/", entry.return_review, name="return_review"),
    path("periods/<int:period_pk>/return/", entry.period_return, name="period_return"),
    path(
        "periods/<int:period_pk>/return/on-behalf/",
        entry.period_return_on_behalf,
        name="period_return_on_behalf",
    ),
    path("periods/<int:period_pk>/upload/", entry.period_upload, name="period_upload"),
    path("periods/<int:period_pk>/template/", entry.period_template, name="period_template"),
    path("contracts/<int:contract_pk>/returns/", returns.contract_returns, name="contract_returns"),
    path("contracts/<int:contract_pk>/values/", returns.contract_values, name="contract_values"),
    # KPI library and contract KPIs
    path("kpis/", kpis.kpi_list, name="kpi_list"),
    path("kpis/new/", kpis.kpi_create, name="kpi_create"),
    path("kpis/<int:kpi_pk>/", kpis.kpi_detail, name="kpi_detail"),
    path("kpis/<int:kpi_pk>/edit/", kpis.kpi_edit, name="kpi_edit"),
    path("contracts/<int:contract_pk>/kpis/", kpis.contract_kpis, name="contract_kpis"),
    path(
        "contracts/<int:contract_pk>/kpis/new/",
        kpis.contract_kpi_create,
        name="contract_kpi_create",
    ),
    path(
        "contract-kpis/<int:contract_kpi_pk>/edit/",
        kpis.contract_kpi_edit,
        name="contract_kpi_edit",
    ),
    # Signals (the contract dashboard is the register's page; performance's
    # panel on it is registered in apps.py)
    path("signals/<int:signal_pk>/", signals.signal_detail, name="signal_detail"),
    path(
        "signals/<int:signal_pk>/acknowledge/",
        signals.signal_acknowledge_view,
        name="signal_acknowledge",
    ),
]
