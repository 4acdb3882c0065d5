"""The register's pages as a commissioner uses them: list with filters and
pages, detail, create and edit; and the list's query count at two sizes."""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.models import Contract
from oversight import clock
from tests.factories import (
    ContractFactory,
    DeliverySiteFactory,
    MilestoneFactory,
    ProviderFactory,
)

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    """The page as a reader sees it: tags stripped, entities decoded, spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    text = " ".join(html.unescape(body).split())
    return re.sub(r" ([:,.;])", r"\1", text)


def _list_url(tw, **query) -> str:
    url = reverse("contract_list", args=[tw.tenant.slug])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


# --- List ---------------------------------------------------------------------------


def test_list_shows_the_tenants_contracts(world, client_for):
    a = world.a
    response = client_for(a.members["commissioner"]).get(_list_url(a))
    assert response.status_code == 200
    text = _text(response)
    assert "2 contracts" in text
    row = (
        f"{a.p1.contract.reference} {a.p1.contract.title} {a.p1.provider.name} "
        f"{a.service_type.name} Active 31 Dec 2027 $250,000"
    )
    assert row in text
    assert a.p2.contract.reference in text
    assert "ZZOTHERTENANT" not in text
    link = reverse("contract_detail", args=[a.tenant.slug, a.p1.contract.pk])
    assert f'href="{link}"' in response.content.decode()


def test_list_offers_registering_only_to_those_who_may(world, client_for):
    a = world.a
    create = reverse("contract_create", args=[a.tenant.slug])
    assert create in client_for(a.members["commissioner"]).get(_list_url(a)).content.decode()
    assert create not in client_for(a.members["auditor"]).get(_list_url(a)).content.decode()


@pytest.fixture
def filtered(world):
    a = world.a
    today = clock.today()
    ContractFactory(
        tenant=a.tenant,
        reference="VW-SOON",
        title="Crisis beds",
        provider=a.p2.provider,
        service_type=a.service_type,
        end_date=today + dt.timedelta(days=20),
    )
    ContractFactory(
        tenant=a.tenant,
        reference="VW-ENDED",
        title="Winter shelter",
        provider=a.p1.provider,
        service_type=a.service_type,
        start_date=dt.date(2020, 1, 1),
        end_date=dt.date(2021, 1, 1),
        status="ended",
    )
    return a


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "crisis"}, {"VW-SOON"}),
        ({"status": "ended"}, {"VW-ENDED"}),
        ({"ending_within": "30"}, {"VW-SOON"}),
        ({"provider": "P2"}, {"VW-SOON", "QQPROVTWO-001"}),
        ({"provider": "P2", "q": "personal care"}, {"QQPROVTWO-001"}),
        # search covers the provider's name too
        ({"q": "hillcrest"}, {"VW-SOON", "QQPROVTWO-001"}),
    ],
)
def test_list_filters(filtered, client_for, query, expected):
    a = filtered
    if query.get("provider") == "P2":
        query = {**query, "provider": a.p2.provider.pk}
    response = client_for(a.members["commissioner"]).get(_list_url(a, **query))
    text = _text(response)
    shown = {
        ref for ref in ["VW-SOON", "VW-ENDED", "QQPROVONE-001", "QQPROVTWO-001"] if ref in text
    }
    assert shown == expected
    assert f"{len(expected)} contract" in text


def test_list_filter_by_owner(world, client_for):
    a = world.a
    other = ContractFactory(tenant=a.tenant, reference="VW-OTHER-OWNER")
    response = client_for(a.members["admin"]).get(_list_url(a, owner=a.user("commissioner").pk))
    text = _text(response)
    assert a.p1.contract.reference in text
    assert other.reference not in text


def test_list_ignores_another_tenants_provider_id_in_a_filter(world, client_for):
    a = world.a
    response = client_for(a.members["commissioner"]).get(
        _list_url(a, provider=world.b.p1.provider.pk)
    )
    assert response.status_code == 200
    text = _text(response)
    assert "ZZOTHERTENANT" not in text
    assert "Select a valid choice" in text


def test_list_pages_keep_the_filters(world, client_for):
    a = world.a
    for n in range(30):
        ContractFactory(
            tenant=a.tenant, reference=f"PG-{n:03d}", provider=a.p1.provider, title="Paged"
        )
    client = client_for(a.members["commissioner"])
    first = client.get(_list_url(a, q="Paged"))
    text = _text(first)
    assert "30 contracts" in text
    assert "Page 1 of 2" in text
    assert "PG-024" in text and "PG-025" not in text
    assert "q=Paged&amp;page=2" in first.content.decode()
    second = _text(client.get(_list_url(a, q="Paged", page=2)))
    assert "Page 2 of 2" in second
    assert "PG-025" in second and "PG-029" in second and "PG-024" not in second


def _list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["commissioner", "provider"])
def test_list_page_runs_a_fixed_number_of_queries(
    world, client_for, django_assert_max_num_queries, role
):
    """The same number of queries for 5 and 60 contracts (no query per row)."""
    a = world.a
    client = client_for(a.members[role])
    url = _list_url(a)
    client.get(url)  # warm the session

    def add(n):
        for _ in range(n):
            # a provider, service type and manager each, so a per-row lookup would show
            ContractFactory(tenant=a.tenant, provider=ProviderFactory(tenant=a.tenant))
        if role == "provider":
            Contract.objects.filter(tenant=a.tenant).update(provider=a.p1.provider)

    add(3)  # 5 contracts
    small = _list_queries(client, url)
    add(55)  # 60 contracts, more than one page
    with django_assert_max_num_queries(15):
        large = _list_queries(client, url)
    assert large == small


def test_tenant_home_runs_a_fixed_number_of_queries(world, client_for):
    a = world.a
    client = client_for(a.members["commissioner"])
    url = reverse("tenant_home", args=[a.tenant.slug])
    client.get(url)
    soon = clock.today() + dt.timedelta(days=30)
    ContractFactory.create_batch(3, tenant=a.tenant, end_date=soon)
    small = _list_queries(client, url)
    ContractFactory.create_batch(20, tenant=a.tenant, end_date=soon)
    assert _list_queries(client, url) == small


# --- Detail ----------------------------------------------------------------------------


def test_money_reads_with_its_symbol_in_the_tenants_locale(world, client_for):
    b = world.b
    b.tenant.currency = "GBP"
    b.tenant.save()
    contract = b.p1.contract
    contract.currency, contract.annual_value = "GBP", Decimal("5200000.00")
    contract.total_value = Decimal("15600000.50")
    contract.save()
    text = _text(client_for(b.members["commissioner"]).get(contract.get_absolute_url()))
    assert "Annual value £5,200,000" in text
    assert "Total value £15,600,000.50" in text
    assert "GBP 5,200,000" not in text
    listing = _text(client_for(b.members["commissioner"]).get(_list_url(b)))
    assert "£5,200,000" in listing


def test_detail_shows_terms_sites_milestones_and_history(world, client_for):
    a = world.a
    contract = a.p1.contract
    contract.protected_core_components = ["Same worker each visit", "Two-hour minimum"]
    contract.payment_model = "outcome_linked"
    contract.payment_at_risk_pct = 12.5
    contract.save()
    DeliverySiteFactory(
        tenant=a.tenant, contract=contract, name="East office", partner_organisation="East CIL"
    )
    MilestoneFactory(tenant=a.tenant, contract=contract, title="Staff in post")
    text = _text(client_for(a.members["executive"]).get(contract.get_absolute_url()))
    assert f"{contract.reference}: {contract.title}" in text
    assert "1 Jan 2025 to 31 Dec 2027" in text
    assert "Annual value $250,000" in text and "USD" not in text
    assert "Outcome-linked, 12.5% of payment at risk" in text
    assert "Same worker each visit" in text and "Two-hour minimum" in text
    assert "East office" in text and "East CIL" in text
    assert a.p1.site.name in text
    assert "Staff in post" in text and a.p1.milestone.title in text
    assert "History" in text
    # another provider's sites never appear on this contract
    assert a.p2.site.name not in text


def test_full_history_page_lists_every_change(world, client_for):
    a = world.a
    contract = a.p1.contract
    for n in range(3):
        contract.title = f"Title version {n}"
        contract._change_reason = f"Revision {n}"
        contract.save()
    text = _text(
        client_for(a.members["auditor"]).get(
            reverse("contract_history", args=[a.tenant.slug, contract.pk])
        )
    )
    for n in range(3):
        assert f"Revision {n}" in text
    assert "Title version 0 → Title version 1" in text


# --- Create and edit ---------------------------------------------------------------------


def _form(tw, **over):
    data = {
        "reference": "VW-NEW-1",
        "title": "Hospital to home",
        "provider": tw.p2.provider.pk,
        "service_type": tw.service_type.pk,
        "status": "planned",
        "scope": "Support for 6 weeks after discharge.",
        "start_date": "2026-04-01",
        "end_date": "2028-03-31",
        "annual_value": "300000",
        "total_value": "600000",
        "currency": "USD",
        "payment_model": "activity_banded",
        "payment_at_risk_pct": "0",
        "contract_manager": tw.user("commissioner").pk,
        "reporting_frequency": "monthly",
        "protected_core_components": "Visit within 24 hours of discharge\nNamed worker",
        "reason": "Awarded after tender",
    }
    data.update(over)
    return data


def test_create_form_offers_only_this_tenants_choices_with_sensible_defaults(world, client_for):
    a = world.a
    response = client_for(a.members["commissioner"]).get(
        reverse("contract_create", args=[a.tenant.slug])
    )
    body = response.content.decode()
    assert a.p1.provider.name in body and a.p2.provider.name in body
    assert "ZZOTHERTENANT" not in body
    assert re.search(r'name="currency"[^>]*value="USD"', body)
    selected = re.search(
        r'<select name="contract_manager".*?<option value="(\d+)" selected>', body, re.S
    )
    assert selected and int(selected.group(1)) == a.user("commissioner").pk


def test_create_saves_and_takes_the_user_to_the_contract(world, client_for):
    a = world.a
    client = client_for(a.members["commissioner"])
    response = client.post(reverse("contract_create", args=[a.tenant.slug]), _form(a))
    contract = Contract.objects.get(tenant=a.tenant, reference="VW-NEW-1")
    assert response.status_code == 302
    assert response["Location"] == contract.get_absolute_url()
    assert contract.provider == a.p2.provider
    assert contract.protected_core_components == [
        "Visit within 24 hours of discharge",
        "Named worker",
    ]
    text = _text(client.get(response["Location"]))
    assert "VW-NEW-1: Hospital to home" in text
    assert "Awarded after tender" in text


def test_create_shows_what_is_wrong_next_to_the_field(world, client_for):
    a = world.a
    response = client_for(a.members["commissioner"]).post(
        reverse("contract_create", args=[a.tenant.slug]),
        _form(a, end_date="2026-03-31", payment_model="outcome_linked"),
    )
    assert response.status_code == 400
    text = _text(response)
    assert "Nothing was saved" in text
    assert "End date: The end date is before the start date." in text
    assert "outcome-linked contract puts part of its payment at risk" in text
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Contract.objects.filter(reference="VW-NEW-1").exists()


def test_create_with_a_duplicate_reference_says_so(world, client_for):
    a = world.a
    response = client_for(a.members["commissioner"]).post(
        reverse("contract_create", args=[a.tenant.slug]),
        _form(a, reference=a.p1.contract.reference),
    )
    assert response.status_code == 400
    assert "A contract with this reference already exists." in _text(response)


def test_create_refuses_another_tenants_provider(world, client_for):
    a = world.a
    response = client_for(a.members["commissioner"]).post(
        reverse("contract_create", args=[a.tenant.slug]),
        _form(a, provider=world.b.p1.provider.pk),
    )
    assert response.status_code == 400
    assert "Select a valid choice" in _text(response)
    assert not Contract.objects.filter(reference="VW-NEW-1").exists()


def test_edit_form_shows_the_current_values_and_saves_changes(world, client_for):
    a = world.a
    contract = a.p1.contract
    url = reverse("contract_edit", args=[a.tenant.slug, contract.pk])
    client = client_for(a.members["commissioner"])
    body = client.get(url).content.decode()
    assert f'value="{contract.title}"' in body
    assert 'value="2027-12-31"' in body
    response = client.post(
        url,
        _form(
            a,
            reference=contract.reference,
            provider=a.p1.provider.pk,
            title="Personal care (retendered)",
            reason="Retender",
        ),
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.title == "Personal care (retendered)"
    assert contract.start_date == dt.date(2026, 4, 1)


def test_sites_and_milestones_are_added_from_the_contract_page(world, client_for):
    a = world.a
    contract = a.p1.contract
    client = client_for(a.members["commissioner"])
    site = client.post(
        reverse("site_create", args=[a.tenant.slug, contract.pk]),
        {"name": "West hub", "area": "West County", "reason": "New base"},
    )
    assert site.status_code == 302
    assert site["Location"] == contract.get_absolute_url() + "#sites"
    milestone = client.post(
        reverse("milestone_create", args=[a.tenant.slug, contract.pk]),
        {"title": "First review", "due_date": "2026-02-01", "status": "pending", "reason": "Plan"},
    )
    assert milestone.status_code == 302
    text = _text(client.get(contract.get_absolute_url()))
    assert "West hub West County" in text
    assert "First review 1 Feb 2026 Pending" in text


# --- Providers ------------------------------------------------------------------------


def test_provider_page_lists_its_contracts_only(world, client_for):
    a = world.a
    text = _text(client_for(a.members["commissioner"]).get(a.p1.provider.get_absolute_url()))
    assert a.p1.contract.reference in text
    assert a.p2.contract.reference not in text


def test_provider_member_sees_only_its_own_provider_in_lists(world, client_for):
    a = world.a
    client = client_for(a.members["provider"])
    providers = _text(client.get(reverse("provider_list", args=[a.tenant.slug])))
    assert a.p1.provider.name in providers and a.p2.provider.name not in providers
    home = _text(client.get(reverse("tenant_home", args=[a.tenant.slug])))
    assert "QQPROVTWO" not in home
