"""What each membership can read in the register, and the register's filters."""

import datetime as dt

import pytest
from django.http import Http404

from contracts import selectors
from contracts.models import ContractStatus
from oversight.models import Role
from tests.factories import (
    ContractFactory,
    MembershipFactory,
    ProviderFactory,
    ServiceTypeFactory,
    member_user,
)

pytestmark = pytest.mark.django_db

TENANT_WIDE_ROLES = [Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR]


def _refs(qs) -> set[str]:
    return {c.reference for c in qs}


# --- Visibility per role ---------------------------------------------------------


@pytest.mark.parametrize("role", TENANT_WIDE_ROLES)
def test_agency_roles_see_every_contract_of_their_tenant_only(world, role):
    a = world.a
    membership = a.members[role]
    assert _refs(selectors.contracts_visible(membership=membership)) == {
        a.p1.contract.reference,
        a.p2.contract.reference,
    }
    assert {p.name for p in selectors.providers_visible(membership=membership)} == {
        a.p1.provider.name,
        a.p2.provider.name,
    }
    sites = selectors.sites_visible(membership=membership)
    assert {s.name for s in sites} == {a.p1.site.name, a.p2.site.name}
    milestones = selectors.milestones_visible(membership=membership)
    assert {m.title for m in milestones} == {a.p1.milestone.title, a.p2.milestone.title}


def test_provider_sees_only_its_own_provider_and_what_hangs_off_it(world):
    a = world.a
    membership = a.members[Role.PROVIDER]
    assert _refs(selectors.contracts_visible(membership=membership)) == {a.p1.contract.reference}
    assert list(selectors.providers_visible(membership=membership)) == [a.p1.provider]
    assert list(selectors.sites_visible(membership=membership)) == [a.p1.site]
    assert list(selectors.milestones_visible(membership=membership)) == [a.p1.milestone]
    # service types are the tenant's vocabulary, not a provider's data
    assert list(selectors.service_types_visible(membership=membership)) == [a.service_type]


def test_provider_gets_404_for_another_providers_objects(world):
    a = world.a
    membership = a.members[Role.PROVIDER]
    for get, obj in [
        (selectors.contract_get, a.p2.contract),
        (selectors.provider_get, a.p2.provider),
        (selectors.site_get, a.p2.site),
        (selectors.milestone_get, a.p2.milestone),
    ]:
        with pytest.raises(Http404):
            get(membership=membership, pk=obj.pk)
    assert selectors.contract_get(membership=membership, pk=a.p1.contract.pk) == a.p1.contract


def test_another_tenants_object_is_reported_as_missing(world):
    membership = world.a.members[Role.ADMIN]
    b = world.b
    for get, obj in [
        (selectors.contract_get, b.p1.contract),
        (selectors.provider_get, b.p1.provider),
        (selectors.service_type_get, b.service_type),
        (selectors.site_get, b.p1.site),
        (selectors.milestone_get, b.p1.milestone),
    ]:
        with pytest.raises(Http404):
            get(membership=membership, pk=obj.pk)


def test_no_membership_sees_nothing(world):
    for visible in [
        selectors.contracts_visible,
        selectors.providers_visible,
        selectors.service_types_visible,
        selectors.sites_visible,
        selectors.milestones_visible,
        selectors.tenant_staff,
    ]:
        assert not visible(membership=None).exists()
    with pytest.raises(Http404):
        selectors.contract_get(membership=None, pk=world.a.p1.contract.pk)


def test_tenant_staff_lists_active_members_of_the_tenant_by_role(world):
    a = world.a
    gone = MembershipFactory(tenant=a.tenant, role=Role.COMMISSIONER, is_active=False)
    staff = selectors.tenant_staff(
        membership=a.members[Role.ADMIN], roles=[Role.COMMISSIONER, Role.ADMIN]
    )
    assert set(staff) == {a.user("commissioner"), a.user("admin")}
    assert gone.user not in staff
    everyone = selectors.tenant_staff(membership=a.members[Role.ADMIN])
    assert world.b.user("admin") not in everyone
    assert a.user("provider") in everyone


# --- Filters --------------------------------------------------------------------------


@pytest.fixture
def register(world):
    """Tenant A's register with contracts that differ in one thing each."""
    a = world.a
    today = dt.date(2026, 1, 10)
    crisis = ServiceTypeFactory(tenant=a.tenant, code="crisis", name="Crisis response")
    sponsor = member_user(a.tenant, Role.EXECUTIVE, full_name="Sponsor Sam")
    owner = member_user(a.tenant, Role.COMMISSIONER, full_name="Owner Olu")
    beacon = ProviderFactory(tenant=a.tenant, name="Beacon Behavioral Health")
    made = {
        "soon": ContractFactory(
            tenant=a.tenant,
            reference="FLT-SOON",
            title="Mobile crisis team",
            provider=beacon,
            service_type=crisis,
            end_date=today + dt.timedelta(days=10),
            executive_sponsor=sponsor,
        ),
        "edge": ContractFactory(
            tenant=a.tenant,
            reference="FLT-EDGE",
            title="Respite beds",
            provider=a.p1.provider,
            service_type=a.service_type,
            end_date=today + dt.timedelta(days=30),
            contract_manager=owner,
        ),
        "past": ContractFactory(
            tenant=a.tenant,
            reference="FLT-PAST",
            title="Winter shelter",
            provider=a.p2.provider,
            service_type=a.service_type,
            start_date=dt.date(2024, 1, 1),
            end_date=today - dt.timedelta(days=1),
            status=ContractStatus.ENDED,
            service_owner=owner,
        ),
    }
    return a, today, made, {"crisis": crisis, "sponsor": sponsor, "owner": owner}


def _filtered(register, **filters) -> set[str]:
    a, today, _, _ = register
    return _refs(
        selectors.contract_list(membership=a.members[Role.COMMISSIONER], today=today, **filters)
    )


def test_search_matches_reference_title_or_provider_case_insensitively(register):
    assert _filtered(register, search="flt-soon") == {"FLT-SOON"}
    assert _filtered(register, search="RESPITE") == {"FLT-EDGE"}
    assert _filtered(register, search="beacon behav") == {"FLT-SOON"}
    assert _filtered(register, search="no such thing") == set()


def test_filter_by_provider_and_service_type(register):
    a, _, made, extra = register
    assert _filtered(register, provider_id=a.p2.provider.pk) == {
        a.p2.contract.reference,
        "FLT-PAST",
    }
    assert _filtered(register, service_type_id=extra["crisis"].pk) == {"FLT-SOON"}


def test_filter_by_status(register):
    assert _filtered(register, status="ended") == {"FLT-PAST"}


def test_filter_by_owner_matches_manager_service_owner_or_sponsor(register):
    _, _, _, extra = register
    assert _filtered(register, owner_id=extra["owner"].pk) == {"FLT-EDGE", "FLT-PAST"}
    assert _filtered(register, owner_id=extra["sponsor"].pk) == {"FLT-SOON"}


def test_ending_within_n_days_counts_from_today_and_skips_ended(register):
    assert _filtered(register, ending_within_days=9) == set()
    assert _filtered(register, ending_within_days=10) == {"FLT-SOON"}
    # the 30th day is inside the window; a contract that ended yesterday is not
    assert _filtered(register, ending_within_days=30) == {"FLT-SOON", "FLT-EDGE"}


def test_filters_combine(register):
    a, _, _, _ = register
    assert _filtered(register, provider_id=a.p1.provider.pk, ending_within_days=30) == {"FLT-EDGE"}


def test_filters_never_widen_a_providers_view(register):
    a, today, _, _ = register
    provider = a.members[Role.PROVIDER]
    found = selectors.contract_list(membership=provider, provider_id=a.p2.provider.pk, today=today)
    assert not found.exists()
    found = selectors.contract_list(membership=provider, search="FLT", today=today)
    assert _refs(found) == {"FLT-EDGE"}
