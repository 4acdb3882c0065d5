"""Every page of a contract, in the register and under it (KPIs, returns,
values, dashboard), leads back the same way: Contracts › the contract."""

import html
import re

import pytest
from django.urls import reverse

from oversight.models import Role

pytestmark = pytest.mark.django_db

PAGES = [
    ("contract_detail", "Contracts"),
    ("contract_edit", "Contracts › {ref}"),
    ("contract_history", "Contracts › {ref}"),
    ("site_create", "Contracts › {ref}"),
    ("contract_kpis", "Contracts › {ref}"),
    ("contract_returns", "Contracts › {ref}"),
    ("contract_values", "Contracts › {ref}"),
    ("contract_dashboard", "Contracts › {ref}"),
]


def _breadcrumbs(response) -> str:
    nav = re.search(r'<nav class="usa-breadcrumb".*?</nav>', response.content.decode(), re.S)
    assert nav, "no breadcrumbs on the page"
    return nav[0]


def _trail(response) -> list[tuple[str, str]]:
    """The breadcrumb links as (text, href), the current page left out."""
    nav = _breadcrumbs(response)
    links = re.findall(r'<a href="([^"]+)" class="usa-breadcrumb__link"><span>(.*?)</span>', nav)
    return [(html.unescape(text), href) for href, text in links]


@pytest.mark.parametrize(("page", "expected"), PAGES)
def test_a_contract_page_leads_back_to_the_register_and_the_contract(
    world, client_for, page, expected
):
    tw = world.a
    contract = tw.p1.contract
    client = client_for(tw.members[Role.ADMIN])
    response = client.get(reverse(page, args=[tw.tenant.slug, contract.pk]))
    assert response.status_code == 200
    trail = _trail(response)
    assert " › ".join(text for text, _ in trail) == expected.format(ref=contract.reference)
    hrefs = [reverse("contract_list", args=[tw.tenant.slug])]
    if len(trail) > 1:
        hrefs.append(reverse("contract_detail", args=[tw.tenant.slug, contract.pk]))
    assert [href for _, href in trail] == hrefs
    if page == "contract_detail":  # the contract is the page itself
        current = re.search(r'aria-current="page"><span>(.*?)</span>', _breadcrumbs(response))
        assert current[1] == contract.reference
