"""Thin Celery tasks: ids in, re-read, call a service."""

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def contract_returns_accepted(contract_id: int) -> None:
    """A return was accepted: refresh the contract's expected ranges (and,
    once the signals engine exists, its signals)."""
    from .services import contract_expected_ranges_refresh

    contract_expected_ranges_refresh(contract_ids=[contract_id])
