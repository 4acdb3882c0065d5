"""The withholding ledger's rules through the services (escalation/withholdings.py):
each refusal names the field and writes nothing; totals; history; notices."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from escalation import withholdings
from escalation.models import Withholding
from escalation.notices import notice_close, notice_issue, notice_respond
from escalation.services import escalation_step_propose
from oversight.models import Notification

from .conftest import default_step

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)
# The world's contracts: 250,000 a year from 1 Jan 2025 to 31 Dec 2027, in USD.
MONTHLY = Decimal("20833.33")
CAP_2PC = Decimal("416.66")  # 2% of the monthly value, rounded down to the cent


def record(tw, **over):
    data = {
        "membership": tw.members["commissioner"],
        "contract": tw.p1.contract,
        "period": NOV,
        "amount": Decimal("200.00"),
        "ground": "Remedial action plan milestone 1: two carers recruited",
        "reason": "Withheld under the contract's remedy",
    }
    data.update(over)
    return withholdings.withholding_record(**data)


def refused(counts_before, row_counts, call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    assert row_counts() == counts_before
    return caught.value.message_dict


# --- the actual monthly value ------------------------------------------------------


def test_monthly_value_is_a_twelfth_of_the_annual_value_prorated_to_the_term(world):
    contract = world.a.p1.contract
    assert withholdings.monthly_value(contract, NOV) == MONTHLY
    contract.start_date = dt.date(2026, 11, 16)  # 15 of November's 30 days
    assert withholdings.monthly_value(contract, NOV) == Decimal("10416.67")
    contract.end_date = dt.date(2026, 11, 20)  # 16th to 20th: 5 days
    assert withholdings.monthly_value(contract, NOV) == Decimal("3472.22")
    assert withholdings.monthly_value(contract, dt.date(2026, 12, 1)) == Decimal("0.00")
    assert withholdings.cap_amount(MONTHLY, Decimal("2")) == CAP_2PC


# --- the level and its cap ------------------------------------------------------------


def test_refused_at_a_level_whose_stage_sets_no_cap(world, row_counts):
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a))
    assert "sits at level 0, whose stage sets no withholding cap" in errors["contract"][0]
    assert "No level of the ladder in force sets one" in errors["contract"][0]


def test_refusal_names_the_levels_that_allow_it(world, capped, row_counts):
    capped(world.a, level=1)
    # Another contract, still at level 0: the ladder in force allows level 1.
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a, contract=world.a.p2.contract))
    assert "level 1 (Informal concern, 2%) allows it" in errors["contract"][0]


def test_within_the_cap_is_withheld_with_its_figures(world, capped):
    step = capped(world.a)
    w = record(world.a, amount=CAP_2PC, period=dt.date(2026, 11, 17), step_id=step.pk)
    assert w.status == "withheld"
    assert w.period == NOV  # the month, whatever day was given
    assert (w.monthly_value, w.cap_percent, w.currency) == (MONTHLY, Decimal("2.00"), "USD")
    assert w.stage.level == 1 and w.step == step


def test_over_the_cap_is_refused_with_the_figures(world, capped, row_counts):
    capped(world.a)
    record(world.a, amount=Decimal("300.00"))
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a, amount=Decimal("200.00")))
    assert errors["amount"] == [
        "$500 would be withheld from Nov 2026's payment ($300 already, plus $200): over the "
        "cap of $416.66, 2% of the actual monthly value $20,833.33 at level 1 (Informal "
        "concern). At most $116.66 more may be withheld from that month."
    ]
    # Another month has its own cap.
    assert record(world.a, amount=Decimal("200.00"), period=dt.date(2026, 10, 1)).pk


def test_released_money_still_counts_against_its_months_cap(world, capped, row_counts):
    capped(world.a)
    w = record(world.a, amount=CAP_2PC)
    withholdings.withholding_release(
        membership=world.a.members["commissioner"], withholding=w, note="Carers recruited"
    )
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a, amount=Decimal("1.00")))
    assert "At most $0 more" in errors["amount"][0]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("0"), "The amount withheld must be above zero ($0 is not)."),
        (Decimal("-5.00"), "The amount withheld must be above zero (-$5 is not)."),
        (None, "Give the amount withheld, in USD."),
    ],
)
def test_amount_must_be_positive(world, capped, row_counts, amount, message):
    capped(world.a)
    before = row_counts()
    assert refused(before, row_counts, lambda: record(world.a, amount=amount))["amount"] == [
        message
    ]


def test_period_is_a_month_within_the_term(world, capped, row_counts):
    capped(world.a)
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a, period=dt.date(2028, 1, 1)))
    assert errors["period"] == [
        "Jan 2028 is outside P-1's term (1 Jan 2025 to 31 Dec 2027).".replace(
            "P-1", world.a.p1.contract.reference
        )
    ]
    errors = refused(before, row_counts, lambda: record(world.a, period=None))
    assert errors["period"] == ["Give the month whose payment the money is withheld from."]


def test_ground_is_required(world, capped, row_counts):
    capped(world.a)
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a, ground="  "))
    assert errors["ground"] == ["Describe the failure or the milestone the money is tied to."]


def test_contract_in_another_currency_is_refused(world, capped, row_counts):
    capped(world.a)
    contract = world.a.p1.contract
    type(contract).objects.filter(pk=contract.pk).update(currency="EUR")
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a))
    assert (
        "value is in EUR; withholdings are recorded in your organisation's currency (USD)"
        in (errors["contract"][0])
    )


# --- what it is tied to -------------------------------------------------------------


def test_tied_object_must_be_the_contracts_own(world, capped, row_counts, signal_on):
    capped(world.a)
    other = signal_on(world.a.p2.contract)
    outsider = signal_on(world.b.p1.contract)
    before = row_counts()
    for obj in (other, outsider):
        errors = refused(
            before, row_counts, lambda obj=obj: record(world.a, tied_kind="signal", tied_id=obj.pk)
        )
        assert errors["tied_id"] == [
            f"{obj.pk} is not one of {world.a.p1.contract.reference}'s signals."
        ]
    errors = refused(before, row_counts, lambda: record(world.a, tied_kind="invoice", tied_id=1))
    assert "'invoice' is not something a withholding is tied to" in errors["tied_kind"][0]
    mine = signal_on(world.a.p1.contract)
    w = record(world.a, tied_kind="signal", tied_id=mine.pk)
    assert w.tied_to == mine


def test_authorising_step_is_one_in_effect_of_the_contract(world, capped, row_counts):
    capped(world.a)
    other = escalation_step_propose(
        membership=world.a.members["commissioner"],
        contract=world.a.p2.contract,
        **default_step(to_level=1),
    )
    before = row_counts()
    errors = refused(before, row_counts, lambda: record(world.a, step_id=other.pk))
    assert errors["step"] == [
        f"{other.pk} is not one of {world.a.p1.contract.reference}'s escalation steps."
    ]


def test_milestone_met_is_keyed_by_the_tied_objects_model(world, capped, signal_on):
    signal = signal_on(world.a.p1.contract)
    assert withholdings.milestone_met(signal) is False
    signal.status = "closed"
    assert withholdings.milestone_met(signal) is True
    assert withholdings.milestone_met(None) is None
    assert withholdings.milestone_met(world.a.p1.contract) is None  # not a tie
    step = capped(world.a)
    assert withholdings.milestone_met(step) is False  # still at its level


# --- roles and tenants ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["provider", "auditor", "executive"])
def test_only_the_commissioning_side_records(world, capped, row_counts, role):
    capped(world.a)
    before = row_counts()
    with pytest.raises(PermissionDenied):
        record(world.a, membership=world.a.members[role])
    assert row_counts() == before


def test_another_tenants_contract_is_refused(world, capped, row_counts):
    capped(world.a)
    before = row_counts()
    with pytest.raises(PermissionDenied):
        record(world.a, contract=world.b.p1.contract)
    assert row_counts() == before


# --- a retried request ------------------------------------------------------------------


def test_a_retried_request_finds_the_first_withholding(world, capped, row_counts):
    capped(world.a)
    first = record(world.a, request_key="k-1", request_fingerprint="abc")
    before = row_counts()
    again = record(world.a, request_key="k-1", request_fingerprint="abc")
    assert again.pk == first.pk and again.replayed
    assert row_counts() == before
    with pytest.raises(withholdings.RequestKeyReused) as caught:
        record(world.a, request_key="k-1", request_fingerprint="other", amount=Decimal("1"))
    assert "already used with a different request" in caught.value.messages[0]
    assert row_counts() == before
    # Keys are the recorder's own: the admin's k-1 is a new withholding.
    assert record(world.a, membership=world.a.members["admin"], request_key="k-1").pk != first.pk


# --- release and retain ------------------------------------------------------------------


def _tied_to_notice(tw, capped):
    """A withholding tied to the commissioner's formal notice on P1's contract
    (at level 3, whose stage allows withholding here)."""
    capped(tw, level=3)
    notice = notice_issue(
        membership=tw.members["commissioner"],
        contract=tw.p1.contract,
        concerns="Missed visits",
        required_actions="Recruit two carers",
    )
    w = record(tw, tied_kind="formal_notice", tied_id=notice.pk)
    return w, notice


def test_release_needs_the_milestone_met_and_a_note(world, capped, row_counts):
    tw = world.a
    w, notice = _tied_to_notice(tw, capped)
    commissioner = tw.members["commissioner"]
    before = row_counts()
    errors = refused(
        before,
        row_counts,
        lambda: withholdings.withholding_release(membership=commissioner, withholding=w, note="x"),
    )
    assert errors["milestone"] == [
        f"The milestone is not met yet: formal notice {notice.pk} is issued, awaiting response. "
        "Release the money when it is met, or retain it."
    ]
    notice_respond(membership=tw.members["provider"], notice=notice, response="Two recruited")
    notice_close(membership=commissioner, notice=notice, note="Accepted")
    before = row_counts()
    errors = refused(
        before,
        row_counts,
        lambda: withholdings.withholding_release(membership=commissioner, withholding=w, note=""),
    )
    assert "release_note" in errors
    released = withholdings.withholding_release(
        membership=commissioner, withholding=w, note="Both carers in post since the 3rd"
    )
    assert (released.status, released.released_by) == ("released", commissioner.user)
    assert released.released_at is not None
    record_ = released.history.latest()
    assert record_.history_user == commissioner.user
    assert record_.history_change_reason.endswith("Both carers in post since the 3rd")
    # Never twice, and a released amount is not then retained.
    before = row_counts()
    for call in (withholdings.withholding_release, withholdings.withholding_retain):
        errors = refused(
            before,
            row_counts,
            lambda call=call: call(membership=commissioner, withholding=w, note="again"),
        )
        assert errors["status"][0].startswith("This money is already released")


def test_retain_needs_the_milestone_not_met_and_says_why(world, capped, row_counts):
    tw = world.a
    w, notice = _tied_to_notice(tw, capped)
    commissioner = tw.members["commissioner"]
    before = row_counts()
    errors = refused(
        before,
        row_counts,
        lambda: withholdings.withholding_retain(membership=commissioner, withholding=w, note=""),
    )
    assert "retain_note" in errors
    retained = withholdings.withholding_retain(
        membership=commissioner, withholding=w, note="No carer recruited by the deadline"
    )
    assert (retained.status, retained.retained_by) == ("retained", commissioner.user)
    assert retained.history.latest().history_change_reason.endswith("by the deadline")


def test_retain_is_refused_when_the_milestone_is_met(world, capped, row_counts, signal_on):
    capped(world.a)
    signal = signal_on(world.a.p1.contract)
    w = record(world.a, tied_kind="signal", tied_id=signal.pk)
    type(signal).objects.filter(pk=signal.pk).update(status="closed")
    before = row_counts()
    errors = refused(
        before,
        row_counts,
        lambda: withholdings.withholding_retain(
            membership=world.a.members["commissioner"], withholding=w, note="Kept"
        ),
    )
    assert "The milestone is met" in errors["milestone"][0]


@pytest.mark.parametrize("role", ["provider", "auditor", "executive"])
def test_only_the_commissioning_side_releases(world, capped, row_counts, role):
    capped(world.a)
    w = record(world.a)
    before = row_counts()
    for call in (withholdings.withholding_release, withholdings.withholding_retain):
        with pytest.raises(PermissionDenied):
            call(membership=world.a.members[role], withholding=w, note="Done")
    assert row_counts() == before


def test_step_milestone_is_met_when_the_contract_comes_down(world, capped):
    tw = world.a
    step = capped(tw)
    w = record(tw, tied_kind="escalation_step", tied_id=step.pk)
    with pytest.raises(ValidationError):
        withholdings.withholding_release(
            membership=tw.members["commissioner"], withholding=w, note="Recovered"
        )
    escalation_step_propose(
        membership=tw.members["commissioner"],
        contract=tw.p1.contract,
        **default_step(to_level=0, recovery_evidence="Three months on target"),
    )
    released = withholdings.withholding_release(
        membership=tw.members["commissioner"], withholding=w, note="Recovered"
    )
    assert released.status == "released"


# --- history, notices, totals -------------------------------------------------------------


def test_history_and_the_providers_notices(world, capped):
    tw = world.a
    capped(tw)
    w = record(tw, amount=Decimal("250.50"))
    created = w.history.earliest()
    assert created.history_type == "+"
    assert created.history_user == tw.members["commissioner"].user
    assert created.history_change_reason == "Withheld under the contract's remedy"
    withholdings.withholding_release(
        membership=tw.members["commissioner"], withholding=w, note="Plan milestone met"
    )
    notices = Notification.objects.filter(kind="withholding", user=tw.members["provider"].user)
    messages = sorted(n.message for n in notices)
    ref = tw.p1.contract.reference
    assert messages == [
        f"{ref}: $250.50 is withheld from the Nov 2026 payment, until: "
        "Remedial action plan milestone 1: two carers recruited",
        f"{ref}: $250.50 withheld from the Nov 2026 payment is released: Plan milestone met",
    ]
    # Nobody of the other provider hears of it.
    other = tw.p2.member.user
    assert not Notification.objects.filter(kind="withholding", user=other).exists()


def test_totals_per_contract_and_per_tenant(world, capped, django_assert_num_queries):
    tw = world.a
    capped(tw)
    commissioner = tw.members["commissioner"]
    a = record(tw, amount=Decimal("100.00"))
    b = record(tw, amount=Decimal("50.00"), period=dt.date(2026, 10, 1))
    record(tw, amount=Decimal("25.25"), period=dt.date(2026, 9, 1))
    withholdings.withholding_release(membership=commissioner, withholding=a, note="Met")
    withholdings.withholding_retain(membership=commissioner, withholding=b, note="Not met")
    visible = withholdings.withholdings_visible(membership=commissioner)
    with django_assert_num_queries(1):
        totals = withholdings.withholding_totals(visible)
    assert totals == {
        "withheld": Decimal("175.25"),
        "released": Decimal("100.00"),
        "retained": Decimal("50.00"),
        "outstanding": Decimal("25.25"),
        "count": 3,
    }
    with django_assert_num_queries(1):
        rows = withholdings.totals_by_contract(visible)
    assert [(r["reference"], r["outstanding"]) for r in rows] == [
        (tw.p1.contract.reference, Decimal("25.25"))
    ]
    # A provider's member sees its own contract's; the other provider's none.
    assert (
        withholdings.withholding_totals(withholdings.withholdings_visible(membership=tw.p2.member))[
            "count"
        ]
        == 0
    )
    assert withholdings.withholding_totals(
        withholdings.withholdings_visible(membership=world.b.members["admin"])
    )["withheld"] == Decimal("0.00")
    assert Withholding.objects.count() == 3


def test_money_tied_to_a_plan_milestone_is_released_once_the_action_is_verified(
    world, capped, row_counts
):
    """The NHS procedure's remedy: the withheld sum waits on a plan milestone and
    is repaid when the commissioner has verified the action that meets it."""
    from escalation import plans
    from tests.escalation.plan_helpers import open_plan

    tw = world.a
    capped(tw, level=3)
    action = open_plan(tw).actions.get()
    w = record(tw, tied_kind="plan_action", tied_id=action.pk)
    assert withholdings.milestone_met(w.tied_to) is False
    assert withholdings.tied_label(w.tied_to).startswith(f"plan action {action.pk}: ")
    commissioner = tw.members["commissioner"]
    before = row_counts()
    errors = refused(
        before,
        row_counts,
        lambda: withholdings.withholding_release(membership=commissioner, withholding=w, note="x"),
    )
    assert "milestone" in errors
    done = plans.action_mark_done(membership=tw.p1.member, action=action, evidence="Rota attached")
    plans.action_verify(membership=commissioner, action=done, note="Checked the rota file")
    released = withholdings.withholding_release(
        membership=commissioner, withholding=w, note="Milestone verified"
    )
    assert released.status == "released"
    # Another contract's action is not one it may be tied to.
    other = open_plan(tw, contract=tw.p2.contract).actions.get()
    before = row_counts()
    errors = refused(
        before, row_counts, lambda: record(tw, tied_kind="plan_action", tied_id=other.pk)
    )
    assert any("is not one of" in m for m in sum(errors.values(), []))
