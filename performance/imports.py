"""Spreadsheets in and out: a provider's return upload, the commissioner data
team's one-file-many-contracts upload, and the template pre-filled for a period.

Reading turns a CSV or XLSX file into plain rows (strings, with their
spreadsheet row number: the header is row 1); ``rows_to_submission`` groups the
rows into returns; ``import_returns`` hands them, with the problems found in
grouping them, to ``services.returns_enter``, the one validation and write
(whole or not at all). Every problem is an ``oversight.errors.Problem`` (where,
field, message) that a provider can act on; nothing raises past
``import_returns`` except a role that may not submit at all
(``PermissionDenied``).

For the upload page::

    result = import_returns(membership=m, file=request.FILES["file"],
                            filename=request.FILES["file"].name,
                            source=ReturnSource.SPREADSHEET,
                            expected_contract=contract, expected_period=period)
    if result.ok: …result.returns…  else: …result.problems…
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.db.models import Prefetch

from contracts.models import Contract
from oversight import formatting
from oversight.errors import ImportRejected, Problem
from oversight.models import Membership

from .models import ContractKpi, Direction, ReportingLevel, ReportingPeriod, Return, ReturnSource
from .services import return_entry_check, returns_enter
from .terms import target_in_force
from .validation import ReturnHeader, ValueRow

MAX_UPLOAD_BYTES = settings.MAX_UPLOAD_BYTES  # the one request size limit (settings.py)
MAX_UNPACKED_BYTES = 60 * 1024 * 1024  # an XLSX is a zip: guard against a zip bomb
MAX_ROWS = 25_000  # a month for 500 contracts × 20 KPIs is 10,000
MAX_COLUMNS = 50
MAX_CELL_CHARS = 20_000

REQUIRED_COLUMNS = ("contract_reference", "period", "kpi_code", "value")
OPTIONAL_COLUMNS = (
    "site",
    "numerator",
    "denominator",
    "variance_explanation",
    "narrative",
    "no_activity",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# What people naturally write instead; the template uses the canonical names.
COLUMN_ALIASES = {
    "contract": "contract_reference",
    "contract_ref": "contract_reference",
    "reference": "contract_reference",
    "kpi": "kpi_code",
    "code": "kpi_code",
    "site_name": "site",
    "explanation": "variance_explanation",
    "variance": "variance_explanation",
}
# Columns of the template that guide the provider and are ignored on upload.
GUIDANCE_COLUMNS = (
    "kpi_name",
    "unit",
    "target",
    "numerator_definition",
    "denominator_definition",
)
TEMPLATE_COLUMNS = (
    "contract_reference",
    "period",
    "kpi_code",
    "kpi_name",
    "site",
    "unit",
    "target",
    "numerator_definition",
    "numerator",
    "denominator_definition",
    "denominator",
    "value",
    "variance_explanation",
    "narrative",
    "no_activity",
)
ALLOWED_EXTENSIONS = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}
_XLSX_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and .doc)
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}
_INPUT_COLUMNS = ("value", "numerator", "denominator", "variance_explanation")


class SpreadsheetRejected(ImportRejected):
    """The file itself cannot be used (too large, not a spreadsheet, empty,
    columns missing, too many rows). Nothing was written."""


def _file_problem(message: str, field_name: str = "file") -> SpreadsheetRejected:
    return SpreadsheetRejected([Problem("file", field_name, message)])


# --- reading ------------------------------------------------------------------


def read_spreadsheet(uploaded_file, *, filename: str) -> list[dict]:
    """The data rows of a CSV or XLSX file, each a dict of the known columns
    (strings, "" when empty) plus ``_row``, its spreadsheet row number.
    Blank rows are skipped. Raises ``SpreadsheetRejected``."""
    data = _read_bytes(uploaded_file)
    extension = PurePath(filename or "").suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise _file_problem(
            f"{filename!r} is not a spreadsheet: upload an Excel workbook (.xlsx) or a CSV file"
        )
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _file_problem("the file is empty")
    if data.startswith(_XLSX_MAGIC):
        table = _xlsx_rows(data)
    elif data.startswith(_OLE2_MAGIC):
        raise _file_problem(
            "this is an old-format Excel file (.xls): save it as an Excel workbook (.xlsx) "
            "or CSV and upload that"
        )
    else:
        table = _csv_rows(data)
    return _rows_from_table(table)


def _read_bytes(uploaded_file) -> bytes:
    if isinstance(uploaded_file, bytes | bytearray | memoryview):
        data = bytes(uploaded_file)
    else:
        size = getattr(uploaded_file, "size", None)
        if isinstance(size, int) and size > MAX_UPLOAD_BYTES:
            raise _too_large(size)
        if hasattr(uploaded_file, "seek"):
            uploaded_file.seek(0)
        data = uploaded_file.read(MAX_UPLOAD_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(len(data))
    return data


def _too_large(size: int) -> SpreadsheetRejected:
    limit = MAX_UPLOAD_BYTES / (1024 * 1024)
    shown = f"{size / (1024 * 1024):.1f} MB" if size <= 100 * MAX_UPLOAD_BYTES else "over"
    return _file_problem(
        f"the file is too large ({shown}); the limit is {limit:g} MB: split it into smaller files"
    )


def _csv_rows(data: bytes) -> Iterator[tuple[int, list]]:
    if b"\x00" in data[:8192]:
        raise _file_problem("this is not a spreadsheet: upload an Excel workbook (.xlsx) or CSV")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_problem(
            "the file is neither an Excel workbook nor UTF-8 text: upload an .xlsx file, "
            "or save the CSV as 'CSV UTF-8'"
        ) from None
    if _looks_binary(text):
        raise _file_problem("this is not a spreadsheet: upload an Excel workbook (.xlsx) or CSV")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    if not first_line.count(delimiter):
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows():
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):  # noqa: B007
                yield number, cells
        except csv.Error as error:
            raise _file_problem(f"row {number + 1} cannot be read as CSV ({error})") from None

    return rows()


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return controls > max(2, len(sample) // 100)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _file_problem(
            "this is not a spreadsheet: the file looks like a damaged zip or Excel file"
        ) from None
    if "xl/workbook.xml" not in names:
        if "mimetype" in names and any(n.startswith("content.xml") for n in names):
            message = "this is an OpenDocument file: save it as .xlsx or CSV and upload that"
        else:
            message = "this is a zip file, not an Excel workbook: upload an .xlsx or CSV file"
        raise _file_problem(message)
    if unpacked > MAX_UNPACKED_BYTES:
        raise _file_problem("the workbook is too large once unpacked: split it into smaller files")
    import openpyxl  # imported here: only uploads of workbooks pay for it

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception:  # noqa: BLE001 - any failure of the parser on untrusted input
        raise _file_problem("the Excel workbook cannot be read: it may be damaged") from None

    def rows():
        try:
            if not workbook.worksheets:
                return
            sheet = workbook.worksheets[0]
            yield from enumerate(
                sheet.iter_rows(max_row=MAX_ROWS + 1001, max_col=MAX_COLUMNS, values_only=True),
                start=1,
            )
        except SpreadsheetRejected:
            raise
        except Exception:  # noqa: BLE001
            raise _file_problem("the Excel workbook cannot be read: it may be damaged") from None
        finally:
            workbook.close()

    return rows()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    return str(value).strip()


def _column_name(raw) -> str:
    name = _cell_text(raw).lower().replace("*", "").strip()
    name = re.sub(r"[\s\-/]+", "_", name)
    return COLUMN_ALIASES.get(name, name)


def _rows_from_table(table: Iterable[tuple[int, list]]) -> list[dict]:
    from openpyxl.utils import get_column_letter

    columns: dict[str, int] | None = None
    rows: list[dict] = []
    for number, cells in table:
        if columns is None:
            if not any(_cell_text(c) for c in cells):
                continue  # blank lines above the header
            columns = {}
            for index, raw in enumerate(cells[:MAX_COLUMNS]):
                name = _column_name(raw)
                if not name:
                    continue
                if name in columns and name in COLUMNS:
                    raise _file_problem(
                        f"the column {name!r} appears twice (columns "
                        f"{get_column_letter(columns[name] + 1)} and "
                        f"{get_column_letter(index + 1)})",
                        field_name=name,
                    )
                columns.setdefault(name, index)
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise _file_problem(
                    f"row {number} must name the columns; missing: {', '.join(missing)} "
                    f"(download the template for the full layout)",
                    field_name="columns",
                )
            wanted = [(name, columns[name]) for name in COLUMNS if name in columns]
            continue
        if len(rows) >= MAX_ROWS:
            if any(_cell_text(c) for c in cells):
                raise _file_problem(
                    f"the file has more than {MAX_ROWS:,} rows of data: split it into smaller files"
                )
            continue
        row = {name: "" for name in COLUMNS}
        blank = True
        for name, index in wanted:
            raw = cells[index] if index < len(cells) else None
            if name == "period" and isinstance(raw, date | datetime):
                text = f"{raw:%Y-%m}"  # Excel turns "2026-03" into 1 March 2026
            else:
                text = _cell_text(raw)
            if len(text) > MAX_CELL_CHARS:
                raise SpreadsheetRejected(
                    [
                        Problem(
                            f"row {number}",
                            name,
                            f"is {len(text):,} characters long; the limit is {MAX_CELL_CHARS:,}",
                        )
                    ]
                )
            if text:
                blank = False
            row[name] = text
        if blank:
            continue
        row["_row"] = number
        rows.append(row)
    if columns is None:
        raise _file_problem("the file is empty")
    if not rows:
        raise _file_problem("the file has a header row but no rows of data")
    return rows


# --- rows into returns ---------------------------------------------------------


@dataclass
class Submission:
    """Rows grouped into returns, with the problems found in grouping them."""

    headers: list[ReturnHeader]
    rows: list[ValueRow]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Group:
    first_row: int
    narrative: str = ""
    narrative_row: int = 0
    no_activity: bool = False
    rows: list[tuple[dict, ValueRow]] = field(default_factory=list)


def normalise_period(raw: str) -> str:
    """A period label as the calendar writes it: 2026-3 and 2026-03-01 (a date
    cell) mean 2026-03, 2026-w7 means 2026-W07; anything else as given."""
    text = str(raw).strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-01)?", text)
    if match:
        return f"{match[1]}-{int(match[2]):02d}"
    match = re.fullmatch(r"(\d{4})-[Ww](\d{1,2})", text)
    if match:
        return f"{match[1]}-W{int(match[2]):02d}"
    return text


def _flag(raw: str) -> bool | None:
    text = raw.strip().lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError


def rows_to_submission(
    rows: list[dict],
    *,
    expected_contract: str | None = None,
    expected_period: str | None = None,
) -> Submission:
    """Group spreadsheet rows into returns (one per contract and period) for
    ``validation.validate``. With ``expected_contract`` / ``expected_period``
    (a provider uploading for one period) every row must be for them; an empty
    cell takes the expected value."""
    problems: list[Problem] = []
    groups: dict[tuple[str, str], _Group] = {}
    expected_period = normalise_period(expected_period) if expected_period else None
    for row in rows:
        number = row["_row"]
        where = f"row {number}"
        ref = row.get("contract_reference", "").strip()
        if not ref and expected_contract:
            ref = expected_contract
        if not ref:
            problems.append(Problem(where, "contract_reference", "give the contract reference"))
            continue
        if expected_contract and ref != expected_contract:
            problems.append(
                Problem(
                    where,
                    "contract_reference",
                    f"wrong contract: this upload is for {expected_contract}, "
                    f"but the row is for {ref!r}",
                )
            )
            continue
        period = normalise_period(row.get("period", "")) or (expected_period or "")
        if not period:
            problems.append(Problem(where, "period", "give the period (YYYY-MM or YYYY-Www)"))
            continue
        if expected_period and period != expected_period:
            problems.append(
                Problem(
                    where,
                    "period",
                    f"wrong period: this upload is for {expected_period}, "
                    f"but the row is for {row.get('period', '')!r}",
                )
            )
            continue
        group = groups.get((ref, period))
        if group is None:
            group = groups[(ref, period)] = _Group(first_row=number)

        narrative = row.get("narrative", "").strip()
        if narrative:
            if not group.narrative:
                group.narrative, group.narrative_row = narrative, number
            elif narrative != group.narrative:
                problems.append(
                    Problem(
                        where,
                        "narrative",
                        f"a different narrative for {ref} {period} is on row "
                        f"{group.narrative_row}: write the return's narrative once",
                    )
                )
        try:
            if _flag(row.get("no_activity", "")):
                group.no_activity = True
        except ValueError:
            problems.append(
                Problem(
                    where,
                    "no_activity",
                    f"{row['no_activity']!r}: write yes or no (or leave it empty)",
                )
            )

        kpi_code = row.get("kpi_code", "").strip()
        has_input = any(row.get(name, "").strip() for name in _INPUT_COLUMNS)
        if not kpi_code:
            if has_input or row.get("site", "").strip():
                problems.append(Problem(where, "kpi_code", "give the KPI code"))
            continue  # a return-level row: narrative or no activity only
        group.rows.append(
            (
                row,
                ValueRow(
                    where=where,
                    contract_ref=ref,
                    period=period,
                    kpi_code=kpi_code,
                    site=row.get("site", ""),
                    value=row.get("value", ""),
                    numerator=row.get("numerator", ""),
                    denominator=row.get("denominator", ""),
                    variance_explanation=row.get("variance_explanation", ""),
                ),
            )
        )
    if not groups and not problems:
        problems.append(Problem("file", "file", "the file holds no returns"))
    if (
        expected_contract
        and expected_period
        and not problems
        and (expected_contract, expected_period) not in groups
    ):
        problems.append(
            Problem("file", "file", f"no rows for {expected_contract} {expected_period}")
        )

    headers: list[ReturnHeader] = []
    value_rows: list[ValueRow] = []
    for (ref, period), group in groups.items():
        headers.append(
            ReturnHeader(
                contract_ref=ref,
                period=period,
                narrative=group.narrative,
                no_activity=group.no_activity,
                where=f"row {group.narrative_row or group.first_row}",
            )
        )
        for row, value_row in group.rows:
            # A template row left empty in a no-activity return is not a value.
            if group.no_activity and not any(row.get(n, "").strip() for n in _INPUT_COLUMNS):
                continue
            value_rows.append(value_row)
    return Submission(headers=headers, rows=value_rows, problems=problems)


# --- the import ----------------------------------------------------------------


@dataclass
class ImportResult:
    returns: list[Return] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    row_count: int = 0
    value_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _sort_key(problem: Problem) -> tuple[int, int]:
    match = re.match(r"rows? (\d+)", problem.where)
    if match:
        return (1, int(match[1]))
    return (0, 0) if problem.where == "file" else (2, 0)


def import_returns(
    *,
    membership: Membership,
    file,
    filename: str,
    source: str = ReturnSource.SPREADSHEET,
    expected_contract: Contract | str | None = None,
    expected_period: ReportingPeriod | str | None = None,
    submit: bool = True,
    today: date | None = None,
    on_behalf_reason: str = "",
) -> ImportResult:
    """Read, validate and write a spreadsheet of returns, whole or not at all.

    A provider's upload passes the contract and period it is for (a row for
    any other is an error); the commissioner data team's upload
    (``source=ReturnSource.BULK``) passes neither and may hold many contracts.
    Raises ``PermissionDenied`` if the role may not submit returns (anyone
    but the provider needs ``on_behalf_reason``); every other problem comes
    back in ``result.problems`` with nothing written."""
    return_entry_check(membership=membership, on_behalf_reason=on_behalf_reason)
    try:
        rows = read_spreadsheet(file, filename=filename)
    except SpreadsheetRejected as rejected:
        return ImportResult(problems=rejected.problems)
    if isinstance(expected_contract, Contract):
        expected_contract = expected_contract.reference
    if isinstance(expected_period, ReportingPeriod):
        expected_period = expected_period.label
    submission = rows_to_submission(
        rows, expected_contract=expected_contract, expected_period=expected_period
    )
    result = ImportResult(row_count=len(rows), value_count=len(submission.rows))
    try:
        result.returns = returns_enter(
            membership=membership,
            headers=submission.headers,
            rows=submission.rows,
            problems=submission.problems,
            today=today,
            source=source,
            submit=submit,
            on_behalf_reason=on_behalf_reason,
        )
    except ImportRejected as rejected:
        result.problems = sorted(rejected.problems, key=_sort_key)
    return result


# --- the template -----------------------------------------------------------------


def _template_rows(contract: Contract, period: ReportingPeriod) -> list[dict]:
    contract_kpis = (
        ContractKpi.objects.filter(contract_id=contract.pk)
        .select_related("kpi", "contract")
        .prefetch_related(Prefetch("phase_targets"))
        .order_by("-is_priority", "kpi__code")
    )
    sites = list(contract.sites.order_by("name"))
    rows = []
    for ck in contract_kpis:
        kpi = ck.kpi
        target, _amber = target_in_force(ck, period.start)
        base = {
            "contract_reference": contract.reference,
            "period": period.label,
            "kpi_code": kpi.code,
            "kpi_name": kpi.name,
            "unit": kpi.get_unit_display(),
            "target": _target_words(kpi.direction, target),
            "numerator_definition": kpi.numerator,
            "denominator_definition": kpi.denominator,
        }
        if kpi.reporting_level == ReportingLevel.SITE:
            rows.extend({**base, "site": site.name} for site in sites)
        else:
            rows.append({**base, "site": ""})
    return rows


def _target_words(direction: str, target: Decimal | None) -> str:
    if target is None:
        return ""
    text = formatting.plain(target)
    if direction == Direction.HIGHER:
        return f"at least {text}"
    if direction == Direction.LOWER:
        return f"at most {text}"
    return text


_GUIDE = [
    "How to fill in this return",
    "",
    "Fill in the white columns; the grey ones are guidance and are ignored on upload.",
    "value: the figure for the period. For a ratio KPI give the numerator and the "
    "denominator; the value may then be left empty and is worked out for you.",
    "variance_explanation: needed when a value misses its target or falls outside "
    "its expected range.",
    "narrative: the overall narrative for the period, written once on any row.",
    "no_activity: write yes (and a narrative saying why) if nothing was delivered in "
    "the period; leave the values empty.",
    "Keep the first sheet and its header row; do not rename the columns.",
]


def template_workbook(*, contract: Contract, period: ReportingPeriod) -> bytes:
    """An XLSX for one period: one row per contract KPI (one per site for a
    site-level KPI) with its guidance, value cells left empty."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Return {period.label}"
    sheet.append(list(TEMPLATE_COLUMNS))
    guidance = PatternFill("solid", fgColor="E6E6E6")
    for index, name in enumerate(TEMPLATE_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        if name in GUIDANCE_COLUMNS:
            cell.fill = guidance
        width = 40 if name in ("narrative", "variance_explanation", "kpi_name") else 18
        if name.endswith("_definition"):
            width = 36
        sheet.column_dimensions[get_column_letter(index)].width = width
    rows = _template_rows(contract, period)
    for number, row in enumerate(rows, start=2):
        for index, name in enumerate(TEMPLATE_COLUMNS, start=1):
            cell = sheet.cell(row=number, column=index, value=row.get(name) or None)
            if name == "period":
                cell.number_format = "@"  # text: Excel must not turn 2026-03 into a date
            if name in GUIDANCE_COLUMNS:
                cell.fill = guidance
    sheet.freeze_panes = "A2"
    flag = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
    column = get_column_letter(TEMPLATE_COLUMNS.index("no_activity") + 1)
    flag.add(f"{column}2:{column}{max(len(rows) + 1, 2)}")
    sheet.add_data_validation(flag)
    guide = workbook.create_sheet("How to fill in")
    for line in _GUIDE:
        guide.append([line])
    guide["A1"].font = Font(bold=True)
    guide.column_dimensions["A"].width = 110
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_csv(*, contract: Contract, period: ReportingPeriod) -> bytes:
    """The same template as CSV (UTF-8 with a byte-order mark, for Excel)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(TEMPLATE_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in _template_rows(contract, period):
        writer.writerow({name: row.get(name, "") for name in TEMPLATE_COLUMNS})
    return buffer.getvalue().encode("utf-8-sig")
