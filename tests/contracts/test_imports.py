"""The register's CSV import as a service (contracts/imports.py): what it
writes, how it refuses, in the domain's own errors. The management command
that calls it is tested in tests/oversight/test_history.py."""

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError

from contracts.imports import REQUIRED_COLUMNS, contract_rows_read, contracts_import
from contracts.models import Contract
from oversight.errors import ImportRejected, Problem
from oversight.models import Role
from performance.models import ReportingPeriod

pytestmark = pytest.mark.django_db


def _row(tw, reference="IMP-001", **over) -> dict:
    row = {
        "reference": reference,
        "title": f"Housing First {reference}",
        "provider": tw.p1.provider.name,
        "service_type": tw.service_type.code,
        "status": "active",
        "start_date": "2026-04-01",
        "end_date": "2029-03-31",
        "annual_value": "180,000",
        "total_value": "540000",
        "payment_model": "block",
        "payment_at_risk_pct": "",
        "contract_manager_email": tw.user("commissioner").email,
        "scope": "Permanent supportive housing",
    }
    row.update(over)
    return row


def _history_counts() -> tuple[int, int, int]:
    return Contract.objects.count(), Contract.history.count(), ReportingPeriod.objects.count()


def test_the_import_writes_every_row_with_the_actors_history_and_the_reason(world):
    a = world.a
    created = contracts_import(
        membership=a.members["admin"],
        rows=[_row(a, "IMP-001"), _row(a, "IMP-002", status="Planned", currency="gbp")],
        reason="Register migrated",
    )
    assert [c.reference for c in created] == ["IMP-001", "IMP-002"]
    first, second = (
        Contract.objects.get(tenant=a.tenant, reference=r) for r in ("IMP-001", "IMP-002")
    )
    assert (first.currency, second.currency, second.status) == ("USD", "GBP", "planned")
    assert str(first.annual_value) == "180000.00"
    for contract in (first, second):
        (record,) = contract.history.all()
        assert (record.history_user, record.history_change_reason) == (
            a.user("admin"),
            "Register migrated",
        )
    # The active contract owes its periods at once; the planned one none yet.
    assert ReportingPeriod.objects.filter(contract=first).exists()
    assert not ReportingPeriod.objects.filter(contract=second).exists()


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_a_role_that_may_not_register_contracts_is_refused_in_the_domains_terms(world, role):
    a = world.a
    before = _history_counts()
    with pytest.raises(PermissionDenied) as refused:
        contracts_import(membership=a.members[role], rows=[_row(a)], reason="Migration")
    assert not isinstance(refused.value, CommandError)
    assert "only an admin or a commissioner may register contracts" in str(refused.value)
    assert _history_counts() == before


def test_every_rows_problems_come_together_as_problems_and_nothing_is_written(world):
    a, b = world.a, world.b
    before = _history_counts()
    with pytest.raises(ImportRejected) as rejected:
        contracts_import(
            membership=a.members["commissioner"],
            rows=[
                _row(a, "IMP-001"),
                _row(a, "IMP-002", end_date="2025-03-31", contract_manager_email=""),
                _row(a, "imp-001", provider=b.p1.provider.name),
                _row(a, a.p1.contract.reference),
            ],
            reason="Migration",
        )
    assert not isinstance(rejected.value, CommandError)
    assert rejected.value.problems == [
        Problem("row 3", "contract_manager_email", "This field is required."),
        Problem(
            "row 4", "provider", f"no provider named {b.p1.provider.name!r} in this organisation"
        ),
        Problem("row 4", "reference", "'imp-001' is also in row 2"),
        Problem("row 5", "", "A contract with this reference already exists."),
    ]
    assert str(rejected.value.problems[-1]) == (
        "row 5: A contract with this reference already exists."
    )
    assert _history_counts() == before


def test_a_contract_manager_from_another_tenant_is_not_found_in_this_one(world):
    a, b = world.a, world.b
    with pytest.raises(ImportRejected) as rejected:
        contracts_import(
            membership=a.members["admin"],
            rows=[_row(a, contract_manager_email=b.user("commissioner").email)],
            reason="Migration",
        )
    assert [str(p) for p in rejected.value.problems] == [
        f"row 2, contract_manager_email: {b.user('commissioner').email!r} is not a member "
        "of this organisation"
    ]
    assert not Contract.objects.filter(reference="IMP-001").exists()


def _csv(text: str) -> io.StringIO:
    return io.StringIO(text, newline="")


def test_reading_the_file_takes_its_rows_and_leaves_out_blank_ones():
    header = ",".join(REQUIRED_COLUMNS)
    row = ",".join(f"{column}-value" for column in REQUIRED_COLUMNS)
    rows = contract_rows_read(_csv(f" {header}\n{row}\n,,,\n\n{row}\n"), name="register.csv")
    assert len(rows) == 2
    assert rows[0]["reference"] == "reference-value"
    assert rows[1]["scope"] == "scope-value"


def test_reading_refuses_missing_and_unknown_columns_on_the_header_row():
    with pytest.raises(ImportRejected) as rejected:
        contract_rows_read(_csv("reference,title,colour\nX,Y,blue\n"), name="register.csv")
    missing, unknown = rejected.value.problems
    assert (missing.where, unknown.where) == ("row 1", "row 1")
    assert str(missing).startswith("row 1: missing columns: provider, service_type, status")
    assert str(unknown).startswith("row 1: unknown columns: colour (known: reference, title")


def test_reading_refuses_a_file_with_no_contracts_naming_it():
    header = ",".join(REQUIRED_COLUMNS)
    with pytest.raises(ImportRejected) as rejected:
        contract_rows_read(_csv(f"{header}\n,,\n"), name="register.csv")
    assert [str(p) for p in rejected.value.problems] == [
        "register.csv has a header row but no contracts"
    ]
