from django.urls import path

from . import member_views, notifications, tenant_views

urlpatterns = [
    path("members/", member_views.member_list, name="member_list"),
    path("members/new/", member_views.member_create, name="member_create"),
    path("members/<int:membership_pk>/edit/", member_views.member_edit, name="member_edit"),
    path("settings/", tenant_views.tenant_settings, name="tenant_settings"),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path("notifications/read/", notifications.notification_read, name="notification_read"),
]
