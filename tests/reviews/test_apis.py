"""Review meetings through the API: the meeting with its agenda, minutes,
decisions and actions; the pack's PDF; the roadmap; and what a provider or
another tenant cannot reach."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from oversight import clock
from reviews import services

pytestmark = pytest.mark.django_db


def _url(name, tw, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def test_a_meeting_is_run_through_the_api(world, api_client_for):
    tw = world.a
    client = api_client_for(tw.members["commissioner"])
    day = clock.today() + dt.timedelta(days=7)
    created = client.post(
        _url("api-meeting-list", tw),
        {
            "kind": "check_in",
            "contract": tw.p1.contract.pk,
            "starts_at": f"{day}T15:00:00Z",
            "ends_at": f"{day}T16:00:00Z",
            "location": "Room 2B",
        },
        format="json",
        HTTP_X_CHANGE_REASON="Monthly check-in",
    )
    assert created.status_code == 201, created.content
    meeting = created.json()
    assert meeting["status"] == "scheduled" and meeting["contract"] == tw.p1.contract.pk
    pk = meeting["id"]
    assert client.post(_url("api-meeting-start", tw, meeting_pk=pk)).status_code == 200
    decided = client.post(
        _url("api-meeting-decisions", tw, meeting_pk=pk),
        {"text": "Keep monitoring"},
        format="json",
    )
    assert decided.status_code == 201
    action = client.post(
        _url("api-meeting-action-list", tw),
        {
            "meeting": pk,
            "description": "Publish the rota",
            "owner": tw.p1.member.pk,
            "due_on": (clock.today() + dt.timedelta(days=14)).isoformat(),
        },
        format="json",
    )
    assert action.status_code == 201, action.content
    held = client.post(
        _url("api-meeting-hold", tw, meeting_pk=pk), {"minutes": "We met."}, format="json"
    )
    assert held.status_code == 200
    body = held.json()
    assert body["status"] == "held" and body["minutes"] == "We met."
    assert [d["text"] for d in body["decisions"]] == ["Keep monitoring"]
    assert [a["description"] for a in body["actions"]] == ["Publish the rota"]
    pdf = client.get(body["pack_pdf"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # the provider marks its action done; it may not start or schedule anything
    provider = api_client_for(tw.p1.member)
    done = provider.post(
        _url("api-meeting-action-done", tw, meeting_action_pk=action.json()["id"]),
        {"note": "Published"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    refused = provider.post(_url("api-meeting-list", tw), {"kind": "check_in"}, format="json")
    assert refused.status_code == 403


def test_a_refused_write_answers_the_errors_shape(world, api_client_for, schedule):
    tw = world.a
    meeting = schedule()
    client = api_client_for(tw.members["commissioner"])
    response = client.post(
        _url("api-meeting-hold", tw, meeting_pk=meeting.pk), {"minutes": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"


def test_others_get_404(world, api_client_for, schedule):
    tw = world.a
    meeting = schedule()
    services.meeting_start(membership=tw.members["commissioner"], meeting=meeting)
    for who, slug in (
        (tw.members["provider_p2"], tw.tenant.slug),
        (world.b.members["admin"], world.b.tenant.slug),
    ):
        client = api_client_for(who)
        for name in ("api-meeting-detail", "api-meeting-pack-pdf"):
            url = reverse(name, kwargs={"tenant_slug": slug, "meeting_pk": meeting.pk})
            assert client.get(url).status_code == 404, (who, name)
        listed = client.get(reverse("api-meeting-list", kwargs={"tenant_slug": slug}))
        assert meeting.pk not in [m["id"] for m in listed.json()["results"]]


def test_roadmap_topics_through_the_api(world, api_client_for):
    tw = world.a
    client = api_client_for(tw.members["commissioner"])
    created = client.post(
        _url("api-roadmap-topic-list", tw),
        {
            "contract": tw.p1.contract.pk,
            "month": clock.today().replace(day=1).isoformat(),
            "title": "Referral matching",
            "owner": tw.members["commissioner"].pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    done = client.patch(
        _url("api-roadmap-topic-detail", tw, roadmap_topic_pk=pk),
        {"finding": "Four in ten referrals live alone."},
        format="json",
        HTTP_X_CHANGE_REASON="Deep dive done",
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    provider_p2 = api_client_for(tw.members["provider_p2"])
    assert (
        provider_p2.get(_url("api-roadmap-topic-detail", tw, roadmap_topic_pk=pk)).status_code
        == 404
    )
