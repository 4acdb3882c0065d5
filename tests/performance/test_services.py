"""Services behind the KPI pages and the return review: permissions, the
rules they enforce, and history with a reason for every write."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from performance.models import ContractKpi, Kpi, PhaseTarget, Return, ReturnStatus
from performance.services import (
    MAX_PRIORITY_KPIS,
    contract_kpi_save,
    kpi_save,
    phase_targets_set,
    return_accept,
    return_query,
    return_submit,
)
from tests.factories import ServiceTypeFactory
from tests.performance.test_validation import build_returns_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def rw(world):
    return build_returns_world(world)


def _kpi(**kwargs) -> Kpi:
    fields = dict(
        code="complaints", name="Complaints", definition="Formal complaints received.",
        unit="count", direction="lower", category="quality",
    )  # fmt: skip
    return Kpi(**(fields | kwargs))


def test_kpi_save_is_for_admins_and_keeps_history(world):
    admin, commissioner = world.a.members["admin"], world.a.members["commissioner"]
    with pytest.raises(PermissionDenied):
        kpi_save(membership=commissioner, kpi=_kpi(), reason="try")
    kpi = kpi_save(
        membership=admin,
        kpi=_kpi(),
        service_types=[world.a.service_type],
        reason="Agreed at the KPI board",
    )
    assert kpi.tenant == world.a.tenant
    assert list(kpi.service_types.all()) == [world.a.service_type]
    assert kpi.history.first().history_change_reason == "Agreed at the KPI board"
    with pytest.raises(ValidationError) as error:
        kpi_save(membership=admin, kpi=_kpi(), reason="again")
    assert "already exists" in str(error.value)


def test_kpi_save_refuses_another_tenants_service_type(world):
    other = ServiceTypeFactory(tenant=world.b.tenant)
    with pytest.raises(ValidationError, match="service types of this organisation"):
        kpi_save(membership=world.a.members["admin"], kpi=_kpi(), service_types=[other], reason="x")
    assert not Kpi.objects.filter(code="complaints").exists()


def test_at_most_five_priority_measures(rw):
    commissioner = rw.commissioner
    added = []
    for n in range(MAX_PRIORITY_KPIS):  # one is already a priority; the fifth add fails
        kpi = Kpi.objects.create(
            tenant=rw.contract.tenant, code=f"k{n}", name=f"k{n}", definition="d",
            unit="count", direction="lower", category="quality",
        )  # fmt: skip
        ck = ContractKpi(contract=rw.contract, kpi=kpi, is_priority=True, target=Decimal(1))
        if n < MAX_PRIORITY_KPIS - 1:
            added.append(contract_kpi_save(membership=commissioner, contract_kpi=ck, reason="r"))
        else:
            with pytest.raises(ValidationError) as error:
                contract_kpi_save(membership=commissioner, contract_kpi=ck, reason="r")
            assert "at most 5 priority measures" in str(error.value)
    assert ContractKpi.objects.filter(contract=rw.contract, is_priority=True).count() == 5
    # Re-saving one of the five is not counted against itself.
    added[0].target = Decimal(2)
    contract_kpi_save(membership=commissioner, contract_kpi=added[0], reason="new target")


def test_phase_targets_are_replaced_with_history_and_may_not_overlap(rw):
    ck = ContractKpi.objects.get(contract=rw.contract, kpi__code="days_to_first_contact")
    member = rw.commissioner
    phase = dict(phase="Implementation", from_month=1, to_month=6, target=Decimal(12))
    phase["amber_tolerance"] = Decimal(2)
    saved = phase_targets_set(membership=member, contract_kpi=ck, phases=[phase], reason="Go-live")
    first = saved[0]
    assert PhaseTarget.objects.get().history.first().history_change_reason == "Go-live"

    mature = dict(phase="Bedding in", from_month=7, to_month=None, target=Decimal(9))
    mature["amber_tolerance"] = Decimal(1)
    phase_targets_set(
        membership=member,
        contract_kpi=ck,
        phases=[{**phase, "pk": first.pk, "target": Decimal(11)}, mature],
        reason="Eased",
    )
    assert sorted(ck.phase_targets.values_list("phase", "target")) == [
        ("Bedding in", Decimal(9)),
        ("Implementation", Decimal(11)),
    ]
    for bad, message in [
        ([phase, {**mature, "from_month": 6}], "overlap"),
        ([{**phase, "from_month": 8}], "ends before it starts"),
    ]:
        with pytest.raises(ValidationError, match=message):
            phase_targets_set(membership=member, contract_kpi=ck, phases=bad, reason="x")
    # Removing every phase deletes them, with a history record of the deletion.
    phase_targets_set(membership=member, contract_kpi=ck, phases=[], reason="Mature now")
    assert not ck.phase_targets.exists()
    deleted = PhaseTarget.history.filter(history_type="-")
    assert {h.history_change_reason for h in deleted} == {"Mature now"}
    with pytest.raises(PermissionDenied):
        phase_targets_set(
            membership=rw.provider, contract_kpi=ck, phases=[phase], reason="provider"
        )


def test_a_contract_kpi_and_its_phase_targets_are_saved_together_or_not_at_all(rw):
    ck = ContractKpi.objects.get(contract=rw.contract, kpi__code="days_to_first_contact")
    records, target = ck.history.count(), ck.target
    assert target != Decimal(5)
    ck.target = Decimal(5)
    early = dict(phase="Implementation", from_month=1, to_month=6, target=Decimal(12))
    overlapping = dict(phase="Bedding in", from_month=6, to_month=None, target=Decimal(9))
    with pytest.raises(ValidationError, match="overlap"):
        contract_kpi_save(
            membership=rw.commissioner,
            contract_kpi=ck,
            phases=[{**early, "amber_tolerance": 0}, {**overlapping, "amber_tolerance": 0}],
            reason="Targets agreed",
        )
    # The refused phases took the KPI's own change back with them.
    ck.refresh_from_db()
    assert (ck.target, ck.history.count()) == (target, records)
    assert not PhaseTarget.objects.exists()

    ck.target = Decimal(5)
    saved = contract_kpi_save(
        membership=rw.commissioner,
        contract_kpi=ck,
        phases=[{**early, "amber_tolerance": Decimal(2)}],
        reason="Targets agreed",
    )
    assert Decimal(saved.target) == Decimal(5)
    assert list(saved.phase_targets.values_list("phase", "target")) == [
        ("Implementation", Decimal(12))
    ]
    assert saved.history.first().history_change_reason == "Targets agreed"
    assert PhaseTarget.history.get().history_change_reason == "Targets agreed"
    # Without phases the phase targets are left as they are.
    saved.target = Decimal(6)
    contract_kpi_save(membership=rw.commissioner, contract_kpi=saved, reason="Tighter")
    assert saved.phase_targets.count() == 1


def _return(rw, status) -> Return:
    return Return.objects.create(
        tenant=rw.contract.tenant,
        contract=rw.contract,
        period=rw.period,
        status=status,
        source="web",
        created_by=rw.provider.user,
    )


def test_return_review_follows_the_declared_workflow(rw):
    draft = _return(rw, ReturnStatus.DRAFT)
    with pytest.raises(ValidationError, match="A draft return cannot become accepted"):
        return_accept(membership=rw.commissioner, ret=draft)
    with pytest.raises(PermissionDenied):
        return_submit(membership=rw.world.a.members["auditor"], ret=draft)
    submitted = return_submit(membership=rw.provider, ret=draft)
    with pytest.raises(PermissionDenied):
        return_accept(membership=rw.provider, ret=submitted)
    with pytest.raises(ValidationError, match="Say what the provider must correct"):
        return_query(membership=rw.commissioner, ret=submitted, comment="  ")
    queried = return_query(membership=rw.commissioner, ret=submitted, comment="Check turnover")
    assert (queried.status, queried.review_comment) == ("queried", "Check turnover")
    assert queried.reviewed_by == rw.commissioner.user
    with pytest.raises(ValidationError, match="A queried return cannot become accepted"):
        return_accept(membership=rw.commissioner, ret=queried)
    reasons = [
        h.history_change_reason for h in queried.history.order_by("history_date", "history_id")
    ]
    assert reasons[-2:] == ["Return submitted", "Check turnover"]


# --- segregation of duties (issue 7) ---------------------------------------------------


def _outcome(rw, membership):
    from performance.validation import ReturnHeader, ValueRow, validate
    from tests.performance.test_validation import PERIOD, valid_values

    rows = [
        ValueRow(where=f"values[{i}]", contract_ref=rw.contract.reference, period=PERIOD, **v)
        for i, v in enumerate(valid_values(rw.contract))
    ]
    header = ReturnHeader(contract_ref=rw.contract.reference, period=PERIOD)
    outcome = validate(membership=membership, headers=[header], rows=rows)
    assert outcome.ok, outcome.problems
    return outcome


def _enter_on_behalf(rw, membership, *, submit=True, reason="The provider's portal login failed"):
    from performance.models import ReturnSource
    from performance.services import returns_write

    (ret,) = returns_write(
        membership=membership,
        outcome=_outcome(rw, membership),
        source=ReturnSource.WEB,
        submit=submit,
        reason="Return submitted (web form)",
        on_behalf_reason=reason,
    )
    return ret


def test_a_commissioner_enters_a_return_only_with_a_reason_and_nothing_is_written_without(rw):
    from performance.models import ReturnSource
    from performance.services import returns_write

    with pytest.raises(PermissionDenied, match="A provider submits its own returns"):
        returns_write(
            membership=rw.commissioner,
            outcome=_outcome(rw, rw.commissioner),
            source=ReturnSource.WEB,
            on_behalf_reason="   ",
        )
    assert not Return.objects.exists()
    ret = _enter_on_behalf(rw, rw.commissioner)
    assert ret.status == ReturnStatus.SUBMITTED
    assert ret.entered_on_behalf_by == rw.commissioner.user
    assert ret.submitted_by == rw.commissioner.user
    assert ret.on_behalf_text == (
        f"Entered on behalf of {rw.contract.provider.name} by {rw.commissioner.user}, "
        "reason: The provider's portal login failed"
    )
    record = ret.history.latest("history_date")
    assert record.history_user == rw.commissioner.user
    assert record.history_change_reason == (
        "Return submitted (web form); entered on the provider's behalf: "
        "The provider's portal login failed"
    )


def test_a_provider_cannot_claim_to_enter_its_return_on_someone_elses_behalf(rw):
    from performance.models import ReturnSource
    from performance.services import returns_write

    with pytest.raises(PermissionDenied):
        returns_write(
            membership=rw.provider,
            outcome=_outcome(rw, rw.provider),
            source=ReturnSource.WEB,
            on_behalf_reason="Because",
        )
    assert not Return.objects.exists()


def test_a_providers_own_return_is_unchanged(rw):
    from performance.models import ReturnSource
    from performance.services import returns_write

    (ret,) = returns_write(
        membership=rw.provider, outcome=_outcome(rw, rw.provider), source=ReturnSource.WEB
    )
    assert ret.status == ReturnStatus.SUBMITTED
    assert ret.entered_on_behalf_by is None and ret.on_behalf_reason == ""
    assert ret.on_behalf_text == ""
    return_accept(membership=rw.commissioner, ret=ret)


def test_nobody_accepts_or_queries_a_return_they_entered(rw):
    ret = _enter_on_behalf(rw, rw.commissioner)
    with pytest.raises(PermissionDenied, match="You entered this return on the provider's behalf"):
        return_accept(membership=rw.commissioner, ret=ret)
    with pytest.raises(PermissionDenied, match="You entered this return on the provider's behalf"):
        return_query(membership=rw.commissioner, ret=ret, comment="Looks wrong")
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED and ret.reviewed_by is None
    # Someone else in the organisation may.
    admin = rw.world.a.members["admin"]
    accepted = return_accept(membership=admin, ret=ret, comment="Checked against the email")
    assert (accepted.status, accepted.reviewed_by) == (ReturnStatus.ACCEPTED, admin.user)


def test_nobody_accepts_a_draft_entered_by_another_that_they_submitted(rw):
    """The admin submits the commissioner's on-behalf draft: neither may accept it."""
    draft = _enter_on_behalf(rw, rw.commissioner, submit=False)
    assert draft.status == ReturnStatus.DRAFT
    admin = rw.world.a.members["admin"]
    submitted = return_submit(membership=admin, ret=draft)
    assert submitted.submitted_by == admin.user
    with pytest.raises(PermissionDenied, match="You entered or submitted this return"):
        return_accept(membership=admin, ret=submitted)
    with pytest.raises(PermissionDenied, match="You entered this return"):
        return_accept(membership=rw.commissioner, ret=submitted)
    assert Return.objects.get(pk=draft.pk).status == ReturnStatus.SUBMITTED


def test_a_commissioner_cannot_submit_a_providers_own_draft(rw):
    draft = _return(rw, ReturnStatus.DRAFT)
    with pytest.raises(PermissionDenied, match="This draft is the provider's own"):
        return_submit(membership=rw.commissioner, ret=draft)
    assert Return.objects.get(pk=draft.pk).status == ReturnStatus.DRAFT
    # A commissioner may take over the draft only as an on-behalf entry (it
    # then records who and why), and the provider may still submit it.
    taken = _enter_on_behalf(rw, rw.commissioner, submit=False)
    assert taken.pk == draft.pk and taken.entered_on_behalf_by == rw.commissioner.user
    submitted = return_submit(membership=rw.provider, ret=taken)
    assert submitted.entered_on_behalf_by == rw.commissioner.user
    assert submitted.submitted_by == rw.provider.user


# --- entering returns: one validation and one write for every way in ---------------------


def _value_rows(rw, **changed):
    from performance.validation import ValueRow
    from tests.performance.test_validation import PERIOD, valid_values

    rows = []
    for i, values in enumerate(valid_values(rw.contract)):
        values = {**values, **changed.get(values["kpi_code"], {})}
        rows.append(
            ValueRow(
                where=f"values[{i}]", contract_ref=rw.contract.reference, period=PERIOD, **values
            )
        )
    return rows


def _header(rw):
    from performance.validation import ReturnHeader
    from tests.performance.test_validation import PERIOD

    return ReturnHeader(contract_ref=rw.contract.reference, period=PERIOD)


def test_returns_enter_validates_and_writes_the_return_with_history(rw):
    from performance.models import ReturnSource
    from performance.services import returns_enter

    (ret,) = returns_enter(
        membership=rw.provider,
        headers=[_header(rw)],
        rows=_value_rows(rw),
        source=ReturnSource.API,
    )
    assert (ret.status, ret.version, ret.source) == (ReturnStatus.SUBMITTED, 1, "api")
    assert ret.submitted_by == rw.provider.user
    assert ret.values.count() == len(_value_rows(rw))
    assert ret.history.get().history_change_reason == "Return submitted (api)"
    assert {v.history.get().history_change_reason for v in ret.values.all()} == {
        "Return submitted (api)"
    }


def test_returns_enter_reports_the_callers_problems_with_the_validations_and_writes_nothing(rw):
    from oversight.errors import ImportRejected, Problem
    from performance.models import ReturnSource
    from performance.services import returns_enter
    from tests.performance.test_validation import counts

    before = counts()
    found = Problem("row 9", "narrative", "a different narrative is on row 2")
    with pytest.raises(ImportRejected) as rejected:
        returns_enter(
            membership=rw.provider,
            headers=[_header(rw)],
            rows=_value_rows(rw, staff_turnover={"value": "lots"}),
            problems=[found],
            source=ReturnSource.SPREADSHEET,
        )
    problems = rejected.value.problems
    assert problems[0] == found
    assert [(p.where, p.field) for p in problems[1:]] == [("values[3]", "value")]
    assert "'lots'" in problems[1].message
    assert counts() == before
    # A caller's problem alone is enough for nothing to be written.
    with pytest.raises(ImportRejected) as rejected:
        returns_enter(
            membership=rw.provider,
            headers=[_header(rw)],
            rows=_value_rows(rw),
            problems=[found],
            source=ReturnSource.SPREADSHEET,
        )
    assert rejected.value.problems == [found]
    assert counts() == before


def test_returns_enter_refuses_a_role_that_enters_no_returns_before_reading_anything(rw):
    from performance.models import ReturnSource
    from performance.services import returns_enter
    from tests.performance.test_validation import counts

    before = counts()
    for role in ("auditor", "executive"):
        with pytest.raises(PermissionDenied):
            returns_enter(
                membership=rw.world.a.members[role],
                headers=[_header(rw)],
                rows=_value_rows(rw, staff_turnover={"value": "lots"}),
                source=ReturnSource.WEB,
            )
    # The commissioner enters one only on the provider's behalf, saying why.
    with pytest.raises(PermissionDenied, match="A provider submits its own returns"):
        returns_enter(
            membership=rw.commissioner,
            headers=[_header(rw)],
            rows=_value_rows(rw),
            source=ReturnSource.WEB,
        )
    assert counts() == before
    (ret,) = returns_enter(
        membership=rw.commissioner,
        headers=[_header(rw)],
        rows=_value_rows(rw),
        source=ReturnSource.WEB,
        on_behalf_reason="The provider emailed its figures",
    )
    assert ret.entered_on_behalf_by == rw.commissioner.user


def test_a_submission_that_lost_its_period_to_another_is_raced_and_writes_nothing(rw):
    """Validated before another submission for the period was written (as two
    requests at once are): the write refuses it as ``ReturnsRaced``, the API's 409."""
    from oversight.errors import ImportRejected
    from performance.models import ReturnSource
    from performance.services import ReturnsRaced, returns_enter, returns_write
    from performance.validation import validate
    from tests.performance.test_validation import counts

    stale = validate(membership=rw.provider, headers=[_header(rw)], rows=_value_rows(rw))
    returns_enter(
        membership=rw.provider,
        headers=[_header(rw)],
        rows=_value_rows(rw),
        source=ReturnSource.WEB,
    )
    before = counts()
    with pytest.raises(ReturnsRaced) as raced:
        returns_write(membership=rw.provider, outcome=stale, source=ReturnSource.API)
    assert isinstance(raced.value, ImportRejected)
    assert [(p.where, p.field) for p in raced.value.problems] == [("return", "period")]
    assert raced.value.problems[0].message.startswith(
        "another submission for this period arrived at the same time"
    )
    assert counts() == before
