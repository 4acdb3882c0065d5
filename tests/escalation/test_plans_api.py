"""improvement-plans/ and plan-actions/ through the API: the roles' write
routes, refusals as ``{"errors": [{"where", "field", "message"}]}`` with
nothing written, a provider reading and acting on its own contracts' plans
only, and the OpenAPI schema naming the routes."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation.models import ActionStatus, ImprovementPlan, PlanStatus
from oversight import clock
from oversight.models import Role
from tests.api_errors import field_errors
from tests.escalation.plan_helpers import kpi_on, open_plan

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


@pytest.fixture
def as_member(world, api_client_for):
    return lambda role, tenant="a": api_client_for(getattr(world, tenant).members[role])


def _body(tw, **over) -> dict:
    data = {
        "contract": tw.p1.contract.pk,
        "issue_statement": "Missed visits have risen for four months",
        "symptoms": "Missed visits at 6% against a 2% target",
        "root_causes": ["Rotas planned one week ahead"],
        "settling_periods": 3,
        "actions": [
            {
                "description": "Plan rotas four weeks ahead",
                "lead": "Dana Whitfield",
                "milestone": "Rotas published",
                "due_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
                "evidence_expected": "The rotas",
            }
        ],
        "controls": [{"kind": "safeguarding", "description": "Daily welfare calls"}],
    }
    data.update(over)
    return data


def _post(client, url, body=None, **headers):
    return client.post(url, body or {}, format="json", **headers)


def test_a_commissioner_opens_a_plan_and_reads_it_with_its_parts(world, as_member):
    tw = world.a
    ck = kpi_on(tw.p1.contract)
    body = _body(tw)
    body["actions"][0]["contract_kpis"] = [ck.pk]
    response = _post(
        as_member(Role.COMMISSIONER),
        _url(tw, "api-improvement-plan-list"),
        body,
        HTTP_X_CHANGE_REASON="Plan required at level 3",
    )
    assert response.status_code == 201, response.content
    plan = response.json()
    assert plan["status"] == "draft" and plan["root_causes"] == ["Rotas planned one week ahead"]
    [action] = plan["actions"]
    assert action["contract_kpis"] == [
        {"id": ck.pk, "code": "missed-visits", "name": "Missed visits"}
    ]
    assert plan["controls"][0]["kind"] == "safeguarding"
    record = ImprovementPlan.objects.get(pk=plan["id"]).history.first()
    assert record.history_change_reason == "Plan required at level 3"


@pytest.mark.parametrize(
    "over, field",
    [
        ({"root_causes": []}, "root_causes"),
        ({"symptoms": "x", "root_causes": ["x"]}, "root_causes"),
        ({"settling_periods": 0}, "settling_periods"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(
    world, as_member, row_counts, over, field
):
    tw = world.a
    client = as_member(Role.COMMISSIONER)
    before = row_counts()
    response = _post(client, _url(tw, "api-improvement-plan-list"), _body(tw, **over))
    assert response.status_code == 400
    assert field in field_errors(response), response.json()
    assert row_counts() == before


def test_an_actions_due_date_refusal_names_the_action(world, as_member, row_counts):
    tw = world.a
    body = _body(tw)
    body["actions"][0]["due_on"] = (clock.today() - dt.timedelta(days=3)).isoformat()
    client = as_member(Role.COMMISSIONER)
    before = row_counts()
    response = _post(client, _url(tw, "api-improvement-plan-list"), body)
    errors = field_errors(response)
    assert "cannot be before today" in errors["actions[0].due_on"][0]
    assert row_counts() == before


def test_the_provider_cannot_open_a_plan(world, as_member, row_counts):
    tw = world.a
    client = as_member(Role.PROVIDER)
    before = row_counts()
    response = _post(client, _url(tw, "api-improvement-plan-list"), _body(tw))
    assert response.status_code == 403
    assert row_counts() == before


def test_the_action_routes_by_role(world, as_member, row_counts):
    tw = world.a
    plan = open_plan(tw)
    action = plan.actions.get()
    done_url = _url(tw, "api-plan-action-done", plan_action_pk=action.pk)
    verify_url = _url(tw, "api-plan-action-verify", plan_action_pk=action.pk)
    reopen_url = _url(tw, "api-plan-action-reopen", plan_action_pk=action.pk)
    provider, commissioner = as_member(Role.PROVIDER), as_member(Role.COMMISSIONER)
    # The commissioner does not mark it done; the provider must give evidence.
    assert _post(commissioner, done_url, {"completion_evidence": "x"}).status_code == 403
    before = row_counts()
    response = _post(provider, done_url, {"completion_evidence": ""})
    assert "Give the evidence" in field_errors(response)["completion_evidence"][0]
    assert row_counts() == before
    response = _post(provider, done_url, {"completion_evidence": "Rotas published on the 2nd"})
    assert response.status_code == 200 and response.json()["status"] == ActionStatus.DONE
    # The provider does not verify; a reopen needs a reason.
    assert _post(provider, verify_url).status_code == 403
    response = _post(commissioner, reopen_url, {"reopen_reason": " "})
    assert "reopen_reason" in field_errors(response)
    response = _post(commissioner, reopen_url, {"reopen_reason": "Two weeks only"})
    assert (
        response.json()["status"] == "open" and response.json()["reopen_reason"] == "Two weeks only"
    )
    _post(provider, done_url, {"completion_evidence": "Four weeks now"})
    response = _post(commissioner, verify_url, {"note": "Checked"})
    assert response.json()["status"] == "verified" and response.json()["verified_by"]


def test_another_providers_action_is_404_and_its_plans_are_not_listed(world, as_member):
    tw = world.a
    theirs = open_plan(tw, contract=tw.p2.contract)
    mine = open_plan(tw)
    provider = as_member(Role.PROVIDER)
    listed = provider.get(_url(tw, "api-improvement-plan-list")).json()["results"]
    assert [p["id"] for p in listed] == [mine.pk]
    action = theirs.actions.get()
    response = _post(
        provider,
        _url(tw, "api-plan-action-done", plan_action_pk=action.pk),
        {"completion_evidence": "Not mine"},
    )
    assert response.status_code == 404
    assert (
        provider.get(
            _url(tw, "api-improvement-plan-detail", improvement_plan_pk=theirs.pk)
        ).status_code
        == 404
    )


def test_plan_routes_of_the_commissioning_side(world, as_member, row_counts):
    tw = world.a
    plan = open_plan(tw)
    commissioner = as_member(Role.COMMISSIONER)
    response = _post(
        commissioner,
        _url(tw, "api-improvement-plan-add-action", improvement_plan_pk=plan.pk),
        {
            "description": "Recruit two senior carers",
            "lead": "Sam Ortiz",
            "milestone": "Two carers in post",
            "due_on": (clock.today() + dt.timedelta(days=60)).isoformat(),
            "evidence_expected": "Contracts signed",
        },
    )
    assert response.status_code == 201 and len(response.json()["actions"]) == 2
    response = _post(
        commissioner,
        _url(tw, "api-improvement-plan-add-control", improvement_plan_pk=plan.pk),
        {"kind": "continuity", "description": "Agency cover on call"},
    )
    controls = response.json()["controls"]
    assert len(controls) == 3
    response = _post(
        commissioner, _url(tw, "api-improvement-plan-agree", improvement_plan_pk=plan.pk)
    )
    assert response.json()["status"] == PlanStatus.AGREED
    reviews_url = _url(tw, "api-improvement-plan-reviews", improvement_plan_pk=plan.pk)
    before = row_counts()
    partial = {
        "held_on": clock.today().isoformat(),
        "note": "Half way",
        "checks": [{"control": controls[0]["id"], "in_place": True}],
    }
    response = _post(commissioner, reviews_url, partial)
    assert "Confirm every control" in field_errors(response)["checks"][0]
    assert row_counts() == before
    every = dict(
        partial,
        checks=[{"control": c["id"], "in_place": True} for c in controls],
    )
    response = _post(commissioner, reviews_url, every)
    assert response.status_code == 201, response.content
    [review] = response.json()["reviews"]
    assert {c["control"] for c in review["checks"]} == {c["id"] for c in controls}
    assert _post(as_member(Role.PROVIDER), reviews_url, every).status_code == 403
    response = _post(
        commissioner,
        _url(tw, "api-improvement-plan-close", improvement_plan_pk=plan.pk),
        {"close_note": "Met"},
    )
    assert response.json()["status"] == "closed"


def test_the_schema_lists_the_plan_routes():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = set(schema["paths"])
    assert "/api/v1/t/{tenant_slug}/improvement-plans/" in paths
    assert "/api/v1/t/{tenant_slug}/improvement-plans/{improvement_plan_pk}/reviews/" in paths
    assert "/api/v1/t/{tenant_slug}/plan-actions/{plan_action_pk}/done/" in paths
