"""Formal notices both ways through the domain layer (escalation/notices.py):
the level-3 rule, the provider's own notices, who responds, late responses,
closing and withdrawing, history and notifications; and the notice_overdue
signal rule through the signals engine."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation import notices
from escalation.models import FormalNotice, NoticeDirection, NoticeStatus
from oversight import clock
from oversight.models import Notification, Role

pytestmark = pytest.mark.django_db


def _at_level(propose, level: int, **over):
    return propose(
        to_level=level,
        justification="Informal contact brought nothing" if level > 1 else "",
        **over,
    )


@pytest.fixture
def issue(world):
    """``issue(role=…, **fields)``: a notice on tenant A's P1 contract."""

    def _issue(*, role=Role.COMMISSIONER, member=None, contract=None, **over):
        tw = world.a
        data = {
            "concerns": "Missed visits for three months",
            "required_actions": "Recruit two carers and report weekly",
        }
        if (member or tw.members[role]).role == Role.PROVIDER:
            data.update(
                ground="late_payment",
                concerns="Invoices for March and April unpaid",
                required_actions="Pay both invoices",
                response_due_on=clock.today() + dt.timedelta(days=10),
            )
        data.update(over)
        return notices.notice_issue(
            membership=member or tw.members[role], contract=contract or tw.p1.contract, **data
        )

    return _issue


def _messages(error: ValidationError) -> dict[str, str]:
    return {k: " ".join(v) for k, v in error.message_dict.items()}


# --- issuing ---------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 1, 2])
def test_a_commissioners_notice_below_level_3_is_refused_and_writes_nothing(
    world, propose, issue, row_counts, level
):
    if level:
        _at_level(propose, level)
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        issue()
    message = _messages(refused.value)["contract"]
    assert f"is at escalation level {level}" in message
    assert "issued at level 3 (formal performance notice) or above" in message
    assert row_counts() == before


def test_at_level_3_the_notice_defaults_to_the_stages_response_days(world, propose, issue):
    tw = world.a
    step = _at_level(propose, 3)
    notice = issue(step=step)
    assert notice.direction == NoticeDirection.TO_PROVIDER
    assert notice.status == NoticeStatus.ISSUED
    assert notice.response_due_on == clock.today() + dt.timedelta(days=step.stage.response_days)
    assert notice.step == step
    record = notice.history.get()
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert "Formal notice issued" in record.history_change_reason
    # The provider's members hear of it (by email too); the commissioning side does not.
    told = Notification.objects.filter(kind=notices.NOTICE_KIND)
    assert {n.user for n in told} == {tw.user(Role.PROVIDER)}
    assert notice.get_absolute_url() in told.get().url


def test_the_issuer_may_set_the_deadline_but_not_in_the_past(world, propose, issue, row_counts):
    _at_level(propose, 3)
    chosen = clock.today() + dt.timedelta(days=21)
    assert issue(response_due_on=chosen).response_due_on == chosen
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        issue(response_due_on=clock.today())
    assert "must be after today" in _messages(refused.value)["response_due_on"]
    assert row_counts() == before


def test_a_step_of_another_contract_is_refused(world, propose, issue, row_counts):
    tw = world.a
    _at_level(propose, 3)
    other = _at_level(propose, 1, contract=tw.p2.contract)
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        issue(step=other)
    assert (
        f"Link a step in effect on {tw.p1.contract.reference}" in (_messages(refused.value)["step"])
    )
    assert row_counts() == before


def test_the_provider_raises_its_own_notice_at_any_level(world, issue):
    tw = world.a
    notice = issue(role=Role.PROVIDER)
    assert notice.direction == NoticeDirection.TO_COMMISSIONER
    assert notice.ground == "late_payment"
    assert notice.issued_by == tw.user(Role.PROVIDER)
    told = {n.user for n in Notification.objects.filter(kind=notices.NOTICE_KIND)}
    assert told == {tw.user(Role.COMMISSIONER), tw.user(Role.ADMIN)}


def test_a_providers_notice_needs_a_ground_and_a_deadline_at_level_0(world, issue, row_counts):
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        issue(role=Role.PROVIDER, ground="", response_due_on=None, concerns=" ")
    errors = _messages(refused.value)
    assert "Say what the notice is about: one of late_payment" in errors["ground"]
    assert "the contract's current level sets none" in errors["response_due_on"]
    assert "Describe the concerns" in errors["concerns"]
    assert row_counts() == before


def test_a_provider_cannot_raise_a_notice_on_another_providers_contract(world, issue, row_counts):
    tw = world.a
    before = row_counts()
    with pytest.raises(PermissionDenied):
        issue(role=Role.PROVIDER, contract=tw.p2.contract)
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR])
def test_executives_and_auditors_issue_no_notice(world, propose, issue, role):
    _at_level(propose, 3)
    with pytest.raises(PermissionDenied):
        issue(role=role)
    assert not FormalNotice.objects.exists()


# --- responding, closing, withdrawing -----------------------------------------------


def test_only_the_provider_responds_to_the_commissioners_notice(world, propose, issue):
    tw = world.a
    _at_level(propose, 3)
    notice = issue()
    for role in (Role.COMMISSIONER, Role.ADMIN, Role.EXECUTIVE):
        with pytest.raises(PermissionDenied):
            notices.notice_respond(membership=tw.members[role], notice=notice, response="Done")
    with pytest.raises(PermissionDenied):
        notices.notice_respond(membership=tw.members["provider_p2"], notice=notice, response="x")
    answered = notices.notice_respond(
        membership=tw.members[Role.PROVIDER], notice=notice, response="Two carers recruited"
    )
    assert (answered.status, answered.responded_late) == (NoticeStatus.RESPONDED, False)
    assert answered.responded_by == tw.user(Role.PROVIDER)
    record = answered.history.order_by("-history_id").first()
    assert (record.history_user, record.history_change_reason) == (
        tw.user(Role.PROVIDER),
        f"Responded by {tw.user(Role.PROVIDER)}",
    )
    told = Notification.objects.filter(
        kind=notices.NOTICE_KIND, dedupe_key=f"formal-notice:{notice.pk}:responded"
    )
    assert {n.user for n in told} == {tw.user(Role.COMMISSIONER), tw.user(Role.ADMIN)}


def test_the_commissioner_answers_the_providers_notice(world, issue):
    tw = world.a
    notice = issue(role=Role.PROVIDER)
    with pytest.raises(PermissionDenied):
        notices.notice_respond(membership=tw.members[Role.PROVIDER], notice=notice, response="x")
    answered = notices.notice_respond(
        membership=tw.members[Role.COMMISSIONER], notice=notice, response="Paid on the 3rd"
    )
    assert answered.status == NoticeStatus.RESPONDED


def test_a_response_after_the_deadline_is_accepted_and_marked_late(world, issue):
    tw = world.a
    notice = issue(role=Role.PROVIDER)
    with clock.pinned(notice.response_due_on + dt.timedelta(days=2)):
        answered = notices.notice_respond(
            membership=tw.members[Role.COMMISSIONER], notice=notice, response="Paid late, sorry"
        )
    assert (answered.status, answered.responded_late) == (NoticeStatus.RESPONDED, True)
    reason = answered.history.order_by("-history_id").first().history_change_reason
    assert reason.endswith("after the deadline")


def test_an_empty_response_or_a_second_one_is_refused(world, issue, row_counts):
    tw = world.a
    notice = issue(role=Role.PROVIDER)
    commissioner = tw.members[Role.COMMISSIONER]
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        notices.notice_respond(membership=commissioner, notice=notice, response="  ")
    assert "Write the response" in _messages(refused.value)["response"]
    assert row_counts() == before
    notices.notice_respond(membership=commissioner, notice=notice, response="Paid")
    with pytest.raises(ValidationError) as refused:
        notices.notice_respond(membership=commissioner, notice=notice, response="Paid again")
    assert (
        "This notice is responded: it cannot become responded"
        in (_messages(refused.value)["status"])
    )


def test_the_issuer_closes_a_responded_notice_with_a_note(world, propose, issue, row_counts):
    tw = world.a
    _at_level(propose, 3)
    notice = issue()
    commissioner = tw.members[Role.COMMISSIONER]
    with pytest.raises(ValidationError) as refused:
        notices.notice_close(membership=commissioner, notice=notice, note="Early")
    assert (
        "This notice is issued, awaiting response: it cannot become closed"
        in (_messages(refused.value)["status"])
    )
    notices.notice_respond(membership=tw.members[Role.PROVIDER], notice=notice, response="Done")
    with pytest.raises(PermissionDenied):  # the provider did not issue it
        notices.notice_close(membership=tw.members[Role.PROVIDER], notice=notice, note="Done")
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        notices.notice_close(membership=commissioner, notice=notice, note="")
    assert "Say why the notice is closed" in _messages(refused.value)["close_note"]
    assert row_counts() == before
    closed = notices.notice_close(membership=commissioner, notice=notice, note="Rota checked")
    assert (closed.status, closed.closed_by, closed.close_note) == (
        NoticeStatus.CLOSED,
        commissioner.user,
        "Rota checked",
    )
    assert closed.closed_at is not None
    reasons = [h.history_change_reason for h in closed.history.order_by("history_id")]
    assert reasons[-1] == f"Closed by {commissioner.user}: Rota checked"
    assert len(reasons) == 3  # issued, responded, closed


def test_the_provider_withdraws_its_own_notice_awaiting_response(world, issue):
    tw = world.a
    notice = issue(role=Role.PROVIDER)
    with pytest.raises(PermissionDenied):
        notices.notice_withdraw(
            membership=tw.members[Role.COMMISSIONER], notice=notice, note="Not valid"
        )
    withdrawn = notices.notice_withdraw(
        membership=tw.members[Role.PROVIDER], notice=notice, note="The invoices were paid"
    )
    assert withdrawn.status == NoticeStatus.WITHDRAWN and withdrawn.withdrawn_at is not None
    with pytest.raises(ValidationError):
        notices.notice_respond(
            membership=tw.members[Role.COMMISSIONER], notice=notice, response="x"
        )


def test_another_tenants_member_cannot_touch_a_notice(world, issue):
    notice = issue(role=Role.PROVIDER)
    with pytest.raises(PermissionDenied):
        notices.notice_respond(
            membership=world.b.members[Role.COMMISSIONER], notice=notice, response="x"
        )
    assert FormalNotice.objects.get().status == NoticeStatus.ISSUED


# --- the signal rule -------------------------------------------------------------


def test_the_rule_finds_overdue_notices_in_one_query(world, propose, issue):
    tw = world.a
    _at_level(propose, 3)
    to_provider = issue()
    to_commissioner = issue(role=Role.PROVIDER)
    answered = issue(role=Role.PROVIDER)
    notices.notice_respond(membership=tw.members[Role.COMMISSIONER], notice=answered, response="x")
    ids = [tw.p1.contract.pk, tw.p2.contract.pk]
    assert notices.overdue_notices_rule(contract_ids=ids, today=to_provider.response_due_on) == []
    later = max(to_provider.response_due_on, to_commissioner.response_due_on) + dt.timedelta(days=3)
    with CaptureQueriesContext(connection) as queries:
        found = notices.overdue_notices_rule(contract_ids=ids, today=later)
    assert len(queries.captured_queries) == 1
    by_key = {f.key: f for f in found}
    assert set(by_key) == {
        f"notice_overdue:{to_provider.pk}",
        f"notice_overdue:{to_commissioner.pk}",
    }
    assert by_key[f"notice_overdue:{to_provider.pk}"].severity == "high"
    assert by_key[f"notice_overdue:{to_commissioner.pk}"].severity == "medium"
    assert "The provider has not responded" in by_key[f"notice_overdue:{to_provider.pk}"].message
    assert notices.overdue_notices_rule(contract_ids=[tw.p2.contract.pk], today=later) == []


def test_a_missed_deadline_raises_a_signal_that_closes_when_answered(world, propose, issue):
    from performance.models import RiskScore, Signal, SignalStatus
    from performance.signal_engine import recompute_signals

    tw = world.a
    _at_level(propose, 3)
    notice = issue()
    with clock.pinned(notice.response_due_on + dt.timedelta(days=1)):
        recompute_signals(tenant_id=tw.tenant.id)
        signal = Signal.objects.get(contract=tw.p1.contract, kind=notices.NOTICE_OVERDUE)
        assert (signal.status, signal.severity) == (SignalStatus.OPEN, "high")
        assert signal.get_kind_display() == "Notice response deadline missed"
        assert signal.message in RiskScore.objects.get(contract=tw.p1.contract).reasons
        notices.notice_respond(
            membership=tw.members[Role.PROVIDER], notice=notice, response="Recruited, late"
        )
        recompute_signals(tenant_id=tw.tenant.id)
    signal.refresh_from_db()
    assert signal.status == SignalStatus.CLOSED
