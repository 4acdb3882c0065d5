"""Integration (CI): a real Celery worker, on the real Redis and the same
PostgreSQL test database, computes a contract's signals after the web process
accepts a return. Skips without REDIS_URL and a PostgreSQL DATABASE_URL, and
fails instead when OVERSIGHT_REQUIRE_SERVICES=1 (as in .ci/run)."""

import os
import signal
import time
import uuid
from datetime import UTC, datetime
from datetime import time as clock
from decimal import Decimal

import pytest
from django.urls import reverse

from oversight.celery import app as celery_app
from oversight.models import Role
from performance.models import Return, ReturnStatus, ReturnValue, Signal
from performance.tasks import contract_returns_accepted
from tests.factories import MembershipFactory, UserFactory

# The worker machinery (a real `celery worker` subprocess on the test database).
from tests.oversight.test_celery_worker import (  # noqa: F401  (fixtures)
    _tasks_eager,
    celery_worker_process,
    services_or_skip,
)
from tests.performance.test_signal_engine import STABLE, build

WAIT = 90  # seconds for the worker to start and compute


@pytest.fixture
def worker_queue(monkeypatch):
    queue = f"oversight-test-{uuid.uuid4().hex[:12]}"
    task = celery_app.tasks[contract_returns_accepted.name]
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None)
    with _tasks_eager(False):
        yield queue
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_computes_signals_after_a_return_is_accepted(
    celery_worker_process,  # noqa: F811  (the fixture imported above)
    client,
):
    tenant, contract, ck, manager, periods = build(STABLE[:-1])
    last = periods[len(STABLE) - 1]
    sender = MembershipFactory(
        tenant=tenant, role=Role.PROVIDER, provider=contract.provider, user=UserFactory()
    ).user  # the provider sends it; the commissioner, who did not, accepts it
    ret = Return.objects.create(
        tenant=tenant,
        contract=contract,
        period=last,
        status=ReturnStatus.SUBMITTED,
        source="api",
        created_by=sender,
        submitted_by=sender,
        submitted_at=datetime.combine(last.due_date, clock(9), tzinfo=UTC),
    )
    ReturnValue.objects.create(tenant=tenant, return_obj=ret, contract_kpi=ck, value=Decimal(20))

    # The web process: the commissioner accepts the return through the API.
    client.force_login(manager)
    response = client.post(
        reverse("api-return-accept", kwargs={"tenant_slug": tenant.slug, "return_pk": ret.pk}),
        {"comment": "Checked against the case records"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content[:500]

    deadline = time.monotonic() + WAIT
    process = celery_worker_process["process"]
    while time.monotonic() < deadline:
        # The task commits its signals, then the worker logs that it succeeded.
        if (
            Signal.objects.filter(contract=contract, kind="spc_concern").exists()
            and "succeeded" in celery_worker_process["log"].read_text()
        ):
            break
        if process.poll() is not None:
            pytest.fail("worker exited early:\n" + celery_worker_process["log"].read_text())
        time.sleep(0.3)
    else:
        pytest.fail(
            "no signal computed by the worker:\n" + celery_worker_process["log"].read_text()
        )

    log = celery_worker_process["log"].read_text()
    assert "performance.tasks.contract_returns_accepted" in log
    assert "succeeded" in log
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log
