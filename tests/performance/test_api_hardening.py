"""Bad input and retries, as an independent probe sent them (issue 7): each
test sends the request the probe sent and asserts what the client reads and
that nothing was written."""

import pytest

from performance.imports import import_returns
from performance.models import ReturnSource
from tests.performance.test_validation import (
    PERIOD,
    api_post,
    build_returns_world,
    counts,
    csv_bytes,
    sheet_rows,
    valid_values,
)

P1 = "QQPROVONE-001"
TERM = "the contract runs from 01 Jan 2025 to 31 Dec 2027"


@pytest.fixture
def rw(world):
    return build_returns_world(world)


def body(rw, **changes) -> dict:
    return {
        "contract": rw.contract.reference,
        "period": PERIOD,
        "narrative": "A steady month.",
        "values": valid_values(rw.contract),
        **changes,
    }


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
def test_acknowledging_a_signal_with_an_unknown_field_is_refused(world, api_client_for):
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
    assert response.json() == {"urgent": ["unknown field 'urgent': the fields are note"]}
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
