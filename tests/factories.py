"""factory_boy factories for the core and the contract register.

Tenant-owned factories REQUIRE ``tenant=``: a test that forgets it fails at
once with a message, instead of silently creating a second tenant (which would
hide exactly the cross-tenant mistakes the suite exists to catch). Child rows
(contract → provider, site → contract…) are created in the same tenant.

Factories write rows directly and bypass the services (fast set-up); tests of
behaviour go through pages, the API or the services.
"""

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password

from contracts.models import (
    Contract,
    ContractStatus,
    DeliverySite,
    Milestone,
    MilestoneStatus,
    PaymentModel,
    Provider,
    ServiceType,
)
from oversight.models import Membership, Role, Tenant, User

PASSWORD = "correct-horse-battery-staple-42"


class TenantRequired(TypeError):
    pass


def _tenant_required(factory_name: str):
    def fail():
        raise TenantRequired(
            f"{factory_name} needs tenant=: pass the tenant the row belongs to, e.g. "
            f"{factory_name}(tenant=tenant). Tenant-owned rows are never given a "
            "tenant implicitly."
        )

    return factory.LazyFunction(fail)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Test Commissioning Agency {n}")
    slug = factory.Sequence(lambda n: f"agency-{n}")
    currency = "USD"
    time_zone = "America/Chicago"


@functools.cache
def _password_hash() -> str:
    # Hash once: the real hasher is deliberately slow and tests create many users.
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    """Every user's password is ``PASSWORD``."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    password = factory.LazyFunction(_password_hash)


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    tenant = _tenant_required("A tenant-owned factory")


class ProviderFactory(TenantOwnedFactory):
    class Meta:
        model = Provider

    tenant = _tenant_required("ProviderFactory")
    name = factory.Sequence(lambda n: f"Provider Organisation {n}")
    ein = factory.Sequence(lambda n: f"12-{n:07d}")
    contact_name = factory.Sequence(lambda n: f"Provider Contact {n}")
    contact_email = factory.Sequence(lambda n: f"contact{n}@provider.example.org")


class ServiceTypeFactory(TenantOwnedFactory):
    class Meta:
        model = ServiceType

    tenant = _tenant_required("ServiceTypeFactory")
    code = factory.Sequence(lambda n: f"service-{n}")
    name = factory.Sequence(lambda n: f"Service Type {n}")
    description = "Support in the person's own home."


class MembershipFactory(factory.django.DjangoModelFactory):
    """``role=Role.PROVIDER`` without ``provider=`` creates a provider in the
    membership's tenant."""

    class Meta:
        model = Membership

    tenant = _tenant_required("MembershipFactory")
    user = factory.SubFactory(UserFactory)
    role = Role.COMMISSIONER
    provider = factory.LazyAttribute(
        lambda o: ProviderFactory(tenant=o.tenant) if o.role == Role.PROVIDER else None
    )
    is_active = True


def member_user(tenant: Tenant, role: str = Role.COMMISSIONER, **user_kwargs) -> User:
    """A user with a membership of ``role`` in ``tenant``."""
    return MembershipFactory(tenant=tenant, role=role, user=UserFactory(**user_kwargs)).user


class ContractFactory(TenantOwnedFactory):
    class Meta:
        model = Contract

    tenant = _tenant_required("ContractFactory")
    reference = factory.Sequence(lambda n: f"CT-{n:05d}")
    title = factory.Sequence(lambda n: f"Home and community-based support, lot {n}")
    provider = factory.SubFactory(ProviderFactory, tenant=factory.SelfAttribute("..tenant"))
    service_type = factory.SubFactory(ServiceTypeFactory, tenant=factory.SelfAttribute("..tenant"))
    status = ContractStatus.ACTIVE
    scope = "Personal care and support for daily living."
    start_date = dt.date(2025, 1, 1)
    end_date = dt.date(2027, 12, 31)
    annual_value = Decimal("250000.00")
    total_value = Decimal("750000.00")
    currency = factory.LazyAttribute(lambda o: o.tenant.currency)
    payment_model = PaymentModel.BLOCK
    payment_at_risk_pct = Decimal("0")
    # The contract manager must be a commissioner (or admin) of the same tenant.
    contract_manager = factory.LazyAttribute(lambda o: member_user(o.tenant, Role.COMMISSIONER))


class DeliverySiteFactory(TenantOwnedFactory):
    class Meta:
        model = DeliverySite

    tenant = _tenant_required("DeliverySiteFactory")
    contract = factory.SubFactory(ContractFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Delivery Site {n}")
    area = "Central County"


class MilestoneFactory(TenantOwnedFactory):
    class Meta:
        model = Milestone

    tenant = _tenant_required("MilestoneFactory")
    contract = factory.SubFactory(ContractFactory, tenant=factory.SelfAttribute("..tenant"))
    title = factory.Sequence(lambda n: f"Milestone {n}")
    due_date = dt.date(2025, 6, 30)
    status = MilestoneStatus.PENDING


# --- Two tenants of the same shape (the ``world`` fixture) -----------------------

ROLES = [Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.PROVIDER, Role.AUDITOR]

TENANT_A_MARK = "QQTENANTA"
P1_MARK = "QQPROVONE"
P2_MARK = "QQPROVTWO"
TENANT_B_MARK = "ZZOTHERTENANT"


@dataclass
class ProviderWorld:
    """One provider of a tenant and what hangs off it."""

    mark: str
    provider: object
    contract: object
    site: object
    milestone: object
    # the provider-role membership of someone who works for this provider
    member: Membership | None = None

    @property
    def texts(self) -> list[str]:
        """Strings that identify this provider's rows in a page or response."""
        return [
            self.mark,
            self.provider.name,
            self.contract.reference,
            self.contract.title,
            self.site.name,
            self.milestone.title,
        ]


@dataclass
class TenantWorld:
    tenant: Tenant
    mark: str
    service_type: object
    p1: ProviderWorld
    p2: ProviderWorld
    # role -> membership; "provider" works for P1, "provider_p2" for P2
    members: dict[str, Membership] = field(default_factory=dict)

    def user(self, role: str):
        return self.members[role].user

    @property
    def texts(self) -> list[str]:
        """Strings that identify this tenant's data anywhere."""
        return [self.mark, self.tenant.name, *self.p1.texts, *self.p2.texts]


@dataclass
class World:
    a: TenantWorld
    b: TenantWorld


def _provider_world(tenant, service_type, manager, mark: str, label: str) -> ProviderWorld:
    provider = ProviderFactory(
        tenant=tenant,
        name=f"{label} Care Collective {mark}",
        contact_name=f"Contact {mark}",
        contact_email=f"contact.{mark.lower()}@provider.example.org",
    )
    contract = ContractFactory(
        tenant=tenant,
        provider=provider,
        service_type=service_type,
        reference=f"{mark}-001",
        title=f"Personal care at home {mark}",
        contract_manager=manager,
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2027, 12, 31),
    )
    site = DeliverySiteFactory(
        tenant=tenant, contract=contract, name=f"{label} hub {mark}", area=f"{label} County"
    )
    milestone = MilestoneFactory(tenant=tenant, contract=contract, title=f"Go-live {mark}")
    return ProviderWorld(
        mark=mark, provider=provider, contract=contract, site=site, milestone=milestone
    )


def build_tenant_world(tenant: Tenant, *, mark: str, p1_mark: str, p2_mark: str) -> TenantWorld:
    def member(role, **kwargs):
        slug = f"{role}.{mark}".lower()
        user = UserFactory(email=f"{slug}@example.org", full_name=f"{role.title()} {mark}")
        return MembershipFactory(tenant=tenant, user=user, role=role, **kwargs)

    members = {
        Role.ADMIN: member(Role.ADMIN),
        Role.COMMISSIONER: member(Role.COMMISSIONER),
        Role.EXECUTIVE: member(Role.EXECUTIVE),
        Role.AUDITOR: member(Role.AUDITOR),
    }
    service_type = ServiceTypeFactory(
        tenant=tenant, code=f"home-care-{mark.lower()}", name=f"Home care {mark}"
    )
    manager = members[Role.COMMISSIONER].user
    p1 = _provider_world(tenant, service_type, manager, p1_mark, "Riverbend")
    p2 = _provider_world(tenant, service_type, manager, p2_mark, "Hillcrest")
    members[Role.PROVIDER] = p1.member = member(Role.PROVIDER, provider=p1.provider)
    p2_user = UserFactory(
        email=f"provider2.{p2_mark.lower()}@example.org", full_name=f"Provider {p2_mark}"
    )
    members["provider_p2"] = p2.member = MembershipFactory(
        tenant=tenant, user=p2_user, role=Role.PROVIDER, provider=p2.provider
    )
    return TenantWorld(
        tenant=tenant, mark=mark, service_type=service_type, p1=p1, p2=p2, members=members
    )


def contains_any(content: bytes | str, texts) -> list[str]:
    """The texts (case-insensitive) that occur in a response body."""
    body = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    body = body.lower()
    return [t for t in texts if t and t.lower() in body]
