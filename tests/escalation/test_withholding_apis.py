"""withholdings/ through the API: every rule refused as ``{"errors": [...]}``
with nothing written, retries made safe by the Idempotency-Key, release and
retain, totals, filters, a provider's own contracts only, and the schema."""

import datetime as dt

import pytest
import yaml
from django.urls import reverse

from escalation import withholdings
from escalation.models import Withholding
from tests.api_errors import field_errors

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


@pytest.fixture
def as_member(world, api_client_for):
    return lambda role, tenant="a": api_client_for(getattr(world, tenant).members[role])


def _body(tw, **over) -> dict:
    data = {
        "contract": tw.p1.contract.pk,
        "period": "2026-11",
        "amount": "200.00",
        "ground": "Remedial action plan milestone 1: two carers recruited",
    }
    data.update(over)
    return data


def _post(client, url, body, key="key-1", **headers):
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(url, body, format="json", **headers)


def test_withhold_release_and_read_back(world, capped, as_member):
    tw = world.a
    step = capped(tw)
    client = as_member("commissioner")
    response = _post(
        client,
        _url(tw, "api-withholding-list"),
        _body(tw, step=step.pk),
        HTTP_X_CHANGE_REASON="Remedy under clause 32",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["period"] == "2026-11-01" and body["period_label"] == "Nov 2026"
    assert (body["amount"], body["monthly_value"], body["cap_percent"]) == (
        "200.00",
        "20833.33",
        "2.00",
    )
    assert (body["status"], body["step"], body["stage_level"]) == ("withheld", step.pk, 1)
    w = Withholding.objects.get(pk=body["id"])
    assert w.history.latest().history_change_reason == "Remedy under clause 32"

    released = client.post(
        _url(tw, "api-withholding-release", withholding_pk=w.pk),
        {"note": "Both carers in post"},
        format="json",
    )
    assert released.status_code == 200, released.content
    assert released.json()["status"] == "released"
    assert released.json()["release_note"] == "Both carers in post"
    again = client.post(
        _url(tw, "api-withholding-release", withholding_pk=w.pk), {"note": "x"}, format="json"
    )
    assert field_errors(again) == {
        "status": ["This money is already released: it cannot be released."]
    }


def test_a_retry_with_the_same_key_writes_nothing(world, capped, as_member, row_counts):
    tw = world.a
    capped(tw)
    client = as_member("commissioner")
    url = _url(tw, "api-withholding-list")
    first = _post(client, url, _body(tw), key="retry-1")
    assert first.status_code == 201
    before = row_counts()
    replay = _post(client, url, {**_body(tw)}, key="retry-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert row_counts() == before
    other = _post(client, url, _body(tw, amount="5.00"), key="retry-1")
    assert other.status_code == 422
    refusal = field_errors(other)["request.Idempotency-Key"][0]
    assert "already used with a different request" in refusal
    missing = _post(client, url, _body(tw), key="")
    assert "send an Idempotency-Key header" in field_errors(missing)["request.Idempotency-Key"][0]
    assert row_counts() == before


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"amount": "0"}, "amount", "The amount withheld must be above zero ($0 is not)."),
        ({"amount": "-1.50"}, "amount", "The amount withheld must be above zero (-$1.50 is not)."),
        ({"period": "Nov"}, "period", "Give a month as YYYY-MM, e.g. 2026-11."),
        ({"ground": " "}, "ground", "This field may not be blank."),
        ({"tied_kind": "invoice", "tied_id": 3}, "tied_kind", None),
        ({"surprise": 1}, "surprise", None),
    ],
)
def test_bad_input_names_the_field(world, capped, as_member, row_counts, over, field, message):
    tw = world.a
    capped(tw)
    client = as_member("commissioner")
    before = row_counts()
    response = _post(client, _url(tw, "api-withholding-list"), _body(tw, **over))
    assert response.status_code == 400, response.content
    errors = field_errors(response)
    assert field in errors, errors
    if message:
        assert errors[field] == [message]
    assert row_counts() == before


def test_over_the_cap_and_a_level_without_one(world, capped, as_member, row_counts):
    tw = world.a
    client = as_member("commissioner")
    url = _url(tw, "api-withholding-list")
    before = row_counts()
    response = _post(client, url, _body(tw))
    assert "whose stage sets no withholding cap" in field_errors(response)["contract"][0]
    assert row_counts() == before
    capped(tw)
    before = row_counts()
    response = _post(client, url, _body(tw, amount="416.67"), key="key-2")
    assert field_errors(response)["amount"][0].startswith(
        "$416.67 would be withheld from Nov 2026's payment ($0 already, plus $416.67): over "
        "the cap of $416.66"
    )
    assert row_counts() == before


@pytest.mark.parametrize("role", ["provider", "auditor", "executive"])
def test_only_the_commissioning_side_writes(world, capped, as_member, row_counts, role):
    tw = world.a
    capped(tw)
    w = withholdings.withholding_record(
        membership=tw.members["admin"],
        contract=tw.p1.contract,
        period=dt.date(2026, 11, 1),
        amount=100,
        ground="Plan milestone 1",
        reason="Remedy",
    )
    client = as_member(role)
    before = row_counts()
    assert _post(client, _url(tw, "api-withholding-list"), _body(tw)).status_code == 403
    for name in ("api-withholding-release", "api-withholding-retain"):
        response = client.post(_url(tw, name, withholding_pk=w.pk), {"note": "x"}, format="json")
        assert response.status_code == 403
    assert row_counts() == before
    # They read it: the provider its own contract's.
    assert client.get(_url(tw, "api-withholding-detail", withholding_pk=w.pk)).status_code == 200


def test_the_list_filters_and_a_provider_sees_its_own(world, capped, as_member):
    tw = world.a
    capped(tw)
    admin = tw.members["admin"]
    mine = withholdings.withholding_record(
        membership=admin,
        contract=tw.p1.contract,
        period=dt.date(2026, 11, 1),
        amount=100,
        ground="Plan milestone 1",
        reason="Remedy",
    )
    kept = withholdings.withholding_record(
        membership=admin,
        contract=tw.p1.contract,
        period=dt.date(2026, 10, 1),
        amount=50,
        ground="Plan milestone 0",
        reason="Remedy",
    )
    withholdings.withholding_retain(membership=admin, withholding=kept, note="Missed")
    url = _url(tw, "api-withholding-list")
    client = as_member("auditor")
    ids = [w["id"] for w in client.get(url).json()["results"]]
    assert ids == [mine.pk, kept.pk]  # latest period first
    assert [w["id"] for w in client.get(url, {"status": "retained"}).json()["results"]] == [kept.pk]
    assert client.get(url, {"contract": tw.p2.contract.pk}).json()["results"] == []
    totals = client.get(_url(tw, "api-withholding-totals")).json()
    assert totals["currency"] == "USD"
    assert totals["totals"] == {
        "withheld": "150.00",
        "released": "0.00",
        "retained": "50.00",
        "outstanding": "100.00",
        "count": 2,
    }
    assert [c["reference"] for c in totals["contracts"]] == [tw.p1.contract.reference]
    # P2's member sees none of P1's, and its detail is 404; so is tenant B's admin.
    other = as_member("provider_p2")
    assert other.get(url).json()["results"] == []
    assert other.get(_url(tw, "api-withholding-detail", withholding_pk=mine.pk)).status_code == 404
    outsider = as_member("admin", tenant="b")
    assert outsider.get(url.replace(tw.tenant.slug, world.b.tenant.slug)).json()["results"] == []


def test_a_withholding_on_another_providers_contract_is_404(world, capped, as_member, row_counts):
    tw = world.a
    capped(tw)
    client = as_member("commissioner")
    before = row_counts()
    body = _body(world.b, contract=world.b.p1.contract.pk)
    response = _post(client, _url(tw, "api-withholding-list"), body)
    assert response.status_code == 404
    assert row_counts() == before


def test_the_schema_documents_the_withholding_routes(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    paths = schema["paths"]
    base = "/api/v1/t/{tenant_slug}/withholdings/"
    for path in ["", "{withholding_pk}/", "{withholding_pk}/release/", "{withholding_pk}/retain/",
                 "totals/"]:  # fmt: skip
        assert base + path in paths, path
    create = paths[base]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["required"]) == ("header", True)
