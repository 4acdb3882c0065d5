"""Spreadsheets in and out: what a provider's or a data team's file can be,
what is said when it cannot be used, and the template pre-filled for a period."""

import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from performance import imports
from performance.imports import (
    TEMPLATE_COLUMNS,
    SpreadsheetRejected,
    import_returns,
    read_spreadsheet,
    rows_to_submission,
    template_csv,
    template_workbook,
)
from performance.models import PhaseTarget, Return, ReturnSource, ReturnValue
from tests.performance.test_validation import (
    PERIOD,
    SECOND_SITE,
    SHEET_COLUMNS,
    counts,
    csv_bytes,
    sheet_rows,
    valid_values,
    xlsx_bytes,
)


def provider_import(rw, data, filename="return.csv", **kwargs):
    return import_returns(
        membership=rw.provider,
        file=data,
        filename=filename,
        source=ReturnSource.SPREADSHEET,
        expected_contract=rw.contract,
        expected_period=rw.period,
        **kwargs,
    )


def bulk_import(rw, data, filename="export.csv"):
    return import_returns(
        membership=rw.commissioner,
        file=data,
        filename=filename,
        source=ReturnSource.BULK,
        on_behalf_reason="The providers emailed their spreadsheets",
    )


def messages(result):
    return [f"{p.where} | {p.field} | {p.message}" for p in result.problems]


# --- the file itself: each problem through each spreadsheet way ------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _too_large(rw):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract))
    data = csv_bytes(rows)
    return data + b"\n" * (imports.MAX_UPLOAD_BYTES - len(data) + 1)


def _too_many_rows(rw, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    return sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract))


FILE_PROBLEMS = {
    # name: (build(rw, monkeypatch, fmt) -> (bytes, filename), field, message fragment)
    "too large": (
        lambda rw, mp, fmt: (_too_large(rw), f"big.{fmt}"),
        "file",
        "the file is too large (5.0 MB); the limit is 5 MB",
    ),
    "random binary": (
        lambda rw, mp, fmt: (bytes(range(256)) * 20, f"data.{fmt}"),
        "file",
        "not a spreadsheet",
    ),
    "a zip that is not a workbook": (
        lambda rw, mp, fmt: (_zip({"word/document.xml": b"<w/>"}), f"letter.{fmt}"),
        "file",
        "this is a zip file, not an Excel workbook",
    ),
    "an old .xls": (
        lambda rw, mp, fmt: (imports._OLE2_MAGIC + b"\x00" * 600, f"old.{fmt}"),
        "file",
        "old-format Excel file (.xls)",
    ),
    "a PDF by its name": (
        lambda rw, mp, fmt: (b"%PDF-1.7 ...", "return.pdf"),
        "file",
        "'return.pdf' is not a spreadsheet",
    ),
    "empty": (lambda rw, mp, fmt: (b"", f"empty.{fmt}"), "file", "the file is empty"),
    "blank lines only": (
        lambda rw, mp, fmt: (b"\r\n\r\n  \r\n", f"blank.{fmt}"),
        "file",
        "the file is empty",
    ),
    "header without data": (
        lambda rw, mp, fmt: (
            (csv_bytes if fmt == "csv" else xlsx_bytes)([]),
            f"header.{fmt}",
        ),
        "file",
        "has a header row but no rows of data",
    ),
    "missing columns": (
        lambda rw, mp, fmt: (
            (csv_bytes if fmt == "csv" else xlsx_bytes)(
                sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract)),
                ["contract_reference", "kpi_code", "site", "numerator"],
            ),
            f"cols.{fmt}",
        ),
        "columns",
        "row 1 must name the columns; missing: period, value",
    ),
    "too many rows": (
        lambda rw, mp, fmt: (
            (csv_bytes if fmt == "csv" else xlsx_bytes)(_too_many_rows(rw, mp)),
            f"many.{fmt}",
        ),
        "file",
        "the file has more than 3 rows of data: split it into smaller files",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("way", ["csv", "xlsx", "bulk"])
@pytest.mark.parametrize("problem", FILE_PROBLEMS)
def test_an_unusable_file_is_refused_with_a_reason_and_nothing_written(
    rw, monkeypatch, problem, way
):
    build, field_name, fragment = FILE_PROBLEMS[problem]
    data, filename = build(rw, monkeypatch, "xlsx" if way == "xlsx" else "csv")
    before = counts()
    result = (
        bulk_import(rw, data, filename) if way == "bulk" else provider_import(rw, data, filename)
    )
    assert not result.ok
    assert any(
        p.where == "file" and p.field == field_name and fragment in p.message
        for p in result.problems
    ), messages(result)
    assert counts() == before


@pytest.mark.django_db
def test_a_damaged_workbook_is_refused(rw):
    data = xlsx_bytes(sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract)))
    result = provider_import(rw, data[: len(data) // 2], "cut.xlsx")
    assert messages(result) == ["file | file | this is not a spreadsheet: the file looks like a "
                                "damaged zip or Excel file"]  # fmt: skip


@pytest.mark.django_db
def test_a_large_upload_is_refused_by_its_size_before_reading(rw):
    upload = SimpleUploadedFile("big.xlsx", b"x")
    upload.size = 12 * 1024 * 1024
    result = provider_import(rw, upload, "big.xlsx")
    assert messages(result) == [
        "file | file | the file is too large (12.0 MB); the limit is 5 MB: split it into "
        "smaller files"
    ]


def test_a_duplicated_column_is_named():
    data = b"contract_reference,period,kpi_code,value,Value\nC,2025-06,k,1,2\n"
    with pytest.raises(SpreadsheetRejected) as caught:
        read_spreadsheet(data, filename="x.csv")
    assert str(caught.value.problems[0]) == (
        "file, value: the column 'value' appears twice (columns D and E)"
    )


def test_text_that_is_not_utf8_is_refused_with_the_fix():
    data = "contract_reference,period,kpi_code,value\nCT-1,2025-06,é,1\n".encode("latin-1")
    with pytest.raises(SpreadsheetRejected) as caught:
        read_spreadsheet(data, filename="x.csv")
    assert "save the CSV as 'CSV UTF-8'" in caught.value.problems[0].message


# --- reading what providers actually send ------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiter_and_byte_order_mark_are_recognised(delimiter):
    text = delimiter.join(["Contract Reference", "Period", "KPI Code", "Value"]) + "\r\n"
    text += delimiter.join(["CT-1", "2025-06", "missed_visits", "3"]) + "\r\n"
    rows = read_spreadsheet(text.encode("utf-8-sig"), filename="x.csv")
    assert rows == [
        {
            **{c: "" for c in imports.COLUMNS},
            "contract_reference": "CT-1",
            "period": "2025-06",
            "kpi_code": "missed_visits",
            "value": "3",
            "_row": 2,
        }
    ]


def test_row_numbers_are_the_spreadsheets_own_blank_rows_included():
    data = b"contract_reference,period,kpi_code,value\n\nCT-1,2025-06,a,1\n,,,\nCT-1,2025-06,b,2\n"
    assert [r["_row"] for r in read_spreadsheet(data, filename="x.csv")] == [3, 5]


def test_xlsx_cells_are_read_as_a_provider_typed_them():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["contract_reference", "period", "kpi_code", "value", "no_activity"])
    sheet.append([1001, date(2025, 6, 1), "visits_on_time", 87.5, False])  # Excel's date
    sheet.append(["CT-2", "2025-W07", "missed_visits", 3.0, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_spreadsheet(buffer.getvalue(), filename="x.xlsx")
    assert [(r["contract_reference"], r["period"], r["value"], r["no_activity"]) for r in rows] == [
        ("1001", "2025-06", "87.5", "no"),
        ("CT-2", "2025-W07", "3", ""),
    ]


def test_a_workbook_is_recognised_by_its_content_not_its_name(rw):
    data = xlsx_bytes(sheet_rows("CT-1", PERIOD, [{"kpi_code": "a", "value": "1"}]))
    assert read_spreadsheet(data, filename="export.csv")[0]["contract_reference"] == "CT-1"


def test_rows_group_into_returns_with_the_narrative_from_any_row():
    rows = [
        {"_row": 2, "contract_reference": "A", "period": "2025-6", "kpi_code": "k1", "value": "1"},
        {"_row": 3, "contract_reference": "A", "period": "2025-06", "kpi_code": "k2",
         "value": "2", "narrative": "Fine."},
        {"_row": 4, "contract_reference": "B", "period": "2025-06", "kpi_code": "", "value": "",
         "no_activity": "Yes", "narrative": "Closed."},
    ]  # fmt: skip
    submission = rows_to_submission([{**dict.fromkeys(imports.COLUMNS, ""), **r} for r in rows])
    assert submission.problems == []
    assert [(h.contract_ref, h.period, h.narrative, h.no_activity, h.where)
            for h in submission.headers] == [
        ("A", "2025-06", "Fine.", False, "row 3"),
        ("B", "2025-06", "Closed.", True, "row 4"),
    ]  # fmt: skip
    assert [(r.where, r.kpi_code) for r in submission.rows] == [("row 2", "k1"), ("row 3", "k2")]


# --- return-level rules of a spreadsheet --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_two_narratives_for_one_return_are_refused(rw, fmt):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract), narrative="Good.")
    rows[3]["narrative"] = "Actually, a hard month."
    rows[4]["narrative"] = "Good."  # the same narrative again is fine
    data = csv_bytes(rows) if fmt == "csv" else xlsx_bytes(rows)
    before = counts()
    result = provider_import(rw, data, f"r.{fmt}")
    assert messages(result) == [
        "row 5 | narrative | a different narrative for QQPROVONE-001 2025-06 is on row 2: "
        "write the return's narrative once"
    ]
    assert counts() == before


@pytest.mark.django_db
def test_an_unreadable_no_activity_flag_is_refused(rw):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract))
    rows[0]["no_activity"] = "maybe"
    result = provider_import(rw, csv_bytes(rows))
    assert messages(result) == [
        "row 2 | no_activity | 'maybe': write yes or no (or leave it empty)"
    ]


@pytest.mark.django_db
def test_a_value_without_a_kpi_code_is_refused(rw):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract))
    rows.append({"contract_reference": rw.contract.reference, "period": PERIOD, "value": "7"})
    result = provider_import(rw, csv_bytes(rows))
    assert messages(result) == ["row 7 | kpi_code | give the KPI code"]


@pytest.mark.django_db
def test_a_providers_upload_may_leave_contract_and_period_to_the_page(rw):
    rows = [dict(v) for v in valid_values(rw.contract)]
    result = provider_import(rw, csv_bytes(rows))
    assert result.ok, messages(result)
    (ret,) = result.returns
    assert (ret.contract, ret.period, ret.source) == (rw.contract, rw.period, "spreadsheet")
    assert ret.values.count() == len(rows)


@pytest.mark.django_db
def test_a_providers_upload_for_another_period_says_wrong_period_on_every_row(rw):
    rows = sheet_rows(rw.contract.reference, "2025-05", valid_values(rw.contract))
    result = provider_import(rw, csv_bytes(rows))
    assert {p.message for p in result.problems} == {
        "wrong period: this upload is for 2025-06, but the row is for '2025-05'"
    }
    assert [p.where for p in result.problems] == [f"row {n}" for n in range(2, 7)]


@pytest.mark.django_db
def test_problems_come_back_in_row_order(rw):
    values = valid_values(rw.contract)
    values[4]["value"] = "x"
    values[0]["kpi_code"] = "nope"
    result = provider_import(rw, csv_bytes(sheet_rows(rw.contract.reference, PERIOD, values)))
    assert [p.where for p in result.problems] == [
        "row 2",
        "row 6",
        f"return {rw.contract.reference} {PERIOD}",
    ]


@pytest.mark.django_db
def test_a_role_that_cannot_submit_is_refused(rw):
    auditor = rw.world.a.members["auditor"]
    with pytest.raises(PermissionDenied):
        import_returns(membership=auditor, file=b"x", filename="x.csv", source=ReturnSource.BULK)


@pytest.mark.django_db
def test_the_upload_page_can_pass_djangos_uploaded_file(rw):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract))
    upload = SimpleUploadedFile("return.xlsx", xlsx_bytes(rows))
    result = provider_import(rw, upload, upload.name)
    assert result.ok, messages(result)
    assert (result.row_count, result.value_count) == (5, 5)


# --- the template -----------------------------------------------------------------------


def _template_table(data: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.django_db
def test_the_template_has_a_row_per_kpi_and_per_site_with_guidance(rw):
    ck = rw.contract.contract_kpis.get(kpi__code="visits_on_time")
    # Months 1-6 are the implementation phase: June 2025 is month 6.
    PhaseTarget.objects.create(
        tenant=rw.contract.tenant, contract_kpi=ck, phase="Implementation",
        from_month=1, to_month=6, target=Decimal("80"),
    )  # fmt: skip
    table = _template_table(template_workbook(contract=rw.contract, period=rw.period))
    assert list(table[0]) == list(TEMPLATE_COLUMNS)
    assert [(r["kpi_code"], r["site"], r["target"]) for r in table] == [
        ("visits_on_time", None, "at least 80"),
        ("days_to_first_contact", None, "at most 7"),
        ("missed_visits", SECOND_SITE, "at most 5"),
        ("missed_visits", rw.world.a.p1.site.name, "at most 5"),
        ("staff_turnover", None, "at most 10"),
    ]
    first = table[0]
    assert (first["contract_reference"], first["period"]) == (rw.contract.reference, PERIOD)
    assert (first["numerator_definition"], first["denominator_definition"]) == (
        "Visits on time",
        "Visits scheduled",
    )
    assert first["unit"] == "Percentage"
    assert all(r["value"] is None and r["numerator"] is None for r in table)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_filled_in_template_uploads(rw, fmt):
    if fmt == "xlsx":
        workbook = openpyxl.load_workbook(
            io.BytesIO(template_workbook(contract=rw.contract, period=rw.period))
        )
        sheet = workbook.worksheets[0]
        header = [c.value for c in sheet[1]]
        fill = {
            "visits_on_time": (19, 20, None),
            "missed_visits": (None, None, 1),
            "staff_turnover": (None, None, 4.5),
            "days_to_first_contact": (None, None, 3),
        }
        for row in sheet.iter_rows(min_row=2):
            numerator, denominator, value = fill[row[header.index("kpi_code")].value]
            row[header.index("numerator")].value = numerator
            row[header.index("denominator")].value = denominator
            row[header.index("value")].value = value
        sheet.cell(row=2, column=header.index("narrative") + 1, value="Steady.")
        buffer = io.BytesIO()
        workbook.save(buffer)
        data = buffer.getvalue()
    else:
        text = template_csv(contract=rw.contract, period=rw.period).decode("utf-8-sig")
        lines = text.splitlines()
        filled = [lines[0]]
        for line in lines[1:]:
            cells = line.split(",")
            code = cells[TEMPLATE_COLUMNS.index("kpi_code")]
            if code == "visits_on_time":
                cells[TEMPLATE_COLUMNS.index("numerator")] = "19"
                cells[TEMPLATE_COLUMNS.index("denominator")] = "20"
            else:
                cells[TEMPLATE_COLUMNS.index("value")] = "3"
            filled.append(",".join(cells))
        data = ("\r\n".join(filled) + "\r\n").encode("utf-8-sig")
    result = provider_import(rw, data, f"template.{fmt}")
    assert result.ok, messages(result)
    stored = ReturnValue.objects.get(contract_kpi__kpi__code="visits_on_time")
    assert stored.value == Decimal("95")


@pytest.mark.django_db
def test_marking_a_template_no_activity_ignores_its_empty_kpi_rows(rw):
    data = template_csv(contract=rw.contract, period=rw.period).decode("utf-8-sig")
    lines = data.splitlines()
    cells = lines[1].split(",")
    cells[TEMPLATE_COLUMNS.index("no_activity")] = "yes"
    cells[TEMPLATE_COLUMNS.index("narrative")] = "Service suspended by the county."
    lines[1] = ",".join(cells)
    result = provider_import(rw, ("\r\n".join(lines) + "\r\n").encode())
    assert result.ok, messages(result)
    ret = Return.objects.get(period=rw.period)
    assert ret.no_activity and ret.values.count() == 0


@pytest.mark.django_db
def test_sheet_columns_of_the_tests_are_the_importers_columns():
    assert set(SHEET_COLUMNS) == set(imports.COLUMNS)
