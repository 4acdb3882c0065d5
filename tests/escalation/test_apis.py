"""The ladder and the escalation steps through the API: the same rules as the
services, refused as ``{"errors": [{"where", "field", "message"}]}`` with
nothing written; a provider reads only its own contracts' steps."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import services
from escalation.models import EscalationStep, LadderVersion, StepStatus
from oversight import clock
from oversight.models import Role

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _body(tw, **over) -> dict:
    data = {
        "contract": tw.p1.contract.pk,
        "to_level": 1,
        "reason": "Missed visits for three months with no explanation",
        "proportionality_note": "The smallest step that asks for an explanation",
        "next_review_on": (clock.today() + dt.timedelta(days=28)).isoformat(),
    }
    data.update(over)
    return data


def _errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert all(set(e) == {"where", "field", "message"} for e in errors)
    return {e["field"]: e["message"] for e in errors}


def _refused(client, url, body, field, row_counts, *, contains=""):
    before = row_counts()
    response = client.post(url, body, format="json")
    errors = _errors(response)
    assert field in errors, errors
    assert contains in errors[field]
    assert row_counts() == before
    return errors[field]


@pytest.fixture
def as_member(world, api_client_for):
    return lambda role, tenant="a": api_client_for(getattr(world, tenant).members[role])


def test_a_commissioner_proposes_with_evidence_and_reads_the_step(world, as_member, signal_on):
    tw = world.a
    signal = signal_on(tw.p1.contract)
    client = as_member(Role.COMMISSIONER)
    response = client.post(
        _url(tw, "api-escalation-list"),
        _body(
            tw,
            evidence=[
                {"kind": "signal", "id": signal.pk},
                {"kind": "missed_action", "text": "Staffing plan not sent"},
            ],
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    step = response.json()
    assert (step["from_level"], step["to_level"], step["status"]) == (0, 1, "effective")
    assert step["stage"]["name"] == "Informal concern" and step["stage"]["ladder_version"] == 1
    assert step["proposed_by"] == tw.user(Role.COMMISSIONER).full_name
    assert [(e["kind"], e["object_id"], e["text"]) for e in step["evidence"]] == [
        ("signal", signal.pk, signal.message),
        ("missed_action", None, "Staffing plan not sent"),
    ]
    record = EscalationStep.objects.get(pk=step["id"]).history.first()
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert record.history_change_reason == _body(tw)["reason"]
    listed = client.get(_url(tw, "api-escalation-list"), {"contract": tw.p1.contract.pk})
    assert [s["id"] for s in listed.json()["results"]] == [step["id"]]


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_other_roles_cannot_propose(world, as_member, role, row_counts):
    client = as_member(role)
    before = row_counts()
    response = client.post(_url(world.a, "api-escalation-list"), _body(world.a), format="json")
    assert response.status_code == 403
    assert row_counts() == before


def test_every_rule_is_refused_through_the_api(world, as_member, propose, row_counts):
    tw = world.a
    client = as_member(Role.COMMISSIONER)
    url = _url(tw, "api-escalation-list")
    _refused(client, url, _body(tw, to_level=3), "justification", row_counts, contains="3 levels")
    _refused(client, url, _body(tw, reason=""), "reason", row_counts)
    _refused(
        client,
        url,
        _body(tw, next_review_on=clock.today().isoformat()),
        "next_review_on",
        row_counts,
        contains="after today",
    )
    _refused(
        client,
        url,
        _body(tw, evidence=[{"kind": "signal", "id": 999999}]),
        "evidence",
        row_counts,
        contains="Item 1",
    )
    _refused(client, url, _body(tw, to_levle=2), "to_levle", row_counts, contains="to_level")
    # Another tenant's contract reads as one that does not exist.
    message = _refused(
        client, url, _body(tw, contract=world.b.p1.contract.pk), "contract", row_counts
    )
    assert world.b.p1.contract.reference not in message
    propose(to_level=1)
    _refused(
        client,
        url,
        _body(tw, to_level=0),
        "recovery_evidence",
        row_counts,
        contains="evidence of recovery",
    )


def test_level_four_is_approved_by_another_executive_through_the_api(
    world, as_member, propose, row_counts, api_client_for
):
    from oversight.models import Membership
    from tests.factories import UserFactory

    tw = world.a
    person = UserFactory(full_name="Proposer Later Executive")
    member = Membership.objects.create(user=person, tenant=tw.tenant, role=Role.COMMISSIONER)
    mine = propose(member=member, to_level=4, justification="Plan failed twice")
    member.role = Role.EXECUTIVE
    member.save()
    message = _refused(
        api_client_for(member),
        _url(tw, "api-escalation-approve", escalation_step_pk=mine.pk),
        {"note": "Mine"},
        "decided_by",
        row_counts,
    )
    assert "cannot be the proposer" in message
    executive = as_member(Role.EXECUTIVE)
    rejected = executive.post(
        _url(tw, "api-escalation-reject", escalation_step_pk=mine.pk),
        {"note": "Propose it again as a commissioner"},
        format="json",
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    step = propose(to_level=4, justification="Plan failed twice")
    url = _url(tw, "api-escalation-approve", escalation_step_pk=step.pk)
    for role in (Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR, Role.PROVIDER):
        assert as_member(role).post(url, {}, format="json").status_code == 403
    reject = _url(tw, "api-escalation-reject", escalation_step_pk=step.pk)
    _refused(executive, reject, {"note": ""}, "decision_note", row_counts)
    response = executive.post(url, {"note": "Remedies are due"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["decided_by"]) == ("effective", tw.user(Role.EXECUTIVE).full_name)
    assert body["reporting_set_to"] == "weekly"
    tw.p1.contract.refresh_from_db()
    assert tw.p1.contract.reporting_frequency == "weekly"
    again = _refused(executive, url, {}, "status", row_counts)
    assert "in effect" in again


def test_the_provider_reads_only_its_own_contracts_steps_and_acknowledges(
    world, as_member, api_client_for, propose, row_counts
):
    tw = world.a
    own = propose(to_level=1)
    other = propose(to_level=1, contract=tw.p2.contract)
    provider = as_member(Role.PROVIDER)
    listed = provider.get(_url(tw, "api-escalation-list"))
    assert [s["id"] for s in listed.json()["results"]] == [own.pk]
    assert (
        provider.get(_url(tw, "api-escalation-detail", escalation_step_pk=other.pk)).status_code
        == 404
    )
    before = row_counts()
    hidden = provider.post(
        _url(tw, "api-escalation-acknowledge", escalation_step_pk=other.pk), {}, format="json"
    )
    assert hidden.status_code == 404 and row_counts() == before
    url = _url(tw, "api-escalation-acknowledge", escalation_step_pk=own.pk)
    response = provider.post(url, {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged_by"] == tw.user(Role.PROVIDER).full_name
    _refused(provider, url, {}, "acknowledged_at", row_counts, contains="was acknowledged")
    # Another tenant's member sees none of it.
    outsider = as_member(Role.ADMIN, tenant="b")
    assert outsider.get(_url(tw, "api-escalation-list")).status_code == 404
    own_list = outsider.get(reverse("api-escalation-list", args=[world.b.tenant.slug]))
    assert own_list.json()["results"] == []


def test_the_ladder_is_read_by_internal_roles_and_revised_by_the_admin(
    world, as_member, row_counts
):
    tw = world.a
    admin = as_member(Role.ADMIN)
    # Before it is written, the default is in force and the list is empty.
    assert admin.get(_url(tw, "api-ladder-list")).json()["results"] == []
    for role in (Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER):
        client = as_member(role)
        before = row_counts()
        response = client.post(_url(tw, "api-ladder-list"), {}, format="json")
        assert response.status_code == 403 and row_counts() == before
    adopted = admin.post(
        _url(tw, "api-ladder-list"), {}, format="json", HTTP_X_CHANGE_REASON="To edit it"
    )
    assert adopted.status_code == 201, adopted.content
    assert (adopted.json()["number"], adopted.json()["created_by"]) == (
        1,
        tw.user(Role.ADMIN).full_name,
    )
    _refused(
        admin, _url(tw, "api-ladder-list"), {}, "version", row_counts, contains="already written"
    )
    for role in (Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR):
        versions = as_member(role).get(_url(tw, "api-ladder-list")).json()["results"]
        assert [(v["number"], v["is_current"]) for v in versions] == [(1, True)]
        assert [s["level"] for s in versions[0]["stages"]] == [0, 1, 2, 3, 4, 5]
    assert as_member(Role.PROVIDER).get(_url(tw, "api-ladder-list")).json()["results"] == []
    v1 = LadderVersion.objects.get(tenant=tw.tenant)
    url = _url(tw, "api-ladder-revise", ladder_version_pk=v1.pk)
    body = {"stages": [{"level": 3, "reporting_frequency": "monthly"}]}
    before = row_counts()
    no_reason = admin.post(url, body, format="json")
    assert "change_reason" in _errors(no_reason) and row_counts() == before
    _refused(
        admin,
        url,
        {"stages": [{"level": 2, "name": "Enhanced monitoring"}], "change_reason": "x"},
        "stages",
        row_counts,
        contains="Nothing changed",
    )
    _refused(
        admin,
        url,
        {"stages": [{"level": 3, "reporting_frequency": "daily"}], "change_reason": "x"},
        "level_3_reporting_frequency",
        row_counts,
    )
    response = admin.post(url, body, format="json", HTTP_X_CHANGE_REASON="Notices are monthly")
    assert response.status_code == 201, response.content
    v2 = response.json()
    assert (v2["number"], v2["is_current"], v2["created_by"]) == (
        2,
        True,
        tw.user(Role.ADMIN).full_name,
    )
    assert v2["stages"][3]["reporting_frequency"] == "monthly"
    assert LadderVersion.objects.get(pk=v2["id"]).history.first().history_change_reason == (
        "Notices are monthly"
    )
    old = admin.get(_url(tw, "api-ladder-detail", ladder_version_pk=v1.pk)).json()
    assert (old["is_current"], old["stages"][3]["reporting_frequency"]) == (False, "weekly")
    # Version 1 is no longer the one in force: it cannot be revised.
    _refused(
        admin,
        url,
        {"stages": [{"level": 1, "name": "Early"}], "change_reason": "x"},
        "version",
        row_counts,
    )
    commissioner = as_member(Role.COMMISSIONER)
    v2_url = _url(tw, "api-ladder-revise", ladder_version_pk=v2["id"])
    denied = commissioner.post(v2_url, {**body, "change_reason": "x"}, format="json")
    assert denied.status_code == 403


def test_a_step_keeps_the_stage_definition_it_was_taken_under(world, as_member, propose):
    tw = world.a
    step = propose(to_level=1)
    services.ladder_revise(
        membership=tw.members[Role.ADMIN],
        version=step.stage.version,
        changes={1: {"name": "Early concern"}},
        reason="Rename",
    )
    body = (
        as_member(Role.AUDITOR)
        .get(_url(tw, "api-escalation-detail", escalation_step_pk=step.pk))
        .json()
    )
    assert body["stage"]["name"] == "Informal concern" and body["stage"]["ladder_version"] == 1
    assert EscalationStep.objects.get(pk=step.pk).status == StepStatus.EFFECTIVE
