"""The register through the API, as a provider's system or an agency script
uses it: list, filter, paginate, create, update with a reason, field-level
errors, token authentication; and the OpenAPI schema and offline docs."""

import datetime as dt
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.urls import reverse
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.models import Contract
from oversight import clock
from tests.api_errors import field_errors
from tests.factories import ContractFactory

pytestmark = pytest.mark.django_db


def _contracts_url(tw, **query) -> str:
    url = reverse("api-contract-list", args=[tw.tenant.slug])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _refs(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {c["reference"] for c in response.json()["results"]}


def _payload(tw, **over) -> dict:
    data = {
        "reference": "API-001",
        "title": "Assertive community treatment",
        "provider": tw.p1.provider.pk,
        "service_type": tw.service_type.pk,
        "scope": "ACT team for adults with serious mental illness.",
        "start_date": "2026-07-01",
        "end_date": "2029-06-30",
        "annual_value": "900000.00",
        "total_value": "2700000.00",
        "payment_model": "outcome_linked",
        "payment_at_risk_pct": "7.5",
        "contract_manager": tw.user("commissioner").pk,
        "protected_core_components": ["24/7 crisis cover", "Team psychiatrist"],
    }
    data.update(over)
    return data


# --- List, filter, paginate ---------------------------------------------------------


def test_list_gives_the_tenants_contracts_with_names(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["auditor"]).get(_contracts_url(a))
    assert _refs(response) == {a.p1.contract.reference, a.p2.contract.reference}
    row = next(c for c in response.json()["results"] if c["id"] == a.p1.contract.pk)
    assert row["provider"] == a.p1.provider.pk
    assert row["provider_name"] == a.p1.provider.name
    assert row["service_type_name"] == a.service_type.name
    assert row["end_date"] == "2027-12-31"
    assert row["annual_value"] == "250000.00"


def test_provider_system_lists_only_its_own_contracts(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["provider"]).get(_contracts_url(a))
    assert _refs(response) == {a.p1.contract.reference}
    sites = api_client_for(a.members["provider"]).get(
        reverse("api-site-list", args=[a.tenant.slug]), {"contract": a.p2.contract.pk}
    )
    assert sites.json()["results"] == []


@pytest.fixture
def more(world):
    a = world.a
    today = clock.today()
    ContractFactory(
        tenant=a.tenant,
        reference="API-SOON",
        title="Detox beds",
        provider=a.p2.provider,
        service_type=a.service_type,
        end_date=today + dt.timedelta(days=45),
        service_owner=a.user("executive"),
    )
    ContractFactory(
        tenant=a.tenant,
        reference="API-SUSP",
        title="Day centre",
        provider=a.p1.provider,
        service_type=a.service_type,
        status="suspended",
    )
    return a


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "suspended"}, {"API-SUSP"}),
        ({"q": "detox"}, {"API-SOON"}),
        ({"ending_within": 60}, {"API-SOON"}),
        ({"ending_within": 30}, set()),
        ({"provider": "P2"}, {"API-SOON", "QQPROVTWO-001"}),
        ({"owner": "EXEC"}, {"API-SOON"}),
        ({"provider": "P1", "status": "active"}, {"QQPROVONE-001"}),
    ],
)
def test_list_filters(more, api_client_for, query, expected):
    a = more
    ids = {"P1": a.p1.provider.pk, "P2": a.p2.provider.pk, "EXEC": a.user("executive").pk}
    query = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in query.items()}
    assert _refs(api_client_for(a.members["commissioner"]).get(_contracts_url(a, **query))) == (
        expected
    )


def test_an_invalid_filter_is_a_400_not_everything(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["commissioner"]).get(_contracts_url(a, status="lost"))
    assert response.status_code == 400
    assert "status" in field_errors(response)


def test_list_paginates(world, api_client_for):
    a = world.a
    for n in range(53):
        ContractFactory(tenant=a.tenant, reference=f"PAGE-{n:03d}", provider=a.p1.provider)
    client = api_client_for(a.members["commissioner"])
    first = client.get(_contracts_url(a, q="PAGE-"))
    body = first.json()
    assert body["count"] == 53
    assert len(body["results"]) == 50
    assert body["previous"] is None and "page=2" in body["next"]
    second = client.get(body["next"]).json()
    assert len(second["results"]) == 3
    assert second["next"] is None
    seen = {c["reference"] for c in body["results"]} | {c["reference"] for c in second["results"]}
    assert seen == {f"PAGE-{n:03d}" for n in range(53)}


# --- Create and update ---------------------------------------------------------------


def test_create_returns_the_contract(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["commissioner"]).post(
        _contracts_url(a), _payload(a), format="json", HTTP_X_CHANGE_REASON="Awarded"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    contract = Contract.objects.get(pk=body["id"])
    assert contract.tenant == a.tenant
    assert body["reference"] == "API-001"
    assert body["currency"] == "USD"  # the tenant's currency when not given
    assert body["protected_core_components"] == ["24/7 crisis cover", "Team psychiatrist"]
    assert contract.history.first().history_change_reason == "Awarded"


def test_create_without_a_reason_uses_a_default_that_names_the_user(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["commissioner"]).post(
        _contracts_url(a), _payload(a), format="json"
    )
    assert response.status_code == 201
    reason = Contract.objects.get(pk=response.json()["id"]).history.first().history_change_reason
    assert "Commissioner QQTENANTA" in reason


def test_update_with_a_reason_header(world, api_client_for):
    a = world.a
    contract = a.p1.contract
    url = reverse("api-contract-detail", args=[a.tenant.slug, contract.pk])
    client = api_client_for(a.members["commissioner"])
    response = client.patch(
        url,
        {"status": "suspended", "end_date": "2028-12-31"},
        format="json",
        HTTP_X_CHANGE_REASON="Safeguarding concern",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "suspended"
    contract.refresh_from_db()
    assert (contract.status, contract.end_date) == ("suspended", dt.date(2028, 12, 31))
    assert contract.history.first().history_change_reason == "Safeguarding concern"
    assert client.get(url).json()["end_date"] == "2028-12-31"


def test_put_replaces_the_whole_contract(world, api_client_for):
    a = world.a
    contract = a.p1.contract
    response = api_client_for(a.members["admin"]).put(
        reverse("api-contract-detail", args=[a.tenant.slug, contract.pk]),
        _payload(a, reference=contract.reference, title="Replaced"),
        format="json",
        HTTP_X_CHANGE_REASON="Restated after variation",
    )
    assert response.status_code == 200, response.content
    contract.refresh_from_db()
    assert contract.title == "Replaced"
    assert contract.payment_model == "outcome_linked"


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"end_date": "2026-06-30"}, "end_date", "before the start date"),
        ({"payment_at_risk_pct": "0"}, "payment_at_risk_pct", "outcome-linked"),
        ({"payment_model": "pay-as-you-go"}, "payment_model", "not a valid choice"),
        ({"start_date": "01/07/2026"}, "start_date", "wrong format"),
        ({"annual_value": "-5"}, "annual_value", "greater than or equal to 0"),
        ({"reference": "QQPROVONE-001"}, "non_field_errors", "already exists"),
        ({"title": ""}, "title", "may not be blank"),
    ],
)
def test_validation_errors_are_field_level_400s(world, api_client_for, over, field, words):
    a = world.a
    before = Contract.objects.count()
    response = api_client_for(a.members["commissioner"]).post(
        _contracts_url(a), _payload(a, **over), format="json"
    )
    assert response.status_code == 400
    errors = field_errors(response)
    assert field in errors, errors
    assert any(words in message.lower() for message in errors[field]), errors
    assert Contract.objects.count() == before


def test_missing_required_fields_are_each_named(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["commissioner"]).post(
        _contracts_url(a), {"title": "Only a title"}, format="json"
    )
    assert response.status_code == 400
    assert {"reference", "provider", "start_date", "end_date", "payment_model"} <= set(
        field_errors(response)
    )


@pytest.mark.parametrize("field", ["provider", "service_type", "contract_manager"])
def test_another_tenants_ids_read_as_missing(world, api_client_for, field):
    a, b = world.a, world.b
    foreign = {
        "provider": b.p1.provider.pk,
        "service_type": b.service_type.pk,
        "contract_manager": b.user("commissioner").pk,
    }[field]
    response = api_client_for(a.members["commissioner"]).post(
        _contracts_url(a), _payload(a, **{field: foreign}), format="json"
    )
    assert response.status_code == 400
    [message] = field_errors(response)[field]
    assert "does not exist" in message
    assert "ZZOTHERTENANT" not in response.content.decode()


def test_a_site_for_another_tenants_contract_is_refused(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["admin"]).post(
        reverse("api-site-list", args=[a.tenant.slug]),
        {"contract": world.b.p1.contract.pk, "name": "Sneaky", "area": "Nowhere"},
        format="json",
    )
    assert response.status_code == 400
    assert "contract" in field_errors(response)


# --- Token authentication ------------------------------------------------------------


def test_token_authentication_works_for_the_users_tenants(world):
    a = world.a
    token = Token.objects.create(user=a.user("provider"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert _refs(client.get(_contracts_url(a))) == {a.p1.contract.reference}
    # the same token reaches no other tenant
    assert client.get(_contracts_url(world.b)).status_code == 404


def test_a_wrong_token_is_refused(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = client.get(_contracts_url(world.a))
    # 401 or 403: DRF answers 403 when session authentication is listed first
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Invalid token."
    assert "QQTENANTA" not in response.content.decode()


def test_token_writes_need_no_csrf_and_leave_history(world):
    a = world.a
    token = Token.objects.create(user=a.user("admin"))
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.patch(
        reverse("api-site-detail", args=[a.tenant.slug, a.p1.site.pk]),
        {"area": "Hill County"},
        format="json",
        HTTP_X_CHANGE_REASON="Boundary change",
    )
    assert response.status_code == 200, response.content
    record = a.p1.site.history.first()
    assert (record.history_user, record.history_change_reason) == (
        a.user("admin"),
        "Boundary change",
    )


# --- Schema and docs ------------------------------------------------------------------


def test_openapi_schema_is_valid_and_describes_the_tenant_routes(world, client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)  # raises on an invalid OpenAPI document
    paths = schema["paths"]
    assert "/api/v1/t/{tenant_slug}/contracts/" in paths
    assert "/api/v1/t/{tenant_slug}/contracts/{contract_pk}/" in paths
    assert {"get", "post"} <= set(paths["/api/v1/t/{tenant_slug}/contracts/"])
    list_params = {
        p["name"] for p in paths["/api/v1/t/{tenant_slug}/contracts/"]["get"]["parameters"]
    }
    assert {"q", "provider", "status", "ending_within", "page"} <= list_params
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    assert "QQTENANTA" not in response.content.decode()


def _asset_urls(body: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", body) + re.findall(
        r"""["'](https?://[^"']+)["']""", body
    )


@pytest.mark.parametrize("name", ["api_docs", "api_redoc"])
def test_api_docs_load_with_no_external_urls(world, client_for, name):
    response = client_for(world.a.members["commissioner"]).get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert not re.search(r"cdn\.|jsdelivr|unpkg|cdnjs|googleapis", body, re.I)
    urls = _asset_urls(body)
    assert urls, "the docs page loads no assets at all"
    external = [u for u in urls if re.match(r"^(https?:)?//", u)]
    assert not external, f"external URLs in {name}: {external}"
    # every local script and stylesheet is one this server can serve
    for url in urls:
        if url.startswith("/static/"):
            path = url.removeprefix("/static/").split("?")[0]  # ?v=<content hash>
            assert finders.find(path), f"{url} is not a static file"
