"""The ladder and a contract's escalation record through the services: every
rule of a step refused with a message naming its field and nothing written;
weekly reporting and back; history with user and reason on every write."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from escalation import services
from escalation.models import EscalationRecord, EscalationStep, LadderVersion, StepStatus
from oversight import clock
from oversight.models import Membership, Notification, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _refused(call, field: str, row_counts, *, contains: str = "") -> str:
    """Run a service call that must be refused on ``field``; nothing written."""
    before = row_counts()
    with pytest.raises(ValidationError) as caught:
        call()
    assert field in caught.value.message_dict, caught.value.message_dict
    message = " ".join(caught.value.message_dict[field])
    assert contains in message
    assert row_counts() == before
    return message


def _latest(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


# --- the ladder -----------------------------------------------------------------


def test_the_default_ladder_is_written_once_on_first_use(world):
    version = services.ladder_for(world.a.tenant)
    assert services.ladder_for(world.a.tenant) == version
    stages = list(version.stages.order_by("level"))
    assert [(s.level, s.name) for s in stages] == [
        (0, "Routine monitoring"),
        (1, "Informal concern"),
        (2, "Enhanced monitoring"),
        (3, "Formal performance notice"),
        (4, "Contractual remedies"),
        (5, "Exit planning / termination"),
    ]
    assert [s.reporting_frequency for s in stages[:3]] == ["monthly", "monthly", "weekly"]
    assert [s.executive_approval_required for s in stages] == [False] * 4 + [True] * 2
    assert stages[3].plan_required and not stages[2].plan_required
    assert LadderVersion.objects.filter(tenant=world.b.tenant).count() == 0
    assert _latest(version).history_change_reason.startswith("The default escalation ladder")


def test_the_admin_adopts_the_default_ladder_once(world, row_counts):
    tw = world.a
    admin = tw.members[Role.ADMIN]
    with pytest.raises(PermissionDenied):
        services.ladder_adopt(membership=tw.members[Role.COMMISSIONER], reason="x")
    _refused(lambda: services.ladder_adopt(membership=admin, reason=" "), "reason", row_counts)
    version = services.ladder_adopt(membership=admin, reason="To edit it")
    assert (version.number, version.created_by) == (1, admin.user)
    assert _latest(version).history_user == admin.user
    _refused(
        lambda: services.ladder_adopt(membership=admin, reason="Again"),
        "version",
        row_counts,
        contains="already written",
    )


def test_an_admin_edit_writes_a_new_version_and_the_old_one_stays(world, propose):
    tw = world.a
    step = propose(to_level=1)
    v1 = step.stage.version
    v2 = services.ladder_revise(
        membership=tw.members[Role.ADMIN],
        version=v1,
        changes={1: {"name": "Early concern", "response_days": 5}},
        reason="Our board's words",
    )
    assert v2.number == 2
    assert v2.stages.get(level=1).name == "Early concern"
    assert v2.stages.get(level=1).response_days == 5
    assert v2.stages.get(level=2).name == "Enhanced monitoring"
    # The step keeps the definition it was taken under.
    step.refresh_from_db()
    assert step.stage.version == v1
    assert step.stage.name == "Informal concern"
    assert v1.stages.get(level=1).name == "Informal concern"
    record = _latest(v2)
    assert (record.history_user, record.history_change_reason) == (
        tw.user(Role.ADMIN),
        "Our board's words",
    )
    assert _latest(v2.stages.get(level=1)).history_user == tw.user(Role.ADMIN)
    # Steps from now on use version 2.
    later = propose(
        to_level=2, reason="Still no explanation", next_review_on=clock.today() + dt.timedelta(7)
    )
    assert later.stage.version == v2


def test_ladder_edits_are_refused_with_the_field_named(world, row_counts):
    tw = world.a
    admin = tw.members[Role.ADMIN]
    v1 = services.ladder_for(tw.tenant)

    def revise(changes, version=v1, reason="Edit"):
        return lambda: services.ladder_revise(
            membership=admin, version=version, changes=changes, reason=reason
        )

    _refused(revise({2: {"name": "Enhanced monitoring"}}), "stages", row_counts, contains="same")
    _refused(revise({7: {"name": "Level seven"}}), "stages", row_counts, contains="no level 7")
    _refused(revise({2: {"name": ""}}), "level_2_name", row_counts, contains="Level 2")
    _refused(
        revise({3: {"reporting_frequency": "daily"}}),
        "level_3_reporting_frequency",
        row_counts,
        contains="Level 3",
    )
    _refused(revise({1: {"name": "Early"}}, reason=" "), "reason", row_counts)
    services.ladder_revise(membership=admin, version=v1, changes={1: {"name": "A"}}, reason="x")
    _refused(revise({1: {"name": "B"}}), "version", row_counts, contains="not the ladder in force")


@pytest.mark.parametrize("role", [Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_only_the_admin_edits_the_ladder(world, role):
    v1 = services.ladder_for(world.a.tenant)
    with pytest.raises(PermissionDenied):
        services.ladder_revise(
            membership=world.a.members[role], version=v1, changes={1: {"name": "X"}}, reason="x"
        )
    assert LadderVersion.objects.filter(tenant=world.a.tenant).count() == 1


# --- the rules of a step ---------------------------------------------------------


def test_a_one_level_step_takes_effect_and_records_everything(world, propose):
    tw = world.a
    step = propose(
        to_level=1,
        evidence=[
            services.EvidenceItem(kind="missed_action", text="Staffing plan not sent by 1 Nov"),
            services.EvidenceItem(kind="provider_concern", text="Provider flagged two vacancies"),
        ],
    )
    assert step.status == StepStatus.EFFECTIVE
    assert (step.from_level, step.to_level) == (0, 1)
    assert step.decided_by == tw.user(Role.COMMISSIONER)
    assert step.effective_at == clock.now()
    assert EscalationRecord.objects.get(contract=tw.p1.contract).level == 1
    assert [(e.kind, e.text) for e in step.evidence.order_by("id")] == [
        ("missed_action", "Staffing plan not sent by 1 Nov"),
        ("provider_concern", "Provider flagged two vacancies"),
    ]
    record = _latest(step)
    assert record.history_type == "+"
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert record.history_change_reason == step.reason
    # The provider's member is told, and the step records when.
    assert step.provider_notified_at == clock.now()
    note = Notification.objects.get(user=tw.user(Role.PROVIDER), kind=services.STEP_NOTICE)
    assert tw.p1.contract.reference in note.message
    assert not Notification.objects.filter(
        user=world.a.members["provider_p2"].user, kind=services.STEP_NOTICE
    ).exists()


def test_skipping_a_level_needs_a_justification(world, propose, row_counts):
    message = _refused(lambda: propose(to_level=3), "justification", row_counts)
    assert "3 levels at once" in message and "from 0 to 3" in message
    step = propose(to_level=3, justification="A safeguarding incident with harm")
    assert step.status == StepStatus.EFFECTIVE and step.to_level == 3


def test_a_step_needs_a_reason_a_proportionality_note_and_a_later_review(
    world, propose, row_counts
):
    _refused(lambda: propose(reason="  "), "reason", row_counts)
    _refused(lambda: propose(proportionality_note=""), "proportionality_note", row_counts)
    message = _refused(lambda: propose(next_review_on=clock.today()), "next_review_on", row_counts)
    assert "after today" in message
    _refused(lambda: propose(to_level=0), "to_level", row_counts, contains="already at level 0")
    _refused(lambda: propose(to_level=9), "to_level", row_counts, contains="0, 1, 2, 3, 4, 5")


def test_level_four_waits_for_an_executive_who_approves_it(world, propose, row_counts):
    tw = world.a
    step = propose(to_level=4, justification="Plan failed twice")
    assert step.status == StepStatus.PENDING
    assert step.effective_at is None and step.provider_notified_at is None
    assert EscalationRecord.objects.get(contract=tw.p1.contract).level == 0
    assert Notification.objects.filter(
        user=tw.user(Role.EXECUTIVE), kind=services.APPROVAL_NOTICE
    ).exists()
    assert not Notification.objects.filter(kind=services.STEP_NOTICE).exists()
    # Another step cannot be proposed while one waits.
    _refused(lambda: propose(to_level=1), "to_level", row_counts, contains="waiting")
    executive = tw.members[Role.EXECUTIVE]
    step = services.escalation_step_approve(
        membership=executive, step=step, note="Proportionate: remedies are due"
    )
    assert step.status == StepStatus.EFFECTIVE
    assert step.decided_by == executive.user
    assert step.effective_at == clock.now()
    assert EscalationRecord.objects.get(contract=tw.p1.contract).level == 4
    record = _latest(step)
    assert record.history_user == executive.user
    assert "Proportionate: remedies are due" in record.history_change_reason
    assert step.provider_notified_at == clock.now()
    assert Notification.objects.filter(
        user=tw.user(Role.PROVIDER), kind=services.STEP_NOTICE
    ).exists()


def test_the_proposer_cannot_approve_their_own_step(world, propose, row_counts):
    """Someone who proposed as a commissioner and is an executive now."""
    tw = world.a
    person = UserFactory(full_name="Proposer Later Executive")
    member = Membership.objects.create(user=person, tenant=tw.tenant, role=Role.COMMISSIONER)
    step = propose(member=member, to_level=4, justification="Plan failed twice")
    member.role = Role.EXECUTIVE
    member.save()
    for service in (services.escalation_step_approve, services.escalation_step_reject):
        message = _refused(
            lambda service=service: service(membership=member, step=step, note="Mine"),
            "decided_by",
            row_counts,
        )
        assert "cannot be the proposer" in message
    # The step moves the contract to weekly returns on its proposer's authority,
    # which they no longer hold: another executive is told so, nothing is written.
    _refused(
        lambda: services.escalation_step_approve(membership=tw.members[Role.EXECUTIVE], step=step),
        "status",
        row_counts,
        contains="proposer can no longer change contracts",
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR, Role.PROVIDER])
def test_only_an_executive_approves_or_rejects(world, propose, role):
    step = propose(to_level=4, justification="Plan failed twice")
    for service in (services.escalation_step_approve, services.escalation_step_reject):
        with pytest.raises(PermissionDenied):
            service(membership=world.a.members[role], step=step, note="No")
    step.refresh_from_db()
    assert step.status == StepStatus.PENDING


def test_an_executive_rejects_with_a_reason_and_the_contract_stays(world, propose, row_counts):
    tw = world.a
    executive = tw.members[Role.EXECUTIVE]
    step = propose(to_level=4, justification="Plan failed twice")
    _refused(
        lambda: services.escalation_step_reject(membership=executive, step=step, note=" "),
        "decision_note",
        row_counts,
    )
    step = services.escalation_step_reject(
        membership=executive, step=step, note="Try enhanced monitoring first"
    )
    assert step.status == StepStatus.REJECTED and step.rejected_at == clock.now()
    assert EscalationRecord.objects.get(contract=tw.p1.contract).level == 0
    assert _latest(step).history_user == executive.user
    assert "Try enhanced monitoring first" in _latest(step).history_change_reason
    # A rejected step cannot then be approved.
    message = _refused(
        lambda: services.escalation_step_approve(membership=executive, step=step),
        "status",
        row_counts,
    )
    assert "rejected" in message


def test_de_escalation_needs_evidence_of_recovery(world, propose, row_counts):
    propose(to_level=1)
    message = _refused(lambda: propose(to_level=0), "recovery_evidence", row_counts)
    assert "from level 1 to 0" in message
    step = propose(to_level=0, recovery_evidence="Three months on target, vacancies filled")
    assert step.status == StepStatus.EFFECTIVE and step.direction == "de-escalation"


def test_evidence_must_be_this_contracts_own(world, propose, row_counts, signal_on):
    tw = world.a
    own = signal_on(tw.p1.contract)
    others = [signal_on(tw.p2.contract), signal_on(world.b.p1.contract)]
    for other in others:
        message = _refused(
            lambda other=other: propose(
                evidence=[services.EvidenceItem(kind="signal", object_id=other.pk)]
            ),
            "evidence",
            row_counts,
        )
        assert f"{tw.p1.contract.reference}'s signals" in message
        assert str(other.pk) in message
        assert other.contract.reference not in message
    _refused(
        lambda: propose(evidence=[services.EvidenceItem(kind="incident", text=" ")]),
        "evidence",
        row_counts,
        contains="Item 1: describe the incident",
    )
    _refused(
        lambda: propose(evidence=[services.EvidenceItem(kind="rumour", text="x")]),
        "evidence",
        row_counts,
        contains="'rumour' is not a kind",
    )
    step = propose(evidence=[services.EvidenceItem(kind="signal", object_id=own.pk)])
    evidence = step.evidence.get()
    assert (evidence.item, evidence.text) == (own, own.message)


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_only_commissioners_and_admins_propose(world, propose, role):
    with pytest.raises(PermissionDenied):
        propose(role=role)
    assert not EscalationStep.objects.exists()


def test_a_contract_of_another_tenant_is_refused(world, propose):
    with pytest.raises(PermissionDenied):
        propose(contract=world.b.p1.contract)
    assert not EscalationStep.objects.exists()


# --- weekly reporting and back ----------------------------------------------------


def test_enhanced_monitoring_makes_returns_weekly_and_leaving_it_monthly_again(world, propose):
    from performance.models import ReportingPeriod
    from performance.services import contracts_calendar_sync

    tw = world.a
    contract = tw.p1.contract
    with clock.pinned(dt.date(2026, 11, 20)):  # periods up to November's
        contracts_calendar_sync(contracts=[contract], user=None, reason="Calendar")
    monthly = set(ReportingPeriod.objects.filter(contract=contract).values_list("frequency"))
    assert monthly == {("monthly",)}

    propose(to_level=1)
    with clock.pinned(dt.date(2026, 12, 20)):
        step = propose(to_level=2, next_review_on=dt.date(2027, 1, 15))
    contract.refresh_from_db()
    assert contract.reporting_frequency == "weekly"
    assert (step.reporting_set_to, step.reporting_before) == ("weekly", "monthly")
    weekly = ReportingPeriod.objects.filter(contract=contract, frequency="weekly")
    assert weekly.exists()  # the calendar followed at once (the contract-saved hook)
    change = _latest(contract)
    assert change.history_user == tw.user(Role.COMMISSIONER)
    assert "returns become weekly" in change.history_change_reason

    # Level 3 is weekly too: nothing changes.
    with clock.pinned(dt.date(2027, 1, 10)):
        propose(to_level=3, next_review_on=dt.date(2027, 2, 1))
    contract.refresh_from_db()
    assert contract.reporting_frequency == "weekly"

    with clock.pinned(dt.date(2027, 2, 20)):
        back = propose(
            to_level=1,
            justification="Recovered on every measure",
            recovery_evidence="Eight weeks on target",
            next_review_on=dt.date(2027, 3, 20),
        )
    contract.refresh_from_db()
    assert contract.reporting_frequency == "monthly"
    assert (back.reporting_set_to, back.reporting_before) == ("monthly", "weekly")
    last_weekly = weekly.order_by("-end").first()
    with clock.pinned(dt.date(2027, 5, 10)):
        contracts_calendar_sync(contracts=[contract], user=None, reason="Calendar")
    later = ReportingPeriod.objects.filter(contract=contract, start__gt=last_weekly.end)
    assert later.exists()
    assert set(later.values_list("frequency", flat=True)) == {"monthly"}


def test_a_contract_weekly_by_its_terms_stays_weekly_when_it_leaves_a_weekly_level(world, propose):
    contract = world.a.p1.contract
    contract.reporting_frequency = "weekly"
    contract.save()
    propose(to_level=1)
    propose(to_level=2)
    step = propose(
        to_level=1, recovery_evidence="On target", next_review_on=clock.today() + dt.timedelta(9)
    )
    contract.refresh_from_db()
    assert contract.reporting_frequency == "weekly"
    assert step.reporting_set_to == ""


def test_an_approved_step_switches_reporting_on_the_proposers_authority(world, propose):
    tw = world.a
    step = propose(to_level=4, justification="Safeguarding harm")
    contract = tw.p1.contract
    contract.refresh_from_db()
    assert contract.reporting_frequency == "monthly"  # nothing until approved
    services.escalation_step_approve(membership=tw.members[Role.EXECUTIVE], step=step)
    contract.refresh_from_db()
    assert contract.reporting_frequency == "weekly"
    assert _latest(contract).history_user == tw.user(Role.COMMISSIONER)


# --- the provider's acknowledgement ------------------------------------------------


def test_the_provider_acknowledges_a_step_in_effect_once(world, propose, row_counts):
    tw = world.a
    provider = tw.members[Role.PROVIDER]
    pending = propose(to_level=4, justification="Plan failed")
    _refused(
        lambda: services.escalation_step_acknowledge(membership=provider, step=pending),
        "acknowledged_at",
        row_counts,
        contains="waiting for executive approval",
    )
    services.escalation_step_reject(
        membership=tw.members[Role.EXECUTIVE], step=pending, note="Not yet"
    )
    step = propose(to_level=1)
    with pytest.raises(PermissionDenied):
        services.escalation_step_acknowledge(membership=world.a.members["provider_p2"], step=step)
    step = services.escalation_step_acknowledge(membership=provider, step=step)
    assert (step.acknowledged_at, step.acknowledged_by) == (clock.now(), provider.user)
    assert _latest(step).history_user == provider.user
    _refused(
        lambda: services.escalation_step_acknowledge(membership=provider, step=step),
        "acknowledged_at",
        row_counts,
        contains="was acknowledged on",
    )
