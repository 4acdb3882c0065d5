"""The register's API refuses what it would otherwise drop or store without
bound (issue 7): a field it does not know, a list or text past its limit.
Each test sends the request an independent probe sent, and asserts the field
error a client reads and that nothing changed."""

import pytest
from django.urls import reverse

from contracts.models import Contract, DeliverySite, Milestone, Provider, ServiceType

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
    assert response.json() == {"titel": ["unknown field 'titel': did you mean 'title'?"]}
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
    assert response.json() == {unknown: [message]}
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
    body = response.json()
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
