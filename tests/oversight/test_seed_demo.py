"""The demo data: two tenants a visitor can sign into as any role, built the same
way every time, and written through history like every other change."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contracts.models import Contract, DeliverySite, Milestone, PaymentModel, Provider
from contracts.selectors import contracts_filter
from oversight.management.commands.seed_demo import DEMO_PASSWORD, REASON, RESET_REASON
from oversight.models import Membership, Role, Tenant, User

TODAY = date(2026, 6, 1)
US, NHS = "riverbend-county", "wessex-vale-icb"


def seed(*args: str) -> str:
    out = StringIO()
    # pytest-django runs with DEBUG off, which the command guards against.
    call_command(
        "seed_demo", "--allow-without-debug", "--today", TODAY.isoformat(), *args, stdout=out
    )
    return out.getvalue()


def snapshot() -> dict:
    """Everything a demo visitor would see, by natural keys (no database ids)."""
    return {
        "tenants": sorted(Tenant.objects.values_list("slug", "name", "currency", "time_zone")),
        "members": sorted(
            Membership.objects.values_list("tenant__slug", "user__email", "role", "provider__name")
        ),
        "providers": sorted(
            Provider.objects.values_list("tenant__slug", "name", "ein", "uei", "ods_code")
        ),
        "contracts": sorted(
            Contract.objects.values_list(
                "tenant__slug",
                "reference",
                "title",
                "provider__name",
                "start_date",
                "end_date",
                "annual_value",
                "payment_model",
                "contract_manager__email",
            )
        ),
        "sites": sorted(DeliverySite.objects.values_list("contract__reference", "name", "area")),
        "milestones": sorted(
            Milestone.objects.values_list("contract__reference", "title", "due_date", "status")
        ),
    }


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    # Every sign-in hashes the demo password; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def register_parts_only(monkeypatch):
    """These tests are about the register, the people and reset; the returns and
    signals parts take most of a minute to build and are tested once, in
    tests/performance/test_demo_stories.py."""
    from oversight import registry

    for slow in ("performance.returns", "performance.signals"):
        monkeypatch.delitem(registry.DEMO_PARTS._entries, slow)


@pytest.fixture
def seeded(db) -> str:
    return seed()


def test_refuses_to_run_with_debug_off_unless_told(db):
    # The demo password is public; running by accident on production must fail.
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not Tenant.objects.exists()


def test_builds_a_us_county_and_an_nhs_commissioner(seeded):
    tenants = {t.slug: t for t in Tenant.objects.all()}
    assert tenants[US].currency == "USD" and tenants[US].time_zone == "America/Chicago"
    assert tenants[NHS].currency == "GBP" and tenants[NHS].time_zone == "Europe/London"
    # Working-day deadlines: US federal holidays; England's bank holidays.
    assert (tenants[US].holiday_country, tenants[US].holiday_subdivision) == ("US", "")
    assert (tenants[NHS].holiday_country, tenants[NHS].holiday_subdivision) == ("GB", "ENG")


@pytest.mark.parametrize("slug", [US, NHS])
def test_every_role_can_sign_in_to_each_tenant(seeded, client, slug):
    members = Membership.objects.filter(tenant__slug=slug).select_related("user", "provider")
    roles = [m.role for m in members]
    assert set(roles) == set(Role.values)
    assert roles.count(Role.COMMISSIONER) >= 2
    assert len({m.provider_id for m in members if m.role == Role.PROVIDER}) >= 2
    for membership in members:
        assert client.login(email=membership.user.email, password=DEMO_PASSWORD)
        response = client.get(f"/t/{slug}/")
        assert response.status_code == 200, membership
        client.logout()


def test_one_person_belongs_to_both_tenants_and_can_switch(seeded, client):
    both = User.objects.filter(memberships__tenant__slug=US).filter(memberships__tenant__slug=NHS)
    assert both.count() >= 1
    assert client.login(email=both.first().email, password=DEMO_PASSWORD)
    page = client.get("/tenants/").content.decode()
    assert "Riverbend County" in page and "Wessex Vale" in page


def test_providers_carry_real_world_identifiers(seeded):
    us = Provider.objects.filter(tenant__slug=US)
    nhs = Provider.objects.filter(tenant__slug=NHS)
    assert us.count() >= 3 and nhs.count() >= 3
    assert all(p.ein and p.uei for p in us)
    assert all(p.ods_code and not p.ein for p in nhs)
    # A provider's user has contracts to look at.
    for m in Membership.objects.filter(role=Role.PROVIDER):
        assert Contract.objects.filter(provider=m.provider).exists(), m


def test_contracts_cover_the_register_a_commissioner_expects(seeded):
    contracts = Contract.objects.all()
    assert contracts.count() >= 12
    for slug in (US, NHS):
        in_tenant = contracts.filter(tenant__slug=slug)
        assert set(in_tenant.values_list("payment_model", flat=True)) == set(PaymentModel.values)
        assert contracts_filter(in_tenant, ending_within_days=90, today=TODAY).exists()
        # Some end in 91–180 days as well as within 90.
        within_180 = contracts_filter(in_tenant, ending_within_days=180, today=TODAY).count()
        within_90 = contracts_filter(in_tenant, ending_within_days=90, today=TODAY).count()
        assert within_180 > within_90
    titles = " ".join(contracts.values_list("title", flat=True)).lower()
    for kind in ("personal care", "crisis", "assertive", "re-housing", "supportive housing"):
        assert kind in titles, kind
    assert "re-entry" in titles or "resettlement" in titles
    assert "hospital-to-home" in titles or "discharge to assess" in titles
    for contract in contracts:
        assert contract.currency == contract.tenant.currency
        assert contract.contract_manager and contract.service_owner and contract.executive_sponsor
        assert contract.protected_core_components
        assert contract.sites.exists() and contract.milestones.exists()
        if contract.payment_model == PaymentModel.OUTCOME_LINKED:
            assert contract.payment_at_risk_pct > 0
    assert DeliverySite.objects.exclude(partner_organisation="").exists()
    # One contract delivered across several counties.
    assert any(
        len(set(c.sites.values_list("area", flat=True))) >= 3
        for c in contracts.filter(tenant__slug=US)
    )


def test_a_second_run_changes_nothing(seeded):
    before = snapshot()
    out = seed()
    assert "already there" in out
    assert snapshot() == before


def test_reset_rebuilds_the_same_data(seeded):
    before = snapshot()
    seed("--reset")
    assert snapshot() == before
    assert Tenant.objects.count() == 2


def test_every_row_written_with_history_and_reason(seeded):
    for model in (Tenant, User, Membership, Provider, Contract, DeliverySite, Milestone):
        for obj in model.objects.all():
            created = obj.history.filter(history_type="+").get()
            assert created.history_change_reason == REASON, (model, obj)


def test_reset_records_the_deletions(seeded):
    old_contract = Contract.objects.get(reference="RC-BH-2022-003")
    seed("--reset")
    deleted = Contract.history.filter(id=old_contract.pk, history_type="-").get()
    assert deleted.history_change_reason == RESET_REASON


def test_reset_removes_what_was_added_to_the_demo_and_nothing_else(seeded):
    """Rows people add while trying the demo go on reset; other tenants stay."""
    from tests.factories import DeliverySiteFactory, TenantFactory, member_user

    demo = Tenant.objects.get(slug=US)
    added = DeliverySiteFactory(tenant=demo)  # with its own contract, provider, manager
    visitor = added.contract.contract_manager
    elsewhere = DeliverySiteFactory(tenant=TenantFactory(slug="not-a-demo"))
    member_user(elsewhere.tenant)
    seed("--reset")

    assert not Contract.objects.filter(pk=added.contract_id).exists()
    assert not Membership.objects.filter(user=visitor, tenant__slug=US).exists()
    assert User.objects.filter(pk=visitor.pk).exists()  # people are kept, not erased
    assert DeliverySite.objects.filter(pk=elsewhere.pk).exists()
    assert Membership.objects.filter(tenant__slug="not-a-demo").count() == 2


def test_reset_deletes_referrers_before_what_they_refer_to():
    """Every tenant-scoped model, later features' included, has a place in the
    order, after each model that points at it (foreign keys are PROTECT)."""
    from oversight.management.commands.seed_demo import (
        _deletion_order,
        _points_to,
        _tenant_scoped_models,
    )

    models = _tenant_scoped_models()
    assert {Membership, Provider, Contract, DeliverySite, Milestone} <= set(models)
    order = _deletion_order(models)
    assert sorted(order, key=str) == sorted(models, key=str)
    for i, model in enumerate(order):
        for later in order[i + 1 :]:
            assert not _points_to(later, model), f"{later} points at {model}, deleted first"
