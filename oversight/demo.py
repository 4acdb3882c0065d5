"""The core's demo part: the demo tenants, their people and their memberships.

The data is ``oversight/demo/tenants.yaml`` (read and checked by
``oversight/demo_files.py``); the functions below turn it into rows, through
``SeedContext.save`` (full validation, history with the demo's reason). They
are registered as demo parts by oversight/apps.py at orders 10, 20 and 50:
the contract register's parts (``contracts/demo.py``) fill in 30-40 and 60-80,
and a membership names its provider from ``ctx.providers``, which the
register's part at order 40 has filled.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from .demo_files import DemoFileError, choices, load
from .models import Membership, Role, Tenant, User
from .workdays import calendar_problems

DATA_DIR = Path(__file__).with_name("demo")
TENANTS_FILE = "tenants.yaml"


@dataclass(frozen=True)
class UserSpec:
    email: str
    full_name: str
    role: str = field(metadata=choices(Role.values))
    title: str  # job title, printed in the logins table
    provider: str = ""  # provider key (the register's data), for the provider role


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    currency: str
    time_zone: str
    users: tuple[UserSpec, ...]
    # Whose public holidays working-day deadlines skip (oversight/workdays.py).
    holiday_country: str = ""
    holiday_subdivision: str = ""


@dataclass(frozen=True)
class TenantsFile:
    tenants: tuple[TenantSpec, ...]

    def problems(self):
        seen: dict[str, UserSpec] = {}
        for i, tenant in enumerate(self.tenants):
            if [t.slug for t in self.tenants].count(tenant.slug) > 1:
                yield f"tenants[{i}]", f"the slug {tenant.slug!r} is used twice"
            for j, user in enumerate(tenant.users):
                where = f"tenants[{i}] ({tenant.slug}).users[{j}] ({user.email})"
                if (user.role == Role.PROVIDER) != bool(user.provider):
                    yield where, "a provider user names a provider, and only a provider user"
                first = seen.setdefault(user.email, user)
                if (first.full_name, first.title) != (user.full_name, user.title):
                    yield where, "the same person has another name or title in an earlier tenant"
            for key, message in calendar_problems(
                tenant.holiday_country, tenant.holiday_subdivision
            ).items():
                yield f"tenants[{i}] ({tenant.slug}).{key}", message


@functools.cache
def demo_tenants() -> tuple[TenantSpec, ...]:
    """The demo tenants, in the order they are built."""
    return load(DATA_DIR / TENANTS_FILE, TenantsFile).tenants


def seed_tenant(ctx) -> None:
    spec = ctx.spec
    ctx.tenant = ctx.save(
        Tenant(
            name=spec.name,
            slug=spec.slug,
            currency=spec.currency,
            time_zone=spec.time_zone,
            holiday_country=spec.holiday_country,
            holiday_subdivision=spec.holiday_subdivision,
        )
    )


def seed_users(ctx) -> None:
    """Create the tenant's people, or restore a demo user kept from an earlier run."""
    for spec in ctx.spec.users:
        if spec.email in ctx.run_users:
            ctx.users[spec.email] = ctx.run_users[spec.email]
            continue
        user = User.objects.filter(email=spec.email).first() or User(email=spec.email)
        user.full_name = spec.full_name
        user.password = ctx.password_hash
        user.is_active = True
        ctx.users[spec.email] = ctx.run_users[spec.email] = ctx.save(user)


def seed_memberships(ctx) -> None:
    for spec in ctx.spec.users:
        provider = None
        if spec.provider:
            provider = ctx.providers.get(spec.provider)
            if provider is None:
                raise DemoFileError(
                    DATA_DIR / TENANTS_FILE,
                    f"{ctx.spec.slug}: {spec.email}",
                    f"names the provider {spec.provider!r}, which no demo part has built "
                    f"(built: {', '.join(sorted(ctx.providers)) or 'none'})",
                )
        ctx.memberships[spec.email] = ctx.save(
            Membership(
                user=ctx.users[spec.email], tenant=ctx.tenant, role=spec.role, provider=provider
            )
        )


# The core's parts, by order (oversight/apps.py registers them).
PARTS = ((10, seed_tenant), (20, seed_users), (50, seed_memberships))
