"""The pages of improvement plans by role: what each role is offered, refusals
shown on the form with nothing written, the lever from a signal, the plan
page's charts with the action dates marked, and the dashboard panel."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from escalation import plans
from escalation.models import ActionStatus, ImprovementPlan
from oversight import clock
from oversight.models import Role
from tests.escalation.plan_helpers import (
    accepted_values,
    action_input,
    kpi_on,
    month_start,
    open_plan,
)

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _plan_form(**over) -> dict:
    data = {
        "issue_statement": "Missed visits have risen for four months",
        "symptoms": "Missed visits at 6% against a 2% target",
        "root_causes": "Rotas planned one week ahead\nTwo senior carers left",
        "settling_periods": "3",
        "safeguarding_controls": "Daily welfare calls to people at risk",
        "continuity_controls": "Agency cover on call",
        "description": "Plan rotas four weeks ahead",
        "lead": "Dana Whitfield",
        "milestone": "Rotas published",
        "due_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
        "evidence_expected": "The rotas",
        "reason": "Plan required at level 3",
    }
    data.update(over)
    return data


def test_a_commissioner_opens_a_plan_from_the_form(world, client_for):
    tw = world.a
    client = client_for(tw.members[Role.COMMISSIONER])
    url = _url(tw, "plan_create", contract_pk=tw.p1.contract.pk)
    assert client.get(url).status_code == 200
    response = client.post(url, _plan_form())
    plan = ImprovementPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == plan.get_absolute_url()
    assert plan.root_causes.count() == 2 and plan.controls.count() == 2
    assert plan.actions.get().lead == "Dana Whitfield"
    assert plan.history.first().history_change_reason == "Plan required at level 3"


def test_a_refused_plan_shows_the_message_on_the_field_and_writes_nothing(
    world, client_for, row_counts
):
    tw = world.a
    client = client_for(tw.members[Role.COMMISSIONER])
    url = _url(tw, "plan_create", contract_pk=tw.p1.contract.pk)
    client.get(url)
    before = row_counts()
    response = client.post(url, _plan_form(root_causes=""))
    assert response.status_code == 400
    assert "Give at least one root cause" in response.content.decode()
    assert row_counts() == before


def test_the_lever_from_a_signal_starts_the_plan_from_its_words_and_kpi(
    world, client_for, signal_on
):
    from performance.models import Signal

    tw = world.a
    ck = kpi_on(tw.p1.contract)
    signal = signal_on(tw.p1.contract)
    Signal.objects.filter(pk=signal.pk).update(contract_kpi=ck)
    client = client_for(tw.members[Role.COMMISSIONER])
    url = _url(tw, "plan_create", contract_pk=tw.p1.contract.pk) + f"?signal={signal.pk}"
    page = client.get(url).content.decode()
    assert signal.message in page
    assert re.search(rf'value="{ck.pk}"[^>]*checked', page)
    # The lever is offered beside the live signal on the dashboard.
    from oversight import registry

    levers = registry.signal_levers_for(tw.members[Role.COMMISSIONER], signal)
    assert {"label": "Open an improvement plan", "url": url} in levers
    assert not any(
        lever["label"] == "Open an improvement plan"
        for lever in registry.signal_levers_for(tw.p1.member, signal)
    )


def test_another_contracts_signal_is_ignored_by_the_lever(world, client_for, signal_on):
    tw = world.a
    signal = signal_on(tw.p2.contract)
    client = client_for(tw.members[Role.COMMISSIONER])
    url = _url(tw, "plan_create", contract_pk=tw.p1.contract.pk) + f"?signal={signal.pk}"
    assert signal.message not in client.get(url).content.decode()


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.EXECUTIVE, Role.AUDITOR])
def test_other_roles_read_the_plan_but_may_not_open_one(world, client_for, role):
    tw = world.a
    plan = open_plan(tw)
    client = client_for(tw.members[role])
    assert client.get(_url(tw, "plan_create", contract_pk=tw.p1.contract.pk)).status_code == 403
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "Missed visits have risen" in page and "Rotas planned one week ahead" in page
    assert "Verify A1" not in page and "Record a review" not in page
    assert ("Mark A1 done" in page) == (role == Role.PROVIDER)
    listing = client.get(_url(tw, "contract_plans", contract_pk=tw.p1.contract.pk))
    assert listing.status_code == 200 and f"Plan {plan.pk}" in listing.content.decode()


def test_the_provider_marks_done_and_the_commissioner_verifies_on_the_page(
    world, client_for, row_counts
):
    tw = world.a
    action = open_plan(tw).actions.get()
    provider = client_for(tw.p1.member)
    done_url = _url(tw, "action_done", plan_action_pk=action.pk)
    provider.get(action.plan.get_absolute_url())
    before = row_counts()
    response = provider.post(done_url, {f"action-{action.pk}-completion_evidence": ""})
    assert response.status_code == 400
    assert "Give the evidence that the action is done." in response.content.decode()
    assert row_counts() == before
    response = provider.post(done_url, {f"action-{action.pk}-completion_evidence": "Rotas out"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE
    commissioner = client_for(tw.members[Role.COMMISSIONER])
    page = commissioner.get(action.plan.get_absolute_url()).content.decode()
    assert "Verify A1" in page and "Send A1 back to open" in page
    response = commissioner.post(
        _url(tw, "action_reopen", plan_action_pk=action.pk),
        {f"action-{action.pk}-reopen_reason": ""},
    )
    assert (
        response.status_code == 400 and "Say why the action goes back" in response.content.decode()
    )
    commissioner.post(
        _url(tw, "action_verify", plan_action_pk=action.pk), {f"action-{action.pk}-note": "Seen"}
    )
    action.refresh_from_db()
    assert action.status == ActionStatus.VERIFIED


def test_a_review_page_confirms_every_control(world, client_for, row_counts):
    tw = world.a
    plan = open_plan(tw)
    first, second = plan.controls.order_by("id")
    client = client_for(tw.members[Role.COMMISSIONER])
    url = _url(tw, "plan_review_create", improvement_plan_pk=plan.pk)
    assert "Daily welfare calls" in client.get(url).content.decode()
    before = row_counts()
    form = {"held_on": clock.today().isoformat(), "note": "Half way", "reason": "Monthly review"}
    response = client.post(url, {**form, f"control_{first.pk}": "yes"})
    assert response.status_code == 400 and "Agency cover on call" in response.content.decode()
    assert row_counts() == before
    response = client.post(
        url,
        {
            **form,
            f"control_{first.pk}": "yes",
            f"control_{second.pk}": "no",
            f"control_{second.pk}_note": "Agency contract lapsed; renewed Friday",
        },
    )
    assert response.status_code == 302
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "not in place" in page and "Agency contract lapsed" in page
    assert client_for(tw.p1.member).get(url).status_code == 403


def test_the_plan_page_charts_the_linked_kpi_with_the_action_dates_marked(world, client_for):
    tw = world.a
    ck = kpi_on(tw.p1.contract)
    accepted_values(ck, [6.0, 6.1, 5.9, 6.2, 6.0, 5.8, 6.1, 6.0])
    verified_on = month_start(clock.today(), 4) + dt.timedelta(days=14)
    with clock.pinned(verified_on - dt.timedelta(days=10)):
        plan = open_plan(tw, actions=[action_input(contract_kpis=[ck.pk])])
        action = plan.actions.get()
        plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rotas out")
    with clock.pinned(verified_on):
        plans.action_verify(membership=tw.members[Role.COMMISSIONER], action=action)
    page = client_for(tw.members[Role.COMMISSIONER]).get(plan.get_absolute_url()).content.decode()
    figure = json.loads(
        re.search(
            rf'<script id="plan-kpi-{ck.pk}-data" type="application/json">(.*?)</script>',
            page,
            re.S,
        ).group(1)
    )
    labels = [
        a["text"] for a in figure["layout"]["annotations"] if a.get("name", "").startswith("marker")
    ]
    assert any(label.startswith("A1 verified, ") for label in labels), labels
    assert any(label.startswith("A1 done, ") for label in labels), labels
    lines = [s for s in figure["layout"]["shapes"] if s.get("name", "").startswith("marker")]
    assert len(lines) == 2
    verified_line = next(s for s in lines if "verified" in s["name"])
    # Eight months of values, the last for last month: the verification 4 months
    # before this month falls in the 5th point's month, half way through it.
    assert 3.5 < verified_line["x0"] < 4.5
    legend = {t["name"] for t in figure["data"] if t.get("showlegend")}
    assert {"Action done (provider)", "Action verified"} <= legend
    assert not re.search(r"\d\.\d{4}", " ".join(labels))


def test_the_dashboard_panel_lists_the_open_plans_actions(world, client_for):
    tw = world.a
    plan = open_plan(tw)
    page = (
        client_for(tw.members[Role.COMMISSIONER])
        .get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
        .content.decode()
    )
    assert 'id="improvement-plan-heading"' in page
    assert f"Plan {plan.pk}" in page and "A1. Plan rotas four weeks ahead" in page
    assert "0 verified, 0 done awaiting verification, 1 open" in page
    other = (
        client_for(tw.members[Role.COMMISSIONER])
        .get(_url(tw, "contract_dashboard", contract_pk=tw.p2.contract.pk))
        .content.decode()
    )
    assert "No open improvement plan." in other
