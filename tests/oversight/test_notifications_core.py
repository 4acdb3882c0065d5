"""The core's notifications: every notice is of a registered kind, and the
page names each kind by the label its app registered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oversight.models import Notification
from oversight.notifications import notify

pytestmark = pytest.mark.django_db


def test_a_notice_of_a_kind_nobody_registered_is_refused_and_nothing_is_written(world):
    a = world.a
    with pytest.raises(ValueError, match="Unknown notification kind 'site_visit'"):
        notify(tenant=a.tenant, users=[a.members["admin"].user], kind="site_visit", message="m")
    assert not Notification.objects.exists()


def test_the_page_names_a_signal_notice_by_its_registered_label(world, client_for):
    a = world.a
    member = a.members["commissioner"]
    notify(tenant=a.tenant, users=[member.user], kind="signal", message="C-1: 2 new signals")
    page = client_for(member).get(
        reverse("notification_list", kwargs={"tenant_slug": a.tenant.slug})
    )
    body = page.content.decode()
    assert "<strong>New high-risk signals</strong>" in body
    assert "C-1: 2 new signals" in body
