"""The register's API refuses what it would otherwise drop or store without
bound (issue 7): a field it does not know, a list or text past its limit.
Each test sends the request an independent probe sent, and asserts the field
error a client reads and that nothing changed."""

import pytest
from django.urls import reverse

from contracts.models import Contract, DeliverySite, Milestone, Provider, ServiceType
from tests.api_errors import field_errors

pytestmark = pytest.mark.django_db


def _history_count(obj) -> int:
    return obj.history.count()


# --- unknown fields -------------------------------------------------------------------


def test_patching_a_contract_with_a_misspelt_field_is_refused(world, api_client_for):
    a = world.a
    contract = a.p1.contract
    response = api_client_for(a.members["commissioner"]).patch(
        reverse("api-contract-detail", args=[a.tenant.slug, contract.pk]),
        {"titel": "Renamed", "status": "suspended"},
        format="json",
        HTTP_X_CHANGE_REASON="Typo test",
    )
    assert response.status_code == 400
    assert field_errors(response) == {"titel": ["unknown field 'titel': did you mean 'title'?"]}
    contract.refresh_from_db()
    assert contract.status == "active"
    assert _history_count(contract) == 1


@pytest.mark.parametrize(
    ("route", "payload", "unknown", "message"),
    [
        (
            "api-provider-list",
            {"name": "Harbour Care", "emial": "x@example.org"},
            "emial",
            "unknown field 'emial': the fields are address, contact_email, contact_name, "
            "contact_phone, ein, name, ods_code, uei",
        ),
        (
            "api-service-type-list",
            {"code": "respite", "name": "Respite", "descripton": "Short breaks"},
            "descripton",
            "unknown field 'descripton': did you mean 'description'?",
        ),
        (
            "api-milestone-list",
            {"title": "Go live", "due_date": "2026-09-01", "note": "Soft launch"},
            "note",
            "unknown field 'note': did you mean 'notes'?",
        ),
    ],
)
def test_creating_with_an_unknown_field_is_refused_and_writes_nothing(
    world, api_client_for, route, payload, unknown, message
):
    a = world.a
    if route == "api-milestone-list":
        payload = {**payload, "contract": a.p1.contract.pk}
    models = (Provider, ServiceType, Milestone)
    before = [m.objects.count() for m in models]
    response = api_client_for(a.members["admin"]).post(
        reverse(route, args=[a.tenant.slug]), payload, format="json"
    )
    assert response.status_code == 400
    assert field_errors(response) == {unknown: [message]}
    assert [m.objects.count() for m in models] == before


def test_an_unknown_field_and_a_bad_value_are_both_reported(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["admin"]).patch(
        reverse("api-site-detail", args=[a.tenant.slug, a.p1.site.pk]),
        {"aera": "Hill County", "opened_on": "someday"},
        format="json",
        HTTP_X_CHANGE_REASON="Boundary change",
    )
    assert response.status_code == 400
    body = field_errors(response)
    assert body["aera"] == ["unknown field 'aera': did you mean 'area'?"]
    assert set(body) == {"aera", "opened_on"}
    assert DeliverySite.objects.get(pk=a.p1.site.pk).area == a.p1.site.area


def test_the_reason_may_still_come_in_the_body(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["admin"]).patch(
        reverse("api-site-detail", args=[a.tenant.slug, a.p1.site.pk]),
        {"area": "Hill County", "change_reason": "Boundary change"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert a.p1.site.history.first().history_change_reason == "Boundary change"


def test_a_form_posted_through_the_browsable_api_keeps_working(world, api_client_for):
    """Its HTML form sends Django's CSRF token in the body: not a field, not refused."""
    a = world.a
    response = api_client_for(a.members["admin"]).post(
        reverse("api-provider-list", args=[a.tenant.slug]),
        {"name": "Harbour Care", "csrfmiddlewaretoken": "token-from-the-form"},
    )
    assert response.status_code == 201, response.content
    assert Provider.objects.filter(tenant=a.tenant, name="Harbour Care").exists()


def test_what_was_read_may_be_sent_back_whole(world, api_client_for):
    """Read-only fields (id, provider_name, created_at…) are fields the
    serializer knows: a client that GETs, edits and PUTs is not refused."""
    a = world.a
    client = api_client_for(a.members["admin"])
    url = reverse("api-contract-detail", args=[a.tenant.slug, a.p1.contract.pk])
    read = client.get(url).json()
    assert "provider_name" in read and "created_at" in read
    response = client.put(
        url, {**read, "title": "Retitled"}, format="json", HTTP_X_CHANGE_REASON="Retitled"
    )
    assert response.status_code == 200, response.content
    assert Contract.objects.get(pk=a.p1.contract.pk).title == "Retitled"


# --- length limits ----------------------------------------------------------------------


@pytest.fixture
def patch_contract(world, api_client_for):
    a = world.a

    def patch(payload):
        return api_client_for(a.members["commissioner"]).patch(
            reverse("api-contract-detail", args=[a.tenant.slug, a.p1.contract.pk]),
            payload,
            format="json",
            HTTP_X_CHANGE_REASON="Limits test",
        )

    return patch


def test_ten_thousand_protected_core_components_are_refused(world, patch_contract):
    contract = world.a.p1.contract
    before = list(contract.protected_core_components)
    response = patch_contract(
        {"protected_core_components": [f"Component {n}" for n in range(10_000)]}
    )
    assert response.status_code == 400
    assert field_errors(response) == {
        "protected_core_components": ["Give at most 50 items (this list has 10,000)."]
    }
    contract.refresh_from_db()
    assert contract.protected_core_components == before
    assert _history_count(contract) == 1


def test_fifty_protected_core_components_are_accepted(world, patch_contract):
    items = [f"Component {n}" for n in range(50)]
    response = patch_contract({"protected_core_components": items})
    assert response.status_code == 200, response.content
    assert Contract.objects.get(pk=world.a.p1.contract.pk).protected_core_components == items


def test_a_protected_core_component_past_500_characters_is_refused(world, patch_contract):
    response = patch_contract({"protected_core_components": ["Named worker", "x" * 501]})
    assert response.status_code == 400
    assert field_errors(response) == {
        "protected_core_components[1]": ["Ensure this field has no more than 500 characters."]
    }


@pytest.mark.parametrize(("field", "limit"), [("scope", 10_000), ("population_coverage", 5_000)])
def test_contract_text_past_its_limit_is_refused(world, patch_contract, field, limit):
    contract = world.a.p1.contract
    response = patch_contract({field: "y" * (limit + 1)})
    assert response.status_code == 400
    assert field_errors(response) == {
        field: [f"Ensure this field has no more than {limit} characters."]
    }
    assert patch_contract({field: "y" * limit}).status_code == 200
    contract.refresh_from_db()
    assert len(getattr(contract, field)) == limit


@pytest.mark.parametrize(
    ("route", "field", "limit"),
    [
        ("api-provider-detail", "address", 1_000),
        ("api-service-type-detail", "description", 5_000),
        ("api-site-detail", "address", 1_000),
        ("api-milestone-detail", "notes", 5_000),
    ],
)
def test_other_register_text_past_its_limit_is_refused(world, api_client_for, route, field, limit):
    a = world.a
    milestone = Milestone.objects.create(
        tenant=a.tenant, contract=a.p1.contract, title="Go live", due_date="2026-09-01"
    )
    pk = {
        "api-provider-detail": a.p1.provider.pk,
        "api-service-type-detail": a.service_type.pk,
        "api-site-detail": a.p1.site.pk,
        "api-milestone-detail": milestone.pk,
    }[route]
    response = api_client_for(a.members["admin"]).patch(
        reverse(route, args=[a.tenant.slug, pk]),
        {field: "z" * (limit + 1)},
        format="json",
        HTTP_X_CHANGE_REASON="Limits test",
    )
    assert response.status_code == 400
    assert field_errors(response) == {
        field: [f"Ensure this field has no more than {limit} characters."]
    }


def test_the_edit_form_refuses_too_many_protected_core_components(world, client_for):
    from tests.contracts.test_views import _form

    a = world.a
    contract = a.p1.contract
    lines = "\n".join(f"Component {n}" for n in range(51))
    response = client_for(a.members["commissioner"]).post(
        reverse("contract_edit", args=[a.tenant.slug, contract.pk]),
        _form(
            a,
            reference=contract.reference,
            provider=a.p1.provider.pk,
            protected_core_components=lines,
            reason="Too many",
        ),
    )
    assert response.status_code == 400
    assert "Give at most 50 items (this list has 51)." in response.content.decode()
    contract.refresh_from_db()
    assert len(contract.protected_core_components) < 51


def test_the_contracts_import_refuses_too_many_protected_core_components(world):
    from contracts.imports import contracts_import
    from oversight.errors import ImportRejected

    a = world.a
    row = {
        "reference": "IMP-LIMIT",
        "title": "Housing First",
        "provider": a.p1.provider.name,
        "service_type": a.service_type.code,
        "status": "active",
        "start_date": "2026-04-01",
        "end_date": "2029-03-31",
        "annual_value": "180000",
        "total_value": "540000",
        "payment_model": "block",
        "contract_manager_email": a.user("commissioner").email,
        "scope": "Permanent supportive housing",
        "protected_core_components": "; ".join(f"Component {n}" for n in range(60)),
    }
    with pytest.raises(ImportRejected) as rejected:
        contracts_import(membership=a.members["admin"], rows=[row], reason="Migration")
    assert [str(e) for e in rejected.value.problems] == [
        "row 2, protected_core_components: Give at most 50 items (this list has 60)."
    ]
    assert not Contract.objects.filter(reference="IMP-LIMIT").exists()
