"""Writes to the register: the messages a user reads when a contract is wrong,
references unique per tenant, and no foreign key that leaves the tenant."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contracts import services
from contracts.models import Contract, DeliverySite, Milestone
from oversight.models import Role
from tests.factories import member_user

pytestmark = pytest.mark.django_db


def _data(tw, **over) -> dict:
    data = {
        "reference": "SVC-001",
        "title": "Intensive home support",
        "provider": tw.p1.provider,
        "service_type": tw.service_type,
        "status": "active",
        "scope": "Up to 20 hours a week of support at home.",
        "start_date": dt.date(2026, 1, 1),
        "end_date": dt.date(2027, 12, 31),
        "annual_value": Decimal("100000"),
        "total_value": Decimal("200000"),
        "payment_model": "block",
        "payment_at_risk_pct": Decimal("0"),
        "contract_manager": tw.user("commissioner"),
    }
    data.update(over)
    return data


def _create(tw, role="commissioner", **over) -> Contract:
    return services.contract_create(
        membership=tw.members[role], data=_data(tw, **over), reason="Award"
    )


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def test_creates_a_contract_in_the_callers_tenant_with_its_currency(world):
    world.a.tenant.currency = "GBP"
    world.a.tenant.save()
    contract = _create(world.a)
    assert contract.tenant == world.a.tenant
    assert contract.currency == "GBP"
    assert Contract.objects.filter(tenant=world.a.tenant, reference="SVC-001").count() == 1


def test_end_before_start_is_refused_with_a_message_on_the_end_date(world):
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, start_date=dt.date(2026, 6, 1), end_date=dt.date(2026, 5, 31))
    assert _errors(excinfo)["end_date"] == ["The end date is before the start date."]
    assert not Contract.objects.filter(reference="SVC-001").exists()


def test_a_one_day_contract_is_allowed(world):
    contract = _create(world.a, start_date=dt.date(2026, 6, 1), end_date=dt.date(2026, 6, 1))
    assert contract.pk


def test_latest_end_before_end_is_refused(world):
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, latest_end_date=dt.date(2027, 1, 1))
    assert "latest_end_date" in _errors(excinfo)


def test_outcome_linked_without_a_share_at_risk_is_refused(world):
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, payment_model="outcome_linked", payment_at_risk_pct=Decimal("0"))
    [message] = _errors(excinfo)["payment_at_risk_pct"]
    assert "outcome-linked" in message.lower()
    contract = _create(world.a, payment_model="outcome_linked", payment_at_risk_pct=Decimal("15"))
    assert contract.payment_at_risk_pct == Decimal("15")


def test_share_at_risk_cannot_exceed_100(world):
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, payment_model="outcome_linked", payment_at_risk_pct=Decimal("120"))
    assert "payment_at_risk_pct" in _errors(excinfo)


def test_duplicate_reference_is_refused_within_a_tenant(world):
    reference = world.a.p1.contract.reference
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, reference=reference)
    messages = [m for ms in _errors(excinfo).values() for m in ms]
    assert "A contract with this reference already exists." in messages
    assert Contract.objects.filter(reference=reference).count() == 1


def test_the_same_reference_is_fine_in_another_tenant(world):
    reference = world.a.p1.contract.reference
    contract = _create(
        world.b,
        reference=reference,
        provider=world.b.p1.provider,
        service_type=world.b.service_type,
        contract_manager=world.b.user("commissioner"),
    )
    assert contract.tenant == world.b.tenant
    assert Contract.objects.filter(reference=reference).count() == 2


@pytest.mark.parametrize(
    ("field", "foreign"),
    [
        ("provider", lambda w: w.b.p1.provider),
        ("service_type", lambda w: w.b.service_type),
    ],
)
def test_another_tenants_provider_or_service_type_is_refused(world, field, foreign):
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, **{field: foreign(world)})
    assert _errors(excinfo)[field] == ["Choose one from this organisation."]
    assert not Contract.objects.filter(reference="SVC-001").exists()


def test_updating_a_contract_to_another_tenants_provider_is_refused(world):
    contract = world.a.p1.contract
    with pytest.raises(ValidationError) as excinfo:
        services.contract_update(
            membership=world.a.members["commissioner"],
            contract=contract,
            data={"provider": world.b.p1.provider},
            reason="Novation",
        )
    assert "provider" in _errors(excinfo)
    contract.refresh_from_db()
    assert contract.provider == world.a.p1.provider


def test_data_cannot_move_a_contract_into_another_tenant(world):
    contract = _create(world.a, tenant=world.b.tenant)
    assert contract.tenant == world.a.tenant


@pytest.mark.parametrize(
    ("field", "who", "message_part"),
    [
        ("contract_manager", lambda w: w.b.user("commissioner"), "contract manager"),
        ("contract_manager", lambda w: w.a.user("auditor"), "contract manager"),
        ("contract_manager", lambda w: w.a.user("provider"), "contract manager"),
        ("executive_sponsor", lambda w: w.a.user("commissioner"), "executive sponsor"),
        ("service_owner", lambda w: w.b.user("executive"), "service owner"),
    ],
)
def test_owners_must_be_members_of_the_tenant_in_a_fitting_role(world, field, who, message_part):
    with pytest.raises(ValidationError) as excinfo:
        _create(world.a, **{field: who(world)})
    [message] = _errors(excinfo)[field]
    assert message_part in message.lower()
    assert "member of this organisation" in message


def test_owners_in_fitting_roles_are_accepted(world):
    a = world.a
    contract = _create(
        a,
        contract_manager=a.user("admin"),
        service_owner=a.user("executive"),
        executive_sponsor=a.user("executive"),
    )
    assert (contract.service_owner, contract.executive_sponsor) == (
        a.user("executive"),
        a.user("executive"),
    )


def test_an_inactive_member_cannot_be_named_contract_manager(world):
    a = world.a
    manager = member_user(a.tenant, Role.COMMISSIONER)
    manager.memberships.update(is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        _create(a, contract_manager=manager)
    assert "contract_manager" in _errors(excinfo)


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_read_only_roles_cannot_create_or_change(world, role):
    with pytest.raises(PermissionDenied):
        _create(world.a, role=role)
    with pytest.raises(PermissionDenied):
        services.contract_update(
            membership=world.a.members[role],
            contract=world.a.p1.contract,
            data={"title": "Changed"},
            reason="Try",
        )
    assert not Contract.objects.filter(reference="SVC-001").exists()
    world.a.p1.contract.refresh_from_db()
    assert world.a.p1.contract.title != "Changed"


def test_a_site_cannot_be_added_to_another_tenants_contract(world):
    with pytest.raises(ValidationError) as excinfo:
        services.site_create(
            membership=world.a.members["admin"],
            contract=world.b.p1.contract,
            data={"name": "Sneaky site", "area": "Elsewhere"},
            reason="Try",
        )
    assert "contract" in _errors(excinfo)
    assert not DeliverySite.objects.filter(name="Sneaky site").exists()


def test_two_sites_of_one_contract_need_different_names(world):
    a = world.a
    with pytest.raises(ValidationError):
        services.site_create(
            membership=a.members["admin"],
            contract=a.p1.contract,
            data={"name": a.p1.site.name, "area": "Again"},
            reason="Duplicate",
        )


def test_a_met_milestone_needs_its_completion_date(world):
    a = world.a
    with pytest.raises(ValidationError) as excinfo:
        services.milestone_update(
            membership=a.members["commissioner"],
            milestone=a.p1.milestone,
            data={"status": "met"},
            reason="Done",
        )
    assert _errors(excinfo)["completed_on"] == ["Give the date the milestone was met."]
    milestone = services.milestone_update(
        membership=a.members["commissioner"],
        milestone=a.p1.milestone,
        data={"status": "met", "completed_on": dt.date(2025, 6, 28)},
        reason="Done",
    )
    assert Milestone.objects.get(pk=milestone.pk).status == "met"


def test_provider_names_are_unique_per_tenant_only(world):
    name = world.a.p1.provider.name
    with pytest.raises(ValidationError):
        services.provider_create(
            membership=world.a.members["admin"], data={"name": name}, reason="Again"
        )
    provider = services.provider_create(
        membership=world.b.members["admin"], data={"name": name}, reason="Same name, other agency"
    )
    assert provider.tenant == world.b.tenant


def test_provider_identifiers_are_checked(world):
    with pytest.raises(ValidationError) as excinfo:
        services.provider_create(
            membership=world.a.members["admin"],
            data={"name": "Bad ids", "ein": "123456789", "uei": "0ABC", "ods_code": "toolongcode"},
            reason="New",
        )
    assert set(_errors(excinfo)) >= {"ein", "uei", "ods_code"}
