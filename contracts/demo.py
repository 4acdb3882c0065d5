"""The contract register's demo part: providers, service types, contracts, sites
and milestones for each demo tenant.

The data is ``contracts/demo/<tenant slug>.yaml``, one file a tenant (read and
checked by ``oversight/demo_files.py``). Every date is an offset in days from
the demo's "today" (``ctx.day``), so that "ending within 90/180 days" always
shows contracts whatever the seeding day. Rows are written through
``SeedContext.save``/``bulk`` (full validation, history with the demo's
reason), and contract owners obey the same role rules as the contract services
(``OWNER_ROLES``). The parts are registered by contracts/apps.py at the orders
they always had: 30, 40 (before the core's memberships, which name providers),
60, 70 and 80.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from oversight.demo_files import DemoFileError, choices, load

from .models import (
    Contract,
    ContractStatus,
    DeliverySite,
    Milestone,
    MilestoneStatus,
    PaymentModel,
    Provider,
    ServiceType,
)
from .services import OWNER_ROLES

DATA_DIR = Path(__file__).with_name("demo")


@dataclass(frozen=True)
class ProviderSpec:
    key: str  # how users and contracts in the data name it
    name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    address: str
    ein: str = ""
    uei: str = ""
    ods_code: str = ""


@dataclass(frozen=True)
class ServiceTypeSpec:
    code: str
    name: str
    description: str


@dataclass(frozen=True)
class SiteSpec:
    name: str
    area: str
    partner_organisation: str = ""
    address: str = ""
    opened: int | None = None  # days from demo today


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    due: int  # days from demo today
    status: str = field(default=MilestoneStatus.PENDING, metadata=choices(MilestoneStatus.values))
    completed: int | None = None  # days from demo today
    notes: str = ""


@dataclass(frozen=True)
class ContractSpec:
    reference: str
    title: str
    provider: str  # provider key
    service_type: str  # service type code
    scope: str
    population_coverage: str
    intensity: str
    start: int  # days from demo today
    end: int
    annual_value: str
    total_value: str
    payment_model: str = field(metadata=choices(PaymentModel.values))
    contract_manager: str  # user email
    service_owner: str
    executive_sponsor: str
    protected_core_components: tuple[str, ...]
    sites: tuple[SiteSpec, ...]
    milestones: tuple[MilestoneSpec, ...]
    payment_at_risk_pct: str = "0"
    extension_options: str = ""
    latest_end: int | None = None
    status: str = field(default=ContractStatus.ACTIVE, metadata=choices(ContractStatus.values))


@dataclass(frozen=True)
class RegisterFile:
    providers: tuple[ProviderSpec, ...]
    service_types: tuple[ServiceTypeSpec, ...]
    contracts: tuple[ContractSpec, ...]

    def problems(self):
        for name, key in (
            ("providers", "key"),
            ("service_types", "code"),
            ("contracts", "reference"),
        ):
            names = [getattr(row, key) for row in getattr(self, name)]
            for i, value in enumerate(names):
                if names.index(value) != i:
                    yield f"{name}[{i}]", f"the {key} {value!r} is used twice"
        providers = {p.key for p in self.providers}
        service_types = {s.code for s in self.service_types}
        for i, contract in enumerate(self.contracts):
            where = f"contracts[{i}] ({contract.reference})"
            if contract.provider not in providers:
                yield f"{where}.provider", f"no provider with the key {contract.provider!r} here"
            if contract.service_type not in service_types:
                yield (
                    f"{where}.service_type",
                    f"no service type with the code {contract.service_type!r} here",
                )
            for number in ("annual_value", "total_value", "payment_at_risk_pct"):
                try:
                    Decimal(getattr(contract, number))
                except ArithmeticError:
                    yield f"{where}.{number}", "not a number"


def register_path(slug: str) -> Path:
    return DATA_DIR / f"{slug}.yaml"


@functools.cache
def register(slug: str) -> RegisterFile:
    """The demo register of the tenant with this slug."""
    return load(register_path(slug), RegisterFile)


def seed_service_types(ctx) -> None:
    rows = [
        ServiceType(tenant=ctx.tenant, code=s.code, name=s.name, description=s.description)
        for s in register(ctx.spec.slug).service_types
    ]
    for row in ctx.bulk(ServiceType, rows):
        ctx.service_types[row.code] = row


def seed_providers(ctx) -> None:
    for spec in register(ctx.spec.slug).providers:
        ctx.providers[spec.key] = ctx.save(
            Provider(
                tenant=ctx.tenant,
                name=spec.name,
                ein=spec.ein,
                uei=spec.uei,
                ods_code=spec.ods_code,
                contact_name=spec.contact_name,
                contact_email=spec.contact_email,
                contact_phone=spec.contact_phone,
                address=spec.address,
            )
        )


def _owner(ctx, contract: ContractSpec, name: str):
    """The demo data obeys the same owner rules as the contract services."""
    email = getattr(contract, name)
    membership = ctx.memberships.get(email)
    problem = ""
    if membership is None:
        problem = f"{email} is not a member of {ctx.spec.slug}"
    elif membership.role not in OWNER_ROLES[name]:
        problem = f"{email} ({membership.role}) cannot be the {name}"
    if problem:
        raise DemoFileError(register_path(ctx.spec.slug), f"{contract.reference}.{name}", problem)
    return membership.user


def seed_contracts(ctx) -> None:
    for spec in register(ctx.spec.slug).contracts:
        ctx.contracts[spec.reference] = ctx.save(
            Contract(
                tenant=ctx.tenant,
                reference=spec.reference,
                title=spec.title,
                provider=ctx.providers[spec.provider],
                service_type=ctx.service_types[spec.service_type],
                status=spec.status,
                scope=spec.scope,
                population_coverage=spec.population_coverage,
                intensity=spec.intensity,
                start_date=ctx.day(spec.start),
                end_date=ctx.day(spec.end),
                extension_options=spec.extension_options,
                latest_end_date=ctx.day(spec.latest_end),
                annual_value=Decimal(spec.annual_value),
                total_value=Decimal(spec.total_value),
                currency=ctx.spec.currency,
                payment_model=spec.payment_model,
                payment_at_risk_pct=Decimal(spec.payment_at_risk_pct),
                contract_manager=_owner(ctx, spec, "contract_manager"),
                service_owner=_owner(ctx, spec, "service_owner"),
                executive_sponsor=_owner(ctx, spec, "executive_sponsor"),
                protected_core_components=list(spec.protected_core_components),
            )
        )


def seed_sites(ctx) -> None:
    ctx.bulk(
        DeliverySite,
        (
            DeliverySite(
                tenant=ctx.tenant,
                contract=ctx.contracts[contract.reference],
                name=site.name,
                area=site.area,
                partner_organisation=site.partner_organisation,
                address=site.address,
                opened_on=ctx.day(site.opened),
            )
            for contract in register(ctx.spec.slug).contracts
            for site in contract.sites
        ),
    )


def seed_milestones(ctx) -> None:
    ctx.bulk(
        Milestone,
        (
            Milestone(
                tenant=ctx.tenant,
                contract=ctx.contracts[contract.reference],
                title=milestone.title,
                due_date=ctx.day(milestone.due),
                status=milestone.status,
                completed_on=ctx.day(milestone.completed),
                notes=milestone.notes,
            )
            for contract in register(ctx.spec.slug).contracts
            for milestone in contract.milestones
        ),
    )


# The register's parts, by order (contracts/apps.py registers them): the same
# places in the sequence as when the core built the register itself.
PARTS = (
    (30, seed_service_types),
    (40, seed_providers),
    (60, seed_contracts),
    (70, seed_sites),
    (80, seed_milestones),
)
