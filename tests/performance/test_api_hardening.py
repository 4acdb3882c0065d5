"""Bad input and retries, as an independent probe sent them (issue 7): each
test sends the request the probe sent and asserts what the client reads and
that nothing was written."""

import json
import threading

import pytest
from django.db import connection

from performance import services
from performance.imports import import_returns
from performance.models import ReportingPeriod, Return, ReturnSource
from performance.services import returns_write
from performance.validation import ReturnHeader, ValueRow, validate
from tests.api_errors import field_errors
from tests.performance.test_idempotency import require_postgres
from tests.performance.test_validation import (
    PERIOD,
    REPLAYED,
    answered,
    api_post,
    counts,
    csv_bytes,
    in_threads,
    sheet_rows,
    valid_values,
)
from tests.performance.test_validation import (
    api_body as body,
)

P1 = "QQPROVONE-001"
TERM = "the contract runs from 1 Jan 2025 to 31 Dec 2027"


# --- periods far outside the contract's term ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("period", ["9999-12", "9999-W52", "0001-01", "2024-12", "2028-01"])
def test_a_period_outside_the_term_through_the_api_is_a_field_error(rw, period):
    before = counts()
    response = api_post(rw.provider, body(rw, period=period), key=f"far-{period}")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "where": "return",
            "field": "period",
            "message": f"{period} is not a reporting period of {P1} ({TERM})",
        }
    ]
    assert counts() == before


@pytest.mark.django_db
def test_a_far_future_period_in_the_bulk_upload_is_a_field_error(rw):
    rows = sheet_rows(P1, "9999-12", valid_values(rw.contract))
    rows += sheet_rows(rw.other.reference, PERIOD, valid_values(rw.other))
    before = counts()
    result = import_returns(
        membership=rw.commissioner,
        file=csv_bytes(rows),
        filename="agency-export.csv",
        source=ReturnSource.BULK,
        on_behalf_reason="The providers emailed their spreadsheets",
    )
    assert not result.ok
    assert [p.as_dict() for p in result.problems] == [
        {
            "where": "row 2",
            "field": "period",
            "message": f"9999-12 is not a reporting period of {P1} ({TERM})",
        }
    ]
    assert counts() == before


@pytest.mark.django_db
def test_a_week_named_for_a_monthly_contract_still_says_how_it_reports(rw):
    response = api_post(rw.provider, body(rw, period="2025-W23"), key="week")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        f"2025-W23 is not a reporting period of {P1} (it reports monthly)"
    )


# --- unknown fields -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_misspelt_field_in_a_return_is_refused_by_name(rw):
    sent = body(rw)
    sent["narative"] = sent.pop("narrative")
    before = counts()
    response = api_post(rw.provider, sent, key="typo")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "where": "return",
            "field": "narative",
            "message": "unknown field 'narative': did you mean 'narrative'?",
        }
    ]
    assert counts() == before


@pytest.mark.django_db
def test_an_unknown_field_in_a_value_row_is_refused_where_it_is(rw):
    values = valid_values(rw.contract)
    values[1]["valeu"] = values[1].pop("value")
    values[3]["colour"] = "green"
    before = counts()
    response = api_post(rw.provider, body(rw, values=values), key="typo-values")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {
        "where": "values[1]",
        "field": "valeu",
        "message": "unknown field 'valeu': did you mean 'value'?",
    } in errors
    assert {
        "where": "values[3]",
        "field": "colour",
        "message": "unknown field 'colour': the fields are denominator, kpi_code, numerator, "
        "site, value, variance_explanation",
    } in errors
    assert counts() == before


@pytest.mark.django_db
def test_an_unknown_field_is_reported_alongside_the_other_problems(rw):
    sent = {**body(rw), "contract": "", "extra": 1}
    response = api_post(rw.provider, sent, key="typo-and-blank")
    assert response.status_code == 400
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["contract", "extra"]


@pytest.mark.django_db
def test_a_review_with_a_misspelt_comment_is_refused_and_the_return_stays_submitted(
    rw, api_client_for
):
    from tests.performance.test_validation import presubmit

    ret = presubmit(rw)
    response = api_client_for(rw.commissioner).post(
        f"/api/v1/t/{rw.provider.tenant.slug}/returns/{ret.pk}/query/",
        {"coment": "Recheck the turnover figure."},
        format="json",
    )
    assert response.status_code == 400
    assert {
        "where": "return",
        "field": "coment",
        "message": "unknown field 'coment': did you mean 'comment'?",
    } in response.json()["errors"]
    ret.refresh_from_db()
    assert ret.status == "submitted"


@pytest.mark.django_db
def test_acknowledging_a_signal_with_an_unknown_field_or_a_long_note_is_refused(
    world, api_client_for
):
    from performance.models import Signal, SignalStatus
    from tests.performance.test_dashboard import build_dashboard

    build_dashboard(world.a, kpis=1, points=12, days=1)
    signal = Signal.objects.get(contract=world.a.p1.contract, kind="spc_concern")
    response = api_client_for(world.a.members["commissioner"]).post(
        f"/api/v1/t/{world.a.tenant.slug}/signals/{signal.pk}/acknowledge/",
        {"note": "Agency cover agreed.", "urgent": True},
        format="json",
    )
    assert response.status_code == 400
    assert field_errors(response) == {"urgent": ["unknown field 'urgent': the fields are note"]}
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    too_long = api_client_for(world.a.members["commissioner"]).post(
        f"/api/v1/t/{world.a.tenant.slug}/signals/{signal.pk}/acknowledge/",
        {"note": "n" * 10_001},
        format="json",
    )
    assert too_long.status_code == 400
    too_long_message = "Ensure this field has no more than 10000 characters."
    assert field_errors(too_long) == {"note": [too_long_message]}
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


# --- retries with an Idempotency-Key ----------------------------------------------------

DIFFERENT_REQUEST = (
    "this key was already used with a different request (the return for {ref} {period}): "
    "send the same body to retry it, or a new key for a new return"
)


def one_return_for(period) -> Return:
    assert Return.objects.filter(period=period).count() == 1
    return Return.objects.get(period=period)


@pytest.mark.django_db
def test_a_retry_of_the_same_body_written_differently_answers_the_original(rw):
    """Key order and spacing are not the request: the JSON is."""
    sent = body(rw)
    first = api_post(rw.provider, sent, key="same-json")
    assert first.status_code == 201, first.json()
    reordered = json.dumps(dict(reversed(list(sent.items()))), indent=2).encode()
    again = api_post(rw.provider, None, key="same-json", raw=reordered)
    assert answered(again) == REPLAYED
    assert again.json() == first.json()
    one_return_for(rw.period)


@pytest.mark.django_db
def test_the_same_key_with_another_narrative_is_refused(rw):
    api_post(rw.provider, body(rw), key="k1")
    before = counts()
    again = api_post(rw.provider, body(rw, narrative="A different story."), key="k1")
    assert again.status_code == 422
    assert again.json()["errors"] == [
        {
            "where": "request",
            "field": "Idempotency-Key",
            "message": DIFFERENT_REQUEST.format(ref=P1, period=PERIOD),
        }
    ]
    assert counts() == before
    assert one_return_for(rw.period).narrative == "A steady month."


def p2_body(rw, **changes) -> dict:
    return {
        "contract": rw.other.reference,
        "period": PERIOD,
        "narrative": "Hillcrest's month.",
        "values": valid_values(rw.other),
        **changes,
    }


def p2_period(rw):
    return ReportingPeriod.objects.get(contract=rw.other, start=rw.period.start)


@pytest.mark.django_db
def test_another_provider_may_use_a_key_the_first_already_used(rw):
    p2 = rw.world.a.members["provider_p2"]
    assert api_post(rw.provider, body(rw), key="shared-key").status_code == 201
    response = api_post(p2, p2_body(rw), key="shared-key")
    assert response.status_code == 201, response.json()
    assert response.json()["contract_reference"] == rw.other.reference
    assert response.json()["narrative"] == "Hillcrest's month."
    assert one_return_for(p2_period(rw)).idempotency_key == "shared-key"
    # each retry replays its own submitter's return
    assert api_post(p2, p2_body(rw), key="shared-key").json()["id"] == response.json()["id"]
    again = api_post(rw.provider, body(rw), key="shared-key")
    assert (answered(again), again.json()["contract_reference"]) == (REPLAYED, P1)


@pytest.mark.django_db
def test_another_provider_with_a_saved_draft_may_use_a_key_the_first_used(rw):
    p2 = rw.world.a.members["provider_p2"]
    draft_rows = [
        ValueRow(where=f"values[{i}]", contract_ref=rw.other.reference, period=PERIOD, **v)
        for i, v in enumerate(valid_values(rw.other))
    ]
    outcome = validate(
        membership=p2,
        headers=[ReturnHeader(contract_ref=rw.other.reference, period=PERIOD)],
        rows=draft_rows,
    )
    returns_write(membership=p2, outcome=outcome, source=ReturnSource.WEB, submit=False)
    assert api_post(rw.provider, body(rw), key="shared-key").status_code == 201
    response = api_post(p2, p2_body(rw), key="shared-key")
    assert response.status_code == 201, response.json()
    ret = one_return_for(p2_period(rw))
    assert (ret.version, ret.status, ret.idempotency_key) == (1, "submitted", "shared-key")


@pytest.mark.django_db
def test_a_colleague_reusing_a_key_submits_their_own_return_not_a_replay(rw):
    """Keys belong to the person submitting: a colleague's key is not theirs
    to replay (the period is then simply already submitted)."""
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(
        tenant=rw.provider.tenant, role="provider", provider=rw.contract.provider
    )
    api_post(rw.provider, body(rw), key="team-key")
    response = api_post(colleague, body(rw), key="team-key")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(
        f"a return for {PERIOD} is already submitted (version 1)"
    )


# --- retries racing each other (PostgreSQL) ---------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_identical_retries_at_once_all_answer_the_one_return(rw):
    require_postgres()
    answers = in_threads([lambda: api_post(rw.provider, body(rw), key="k-30")] * 30)
    statuses = [a[0] for a in answers]
    assert statuses.count(201) == 1, answers
    assert statuses.count(REPLAYED) == 29, answers
    ret = one_return_for(rw.period)
    assert {a[1]["id"] for a in answers} == {ret.pk}
    assert ret.values.count() == len(valid_values(rw.contract))
    assert Return.history.filter(period_id=rw.period.pk).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_that_checked_before_the_original_was_written_replays_it(rw, monkeypatch):
    """The probe's 400s, made certain: the retry finds no return under its key,
    the original is then written, and only then does the retry validate (and
    would read "already submitted")."""
    require_postgres()
    checked, written = threading.Event(), threading.Event()
    real_validate = services.validate

    def validate_late(**kwargs):
        if threading.current_thread().name == "retry":
            checked.set()
            assert written.wait(timeout=30)
        return real_validate(**kwargs)

    monkeypatch.setattr(services, "validate", validate_late)
    answers = {}

    def send(name):
        try:
            response = api_post(rw.provider, body(rw), key="k-late")
            answers[name] = (answered(response), response.json())
        finally:
            connection.close()

    retry = threading.Thread(target=send, args=("retry",), name="retry")
    retry.start()
    assert checked.wait(timeout=30)
    original = threading.Thread(target=send, args=("original",), name="original")
    original.start()
    original.join(timeout=60)
    written.set()
    retry.join(timeout=60)
    assert answers["original"][0] == 201, answers
    assert answers["retry"] == (REPLAYED, answers["original"][1]), answers
    one_return_for(rw.period)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_key_with_two_bodies_at_once_writes_one_and_refuses_the_other(rw):
    require_postgres()
    answers = in_threads(
        [
            lambda: api_post(rw.provider, body(rw), key="k-two"),
            lambda: api_post(rw.provider, body(rw, narrative="Another story."), key="k-two"),
        ]
    )
    assert sorted((a[0] for a in answers), key=str) == [201, 422], answers
    refused = next(a[1] for a in answers if a[0] == 422)
    assert refused["errors"][0]["message"] == DIFFERENT_REQUEST.format(ref=P1, period=PERIOD)
    one_return_for(rw.period)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_providers_sending_one_key_at_once_each_get_their_return(rw):
    require_postgres()
    p2 = rw.world.a.members["provider_p2"]
    answers = in_threads(
        [
            lambda: api_post(rw.provider, body(rw), key="k-shared"),
            lambda: api_post(p2, p2_body(rw), key="k-shared"),
        ]
    )
    assert [a[0] for a in answers] == [201, 201], answers
    assert [a[1]["contract_reference"] for a in answers] == [P1, rw.other.reference]
