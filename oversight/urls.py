"""Every tenant page lives under /t/<tenant_slug>/ and every API route under
/api/v1/t/<tenant_slug>/. The isolation tests crawl this whole tree."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import registry, views

# The core's pages and contracts' (the one app the core knows), then the URL
# modules that feature apps register in their ready() (oversight/registry.py).
tenant_pages = [
    path("", views.tenant_home, name="tenant_home"),
    path("", include("contracts.urls")),
    *(path("", include(module)) for module in registry.url_modules(api=False)),
    path("", include("oversight.tenant_urls")),
]

tenant_api = [
    path("", include("contracts.api_urls")),
    *(path("", include(module)) for module in registry.url_modules(api=True)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/set-password/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("tenants/", views.tenant_switch, name="tenant_switch"),
    path("t/<slug:tenant_slug>/", include(tenant_pages)),
    path("api/v1/t/<slug:tenant_slug>/", include(tenant_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api_redoc"),
]

# The product's error pages (JSON under /api/): oversight/views.py.
handler400 = "oversight.views.bad_request"
handler403 = "oversight.views.permission_denied"
handler404 = "oversight.views.page_not_found"
handler500 = "oversight.views.server_error"
