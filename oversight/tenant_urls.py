from django.urls import path

from . import member_views

urlpatterns = [
    path("members/", member_views.member_list, name="member_list"),
    path("members/new/", member_views.member_create, name="member_create"),
    path("members/<int:membership_pk>/edit/", member_views.member_edit, name="member_edit"),
]
