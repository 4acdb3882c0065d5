"""Every change leaves history with who and why: through a page, through the API
and through a management command; and the contract page shows it (who, when,
what changed from what to what, and why)."""

import datetime as dt
import html
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from contracts import services
from contracts.models import Contract, Provider
from oversight import clock
from oversight.history import history_entries
from oversight.models import Role
from tests.api_errors import field_errors
from tests.factories import MembershipFactory, ProviderFactory, ServiceTypeFactory

pytestmark = pytest.mark.django_db


def _latest(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


def _edit_form(world, contract, **over):
    a = world.a
    data = {
        "reference": contract.reference,
        "title": contract.title,
        "provider": contract.provider_id,
        "service_type": contract.service_type_id,
        "status": contract.status,
        "scope": contract.scope,
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat(),
        "annual_value": str(contract.annual_value),
        "total_value": str(contract.total_value),
        "currency": contract.currency,
        "payment_model": contract.payment_model,
        "payment_at_risk_pct": str(contract.payment_at_risk_pct),
        "contract_manager": a.user("commissioner").pk,
        "reporting_frequency": "monthly",
        "reason": "Annual review",
    }
    data.update(over)
    return data


# --- Through a page -----------------------------------------------------------------


def test_page_edit_records_user_and_reason(world, client_for):
    a = world.a
    contract = a.p1.contract
    commissioner = a.members["commissioner"]
    response = client_for(commissioner).post(
        reverse("contract_edit", args=[a.tenant.slug, contract.pk]),
        _edit_form(world, contract, end_date="2028-06-30", reason="Extension option 1 taken"),
    )
    assert response.status_code == 302
    record = _latest(contract)
    assert record.history_type == "~"
    assert record.history_user == commissioner.user
    assert record.history_change_reason == "Extension option 1 taken"
    assert record.end_date == dt.date(2028, 6, 30)


def test_page_edit_without_a_reason_is_refused_and_writes_nothing(world, client_for):
    a = world.a
    contract = a.p1.contract
    before = contract.history.count()
    response = client_for(a.members["commissioner"]).post(
        reverse("contract_edit", args=[a.tenant.slug, contract.pk]),
        _edit_form(world, contract, title="Untraceable change", reason="  "),
    )
    assert response.status_code == 400
    assert "Reason for this change" in response.content.decode()
    contract.refresh_from_db()
    assert contract.title != "Untraceable change"
    assert contract.history.count() == before


def test_contract_page_shows_who_when_what_and_why(world, client_for):
    a = world.a
    contract = a.p1.contract
    old_title = contract.title
    client = client_for(a.members["commissioner"])
    client.post(
        reverse("contract_edit", args=[a.tenant.slug, contract.pk]),
        _edit_form(
            world,
            contract,
            title="Personal care and reablement",
            status="suspended",
            end_date="2028-03-31",
            annual_value="262500.50",
            reason="Variation V-7 agreed at review",
        ),
    )
    today = clock.today()
    for url in [
        contract.get_absolute_url(),
        reverse("contract_history", args=[a.tenant.slug, contract.pk]),
    ]:
        body = html.unescape(client.get(url).content.decode())
        assert "Commissioner QQTENANTA" in body  # who
        assert f"{today.day} {today:%b %Y}" in body  # when
        assert "Variation V-7 agreed at review" in body  # why
        # what, from what to what, in the words on the form
        assert f"Title: {old_title} → Personal care and reablement" in body
        assert "Status: Active → Suspended" in body
        assert "End date: 31 Dec 2027 → 31 Mar 2028" in body
        assert "Annual value: 250,000 → 262,500.50" in body  # figures as on the page


def test_history_names_related_objects_not_their_ids(world, client_for):
    """Moving a contract to another provider reads as provider names."""
    a = world.a
    contract = a.p1.contract
    new_provider = ProviderFactory(tenant=a.tenant, name="Lakeside Home Care")
    client = client_for(a.members["commissioner"])
    response = client.post(
        reverse("contract_edit", args=[a.tenant.slug, contract.pk]),
        _edit_form(world, contract, provider=new_provider.pk, reason="Novation"),
    )
    assert response.status_code == 302
    body = html.unescape(client.get(contract.get_absolute_url()).content.decode())
    assert f"Provider: {a.p1.provider.name} → Lakeside Home Care" in body


def test_site_and_milestone_changes_leave_history(world, client_for):
    a = world.a
    client = client_for(a.members["admin"])
    site = a.p1.site
    client.post(
        reverse("site_edit", args=[a.tenant.slug, site.pk]),
        {"name": site.name, "area": "Lake County", "reason": "Moved to the lake office"},
    )
    record = _latest(site)
    assert (record.area, record.history_user, record.history_change_reason) == (
        "Lake County",
        a.user("admin"),
        "Moved to the lake office",
    )


# --- Through the API ----------------------------------------------------------------


def test_api_update_records_user_and_reason_from_header(world, api_client_for):
    a = world.a
    contract = a.p1.contract
    response = api_client_for(a.members["commissioner"]).patch(
        reverse("api-contract-detail", args=[a.tenant.slug, contract.pk]),
        {"annual_value": "260000.00"},
        format="json",
        HTTP_X_CHANGE_REASON="Uplift for 2026",
    )
    assert response.status_code == 200, response.content
    record = _latest(contract)
    assert record.history_user == a.user("commissioner")
    assert record.history_change_reason == "Uplift for 2026"
    assert str(record.annual_value) == "260000.00"


def test_api_update_takes_the_reason_from_a_field_too(world, api_client_for):
    a = world.a
    site = a.p1.site
    response = api_client_for(a.members["admin"]).patch(
        reverse("api-site-detail", args=[a.tenant.slug, site.pk]),
        {"partner_organisation": "Lake Peer Network", "change_reason": "New partner"},
        format="json",
    )
    assert response.status_code == 200, response.content
    record = _latest(site)
    assert (record.history_user, record.history_change_reason) == (a.user("admin"), "New partner")


def test_api_update_without_a_reason_is_refused(world, api_client_for):
    a = world.a
    contract = a.p1.contract
    before = contract.history.count()
    response = api_client_for(a.members["commissioner"]).patch(
        reverse("api-contract-detail", args=[a.tenant.slug, contract.pk]),
        {"title": "Silent change"},
        format="json",
    )
    assert response.status_code == 400
    assert "change_reason" in field_errors(response)
    contract.refresh_from_db()
    assert contract.title != "Silent change"
    assert contract.history.count() == before


def test_api_create_records_user_and_reason(world, api_client_for):
    a = world.a
    response = api_client_for(a.members["admin"]).post(
        reverse("api-provider-list", args=[a.tenant.slug]),
        {"name": "Northfield Recovery"},
        format="json",
        HTTP_X_CHANGE_REASON="Awarded lot 3",
    )
    assert response.status_code == 201
    provider = Provider.objects.get(pk=response.json()["id"])
    assert provider.tenant == a.tenant
    record = _latest(provider)
    assert (record.history_user, record.history_change_reason) == (a.user("admin"), "Awarded lot 3")


# --- Through a service (what tasks and commands call) -----------------------------


def test_service_refuses_a_change_without_a_reason(world):
    a = world.a
    with pytest.raises(ValidationError) as error:
        services.contract_update(
            membership=a.members["commissioner"],
            contract=a.p1.contract,
            data={"title": "No reason"},
            reason="",
        )
    assert "reason" in error.value.message_dict


# --- Through a management command: contracts_import --------------------------------

HEADER = (
    "reference,title,provider,service_type,status,start_date,end_date,annual_value,"
    "total_value,payment_model,payment_at_risk_pct,contract_manager_email,scope,"
    "protected_core_components\n"
)


def _csv(tmp_path: Path, world, *rows: str) -> Path:
    path = tmp_path / "contracts.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _row(world, reference="IMP-001", **over) -> str:
    a = world.a
    values = {
        "reference": reference,
        "title": f"Housing First {reference}",
        "provider": a.p1.provider.name,
        "service_type": a.service_type.code,
        "status": "active",
        "start_date": "2026-04-01",
        "end_date": "2029-03-31",
        "annual_value": "180000",
        "total_value": "540000",
        "payment_model": "outcome_linked",
        "payment_at_risk_pct": "10",
        "contract_manager_email": a.user("commissioner").email,
        "scope": "Permanent supportive housing with wraparound support",
        "protected_core_components": "Housing without preconditions; Caseload at most 1:10",
    }
    values.update(over)
    return ",".join(f'"{v}"' for v in values.values())


def _import(path, world, actor_role="commissioner", reason="Register migrated from spreadsheet"):
    out = StringIO()
    call_command(
        "contracts_import",
        str(path),
        tenant=world.a.tenant.slug,
        actor=world.a.user(actor_role).email,
        reason=reason,
        stdout=out,
    )
    return out.getvalue()


def test_import_registers_contracts_with_history_user_and_reason(world, tmp_path):
    path = _csv(tmp_path, world, _row(world, "IMP-001"), _row(world, "IMP-002", status="Planned"))
    output = _import(path, world, reason="Register migrated from spreadsheet")
    assert "2 contract" in output
    imported = Contract.objects.filter(tenant=world.a.tenant, reference__startswith="IMP-")
    assert sorted(c.reference for c in imported) == ["IMP-001", "IMP-002"]
    first = imported.get(reference="IMP-001")
    assert first.provider == world.a.p1.provider
    assert first.currency == "USD"
    assert first.protected_core_components == [
        "Housing without preconditions",
        "Caseload at most 1:10",
    ]
    assert imported.get(reference="IMP-002").status == "planned"
    for contract in imported:
        records = list(contract.history.all())
        assert len(records) == 1
        assert records[0].history_type == "+"
        assert records[0].history_user == world.a.user("commissioner")
        assert records[0].history_change_reason == "Register migrated from spreadsheet"
    # and the history shows on the contract's page as created by that person, for that reason
    entry = history_entries(first)[0]
    assert (entry.who, entry.kind, entry.reason) == (
        "Commissioner QQTENANTA",
        "Created",
        "Register migrated from spreadsheet",
    )


def test_import_with_one_bad_row_writes_nothing_and_says_where(world, tmp_path):
    path = _csv(
        tmp_path,
        world,
        _row(world, "IMP-001"),
        _row(world, "IMP-002"),
        _row(world, "IMP-003", start_date="2026-04-01", end_date="2025-03-31"),
    )
    contracts_before = Contract.objects.count()
    history_before = Contract.history.count()
    with pytest.raises(CommandError) as error:
        _import(path, world)
    message = str(error.value)
    # the header is row 1, so the third contract is row 4
    assert "row 4, end_date: The end date is before the start date." in message
    assert "row 2" not in message and "row 3" not in message
    assert "Nothing was imported" in message
    assert Contract.objects.count() == contracts_before
    assert Contract.history.count() == history_before


def test_import_reports_every_problem_by_row_and_column(world, tmp_path):
    path = _csv(
        tmp_path,
        world,
        _row(world, "IMP-001", provider="Unknown Agency", end_date="31/12/2029"),
        _row(world, "IMP-002", payment_model="outcome_linked", payment_at_risk_pct="0"),
        _row(world, "IMP-001"),
        _row(world, "IMP-004", contract_manager_email=world.a.user("auditor").email),
        _row(world, "IMP-005", annual_value="lots", status="paused"),
    )
    with pytest.raises(CommandError) as error:
        _import(path, world)
    message = str(error.value)
    assert "row 2, provider: no provider named 'Unknown Agency'" in message
    assert "row 2, end_date: '31/12/2029' is not a date" in message
    assert "row 3, payment_at_risk_pct: An outcome-linked contract" in message
    assert "row 4, reference: 'IMP-001' is also in row 2" in message
    assert "row 5, contract_manager_email: The contract manager must be" in message
    assert "row 6, annual_value: 'lots' is not a number" in message
    assert "row 6, status: 'paused' is not a contract status" in message
    assert not Contract.objects.filter(reference__startswith="IMP-").exists()


def test_import_cannot_name_another_tenants_provider_or_an_existing_reference(world, tmp_path):
    path = _csv(
        tmp_path,
        world,
        _row(world, "IMP-001", provider=world.b.p1.provider.name),
        _row(world, world.a.p1.contract.reference),
        # another tenant's reference is fine: references are unique per tenant
        _row(world, world.b.p1.contract.reference),
    )
    with pytest.raises(CommandError) as error:
        _import(path, world)
    message = str(error.value)
    assert f"row 2, provider: no provider named '{world.b.p1.provider.name}'" in message
    assert "row 3: A contract with this reference already exists." in message
    assert "row 4" not in message


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_import_actor_must_be_admin_or_commissioner(world, tmp_path, role):
    path = _csv(tmp_path, world, _row(world))
    with pytest.raises(CommandError, match="only an admin or a commissioner"):
        _import(path, world, actor_role=role)
    assert not Contract.objects.filter(reference="IMP-001").exists()


def test_import_actor_must_belong_to_the_tenant(world, tmp_path):
    path = _csv(tmp_path, world, _row(world))
    with pytest.raises(CommandError, match="not an active member"):
        call_command(
            "contracts_import",
            str(path),
            tenant=world.a.tenant.slug,
            actor=world.b.user("admin").email,
            reason="x",
        )
    assert not Contract.objects.filter(reference="IMP-001").exists()


def test_import_needs_a_reason_and_known_columns(world, tmp_path):
    path = _csv(tmp_path, world, _row(world))
    with pytest.raises(CommandError, match="--reason"):
        _import(path, world, reason="   ")
    bad = tmp_path / "bad.csv"
    bad.write_text("reference,title,colour\nX,Y,blue\n", encoding="utf-8")
    with pytest.raises(CommandError) as error:
        _import(bad, world)
    assert "missing columns" in str(error.value) and "provider" in str(error.value)
    assert "unknown columns: colour" in str(error.value)


def test_import_dry_run_validates_without_writing(world, tmp_path):
    path = _csv(tmp_path, world, _row(world))
    out = StringIO()
    call_command(
        "contracts_import",
        str(path),
        tenant=world.a.tenant.slug,
        actor=world.a.user("admin").email,
        reason="Trial",
        dry_run=True,
        stdout=out,
    )
    assert "Checked 1 contract" in out.getvalue()
    assert not Contract.objects.filter(reference="IMP-001").exists()


def test_import_by_an_admin_of_the_tenant_with_a_second_membership(world, tmp_path):
    """A person who is admin in A and executive in B imports into A as admin."""
    person = world.a.user("admin")
    MembershipFactory(tenant=world.b.tenant, user=person, role=Role.EXECUTIVE)
    ServiceTypeFactory(tenant=world.a.tenant, code="crisis", name="Crisis response")
    path = _csv(tmp_path, world, _row(world, service_type="Crisis response"))
    _import(path, world, actor_role="admin")
    contract = Contract.objects.get(tenant=world.a.tenant, reference="IMP-001")
    assert contract.service_type.code == "crisis"
    assert _latest(contract).history_user == person


# --- Reading history: many-to-many values, and names only within the tenant --------


def _kpi(world, **over):
    from performance import services as performance_services
    from performance.models import Kpi

    values = {
        "code": "home-visits",
        "name": "Home visits on time",
        "definition": "Visits that started within 15 minutes of the planned time.",
        "unit": "percentage",
        "direction": "higher",
        "category": "timeliness",
    }
    values.update(over)
    return performance_services.kpi_save(
        membership=world.a.members["admin"],
        kpi=Kpi(**values),
        service_types=[],
        reason="New measure for home care",
    )


def test_kpi_page_shows_service_type_changes_by_name(world, client_for):
    """A KPI whose service types changed used to answer 500 (the list of service
    types was looked up as if it were one foreign key)."""
    from performance import services as performance_services

    a = world.a
    kpi = _kpi(world)
    crisis = ServiceTypeFactory(tenant=a.tenant, code="crisis", name="Crisis response")
    performance_services.kpi_save(
        membership=a.members["admin"],
        kpi=kpi,
        service_types=[a.service_type, crisis],
        reason="Home care and crisis teams report it",
    )
    performance_services.kpi_save(
        membership=a.members["admin"],
        kpi=kpi,
        service_types=[crisis],
        reason="Only crisis teams report it",
    )
    for role in ["admin", "commissioner", "auditor"]:
        response = client_for(a.members[role]).get(
            reverse("kpi_detail", args=[a.tenant.slug, kpi.pk])
        )
        assert response.status_code == 200, role
        body = html.unescape(response.content.decode())
        assert "Service types: — → Crisis response; Home care QQTENANTA" in body
        assert "Service types: Crisis response; Home care QQTENANTA → Crisis response" in body


def test_kpi_history_never_names_another_tenants_service_type(world, client_for):
    """Even if a row of tenant B were linked to tenant A's KPI (services refuse it;
    a bad import or a hand edit could not), A's pages do not show B's name."""
    a, b = world.a, world.b
    kpi = _kpi(world)
    kpi._change_reason = "Linked by hand"
    kpi.service_types.add(a.service_type, b.service_type)
    response = client_for(a.members["admin"]).get(
        reverse("kpi_detail", args=[a.tenant.slug, kpi.pk])
    )
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert "ZZOTHERTENANT" not in body
    assert f"Service types: — → #{b.service_type.pk} (deleted); Home care QQTENANTA" in body


def test_contract_history_never_names_another_tenants_provider(world):
    from oversight.history import save_with_history

    a, b = world.a, world.b
    contract = a.p1.contract
    contract.provider = b.p1.provider  # services refuse this; history must hold anyway
    save_with_history(contract, user=a.user("admin"), reason="Corrupted by hand")
    (change,) = history_entries(contract)[0].changes
    assert (change.label, change.old, change.new) == (
        "Provider",
        a.p1.provider.name,
        f"#{b.p1.provider.pk} (deleted)",
    )


def test_history_names_only_people_who_are_members_of_the_tenant(world):
    a, b = world.a, world.b
    contract = a.p1.contract
    contract.contract_manager = b.user("commissioner")
    contract.save()
    contract.contract_manager = a.user("admin")
    contract.save()
    (change,) = history_entries(contract)[0].changes
    assert (change.label, change.old, change.new) == (
        "Contract manager",
        f"#{b.user('commissioner').pk} (deleted)",
        "Admin QQTENANTA",
    )
