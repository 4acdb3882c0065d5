"""Signals and risk scores through the API: lists and filters, who sees what,
acknowledging with a note, and the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.urls import reverse

from oversight.models import Role
from performance.models import RiskScore, Signal, SignalStatus
from tests.api_errors import field_errors
from tests.factories import contains_any
from tests.performance.test_dashboard import TODAY, build_dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(world):
    """Signals and risk scores on both of tenant A's contracts, and on B's."""
    one = build_dashboard(world.a, kpis=2, points=12, days=3)
    two = build_dashboard(world.a, contract=world.a.p2.contract, kpis=1, points=12, days=2)
    build_dashboard(world.b, kpis=1, points=12, days=1)
    return one, two


def signals_url(tw) -> str:
    return reverse("api-signal-list", args=[tw.tenant.slug])


def signal_url(tw, signal) -> str:
    return reverse("api-signal-detail", args=[tw.tenant.slug, signal.pk])


def acknowledge_url(tw, signal) -> str:
    return reverse("api-signal-acknowledge", args=[tw.tenant.slug, signal.pk])


def risk_url(tw) -> str:
    return reverse("api-risk-score-list", args=[tw.tenant.slug])


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- reading signals ----------------------------------------------------------------------


def test_commissioner_lists_the_tenants_signals_with_their_reasons(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.COMMISSIONER])
    response = client.get(signals_url(world.a))
    expected = set(Signal.objects.filter(tenant=world.a.tenant).values_list("id", flat=True))
    assert _ids(response) == expected and expected
    concern = Signal.objects.get(contract=world.a.p1.contract, kind="spc_concern")
    row = next(r for r in response.json()["results"] if r["id"] == concern.pk)
    assert row["message"] == concern.message
    assert row["contract_reference"] == world.a.p1.contract.reference
    assert row["kpi_code"] == "measure-0"
    # one point outside the limits, not yet sustained: a low concern
    assert (row["kind"], row["severity"], row["status"]) == ("spc_concern", "low", "open")
    assert row["evidence"]["point_type"] == "special_cause_concern"
    assert not contains_any(response.content, world.b.texts)


def test_filters_by_contract_status_severity_kind_and_live(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.AUDITOR])
    url = signals_url(world.a)
    p1 = world.a.p1.contract
    signals = Signal.objects.filter(tenant=world.a.tenant)

    by_contract = _ids(client.get(url, {"contract": p1.pk}))
    assert by_contract == set(signals.filter(contract=p1).values_list("id", flat=True))
    assert by_contract != set(signals.values_list("id", flat=True))

    low = _ids(client.get(url, {"severity": "low"}))
    assert low == set(signals.filter(severity="low").values_list("id", flat=True)) and low
    several = _ids(client.get(url, {"severity": ["low", "medium"]}))
    assert several == set(
        signals.filter(severity__in=["low", "medium"]).values_list("id", flat=True)
    )

    concern = signals.get(contract=p1, kind="spc_concern")
    concern.status = SignalStatus.CLOSED
    concern.save()
    assert _ids(client.get(url, {"status": "closed"})) == {concern.pk}
    assert concern.pk not in _ids(client.get(url, {"live": "true"}))
    assert _ids(client.get(url, {"live": "false"})) == {concern.pk}
    kinds = _ids(client.get(url, {"kind": "spc_concern"}))
    assert kinds == set(signals.filter(kind="spc_concern").values_list("id", flat=True))

    # another tenant's contract id reads as no rows, not an error
    other = world.b.p1.contract.pk
    assert _ids(client.get(url, {"contract": other})) == set()
    assert client.get(url, {"severity": "dreadful"}).status_code == 400


def test_provider_sees_only_its_own_contracts_signals(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.PROVIDER])
    own = set(Signal.objects.filter(contract=world.a.p1.contract).values_list("id", flat=True))
    response = client.get(signals_url(world.a))
    assert _ids(response) == own
    assert not contains_any(response.content, world.a.p2.texts)
    theirs = Signal.objects.filter(contract=world.a.p2.contract).first()
    assert client.get(signal_url(world.a, theirs)).status_code == 404
    mine = Signal.objects.filter(contract=world.a.p1.contract).first()
    assert client.get(signal_url(world.a, mine)).json()["message"] == mine.message


def test_another_tenant_gets_404(world, both, api_client_for):
    outsider = api_client_for(world.b.members[Role.ADMIN])
    signal = Signal.objects.filter(contract=world.a.p1.contract).first()
    assert outsider.get(signals_url(world.a)).status_code == 404
    assert outsider.get(signal_url(world.a, signal)).status_code == 404
    # own slug, A's id
    response = outsider.get(reverse("api-signal-detail", args=[world.b.tenant.slug, signal.pk]))
    assert response.status_code == 404
    response = outsider.post(
        reverse("api-signal-acknowledge", args=[world.b.tenant.slug, signal.pk]),
        {"note": "Hijack"},
        format="json",
    )
    assert response.status_code == 404
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


# --- acknowledging --------------------------------------------------------------------------


def _concern(world) -> Signal:
    return Signal.objects.get(contract=world.a.p1.contract, kind="spc_concern")


def test_commissioner_acknowledges_with_a_note(world, both, api_client_for):
    commissioner = world.a.members[Role.COMMISSIONER]
    signal = _concern(world)
    response = api_client_for(commissioner).post(
        acknowledge_url(world.a, signal), {"note": "Agency cover agreed."}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledgement_note"] == "Agency cover agreed."
    assert body["acknowledged_by"] == commissioner.user.full_name
    signal.refresh_from_db()
    assert signal.status == SignalStatus.ACKNOWLEDGED
    record = signal.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == commissioner.user
    assert record.history_change_reason == "Acknowledged: Agency cover agreed."


@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_note_is_required(world, both, api_client_for, note):
    signal = _concern(world)
    body = {} if note is None else {"note": note}
    response = api_client_for(world.a.members[Role.ADMIN]).post(
        acknowledge_url(world.a, signal), body, format="json"
    )
    assert response.status_code == 400
    assert "note" in field_errors(response)
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


def test_acknowledging_twice_is_refused(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.COMMISSIONER])
    signal = _concern(world)
    url = acknowledge_url(world.a, signal)
    assert client.post(url, {"note": "First"}, format="json").status_code == 200
    response = client.post(url, {"note": "Second"}, format="json")
    assert response.status_code == 400
    assert "acknowledged already" in field_errors(response)["note"][0]
    signal.refresh_from_db()
    assert signal.acknowledgement_note == "First"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE, Role.PROVIDER])
def test_read_only_roles_get_403_and_nothing_changes(world, both, api_client_for, role):
    signal = _concern(world)
    versions = signal.history.count()
    response = api_client_for(world.a.members[role]).post(
        acknowledge_url(world.a, signal), {"note": "Not mine to say"}, format="json"
    )
    assert response.status_code == 403
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    assert signal.history.count() == versions


def test_signals_are_read_only_otherwise(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.ADMIN])
    signal = _concern(world)
    assert client.post(signals_url(world.a), {}, format="json").status_code == 405
    assert client.patch(signal_url(world.a, signal), {}, format="json").status_code == 405
    assert client.delete(signal_url(world.a, signal)).status_code == 405


# --- risk scores ------------------------------------------------------------------------------


def test_a_contracts_risk_history_newest_first_with_reasons(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.EXECUTIVE])
    contract = world.a.p1.contract
    response = client.get(risk_url(world.a), {"contract": contract.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["day"] for r in rows] == [(TODAY - timedelta(days=d)).isoformat() for d in (0, 1, 2)]
    latest = RiskScore.objects.get(contract=contract, day=TODAY)
    assert rows[0]["score"] == latest.score
    assert rows[0]["band"] == latest.band
    assert rows[0]["reasons"] == latest.reasons and latest.reasons

    since = client.get(
        risk_url(world.a),
        {"contract": contract.pk, "since": (TODAY - timedelta(days=1)).isoformat()},
    )
    assert len(since.json()["results"]) == 2


def test_latest_keeps_each_contracts_newest_score(world, both, api_client_for):
    client = api_client_for(world.a.members[Role.COMMISSIONER])
    rows = client.get(risk_url(world.a), {"latest": "true"}).json()["results"]
    assert {(r["contract"], r["day"]) for r in rows} == {
        (world.a.p1.contract.pk, TODAY.isoformat()),
        (world.a.p2.contract.pk, TODAY.isoformat()),
    }


def test_risk_scores_follow_the_providers_and_tenants_walls(world, both, api_client_for):
    provider = api_client_for(world.a.members[Role.PROVIDER])
    rows = provider.get(risk_url(world.a)).json()["results"]
    assert {r["contract"] for r in rows} == {world.a.p1.contract.pk}
    theirs = provider.get(risk_url(world.a), {"contract": world.a.p2.contract.pk})
    assert theirs.json()["results"] == []
    outsider = api_client_for(world.b.members[Role.ADMIN])
    assert outsider.get(risk_url(world.a)).status_code == 404


# --- queries and schema -----------------------------------------------------------------------


def test_the_signal_list_runs_a_fixed_number_of_queries(
    world, api_client_for, django_assert_max_num_queries
):
    client = api_client_for(world.a.members[Role.COMMISSIONER])
    build_dashboard(world.a, kpis=1, points=12, days=1)
    with django_assert_max_num_queries(8):
        small = client.get(signals_url(world.a))
    build_dashboard(world.a, contract=world.a.p2.contract, kpis=6, points=17, days=1)
    with django_assert_max_num_queries(8):
        large = client.get(signals_url(world.a))
    assert len(large.json()["results"]) > len(small.json()["results"])
    Signal.objects.filter(tenant=world.a.tenant).update(
        status=SignalStatus.ACKNOWLEDGED, acknowledged_by=world.a.user(Role.COMMISSIONER)
    )
    with django_assert_max_num_queries(8):
        client.get(signals_url(world.a))


def test_the_schema_documents_the_signal_and_risk_routes(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    paths = schema["paths"]
    assert "/api/v1/t/{tenant_slug}/signals/" in paths
    assert "post" in paths["/api/v1/t/{tenant_slug}/signals/{signal_pk}/acknowledge/"]
    assert "/api/v1/t/{tenant_slug}/risk-scores/" in paths
    params = {p["name"] for p in paths["/api/v1/t/{tenant_slug}/signals/"]["get"]["parameters"]}
    assert {"contract", "status", "severity", "kind", "live"} <= params
    components = schema["components"]["schemas"]
    assert "note" in components["AcknowledgeRequest"]["properties"]
    assert set(components["SignalSeverity"]["enum"]) >= {"high", "critical"}
