"""Every validation problem through every way in this module owns: a
provider's CSV and XLSX upload, the API's JSON, and the commissioner data
team's many-contract upload. Each asserts the message a provider would read
and that nothing was written (returns, values and their history).

The returns world built here (KPIs, contract KPIs, sites, the calendar) is
shared by the other performance test modules through ``build_returns_world``.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from rest_framework.test import APIClient

from contracts.models import Contract, DeliverySite
from oversight import clock
from oversight.models import Membership
from performance.imports import import_returns
from performance.models import (
    ContractKpi,
    Kpi,
    ReportingPeriod,
    Return,
    ReturnSource,
    ReturnStatus,
    ReturnValue,
)
from performance.services import reporting_calendar_sync, returns_write
from performance.validation import ReturnHeader, ValueRow, validate

PERIOD = "2025-06"
SECOND_SITE = "North hub"

# --- the returns world ------------------------------------------------------------


@dataclass
class ReturnsWorld:
    world: object
    contract: Contract  # provider P1's
    other: Contract  # provider P2's, same tenant
    provider: Membership  # works for P1
    commissioner: Membership
    sites: list[DeliverySite]
    period: ReportingPeriod
    kpis: dict[str, Kpi] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.contract.tenant.slug


KPI_LIBRARY = [
    # code, unit, direction, numerator, denominator, level, target, expected range
    ("visits_on_time", "percentage", "higher", "Visits on time", "Visits scheduled",
     "contract", Decimal("90"), None),
    ("missed_visits", "count", "lower", "", "", "site", Decimal("5"), None),
    ("staff_turnover", "percentage", "lower", "", "", "contract", Decimal("10"),
     (Decimal("3"), Decimal("9"))),
    ("days_to_first_contact", "days", "lower", "", "", "contract", Decimal("7"), None),
]  # fmt: skip


def _kpis_for(contract: Contract, kpis: dict[str, Kpi]) -> None:
    for code, *_rest, target, expected in KPI_LIBRARY:
        ContractKpi.objects.create(
            tenant=contract.tenant,
            contract=contract,
            kpi=kpis[code],
            target=target,
            is_priority=code == "visits_on_time",
            expected_low=expected[0] if expected else None,
            expected_high=expected[1] if expected else None,
        )


def build_returns_world(world) -> ReturnsWorld:
    """Tenant A of the ``world`` fixture with a KPI library, four KPIs on each
    provider's contract, two sites on P1's contract and the calendar to date."""
    tenant_world = world.a
    tenant = tenant_world.tenant
    kpis = {}
    for code, unit, direction, numerator, denominator, level, _target, _exp in KPI_LIBRARY:
        kpis[code] = Kpi.objects.create(
            tenant=tenant,
            code=code,
            name=code.replace("_", " ").capitalize(),
            definition=f"Definition of {code}",
            numerator=numerator,
            denominator=denominator,
            unit=unit,
            direction=direction,
            category="quality",
            reporting_level=level,
        )
    contract, other = tenant_world.p1.contract, tenant_world.p2.contract
    for c in (contract, other):
        _kpis_for(c, kpis)
    DeliverySite.objects.create(tenant=tenant, contract=contract, name=SECOND_SITE, area="North")
    reporting_calendar_sync(contracts=[contract, other], today=clock.today())
    period = ReportingPeriod.objects.get(contract=contract, start=date(2025, 6, 1))
    return ReturnsWorld(
        world=world,
        contract=contract,
        other=other,
        provider=tenant_world.members["provider"],
        commissioner=tenant_world.members["commissioner"],
        sites=list(contract.sites.order_by("name")),
        period=period,
        kpis=kpis,
    )


@pytest.fixture
def rw(world) -> ReturnsWorld:
    return build_returns_world(world)


def valid_values(contract: Contract) -> list[dict]:
    """A complete, valid set of values for one of the world's contracts."""
    values = [
        {"kpi_code": "visits_on_time", "value": "95", "numerator": "95", "denominator": "100"},
    ]
    for site in contract.sites.order_by("name"):
        values.append({"kpi_code": "missed_visits", "site": site.name, "value": "2"})
    values += [
        {"kpi_code": "staff_turnover", "value": "5"},
        {"kpi_code": "days_to_first_contact", "value": "4"},
    ]
    return values


def counts() -> tuple[int, int, int, int]:
    """Everything a submission could write."""
    return (
        Return.objects.count(),
        ReturnValue.objects.count(),
        Return.history.count(),
        ReturnValue.history.count(),
    )


# --- spreadsheets -------------------------------------------------------------------

SHEET_COLUMNS = [
    "contract_reference", "period", "kpi_code", "site", "value", "numerator",
    "denominator", "variance_explanation", "narrative", "no_activity",
]  # fmt: skip


def sheet_rows(
    contract_ref: str,
    period: str,
    values: list[dict],
    *,
    narrative: str = "",
    no_activity: bool = False,
) -> list[dict]:
    """Spreadsheet rows for one return: one row per value, the narrative and
    the no-activity flag on the first row (a lone row if there are no values)."""
    rows = [{"contract_reference": contract_ref, "period": period, **v} for v in values] or [
        {"contract_reference": contract_ref, "period": period}
    ]
    rows[0] = {**rows[0], "narrative": narrative, "no_activity": "yes" if no_activity else ""}
    return rows


def csv_bytes(rows: list[dict], columns=SHEET_COLUMNS, delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict], columns=SHEET_COLUMNS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        sheet.append([_xlsx_cell(row.get(c, "")) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(text):
    """Numbers as numbers, the way a provider's Excel holds them."""
    if text in ("", None):
        return None
    try:
        number = float(text)
    except (TypeError, ValueError):
        return text
    return int(number) if number.is_integer() else number


# --- the ways in ---------------------------------------------------------------------

WAYS = ("csv", "xlsx", "api", "bulk")


@dataclass
class Answer:
    ok: bool
    problems: list[dict]
    status: int | None = None
    body: dict | None = None


REPLAYED = "201 replayed"


def answered(response) -> int | str:
    """The status a client sees, with a replay of an earlier request (201 and the
    ``Idempotent-Replayed`` header) told apart from the original 201."""
    if response.status_code == 201 and response.headers.get("Idempotent-Replayed") == "true":
        return REPLAYED
    return response.status_code


def in_threads(sends: list, *, released_together: bool = True, timeout: float = 120) -> list:
    """Run each ``send`` (a call returning a response) in its own thread, with its
    own database connection, and return their (status, json) in order; with
    ``released_together`` they wait for each other before sending."""
    start = threading.Barrier(len(sends), timeout=30) if released_together else None
    answers: list = [None] * len(sends)

    def run(index, send):
        try:
            if start is not None:
                start.wait()
            response = send()
            answers[index] = (answered(response), response.json())
        except Exception as error:  # noqa: BLE001 - reported by the callers' assertions
            answers[index] = ("raised", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sends)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return answers


def api_body(rw, **changes) -> dict:
    """A valid body for ``POST …/returns/`` of ``rw``'s contract and period."""
    return {
        "contract": rw.contract.reference,
        "period": PERIOD,
        "narrative": "A steady month.",
        "values": valid_values(rw.contract),
        **changes,
    }


def api_post(membership: Membership, body, *, key: str | None = None, raw: bytes | None = None):
    client = APIClient()
    client.force_login(membership.user)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        f"/api/v1/t/{membership.tenant.slug}/returns/",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        **headers,
    )


def submit(
    way: str,
    rw: ReturnsWorld,
    values: list[dict],
    *,
    period: str = PERIOD,
    narrative: str = "",
    no_activity: bool = False,
    contract: Contract | None = None,
) -> Answer:
    contract = contract or rw.contract
    if way == "api":
        body = {
            "contract": contract.reference,
            "period": period,
            "narrative": narrative,
            "no_activity": no_activity,
            "values": values,
        }
        response = api_post(rw.provider, body, key=str(uuid.uuid4()))
        data = response.json()
        return Answer(response.status_code == 201, data.get("errors", []), response.status_code)
    rows = sheet_rows(
        contract.reference, period, values, narrative=narrative, no_activity=no_activity
    )
    if way == "bulk":
        # The data team's file: this return first, then a valid one for P2.
        rows += sheet_rows(rw.other.reference, PERIOD, valid_values(rw.other))
        result = import_returns(
            membership=rw.commissioner,
            file=csv_bytes(rows),
            filename="agency-export.csv",
            source=ReturnSource.BULK,
            on_behalf_reason="The providers emailed their spreadsheets",
        )
    else:
        data = csv_bytes(rows) if way == "csv" else xlsx_bytes(rows)
        result = import_returns(
            membership=rw.provider,
            file=data,
            filename=f"return.{way}",
            source=ReturnSource.SPREADSHEET,
            expected_contract=rw.contract,
            expected_period=rw.period,
        )
    return Answer(result.ok, [p.as_dict() for p in result.problems])


def presubmit(rw: ReturnsWorld, contract: Contract | None = None) -> Return:
    """A valid return for the period, through the service."""
    contract = contract or rw.contract
    rows = [
        ValueRow(where=f"values[{i}]", contract_ref=contract.reference, period=PERIOD, **v)
        for i, v in enumerate(valid_values(contract))
    ]
    outcome = validate(
        membership=rw.provider if contract == rw.contract else rw.commissioner,
        headers=[ReturnHeader(contract_ref=contract.reference, period=PERIOD)],
        rows=rows,
    )
    assert outcome.ok, outcome.problems
    (ret,) = returns_write(membership=rw.provider, outcome=outcome, source=ReturnSource.WEB)
    return ret


# --- the cases --------------------------------------------------------------------


def _set(index: int, **changes) -> Callable[[list[dict]], list[dict]]:
    def mutate(values):
        values = [dict(v) for v in values]
        values[index].update(changes)
        return values

    return mutate


def _index_of(values, code, site=None):
    return next(
        i
        for i, v in enumerate(values)
        if v["kpi_code"] == code and (site is None or v.get("site") == site)
    )


# valid_values order: 0 visits_on_time, 1 missed_visits@North hub,
# 2 missed_visits@Riverbend hub…, 3 staff_turnover, 4 days_to_first_contact
I_RATIO, I_SITE, I_TURNOVER, I_DAYS = 0, 1, 3, 4


@dataclass
class Case:
    name: str
    field: str
    message: str | dict[str, str]  # a fragment, or one per way
    index: int | None = None  # the value the problem is on; None: the return
    where: str | dict[str, str] | None = None  # for return-level problems
    mutate: Callable[[list[dict]], list[dict]] = lambda values: values
    period: str = PERIOD
    narrative: str = ""
    no_activity: bool = False
    other_contract: bool = False
    before: Callable[[ReturnsWorld], object] | None = None
    ways: tuple[str, ...] = WAYS

    def expected_where(self, way: str) -> str | None:
        if self.index is not None:
            return f"values[{self.index}]" if way == "api" else f"row {self.index + 2}"
        if isinstance(self.where, dict):
            return self.where[way]
        return self.where

    def expected_message(self, way: str) -> str:
        return self.message[way] if isinstance(self.message, dict) else self.message


RETURN_ROW = {"csv": "row 2", "xlsx": "row 2", "bulk": "row 2", "api": "return"}
P1 = "QQPROVONE-001"

CASES = [
    Case("unknown KPI code", "kpi_code", "unknown KPI code 'bogus_code' for " + P1,
         index=I_DAYS, mutate=_set(I_DAYS, kpi_code="bogus_code")),
    Case("value not a number", "value", "'lots' is not a number",
         index=I_DAYS, mutate=_set(I_DAYS, value="lots")),
    Case("percentage out of range", "value", "150 is not a percentage between 0 and 100",
         index=I_TURNOVER, mutate=_set(I_TURNOVER, value="150")),
    Case("negative count", "value", "-3 is negative; a count cannot be",
         index=I_SITE, mutate=_set(I_SITE, value="-3")),
    Case("fractional count", "value", "is not a whole number; a count must be",
         index=I_SITE, mutate=_set(I_SITE, value="2.5")),
    Case("negative days", "value", "is negative; a days cannot be",
         index=I_DAYS, mutate=_set(I_DAYS, value="-1")),
    Case("absurdly large value", "value", "is far too large",
         index=I_DAYS, mutate=_set(I_DAYS, value="1e30")),
    Case("target missed without an explanation", "variance_explanation",
         "Days to first contact: 12 misses its target of 7.0: explain the variance",
         index=I_DAYS, mutate=_set(I_DAYS, value="12")),
    Case("outside the expected range without an explanation", "variance_explanation",
         "Staff turnover: 1 is outside the expected range (3.0% to 9.0%): explain the variance",
         index=I_TURNOVER, mutate=_set(I_TURNOVER, value="1")),
    Case("ratio does not match", "value",
         "Visits on time: 80 does not match numerator ÷ denominator: 95 out of 100 is 95%",
         index=I_RATIO, mutate=_set(I_RATIO, value="80")),
    Case("numerator more than the denominator of a percentage", "numerator",
         "Visits on time: 500 out of 100 is more than 100%: the numerator (Visits on time) "
         "cannot exceed the denominator (Visits scheduled)",
         index=I_RATIO, mutate=_set(I_RATIO, value="", numerator="500", denominator="100")),
    Case("a site's count named by KPI and site", "value",
         f"Missed visits at {SECOND_SITE}: -3 is negative; a count cannot be",
         index=I_SITE, mutate=_set(I_SITE, value="-3")),
    Case("a percent sign on a count", "value",
         "Days to first contact: '4%': give the number without a percent sign",
         index=I_DAYS, mutate=_set(I_DAYS, value="4%")),
    Case("a decimal comma", "value",
         "Staff turnover: '5,5' is not a number: write decimals with a point (5.5)",
         index=I_TURNOVER, mutate=_set(I_TURNOVER, value="5,5")),
    Case("ratio without its denominator", "denominator",
         "Visits on time is a ratio: give the denominator (Visits scheduled)",
         index=I_RATIO, mutate=_set(I_RATIO, denominator="")),
    Case("ratio with a zero denominator", "denominator", "must be more than 0",
         index=I_RATIO, mutate=_set(I_RATIO, denominator="0")),
    Case("site-level KPI without a site", "site",
         "missed_visits is reported per site: name the site",
         index=I_SITE, mutate=_set(I_SITE, site="")),
    Case("unknown site", "site", "no site 'Atlantis' on " + P1,
         index=I_SITE, mutate=_set(I_SITE, site="Atlantis")),
    Case("site on a contract-level KPI", "site",
         "staff_turnover is reported for the whole contract, not per site",
         index=I_TURNOVER, mutate=_set(I_TURNOVER, site=SECOND_SITE)),
    Case("a site's value missing", "values", "no value for missed_visits at " + SECOND_SITE,
         where=f"return {P1} {PERIOD}", mutate=lambda values: values[:1] + values[2:]),
    Case("duplicate row", "kpi_code",
         {"csv": "duplicate of row 2", "xlsx": "duplicate of row 2",
          "bulk": "duplicate of row 2", "api": "duplicate of values[0]"},
         index=5, mutate=lambda values: [*values, dict(values[0])]),
    Case("wrong period", "period",
         {"csv": "wrong period: this upload is for 2025-06", "xlsx":
          "wrong period: this upload is for 2025-06",
          "bulk": f"2024-12 is not a reporting period of {P1}",
          "api": f"2024-12 is not a reporting period of {P1}"},
         where=RETURN_ROW, period="2024-12"),
    Case("not a period at all", "period", "'June' is not a period",
         where=RETURN_ROW, period="June", ways=("api", "bulk")),
    Case("period already submitted", "period",
         "a return for 2025-06 is already submitted (version 1); "
         "it can be corrected only after the commissioner queries it",
         where=RETURN_ROW, before=presubmit),
    Case("another provider's contract", "contract_reference",
         {"csv": f"wrong contract: this upload is for {P1}",
          "xlsx": f"wrong contract: this upload is for {P1}",
          "api": "no contract 'QQPROVTWO-001' that you can report on"},
         where=RETURN_ROW, other_contract=True, ways=("csv", "xlsx", "api")),
    Case("no activity without saying why", "narrative",
         "say why there was no activity in the period",
         where=RETURN_ROW, no_activity=True, mutate=lambda values: []),
    Case("no activity but values given", "value",
         "the return says there was no activity: give no values",
         index=0, no_activity=True, narrative="Service paused"),
]  # fmt: skip

MATRIX = [pytest.param(case, way, id=f"{case.name}-{way}") for case in CASES for way in case.ways]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "way"), MATRIX)
def test_each_problem_through_each_way_writes_nothing(rw, case: Case, way: str):
    if case.before:
        case.before(rw)
    before = counts()
    answer = submit(
        way,
        rw,
        case.mutate(valid_values(rw.contract)),
        period=case.period,
        narrative=case.narrative,
        no_activity=case.no_activity,
        contract=rw.other if case.other_contract else None,
    )
    assert not answer.ok
    if way == "api":
        assert answer.status == 400
    field_name = "contract" if way == "api" and case.field == "contract_reference" else case.field
    wanted = case.expected_message(way)
    matching = [p for p in answer.problems if p["field"] == field_name and wanted in p["message"]]
    assert matching, f"no {field_name!r} problem saying {wanted!r} in {answer.problems}"
    where = case.expected_where(way)
    if where is not None:
        assert where in [p["where"] for p in matching], answer.problems
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("way", WAYS)
def test_a_valid_return_through_each_way_is_written_whole(rw, way):
    """The control for the cases above: the same submission, valid, writes
    the return, every value and their history."""
    before = counts()
    answer = submit(way, rw, valid_values(rw.contract), narrative="A steady month.")
    assert answer.ok, answer.problems
    returns = 2 if way == "bulk" else 1
    values = len(valid_values(rw.contract)) + (len(valid_values(rw.other)) if way == "bulk" else 0)
    after = counts()
    assert after == (
        before[0] + returns,
        before[1] + values,
        before[2] + returns,
        before[3] + values,
    )
    ret = Return.objects.get(contract=rw.contract, period=rw.period)
    assert ret.status == ReturnStatus.SUBMITTED
    assert ret.narrative == "A steady month."
    assert ret.source == {"api": "api", "bulk": "bulk"}.get(way, "spreadsheet")


@pytest.mark.django_db
@pytest.mark.parametrize("way", WAYS)
def test_an_explained_variance_is_accepted(rw, way):
    values = valid_values(rw.contract)
    values[I_DAYS] |= {"value": "12", "variance_explanation": "Two staff off sick."}
    values[I_TURNOVER] |= {"value": "1", "variance_explanation": "New retention bonus."}
    assert submit(way, rw, values).ok
    stored = ReturnValue.objects.get(
        return_obj__contract=rw.contract, contract_kpi__kpi__code="days_to_first_contact"
    )
    assert stored.value == Decimal("12")
    assert stored.variance_explanation == "Two staff off sick."


@pytest.mark.django_db
@pytest.mark.parametrize("way", WAYS)
def test_a_no_activity_return_needs_no_values(rw, way):
    answer = submit(way, rw, [], no_activity=True, narrative="Service closed for refurbishment.")
    assert answer.ok, answer.problems
    ret = Return.objects.get(contract=rw.contract, period=rw.period)
    assert ret.no_activity and not ret.values.exists()


@pytest.mark.django_db
def test_bulk_upload_with_one_bad_row_writes_neither_contract(rw):
    """The data team's file is imported whole or not at all: P2's valid return
    is not written because one of P1's rows is wrong."""
    before = counts()
    answer = submit("bulk", rw, _set(I_DAYS, kpi_code="nope")(valid_values(rw.contract)))
    assert not answer.ok
    assert counts() == before
    assert not Return.objects.filter(contract=rw.other).exists()


@pytest.mark.django_db
def test_ratio_value_may_be_left_for_the_numerator_and_denominator(rw):
    values = valid_values(rw.contract)
    values[I_RATIO] = {"kpi_code": "visits_on_time", "numerator": "45", "denominator": "50"}
    assert submit("csv", rw, values).ok
    stored = ReturnValue.objects.get(contract_kpi__kpi__code="visits_on_time")
    assert stored.value == Decimal("90")


@pytest.mark.django_db
def test_a_value_too_large_after_rounding_is_reported_not_crashed(rw):
    """9,999,999,999.99999 rounds to 10,000,000,000.0000: 15 digits, more than
    the column holds. It is a problem for the provider, not a server error."""
    values = _set(I_DAYS, value="9999999999.99999")(valid_values(rw.contract))
    answer = submit("api", rw, values)
    assert answer.status == 400
    assert {
        "where": "values[4]",
        "field": "value",
        "message": "Days to first contact: 9999999999.99999 is far too large",
    } in (answer.problems)


@pytest.mark.django_db
@pytest.mark.parametrize("way", ["csv", "api"])
def test_an_early_site_is_judged_against_its_phase_target(rw, way):
    """Months 1-6 (the implementation phase) have a target of 80, then 90."""
    from performance.models import PhaseTarget

    ck = rw.contract.contract_kpis.get(kpi__code="visits_on_time")
    PhaseTarget.objects.create(
        tenant=rw.contract.tenant, contract_kpi=ck, phase="Implementation",
        from_month=1, to_month=6, target=Decimal("80"),
    )  # fmt: skip
    values = _set(I_RATIO, value="85", numerator="85", denominator="100")(valid_values(rw.contract))
    assert submit(way, rw, values).ok  # June 2025 is month 6: 85 meets 80
    if way == "api":  # July is month 7: the mature target of 90 applies
        answer = submit(way, rw, values, period="2025-07")
        assert answer.problems == [
            {
                "where": "values[0]",
                "field": "variance_explanation",
                "message": "Visits on time: 85 misses its target of 90.0%: explain the variance",
            }
        ]


# --- numbers as people type them (issue 7) ----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "percent", "expected"),
    [
        ("95%", True, Decimal("95")),
        ("95 %", True, Decimal("95")),
        ("1,234", False, Decimal("1234")),
        (" 12 ", False, Decimal("12")),
        ("1,234.5", False, Decimal("1234.5")),
        ("12,345,678", False, Decimal("12345678")),
        ("1\u00a0234", False, Decimal("1234")),  # a non-breaking space, as Excel copies it
        ("-3", False, Decimal("-3")),
        (".5", False, Decimal("0.5")),
        (7, False, Decimal("7")),
        (2.5, False, Decimal("2.5")),
        ("", False, None),
        ("   ", False, None),
        (None, False, None),
    ],
)
def test_parse_number_reads_what_people_type(typed, percent, expected):
    from performance.validation import parse_number

    assert parse_number(typed, percent=percent) == expected


@pytest.mark.parametrize(
    ("typed", "percent", "message"),
    [
        ("lots", False, "'lots' is not a number"),
        ("1,5", False, "'1,5' is not a number: write decimals with a point (1.5)"),
        ("1,2345", False, "'1,2345' is not a number"),
        ("1,,234", False, "'1,,234' is not a number"),
        ("95%", False, "'95%': give the number without a percent sign"),
        ("%", True, "'%' is not a number"),
        ("NaN", False, "'NaN' is not a number"),
        ("inf", False, "'inf' is not a number"),
        (True, False, "True is not a number"),
    ],
)
def test_parse_number_says_what_is_wrong_with_what_was_typed(typed, percent, message):
    from performance.validation import NotANumber, parse_number

    with pytest.raises(NotANumber) as raised:
        parse_number(typed, percent=percent)
    assert str(raised.value).startswith(message)


@pytest.mark.django_db
@pytest.mark.parametrize("way", WAYS)
def test_numbers_as_people_type_them_are_accepted_through_each_way(rw, way):
    values = valid_values(rw.contract)
    values[I_RATIO] |= {"value": "95%", "numerator": "1,140", "denominator": " 1,200 "}
    values[I_SITE] |= {"value": " 2 "}
    values[I_TURNOVER] |= {"value": "5.5%"}
    values[I_DAYS] |= {"value": "4.0"}
    answer = submit(way, rw, values)
    assert answer.ok, answer.problems
    stored = {
        (v.contract_kpi.kpi.code, v.site_id): v
        for v in ReturnValue.objects.filter(return_obj__contract=rw.contract)
    }
    ratio = stored[("visits_on_time", None)]
    assert (ratio.value, ratio.numerator, ratio.denominator) == (95, 1140, 1200)
    assert stored[("missed_visits", rw.sites[0].pk)].value == 2
    assert stored[("staff_turnover", None)].value == Decimal("5.5")


@pytest.mark.django_db
@pytest.mark.parametrize("way", WAYS)
def test_a_numerator_over_its_denominator_is_said_in_the_figures_typed(rw, way):
    """500 out of 100: the provider is told about 500 and 100, not about a
    500.0000% the provider never typed."""
    values = _set(I_RATIO, value="", numerator="500", denominator="100")(valid_values(rw.contract))
    answer = submit(way, rw, values)
    assert not answer.ok
    messages = [p["message"] for p in answer.problems]
    assert messages == [
        "Visits on time: 500 out of 100 is more than 100%: the numerator (Visits on time) "
        "cannot exceed the denominator (Visits scheduled)"
    ]
    assert not any("500.0000" in m for m in messages)


# --- the API: a return entered on the provider's behalf (issue 7) -------------------------


def _api_body(rw, **extra) -> dict:
    return {
        "contract": rw.contract.reference,
        "period": PERIOD,
        "values": valid_values(rw.contract),
        **extra,
    }


@pytest.mark.django_db
def test_the_api_takes_the_on_behalf_reason_and_shows_it(rw):
    before = counts()
    refused = api_post(rw.commissioner, _api_body(rw), key=str(uuid.uuid4()))
    assert refused.status_code == 403
    assert "To enter one on the provider's behalf, say why" in refused.json()["detail"]
    assert counts() == before
    provider_claiming = api_post(
        rw.provider, _api_body(rw, on_behalf_reason="For myself"), key=str(uuid.uuid4())
    )
    assert provider_claiming.status_code == 403
    assert counts() == before

    response = api_post(
        rw.commissioner,
        _api_body(rw, on_behalf_reason="Figures phoned in by the registered manager"),
        key=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.content
    user = rw.commissioner.user
    assert response.json()["entered_on_behalf"] == {
        "provider": rw.contract.provider.name,
        "entered_by": str(user),
        "reason": "Figures phoned in by the registered manager",
        "text": f"Entered on behalf of {rw.contract.provider.name} by {user}, "
        "reason: Figures phoned in by the registered manager",
    }
    ret_id = response.json()["id"]
    client = APIClient()
    client.force_login(rw.commissioner.user)
    accept = client.post(f"/api/v1/t/{rw.slug}/returns/{ret_id}/accept/", {}, format="json")
    assert accept.status_code == 403
    assert "You entered this return on the provider's behalf" in accept.json()["detail"]
    assert Return.objects.get(pk=ret_id).status == ReturnStatus.SUBMITTED


@pytest.mark.django_db
def test_the_api_shows_a_providers_own_return_as_not_entered_on_behalf(rw):
    response = api_post(rw.provider, _api_body(rw), key=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    assert response.json()["entered_on_behalf"] is None
