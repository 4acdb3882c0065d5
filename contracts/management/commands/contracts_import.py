"""Register contracts in bulk from a CSV file.

    python manage.py contracts_import contracts.csv --tenant alder \\
        --actor manager@agency.gov --reason "Register migrated from the old system"

The columns and the rules are the register import's (contracts/imports.py):
every row is validated first, with the same rules as the register's pages
("row 4, end_date: The end date is before the start date."); if any row fails,
nothing is written. This command only reads its arguments, calls that service,
prints what it did, and turns the service's refusals into ``CommandError``.
The actor must be an admin or commissioner of the tenant.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from contracts.imports import contract_rows_read, contracts_import
from oversight.errors import ImportRejected
from oversight.models import Membership, Tenant


def _lines(rejected: ImportRejected) -> str:
    return "\n".join(str(problem) for problem in rejected.problems)


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
        try:
            handle = file.open(newline="", encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"cannot open {file}: {error.strerror}") from None
        try:
            with handle:
                rows = contract_rows_read(handle, name=str(file))
        except ImportRejected as rejected:
            raise CommandError(_lines(rejected)) from None
        try:
            with transaction.atomic():
                created = contracts_import(membership=membership, rows=rows, reason=reason)
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except PermissionDenied as refused:
            raise CommandError(str(refused)) from None
        except ImportRejected as rejected:
            count = len({problem.where for problem in rejected.problems})
            raise CommandError(
                f"Nothing was imported: {count} row(s) of {len(rows)} have problems.\n"
                + _lines(rejected)
            ) from None
        verb = "Checked" if options["dry_run"] else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(created)} contract(s) into {tenant_obj.name} "
                f"as {membership.user.email} (reason: {reason})."
            )
        )
