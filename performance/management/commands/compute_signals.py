"""Recompute signals and risk scores by hand: the same code the nightly task runs."""

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Contract
from oversight.models import Tenant, User
from performance.signal_engine import recompute_signals


class Command(BaseCommand):
    help = "Recompute signals and risk scores (all tenants, one tenant, or one contract)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug")
        parser.add_argument("--contract", help="contract reference (needs --tenant)")
        parser.add_argument(
            "--actor", help="email recorded in the history (default: the system, no user)"
        )

    def handle(self, *args, tenant=None, contract=None, actor=None, **options):
        tenant_obj = None
        if tenant:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant with slug {tenant!r}")
        contract_ids = None
        if contract:
            if tenant_obj is None:
                raise CommandError("--contract needs --tenant: references are unique per tenant")
            found = Contract.objects.filter(tenant=tenant_obj, reference=contract).first()
            if found is None:
                raise CommandError(f"No contract {contract!r} in {tenant_obj.slug}")
            contract_ids = [found.id]
        user = None
        if actor:
            user = User.objects.filter(email__iexact=actor).first()
            if user is None:
                raise CommandError(f"No user {actor!r}")
        result = recompute_signals(
            tenant_id=tenant_obj.id if tenant_obj else None, contract_ids=contract_ids, user=user
        )
        self.stdout.write(
            f"{result.contracts} contracts, {result.values} values: "
            f"{result.opened} signals opened, {result.updated} updated, {result.closed} closed; "
            f"{result.scores} risk scores stored"
        )
