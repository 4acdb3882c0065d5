"""The API's one base (oversight.api): a write the role may not make is refused
the same way on every route, through oversight.permissions.require, naming the
action; and nothing is written."""

import pytest
from django.urls import reverse

from contracts.models import Contract
from oversight.api import field_problems
from oversight.models import Role
from performance.models import Return, Signal, SignalStatus
from tests.performance.test_dashboard import build_dashboard

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE, Role.PROVIDER])
def test_a_register_write_the_role_may_not_make_is_a_403_naming_the_action(
    world, api_client_for, role
):
    before = Contract.objects.count()
    response = api_client_for(world.a.members[role]).post(
        reverse("api-contract-list", args=[world.a.tenant.slug]),
        {"reference": "API-403", "title": "Not mine to add"},
        format="json",
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Your role cannot do this (contract.change)."},
    )
    assert Contract.objects.count() == before


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE])
def test_submitting_a_return_without_the_role_is_a_403_naming_the_action(
    world, api_client_for, role
):
    response = api_client_for(world.a.members[role]).post(
        reverse("api-return-list", args=[world.a.tenant.slug]), {}, format="json"
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Your role cannot do this (return.submit)."},
    )
    assert Return.objects.count() == 0


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.COMMISSIONER, Role.ADMIN])
def test_either_submitting_or_entering_on_behalf_passes_the_return_check(
    world, api_client_for, role
):
    # Past the permission check, the next thing a caller hears about is the key.
    response = api_client_for(world.a.members[role]).post(
        reverse("api-return-list", args=[world.a.tenant.slug]), {}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE, Role.PROVIDER])
def test_acknowledging_a_signal_without_the_role_is_a_403_naming_the_action(
    world, api_client_for, role
):
    build_dashboard(world.a, kpis=1, points=12, days=1)
    signal = Signal.objects.filter(tenant=world.a.tenant).first()
    assert signal is not None and signal.status == SignalStatus.OPEN
    response = api_client_for(world.a.members[role]).post(
        reverse("api-signal-acknowledge", args=[world.a.tenant.slug, signal.pk]),
        {"note": "Not mine to say"},
        format="json",
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Your role cannot do this (signal.acknowledge)."},
    )
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


# --- one error shape: {"errors": [{"where", "field", "message"}]} ---------------------------


def test_a_bad_filter_on_a_read_route_names_the_query_field(world, api_client_for):
    client = api_client_for(world.a.members[Role.COMMISSIONER])
    response = client.get(
        reverse("api-period-list", args=[world.a.tenant.slug]), {"state": "overdue"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "errors": [
                {
                    "where": "query",
                    "field": "state",
                    "message": "Select a valid choice. overdue is not one of the available "
                    "choices.",
                }
            ]
        },
    )


def test_a_date_filter_that_is_not_a_date_says_so(world, api_client_for):
    client = api_client_for(world.a.members[Role.COMMISSIONER])
    response = client.get(
        reverse("api-risk-score-list", args=[world.a.tenant.slug]), {"since": "last week"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"errors": [{"where": "query", "field": "since", "message": "Enter a valid date."}]},
    )


def test_nested_field_errors_flatten_to_where_and_field():
    detail = {
        "values": [{}, {"value": ["Enter a number."]}],
        "sites": {"0": {"name": ["This field is required."]}},
        "non_field_errors": ["The period is closed."],
    }
    assert field_problems(detail, "body") == [
        {"where": "values[1]", "field": "value", "message": "Enter a number."},
        {"where": "sites[0]", "field": "name", "message": "This field is required."},
        {"where": "body", "field": "non_field_errors", "message": "The period is closed."},
    ]
