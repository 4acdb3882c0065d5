"""The one workflow helper (oversight/workflow.py): a status changes only along
its declared map, only for a role that may make the change, always with history
and its reason, and its notices go out once the transaction commits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contracts.models import Contract, ContractStatus
from oversight import workflow
from oversight.models import Role
from performance import services as _declares_the_returns_workflow  # noqa: F401
from performance.models import ReportingPeriod, Return, ReturnSource, ReturnStatus

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _return(tw, *, status=ReturnStatus.SUBMITTED, start=date(2026, 1, 1)) -> Return:
    contract = tw.p1.contract
    end = start + timedelta(days=27)
    period = ReportingPeriod.objects.create(
        tenant=tw.tenant,
        contract=contract,
        frequency="monthly",
        start=start,
        end=end,
        due_date=end + timedelta(days=15),
        missing_after=end + timedelta(days=45),
    )
    return Return.objects.create(
        tenant=tw.tenant,
        contract=contract,
        period=period,
        status=status,
        source=ReturnSource.WEB,
        created_by=tw.members["provider"].user,
    )


def _accept(ret, membership, **kwargs):
    options = {"action": "return.review", "reason": "Figures check out"} | kwargs
    return workflow.transition(ret, ReturnStatus.ACCEPTED, membership=membership, **options)


def test_a_change_the_map_does_not_declare_is_refused_naming_both_statuses(world):
    tw = world.a
    ret = _return(tw, status=ReturnStatus.ACCEPTED)
    before = ret.history.count()
    with pytest.raises(ValidationError) as refused:
        workflow.transition(
            ret,
            ReturnStatus.QUERIED,
            membership=tw.members["commissioner"],
            action="return.review",
            reason="Second thoughts",
        )
    assert refused.value.message_dict == {"status": ["A accepted return cannot become queried."]}
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.ACCEPTED
    assert ret.history.count() == before


def test_the_default_refusal_reads_as_a_sentence():
    flow = workflow.Workflow(
        model=Return,
        noun="return",
        transitions={
            "draft": frozenset({"submitted"}),
            "submitted": frozenset({"accepted", "queried"}),
            "queried": frozenset(),
            "accepted": frozenset(),
        },
    )
    assert flow.allows("submitted", "queried")
    with pytest.raises(ValidationError) as refused:
        flow.check("accepted", "queried")
    assert refused.value.message_dict == {
        "status": ["A return that is accepted cannot become queried."]
    }


def test_a_map_must_name_real_statuses_and_every_one_of_them():
    with pytest.raises(ValueError, match=r"Return.status has no status \['paused'\]"):
        workflow.Workflow(
            model=Return,
            noun="return",
            transitions={s: frozenset() for s in ["draft", "submitted", "queried", "paused"]},
        )
    with pytest.raises(ValueError, match=r"Return.status: declare \['accepted'\]"):
        workflow.Workflow(
            model=Return,
            noun="return",
            transitions={s: frozenset() for s in ["draft", "submitted", "queried"]},
        )


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE, Role.PROVIDER])
def test_a_role_the_action_does_not_allow_is_refused_and_nothing_changes(world, role):
    tw = world.a
    ret = _return(tw)
    before = ret.history.count()
    with pytest.raises(PermissionDenied, match=r"Your role cannot do this \(return.review\)"):
        _accept(ret, tw.members[role])
    ret.refresh_from_db()
    assert (ret.status, ret.reviewed_at) == (ReturnStatus.SUBMITTED, None)
    assert ret.history.count() == before


def test_a_member_of_another_organisation_is_refused(world):
    ret = _return(world.a)
    with pytest.raises(PermissionDenied, match="not one of your organisation's"):
        _accept(ret, world.b.members["commissioner"])
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED


def test_the_change_is_saved_with_history_its_reason_and_when(world):
    tw = world.a
    reviewer = tw.members["commissioner"]
    ret = _return(tw)
    _accept(
        ret,
        reviewer,
        reason="Figures check out",
        now=MOMENT,
        fields={"reviewed_by": reviewer.user, "review_comment": "Thanks"},
    )
    ret.refresh_from_db()
    assert (ret.status, ret.reviewed_at, ret.reviewed_by, ret.review_comment) == (
        ReturnStatus.ACCEPTED,
        MOMENT,
        reviewer.user,
        "Thanks",
    )
    record = ret.history.first()
    assert record.history_change_reason == "Figures check out"
    assert record.history_user == reviewer.user
    assert record.status == ReturnStatus.ACCEPTED


def test_a_change_without_a_reason_is_refused(world):
    tw = world.a
    ret = _return(tw)
    with pytest.raises(ValidationError, match="Say why this change is made"):
        _accept(ret, tw.members["commissioner"], reason="  ")
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED


def test_the_notices_run_once_the_transaction_commits(world, django_capture_on_commit_callbacks):
    tw = world.a
    ret = _return(tw)
    told = []
    with django_capture_on_commit_callbacks() as callbacks:
        _accept(ret, tw.members["commissioner"], on_commit=told.append)
        assert told == []  # not before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert told == [ret]


def test_a_refused_change_sends_no_notice(world, django_capture_on_commit_callbacks):
    tw = world.a
    ret = _return(tw, status=ReturnStatus.QUERIED)
    told = []
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError),
    ):
        _accept(ret, tw.members["commissioner"], on_commit=told.append)
    assert (callbacks, told) == ([], [])


def test_only_a_system_change_may_have_no_member(world):
    tw = world.a
    ret = _return(tw)
    with pytest.raises(PermissionDenied):
        _accept(ret, None)
    with pytest.raises(ValueError, match="made by no member"):
        _accept(ret, tw.members["commissioner"], system=True)
    _accept(ret, None, system=True, action=None, reason="Accepted by the nightly run")
    record = ret.history.first()
    assert (record.status, record.history_user) == (ReturnStatus.ACCEPTED, None)
    assert record.history_change_reason == "Accepted by the nightly run"


def test_a_bulk_change_checks_every_row_before_writing_any(world):
    tw = world.a
    ready = _return(tw)
    done = _return(tw, status=ReturnStatus.ACCEPTED, start=date(2026, 2, 1))
    with pytest.raises(ValidationError, match="A accepted return cannot become accepted"):
        workflow.transition_bulk(
            [ready, done],
            ReturnStatus.ACCEPTED,
            membership=None,
            system=True,
            action=None,
            reason="Bulk",
        )
    ready.refresh_from_db()
    assert ready.status == ReturnStatus.SUBMITTED

    workflow.transition_bulk(
        [ready],
        ReturnStatus.ACCEPTED,
        membership=None,
        system=True,
        action=None,
        reason="Bulk",
        now=MOMENT,
    )
    ready.refresh_from_db()
    assert (ready.status, ready.reviewed_at) == (ReturnStatus.ACCEPTED, MOMENT)
    assert ready.history.first().history_change_reason == "Bulk"


# --- the contract register's status ---------------------------------------------------


def test_a_terminated_contract_cannot_be_made_active_again_and_nothing_changes(world):
    from contracts import services as contract_services

    tw = world.a
    contract = tw.p1.contract
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.TERMINATED)
    before = contract.history.count()
    with pytest.raises(ValidationError) as refused:
        contract_services.contract_update(
            membership=tw.members["commissioner"],
            contract=contract,
            data={"status": "active", "title": "Revived"},
            reason="Restart",
        )
    assert refused.value.message_dict == {
        "status": ["A contract that is terminated cannot become active."]
    }
    contract.refresh_from_db()
    assert (contract.status, contract.history.count()) == (ContractStatus.TERMINATED, before)
    assert contract.title != "Revived"


def test_suspending_a_contract_saves_the_edit_once_with_its_reason(world):
    from contracts import services as contract_services

    tw = world.a
    contract = tw.p1.contract
    assert contract.status == ContractStatus.ACTIVE
    before = contract.history.count()
    contract_services.contract_update(
        membership=tw.members["commissioner"],
        contract=contract,
        data={"status": "suspended", "end_date": date(2028, 12, 31)},
        reason="Safeguarding concern",
    )
    contract.refresh_from_db()
    assert (contract.status, contract.end_date) == (ContractStatus.SUSPENDED, date(2028, 12, 31))
    assert contract.history.count() == before + 1
    record = contract.history.first()
    assert record.history_change_reason == "Safeguarding concern"
    assert record.history_user == tw.members["commissioner"].user


def test_a_contract_status_change_still_checks_the_rest_of_the_edit(world):
    from contracts import services as contract_services

    tw = world.a
    contract = tw.p1.contract
    with pytest.raises(ValidationError) as refused:
        contract_services.contract_update(
            membership=tw.members["commissioner"],
            contract=contract,
            data={"status": "ended", "provider": world.b.p1.provider},
            reason="Ended",
        )
    assert refused.value.message_dict == {"provider": ["Choose one from this organisation."]}
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_an_auditor_cannot_change_a_contracts_status(world):
    from contracts import services as contract_services

    tw = world.a
    contract = tw.p1.contract
    with pytest.raises(PermissionDenied, match=r"Your role cannot do this \(contract.change\)"):
        contract_services.contract_update(
            membership=tw.members["auditor"],
            contract=contract,
            data={"status": "suspended"},
            reason="Pause",
        )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
