"""Celery tasks of review meetings: ids in, the service does the work."""

from __future__ import annotations

from datetime import date

from celery import shared_task

RETRYING = dict(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)


@shared_task(**RETRYING)
def generate_review_meetings(tenant_id: int | None = None, today: str | None = None) -> int:
    """Nightly: fill the cadence's slots of the months ahead for every tenant
    (idempotent: a filled slot is never filled again)."""
    from oversight.models import Tenant

    from .services import meetings_generate

    tenants = Tenant.objects.order_by("pk")
    if tenant_id is not None:
        tenants = tenants.filter(pk=tenant_id)
    created = 0
    for tenant in tenants:
        day = date.fromisoformat(today) if today else None
        created += len(meetings_generate(tenant=tenant, today=day))
    return created
