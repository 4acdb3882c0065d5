"""Register contracts in bulk from a CSV file.

    python manage.py contracts_import contracts.csv --tenant alder \\
        --actor manager@agency.gov --reason "Register migrated from the old system"

Columns (header row required, any order): reference, title, provider (name),
service_type (code or name), status, start_date, end_date (YYYY-MM-DD),
annual_value, total_value, payment_model, payment_at_risk_pct,
contract_manager_email, scope; optionally population_coverage, intensity,
extension_options, latest_end_date, currency, service_owner_email,
executive_sponsor_email, reporting_frequency, protected_core_components
(items separated by ";").

Every row is validated first, with the same rules as the register's pages
("row 4, end_date: The end date is before the start date."; rows are numbered
as in a spreadsheet, the header being row 1). If any row fails, nothing is
written. Otherwise all rows are written in one transaction with
django-simple-history's bulk helper, so each contract's history names the actor
and the reason. The actor must be an admin or commissioner of the tenant.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from contracts import selectors
from contracts.models import Contract, ContractStatus, Frequency, PaymentModel
from contracts.services import _check_tenant_refs, contracts_saved
from oversight.history import bulk_create
from oversight.models import Membership, Tenant, User
from oversight.permissions import can

REQUIRED_COLUMNS = [
    "reference",
    "title",
    "provider",
    "service_type",
    "status",
    "start_date",
    "end_date",
    "annual_value",
    "total_value",
    "payment_model",
    "payment_at_risk_pct",
    "contract_manager_email",
    "scope",
]
OPTIONAL_COLUMNS = [
    "population_coverage",
    "intensity",
    "extension_options",
    "latest_end_date",
    "currency",
    "service_owner_email",
    "executive_sponsor_email",
    "reporting_frequency",
    "protected_core_components",
]
# model field -> CSV column, for messages about a field
COLUMN_OF = {
    "provider": "provider",
    "service_type": "service_type",
    "contract_manager": "contract_manager_email",
    "service_owner": "service_owner_email",
    "executive_sponsor": "executive_sponsor_email",
}
TEXT_FIELDS = [
    "reference",
    "title",
    "scope",
    "population_coverage",
    "intensity",
    "extension_options",
]
ACTION = "contract.change"


@dataclass
class RowError:
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _choice(value: str, choices, what: str) -> str:
    for key, label in choices:
        if value.lower() in (str(key).lower(), str(label).lower()):
            return key
    options = ", ".join(str(key) for key, _ in choices)
    raise ValueError(f"{value!r} is not a {what}; use one of: {options}")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


def _decimal(value: str) -> Decimal:
    cleaned = value.replace(",", "").replace("%", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


class _Lookups:
    """Names and emails resolved within the tenant, each read once."""

    def __init__(self, membership: Membership):
        self.providers = {
            p.name.lower(): p for p in selectors.providers_visible(membership=membership)
        }
        self.service_types = {}
        for st in selectors.service_types_visible(membership=membership):
            self.service_types[st.name.lower()] = st
            self.service_types[st.code.lower()] = st
        self.staff = {u.email.lower(): u for u in selectors.tenant_staff(membership=membership)}

    def provider(self, name: str):
        try:
            return self.providers[name.lower()]
        except KeyError:
            raise ValueError(f"no provider named {name!r} in this organisation") from None

    def service_type(self, text: str):
        try:
            return self.service_types[text.lower()]
        except KeyError:
            raise ValueError(
                f"no service type with the code or name {text!r} in this organisation"
            ) from None

    def user(self, email: str) -> User:
        try:
            return self.staff[email.lower()]
        except KeyError:
            raise ValueError(f"{email!r} is not a member of this organisation") from None


def _build(
    membership: Membership, lookups: _Lookups, number: int, raw: dict
) -> tuple[Contract, list[RowError]]:
    errors: list[RowError] = []
    values: dict = {}

    def field(column: str, parse, target: str | None = None, *, optional: bool = False):
        text = (raw.get(column) or "").strip()
        if not text:
            if not optional:
                errors.append(RowError(number, column, "This field is required."))
            return
        try:
            values[target or column] = parse(text)
        except ValueError as error:
            errors.append(RowError(number, column, str(error)))

    for name in TEXT_FIELDS:
        values[name] = (raw.get(name) or "").strip()
    field("provider", lookups.provider)
    field("service_type", lookups.service_type)
    field("status", lambda v: _choice(v, ContractStatus.choices, "contract status"))
    field("payment_model", lambda v: _choice(v, PaymentModel.choices, "payment model"))
    field(
        "reporting_frequency",
        lambda v: _choice(v, Frequency.choices, "reporting frequency"),
        optional=True,
    )
    for column in ["start_date", "end_date"]:
        field(column, _date)
    field("latest_end_date", _date, optional=True)
    for column in ["annual_value", "total_value"]:
        field(column, _decimal)
    field("payment_at_risk_pct", _decimal, optional=True)
    field("currency", lambda v: v.upper(), optional=True)
    field("contract_manager_email", lookups.user, "contract_manager")
    field("service_owner_email", lookups.user, "service_owner", optional=True)
    field("executive_sponsor_email", lookups.user, "executive_sponsor", optional=True)
    field(
        "protected_core_components",
        lambda v: [item.strip() for item in v.split(";") if item.strip()],
        optional=True,
    )
    values.setdefault("currency", membership.tenant.currency)

    contract = Contract(tenant_id=membership.tenant_id, **values)
    if errors:  # parse errors first: model validation of half-parsed rows only confuses
        return contract, errors
    try:
        _check_tenant_refs(membership, contract)
        contract.full_clean()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            column = None if name == NON_FIELD_ERRORS else COLUMN_OF.get(name, name)
            for message in messages:
                errors.append(RowError(number, column, message))
    return contract, errors


@transaction.atomic
def contracts_import(
    *, membership: Membership, rows: list[dict], first_row: int = 2, reason: str
) -> list[Contract]:
    """Validate every row, then write all of them with history, or none."""
    if not can(membership, ACTION):
        raise CommandError(
            f"{membership.user.email} is a {membership.get_role_display().lower()} of "
            f"{membership.tenant.name}: only an admin or a commissioner may register contracts."
        )
    lookups = _Lookups(membership)
    contracts: list[Contract] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for offset, raw in enumerate(rows):
        number = first_row + offset
        contract, row_errors = _build(membership, lookups, number, raw)
        reference = contract.reference.lower()
        if reference in seen:
            row_errors.append(
                RowError(
                    number, "reference", f"{contract.reference!r} is also in row {seen[reference]}"
                )
            )
        elif reference:
            seen[reference] = number
        errors.extend(row_errors)
        contracts.append(contract)
    if errors:
        raise ImportRejected(errors)
    created = bulk_create(Contract, contracts, user=membership.user, reason=reason)
    # What other apps do for a new contract (performance: the periods an active
    # one owes), as for one created in the register's pages, in one call.
    contracts_saved(membership=membership, contracts=created, reason=reason)
    return created


def read_rows(path: Path) -> list[dict]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"cannot open {path}: {error.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [(name or "").strip() for name in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        unknown = [c for c in header if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        problems = []
        if missing:
            problems.append(f"row 1: missing columns: {', '.join(missing)}")
        if unknown:
            problems.append(
                f"row 1: unknown columns: {', '.join(unknown)} "
                f"(known: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})"
            )
        if problems:
            raise CommandError("\n".join(problems))
        reader.fieldnames = header
        rows = [row for row in reader if any((v or "").strip() for v in row.values())]
    if not rows:
        raise CommandError(f"{path} has a header row but no contracts")
    return rows


class Command(BaseCommand):
    help = "Register contracts from a CSV file; all rows or none, each with history."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file with a header row")
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument(
            "--actor", required=True, help="email of the admin or commissioner doing this"
        )
        parser.add_argument("--reason", required=True, help="why: kept in every row's history")
        parser.add_argument("--dry-run", action="store_true", help="validate only; write nothing")

    def handle(self, *args, file: Path, tenant: str, actor: str, reason: str, **options):
        reason = reason.strip()
        if not reason:
            raise CommandError("--reason must say why these contracts are registered")
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"no tenant with the slug {tenant!r}")
        membership = (
            Membership.objects.select_related("tenant", "user", "provider")
            .filter(
                Q(user__email__iexact=actor.strip()),
                tenant=tenant_obj,
                is_active=True,
                user__is_active=True,
            )
            .first()
        )
        if membership is None:
            raise CommandError(f"{actor} is not an active member of {tenant_obj.name}")
        rows = read_rows(file)
        try:
            with transaction.atomic():
                created = contracts_import(membership=membership, rows=rows, reason=reason)
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except ImportRejected as rejected:
            count = len({e.row for e in rejected.errors})
            raise CommandError(
                f"Nothing was imported: {count} row(s) of {len(rows)} have problems.\n"
                + str(rejected)
            ) from None
        verb = "Checked" if options["dry_run"] else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(created)} contract(s) into {tenant_obj.name} "
                f"as {membership.user.email} (reason: {reason})."
            )
        )
