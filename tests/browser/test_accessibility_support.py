"""axe-core on the pages of supportive measures, provider concerns and frontline
reports, as a commissioner, a provider and an auditor see them, error states
included."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import support
from oversight import clock
from oversight.models import Role
from tests.browser.test_accessibility import _visit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _data(tw):
    """A measure, a concern and a report on P1's contract."""
    commissioner = tw.members[Role.COMMISSIONER]
    measure = support.measure_start(
        membership=commissioner,
        contract=tw.p1.contract,
        kind="peer_support",
        description="Peer support from a provider that recovered",
        owner=commissioner.user,
        starts_on=clock.today(),
        review_on=clock.today() + dt.timedelta(days=42),
        recovery_expectation="Missed visits under 2% within six weeks",
        reason="Support beside enhanced monitoring",
    )
    concern = support.concern_raise(
        membership=tw.members[Role.PROVIDER],
        contract=tw.p1.contract,
        drifting="Visit times slipping",
        drivers="Two carers left",
        mitigation="Agency cover booked",
        support_requested="A pause in referrals",
    )
    report = support.frontline_report_create(
        membership=commissioner,
        provider=tw.p1.provider,
        contract=tw.p1.contract,
        category="missed_visit",
        occurred_on=clock.today(),
        description="No carer arrived for the 8am visit",
        reason="Caseworker's report",
    )
    return measure, concern, report


def _heading(text: str):
    def check(page):
        assert text in page.get_by_role("heading", level=1).inner_text()

    return check


def _submit_empty(button: str):
    def act(page):
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"

    return act


def test_support_pages_have_no_accessibility_violations(page, world, sign_in, assert_accessible):
    a = world.a
    slug = a.tenant.slug
    contract = a.p1.contract
    measure, concern, report = _data(a)
    support_url = _url("contract_support", tenant_slug=slug, contract_pk=contract.pk)
    measure_url = _url("measure_detail", tenant_slug=slug, supportive_measure_pk=measure.pk)
    concern_url = _url("concern_detail", tenant_slug=slug, provider_concern_pk=concern.pk)
    pages = {
        Role.COMMISSIONER: [
            ("a contract's support and concerns", support_url, _heading("Support and concerns")),
            (
                "the offer-support form",
                _url("measure_create", tenant_slug=slug, contract_pk=contract.pk),
                _heading("Offer support"),
            ),
            (
                "the offer-support form with errors",
                _url("measure_create", tenant_slug=slug, contract_pk=contract.pk),
                _submit_empty("Save"),
            ),
            ("a measure", measure_url, _heading("Peer support brokered")),
            ("ending a measure without a note", measure_url, _submit_empty("End the measure")),
            ("a concern", concern_url, _heading("Concern on")),
            (
                "acknowledging without a note",
                concern_url,
                _submit_empty("Acknowledge the concern"),
            ),
            ("the concerns list", _url("concerns_list", tenant_slug=slug), None),
            (
                "the frontline reports",
                _url("frontline_reports", tenant_slug=slug),
                _heading("Frontline reports"),
            ),
            (
                "the report form with errors",
                _url("frontline_report_create", tenant_slug=slug),
                _submit_empty("Save"),
            ),
            (
                "a frontline report",
                _url("frontline_report_detail", tenant_slug=slug, frontline_report_pk=report.pk),
                _heading("Missed visit"),
            ),
        ],
        Role.PROVIDER: [
            ("the provider's support and concerns", support_url, None),
            (
                "the raise-a-concern form with errors",
                _url("concern_create", tenant_slug=slug, contract_pk=contract.pk),
                _submit_empty("Save"),
            ),
            ("the provider's concern", concern_url, None),
        ],
        Role.AUDITOR: [("a measure as the auditor reads it", measure_url, None)],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
