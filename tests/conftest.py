"""Shared fixtures: two tenants with the same shape, and helpers to sign in.

``world`` builds, for tenant A ("alder") and tenant B ("beech"), two providers
each with a contract, a delivery site and a milestone, and a member for every
role (the provider member works for P1; a second provider member works for P2).
Every piece of text that identifies a tenant or a provider carries a marker, so
a leak is detectable by searching a response for the marker:

- anything of tenant A contains ``QQTENANTA`` or a provider marker below;
- A's provider P1 rows contain ``QQPROVONE``, P2's rows ``QQPROVTWO``;
- anything of tenant B contains ``ZZOTHERTENANT``.

Tests of access try the outsider cheaply: ``world.b.members["admin"]`` has
memberships only in tenant B; ``world.a.members["provider"]`` works for P1 and
must never see P2.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from oversight import clock
from oversight.models import Membership, Tenant
from tests.dates import seeded_day
from tests.factories import (
    P1_MARK,
    P2_MARK,
    TENANT_A_MARK,
    TENANT_B_MARK,
    TenantFactory,
    World,
    build_tenant_world,
)


@pytest.fixture(autouse=True)
def pinned_day(request):
    """Every test runs with the clock held on a known day (``DEFAULT_DAY``, each of
    the days a test names with ``tests.dates.pin_days``, or the day its module's
    ``seeded`` demo was built for), so no answer depends on the day the suite runs."""
    day = getattr(request, "param", None) or seeded_day(request)
    with clock.pinned(day):
        yield day


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(name=f"Alder County Human Services {TENANT_A_MARK}", slug="alder")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return TenantFactory(name=f"Beech Valley ICB {TENANT_B_MARK}", slug="beech")


@pytest.fixture
def world(tenant, other_tenant) -> World:
    a = build_tenant_world(tenant, mark=TENANT_A_MARK, p1_mark=P1_MARK, p2_mark=P2_MARK)
    b = build_tenant_world(
        other_tenant,
        mark=TENANT_B_MARK,
        p1_mark=f"{TENANT_B_MARK}ONE",
        p2_mark=f"{TENANT_B_MARK}TWO",
    )
    return World(a=a, b=b)


def _user_of(who):
    return who.user if isinstance(who, Membership) else who


@pytest.fixture
def login(client):
    """``login(membership_or_user)``: sign the default ``client`` in and return it."""

    def _login(who):
        client.force_login(_user_of(who))
        return client

    return _login


@pytest.fixture
def client_for(db):
    """``client_for(membership_or_user)``: a new signed-in page client (several per test)."""

    def _client_for(who) -> Client:
        c = Client()
        c.force_login(_user_of(who))
        return c

    return _client_for


@pytest.fixture
def api_client_for(db):
    """``api_client_for(membership_or_user)``: a DRF client with a session sign-in."""

    def _api_client_for(who) -> APIClient:
        c = APIClient()
        c.force_login(_user_of(who))
        return c

    return _api_client_for


@pytest.fixture
def as_role(world, client_for):
    """``as_role("commissioner")`` → a page client signed in as that member of
    tenant A; ``as_role("admin", tenant="b")`` for tenant B."""

    def _as_role(role: str, tenant: str = "a") -> Client:
        return client_for(getattr(world, tenant).members[role])

    return _as_role


@pytest.fixture(autouse=True)
def _celery_in_process():
    """Tasks run in-process in tests even when REDIS_URL is set (as in CI), so a
    test sees the effect of the work it triggers. The worker integration tests
    switch this off for themselves to send tasks to a real worker."""
    from oversight.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
