"""The welcome email is a Celery task: the web process queues it, a worker sends it.

The integration test runs a real ``celery -A oversight worker`` subprocess on the
real Redis and the same PostgreSQL test database as this process, adds a member
through the admin's page, and waits for the worker to write the set-password
email. The in-process tests check the task's own behaviour on any database.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from oversight.celery import app as celery_app
from oversight.models import Membership, Role
from oversight.tasks import send_welcome_email
from tests.factories import MembershipFactory, TenantFactory, UserFactory

REPO_ROOT = Path(settings.BASE_DIR)
SET_PASSWORD_LINK = re.compile(r"(https?)://([^/\s]+)(/accounts/set-password/[^/\s]+/[^/\s]+/)")
WORKER_TIMEOUT = 90  # seconds for the worker to start and send the email (CI may be busy)


@contextmanager
def _tasks_eager(eager: bool):
    """Run tasks in-process (True) or send them to the broker (False) for a while."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


def _services_required() -> bool:
    return os.environ.get("OVERSIGHT_REQUIRE_SERVICES", "") not in ("", "0")


def _missing_services() -> str | None:
    """Why the worker test cannot run here, or None when it can."""
    if not os.environ.get("REDIS_URL"):
        return "REDIS_URL is not set: the worker test needs a real Redis broker"
    db_url = os.environ.get("DATABASE_URL", "")
    if not db_url.startswith(("postgres://", "postgresql://")):
        return (
            "DATABASE_URL is not a PostgreSQL URL: the worker process must share the "
            "test database, which an in-memory or file SQLite test database cannot"
        )
    try:
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except Exception as error:  # any failure to reach Redis means "not available"
        return f"Redis at REDIS_URL is not reachable: {error}"
    return None


@pytest.fixture
def services_or_skip():
    reason = _missing_services()
    if reason is None:
        return
    if _services_required():
        pytest.fail(f"OVERSIGHT_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _test_database_url() -> str:
    """DATABASE_URL with its database swapped for the test database pytest-django made."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def worker_queue(monkeypatch):
    """A queue of this test's own, so that the worker consumes only what this test
    sends and a stale message from another run can never satisfy it."""
    queue = f"oversight-test-{uuid.uuid4().hex[:12]}"
    task = celery_app.tasks[send_welcome_email.name]
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None)  # Celery caches the routing options
    with _tasks_eager(False):
        yield queue
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.fixture
def celery_worker_process(services_or_skip, worker_queue, tmp_path):
    """A real worker process on the test database; stopped with a warm shutdown."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    log_path = tmp_path / "worker.log"
    # The project's settings, with email written to files the test can read.
    (tmp_path / "worker_settings.py").write_text(
        "from oversight.settings import *  # noqa: F403\n"
        'EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"\n'
        f"EMAIL_FILE_PATH = {str(outbox)!r}\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "worker_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
        "DATABASE_URL": _test_database_url(),
        "DB_CONN_MAX_AGE": "0",  # hold no connection that would block dropping the test DB
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "oversight",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel=INFO",
        "-Q",
        worker_queue,
        "-n",
        f"{worker_queue}@%h",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = {"process": process, "outbox": outbox, "log": log_path}
    try:
        yield worker
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task, then exit
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


TASK_SUCCEEDED = re.compile(r"Task oversight\.tasks\.send_welcome_email\[[^\]]+\] succeeded")


def _wait_for_email(worker) -> str:
    """Wait until the worker logs that the task succeeded (so the email file is
    complete), then return the email it wrote."""
    deadline = time.monotonic() + WORKER_TIMEOUT
    while time.monotonic() < deadline:
        if TASK_SUCCEEDED.search(worker["log"].read_text()):
            files = sorted(worker["outbox"].glob("*.log"))
            assert len(files) == 1, f"expected one email file, found {files}"
            return files[0].read_text()
        if worker["process"].poll() is not None:
            pytest.fail(
                f"the worker exited with {worker['process'].returncode} before sending:\n"
                + worker["log"].read_text()
            )
        time.sleep(0.2)
    pytest.fail(
        f"the worker did not send the email within {WORKER_TIMEOUT}s; worker log:\n"
        + worker["log"].read_text()
    )


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_process_sends_the_welcome_email_queued_by_the_web_process(
    celery_worker_process, client
):
    tenant = TenantFactory()
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    client.force_login(admin.user)

    response = client.post(
        reverse("member_create", kwargs={"tenant_slug": tenant.slug}),
        {
            "email": "new.officer@county.example.gov",
            "full_name": "New Officer",
            "role": Role.COMMISSIONER,
            "reason": "Joined the contracts team",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    new = Membership.objects.get(tenant=tenant, user__email="new.officer@county.example.gov")

    text = _wait_for_email(celery_worker_process)

    # Sent by the worker, not in this process.
    assert mail.outbox == []
    assert "To: new.officer@county.example.gov" in text
    assert "You have been given access to Oversight" in text
    link = SET_PASSWORD_LINK.search(text)
    assert link, text
    assert link.group(2) == "testserver"  # the host of the request that added the member

    # The link works: it opens the set-password form for that person.
    client.logout()
    page = client.get(link.group(3), follow=True)
    assert page.status_code == 200
    assert b"new_password1" in page.content
    assert page.context["validlink"] is True
    assert page.context["form"].user == new.user

    process = celery_worker_process["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, celery_worker_process["log"].read_text()


# The task itself, in-process (eager), on any database.


@pytest.mark.django_db
def test_welcome_email_carries_a_working_set_password_link(client):
    tenant = TenantFactory()
    user = UserFactory(email="newcomer@example.org", full_name="Nia Newcomer")
    user.set_unusable_password()
    user.save()
    membership = MembershipFactory(tenant=tenant, user=user)

    assert send_welcome_email(membership.id, domain="oversight.example.gov", use_https=True)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["newcomer@example.org"]
    assert "Nia Newcomer" in message.body
    link = SET_PASSWORD_LINK.search(message.body)
    assert link and link.group(1) == "https" and link.group(2) == "oversight.example.gov"
    page = client.get(link.group(3), follow=True)
    assert page.context["validlink"] is True


@pytest.mark.django_db
def test_welcome_email_is_not_sent_again_once_the_password_is_set():
    """Acks are late, so a task can run twice; the second run must not mail a
    person who has already chosen a password."""
    tenant = TenantFactory()
    membership = MembershipFactory(tenant=tenant)  # factory users have a password

    assert send_welcome_email(membership.id) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_welcome_email_is_not_sent_for_a_membership_that_is_gone_or_inactive():
    tenant = TenantFactory()
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    inactive = MembershipFactory(tenant=tenant, user=user, is_active=False)

    assert send_welcome_email(inactive.id) is False
    assert send_welcome_email(inactive.id + 1000) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_adding_a_member_queues_the_welcome_email_after_commit(
    client, django_capture_on_commit_callbacks
):
    tenant = TenantFactory()
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    client.force_login(admin.user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            reverse("member_create", kwargs={"tenant_slug": tenant.slug}),
            {
                "email": "later@example.org",
                "full_name": "Lee Later",
                "role": Role.AUDITOR,
                "reason": "Internal audit",
            },
        )
    assert mail.outbox == []  # nothing goes out before the transaction commits
    assert len(callbacks) == 1
    with _tasks_eager(True):
        callbacks[0]()
    assert [m.to for m in mail.outbox] == [["later@example.org"]]
