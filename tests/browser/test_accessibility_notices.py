"""axe-core on the formal-notice pages (a contract's notices, the issue form
below and at level 3 and with errors, a notice with its response, close and
withdraw forms, its history, the dashboard panel), as a commissioner and a
provider see them."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import notices, services
from oversight import clock
from oversight.models import Role
from tests.browser.test_accessibility import _visit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _heading(text: str):
    def check(page):
        assert text in page.get_by_role("heading", level=1).inner_text()

    return check


def _submit_with_errors(button: str):
    def act(page):
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"

    return act


def _notices(tw):
    """P1's contract at level 3 with the commissioner's notice awaiting the
    provider, and the provider's notice to the commissioner, answered."""
    services.escalation_step_propose(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        to_level=3,
        reason="Missed visits for three months",
        justification="A safeguarding incident with harm",
        proportionality_note="Informal contact brought no change",
        next_review_on=clock.today() + dt.timedelta(days=28),
    )
    to_provider = notices.notice_issue(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        concerns="Missed visits for three months",
        required_actions="Recruit two carers and report weekly",
    )
    to_commissioner = notices.notice_issue(
        membership=tw.members[Role.PROVIDER],
        contract=tw.p1.contract,
        ground="late_payment",
        concerns="Invoices for March and April unpaid",
        required_actions="Pay both invoices",
        response_due_on=clock.today() + dt.timedelta(days=7),
    )
    notices.notice_respond(
        membership=tw.members[Role.COMMISSIONER], notice=to_commissioner, response="Paid today"
    )
    return to_provider, to_commissioner


def test_notice_pages_have_no_accessibility_violations(page, world, sign_in, assert_accessible):
    a = world.a
    slug = a.tenant.slug
    to_provider, to_commissioner = _notices(a)
    contract = a.p1.contract
    listing = _url("contract_notices", tenant_slug=slug, contract_pk=contract.pk)
    issue = _url("notice_issue", tenant_slug=slug, contract_pk=contract.pk)
    pages = {
        Role.COMMISSIONER: [
            ("a contract's notices", listing, _heading("Formal notices:")),
            ("the issue form", issue, _heading("Issue a formal notice")),
            ("the issue form with errors", issue, _submit_with_errors("Issue the notice")),
            (
                "the issue form below level 3",
                _url("notice_issue", tenant_slug=slug, contract_pk=a.p2.contract.pk),
                _heading("Issue a formal notice"),
            ),
            (
                "a notice to withdraw",
                to_provider.get_absolute_url(),
                _heading("Formal notice"),
            ),
            (
                "a withdrawal without a note",
                to_provider.get_absolute_url(),
                _submit_with_errors("Withdraw the notice"),
            ),
            (
                "a notice's history",
                _url("notice_history", tenant_slug=slug, formal_notice_pk=to_provider.pk),
                None,
            ),
            (
                "the dashboard with notices awaiting response",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),
        ],
        Role.PROVIDER: [
            ("a notice to respond to", to_provider.get_absolute_url(), _heading("Formal notice")),
            (
                "a response left empty",
                to_provider.get_absolute_url(),
                _submit_with_errors("Send the response"),
            ),
            ("its own answered notice to close", to_commissioner.get_absolute_url(), None),
            ("the provider's issue form", issue, _heading("Raise a formal notice")),
            (
                "the provider's issue form with errors",
                issue,
                _submit_with_errors("Issue the notice"),
            ),
        ],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)


def test_request_for_explanation_pages_have_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    from performance.models import Signal

    a = world.a
    slug = a.tenant.slug
    contract = a.p1.contract
    now = clock.now()
    signal = Signal.objects.create(
        tenant_id=contract.tenant_id,
        contract=contract,
        kind="return_late",
        key=f"return_late:{contract.pk}",
        severity="medium",
        message=f"Returns late three months running on {contract.reference}",
        opened_at=now,
        last_seen_at=now,
    )
    request = notices.notice_issue(
        membership=a.members[Role.COMMISSIONER],
        contract=contract,
        kind="explanation",
        signal_id=signal.pk,
        concerns="Returns late three months running",
        required_actions="Explain the delays",
    )
    form = _url("notice_request", tenant_slug=slug, contract_pk=contract.pk)
    pages = {
        Role.COMMISSIONER: [
            (
                "the request form from a signal",
                f"{form}?signal={signal.pk}",
                _heading("Raise a concern"),
            ),
            ("the request form with errors", form, _submit_with_errors("Send the request")),
            (
                "a request for explanation",
                request.get_absolute_url(),
                _heading("Request for explanation"),
            ),
            (
                "a signal with its levers",
                _url("signal_detail", tenant_slug=slug, signal_pk=signal.pk),
                None,
            ),
        ],
        Role.PROVIDER: [
            (
                "a request to answer",
                request.get_absolute_url(),
                _heading("Request for explanation"),
            ),
        ],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
