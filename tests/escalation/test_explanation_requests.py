"""The "Raise a concern with the provider" lever: from a live signal, one step
to a request for explanation (the ladder's level 1, informal concern) with the
signal attached; the same notice machinery as formal notices (the provider
answers in the product, the deadline is tracked, a missed one raises the
notice_overdue signal), allowed at any level, refused to a provider."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from escalation import notices, services
from escalation.models import FormalNotice, NoticeKind, NoticeStatus
from oversight import clock
from oversight.models import Notification, Role

pytestmark = pytest.mark.django_db

ASK = {
    "concerns": "Missed visits have risen three months running",
    "required_actions": "Explain what is behind it and what you are doing about it",
}


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _request(tw, *, role=Role.COMMISSIONER, contract=None, **over):
    return notices.notice_issue(
        membership=tw.members[role],
        contract=contract or tw.p1.contract,
        kind=NoticeKind.EXPLANATION,
        **{**ASK, **over},
    )


def _messages(error: ValidationError) -> dict[str, str]:
    return {k: " ".join(v) for k, v in error.message_dict.items()}


# --- the service -------------------------------------------------------------------


def test_at_level_0_a_request_goes_out_with_level_1s_deadline_and_the_signal(world, signal_on):
    tw = world.a
    # Level 0 sets no response days; the request takes level 1's (5 here).
    services.ladder_adopt(membership=tw.members[Role.ADMIN], reason="To edit it")
    services.ladder_revise(
        membership=tw.members[Role.ADMIN],
        version=services.ladder_for(tw.tenant),
        changes={1: {"response_days": 5}},
        reason="A short first ask",
    )
    signal = signal_on(tw.p1.contract)
    notice = _request(tw, signal_id=signal.pk)
    today = clock.tenant_today(tw.tenant)
    assert notice.kind == NoticeKind.EXPLANATION
    assert notice.direction == "to_provider" and notice.status == NoticeStatus.ISSUED
    assert notice.response_due_on == today + dt.timedelta(days=5)
    assert notice.signal == signal  # a real reference to the signal
    assert notice.signal_text == signal.message
    assert notice.signal_url() == _url(tw, "signal_detail", signal_pk=signal.pk)
    record = notice.history.first()
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert record.history_change_reason == (
        f"Explanation requested by {tw.user(Role.COMMISSIONER)} on signal {signal.pk}"
    )
    told = Notification.objects.get(user=tw.user(Role.PROVIDER))
    assert "asks for an explanation" in told.message


def test_a_formal_notice_below_level_3_is_still_refused(world, row_counts):
    tw = world.a
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        notices.notice_issue(
            membership=tw.members[Role.COMMISSIONER], contract=tw.p1.contract, **ASK
        )
    assert "or ask the provider for an explanation" in _messages(refused.value)["contract"]
    assert row_counts() == before


def test_another_contracts_signal_and_a_providers_request_are_refused(world, signal_on, row_counts):
    tw = world.a
    other = signal_on(tw.p2.contract)
    outsider = signal_on(world.b.p1.contract)
    before = row_counts()
    for signal in (other, outsider):
        with pytest.raises(ValidationError) as refused:
            _request(tw, signal_id=signal.pk)
        assert f"signal {signal.pk} is not one" in _messages(refused.value)["signal"]
    with pytest.raises(ValidationError) as refused:
        notices.notice_issue(
            membership=tw.members[Role.PROVIDER],
            contract=tw.p1.contract,
            kind=NoticeKind.EXPLANATION,
            ground="other",
            response_due_on=clock.today() + dt.timedelta(days=5),
            **ASK,
        )
    assert "is the commissioner's" in _messages(refused.value)["kind"]
    with pytest.raises(PermissionDenied):
        _request(tw, role=Role.EXECUTIVE)
    assert row_counts() == before


def test_the_provider_answers_and_a_missed_deadline_raises_the_overdue_signal(world):
    from performance.models import Signal, SignalStatus
    from performance.signal_engine import recompute_signals

    tw = world.a
    answered = _request(tw)
    missed = _request(tw)
    notices.notice_respond(
        membership=tw.members[Role.PROVIDER],
        notice=answered,
        response="Two carers left in August; agency cover is booked from Monday.",
    )
    answered.refresh_from_db()
    assert (answered.status, answered.responded_by) == (
        NoticeStatus.RESPONDED,
        tw.user(Role.PROVIDER),
    )
    later = missed.response_due_on + dt.timedelta(days=2)
    with clock.pinned(later):
        recompute_signals(tenant_id=tw.tenant.id, today=later)
    overdue = Signal.objects.filter(contract=tw.p1.contract, kind="notice_overdue").exclude(
        status=SignalStatus.CLOSED
    )
    assert [s.evidence["notice"] for s in overdue] == [missed.pk]
    [signal] = overdue
    assert signal.severity == "medium"
    assert signal.message.startswith(
        f"The provider has not answered request for explanation {missed.pk}"
    )
    assert signal.evidence["notice_kind"] == NoticeKind.EXPLANATION


# --- the pages -----------------------------------------------------------------------


def test_the_lever_beside_a_live_signal_opens_the_request_with_the_signal(
    world, as_role, signal_on
):
    tw = world.a
    own, other = signal_on(tw.p1.contract), signal_on(tw.p2.contract)
    page = _url(tw, "notice_request", contract_pk=tw.p1.contract.pk)
    lever = f"{page}?signal={own.pk}"
    client = as_role(Role.COMMISSIONER)
    signal_page = client.get(_url(tw, "signal_detail", signal_pk=own.pk)).content.decode()
    assert f'href="{lever}"' in signal_page and "Raise a concern with the provider" in signal_page
    dashboard = client.get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
    assert f'href="{lever}"' in dashboard.content.decode()
    form = client.get(lever).content.decode()
    assert f"Our monitoring shows: {own.message}" in form
    assert f'<option value="{own.pk}" selected>' in form
    # Another contract's signal is not this contract's: nothing pre-filled.
    form = client.get(f"{page}?signal={other.pk}").content.decode()
    assert "Our monitoring shows" not in form

    response = client.post(page, {**ASK, "signal": own.pk})
    notice = FormalNotice.objects.get()
    assert response.status_code == 302 and response.url == notice.get_absolute_url()
    assert notice.kind == NoticeKind.EXPLANATION and notice.signal_id == own.pk
    detail = client.get(notice.get_absolute_url()).content.decode()
    assert f"Request for explanation {notice.pk}" in detail
    assert f'href="{_url(tw, "signal_detail", signal_pk=own.pk)}"' in detail

    # The provider reads it, with the signal's words, and answers on the page.
    provider = as_role(Role.PROVIDER)
    detail = provider.get(notice.get_absolute_url()).content.decode()
    assert own.message in detail and "Send the response" in detail
    response = provider.post(
        _url(tw, "notice_respond", formal_notice_pk=notice.pk),
        {"response": "Two carers left; agency cover is booked."},
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.RESPONDED


def test_a_bad_request_is_shown_on_the_form_and_writes_nothing(world, as_role, row_counts):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    before = row_counts()
    response = client.post(
        _url(tw, "notice_request", contract_pk=tw.p1.contract.pk),
        {**ASK, "response_due_on": clock.today().isoformat()},
    )
    assert response.status_code == 400
    assert "The response deadline must be after today" in response.content.decode()
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.EXECUTIVE, Role.AUDITOR])
def test_only_the_commissioning_side_asks(world, as_role, signal_on, role):
    tw = world.a
    signal = signal_on(tw.p1.contract)
    client = as_role(role)
    assert client.get(_url(tw, "notice_request", contract_pk=tw.p1.contract.pk)).status_code == 403
    page = client.get(_url(tw, "signal_detail", signal_pk=signal.pk)).content.decode()
    assert "Raise a concern with the provider" not in page


# --- the API -------------------------------------------------------------------------


def test_the_api_asks_for_an_explanation_and_refuses_bad_input(
    world, api_client_for, signal_on, row_counts
):
    tw = world.a
    signal = signal_on(tw.p1.contract)
    client = api_client_for(tw.members[Role.COMMISSIONER])
    url = _url(tw, "api-notice-list")
    before = row_counts()
    bad = client.post(
        url,
        {"contract": tw.p1.contract.pk, "kind": "explanation", "signal": signal.pk + 999, **ASK},
        format="json",
    )
    assert bad.status_code == 400
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert "is not one" in fields["signal"]
    assert row_counts() == before
    made = client.post(
        url,
        {"contract": tw.p1.contract.pk, "kind": "explanation", "signal": signal.pk, **ASK},
        format="json",
        HTTP_X_CHANGE_REASON="Asked on the monthly call",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["kind"], body["kind_label"], body["signal"]) == (
        "explanation",
        "Request for explanation",
        signal.pk,
    )
    assert body["signal_text"] == signal.message
    notice = FormalNotice.objects.get(pk=body["id"])
    assert notice.history.first().history_change_reason == "Asked on the monthly call"
    listed = client.get(url, {"kind": "explanation"}).json()["results"]
    assert [n["id"] for n in listed] == [notice.pk]
    assert client.get(url, {"kind": "formal"}).json()["results"] == []
