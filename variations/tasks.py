"""Celery tasks of variations: ids in, services do the work."""

from celery import shared_task

from . import services


@shared_task(name="variations.tasks.apply_due", acks_late=True)
def apply_due(tenant_id: int | None = None) -> dict[str, int]:
    """Apply every approved variation whose effective date has come (beat runs
    it daily just after midnight; a retry or a second run applies nothing twice:
    an applied variation is effective, and the service skips it)."""
    return services.variations_apply_due(tenant_id=tenant_id)
