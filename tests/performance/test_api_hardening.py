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
