"""The contract register's CSV import: every row checked first, then all
written with history, or none.

Columns (header row required, any order): reference, title, provider (name),
service_type (code or name), status, start_date, end_date (YYYY-MM-DD),
annual_value, total_value, payment_model, payment_at_risk_pct,
contract_manager_email, scope; optionally population_coverage, intensity,
extension_options, latest_end_date, currency, service_owner_email,
executive_sponsor_email, reporting_frequency, protected_core_components
(items separated by ";").

``contract_rows_read`` reads the file's rows; ``contracts_import`` validates
every row with the same rules as the register's pages
(``contracts.services.validate_in_tenant``) and writes them all in one
transaction with django-simple-history's bulk helper, so each contract's
history names the actor and the reason. Problems are ``oversight.errors.Problem``
("row 4, end_date: The end date is before the start date."; rows are numbered
as in a spreadsheet, the header being row 1), raised together as
``ImportRejected``; an actor who is not an admin or commissioner of the tenant
is refused with ``PermissionDenied``. The management command
``contracts_import`` is one caller.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction

from oversight.errors import ImportRejected, Problem
from oversight.history import bulk_create
from oversight.models import Membership, User
from oversight.permissions import can

from . import selectors
from .models import Contract, ContractStatus, Frequency, PaymentModel
from .services import contracts_saved, validate_in_tenant

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
) -> tuple[Contract, list[Problem]]:
    where = f"row {number}"
    errors: list[Problem] = []
    values: dict = {}

    def field(column: str, parse, target: str | None = None, *, optional: bool = False):
        text = (raw.get(column) or "").strip()
        if not text:
            if not optional:
                errors.append(Problem(where, column, "This field is required."))
            return
        try:
            values[target or column] = parse(text)
        except ValueError as error:
            errors.append(Problem(where, column, str(error)))

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
        validate_in_tenant(membership, contract)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            column = "" if name == NON_FIELD_ERRORS else COLUMN_OF.get(name, name)
            for message in messages:
                errors.append(Problem(where, column, message))
    return contract, errors


def contract_rows_read(lines: Iterable[str], *, name: str) -> list[dict]:
    """The rows of a register CSV (an open text file, or any lines), each a
    dict by column, blank rows left out. Raises ``ImportRejected`` when the
    header names a column missing or unknown, or no row follows it."""
    reader = csv.DictReader(lines)
    header = [(column or "").strip() for column in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    problems = []
    if missing:
        problems.append(Problem("row 1", "", f"missing columns: {', '.join(missing)}"))
    if unknown:
        problems.append(
            Problem(
                "row 1",
                "",
                f"unknown columns: {', '.join(unknown)} "
                f"(known: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})",
            )
        )
    if problems:
        raise ImportRejected(problems)
    reader.fieldnames = header
    rows = [row for row in reader if any((v or "").strip() for v in row.values())]
    if not rows:
        # The message names the file: it is about the whole of it.
        raise ImportRejected([Problem("", "", f"{name} has a header row but no contracts")])
    return rows


@transaction.atomic
def contracts_import(
    *, membership: Membership, rows: list[dict], first_row: int = 2, reason: str
) -> list[Contract]:
    """Validate every row, then write all of them with history, or none.
    Raises ``ImportRejected`` with every row's problems."""
    if not can(membership, ACTION):
        raise PermissionDenied(
            f"{membership.user.email} is a {membership.get_role_display().lower()} of "
            f"{membership.tenant.name}: only an admin or a commissioner may register contracts."
        )
    lookups = _Lookups(membership)
    contracts: list[Contract] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for offset, raw in enumerate(rows):
        number = first_row + offset
        contract, row_problems = _build(membership, lookups, number, raw)
        reference = contract.reference.lower()
        if reference in seen:
            row_problems.append(
                Problem(
                    f"row {number}",
                    "reference",
                    f"{contract.reference!r} is also in row {seen[reference]}",
                )
            )
        elif reference:
            seen[reference] = number
        problems.extend(row_problems)
        contracts.append(contract)
    if problems:
        raise ImportRejected(problems)
    created = bulk_create(Contract, contracts, user=membership.user, reason=reason)
    # What other apps do for a new contract (performance: the periods an active
    # one owes), as for one created in the register's pages, in one call.
    contracts_saved(membership=membership, contracts=created, reason=reason)
    return created
