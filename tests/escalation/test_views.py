"""The escalation pages: what each role is offered, a refused step shown on the
form with nothing written, decisions from the contract's page, the dashboard
panel, and the page's queries at two sizes."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation.models import EscalationStep, LadderVersion, StepStatus
from oversight import clock
from oversight.models import Role

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _form(**over) -> dict:
    data = {
        "to_level": "1",
        "reason": "Missed visits for three months with no explanation",
        "proportionality_note": "The smallest step that asks for an explanation",
        "next_review_on": (clock.today() + dt.timedelta(days=28)).isoformat(),
    }
    data.update(over)
    return data


def test_the_commissioner_proposes_from_the_page(world, as_role):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    page = client.get(_url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Level 0" in body and "Routine monitoring" in body
    assert _url(tw, "escalation_propose", contract_pk=tw.p1.contract.pk) in body
    url = _url(tw, "escalation_propose", contract_pk=tw.p1.contract.pk)
    response = client.post(url, _form(incidents="Missed visit on the 3rd\nFall at home"))
    assert response.status_code == 302
    step = EscalationStep.objects.get()
    assert step.status == StepStatus.EFFECTIVE
    assert [e.text for e in step.evidence.order_by("id")] == [
        "Missed visit on the 3rd",
        "Fall at home",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Level 1" in page and "Missed visit on the 3rd" in page
    assert "the contract is here" in page


def test_the_contracts_signals_are_offered_as_evidence(world, as_role, signal_on):
    tw = world.a
    own, other = signal_on(tw.p1.contract), signal_on(tw.p2.contract)
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "escalation_propose", contract_pk=tw.p1.contract.pk)
    form = client.get(url).content.decode()
    assert own.message in form and other.message not in form
    assert client.post(url, _form(signals=[own.pk])).status_code == 302
    evidence = EscalationStep.objects.get().evidence.get()
    assert (evidence.kind, evidence.item) == ("signal", own)


def test_a_refused_step_is_shown_on_the_form_and_writes_nothing(world, as_role, row_counts):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "escalation_propose", contract_pk=tw.p1.contract.pk)
    client.get(url)  # the ladder is written on first use
    before = row_counts()
    response = client.post(url, _form(to_level="3"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "3 levels at once" in body
    assert 'id="justification-error"' in body
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_other_roles_are_not_offered_a_step(world, as_role, role):
    tw = world.a
    client = as_role(role)
    body = client.get(_url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk))
    assert body.status_code == 200
    url = _url(tw, "escalation_propose", contract_pk=tw.p1.contract.pk)
    assert url not in body.content.decode()
    assert client.get(url).status_code == 403


def test_an_executive_approves_and_the_provider_acknowledges_from_the_page(world, as_role, propose):
    tw = world.a
    step = propose(to_level=4, justification="Plan failed twice")
    page_url = _url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk)
    approve = _url(tw, "escalation_step_approve", escalation_step_pk=step.pk)
    commissioner_page = as_role(Role.COMMISSIONER).get(page_url).content.decode()
    assert approve not in commissioner_page and "Waiting for an executive" in commissioner_page
    executive = as_role(Role.EXECUTIVE)
    assert approve in executive.get(page_url).content.decode()
    reject = _url(tw, "escalation_step_reject", escalation_step_pk=step.pk)
    refused = executive.post(reject, {"note": ""})
    assert refused.status_code == 400
    assert "Say why the step is rejected." in refused.content.decode()
    assert executive.post(approve, {"note": "Remedies are due"}).status_code == 302
    step.refresh_from_db()
    assert step.status == StepStatus.EFFECTIVE

    provider = as_role(Role.PROVIDER)
    acknowledge = _url(tw, "escalation_step_acknowledge", escalation_step_pk=step.pk)
    body = provider.get(page_url).content.decode()
    assert acknowledge in body and "Contractual remedies" in body
    assert provider.post(acknowledge).status_code == 302
    step.refresh_from_db()
    assert step.acknowledged_by == tw.user(Role.PROVIDER)
    history_url = _url(tw, "escalation_step_history", escalation_step_pk=step.pk)
    assert history_url in provider.get(page_url).content.decode()
    history = provider.get(history_url).content.decode()
    assert "Acknowledged by the provider" in history and "Remedies are due" in history
    assert tw.user(Role.EXECUTIVE).full_name in history


def test_the_provider_of_another_contract_sees_nothing(world, as_role, propose):
    tw = world.a
    step = propose(to_level=1, reason="Unexplained missed visits QQPROVONE")
    other = world.a.members["provider_p2"]
    from django.test import Client

    client = Client()
    client.force_login(other.user)
    assert (
        client.get(_url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk)).status_code
        == 404
    )
    ack = _url(tw, "escalation_step_acknowledge", escalation_step_pk=step.pk)
    assert client.post(ack).status_code == 404


def test_the_ladder_page_is_read_by_internal_roles_and_edited_by_the_admin(world, as_role):
    tw = world.a
    for role in (Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR):
        body = as_role(role).get(_url(tw, "ladder_detail")).content.decode()
        assert "Enhanced monitoring" in body and "Edit the ladder" not in body
    assert as_role(Role.PROVIDER).get(_url(tw, "ladder_detail")).status_code == 404
    assert (
        as_role(Role.COMMISSIONER).post(_url(tw, "ladder_detail"), {"reason": "x"}).status_code
        == 403
    )
    admin = as_role(Role.ADMIN)
    default = admin.get(_url(tw, "ladder_detail")).content.decode()
    assert "Adopt the default ladder and edit it" in default
    assert not LadderVersion.objects.exists()  # reading wrote nothing
    adopted = admin.post(_url(tw, "ladder_detail"), {"reason": "To write it our way"})
    v1 = LadderVersion.objects.get(tenant=tw.tenant)
    assert adopted["Location"] == _url(tw, "ladder_revise", ladder_version_pk=v1.pk)
    assert v1.created_by == tw.user(Role.ADMIN) and v1.note == "To write it our way"
    assert "Edit the ladder" in admin.get(_url(tw, "ladder_detail")).content.decode()
    url = _url(tw, "ladder_revise", ladder_version_pk=v1.pk)
    form = admin.get(url)
    assert form.status_code == 200
    fields = form.context["form"].fields
    data = {name: fields[name].initial for name in fields if name != "reason"}
    data = {k: v for k, v in data.items() if v not in (None, False)}
    data = {k: ("on" if v is True else v) for k, v in data.items()}
    data["level_2_name"] = "Enhanced oversight"
    refused = admin.post(url, {**data, "level_2_name": "", "reason": "Rename"})
    assert refused.status_code == 400 and LadderVersion.objects.count() == 1
    saved = admin.post(url, {**data, "reason": "The board's words"})
    assert saved.status_code == 302
    v2 = LadderVersion.objects.get(tenant=tw.tenant, number=2)
    assert v2.stages.get(level=2).name == "Enhanced oversight"
    assert v2.stages.get(level=4).executive_approval_required
    assert v1.stages.get(level=2).name == "Enhanced monitoring"
    old = admin.get(_url(tw, "ladder_version_detail", ladder_version_pk=v1.pk)).content.decode()
    assert "not in force" in old and "Edit the ladder" not in old


@pytest.mark.parametrize("role", [Role.COMMISSIONER, Role.PROVIDER, Role.ADMIN])
def test_reading_the_escalation_pages_writes_nothing(world, client_for, row_counts, role):
    """Before any step, the default ladder is shown, not written."""
    tw = world.a
    client = client_for(tw.members[role])
    contract = tw.p1.contract
    urls = [
        _url(tw, "contract_escalation", contract_pk=contract.pk),
        _url(tw, "contract_dashboard", contract_pk=contract.pk),
        _url(tw, "ladder_detail"),
        _url(tw, "api-ladder-list"),
        _url(tw, "api-escalation-list"),
    ]
    if role != Role.PROVIDER:
        urls.append(_url(tw, "escalation_propose", contract_pk=contract.pk))
    client.get(urls[0])  # signing in writes the user's last login
    before = row_counts()
    for url in urls:
        assert client.get(url).status_code in (200, 403, 404), url
    assert row_counts() == before
    page = client.get(urls[0]).content.decode()
    assert "Routine monitoring" in page and "The default ladder" in page


def test_the_dashboard_shows_the_level_and_the_last_steps(world, as_role, propose):
    tw = world.a
    propose(to_level=1, reason="First concern raised QQPROVONE")
    body = (
        as_role(Role.EXECUTIVE)
        .get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
        .content.decode()
    )
    assert 'id="escalation-heading"' in body
    assert "Level 1" in body and "Informal concern" in body
    assert "First concern raised" in body
    assert _url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk) in body


def test_the_escalation_page_reads_in_a_fixed_number_of_queries(
    world, as_role, propose, django_assert_max_num_queries
):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk)
    propose(to_level=1)
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for level, day in ((2, 40), (1, 80), (2, 120), (1, 160)):
        with clock.pinned(clock.today() + dt.timedelta(days=day)):
            propose(
                to_level=level,
                recovery_evidence="On target" if level == 1 else "",
                next_review_on=clock.today() + dt.timedelta(days=30),
            )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_a_signal_lever_opens_the_propose_form_with_the_signal_ticked(world, as_role, signal_on):
    import re

    tw = world.a
    own, other = signal_on(tw.p1.contract), signal_on(tw.p2.contract)
    propose = _url(tw, "escalation_propose", contract_pk=tw.p1.contract.pk)
    lever = f"{propose}?signal={own.pk}"
    client = as_role(Role.COMMISSIONER)
    dashboard = client.get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
    assert f'href="{lever}"' in dashboard.content.decode()
    detail = client.get(_url(tw, "signal_detail", signal_pk=own.pk)).content.decode()
    assert "Act on this signal" in detail and f'href="{lever}"' in detail

    ticked = re.compile(r'<input[^>]*name="signals"[^>]*>')
    checked = [
        tag for tag in ticked.findall(client.get(lever).content.decode()) if "checked" in tag
    ]
    assert len(checked) == 1 and f'value="{own.pk}"' in checked[0]
    # Another contract's signal is not offered, so nothing comes ticked.
    form = client.get(f"{propose}?signal={other.pk}").content.decode()
    assert not [tag for tag in ticked.findall(form) if "checked" in tag]


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.EXECUTIVE, Role.AUDITOR])
def test_roles_that_cannot_propose_are_offered_no_lever(world, as_role, signal_on, role):
    tw = world.a
    signal = signal_on(tw.p1.contract)
    client = as_role(role)
    dashboard = client.get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
    detail = client.get(_url(tw, "signal_detail", signal_pk=signal.pk))
    for page in (dashboard, detail):
        assert page.status_code == 200
        assert "Propose escalation" not in page.content.decode()
