"""Thin Celery tasks: ids in, re-read, call a service. Their schedule is
registered in apps.py (``registry.periodic_task``)."""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task

from oversight.clock import tenant_today

logger = logging.getLogger(__name__)

SYNC_BATCH = 500


def _tenants(tenant_id: int | None):
    from oversight.models import Tenant

    tenants = Tenant.objects.order_by("pk")
    return tenants.filter(pk=tenant_id) if tenant_id is not None else tenants


# Signal work is idempotent (one transaction, reconciled against the live
# signals under row locks), so a task killed halfway is simply run again:
# acks_late + reject_on_worker_lost (settings) redeliver it, and retries back off.
RETRYING = dict(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)


@shared_task(**RETRYING)
def contract_returns_accepted(contract_id: int) -> None:
    """A return was accepted: refresh the contract's expected ranges, then its
    signals and risk score."""
    from .services import contract_expected_ranges_refresh
    from .signal_engine import recompute_signals

    contract_expected_ranges_refresh(contract_ids=[contract_id])
    recompute_signals(contract_ids=[contract_id])


@shared_task(**RETRYING)
def recompute_portfolio_signals(tenant_id: int | None = None) -> dict:
    """Nightly: every monitored contract's signals and risk score, tenant by
    tenant (each tenant in one transaction, on its own calendar day)."""
    from .signal_engine import recompute_signals

    totals = {"contracts": 0, "opened": 0, "closed": 0}
    for tenant in _tenants(tenant_id):
        result = recompute_signals(tenant_id=tenant.id, today=tenant_today(tenant))
        totals["contracts"] += result.contracts
        totals["opened"] += result.opened
        totals["closed"] += result.closed
    logger.info("portfolio signals recomputed: %s", totals)
    return totals


@shared_task(acks_late=True)
def send_return_reminders(tenant_id: int | None = None, today: str | None = None) -> dict:
    """Daily: remind providers of returns falling due and tell them of late
    ones, tenant by tenant. Safe to run twice: each is sent once per period."""
    from .services import return_reminders_send

    totals = {"reminders": 0, "late": 0}
    for tenant in _tenants(tenant_id):
        day = date.fromisoformat(today) if today else tenant_today(tenant)
        sent = return_reminders_send(tenant=tenant, today=day)
        for key, count in sent.items():
            totals[key] += count
    logger.info("return reminders sent: %s", totals)
    return totals


@shared_task(acks_late=True)
def sync_reporting_calendars(tenant_id: int | None = None, today: str | None = None) -> int:
    """Nightly: create the reporting periods every active contract now owes
    (monthly, or weekly under enhanced monitoring), in bulk."""
    from contracts.models import Contract, ContractStatus

    from .services import reporting_calendar_sync

    created = 0
    for tenant in _tenants(tenant_id):
        day = date.fromisoformat(today) if today else tenant_today(tenant)
        contracts = list(
            Contract.objects.filter(tenant=tenant, status=ContractStatus.ACTIVE).order_by("pk")
        )
        for start in range(0, len(contracts), SYNC_BATCH):
            created += reporting_calendar_sync(
                contracts=contracts[start : start + SYNC_BATCH],
                today=day,
                reason="Reporting calendar (nightly)",
            )
    logger.info("reporting periods created: %s", created)
    return created
