"""``notices/`` in the API: issuing by role, the same rules as the services
refused as ``{"errors": [...]}`` with nothing written, filters, and the
respond, close and withdraw actions."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation.models import FormalNotice, NoticeStatus
from oversight import clock
from oversight.models import Role

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert all(set(e) == {"where", "field", "message"} for e in errors)
    return {e["field"]: e["message"] for e in errors}


def _commissioners(tw) -> dict:
    return {
        "contract": tw.p1.contract.pk,
        "concerns": "Missed visits for three months",
        "required_actions": "Recruit two carers and report weekly",
    }


def _providers(tw, **over) -> dict:
    data = {
        "contract": tw.p1.contract.pk,
        "ground": "referrals",
        "concerns": "No referrals since March",
        "required_actions": "Make the referrals agreed in schedule 2",
        "response_due_on": (clock.today() + dt.timedelta(days=14)).isoformat(),
    }
    data.update(over)
    return data


@pytest.fixture
def as_member(world, api_client_for):
    return lambda role, tenant="a": api_client_for(getattr(world, tenant).members[role])


@pytest.fixture
def at_level_3(world, propose):
    return propose(to_level=3, justification="Informal contact brought nothing")


def test_below_level_3_the_commissioners_notice_is_refused(world, as_member, row_counts):
    tw = world.a
    client = as_member(Role.COMMISSIONER)
    before = row_counts()
    response = client.post(_url(tw, "api-notice-list"), _commissioners(tw), format="json")
    assert "is at escalation level 0" in _errors(response)["contract"]
    assert row_counts() == before


def test_a_commissioner_issues_and_the_provider_responds(world, as_member, at_level_3):
    tw = world.a
    created = as_member(Role.COMMISSIONER).post(
        _url(tw, "api-notice-list"),
        {**_commissioners(tw), "step": at_level_3.pk},
        format="json",
        HTTP_X_CHANGE_REASON="Third month of missed visits",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["direction"] == "to_provider" and body["status"] == "issued"
    assert body["step"] == at_level_3.pk
    assert body["response_due_on"] == (clock.today() + dt.timedelta(days=10)).isoformat()
    notice = FormalNotice.objects.get(pk=body["id"])
    assert notice.history.get().history_change_reason == "Third month of missed visits"

    url = _url(tw, "api-notice-respond", formal_notice_pk=notice.pk)
    refused = as_member(Role.COMMISSIONER).post(url, {"response": "x"}, format="json")
    assert refused.status_code == 403
    assert "required" in _errors(as_member(Role.PROVIDER).post(url, {}, format="json"))["response"]
    answered = as_member(Role.PROVIDER).post(url, {"response": "Recruited two"}, format="json")
    assert answered.status_code == 200, answered.content
    assert (answered.json()["status"], answered.json()["responded_late"]) == ("responded", False)

    close = _url(tw, "api-notice-close", formal_notice_pk=notice.pk)
    assert as_member(Role.PROVIDER).post(close, {"note": "x"}, format="json").status_code == 403
    closed = as_member(Role.COMMISSIONER).post(close, {"note": "Rota checked"}, format="json")
    assert closed.json()["status"] == "closed" and closed.json()["close_note"] == "Rota checked"


def test_the_provider_raises_a_notice_and_the_commissioner_answers_late(world, as_member):
    tw = world.a
    created = as_member(Role.PROVIDER).post(
        _url(tw, "api-notice-list"), _providers(tw), format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["direction"] == "to_commissioner"
    url = _url(tw, "api-notice-respond", formal_notice_pk=created.json()["id"])
    with clock.pinned(clock.today() + dt.timedelta(days=20)):
        answered = as_member(Role.COMMISSIONER).post(url, {"response": "Sent"}, format="json")
    assert answered.json()["responded_late"] is True


def test_a_providers_bad_notice_names_every_field(world, as_member, row_counts):
    tw = world.a
    client = as_member(Role.PROVIDER)
    before = row_counts()
    response = client.post(
        _url(tw, "api-notice-list"),
        _providers(tw, ground="rudeness", response_due_on=clock.today().isoformat()),
        format="json",
    )
    errors = _errors(response)
    assert "one of late_payment" in errors["ground"]
    assert "must be after today" in errors["response_due_on"]
    assert row_counts() == before
    unknown = as_member(Role.PROVIDER).post(
        _url(tw, "api-notice-list"), _providers(tw, grounds="x"), format="json"
    )
    assert "grounds" in _errors(unknown)


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR])
def test_executives_and_auditors_issue_nothing(world, as_member, at_level_3, role, row_counts):
    tw = world.a
    client = as_member(role)
    before = row_counts()
    response = client.post(_url(tw, "api-notice-list"), _commissioners(tw), format="json")
    assert response.status_code == 403
    assert row_counts() == before


def test_a_provider_cannot_raise_on_another_providers_contract(world, as_member, row_counts):
    tw = world.a
    client = as_member(Role.PROVIDER)
    before = row_counts()
    response = client.post(
        _url(tw, "api-notice-list"), _providers(tw, contract=tw.p2.contract.pk), format="json"
    )
    assert "contract" in _errors(response)  # not one it sees
    assert row_counts() == before


def test_the_list_filters_and_a_provider_sees_only_its_own(
    world, as_member, at_level_3, api_client_for
):
    tw = world.a
    commissioner = as_member(Role.COMMISSIONER)
    commissioner.post(_url(tw, "api-notice-list"), _commissioners(tw), format="json")
    as_member(Role.PROVIDER).post(_url(tw, "api-notice-list"), _providers(tw), format="json")
    api_client_for(tw.members["provider_p2"]).post(
        _url(tw, "api-notice-list"), _providers(tw, contract=tw.p2.contract.pk), format="json"
    )
    listed = commissioner.get(_url(tw, "api-notice-list")).json()["results"]
    assert len(listed) == 3
    to_commissioner = commissioner.get(
        _url(tw, "api-notice-list"), {"direction": "to_commissioner"}
    ).json()["results"]
    assert {n["contract"] for n in to_commissioner} == {tw.p1.contract.pk, tw.p2.contract.pk}
    on_p1 = commissioner.get(
        _url(tw, "api-notice-list"), {"contract": tw.p1.contract.pk, "status": "issued"}
    ).json()["results"]
    assert len(on_p1) == 2
    own = as_member(Role.PROVIDER).get(_url(tw, "api-notice-list")).json()["results"]
    assert {n["contract"] for n in own} == {tw.p1.contract.pk}
    other = FormalNotice.objects.get(contract=tw.p2.contract)
    hidden = as_member(Role.PROVIDER).get(_url(tw, "api-notice-detail", formal_notice_pk=other.pk))
    assert hidden.status_code == 404
    assert as_member(Role.COMMISSIONER, "b").get(_url(tw, "api-notice-list")).status_code == 404


def test_withdraw_needs_a_note_and_a_notice_awaiting_response(world, as_member, row_counts):
    tw = world.a
    created = as_member(Role.PROVIDER).post(
        _url(tw, "api-notice-list"), _providers(tw), format="json"
    )
    url = _url(tw, "api-notice-withdraw", formal_notice_pk=created.json()["id"])
    client = as_member(Role.PROVIDER)
    before = row_counts()
    assert "note" in _errors(client.post(url, {}, format="json"))
    assert row_counts() == before
    done = as_member(Role.PROVIDER).post(url, {"note": "Referrals arrived"}, format="json")
    assert done.json()["status"] == NoticeStatus.WITHDRAWN
    again = as_member(Role.PROVIDER).post(url, {"note": "Again"}, format="json")
    assert "cannot become withdrawn" in _errors(again)["status"]
