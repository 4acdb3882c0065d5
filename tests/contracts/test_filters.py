"""The register's filters say what an empty choice means ("All providers"),
never Django's "---------"."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _first_options(body: str) -> dict[str, str]:
    """Each <select>'s name and the text of its first option."""
    found = {}
    for name, inner in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        first = re.search(r"<option[^>]*>(.*?)</option>", inner, re.S)
        found[name] = first.group(1).strip()
    return found


def test_register_filters_offer_all_things_as_the_empty_choice(as_role, world):
    body = (
        as_role("commissioner")
        .get(reverse("contract_list", args=[world.a.tenant.slug]))
        .content.decode()
    )
    assert "---------" not in body
    assert _first_options(body) == {
        "provider": "All providers",
        "service_type": "All service types",
        "status": "All statuses",
        "owner": "All owners",
    }


def test_a_providers_register_filters_have_no_dashes_either(as_role, world):
    body = (
        as_role("provider")
        .get(reverse("contract_list", args=[world.a.tenant.slug]))
        .content.decode()
    )
    assert "---------" not in body
    assert _first_options(body) == {
        "provider": "All providers",
        "service_type": "All service types",
        "status": "All statuses",
    }
