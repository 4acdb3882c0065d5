"""axe-core on the pages of formal variations and of a contract's terms, as the
commissioning side, an executive and a provider see them, error states included."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from oversight import clock
from oversight.models import Role
from tests.browser.test_accessibility import _visit_all
from variations import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _variations(tw):
    """On P1's contract: one proposed by its provider and submitted, one under
    assessment that touches a protected component."""
    contract = tw.p1.contract
    contract.protected_core_components = ["Two-person teams"]
    contract.save()
    submitted = services.variation_propose(
        membership=tw.members[Role.PROVIDER], contract=contract, kind="volume",
        title="More hours", rationale="The waiting list doubled",
        effective_on=clock.today() + dt.timedelta(days=30),
        changes=[services.ChangeInput(field="annual_value", value="150000"),
                 services.ChangeInput(field="site_add", value="North hub", detail="North")],
        reason="Proposed", submit=True,
    )  # fmt: skip
    assessed = services.variation_propose(
        membership=tw.members[Role.COMMISSIONER], contract=contract, kind="scope",
        title="Single-person teams at night", rationale="Recruitment",
        effective_on=clock.today() + dt.timedelta(days=45),
        changes=[services.ChangeInput(field="protected_core_components", value="Night cover")],
        reason="Proposed", submit=True,
    )  # fmt: skip
    services.variation_assessment_start(
        membership=tw.members[Role.COMMISSIONER], variation=assessed
    )
    services.variation_assess(
        membership=tw.members[Role.COMMISSIONER], variation=assessed,
        assessment=services.Assessment(
            cost_per_year=Decimal("-5000"), cost_total=Decimal("-5000"), quality_impact="Lower",
            outcomes_impact="None", risk_impact="Higher at night",
            protected_components=("Two-person teams",),
        ),
        reason="Assessed",
    )  # fmt: skip
    return submitted, assessed


def _submit(button: str):
    def act(page):
        page.get_by_role("button", name=button).first.click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-error-message, .usa-alert--error").count() > 0, "no errors shown"

    return act


def test_variation_pages_have_no_accessibility_violations(page, world, sign_in, assert_accessible):
    a = world.a
    slug = a.tenant.slug
    contract = a.p1.contract
    submitted, assessed = _variations(a)
    submitted_url = _url("variation_detail", tenant_slug=slug, variation_pk=submitted.pk)
    assessed_url = _url("variation_detail", tenant_slug=slug, variation_pk=assessed.pk)
    propose_url = _url("variation_propose", tenant_slug=slug, contract_pk=contract.pk)
    terms_url = _url("contract_terms", tenant_slug=slug, contract_pk=contract.pk)
    pages = {
        Role.COMMISSIONER: [
            ("the variations list", _url("variation_list", tenant_slug=slug), None),
            (
                "a contract's variations",
                _url("contract_variations", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),  # fmt: skip
            ("a submitted variation", submitted_url, None),
            ("a variation under assessment", assessed_url, None),
            ("the propose form with errors", propose_url, _submit("Save as draft")),
            ("the terms as at today", terms_url, None),
            ("the terms with a bad date", terms_url + "?as_at=31-12-2026", None),
            (
                "the dashboard's variations panel",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),  # fmt: skip
        ],
        Role.EXECUTIVE: [
            ("a variation awaiting an executive", assessed_url, None),
            ("the approval rules", _url("variation_policy", tenant_slug=slug), None),
        ],
        Role.ADMIN: [("the approval rules form", _url("variation_policy", tenant_slug=slug), None)],
        Role.PROVIDER: [
            ("the provider's variation", submitted_url, None),
            ("the provider's propose form", propose_url, None),
        ],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
