"""The formal-notice pages: the issue form by role and level, a refusal shown on
the form with nothing written, responding and closing from the notice's page,
the links from the escalation page and the contract, and the dashboard panel's
fixed query count."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import notices
from escalation.models import FormalNotice, NoticeStatus
from oversight import clock
from oversight.models import Role

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _form(**over) -> dict:
    data = {
        "concerns": "Missed visits for three months",
        "required_actions": "Recruit two carers and report weekly",
    }
    data.update(over)
    return data


def _level_3(propose):
    return propose(to_level=3, justification="Informal contact brought nothing")


def test_below_level_3_the_commissioner_is_told_to_escalate_first(world, as_role, row_counts):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "notice_issue", contract_pk=tw.p1.contract.pk)
    page = client.get(url).content.decode()
    assert "is at escalation level 0" in page and "Propose the escalation step first" in page
    before = row_counts()
    response = client.post(url, _form())
    assert response.status_code == 400
    assert "is at escalation level 0" in response.content.decode()
    assert row_counts() == before


def test_the_commissioner_issues_from_the_escalation_page(world, as_role, propose):
    tw = world.a
    step = _level_3(propose)
    client = as_role(Role.COMMISSIONER)
    escalation = client.get(_url(tw, "contract_escalation", contract_pk=tw.p1.contract.pk))
    notices_url = _url(tw, "contract_notices", contract_pk=tw.p1.contract.pk)
    assert notices_url in escalation.content.decode()
    listing = client.get(notices_url).content.decode()
    issue_url = _url(tw, "notice_issue", contract_pk=tw.p1.contract.pk)
    assert issue_url in listing and "Issue a notice to the provider" in listing
    form = client.get(issue_url).content.decode()
    assert 'name="ground"' not in form and 'name="step"' in form
    response = client.post(issue_url, _form(step=str(step.pk)))
    assert response.status_code == 302
    notice = FormalNotice.objects.get()
    assert notice.step == step
    assert response["Location"] == notice.get_absolute_url()
    page = client.get(notice.get_absolute_url()).content.decode()
    assert "Missed visits for three months" in page
    assert 'name="response"' not in page  # the provider responds, not the commissioner


def test_a_refused_deadline_is_shown_on_the_form_and_writes_nothing(
    world, as_role, propose, row_counts
):
    tw = world.a
    _level_3(propose)
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "notice_issue", contract_pk=tw.p1.contract.pk)
    before = row_counts()
    response = client.post(url, _form(response_due_on=clock.today().isoformat()))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body and "must be after today" in body
    assert 'id="response_due_on-error"' in body
    assert row_counts() == before


def test_the_provider_raises_responds_and_the_commissioner_closes(world, as_role, propose):
    tw = world.a
    provider = as_role(Role.PROVIDER)
    url = _url(tw, "notice_issue", contract_pk=tw.p1.contract.pk)
    form = provider.get(url).content.decode()
    assert 'name="ground"' in form
    response = provider.post(
        url,
        _form(
            ground="data_not_shared",
            response_due_on=(clock.today() + dt.timedelta(days=7)).isoformat(),
        ),
    )
    assert response.status_code == 302
    own = FormalNotice.objects.get()
    assert own.direction == "to_commissioner"
    page = provider.get(own.get_absolute_url()).content.decode()
    assert "Withdraw the notice" in page and 'name="response"' not in page

    commissioner = as_role(Role.COMMISSIONER)
    page = commissioner.get(own.get_absolute_url()).content.decode()
    assert 'name="response"' in page
    empty = commissioner.post(_url(tw, "notice_respond", formal_notice_pk=own.pk), {})
    assert empty.status_code == 400 and "Nothing was saved" in empty.content.decode()
    done = commissioner.post(
        _url(tw, "notice_respond", formal_notice_pk=own.pk), {"response": "Data shared today"}
    )
    assert done.status_code == 302
    closed = provider.post(
        _url(tw, "notice_close", formal_notice_pk=own.pk), {"close-note": "Data received"}
    )
    assert closed.status_code == 302
    own.refresh_from_db()
    assert own.status == NoticeStatus.CLOSED
    history = provider.get(_url(tw, "notice_history", formal_notice_pk=own.pk))
    assert history.status_code == 200 and "Data received" in history.content.decode()


def test_another_providers_member_cannot_reach_the_notice(world, client_for, as_role):
    tw = world.a
    own = notices.notice_issue(
        membership=tw.members[Role.PROVIDER],
        contract=tw.p1.contract,
        ground="late_payment",
        concerns="Invoices unpaid",
        required_actions="Pay them",
        response_due_on=clock.today() + dt.timedelta(days=7),
    )
    other = client_for(tw.members["provider_p2"])
    assert other.get(own.get_absolute_url()).status_code == 404
    assert (
        other.post(_url(tw, "notice_withdraw", formal_notice_pk=own.pk), {"withdraw-note": "x"})
    ).status_code == 404
    own.refresh_from_db()
    assert own.status == NoticeStatus.ISSUED


def test_the_dashboard_panel_lists_notices_awaiting_response(
    world, as_role, propose, django_assert_max_num_queries
):
    tw = world.a
    _level_3(propose)
    client = as_role(Role.EXECUTIVE)
    url = _url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk)
    body = client.get(url).content.decode()
    assert 'id="notices-awaiting-heading"' in body and "No notices awaiting response" in body
    commissioner = tw.members[Role.COMMISSIONER]
    first = notices.notice_issue(
        membership=commissioner,
        contract=tw.p1.contract,
        concerns="Missed visits",
        required_actions="Recruit",
    )
    with django_assert_max_num_queries(200) as few:
        body = client.get(url).content.decode()
    assert first.get_absolute_url() in body
    for days in (3, 5, 8):
        notices.notice_issue(
            membership=commissioner,
            contract=tw.p1.contract,
            concerns=f"Concern {days}",
            required_actions="Act",
            response_due_on=clock.today() + dt.timedelta(days=days),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert body.count("Commissioner to provider</a>") == 4
    with clock.pinned(first.response_due_on + dt.timedelta(days=1)):
        assert "(overdue)" in client.get(url).content.decode()


def test_the_contract_page_links_to_the_notices(world, as_role):
    tw = world.a
    body = as_role(Role.AUDITOR).get(tw.p1.contract.get_absolute_url()).content.decode()
    assert _url(tw, "contract_notices", contract_pk=tw.p1.contract.pk) in body
