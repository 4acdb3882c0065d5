"""axe-core on the review meeting pages, as a commissioner, a provider and an
auditor see them: the list, a meeting scheduled (agenda forms open) and one
held (minutes, decisions, actions), the pack with its SVG charts, the calendar
feed page, the roadmap and a topic, the forms with their errors, and the
dashboard's and home page's panels."""

import datetime as dt

import pytest
from django.urls import reverse

from oversight import clock
from oversight.models import Role
from reviews import services
from tests.browser.test_accessibility import _visit_all
from tests.reviews.conftest import add_measures, add_signal, at, hold

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _meetings(tw):
    member = tw.members[Role.COMMISSIONER]
    measures = add_measures(tw, tw.p1, count=2)
    today = clock.today()
    topic = services.roadmap_topic_add(
        membership=member,
        contract=tw.p1.contract,
        month=today,
        title="Referral matching",
        owner=member,
    )
    with clock.pinned(at(today - dt.timedelta(days=30), 9)):
        starts = at(today - dt.timedelta(days=28))
        last = services.meeting_schedule(
            membership=member,
            kind="check_in",
            contract=tw.p1.contract,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            location="Room 2B",
        )
    with clock.pinned(at(today - dt.timedelta(days=28), 11)):
        hold(last, member, actions=[("Publish the back-up rota", tw.p1.member, today)])
        services.decision_record(membership=member, meeting=last, text="Keep monitoring")
    add_signal(
        tw,
        tw.p1,
        message="Missed visits rose",
        opened_at=at(today - dt.timedelta(days=3)),
        contract_kpi=measures[0],
    )
    starts = at(today + dt.timedelta(days=7))
    upcoming = services.meeting_schedule(
        membership=member,
        kind="check_in",
        contract=tw.p1.contract,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
    )
    return last, upcoming, topic


def _open_details(page):
    for summary in page.locator("details > summary").all():
        summary.click()


def _submit_empty(button: str):
    def act(page):
        _open_details(page)
        page.get_by_role("button", name=button).first.click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-error-message, .usa-alert--error").count() > 0, "no errors shown"

    return act


def _clear_and_save(selector: str):
    def act(page):
        page.locator(selector).fill("")
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-error-message").count() > 0, "no errors shown"

    return act


def test_review_pages_have_no_accessibility_violations(page, world, sign_in, assert_accessible):
    a = world.a
    slug = a.tenant.slug
    last, upcoming, topic = _meetings(a)
    contract = a.p1.contract
    last_url = _url("meeting_detail", tenant_slug=slug, meeting_pk=last.pk)
    upcoming_url = _url("meeting_detail", tenant_slug=slug, meeting_pk=upcoming.pk)
    pack_url = _url("meeting_pack", tenant_slug=slug, meeting_pk=upcoming.pk)
    topic_url = _url("roadmap_topic_detail", tenant_slug=slug, roadmap_topic_pk=topic.pk)
    pages = {
        Role.COMMISSIONER: [
            ("the meetings", _url("meeting_list", tenant_slug=slug), None),
            (
                "a contract's meetings",
                _url("contract_meetings", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),
            ("a scheduled meeting, forms open", upcoming_url, _open_details),
            (
                "moving a meeting",
                _url("meeting_edit", tenant_slug=slug, meeting_pk=upcoming.pk),
                None,
            ),
            (
                "moving a meeting with its day left empty",
                _url("meeting_edit", tenant_slug=slug, meeting_pk=upcoming.pk),
                _clear_and_save("#id_day"),
            ),
            ("adding an empty agenda item", upcoming_url, _submit_empty("Add to the agenda")),
            ("a held meeting", last_url, _open_details),
            ("the pack with its charts", pack_url, None),
            ("the frozen pack", _url("meeting_pack", tenant_slug=slug, meeting_pk=last.pk), None),
            (
                "the schedule form with errors",
                _url("meeting_create", tenant_slug=slug),
                _submit_empty("Save"),
            ),
            ("the calendar feed", _url("meeting_calendar", tenant_slug=slug), None),
            ("the roadmap", _url("roadmap", tenant_slug=slug), None),
            ("a roadmap topic", topic_url, None),
            ("a finding left empty", topic_url, _submit_empty("Record the finding")),
            ("dropping without a reason", topic_url, _submit_empty("Drop the topic")),
            ("the new-topic form", _url("roadmap_topic_create", tenant_slug=slug), None),
            (
                "the dashboard's next review",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),
            ("the home page's meetings", _url("tenant_home", tenant_slug=slug), None),
        ],
        Role.PROVIDER: [
            ("the provider's meetings", _url("meeting_list", tenant_slug=slug), None),
            ("the provider's held meeting", last_url, None),
            ("marking an action done without a note", last_url, _submit_empty("Mark done")),
            ("the provider's pack", pack_url, None),
            ("the provider's roadmap", _url("roadmap", tenant_slug=slug), None),
        ],
        Role.AUDITOR: [("a meeting as the auditor reads it", last_url, None)],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
