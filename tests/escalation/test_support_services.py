"""Supportive measures, provider concerns and frontline reports through the
services (escalation/support.py): each rule refused with a message naming the
field and nothing written; every write leaves history with user and reason."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from escalation import selectors, support
from escalation.models import ConcernStatus, FrontlineReport, MeasureStatus, ProviderConcern
from oversight import clock
from oversight.models import Role
from tests.dates import DAYS, pin_days

pytestmark = pytest.mark.django_db


def _measure(tw, *, member=None, contract=None, **over):
    data = {
        "kind": "peer_support",
        "description": "Peer support from a provider that recovered last year",
        "owner": tw.user(Role.COMMISSIONER),
        "starts_on": clock.today(),
        "review_on": clock.today() + dt.timedelta(days=42),
        "recovery_expectation": "Missed visits under 2% within six weeks",
        "reason": "Support beside enhanced monitoring",
    }
    data.update(over)
    return support.measure_start(
        membership=member or tw.members[Role.COMMISSIONER],
        contract=contract or tw.p1.contract,
        **data,
    )


def _concern(tw, *, member=None, contract=None, **over):
    data = {
        "drifting": "Visit times slipping in the north of the county",
        "drivers": "Two carers left; agency cover is thin",
        "mitigation": "Overtime offered; rounds re-planned",
        "support_requested": "A two-week pause in new referrals",
    }
    data.update(over)
    return support.concern_raise(
        membership=member or tw.members[Role.PROVIDER],
        contract=contract or tw.p1.contract,
        **data,
    )


def _report(tw, *, member=None, **over):
    data = {
        "provider": tw.p1.provider,
        "contract": tw.p1.contract,
        "category": "missed_visit",
        "occurred_on": clock.today(),
        "description": "No carer arrived for the 8am visit",
        "reason": "Caseworker's call with the family",
    }
    data.update(over)
    return support.frontline_report_create(
        membership=member or tw.members[Role.COMMISSIONER], **data
    )


def _refused(row_counts, call, field: str, contains: str = "") -> str:
    before = row_counts()
    with pytest.raises(ValidationError) as error:
        call()
    messages = error.value.message_dict
    assert field in messages, messages
    message = " ".join(messages[field])
    assert contains in message
    assert row_counts() == before
    return message


# --- supportive measures -----------------------------------------------------------


def test_a_commissioner_starts_a_measure_with_history(world):
    tw = world.a
    measure = _measure(tw)
    assert measure.status == MeasureStatus.ACTIVE
    assert measure.created_by == tw.user(Role.COMMISSIONER)
    record = measure.history.get()
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert record.history_change_reason == "Support beside enhanced monitoring"


def test_a_measure_sits_beside_any_level(world, propose):
    tw = world.a
    propose(to_level=1)
    propose(to_level=2, next_review_on=clock.today() + dt.timedelta(days=14))
    assert _measure(tw).pk


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_only_commissioners_and_admins_start_measures(world, role, row_counts):
    before = row_counts()
    with pytest.raises(PermissionDenied):
        _measure(world.a, member=world.a.members[role])
    assert row_counts() == before


def test_a_measures_rules(world, row_counts):
    tw = world.a
    _refused(
        row_counts,
        lambda: _measure(tw, review_on=clock.today() - dt.timedelta(days=1)),
        "review_on",
        "cannot be before the start date",
    )
    _refused(row_counts, lambda: _measure(tw, reason=" "), "reason", "Say why")
    _refused(row_counts, lambda: _measure(tw, kind="bribe"), "kind")
    _refused(row_counts, lambda: _measure(tw, recovery_expectation=""), "recovery_expectation")
    # The owner is a member of this organisation (not another tenant's), or of
    # the contract's own provider (not another provider's).
    _refused(row_counts, lambda: _measure(tw, owner=world.b.user(Role.COMMISSIONER)), "owner")
    _refused(row_counts, lambda: _measure(tw, owner=tw.user("provider_p2")), "owner")
    assert _measure(tw, owner=tw.user(Role.PROVIDER)).owner == tw.user(Role.PROVIDER)


def test_another_tenants_contract_is_refused(world, row_counts):
    before = row_counts()
    with pytest.raises(PermissionDenied):
        _measure(world.a, contract=world.b.p1.contract)
    assert row_counts() == before


def test_ending_a_measure_needs_an_outcome_note(world, row_counts):
    tw = world.a
    measure = _measure(tw)
    member = tw.members[Role.COMMISSIONER]
    _refused(
        row_counts,
        lambda: support.measure_end(membership=member, measure=measure, outcome_note="  "),
        "outcome_note",
        "outcome note",
    )
    ended = support.measure_end(
        membership=tw.members[Role.ADMIN], measure=measure, outcome_note="Rostering stable again"
    )
    assert (ended.status, ended.ended_by, ended.ended_at) == (
        MeasureStatus.ENDED,
        tw.user(Role.ADMIN),
        clock.now(),
    )
    record = ended.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == tw.user(Role.ADMIN)
    assert "Rostering stable again" in record.history_change_reason
    _refused(
        row_counts,
        lambda: support.measure_end(membership=member, measure=measure, outcome_note="Again"),
        "status",
        "This measure is ended: it cannot become ended.",
    )


def test_a_provider_cannot_end_a_measure(world, row_counts):
    measure = _measure(world.a)
    before = row_counts()
    with pytest.raises(PermissionDenied):
        support.measure_end(
            membership=world.a.members[Role.PROVIDER], measure=measure, outcome_note="Done"
        )
    assert row_counts() == before


# --- provider concerns -------------------------------------------------------------


def test_the_provider_raises_a_concern_on_its_own_contract(world):
    tw = world.a
    concern = _concern(tw)
    assert (concern.status, concern.raised_by, concern.raised_at) == (
        ConcernStatus.RAISED,
        tw.user(Role.PROVIDER),
        clock.now(),
    )
    record = concern.history.get()
    assert record.history_user == tw.user(Role.PROVIDER)
    assert record.history_change_reason


def test_a_concern_on_another_providers_contract_reads_as_missing(world, row_counts):
    tw = world.a
    before = row_counts()
    for contract in (tw.p2.contract, world.b.p1.contract):
        with pytest.raises(Http404):
            _concern(tw, contract=contract)
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.COMMISSIONER, Role.ADMIN, Role.EXECUTIVE, Role.AUDITOR])
def test_only_the_provider_raises_concerns(world, role, row_counts):
    before = row_counts()
    with pytest.raises(PermissionDenied):
        _concern(world.a, member=world.a.members[role])
    assert row_counts() == before


def test_a_concern_says_what_is_drifting(world, row_counts):
    _refused(row_counts, lambda: _concern(world.a, drifting=""), "drifting")


def test_the_commissioner_acknowledges_a_concern_with_a_note(world, row_counts):
    tw = world.a
    concern = _concern(tw)
    member = tw.members[Role.COMMISSIONER]
    _refused(
        row_counts,
        lambda: support.concern_acknowledge(membership=member, concern=concern, note=""),
        "acknowledgement_note",
        "Write a note",
    )
    with pytest.raises(PermissionDenied):
        support.concern_acknowledge(
            membership=tw.members[Role.PROVIDER], concern=concern, note="Seen"
        )
    done = support.concern_acknowledge(
        membership=member, concern=concern, note="Referrals paused for two weeks"
    )
    assert (done.status, done.acknowledged_by, done.acknowledgement_note) == (
        ConcernStatus.ACKNOWLEDGED,
        member.user,
        "Referrals paused for two weeks",
    )
    record = done.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == member.user
    assert "Referrals paused for two weeks" in record.history_change_reason
    _refused(
        row_counts,
        lambda: support.concern_acknowledge(membership=member, concern=concern, note="Again"),
        "status",
        "acknowledged",
    )


def test_concerns_raised_answers_plain_rows_in_one_query(world):
    tw = world.a
    with clock.pinned(clock.now() - dt.timedelta(days=30)):
        early = _concern(tw, drifting="Early drift")
    later = _concern(tw, drifting="Later drift")
    other = _concern(tw, member=tw.members["provider_p2"], contract=tw.p2.contract)
    since = clock.now() - dt.timedelta(days=7)
    with CaptureQueriesContext(connection) as queries:
        rows = selectors.concerns_raised(contract_ids=[tw.p1.contract.pk], since=since)
    assert len(queries.captured_queries) == 1
    assert rows == [
        {
            "id": later.pk,
            "contract_id": tw.p1.contract.pk,
            "raised_at": later.raised_at,
            "status": "raised",
        }
    ]
    both = selectors.concerns_raised(
        contract_ids=[tw.p1.contract.pk, tw.p2.contract.pk], since=early.raised_at
    )
    assert [row["id"] for row in both] == [early.pk, later.pk, other.pk]


# --- frontline reports ------------------------------------------------------------


def test_commissioner_staff_report_a_problem(world):
    tw = world.a
    report = _report(tw)
    assert report.reported_by == tw.user(Role.COMMISSIONER)
    record = report.history.get()
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert record.history_change_reason == "Caseworker's call with the family"
    assert _report(tw, contract=None).contract is None


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.EXECUTIVE, Role.AUDITOR])
def test_only_commissioners_and_admins_report(world, role, row_counts):
    before = row_counts()
    with pytest.raises(PermissionDenied):
        _report(world.a, member=world.a.members[role])
    assert row_counts() == before


def test_a_reports_rules(world, row_counts):
    tw = world.a
    _refused(
        row_counts,
        lambda: _report(tw, contract=tw.p2.contract),
        "contract",
        tw.p1.provider.name,
    )
    message = _refused(row_counts, lambda: _report(tw, provider=world.b.p1.provider), "provider")
    assert world.b.p1.provider.name not in message
    _refused(
        row_counts,
        lambda: _report(tw, occurred_on=clock.tenant_today(tw.tenant) + dt.timedelta(days=1)),
        "occurred_on",
        "cannot be after today",
    )
    _refused(row_counts, lambda: _report(tw, category="weather"), "category")
    _refused(row_counts, lambda: _report(tw, description=""), "description")


def test_a_provider_sees_no_frontline_reports(world):
    tw = world.a
    report = _report(tw)
    assert not selectors.frontline_reports_visible(membership=tw.members[Role.PROVIDER]).exists()
    with pytest.raises(Http404):
        selectors.frontline_report_get(membership=tw.members[Role.PROVIDER], pk=report.pk)
    assert list(selectors.frontline_reports_visible(membership=tw.members[Role.AUDITOR])) == [
        report
    ]
    assert not selectors.frontline_reports_visible(membership=world.b.members[Role.ADMIN]).exists()


def _month_back(day: dt.date, months: int) -> dt.date:
    year, month = day.year, day.month - months
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


@pin_days(DAYS)
def test_the_month_window_is_the_last_twelve_months_of_the_clock(world, pinned_day):
    tw = world.a
    today = clock.tenant_today(tw.tenant)
    months = selectors.frontline_months(today)
    assert len(months) == 12
    assert months[-1] == today.replace(day=1)
    assert months[0] == _month_back(today, 11)
    assert all(m.day == 1 for m in months) and months == sorted(set(months))
    first = months[0]
    _report(tw, occurred_on=first)  # the window's first day: counted
    _report(tw, occurred_on=first - dt.timedelta(days=1))  # the day before: not
    _report(tw, occurred_on=today, category="transport")
    _report(tw, occurred_on=today, category="transport", contract=None)
    counts = selectors.frontline_counts(membership=tw.members[Role.COMMISSIONER], months=months)
    assert {(r["category"], r["month"], r["count"]) for r in counts} == (
        {("missed_visit", first, 1), ("transport", today.replace(day=1), 2)}
    )
    assert FrontlineReport.objects.count() == 4
    assert ProviderConcern.objects.count() == 0
