"""axe-core on the withholding ledger's pages, as a commissioner, a provider
and an auditor see them, error states included."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from escalation import services, withholdings
from oversight import clock
from oversight.models import Role
from tests.browser.test_accessibility import _visit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def withholding_data(tw):
    """P1's contract at level 1 of a ladder whose level 1 allows 2% withheld,
    and two withholdings on it: one released, one still withheld."""
    services.ladder_revise(
        membership=tw.members[Role.ADMIN],
        version=services.ladder_for(tw.tenant),
        changes={1: {"withholding_cap_percent": Decimal("2")}},
        reason="Withholding allowed at level 1",
    )
    step = services.escalation_step_propose(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        to_level=1,
        reason="Missed visits unexplained",
        proportionality_note="Advisory contact first",
        next_review_on=clock.today() + dt.timedelta(days=28),
    )
    commissioner = tw.members[Role.COMMISSIONER]
    released = withholdings.withholding_record(
        membership=commissioner,
        contract=tw.p1.contract,
        period=dt.date(2026, 10, 1),
        amount=Decimal("300"),
        ground="Until the October rota shows every visit covered",
        step_id=step.pk,
        reason="Withheld under the remedy",
    )
    withholdings.withholding_release(
        membership=commissioner, withholding=released, note="Every visit covered in October"
    )
    held = withholdings.withholding_record(
        membership=commissioner,
        contract=tw.p1.contract,
        period=dt.date(2026, 11, 1),
        amount=Decimal("416.66"),
        ground="Remedial action plan milestone 1: two carers recruited and in post",
        step_id=step.pk,
        reason="Withheld under the remedy",
    )
    return held, released


def _heading(text: str):
    def check(page):
        assert text in page.get_by_role("heading", level=1).inner_text()

    return check


def _submit_empty(button: str):
    def act(page):
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-alert--error").count() > 0, "the form showed no errors"

    return act


def test_withholding_pages_have_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    a = world.a
    slug = a.tenant.slug
    contract = a.p1.contract
    held, _ = withholding_data(a)
    contract_url = _url("contract_withholdings", tenant_slug=slug, contract_pk=contract.pk)
    held_url = _url("withholding_detail", tenant_slug=slug, withholding_pk=held.pk)
    create_url = _url("withholding_create", tenant_slug=slug, contract_pk=contract.pk)
    ledger_url = _url("withholdings_ledger", tenant_slug=slug)
    pages = {
        Role.COMMISSIONER: [
            ("a contract's withholdings", contract_url, _heading("Withholdings")),
            ("the withhold form", create_url, _heading("Withhold payment")),
            ("the withhold form with errors", create_url, _submit_empty("Withhold")),
            ("a withholding", held_url, _heading("withheld from Nov 2026")),
            ("releasing without a note", held_url, _submit_empty("Release")),
            ("the ledger", ledger_url, _heading("Withholding ledger")),
        ],
        Role.PROVIDER: [
            ("the provider's withholdings", contract_url, None),
            ("the provider's withholding", held_url, None),
        ],
        Role.AUDITOR: [("the ledger as the auditor reads it", ledger_url, None)],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
