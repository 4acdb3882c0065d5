"""A retried API submission never makes a duplicate, and two submissions for
one period racing each other leave exactly one return version.

The races run against PostgreSQL with real threads, each on its own database
connection; both requests are held after validation (both have seen "no
return yet") and released together, so the database constraint and
``returns_write``'s handling of it decide, not the timing."""

import os
import threading
import uuid

import pytest
from django.db import connection

from performance import services
from performance.models import Return, ReturnSource, ReturnValue
from performance.services import returns_write
from performance.validation import ReturnHeader, validate
from tests.performance.test_validation import (
    PERIOD,
    REPLAYED,
    answered,
    api_post,
    counts,
    in_threads,
    valid_values,
)
from tests.performance.test_validation import (
    api_body as body,
)


def one_version_written(rw) -> None:
    n = len(valid_values(rw.contract))
    assert Return.objects.filter(period=rw.period).count() == 1
    ret = Return.objects.get(period=rw.period)
    assert ret.values.count() == n
    assert Return.history.filter(period_id=rw.period.pk).count() == 1
    assert ReturnValue.history.filter(return_obj_id=ret.pk).count() == n


# --- retries ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_submission_sent_twice_makes_one_return_and_answers_the_same(rw):
    key = str(uuid.uuid4())
    first = api_post(rw.provider, body(rw), key=key)
    assert first.status_code == 201, first.json()
    after_first = counts()
    second = api_post(rw.provider, body(rw), key=key)
    assert (answered(first), answered(second)) == (201, REPLAYED)
    assert second.json() == first.json()
    assert counts() == after_first
    one_version_written(rw)


@pytest.mark.django_db
def test_a_retry_with_the_key_but_another_body_is_refused(rw):
    """A key names one request: the same key with other values is a mistake
    in the client, told so, not a replay nor a new return."""
    key = "retry-1"
    api_post(rw.provider, body(rw), key=key)
    before = counts()
    values = valid_values(rw.contract)
    values[0]["value"] = "not even a number"
    again = api_post(rw.provider, body(rw, values=values), key=key)
    assert again.status_code == 422
    assert again.json()["errors"] == [
        {
            "where": "request",
            "field": "Idempotency-Key",
            "message": "this key was already used with a different request (the return for "
            f"{rw.contract.reference} {PERIOD}): send the same body to retry it, "
            "or a new key for a new return",
        }
    ]
    assert counts() == before
    one_version_written(rw)


@pytest.mark.django_db
def test_a_key_reused_for_another_period_is_refused(rw):
    api_post(rw.provider, body(rw), key="reused")
    before = counts()
    response = api_post(rw.provider, body(rw, period="2025-07"), key="reused")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "where": "request",
            "field": "Idempotency-Key",
            "message": "this key was already used with a different request (the return for "
            f"{rw.contract.reference} {PERIOD}): send the same body to retry it, "
            "or a new key for a new return",
        }
    ]
    assert counts() == before


@pytest.mark.django_db
def test_a_second_submission_with_a_new_key_is_told_the_period_is_submitted(rw):
    api_post(rw.provider, body(rw), key="a")
    response = api_post(rw.provider, body(rw), key="b")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(
        "a return for 2025-06 is already submitted (version 1)"
    )
    one_version_written(rw)


# --- races (PostgreSQL) ---------------------------------------------------------------------


def require_postgres():
    if connection.vendor == "postgresql":
        return
    if os.environ.get("OVERSIGHT_REQUIRE_SERVICES") == "1":
        pytest.fail("OVERSIGHT_REQUIRE_SERVICES=1 but the tests are not running on PostgreSQL")
    pytest.skip(
        "needs PostgreSQL (set DATABASE_URL): SQLite lets one writer in at a time, "
        "so two submissions cannot race"
    )


def race(monkeypatch, requests):
    """Run the requests in threads, each held after its validation until all
    have validated; return their responses' (status, json)."""
    barrier = threading.Barrier(len(requests), timeout=20)
    real_write = services.returns_write

    def held_write(**kwargs):
        barrier.wait()
        return real_write(**kwargs)

    monkeypatch.setattr(services, "returns_write", held_write)
    return in_threads(requests, released_together=False, timeout=60)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_for_one_period_leave_one_version(rw, monkeypatch):
    require_postgres()
    answers = race(
        monkeypatch,
        [lambda n=n: api_post(rw.provider, body(rw), key=f"race-{n}") for n in range(2)],
    )
    statuses = sorted((a[0] for a in answers), key=str)
    assert statuses == [201, 409], answers
    loser = next(a[1] for a in answers if a[0] == 409)
    assert loser["errors"][0]["message"].startswith(
        "another submission for this period arrived at the same time"
    )
    one_version_written(rw)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_request_sent_twice_at_once_answers_both_with_one_return(rw, monkeypatch):
    require_postgres()
    answers = race(
        monkeypatch, [lambda: api_post(rw.provider, body(rw), key="same-key") for _ in range(2)]
    )
    assert sorted((a[0] for a in answers), key=str) == [201, REPLAYED], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    one_version_written(rw)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_over_a_saved_draft_leave_one_version(rw, monkeypatch):
    require_postgres()
    draft_rows = _value_rows(rw)  # the web form saved a draft first
    outcome = validate(
        membership=rw.provider,
        headers=[ReturnHeader(contract_ref=rw.contract.reference, period=PERIOD)],
        rows=draft_rows,
    )
    returns_write(membership=rw.provider, outcome=outcome, source=ReturnSource.WEB, submit=False)
    answers = race(
        monkeypatch,
        [lambda n=n: api_post(rw.provider, body(rw), key=f"draft-{n}") for n in range(2)],
    )
    assert sorted((a[0] for a in answers), key=str) == [201, 409], answers
    ret = Return.objects.get(period=rw.period)
    assert (ret.version, ret.status, ret.values.count()) == (
        1,
        "submitted",
        len(valid_values(rw.contract)),
    )


def _value_rows(rw):
    from performance.validation import ValueRow

    return [
        ValueRow(where=f"values[{i}]", contract_ref=rw.contract.reference, period=PERIOD, **v)
        for i, v in enumerate(valid_values(rw.contract))
    ]
