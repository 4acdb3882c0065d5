"""The returns API: reading KPIs, calendars and returns as each role may, and
submitting, accepting and querying returns with field-level errors."""

import json
import uuid
from datetime import timedelta

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

from oversight.clock import tenant_today
from performance.models import Return, ReturnStatus
from performance.serializers import MAX_VALUES_PER_RETURN
from tests.dates import pin_days
from tests.performance.test_validation import (
    PERIOD,
    api_post,
    counts,
    presubmit,
    valid_values,
)
from tests.performance.test_validation import (
    api_body as body,
)


def client_of(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


def url(rw, path: str) -> str:
    return f"/api/v1/t/{rw.slug}/{path}"


# --- reading -------------------------------------------------------------------------


@pytest.mark.django_db
def test_kpis_and_contract_kpis_are_listed_with_targets(rw):
    client = client_of(rw.provider)
    kpis = client.get(url(rw, "kpis/")).json()["results"]
    assert [k["code"] for k in kpis] == sorted(rw.kpis)
    cks = client.get(url(rw, "contract-kpis/")).json()["results"]
    # the provider sees its own contract's KPIs only
    assert {c["contract_reference"] for c in cks} == {rw.contract.reference}
    turnover = next(c for c in cks if c["kpi_code"] == "staff_turnover")
    assert (turnover["target"], turnover["expected_low"], turnover["expected_high"]) == (
        "10.0000",
        "3.0000",
        "9.0000",
    )
    one = client.get(url(rw, f"contract-kpis/{turnover['id']}/"))
    assert one.status_code == 200 and one.json()["kpi_code"] == "staff_turnover"


@pin_days()
@pytest.mark.django_db
def test_reporting_periods_say_where_each_stands(rw):
    presubmit(rw)
    client = client_of(rw.commissioner)
    today = tenant_today(rw.contract.tenant)
    periods = rw.contract.reporting_periods.all()

    def ids(state):
        query = {"contract": rw.contract.pk, "state": state}
        response = client.get(url(rw, "reporting-periods/"), query)
        assert response.status_code == 200
        return {p["id"] for p in response.json()["results"]}

    assert ids("submitted") == {rw.period.pk}
    unreceived = [p for p in periods if p.pk != rw.period.pk]
    assert ids("missing") == {p.pk for p in unreceived if today > p.missing_after}
    assert ids("late") == {p.pk for p in unreceived if p.due_date < today <= p.missing_after}
    assert ids("due") == {p.pk for p in unreceived if today <= p.due_date}
    one = client.get(url(rw, f"reporting-periods/{rw.period.pk}/")).json()
    assert (one["label"], one["state"], one["latest_version"]) == (PERIOD, "submitted", 1)


@pin_days()
@pytest.mark.django_db
def test_a_period_past_its_due_date_reads_late_then_missing(rw):
    period = rw.contract.reporting_periods.order_by("start").last()
    client = client_of(rw.commissioner)
    today = tenant_today(rw.contract.tenant)  # the API judges on the tenant's calendar
    for due, missing, state in [
        (today + timedelta(days=3), today + timedelta(days=30), "due"),
        (today - timedelta(days=1), today + timedelta(days=30), "late"),
        (today - timedelta(days=31), today - timedelta(days=1), "missing"),
    ]:
        period.due_date, period.missing_after = due, missing
        period.save()
        assert client.get(url(rw, f"reporting-periods/{period.pk}/")).json()["state"] == state


@pytest.mark.django_db
def test_a_return_reads_with_its_values_and_versions(rw):
    ret = presubmit(rw)
    data = client_of(rw.provider).get(url(rw, f"returns/{ret.pk}/")).json()
    assert (data["contract_reference"], data["period_label"], data["status"]) == (
        rw.contract.reference,
        PERIOD,
        "submitted",
    )
    assert [(v["kpi_code"], v["site_name"], v["value"]) for v in data["values"]] == [
        ("visits_on_time", None, "95.0000"),
        ("days_to_first_contact", None, "4.0000"),
        ("missed_visits", "North hub", "2.0000"),
        ("missed_visits", rw.world.a.p1.site.name, "2.0000"),
        ("staff_turnover", None, "5.0000"),
    ]
    assert [(v["version"], v["status"]) for v in data["versions"]] == [(1, "submitted")]


@pytest.mark.django_db
def test_a_provider_cannot_read_another_providers_returns(rw):
    theirs = presubmit(rw, contract=rw.other)
    mine = presubmit(rw)
    client = client_of(rw.provider)
    listed = client.get(url(rw, "returns/")).json()["results"]
    assert [r["id"] for r in listed] == [mine.pk]
    assert client.get(url(rw, f"returns/{theirs.pk}/")).status_code == 404
    outsider = client_of(rw.world.b.members["admin"])
    assert outsider.get(url(rw, f"returns/{mine.pk}/")).status_code == 404
    assert outsider.get(url(rw, "returns/")).status_code == 404


@pytest.mark.django_db
def test_listing_returns_costs_the_same_queries_for_one_or_two(rw, django_assert_num_queries):
    presubmit(rw)
    client = client_of(rw.commissioner)
    client.get(url(rw, "returns/"))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url(rw, "returns/")).json()["results"]) == 1
    presubmit(rw, contract=rw.other)
    with CaptureQueriesContext(connection) as two:
        assert len(client.get(url(rw, "returns/")).json()["results"]) == 2
    assert len(two) == len(one)


# --- submitting: shape problems ---------------------------------------------------------


@pytest.mark.django_db
def test_a_submission_without_an_idempotency_key_is_refused(rw):
    before = counts()
    response = api_post(rw.provider, body(rw))
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "where": "request",
                "field": "Idempotency-Key",
                "message": "send an Idempotency-Key header of at most 100 characters: a new "
                "random value (a UUID) for each new return, the same value when retrying",
            }
        ]
    }
    assert counts() == before


SHAPE_PROBLEMS = [
    # (name, raw body, expected problem)
    ("not JSON", b"{values: [", ("request", "body", "the body is not valid JSON")),
    ("a list, not an object", b"[1, 2]", ("return", "return", "Expected a dictionary")),
    ("no contract", {"period": PERIOD, "values": []},
     ("return", "contract", "This field is required.")),
    ("no period", {"contract": "X", "values": []}, ("return", "period", "This field is required.")),
    ("values not a list", {"contract": "X", "period": PERIOD, "values": {"a": 1}},
     ("return", "values", 'Expected a list of items but got type "dict".')),
    ("a value not an object", {"contract": "X", "period": PERIOD, "values": [{"kpi_code": "a"}, 7]},
     ("values[1]", "value", "Invalid data. Expected a dictionary")),
    ("a value that is an object", {"contract": "X", "period": PERIOD,
                                   "values": [{"kpi_code": "a", "value": {"n": 1}}]},
     ("values[0]", "value", "give a number")),
    ("no KPI code", {"contract": "X", "period": PERIOD, "values": [{"value": 1}]},
     ("values[0]", "kpi_code", "This field is required.")),
    ("no_activity not a boolean", {"contract": "X", "period": PERIOD, "no_activity": "perhaps"},
     ("return", "no_activity", "Must be a valid boolean.")),
    ("too many values", {"contract": "X", "period": PERIOD,
                         "values": [{"kpi_code": "a"}] * (MAX_VALUES_PER_RETURN + 1)},
     ("return", "values", f"Ensure this field has no more than {MAX_VALUES_PER_RETURN} elements.")),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "raw", "expected"), SHAPE_PROBLEMS, ids=[s[0] for s in SHAPE_PROBLEMS]
)
def test_a_malformed_submission_gets_field_level_errors_and_writes_nothing(rw, name, raw, expected):
    before = counts()
    response = api_post(
        rw.provider,
        raw if isinstance(raw, dict) else None,
        key=str(uuid.uuid4()),
        raw=raw if isinstance(raw, bytes) else None,
    )
    assert response.status_code == 400
    where, field_name, fragment = expected
    problems = response.json()["errors"]
    assert any(
        p["where"] == where and p["field"] == field_name and fragment in p["message"]
        for p in problems
    ), problems
    assert counts() == before


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_refused(rw):
    before = counts()
    padding = "x" * (5 * 1024 * 1024)
    response = api_post(rw.provider, body(rw, narrative=padding), key="big-1")
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == "the body is too large; the limit is 5 MB"
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "executive"])
def test_read_only_roles_cannot_submit(rw, role):
    before = counts()
    response = api_post(rw.world.a.members[role], body(rw), key=str(uuid.uuid4()))
    assert response.status_code == 403
    assert counts() == before


@pytest.mark.django_db
def test_a_submission_answers_201_with_the_return(rw):
    response = api_post(rw.provider, body(rw), key="k-201")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["version"], data["source"], data["narrative"]) == (
        "submitted",
        1,
        "api",
        "A steady month.",
    )
    assert len(data["values"]) == len(valid_values(rw.contract))
    assert Return.objects.get(pk=data["id"]).idempotency_key == "k-201"


@pytest.mark.django_db
def test_a_submission_through_a_token_works_like_a_session(rw):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=rw.provider.user)
    client = Client()
    response = client.post(
        url(rw, "returns/"),
        data=json.dumps(body(rw)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
        HTTP_IDEMPOTENCY_KEY="token-1",
    )
    assert response.status_code == 201, response.content


# --- reviewing ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_commissioner_accepts_a_submitted_return(rw, django_capture_on_commit_callbacks):
    ret = presubmit(rw)
    with django_capture_on_commit_callbacks():
        response = client_of(rw.commissioner).post(
            url(rw, f"returns/{ret.pk}/accept/"), {"comment": "Thanks."}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["review_comment"]) == ("accepted", "Thanks.")
    again = client_of(rw.commissioner).post(url(rw, f"returns/{ret.pk}/accept/"), format="json")
    assert again.status_code == 400
    assert again.json() == {
        "errors": [
            {"where": "return", "field": "status",
             "message": "A accepted return cannot become accepted."}
        ]
    }  # fmt: skip


@pytest.mark.django_db
def test_a_query_needs_a_comment_then_the_provider_resubmits_a_new_version(rw):
    ret = presubmit(rw)
    commissioner = client_of(rw.commissioner)
    response = commissioner.post(url(rw, f"returns/{ret.pk}/query/"), {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "where": "return",
                "field": "comment",
                "message": "Say what the provider must correct.",
            }
        ]
    }
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.SUBMITTED
    response = commissioner.post(
        url(rw, f"returns/{ret.pk}/query/"), {"comment": "Turnover looks low."}, format="json"
    )
    assert response.json()["status"] == "queried"

    values = valid_values(rw.contract)
    values[3]["value"] = "6"
    resubmitted = api_post(rw.provider, body(rw, values=values), key="v2")
    assert resubmitted.status_code == 201, resubmitted.json()
    data = resubmitted.json()
    assert data["version"] == 2
    assert [(v["version"], v["status"]) for v in data["versions"]] == [
        (1, "queried"),
        (2, "submitted"),
    ]
    first = client_of(rw.provider).get(url(rw, f"returns/{ret.pk}/")).json()
    assert next(v for v in first["values"] if v["kpi_code"] == "staff_turnover")["value"] == (
        "5.0000"
    )


@pytest.mark.django_db
def test_a_provider_cannot_review(rw):
    ret = presubmit(rw)
    response = client_of(rw.provider).post(url(rw, f"returns/{ret.pk}/accept/"), format="json")
    assert response.status_code == 403
    assert Return.objects.get(pk=ret.pk).status == ReturnStatus.SUBMITTED


@pytest.mark.django_db
def test_another_providers_return_cannot_be_reviewed_or_found(rw):
    theirs = presubmit(rw, contract=rw.other)
    response = client_of(rw.provider).post(url(rw, f"returns/{theirs.pk}/query/"), format="json")
    assert response.status_code == 404


# --- the schema ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_documents_the_returns_routes_and_the_idempotency_key(admin_client):
    schema = yaml.safe_load(admin_client.get("/api/schema/").content)
    paths = schema["paths"]
    base = "/api/v1/t/{tenant_slug}/"
    for path in ["kpis/", "kpis/{kpi_pk}/", "contract-kpis/{contract_kpi_pk}/",
                 "reporting-periods/{period_pk}/", "returns/", "returns/{return_pk}/",
                 "returns/{return_pk}/accept/", "returns/{return_pk}/query/"]:  # fmt: skip
        assert base + path in paths, path
    create = paths[base + "returns/"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["required"]) == ("header", True)
    assert {"201", "400", "409", "422"} <= set(create["responses"])
