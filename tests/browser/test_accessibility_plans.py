"""axe-core on the pages of improvement plans, as a commissioner, a provider and
an auditor see them, error states and a drawn chart with its markers included."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import plans
from oversight import clock
from oversight.models import Role
from tests.browser.test_accessibility import _visit_all
from tests.escalation.plan_helpers import (
    accepted_values,
    action_input,
    kpi_on,
    month_start,
    open_plan,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _plan(tw):
    """A plan on P1's contract: one action verified (its KPI charted), one done,
    one open."""
    ck = kpi_on(tw.p1.contract)
    accepted_values(ck, [6.0, 6.1, 5.9, 6.2, 6.0, 5.8, 6.1, 6.0])
    verified_on = month_start(clock.today(), 4) + dt.timedelta(days=14)
    with clock.pinned(verified_on - dt.timedelta(days=10)):
        plan = open_plan(
            tw,
            actions=[
                action_input(contract_kpis=[ck.pk]),
                action_input(description="Recruit two back-up caregivers", contract_kpis=[ck.pk]),
                action_input(description="Exit interviews for every leaver"),
            ],
        )
        first, second, _ = plan.actions.order_by("id")
        plans.action_mark_done(membership=tw.p1.member, action=first, evidence="Rotas out")
    with clock.pinned(verified_on):
        plans.action_verify(membership=tw.members[Role.COMMISSIONER], action=first)
    plans.action_mark_done(membership=tw.p1.member, action=second, evidence="Two in post")
    return plan


def _heading(text: str):
    def check(page):
        assert text in page.get_by_role("heading", level=1).inner_text()

    return check


def _chart_drawn(page):
    page.locator("[data-chart]").first.scroll_into_view_if_needed()
    page.wait_for_selector("[data-chart][data-rendered='true']")


def _submit_empty(button: str):
    def act(page):
        page.get_by_role("button", name=button).first.click()
        page.wait_for_load_state("load")
        assert page.locator(".usa-error-message, .usa-alert--error").count() > 0, "no errors shown"

    return act


def test_plan_pages_have_no_accessibility_violations(page, world, sign_in, assert_accessible):
    a = world.a
    slug = a.tenant.slug
    contract = a.p1.contract
    plan = _plan(a)
    plan_url = _url("plan_detail", tenant_slug=slug, improvement_plan_pk=plan.pk)
    list_url = _url("contract_plans", tenant_slug=slug, contract_pk=contract.pk)
    review_url = _url("plan_review_create", tenant_slug=slug, improvement_plan_pk=plan.pk)
    pages = {
        Role.COMMISSIONER: [
            ("a contract's plans", list_url, _heading("Improvement plans")),
            ("a plan with its chart drawn", plan_url, _chart_drawn),
            ("reopening without a reason", plan_url, _submit_empty("Send A2 back to open")),
            (
                "the new-plan form with errors",
                _url("plan_create", tenant_slug=slug, contract_pk=contract.pk),
                _submit_empty("Save"),
            ),
            (
                "the add-action form",
                _url("plan_action_add", tenant_slug=slug, improvement_plan_pk=plan.pk),
                _submit_empty("Save"),
            ),
            (
                "the add-control form",
                _url("plan_control_add", tenant_slug=slug, improvement_plan_pk=plan.pk),
                None,
            ),
            ("the review form", review_url, None),
            ("the review form with errors", review_url, _submit_empty("Record the review")),
            (
                "the dashboard's plan panel",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),
        ],
        Role.PROVIDER: [
            ("the provider's plan", plan_url, None),
            ("marking done without evidence", plan_url, _submit_empty("Mark A3 done")),
        ],
        Role.AUDITOR: [("a plan as the auditor reads it", plan_url, None)],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
