"""Every page a commissioner and an admin use passes axe-core (WCAG 2.0, 2.1 and
2.2 A and AA, plus best practice) with zero violations, in real Chromium,
and loads nothing from outside the server."""

import pytest
from django.urls import reverse

from oversight.models import Role
from tests.factories import MembershipFactory
from tests.performance.test_dashboard import build_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs)


def test_commissioner_signs_in_and_reads_the_register_and_a_contract(
    page, world, sign_in, assert_accessible
):
    a = world.a
    commissioner = a.members[Role.COMMISSIONER]
    contract = a.p1.contract

    page.goto(_url("login"))
    assert_accessible(page, "the sign-in page")
    sign_in(page, commissioner.user)

    page.goto(_url("contract_list", tenant_slug=a.tenant.slug))
    assert page.get_by_role("heading", level=1).inner_text() == "Contract register"
    assert page.get_by_role("link", name=contract.reference).is_visible()
    assert_accessible(page, "the contract register")

    page.get_by_role("link", name=contract.reference).click()
    page.wait_for_url(f"**{contract.get_absolute_url()}")
    assert contract.title in page.get_by_role("heading", level=1).inner_text()
    assert_accessible(page, "a contract's page")


def _visit_all(page, assert_accessible, pages: list[tuple[str, str, callable]]) -> None:
    """Visit each page, run axe on all of them and report every failing page at once."""
    failures = []
    for label, url, prepare in pages:
        page.goto(url)
        if prepare:
            prepare(page)
        try:
            assert_accessible(page, label)
        except pytest.fail.Exception as error:
            failures.append(str(error))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def _submit_empty_form(page) -> None:
    for field in page.locator("form.usa-form input:visible, form.usa-form textarea").all():
        if field.get_attribute("type") not in ("hidden", "submit", "checkbox"):
            field.fill("")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the empty form showed no errors"


def _swagger_rendered(page) -> None:
    page.locator(".swagger-ui .information-container").wait_for()
    page.locator(".opblock").first.wait_for()


def _swagger_operation_opened(page) -> None:
    _swagger_rendered(page)
    page.locator(".opblock-summary-control").first.click()
    page.locator(".opblock-body").first.wait_for()


def _charts_drawn(page) -> None:
    # Charts are drawn as they scroll into view: bring each one in.
    for chart in page.locator("[data-chart]").all():
        chart.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')]"
        ".every(chart => chart.dataset.rendered === 'true')"
    )
    assert page.locator("[data-chart] .main-svg").count() > 0, "no chart was drawn"


def _acknowledge_opened(page) -> None:
    _charts_drawn(page)
    page.locator("#signals summary").first.click()
    page.locator("#signals textarea").first.wait_for()


def _acknowledge_without_a_note(page) -> None:
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the empty note showed no error"


def test_commissioner_pages_have_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    a = world.a
    commissioner = a.members[Role.COMMISSIONER]
    dashboard = build_dashboard(a)
    signal = dashboard.contract.signals.filter(status="open").first()
    # A second organisation, so that the switcher lists more than one.
    MembershipFactory(tenant=world.b.tenant, user=commissioner.user, role=Role.AUDITOR)
    slug = a.tenant.slug
    contract = a.p1.contract
    sign_in(page, commissioner.user)

    _visit_all(
        page,
        assert_accessible,
        [
            ("the organisation switcher", _url("tenant_switch"), None),
            ("the tenant home", _url("tenant_home", tenant_slug=slug), None),
            ("the provider list", _url("provider_list", tenant_slug=slug), None),
            (
                "a provider's page",
                _url("provider_detail", tenant_slug=slug, provider_pk=a.p1.provider.pk),
                None,
            ),
            ("the service types", _url("service_type_list", tenant_slug=slug), None),
            (
                "the filtered register",
                _url("contract_list", tenant_slug=slug) + "?q=care&ending_within=999",
                None,
            ),
            ("the contract form", _url("contract_create", tenant_slug=slug), None),
            (
                "the contract form with errors",
                _url("contract_create", tenant_slug=slug),
                _submit_empty_form,
            ),
            (
                "the contract edit form",
                _url("contract_edit", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),
            (
                "a contract's history",
                _url("contract_history", tenant_slug=slug, contract_pk=contract.pk),
                None,
            ),
            (
                "a contract's dashboard",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=contract.pk),
                _charts_drawn,
            ),
            (
                "a contract's dashboard with an acknowledge form open",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=contract.pk),
                _acknowledge_opened,
            ),
            (
                "an empty dashboard",
                _url("contract_dashboard", tenant_slug=slug, contract_pk=a.p2.contract.pk),
                None,
            ),
            ("a signal", _url("signal_detail", tenant_slug=slug, signal_pk=signal.pk), None),
            (
                "a signal acknowledged without a note",
                _url("signal_detail", tenant_slug=slug, signal_pk=signal.pk),
                _acknowledge_without_a_note,
            ),
            ("the API docs", _url("api_docs"), _swagger_rendered),
            ("the API docs with an operation open", _url("api_docs"), _swagger_operation_opened),
        ],
    )


def test_admin_member_pages_have_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    a = world.a
    admin = a.members[Role.ADMIN]
    slug = a.tenant.slug
    sign_in(page, admin.user)

    _visit_all(
        page,
        assert_accessible,
        [
            ("the members list", _url("member_list", tenant_slug=slug), None),
            ("the add-member form", _url("member_create", tenant_slug=slug), None),
            (
                "the add-member form with errors",
                _url("member_create", tenant_slug=slug),
                _submit_empty_form,
            ),
            (
                "the edit-member form",
                _url("member_edit", tenant_slug=slug, membership_pk=a.members[Role.AUDITOR].pk),
                None,
            ),
        ],
    )
