"""axe-core on the escalation pages (the ladder, its edit form, a contract's
escalation record, the propose form, a step's history), as a commissioner,
an executive, a provider and an admin see them, error states included."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import services
from oversight import clock
from oversight.models import Role
from tests.browser.test_accessibility import _visit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _record(tw):
    """P1's contract at level 1, with a level-4 step waiting for an executive."""
    commissioner = tw.members[Role.COMMISSIONER]
    review = clock.today() + dt.timedelta(days=28)
    services.escalation_step_propose(
        membership=commissioner,
        contract=tw.p1.contract,
        to_level=1,
        reason="Missed visits for three months with no explanation",
        proportionality_note="The smallest step that asks for an explanation",
        next_review_on=review,
        evidence=[services.EvidenceItem(kind="incident", text="Missed visit on the 3rd")],
    )
    return services.escalation_step_propose(
        membership=commissioner,
        contract=tw.p1.contract,
        to_level=4,
        reason="No credible recovery",
        justification="A safeguarding incident with harm",
        proportionality_note="The risk to people served is rising",
        next_review_on=review,
    )


def _signal(contract):
    from performance.models import Signal

    now = clock.now()
    return Signal.objects.create(
        tenant_id=contract.tenant_id,
        contract=contract,
        kind="return_late",
        key="return_late:a11y",
        severity="medium",
        message="Returns late three months running",
        opened_at=now,
        last_seen_at=now,
    )


def _heading(text: str):
    """A prepare step that checks the page is the one meant (not a 403 or 404)."""

    def check(page):
        assert text in page.get_by_role("heading", level=1).inner_text()

    return check


def _signal_listed(page):
    assert page.get_by_label("Returns late three months running").count() == 1


def _propose_skipping_a_level(page):
    page.get_by_label("Move to level").select_option("3")
    page.get_by_label("Reason for this step").fill("No explanation")
    page.get_by_label("Proportionality").fill("Formal notice now")
    page.get_by_label("Next review date").fill((clock.today() + dt.timedelta(days=9)).isoformat())
    page.get_by_role("button", name="Propose the step").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"


def _reject_without_a_note(page):
    page.get_by_role("button", name="Reject the step").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-alert--error").count() > 0, "the rejection showed no error"


def _clear_a_stage_name(page):
    page.locator("#id_level_2_name").fill("")
    page.get_by_label("Reason for this change").fill("Rename")
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"


def test_escalation_pages_have_no_accessibility_violations(page, world, sign_in, assert_accessible):
    a = world.a
    slug = a.tenant.slug
    contract = a.p1.contract
    pending = _record(a)
    _signal(a.p2.contract)  # the propose form lists it to attach
    version = services.ladder_for(a.tenant)
    record = _url("contract_escalation", tenant_slug=slug, contract_pk=contract.pk)
    pages = {
        Role.COMMISSIONER: [
            ("a contract's escalation record", record, _heading("Escalation:")),
            (
                "the propose-a-step form",
                _url("escalation_propose", tenant_slug=slug, contract_pk=a.p2.contract.pk),
                _signal_listed,
            ),
            (
                "the propose-a-step form with errors",
                _url("escalation_propose", tenant_slug=slug, contract_pk=a.p2.contract.pk),
                _propose_skipping_a_level,
            ),
            (
                "a step's history",
                _url("escalation_step_history", tenant_slug=slug, escalation_step_pk=pending.pk),
                None,
            ),
            ("the ladder", _url("ladder_detail", tenant_slug=slug), _heading("Escalation ladder")),
        ],
        Role.EXECUTIVE: [
            ("a record with a step to approve", record, _heading("Escalation:")),
            ("a rejection without a note", record, _reject_without_a_note),
        ],
        Role.ADMIN: [
            (
                "the ladder edit form",
                _url("ladder_revise", tenant_slug=slug, ladder_version_pk=version.pk),
                _heading("Edit the escalation ladder"),
            ),
            (
                "the ladder edit form with errors",
                _url("ladder_revise", tenant_slug=slug, ladder_version_pk=version.pk),
                _clear_a_stage_name,
            ),
        ],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)


def test_the_providers_escalation_page_has_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    a = world.a
    _record(a)
    sign_in(page, a.members[Role.PROVIDER].user)
    _visit_all(
        page,
        assert_accessible,
        [
            (
                "the provider's escalation record with a step to acknowledge",
                _url(
                    "contract_escalation", tenant_slug=a.tenant.slug, contract_pk=a.p1.contract.pk
                ),
                None,
            )
        ],
    )


def _adopt_without_a_reason(page):
    page.get_by_label("Reason for adopting the ladder").fill("")
    page.get_by_role("button", name="Adopt the default ladder and edit it").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"


def test_the_default_ladder_page_has_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    a = world.a
    sign_in(page, a.members[Role.ADMIN].user)
    url = _url("ladder_detail", tenant_slug=a.tenant.slug)
    _visit_all(
        page,
        assert_accessible,
        [
            ("the default ladder, before it is written", url, _heading("Escalation ladder")),
            ("the adopt form with errors", url, _adopt_without_a_reason),
        ],
    )


def _adopt_preset_without_a_reason(page):
    page.get_by_label("Reason for adopting this preset").fill("")
    page.get_by_role("button", name="Adopt as the next ladder version").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"


def _calendar_with_a_bad_subdivision(page):
    page.get_by_label("Public holidays of").select_option("GB")
    page.get_by_label("Subdivision (optional)").fill("XX")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"


def test_the_preset_and_settings_pages_have_no_accessibility_violations(
    page, world, sign_in, assert_accessible
):
    a = world.a
    slug = a.tenant.slug
    presets = _url("ladder_presets", tenant_slug=slug)
    nhs = _url("ladder_preset_detail", tenant_slug=slug, preset_key="nhs-standard-contract")
    settings = _url("tenant_settings", tenant_slug=slug)
    pages = {
        Role.ADMIN: [
            ("the ladder presets", presets, _heading("Ladder presets")),
            ("a preset with its adopt form", nhs, _heading("NHS Standard Contract")),
            ("the adopt-a-preset form with errors", nhs, _adopt_preset_without_a_reason),
            ("the organisation's settings", settings, _heading("Settings of")),
            ("the settings form with errors", settings, _calendar_with_a_bad_subdivision),
        ],
        Role.COMMISSIONER: [
            ("a preset, read only", nhs, _heading("NHS Standard Contract")),
        ],
    }
    for role, visits in pages.items():
        page.context.clear_cookies()
        sign_in(page, a.members[role].user)
        _visit_all(page, assert_accessible, visits)
