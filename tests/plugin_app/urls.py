from django.urls import path

from . import views

urlpatterns = [
    path("site-visits/", views.site_visits, name="plugin_site_visits"),
]
