"""Improvement plans through the services (escalation/plans.py): every rule
refused with a message naming the field and nothing written; every change and
verification in the history with user and reason; the other side notified;
and the two signal rules."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from escalation import plans
from escalation.models import ActionStatus, ImprovementPlan, PlanAction, PlanStatus
from oversight import clock
from oversight.models import Notification, Role
from tests.escalation.plan_helpers import (
    accepted_values,
    action_input,
    kpi_on,
    month_start,
    open_plan,
)

pytestmark = pytest.mark.django_db


def _refused(row_counts, call, field: str, contains: str = "") -> str:
    before = row_counts()
    with pytest.raises(ValidationError) as error:
        call()
    messages = error.value.message_dict
    assert field in messages, messages
    message = " ".join(messages[field])
    assert contains in message, message
    assert row_counts() == before
    return message


def _last(obj):
    return obj.history.order_by("-history_id").first()


# --- opening a plan --------------------------------------------------------------


def test_a_commissioner_opens_a_plan_with_root_causes_apart_from_symptoms(world):
    tw = world.a
    ck = kpi_on(tw.p1.contract)
    plan = open_plan(tw, actions=[action_input(contract_kpis=[ck.pk])])
    assert plan.status == PlanStatus.DRAFT
    assert plan.symptoms.startswith("Missed visits at 6%")
    assert [c.cause for c in plan.root_causes.order_by("id")] == [
        "Rotas planned one week ahead, so sickness leaves gaps",
        "Two senior carers left and were not replaced",
    ]
    action = plan.actions.get()
    assert action.status == ActionStatus.OPEN and list(action.contract_kpis.all()) == [ck]
    assert {c.kind for c in plan.controls.all()} == {"safeguarding", "continuity"}
    record = _last(plan)
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert record.history_change_reason == "Plan required at enhanced monitoring"
    assert _last(action).history_change_reason == "Plan required at enhanced monitoring"
    # The provider hears of it.
    assert Notification.objects.filter(
        user=tw.p1.member.user, kind=plans.PLAN_NOTICE, message__contains="improvement plan"
    ).exists()


@pytest.mark.parametrize(
    "over, field, contains",
    [
        ({"issue_statement": "  "}, "issue_statement", "State the issue"),
        ({"symptoms": ""}, "symptoms", "symptoms"),
        ({"root_causes": []}, "root_causes", "at least one root cause"),
        (
            {
                "root_causes": [
                    "Missed visits at 6% against a 2% target; families calling the county"
                ]
            },
            "root_causes",
            "repeats the symptoms",
        ),
        ({"settling_periods": 0}, "settling_periods", ""),
        ({"actions": [action_input(lead="")]}, "actions[0].lead", "Action 1: name the person"),
        (
            # A callable: yesterday on the pinned clock, read when the test runs
            # (read when the module was collected, it was the real yesterday).
            lambda: {"actions": [action_input(due_on=clock.today() - dt.timedelta(days=1))]},
            "actions[0].due_on",
            "cannot be before today",
        ),
        (
            {"actions": [action_input(evidence_expected="")]},
            "actions[0].evidence_expected",
            "what evidence",
        ),
        (
            {"controls": [plans.ControlInput(kind="fire", description="Drills")]},
            "controls[0].kind",
            "safeguarding",
        ),
    ],
)
def test_opening_a_plan_refuses_bad_input_and_writes_nothing(
    world, row_counts, over, field, contains
):
    over = over() if callable(over) else over
    _refused(row_counts, lambda: open_plan(world.a, **over), field, contains)


def test_an_action_links_only_its_own_contracts_kpis(world, row_counts):
    tw = world.a
    other = kpi_on(tw.p2.contract)
    message = _refused(
        row_counts,
        lambda: open_plan(tw, actions=[action_input(contract_kpis=[other.pk])]),
        "actions[0].contract_kpis",
    )
    assert tw.p1.contract.reference in message and str(other.pk) in message


def test_only_the_commissioning_side_opens_a_plan(world, row_counts):
    tw = world.a
    for role in (Role.PROVIDER, Role.EXECUTIVE, Role.AUDITOR):
        before = row_counts()
        with pytest.raises(PermissionDenied):
            open_plan(tw, member=tw.members[role])
        assert row_counts() == before
    with pytest.raises(PermissionDenied):
        open_plan(tw, member=world.b.members[Role.COMMISSIONER])


def test_a_plan_is_agreed_once_it_has_actions_and_closed_with_a_note(world, row_counts):
    tw = world.a
    member = tw.members[Role.COMMISSIONER]
    empty = open_plan(tw, actions=[])
    _refused(
        row_counts, lambda: plans.plan_agree(membership=member, plan=empty), "actions", "Add the"
    )
    plan = open_plan(tw)
    plan = plans.plan_agree(membership=member, plan=plan, note="Agreed at the meeting")
    assert plan.status == PlanStatus.AGREED and plan.agreed_by == member.user
    assert _last(plan).history_change_reason.endswith("Agreed at the meeting")
    _refused(row_counts, lambda: plans.plan_agree(membership=member, plan=plan), "status", "agreed")
    _refused(
        row_counts, lambda: plans.plan_close(membership=member, plan=plan, note=" "), "close_note"
    )
    plan = plans.plan_close(membership=member, plan=plan, note="Every milestone met")
    assert plan.status == PlanStatus.CLOSED and plan.closed_at is not None
    # Nothing more is added to a closed plan.
    _refused(
        row_counts,
        lambda: plans.plan_action_add(membership=member, plan=plan, action=action_input()),
        "plan",
        "closed",
    )


# --- an action's life ----------------------------------------------------------------


def test_the_provider_marks_its_action_done_with_evidence_and_the_commissioner_verifies(world):
    tw = world.a
    action = open_plan(tw).actions.get()
    done = plans.action_mark_done(
        membership=tw.p1.member, action=action, evidence="Rotas for December published on the 2nd"
    )
    assert done.status == ActionStatus.DONE and done.done_by == tw.p1.member.user
    record = _last(done)
    assert record.history_user == tw.p1.member.user
    assert record.history_change_reason.startswith(f"Marked done by {tw.p1.member.user}")
    # The commissioning side hears of it.
    assert Notification.objects.filter(
        user=tw.user(Role.COMMISSIONER), kind=plans.PLAN_NOTICE, message__contains="to verify"
    ).exists()
    verified = plans.action_verify(
        membership=tw.members[Role.COMMISSIONER], action=done, note="Checked the rota file"
    )
    assert verified.status == ActionStatus.VERIFIED
    record = _last(verified)
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert (
        record.history_change_reason
        == f"Verified by {tw.user(Role.COMMISSIONER)}: Checked the rota file"
    )
    assert Notification.objects.filter(
        user=tw.p1.member.user, message__contains="was verified"
    ).exists()


def test_marking_done_needs_evidence_and_an_open_action(world, row_counts):
    tw = world.a
    action = open_plan(tw).actions.get()
    _refused(
        row_counts,
        lambda: plans.action_mark_done(membership=tw.p1.member, action=action, evidence="  "),
        "completion_evidence",
        "evidence",
    )
    plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rotas published")
    _refused(
        row_counts,
        lambda: plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Again"),
        "status",
        "done",
    )


def test_a_provider_marks_done_only_its_own_contracts_actions(world, row_counts):
    tw = world.a
    action = open_plan(tw, contract=tw.p2.contract).actions.get()
    before = row_counts()
    with pytest.raises(Http404):
        plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Not mine")
    # The commissioning side does not mark the provider's action done for it.
    with pytest.raises(PermissionDenied):
        plans.action_mark_done(
            membership=tw.members[Role.COMMISSIONER], action=action, evidence="Done for them"
        )
    assert row_counts() == before


def test_only_the_commissioning_side_verifies_or_reopens(world, row_counts):
    tw = world.a
    action = open_plan(tw).actions.get()
    action = plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rotas out")
    before = row_counts()
    for member in (tw.p1.member, tw.members[Role.EXECUTIVE], tw.members[Role.AUDITOR]):
        with pytest.raises(PermissionDenied):
            plans.action_verify(membership=member, action=action)
        with pytest.raises(PermissionDenied):
            plans.action_reopen(membership=member, action=action, reason="No")
    with pytest.raises(PermissionDenied):
        plans.action_verify(membership=world.b.members[Role.COMMISSIONER], action=action)
    assert row_counts() == before


def test_a_reopen_needs_a_reason_and_sends_the_action_back_to_open(world, row_counts):
    tw = world.a
    member = tw.members[Role.COMMISSIONER]
    action = open_plan(tw).actions.get()
    _refused(
        row_counts,
        lambda: plans.action_reopen(membership=member, action=action, reason="Too early"),
        "status",
        "open",
    )
    action = plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rotas out")
    _refused(
        row_counts,
        lambda: plans.action_reopen(membership=member, action=action, reason=" "),
        "reopen_reason",
        "Say why",
    )
    action = plans.action_reopen(
        membership=member, action=action, reason="The rotas cover only two weeks"
    )
    assert action.status == ActionStatus.OPEN and action.reopened_by == member.user
    assert "The rotas cover only two weeks" in _last(action).history_change_reason
    assert Notification.objects.filter(
        user=tw.p1.member.user, message__contains="The rotas cover only two weeks"
    ).exists()
    # Open again, the provider can mark it done again.
    plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Four weeks now")
    statuses = [h.status for h in PlanAction.history.filter(id=action.pk).order_by("history_id")]
    assert statuses == ["open", "done", "open", "done"]


# --- reviews ---------------------------------------------------------------------


def test_a_review_confirms_every_control(world, row_counts):
    tw = world.a
    member = tw.members[Role.COMMISSIONER]
    plan = open_plan(tw)
    safeguarding, continuity = plan.controls.order_by("id")
    review = lambda checks, **over: plans.plan_review(  # noqa: E731
        membership=member,
        plan=plan,
        held_on=over.get("held_on", clock.today()),
        note=over.get("note", "Half the actions verified"),
        checks=checks,
    )
    message = _refused(
        row_counts, lambda: review({safeguarding.pk: plans.CheckInput(True)}), "checks"
    )
    assert "Agency cover on call" in message
    _refused(
        row_counts,
        lambda: review(
            {safeguarding.pk: plans.CheckInput(True), continuity.pk: plans.CheckInput(False)}
        ),
        f"control_{continuity.pk}",
        "what is missing",
    )
    _refused(
        row_counts,
        lambda: review(
            {safeguarding.pk: plans.CheckInput(True), continuity.pk: plans.CheckInput(True)},
            held_on=clock.today() + dt.timedelta(days=1),
        ),
        "held_on",
        "after today",
    )
    done = review(
        {
            safeguarding.pk: plans.CheckInput(True),
            continuity.pk: plans.CheckInput(False, "Agency contract lapsed; renewed Friday"),
        }
    )
    checks = {c.control_id: c for c in done.checks.all()}
    assert checks[safeguarding.pk].in_place and not checks[continuity.pk].in_place
    assert _last(done).history_change_reason.endswith("1 of 2 controls not in place")
    with pytest.raises(PermissionDenied):
        plans.plan_review(
            membership=tw.p1.member, plan=plan, held_on=clock.today(), note="x", checks={}
        )


# --- the signal rules ------------------------------------------------------------


def test_overdue_open_actions_raise_a_signal_until_done(world):
    tw = world.a
    with clock.pinned(clock.now() - dt.timedelta(days=40)):
        plan = open_plan(tw, actions=[action_input(due_on=clock.today() + dt.timedelta(days=5))])
    action = plan.actions.get()
    today = clock.today()
    findings = plans.overdue_actions_rule(contract_ids=[tw.p1.contract.pk], today=today)
    assert len(findings) == 1
    finding = findings[0]
    assert (
        finding.kind == plans.ACTION_OVERDUE and finding.key == f"plan_action_overdue:{action.pk}"
    )
    assert finding.severity == "high"  # 35 days late
    assert "35 days late" in finding.message and "Dana Whitfield" in finding.message
    assert finding.evidence["days_late"] == 35
    plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Done at last")
    assert plans.overdue_actions_rule(contract_ids=[tw.p1.contract.pk], today=today) == []


def test_an_action_a_few_days_late_is_medium_and_a_closed_plan_raises_nothing(world):
    tw = world.a
    with clock.pinned(clock.now() - dt.timedelta(days=10)):
        plan = open_plan(tw, actions=[action_input(due_on=clock.today() + dt.timedelta(days=7))])
    [finding] = plans.overdue_actions_rule(contract_ids=[tw.p1.contract.pk], today=clock.today())
    assert finding.severity == "medium" and "3 days late" in finding.message
    plans.plan_close(membership=tw.members[Role.COMMISSIONER], plan=plan, note="Superseded")
    assert plans.overdue_actions_rule(contract_ids=[tw.p1.contract.pk], today=clock.today()) == []


def test_kpi_effect_compares_after_the_settling_time_with_before_in_the_kpis_direction():
    months = [dt.date(2026, m, 1) for m in range(1, 11)]
    verified = dt.date(2026, 5, 10)  # during May: May counts as before
    lower = dict(name="Missed visits", unit="percentage", direction="lower")
    # before: Jan..May = 6; settling (2): Jun, Jul; after: Aug..Oct
    flat = [6.0] * 10
    effect = plans.kpi_effect(
        list(zip(months, flat, strict=True)), verified_on=verified, settling_periods=2, **lower
    )
    assert (effect.before, effect.before_n, effect.after, effect.after_n) == (6.0, 5, 6.0, 3)
    assert not effect.moved
    better = [6.0] * 5 + [9.0, 9.0] + [5.0] * 3  # the settling months are ignored
    assert plans.kpi_effect(
        list(zip(months, better, strict=True)), verified_on=verified, settling_periods=2, **lower
    ).moved
    # A 5% improvement is the threshold: 6 → 5.7 is exactly 5%, not enough; 5.69 is.
    edge = [6.0] * 7 + [5.7] * 3
    assert not plans.kpi_effect(
        list(zip(months, edge, strict=True)), verified_on=verified, settling_periods=2, **lower
    ).moved
    assert plans.kpi_effect(
        list(zip(months, [6.0] * 7 + [5.69] * 3, strict=True)),
        verified_on=verified,
        settling_periods=2,
        **lower,
    ).moved
    # Higher is better reads the other way.
    higher = dict(lower, direction="higher")
    assert not plans.kpi_effect(
        list(zip(months, better, strict=True)), verified_on=verified, settling_periods=2, **higher
    ).moved
    # Too soon to judge (one value after the settling time), or no direction: None.
    assert (
        plans.kpi_effect(
            list(zip(months[:8], flat[:8], strict=True)),
            verified_on=verified,
            settling_periods=2,
            **lower,
        )
        is None
    )
    assert (
        plans.kpi_effect(
            list(zip(months, flat, strict=True)),
            verified_on=verified,
            settling_periods=2,
            **dict(lower, direction="none"),
        )
        is None
    )


def test_a_verified_action_that_did_not_move_its_kpi_raises_a_signal_with_the_figures(world):
    tw = world.a
    ck = kpi_on(tw.p1.contract)
    # Eight months of values up to last month: 6% throughout.
    accepted_values(ck, [6.0] * 8)
    verified_on = month_start(clock.today(), 6) + dt.timedelta(days=9)  # 6 months ago
    with clock.pinned(verified_on - dt.timedelta(days=20)):
        plan = open_plan(tw, actions=[action_input(contract_kpis=[ck.pk])])
        action = plan.actions.get()
        plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rotas out")
    with clock.pinned(verified_on):
        plans.action_verify(membership=tw.members[Role.COMMISSIONER], action=action)
    [finding] = plans.no_effect_rule(contract_ids=[tw.p1.contract.pk], today=clock.today())
    assert finding.kind == plans.PLAN_NO_EFFECT and finding.key == f"plan_no_effect:{action.pk}"
    assert "Missed visits 6.0% before (mean of 3), 6.0% after (mean of 3; lower is better)" in (
        finding.message
    ), finding.message
    assert "settling time of 2 periods" in finding.message
    assert finding.evidence["kpis"][0]["before"] == 6.0


def test_a_verified_action_whose_kpi_improved_raises_nothing(world):
    tw = world.a
    ck = kpi_on(tw.p1.contract)
    accepted_values(ck, [6.0, 6.0, 6.0, 5.0, 4.0, 3.0, 3.0, 3.0])
    verified_on = month_start(clock.today(), 6) + dt.timedelta(days=9)
    with clock.pinned(verified_on - dt.timedelta(days=20)):
        plan = open_plan(tw, actions=[action_input(contract_kpis=[ck.pk])])
        action = plan.actions.get()
        plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rotas out")
    with clock.pinned(verified_on):
        plans.action_verify(membership=tw.members[Role.COMMISSIONER], action=action)
    assert plans.no_effect_rule(contract_ids=[tw.p1.contract.pk], today=clock.today()) == []


def test_the_rules_are_registered_and_feed_the_signals_engine(world):
    from oversight import registry

    keys = {rule.key for rule in registry.signal_rules()}
    assert {"escalation.plan_action_overdue", "escalation.plan_no_effect"} <= keys
    kinds = dict(registry.signal_kinds())
    assert kinds["plan_action_overdue"] == "Improvement-plan action overdue"
    assert kinds["plan_no_effect"] == "Verified plan actions did not move their KPIs"


def test_a_plans_reads_are_scoped_by_membership(world):
    tw = world.a
    mine = open_plan(tw)
    theirs = open_plan(tw, contract=tw.p2.contract)
    assert set(plans.plans_visible(membership=tw.p1.member)) == {mine}
    assert set(plans.plans_visible(membership=tw.members[Role.AUDITOR])) == {mine, theirs}
    assert not plans.plans_visible(membership=world.b.members[Role.ADMIN]).exists()
    assert not plans.plans_visible(membership=None).exists()
    assert ImprovementPlan.objects.count() == 2
