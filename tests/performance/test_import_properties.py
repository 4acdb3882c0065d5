"""Whatever arrives (random bytes, a spreadsheet of random cells, any JSON),
the import and the API answer with problems or a written return; they never
raise, and they never write part of a return: either everything counted
changes by exactly the returns and values accepted, or nothing changes.

Each example runs in a transaction rolled back at its end, so examples do not
see each other's returns."""

import io
import json
import string
from contextlib import contextmanager
from datetime import date, datetime

import openpyxl
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from performance.imports import COLUMNS, ImportResult, import_returns
from performance.models import ReturnSource
from tests.performance.test_validation import (
    PERIOD,
    SHEET_COLUMNS,
    api_post,
    counts,
    csv_bytes,
    sheet_rows,
    valid_values,
)

PROPERTY_SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("OVERSIGHT_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_whole_or_nothing(before, after, result: ImportResult) -> None:
    if result.ok:
        values = sum(r.values.count() for r in result.returns)
        returns = len(result.returns)
        assert after == (
            before[0] + returns,
            before[1] + values,
            before[2] + returns,
            before[3] + values,
        )
        assert returns >= 1
    else:
        assert result.problems
        assert after == before


def run_import(rw, data: bytes, filename: str, *, bulk: bool) -> None:
    with rolled_back():
        before = counts()
        if bulk:
            result = import_returns(
                membership=rw.commissioner,
                file=data,
                filename=filename,
                source=ReturnSource.BULK,
                on_behalf_reason="The providers emailed their spreadsheets",
            )
        else:
            result = import_returns(
                membership=rw.provider,
                file=data,
                filename=filename,
                source=ReturnSource.SPREADSHEET,
                expected_contract=rw.contract,
                expected_period=rw.period,
            )
        assert isinstance(result, ImportResult)
        for problem in result.problems:
            assert problem.where and problem.field and problem.message
        assert_whole_or_nothing(before, counts(), result)


# --- random bytes -------------------------------------------------------------------------

HEADER = ",".join(SHEET_COLUMNS).encode()


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=500).map(lambda b: HEADER + b"\n" + b),  # a header, then noise
        st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b),  # looks like a zip
    ),
    filename=st.sampled_from(["r.csv", "r.xlsx", "r.txt", "r.tsv", "r.bin", "r"]),
    bulk=st.booleans(),
)
def test_random_bytes_never_raise_or_write(rw, data, filename, bulk):
    run_import(rw, data, filename, bulk=bulk)


# --- spreadsheets of random cells -------------------------------------------------------------

PLAUSIBLE = st.sampled_from(
    [
        "", " ", "0", "-1", "2.5", "1e30", "1e-30", "NaN", "inf", "1,000", "95", "100",
        "visits_on_time", "missed_visits", "staff_turnover", "North hub", "yes", "no",
        "2025-06", "2025-W24", "2024-12", "QQPROVONE-001", "QQPROVTWO-001", "#DIV/0!",
        "=1/0", "'", '"', "\u00e9\u00e8", "9999999999.99999", "0.00001",
    ]
)  # fmt: skip
CELL_TEXT = st.one_of(PLAUSIBLE, st.text(max_size=30))


def mutated_sheet():
    """Changes to the valid return's rows (and P2's, for a bulk file): cells
    replaced, rows dropped or repeated, perhaps a column renamed."""
    return st.tuples(
        st.lists(
            st.tuples(st.integers(0, 20), st.sampled_from(SHEET_COLUMNS), CELL_TEXT), max_size=6
        ),
        st.lists(st.integers(0, 20), max_size=2),  # rows dropped
        st.lists(st.integers(0, 20), max_size=2),  # rows repeated
        st.one_of(st.none(), st.tuples(st.sampled_from(SHEET_COLUMNS), st.text(max_size=12))),
    )


def _apply(rows, mutation):
    changes, dropped, repeated, renamed = mutation
    rows = [dict(r) for r in rows]
    for index, column, text in changes:
        if rows:
            rows[index % len(rows)][column] = text
    for index in repeated:
        if rows:
            rows.append(dict(rows[index % len(rows)]))
    for index in dropped:
        if rows:
            rows.pop(index % len(rows))
    columns = list(SHEET_COLUMNS)
    if renamed:
        column, name = renamed
        columns[columns.index(column)] = name
        for row in rows:
            row[name] = row.pop(column, "")
    return rows, columns


def _base_rows(rw, bulk: bool):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract), narrative="N.")
    if bulk:
        rows += sheet_rows(rw.other.reference, PERIOD, valid_values(rw.other))
    return rows


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(mutation=mutated_sheet(), bulk=st.booleans(), delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_with_random_cells_never_raises_or_writes_part(rw, mutation, bulk, delimiter):
    rows, columns = _apply(_base_rows(rw, bulk), mutation)
    run_import(rw, csv_bytes(rows, columns, delimiter), "r.csv", bulk=bulk)


XLSX_CELL = st.one_of(
    st.none(),
    CELL_TEXT.map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
)


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(
    mutation=mutated_sheet(),
    cells=st.lists(
        st.tuples(st.integers(0, 20), st.sampled_from(SHEET_COLUMNS), XLSX_CELL), max_size=6
    ),
    bulk=st.booleans(),
    extra_sheet_first=st.booleans(),
)
def test_xlsx_with_random_cells_never_raises_or_writes_part(
    rw, mutation, cells, bulk, extra_sheet_first
):
    rows, columns = _apply(_base_rows(rw, bulk), mutation)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in columns])
    for row in rows:  # openpyxl refuses control characters in a cell
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", row.get(c) or "") or None for c in columns])
    for index, column, value in cells:  # typed cells: numbers, dates, booleans…
        if rows and column in columns:
            sheet.cell(row=2 + index % len(rows), column=columns.index(column) + 1, value=value)
    if extra_sheet_first:
        workbook.create_sheet("Notes", 0).append(["Not the data"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    run_import(rw, buffer.getvalue(), "r.xlsx", bulk=bulk)


# --- any JSON to the API ---------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | CELL_TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from([*COLUMNS, "kpi_code", "x"]), children, max_size=4)
    ),
    max_leaves=12,
)


VALUE_KEYS = ["kpi_code", "site", "value", "numerator", "denominator", "variance_explanation"]


@st.composite
def api_bodies(draw):
    kind = draw(st.sampled_from(["valid-mutated", "any-json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "any-json":
        return draw(JSON)
    body = {
        "contract": "QQPROVONE-001",
        "period": PERIOD,
        "narrative": "N.",
        "no_activity": False,
        "values": [dict(v) for v in VALID_API_VALUES],
    }
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(["top", "value", "drop"]))
        if target == "top":
            body[draw(st.sampled_from(list(body)))] = draw(JSON)
        elif target == "value" and isinstance(body.get("values"), list) and body["values"]:
            item = body["values"][draw(st.integers(0, len(body["values"]) - 1))]
            if isinstance(item, dict):
                item[draw(st.sampled_from(VALUE_KEYS))] = draw(JSON)
        elif target == "drop":
            body.pop(draw(st.sampled_from(list(body))), None)
    return body


VALID_API_VALUES = [
    {"kpi_code": "visits_on_time", "value": 95, "numerator": 95, "denominator": 100},
    {"kpi_code": "missed_visits", "site": "North hub", "value": 2},
    {"kpi_code": "missed_visits", "site": "Riverbend hub QQPROVONE", "value": 2},
    {"kpi_code": "staff_turnover", "value": 5},
    {"kpi_code": "days_to_first_contact", "value": 4},
]


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(
    body=api_bodies(),
    key=st.one_of(
        st.just("k"), st.text(alphabet=string.printable, max_size=120), st.uuids().map(str)
    ),
)
def test_any_json_to_the_api_never_errors_or_writes_part(rw, body, key):
    with rolled_back():
        before = counts()
        if isinstance(body, bytes):
            response = api_post(rw.provider, None, key=key, raw=body)
        else:
            raw = json.dumps(body, allow_nan=True).encode()
            response = api_post(rw.provider, None, key=key, raw=raw)
        assert response.status_code in (201, 400, 409, 413), response.content
        answer = response.json()
        after = counts()
        if response.status_code == 201:
            values = len(answer["values"])
            assert after == (before[0] + 1, before[1] + values, before[2] + 1, before[3] + values)
        else:
            assert after == before
            assert answer["errors"] and all(
                set(p) == {"where", "field", "message"} for p in answer["errors"]
            )


@pytest.mark.django_db
def test_the_valid_api_body_of_the_property_test_is_valid(rw):
    """So that the property above also exercises the writing branch."""
    assert VALID_API_VALUES[2]["site"] == rw.world.a.p1.site.name
    body = {"contract": rw.contract.reference, "period": PERIOD, "values": VALID_API_VALUES}
    assert api_post(rw.provider, body, key="k").status_code == 201
