"""The error pages in real Chromium: each is the product's page (the site's
header, a heading, a way back) and passes axe with zero violations; and the API
docs page shows the token header as written."""

import pytest
from django.urls import reverse

from oversight.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _check(page, assert_accessible, *, status: int, heading: str, label: str, response) -> None:
    assert response.status == status, f"{label}: {response.status}"
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert page.get_by_role("banner").get_by_role("link", name="Oversight").is_visible()
    assert page.get_by_role("link", name="Go to your home page").is_visible()
    assert_accessible(page, label)


def test_the_404_and_403_pages(page, world, sign_in, assert_accessible):
    a, b = world.a, world.b
    sign_in(page, b.members[Role.AUDITOR].user)

    # Another organisation's contract: the product's 404, nothing of it shown.
    response = page.goto(reverse("contract_detail", args=[a.tenant.slug, a.p1.contract.pk]))
    _check(
        page,
        assert_accessible,
        status=404,
        heading="Page not found",
        label="the 404 page",
        response=response,
    )
    assert a.p1.contract.title not in page.content()
    page.get_by_role("link", name="Go to your home page").click()
    page.wait_for_load_state("load")
    assert f"/t/{b.tenant.slug}/" in page.url

    # A page the auditor's role cannot use.
    response = page.goto(reverse("contract_create", args=[b.tenant.slug]))
    _check(
        page,
        assert_accessible,
        status=403,
        heading="You cannot do this",
        label="the 403 page",
        response=response,
    )
    assert page.get_by_text("Your role cannot do this (contract.change).").is_visible()
    page.get_by_role("link", name=f"Go to {b.tenant.name}'s home page").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/t/{b.tenant.slug}/")


@pytest.mark.urls("tests.oversight.error_urls")
def test_the_500_page(page, world, sign_in, assert_accessible):
    sign_in(page, world.a.members[Role.COMMISSIONER].user)
    response = page.goto("/boom/")
    _check(
        page,
        assert_accessible,
        status=500,
        heading="Something went wrong",
        label="the 500 page",
        response=response,
    )
    assert "deliberate failure" not in page.content()


def test_the_api_docs_show_the_token_header_as_written(page, world, sign_in):
    sign_in(page, world.a.members[Role.ADMIN].user)
    page.goto(reverse("api_docs"))
    description = page.locator(".swagger-ui .information-container .description")
    description.wait_for()
    text = description.inner_text()
    assert "(Authorization: Token <key>)" in text, text
    assert "Token )" not in text
