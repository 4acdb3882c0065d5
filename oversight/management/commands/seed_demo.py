"""Build the demo tenants: ``python manage.py seed_demo [--reset] [--today YYYY-MM-DD]``.

The command holds no demo data. It runs the demo parts registered in
oversight/registry.py, in their order, once for each demo tenant, handing each
the same ``SeedContext``: the core's own (oversight/demo.py: the tenant, its
people, their memberships), the contract register's (contracts/demo.py:
service types, providers, contracts, sites, milestones) and each feature app's,
registered in its ``AppConfig.ready()`` (performance: KPIs, returns and
signals). Each part reads its data from YAML files beside it
(``<app>/demo/*.yaml``, checked by oversight/demo_files.py), so a feature adds
its part, and its data, without touching this module.

- **Deterministic.** Every name, identifier, value and date is in the data files.
  Dates are offsets in days from "demo today" (the clock's ``today()`` unless
  ``--today`` is given), so "ending within 90/180 days" always shows contracts.
  Parts that generate series draw from seeded random streams (``ctx.rng``, a
  ``random.Random`` seeded with ``DEMO_SEED`` and the tenant's slug, or their
  own seeded from the same number).
- **Idempotent.** If the demo tenants exist, the command leaves them alone and
  prints the logins; ``--reset`` deletes them (every tenant-owned row, with
  history) and builds them again. Demo users are kept and reused (their history
  attribution elsewhere must not be lost), their names and passwords restored.
- **Through history.** Every row is written with ``save_with_history`` or
  ``bulk_create`` (oversight/history.py) with the reason ``REASON``; deletions
  on reset use ``delete_with_history``. The writes are attributed to
  ``--actor EMAIL`` if given, otherwise recorded as the system.
- **Bad data writes nothing.** A data file that is missing, misspelled or
  inconsistent stops the command with a message naming the file and the key
  (``DemoFileError``); the build is one transaction, so nothing is left behind.
- **Quiet.** It prints what it built and the logins. Email sent while seeding
  (notices of the demo's past: queried returns, new signals) goes to memory and
  is only counted; the engine's and notifications' INFO logs show with ``-v 2``.
- **Demo-only passwords.** Every demo account signs in with ``DEMO_PASSWORD``.
  Because that password is published, the command refuses to run with DEBUG
  off unless ``--allow-without-debug`` is passed (the test-suite does).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.test.utils import override_settings
from simple_history.models import HistoricalChanges

from oversight import clock, registry
from oversight.demo import TenantSpec, demo_tenants
from oversight.demo_files import DemoFileError
from oversight.history import bulk_create, delete_with_history, save_with_history
from oversight.models import Membership, Role, Tenant, User

REASON = "Demo data (seed_demo)"
RESET_REASON = "Demo data reset (seed_demo --reset)"
DEMO_SEED = 20260101
# While seeding, email goes to memory: the demo's past (queried returns, new
# signals) would otherwise print hundreds of lines of console email.
SEED_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Their INFO lines (one per recompute, one per email) are shown with -v 2.
CHATTY_LOGGERS = ("performance.signal_engine", "oversight.notifications")
# Demo only: published in the README and printed by the command. Never reuse.
DEMO_PASSWORD = "oversight-demo"


# --------------------------------------------------------------------------
# The context the registered parts share while one tenant is built.
# --------------------------------------------------------------------------


@dataclass
class SeedContext:
    """What the parts share while one tenant is built: each may use what the
    earlier ones put here."""

    spec: TenantSpec
    today: date
    actor: User | None
    rng: random.Random
    password_hash: str
    tenant: Tenant | None = None
    users: dict[str, User] = field(default_factory=dict)  # by email
    # Users saved earlier in this run (a person in several tenants is saved once).
    run_users: dict[str, User] = field(default_factory=dict)
    memberships: dict[str, Membership] = field(default_factory=dict)  # by email
    # Filled by the register's part (contracts/demo.py); a membership names its
    # provider, and feature parts find the tenant's contracts here.
    providers: dict[str, Any] = field(default_factory=dict)  # by key
    service_types: dict[str, Any] = field(default_factory=dict)  # by code
    contracts: dict[str, Any] = field(default_factory=dict)  # by reference

    def day(self, offset: int | None) -> date | None:
        return None if offset is None else self.today + timedelta(days=offset)

    def save(self, obj: models.Model) -> models.Model:
        _validate(obj)
        save_with_history(obj, user=self.actor, reason=REASON)
        return obj

    def bulk(self, model: type[models.Model], objs: Iterable[models.Model]) -> list:
        objs = list(objs)
        for obj in objs:
            _validate(obj)
        return bulk_create(model, objs, user=self.actor, reason=REASON)


def _validate(obj: models.Model) -> None:
    """The model's own validation, constraints included, so the demo obeys the
    same rules as data entered in the pages. Foreign keys are skipped: they point
    at rows this run has just saved, and checking each costs a query."""
    relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
    obj.full_clean(exclude=relations)


def build_tenant(
    spec: TenantSpec,
    *,
    today: date,
    actor: User | None,
    password_hash: str,
    run_users: dict[str, User],
) -> SeedContext:
    ctx = SeedContext(
        spec=spec,
        today=today,
        actor=actor,
        rng=random.Random(f"{DEMO_SEED}:{spec.slug}"),
        password_hash=password_hash,
        run_users=run_users,
    )
    for part in registry.demo_parts():
        part.run(ctx)
    return ctx


# --------------------------------------------------------------------------
# Reset: delete a demo tenant and everything it owns, leaving history.
# --------------------------------------------------------------------------


def _tenant_scoped_models() -> list[type[models.Model]]:
    """Every model with a ``tenant`` foreign key (history tables aside), so rows
    added by later features are deleted too without this list being edited."""
    found = []
    for model in apps.get_models():
        if issubclass(model, HistoricalChanges):
            continue
        try:
            tenant_field = model._meta.get_field("tenant")
        except FieldDoesNotExist:
            continue
        if tenant_field.is_relation and tenant_field.related_model is Tenant:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def _points_to(model: type[models.Model], target: type[models.Model]) -> bool:
    return any(
        f.is_relation and f.many_to_one and f.related_model is target
        for f in model._meta.concrete_fields
    )


def _deletion_order(candidates: list[type[models.Model]]) -> list[type[models.Model]]:
    """Referrers before what they refer to (foreign keys are PROTECT)."""
    remaining, order = list(candidates), []
    while remaining:
        ready = [
            m
            for m in remaining
            if not any(other is not m and _points_to(other, m) for other in remaining)
        ]
        if not ready:
            raise CommandError(f"Cannot order deletion of {remaining}: foreign-key cycle")
        order.extend(ready)
        remaining = [m for m in remaining if m not in ready]
    return order


def reset_tenant(tenant: Tenant, *, actor: User | None) -> int:
    deleted = 0
    for model in _deletion_order(_tenant_scoped_models()):
        for obj in model._default_manager.filter(tenant=tenant).order_by("-pk"):
            delete_with_history(obj, user=actor, reason=RESET_REASON)
            deleted += 1
    delete_with_history(tenant, user=actor, reason=RESET_REASON)
    return deleted + 1


# --------------------------------------------------------------------------
# The command.
# --------------------------------------------------------------------------


@contextmanager
def _quiet(names: Iterable[str], *, unless: bool) -> Iterator[None]:
    """Raise the given loggers to WARNING for the block (warnings still show)."""
    loggers = [] if unless else [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Build the demo tenants (a US county and an NHS ICB) with a user for every role, "
        "providers, contracts, sites and milestones. Idempotent; --reset rebuilds. "
        f"Every demo account's password is {DEMO_PASSWORD!r} (demo only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo tenants (with history) and build them again.",
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="Anchor the demo's dates to this day (YYYY-MM-DD) instead of today.",
        )
        parser.add_argument(
            "--actor",
            default="",
            help="Email of an existing user to record as the author of the demo writes "
            "(default: recorded as the system).",
        )
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even with DEBUG off. The demo passwords are public: never on production.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "seed_demo creates accounts with a published password, so it runs only with "
                "DEBUG on. Pass --allow-without-debug if this really is not production."
            )
        actor = None
        if options["actor"]:
            actor = User.objects.filter(email__iexact=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No user with the email {options['actor']!r}")
        today = options["today"] or clock.today()
        try:
            tenants = demo_tenants()
        except DemoFileError as exc:
            raise CommandError(f"Demo data: {exc}") from exc
        # Email sent while seeding (on commit, so still inside these blocks) goes
        # to memory, and is counted instead of printed.
        with (
            override_settings(EMAIL_BACKEND=SEED_EMAIL_BACKEND),
            _quiet(CHATTY_LOGGERS, unless=options["verbosity"] >= 2),
        ):
            held = len(getattr(mail, "outbox", []))
            try:
                built = self.build(options, today=today, tenants=tenants, actor=actor)
            except DemoFileError as exc:  # raised inside the transaction: nothing written
                raise CommandError(f"Demo data: {exc}") from exc
            held = len(getattr(mail, "outbox", [])) - held
        if built and held:
            self.stdout.write(
                f"{held} notification emails to demo users (queried returns, new signals) "
                "were not sent: the demo's past is not mailed."
            )
        self.print_logins(tenants)

    def build(
        self, options, *, today: date, tenants: tuple[TenantSpec, ...], actor: User | None
    ) -> bool:
        """Build the demo tenants (resetting them if asked); False if they were
        there already and left alone."""
        with transaction.atomic():
            existing = list(Tenant.objects.filter(slug__in=[spec.slug for spec in tenants]))
            if existing and not options["reset"]:
                self.stdout.write(
                    "The demo tenants are already there; leaving them as they are "
                    "(run with --reset to rebuild them)."
                )
                return False
            for tenant in existing:
                count = reset_tenant(tenant, actor=actor)
                self.stdout.write(f"Deleted demo tenant {tenant.slug} ({count} rows).")
            password_hash = make_password(DEMO_PASSWORD)
            run_users: dict[str, User] = {}
            for spec in tenants:
                ctx = build_tenant(
                    spec,
                    today=today,
                    actor=actor,
                    password_hash=password_hash,
                    run_users=run_users,
                )
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Built {spec.name} (/t/{spec.slug}/): {len(ctx.users)} users, "
                        f"{len(ctx.providers)} providers, {len(ctx.contracts)} contracts."
                    )
                )
        return True

    def print_logins(self, tenants: tuple[TenantSpec, ...]) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (DEMO ONLY; every password is {DEMO_PASSWORD!r}):")
        for spec in tenants:
            self.stdout.write("")
            self.stdout.write(f"  {spec.name}  /t/{spec.slug}/")
            for user in spec.users:
                role = Role(user.role).label
                self.stdout.write(
                    f"    {role:<12} {user.email:<44} {DEMO_PASSWORD}  {user.full_name}: "
                    f"{user.title}"
                )
        self.stdout.write("")
