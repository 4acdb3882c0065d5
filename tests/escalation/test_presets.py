"""Ladder presets (escalation/presets/) and working-day deadlines: each preset's
deadlines across a weekend, bank holidays in England, US federal holidays and
the turn of the year; adopting a preset writes the next ladder version (only
the admin, pages and API), and past steps keep their stage. Fixed dates only."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from escalation import notices, services
from escalation.ladder import response_deadline
from escalation.models import EscalationStep, LadderVersion
from escalation.presets import presets
from oversight import clock
from oversight.models import Role, Tenant

pytestmark = pytest.mark.django_db

D = dt.date
NHS, US = "nhs-standard-contract", "us-federal-default"


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _calendar(tenant, country: str, subdivision: str = "") -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(
        holiday_country=country, holiday_subdivision=subdivision
    )
    tenant.refresh_from_db()
    return tenant


def _adopt(tw, key: str) -> LadderVersion:
    return services.ladder_preset_adopt(
        membership=tw.members[Role.ADMIN], preset_key=key, reason=f"Our contracts are {key}"
    )


def _stage(version, level: int):
    return version.stages.get(level=level)


def _at_level(propose, level: int):
    return propose(to_level=level, justification="Informal contact brought nothing")


# --- the presets as published ------------------------------------------------------


def test_the_nhs_preset_follows_gc9():
    preset = presets()[NHS]
    stages = {s.level: s for s in preset.stages}
    assert [stages[level].name for level in (3, 4, 5, 6, 7)] == [
        "Contract Performance Notice",
        "Joint Investigation or Remedial Action Plan",
        "Withholding of payment",
        "Exception Report to the Governing Body",
        "Suspension or termination",
    ]
    # A Contract Management Meeting within 10 Operational Days of the notice, the
    # plan agreed within 5 Operational Days of the meeting.
    assert (stages[3].response_days, stages[3].deadline_basis) == (10, "working")
    assert (stages[4].response_days, stages[4].deadline_basis) == (5, "working")
    assert stages[4].plan_required and not stages[4].executive_approval_required
    assert stages[5].values()["withholding_cap_percent"] == Decimal("2.00")
    assert all(stages[level].executive_approval_required for level in (5, 6, 7))


def test_the_us_preset_follows_the_far():
    stages = {s.level: s for s in presets()[US].stages}
    assert [stages[level].name for level in (3, 4, 5)] == [
        "Cure notice",
        "Show-cause notice",
        "Termination for default",
    ]
    # FAR days are calendar days (FAR 2.101): at least 10 to cure, 10 to show cause.
    assert (stages[3].response_days, stages[3].deadline_basis) == (10, "calendar")
    assert (stages[4].response_days, stages[4].deadline_basis) == (10, "calendar")
    assert stages[5].response_days is None and stages[5].executive_approval_required


# --- deadlines, for each preset ------------------------------------------------------


NHS_DEADLINES = [
    # (start, level, deadline): 10 operational days at level 3, 5 at level 4, in England
    (D(2026, 3, 6), 4, D(2026, 3, 13)),  # a Friday: one weekend
    (D(2026, 12, 18), 3, D(2027, 1, 6)),  # Christmas, Boxing Day (observed), New Year
    (D(2026, 12, 23), 4, D(2027, 1, 4)),  # the turn of the year
    (D(2027, 3, 25), 4, D(2027, 4, 5)),  # Good Friday and Easter Monday
]


@pytest.mark.parametrize(("start", "level", "due"), NHS_DEADLINES)
def test_nhs_preset_deadlines_count_operational_days_in_england(world, start, level, due):
    tw = world.a
    tenant = _calendar(tw.tenant, "GB", "ENG")
    version = _adopt(tw, NHS)
    assert response_deadline(_stage(version, level), start, tenant=tenant) == due


def test_nhs_preset_under_us_holidays_skips_thanksgiving_and_the_observed_fourth(world):
    tw = world.a
    tenant = _calendar(tw.tenant, "US")
    version = _adopt(tw, NHS)
    five = _stage(version, 4)
    assert response_deadline(five, D(2026, 11, 23), tenant=tenant) == D(2026, 12, 1)
    assert response_deadline(five, D(2026, 7, 1), tenant=tenant) == D(2026, 7, 9)


US_DEADLINES = [
    # (start, level, deadline): 10 calendar days to cure or to show cause
    (D(2026, 11, 20), 3, D(2026, 11, 30)),  # over Thanksgiving, not skipped
    (D(2026, 6, 26), 4, D(2026, 7, 6)),  # over the observed 4 July
    (D(2026, 12, 26), 3, D(2027, 1, 5)),  # the turn of the year
]


@pytest.mark.parametrize(("start", "level", "due"), US_DEADLINES)
def test_us_preset_deadlines_count_calendar_days(world, start, level, due):
    tw = world.a
    tenant = _calendar(tw.tenant, "US")
    version = _adopt(tw, US)
    assert response_deadline(_stage(version, level), start, tenant=tenant) == due


US_WORKING_DEADLINES = [
    # the same stages switched to working days by the admin, US federal holidays
    (D(2026, 11, 20), 3, D(2026, 12, 7)),  # Thanksgiving skipped
    (D(2026, 6, 26), 4, D(2026, 7, 13)),  # Friday 3 July (observed) skipped
    (D(2026, 12, 18), 3, D(2027, 1, 5)),  # Christmas and New Year's Day skipped
    (D(2026, 3, 6), 4, D(2026, 3, 20)),  # two weekends
]


@pytest.mark.parametrize(("start", "level", "due"), US_WORKING_DEADLINES)
def test_us_preset_switched_to_working_days_skips_federal_holidays(world, start, level, due):
    tw = world.a
    tenant = _calendar(tw.tenant, "US")
    version = _adopt(tw, US)
    working = services.ladder_revise(
        membership=tw.members[Role.ADMIN],
        version=version,
        changes={3: {"deadline_basis": "working"}, 4: {"deadline_basis": "working"}},
        reason="Our state counts business days",
    )
    assert response_deadline(_stage(working, level), start, tenant=tenant) == due


def test_a_working_day_deadline_without_a_calendar_skips_weekends_only(world):
    tw = world.a
    version = _adopt(tw, NHS)
    assert tw.tenant.holiday_country == ""
    assert response_deadline(_stage(version, 3), D(2026, 12, 18), tenant=tw.tenant) == D(2027, 1, 1)


def test_the_notice_at_the_nhs_notice_level_is_due_in_ten_operational_days(world, propose):
    tw = world.a
    _calendar(tw.tenant, "GB", "ENG")
    _adopt(tw, NHS)
    with clock.pinned(D(2026, 12, 18)):
        _at_level(propose, 3)
        notice = notices.notice_issue(
            membership=tw.members[Role.COMMISSIONER],
            contract=tw.p1.contract,
            concerns="Waiting times breached for three months",
            required_actions="Attend the Contract Management Meeting with a recovery proposal",
        )
    assert notice.response_due_on == D(2027, 1, 6)


def test_the_cure_notice_is_due_in_ten_calendar_days(world, propose):
    tw = world.a
    _calendar(tw.tenant, "US")
    _adopt(tw, US)
    with clock.pinned(D(2026, 11, 20)):
        _at_level(propose, 3)
        assert notices.default_deadline(tw.p1.contract, clock.today()) == D(2026, 11, 30)


# --- adopting ----------------------------------------------------------------------


def test_adopting_a_preset_writes_a_new_version_and_past_steps_keep_their_stage(world, propose):
    tw = world.a
    step = propose(to_level=1)  # writes the default ladder as version 1
    v1 = step.stage.version
    version = _adopt(tw, NHS)
    assert version.number == 2 and version.note == f"Our contracts are {NHS}"
    assert version.created_by == tw.user(Role.ADMIN)
    assert [s.name for s in version.stages.order_by("level")][3] == "Contract Performance Notice"
    record = _stage(version, 5).history.first()
    assert record.history_user == tw.user(Role.ADMIN) and record.history_change_reason
    step = EscalationStep.objects.get(pk=step.pk)
    assert step.stage.version_id == v1.pk and step.stage.name == "Informal concern"
    assert v1.stages.count() == 6 and version.stages.count() == 8
    later = propose(to_level=2)
    assert later.stage.version_id == version.pk
    # The adopted stages are edited as usual: the next version.
    v3 = services.ladder_revise(
        membership=tw.members[Role.ADMIN],
        version=version,
        changes={5: {"withholding_cap_percent": Decimal("1.50")}},
        reason="Our local cap",
    )
    assert _stage(v3, 5).withholding_cap_percent == Decimal("1.50")
    assert _stage(version, 5).withholding_cap_percent == Decimal("2.00")


def test_a_preset_becomes_version_1_of_a_tenant_without_a_ladder(world):
    tw = world.a
    version = _adopt(tw, US)
    assert version.number == 1 and version.stages.count() == 6
    assert LadderVersion.objects.filter(tenant=world.b.tenant).count() == 0


def test_adopting_is_refused_while_a_contract_sits_at_a_level_the_preset_lacks(
    world, propose, row_counts
):
    tw = world.a
    _adopt(tw, NHS)
    _at_level(propose, 7)  # waits for an executive
    step = EscalationStep.objects.get(contract=tw.p1.contract, to_level=7)
    services.escalation_step_approve(
        membership=tw.members[Role.EXECUTIVE], step=step, note="Agreed"
    )
    before = row_counts()
    with pytest.raises(ValidationError) as refused:
        _adopt(tw, US)
    message = " ".join(refused.value.message_dict["preset"])
    assert tw.p1.contract.reference in message and "levels 0 to 5" in message
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER])
def test_only_the_admin_adopts_a_preset(world, role, row_counts):
    before = row_counts()
    with pytest.raises(PermissionDenied):
        services.ladder_preset_adopt(membership=world.a.members[role], preset_key=NHS, reason="Try")
    assert row_counts() == before


def test_an_unknown_preset_or_no_reason_is_refused(world, row_counts):
    admin = world.a.members[Role.ADMIN]
    before = row_counts()
    with pytest.raises(ValidationError) as unknown:
        services.ladder_preset_adopt(membership=admin, preset_key="nhs", reason="Try")
    assert "There is no ladder preset 'nhs'" in " ".join(unknown.value.message_dict["preset"])
    with pytest.raises(ValidationError) as reasonless:
        services.ladder_preset_adopt(membership=admin, preset_key=NHS, reason="  ")
    assert "reason" in reasonless.value.message_dict
    assert row_counts() == before


# --- pages and API, by role -----------------------------------------------------------


def test_the_preset_pages_by_role(world, as_role, row_counts):
    tw = world.a
    listing, detail = _url(tw, "ladder_presets"), _url(tw, "ladder_preset_detail", preset_key=NHS)
    for role in (Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR):
        client = as_role(role)
        page = client.get(detail).content.decode()
        assert "Contract Performance Notice" in page and "10 working days" in page
        assert "Adopt as the next ladder version" not in page
        assert "U.S. government" in client.get(listing).content.decode()
        before = row_counts()
        assert client.post(detail, {"reason": "Try"}).status_code == 403
        assert row_counts() == before
    provider = as_role(Role.PROVIDER)
    assert provider.get(listing).status_code == 404
    assert provider.get(detail).status_code == 404
    missing = _url(tw, "ladder_preset_detail", preset_key="nope")
    assert as_role(Role.ADMIN).get(missing).status_code == 404


def test_the_admin_previews_and_adopts_a_preset(world, as_role):
    tw = world.a
    admin = as_role(Role.ADMIN)
    assert "Start from a preset" in admin.get(_url(tw, "ladder_detail")).content.decode()
    url = _url(tw, "ladder_preset_detail", preset_key=US)
    page = admin.get(url).content.decode()
    assert "Cure notice" in page and "10 calendar days" in page and "version 1" in page
    refused = admin.post(url, {"reason": ""})
    assert refused.status_code == 400 and not LadderVersion.objects.filter(tenant=tw.tenant)
    adopted = admin.post(url, {"reason": "We follow the FAR"})
    assert adopted.status_code == 302 and adopted["Location"] == _url(tw, "ladder_detail")
    ladder = admin.get(_url(tw, "ladder_detail")).content.decode()
    assert "Show-cause notice" in ladder and "We follow the FAR" in ladder


def test_adopting_a_preset_through_the_api(world, api_client_for, row_counts):
    tw = world.a
    url = _url(tw, "api-ladder-adopt_preset")
    for role in (Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER):
        client = api_client_for(tw.members[role])
        before = row_counts()
        response = client.post(url, {"preset": NHS}, format="json")
        assert response.status_code == 403
        assert row_counts() == before
    admin = api_client_for(tw.members[Role.ADMIN])
    unknown = admin.post(url, {"preset": "nhs"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "preset"
    created = admin.post(url, {"preset": NHS}, format="json", HTTP_X_CHANGE_REASON="Our GC9")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] == 1 and body["note"] == "Our GC9" and body["is_current"]
    five = next(s for s in body["stages"] if s["level"] == 5)
    assert five["withholding_cap_percent"] == "2.00" and five["deadline_basis"] == "working"
