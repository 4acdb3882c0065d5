"""Every role against every write action, through the pages and the API, and
against every page read.

The parameters come from ``oversight.permissions.ACTIONS`` (× every role), so a
new action is tested the day it is declared; it fails here until it has a
scenario in ``SCENARIOS`` saying which pages and API routes perform it. A page
route named ``*_create`` / ``*_edit`` or an API route accepting POST/PATCH that
no scenario claims fails too.

An allowed role gets the form, saves it, and leaves a history record carrying
its name and reason; any other role gets 403 (404 where the object is not
visible to it at all) and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import URLResolver, get_resolver, resolve, reverse

from contracts.models import Contract, DeliverySite, Milestone, Provider, ServiceType
from oversight import clock, permissions, registry
from oversight.models import Membership, Role
from oversight.permissions import ACTIONS, READS, can_read, require_read
from tests.factories import TenantWorld, UserFactory
from tests.oversight.test_isolation import (
    _url,
    _values,
    add_every_app,
    all_routes,
)

pytestmark = pytest.mark.django_db

ROLES = [r.value for r in Role]
_tags = itertools.count(1)


@dataclass
class Scenario:
    """How to perform one write action as a user would (pages and API)."""

    target: Callable[[TenantWorld], object]  # the object the edit routes change
    find_created: Callable[[TenantWorld, str], object | None]
    is_edited: Callable[[object, str], bool]
    create_page: str | None = None
    create_page_kwargs: Callable[[TenantWorld], dict] = lambda tw: {}
    create_form: Callable[[TenantWorld, str], dict] | None = None
    edit_page: str | None = None
    edit_page_kwarg: str | None = None
    edit_form: Callable[[TenantWorld, object, str], dict] | None = None
    api: str | None = None  # router basename
    api_kwarg: str | None = None
    create_json: Callable[[TenantWorld, str], dict] | None = None
    edit_json: Callable[[TenantWorld, str], dict] | None = None
    api_headers: Callable[[str], dict] = lambda tag: {}  # e.g. an Idempotency-Key
    # roles that cannot see the target at all: they get 404, not 403
    target_hidden_from: set[str] = field(default_factory=set)


def _contract_form(tw: TenantWorld, tag: str, **over) -> dict:
    data = {
        "reference": f"ROLE-{tag}",
        "title": f"Crisis response {tag}",
        "provider": tw.p1.provider.pk,
        "service_type": tw.service_type.pk,
        "status": "active",
        "scope": "Mobile crisis response, 24/7.",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "annual_value": "120000.00",
        "total_value": "240000.00",
        "currency": "USD",
        "payment_model": "block",
        "payment_at_risk_pct": "0",
        "contract_manager": tw.user("commissioner").pk,
        "reporting_frequency": "monthly",
        "protected_core_components": "Peer support worker on every shift",
    }
    data.update(over)
    return data


def _contract_edit_form(tw, contract, tag):
    return _contract_form(tw, tag, reference=contract.reference, title=f"Retitled {tag}")


def _contract_json(tw, tag):
    data = _contract_form(tw, tag)
    data["protected_core_components"] = ["Peer support worker on every shift"]
    return data


SCENARIOS: dict[str, Scenario] = {
    "provider.change": Scenario(
        target=lambda tw: tw.p1.provider,
        find_created=lambda tw, tag: Provider.objects.filter(
            tenant=tw.tenant, name=f"New provider {tag}"
        ).first(),
        is_edited=lambda obj, tag: obj.name == f"Renamed provider {tag}",
        create_page="provider_create",
        create_form=lambda tw, tag: {"name": f"New provider {tag}", "ein": "98-7654321"},
        edit_page="provider_edit",
        edit_page_kwarg="provider_pk",
        edit_form=lambda tw, obj, tag: {"name": f"Renamed provider {tag}"},
        api="api-provider",
        api_kwarg="provider_pk",
        create_json=lambda tw, tag: {"name": f"New provider {tag}"},
        edit_json=lambda tw, tag: {"name": f"Renamed provider {tag}"},
    ),
    "service_type.change": Scenario(
        target=lambda tw: tw.service_type,
        find_created=lambda tw, tag: ServiceType.objects.filter(
            tenant=tw.tenant, name=f"Respite {tag}"
        ).first(),
        is_edited=lambda obj, tag: obj.name == f"Renamed service {tag}",
        create_page="service_type_create",
        create_form=lambda tw, tag: {"code": f"respite-{tag}", "name": f"Respite {tag}"},
        edit_page="service_type_edit",
        edit_page_kwarg="service_type_pk",
        edit_form=lambda tw, obj, tag: {"code": obj.code, "name": f"Renamed service {tag}"},
        api="api-service-type",
        api_kwarg="service_type_pk",
        create_json=lambda tw, tag: {"code": f"respite-{tag}", "name": f"Respite {tag}"},
        edit_json=lambda tw, tag: {"name": f"Renamed service {tag}"},
    ),
    "contract.change": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: Contract.objects.filter(
            tenant=tw.tenant, reference=f"ROLE-{tag}"
        ).first(),
        is_edited=lambda obj, tag: obj.title == f"Retitled {tag}",
        create_page="contract_create",
        create_form=_contract_form,
        edit_page="contract_edit",
        edit_page_kwarg="contract_pk",
        edit_form=_contract_edit_form,
        api="api-contract",
        api_kwarg="contract_pk",
        create_json=_contract_json,
        edit_json=lambda tw, tag: {"title": f"Retitled {tag}"},
    ),
    "site.change": Scenario(
        target=lambda tw: tw.p1.site,
        find_created=lambda tw, tag: DeliverySite.objects.filter(
            tenant=tw.tenant, contract=tw.p1.contract, name=f"New site {tag}"
        ).first(),
        is_edited=lambda obj, tag: obj.name == f"Renamed site {tag}",
        create_page="site_create",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: {"name": f"New site {tag}", "area": "Lake County"},
        edit_page="site_edit",
        edit_page_kwarg="site_pk",
        edit_form=lambda tw, obj, tag: {"name": f"Renamed site {tag}", "area": obj.area},
        api="api-site",
        api_kwarg="site_pk",
        create_json=lambda tw, tag: {
            "contract": tw.p1.contract.pk,
            "name": f"New site {tag}",
            "area": "Lake County",
        },
        edit_json=lambda tw, tag: {"name": f"Renamed site {tag}"},
    ),
    "milestone.change": Scenario(
        target=lambda tw: tw.p1.milestone,
        find_created=lambda tw, tag: Milestone.objects.filter(
            tenant=tw.tenant, contract=tw.p1.contract, title=f"Staff in post {tag}"
        ).first(),
        is_edited=lambda obj, tag: obj.title == f"Renamed milestone {tag}",
        create_page="milestone_create",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: {
            "title": f"Staff in post {tag}",
            "due_date": "2026-03-31",
            "status": "pending",
        },
        edit_page="milestone_edit",
        edit_page_kwarg="milestone_pk",
        edit_form=lambda tw, obj, tag: {
            "title": f"Renamed milestone {tag}",
            "due_date": obj.due_date.isoformat(),
            "status": "met",
            "completed_on": "2025-07-01",
        },
        api="api-milestone",
        api_kwarg="milestone_pk",
        create_json=lambda tw, tag: {
            "contract": tw.p1.contract.pk,
            "title": f"Staff in post {tag}",
            "due_date": "2026-03-31",
        },
        edit_json=lambda tw, tag: {"title": f"Renamed milestone {tag}"},
    ),
    "membership.change": Scenario(
        # the auditor's membership: changed to executive by the edit form
        target=lambda tw: tw.members["auditor"],
        find_created=lambda tw, tag: Membership.objects.filter(
            tenant=tw.tenant, user__email=f"new.member.{tag}@example.org"
        ).first(),
        is_edited=lambda obj, tag: obj.role == Role.EXECUTIVE,
        create_page="member_create",
        create_form=lambda tw, tag: {
            "email": f"new.member.{tag}@example.org",
            "full_name": f"New Member {tag}",
            "role": "commissioner",
        },
        edit_page="member_edit",
        edit_page_kwarg="membership_pk",
        edit_form=lambda tw, obj, tag: {"role": "executive", "is_active": "on"},
        # only the admin and auditors see the member list
        target_hidden_from={Role.COMMISSIONER, Role.EXECUTIVE, Role.PROVIDER},
    ),
    "kpi.change": Scenario(
        target=lambda tw: _perf_kpi(tw),
        find_created=lambda tw, tag: (
            _model("performance.Kpi").objects.filter(tenant=tw.tenant, code=f"kpi-{tag}").first()
        ),
        is_edited=lambda obj, tag: obj.name == f"Renamed KPI {tag}",
        create_page="kpi_create",
        create_form=lambda tw, tag: {
            "code": f"kpi-{tag}",
            "name": f"Missed visits {tag}",
            "definition": "Visits planned but not delivered.",
            "unit": "count",
            "direction": "lower",
            "category": "quality",
            "reporting_level": "contract",
        },
        edit_page="kpi_edit",
        edit_page_kwarg="kpi_pk",
        edit_form=lambda tw, obj, tag: {
            "code": obj.code,
            "name": f"Renamed KPI {tag}",
            "definition": obj.definition,
            "unit": obj.unit,
            "direction": obj.direction,
            "category": obj.category,
            "reporting_level": obj.reporting_level,
        },
    ),
    "contract_kpi.change": Scenario(
        target=lambda tw: _perf_contract_kpi(tw),
        find_created=lambda tw, tag: (
            _model("performance.ContractKpi")
            .objects.filter(contract=tw.p1.contract, kpi__code=f"ck-{tag}")
            .first()
        ),
        is_edited=lambda obj, tag: obj.target == Decimal(tag[1:]),
        create_page="contract_kpi_create",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: {
            "kpi": _library_kpi(tw, f"ck-{tag}").pk,
            "target": "90",
            "amber_tolerance": "5",
            "weight": "1",
            **_NO_PHASES,
        },
        edit_page="contract_kpi_edit",
        edit_page_kwarg="contract_kpi_pk",
        edit_form=lambda tw, obj, tag: {
            "target": tag[1:],
            "amber_tolerance": "0",
            "weight": "1",
            **_NO_PHASES,
        },
    ),
    # A step to level 1 takes effect at once (escalation/services.py). The API's
    # POST escalations/ is tried by role in tests/escalation/test_apis.py.
    "escalation.propose": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("escalation.EscalationStep")
            .objects.filter(tenant=tw.tenant, reason__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="escalation_propose",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: {
            "to_level": "1",
            "proportionality_note": f"Advisory contact before anything formal {tag}",
            "next_review_on": (clock.today() + dt.timedelta(days=28)).isoformat(),
        },
    ),
    # Improvement plans (escalation/plans.py).
    "plan.open": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("escalation.ImprovementPlan")
            .objects.filter(tenant=tw.tenant, issue_statement__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="plan_create",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: {**_plan_data(tag), "root_causes": "Rotas one week ahead"},
        api="api-improvement-plan",
        create_json=lambda tw, tag: {
            "contract": tw.p1.contract.pk,
            **_plan_data(tag),
            "root_causes": ["Rotas one week ahead"],
        },
    ),
    "plan.review": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("escalation.PlanReview")
            .objects.filter(tenant=tw.tenant, note__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="plan_review_create",
        create_page_kwargs=lambda tw: {"improvement_plan_pk": _plan(tw).pk},
        create_form=lambda tw, tag: {
            "held_on": clock.today().isoformat(),
            "note": f"Half the actions verified {tag}",
        },
    ),
    # Review meetings (reviews/services.py).
    "meeting.manage": Scenario(
        target=lambda tw: _scheduled_meeting(tw),
        find_created=lambda tw, tag: (
            _model("reviews.Meeting")
            .objects.filter(tenant=tw.tenant, title__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda meeting, tag: meeting.title.endswith(f" {tag}"),
        create_page="meeting_create",
        edit_page="meeting_edit",
        edit_page_kwarg="meeting_pk",
        edit_form=lambda tw, meeting, tag: {
            "day": (clock.today() + dt.timedelta(days=9)).isoformat(),
            "start": "14:00",
            "end": "15:00",
            "location": "Room 4",
            "title": f"Moved {tag}",
        },
        create_form=lambda tw, tag: {
            "kind": "check_in",
            "contract": str(tw.p1.contract.pk),
            "day": (clock.today() + dt.timedelta(days=7)).isoformat(),
            "start": "10:00",
            "end": "11:00",
            "location": "Room 2B",
            "title": f"Check-in {tag}",
        },
        api="api-meeting",
        create_json=lambda tw, tag: {
            "kind": "check_in",
            "contract": tw.p1.contract.pk,
            "starts_at": f"{clock.today() + dt.timedelta(days=7)}T10:00:00Z",
            "ends_at": f"{clock.today() + dt.timedelta(days=7)}T11:00:00Z",
            "title": f"Check-in {tag}",
        },
    ),
    "roadmap.manage": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("reviews.RoadmapTopic")
            .objects.filter(tenant=tw.tenant, title__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="roadmap_topic_create",
        create_form=lambda tw, tag: {
            "contract": str(tw.p1.contract.pk),
            "month": clock.today().replace(day=1).isoformat(),
            "title": f"Referral matching {tag}",
            "owner": str(tw.members["commissioner"].pk),
        },
        api="api-roadmap-topic",
        create_json=lambda tw, tag: {
            "contract": tw.p1.contract.pk,
            "month": clock.today().replace(day=1).isoformat(),
            "title": f"Referral matching {tag}",
            "owner": tw.members["commissioner"].pk,
        },
    ),
    # Supportive measures, concerns and frontline reports (escalation/support.py).
    "measure.start": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("escalation.SupportiveMeasure")
            .objects.filter(tenant=tw.tenant, description__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="measure_create",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: _measure_data(tw, tag),
        api="api-supportive-measure",
        create_json=lambda tw, tag: {"contract": tw.p1.contract.pk, **_measure_data(tw, tag)},
    ),
    "concern.raise": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("escalation.ProviderConcern")
            .objects.filter(tenant=tw.tenant, drifting__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="concern_create",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: _concern_data(tag),
        api="api-concern",
        create_json=lambda tw, tag: {"contract": tw.p1.contract.pk, **_concern_data(tag)},
    ),
    "frontline_report.create": Scenario(
        target=lambda tw: tw.p1.provider,
        find_created=lambda tw, tag: (
            _model("escalation.FrontlineReport")
            .objects.filter(tenant=tw.tenant, description__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="frontline_report_create",
        create_form=lambda tw, tag: _report_data(tw, tag),
        api="api-frontline-report",
        create_json=lambda tw, tag: _report_data(tw, tag),
    ),
    # The withholding ledger (escalation/withholdings.py): P1's contract is first
    # moved to a level whose stage sets a withholding cap.
    "withholding.record": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("escalation.Withholding")
            .objects.filter(tenant=tw.tenant, ground__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="withholding_create",
        create_page_kwargs=lambda tw: {"contract_pk": _withholding_ready(tw).pk},
        create_form=lambda tw, tag: {**_withholding_data(tag), "request_key": f"roles-{tag}"},
        api="api-withholding",
        create_json=lambda tw, tag: {
            "contract": _withholding_ready(tw).pk,
            **_withholding_data(tag),
        },
        api_headers=lambda tag: {"HTTP_IDEMPOTENCY_KEY": f"roles-{tag}"},
    ),
    # Formal variations (variations/services.py): either side proposes.
    "variation.propose": Scenario(
        target=lambda tw: tw.p1.contract,
        find_created=lambda tw, tag: (
            _model("variations.Variation")
            .objects.filter(tenant=tw.tenant, title__endswith=f" {tag}")
            .first()
        ),
        is_edited=lambda obj, tag: False,
        create_page="variation_propose",
        create_page_kwargs=lambda tw: {"contract_pk": tw.p1.contract.pk},
        create_form=lambda tw, tag: {
            "kind": "volume",
            "title": f"More hours {tag}",
            "rationale": "The waiting list doubled",
            "effective_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
            "change_1_field": "annual_value",
            "change_1_value": "130000",
        },
        api="api-variation",
        create_json=lambda tw, tag: {
            "contract": tw.p1.contract.pk,
            "kind": "volume",
            "title": f"More hours {tag}",
            "rationale": "The waiting list doubled",
            "effective_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
            "changes": [{"field": "annual_value", "value": "130000"}],
        },
    ),
}


def _scheduled_meeting(tw: TenantWorld):
    """A check-in on P1's contract a week ahead, scheduled by the commissioner."""
    from reviews import services

    day = clock.today() + dt.timedelta(days=7)
    return services.meeting_schedule(
        membership=tw.members[Role.COMMISSIONER],
        kind="check_in",
        contract=tw.p1.contract,
        starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
        ends_at=dt.datetime.combine(day, dt.time(11), tzinfo=dt.UTC),
        title="Check-in",
    )


def _withholding_data(tag: str) -> dict:
    return {
        "period": "2026-11",
        "amount": "120.00",
        "ground": f"Until the remedial plan's first milestone is met {tag}",
    }


def _withholding_ready(tw: TenantWorld):
    """P1's contract at level 1 of a ladder whose level 1 sets a 2% withholding cap."""
    from escalation.models import EscalationRecord
    from escalation.services import escalation_step_propose, ladder_for, ladder_revise

    contract = tw.p1.contract
    record = EscalationRecord.objects.filter(contract=contract).select_related("stage").first()
    if record is None or record.stage is None or record.stage.withholding_cap_percent is None:
        ladder_revise(
            membership=tw.members[Role.ADMIN],
            version=ladder_for(tw.tenant),
            changes={1: {"withholding_cap_percent": Decimal("2")}},
            reason="Withholding allowed at level 1",
        )
        escalation_step_propose(
            membership=tw.members[Role.COMMISSIONER],
            contract=contract,
            to_level=1,
            reason="Missed visits unexplained",
            proportionality_note="Advisory contact first",
            next_review_on=clock.today() + dt.timedelta(days=28),
        )
    return contract


def _withholding(tw: TenantWorld):
    """Money withheld on P1's contract, tied to nothing but its ground."""
    from escalation.withholdings import withholding_record

    return withholding_record(
        membership=tw.members[Role.COMMISSIONER],
        contract=_withholding_ready(tw),
        period=dt.date(2026, 11, 1),
        amount=Decimal("100"),
        ground="Until the remedial plan's first milestone is met",
        reason="Withheld under the remedy",
    )


def _measure_data(tw: TenantWorld, tag: str) -> dict:
    return {
        "kind": "technical_assistance",
        "description": f"Rostering help from the county's workforce team {tag}",
        "owner": tw.user("commissioner").pk,
        "starts_on": clock.today().isoformat(),
        "review_on": (clock.today() + dt.timedelta(days=42)).isoformat(),
        "recovery_expectation": "Missed visits under 2% within six weeks",
    }


def _concern_data(tag: str) -> dict:
    return {
        "drifting": f"Visit times slipping in the north of the county {tag}",
        "drivers": "Two carers left and agency cover is thin",
        "mitigation": "Overtime offered; rounds re-planned",
        "support_requested": "A two-week pause in new referrals",
    }


def _report_data(tw: TenantWorld, tag: str) -> dict:
    return {
        "provider": tw.p1.provider.pk,
        "category": "transport",
        "occurred_on": clock.today().isoformat(),
        "description": f"The day-centre bus did not come {tag}",
    }


_NO_PHASES = {
    "phases-TOTAL_FORMS": "0",
    "phases-INITIAL_FORMS": "0",
    "phases-MIN_NUM_FORMS": "0",
    "phases-MAX_NUM_FORMS": "1000",
}


def _model(label: str):
    return apps.get_model(label)


def _library_kpi(tw: TenantWorld, code: str):
    return _model("performance.Kpi").objects.create(
        tenant=tw.tenant,
        code=code,
        name=f"Measure {code}",
        definition="A measure in the library.",
        unit="percentage",
        direction="higher",
        category="outcome",
    )


def _write_route_names() -> tuple[set[str], set[str]]:
    """(page route names ending _create/_edit, API basenames accepting POST/PATCH)
    under /t/<tenant_slug>/ and /api/v1/t/<tenant_slug>/, from the resolver."""

    def leaves(patterns, prefix=""):
        for p in patterns:
            regex = prefix + p.pattern.regex.pattern
            if isinstance(p, URLResolver):
                yield from leaves(p.url_patterns, regex)
            else:
                yield regex, p

    pages, api = set(), set()
    for regex, p in leaves(get_resolver().url_patterns):
        if "tenant_slug" not in regex or not p.name:
            continue
        actions = getattr(p.callback, "actions", None)
        if actions is not None:
            if {"post", "patch", "put"} & set(actions):
                api.add(p.name.rsplit("-", 1)[0])
        elif p.name.endswith(("_create", "_edit", "_new", "_update", "_delete")):
            pages.add(p.name)
    return pages, api


def test_every_action_has_a_scenario():
    missing = sorted(set(ACTIONS) - set(SCENARIOS) - set(WORKFLOWS) - set(UNROUTED))
    assert not missing, (
        f"ACTIONS declares {missing} but tests/oversight/test_roles.py has no scenario for "
        "them: add one to SCENARIOS (create/edit pages and API) or WORKFLOWS (a POST that "
        "moves an object on) saying which pages and API routes perform the action."
    )


def test_every_write_route_is_claimed_by_a_scenario():
    pages, api = _write_route_names()
    assert pages and api, "the resolver walk found no write routes"
    claimed_pages = {s.create_page for s in SCENARIOS.values()} | {
        s.edit_page for s in SCENARIOS.values()
    }
    claimed_api = {s.api for s in SCENARIOS.values()} | {
        w.api.rsplit("-", 1)[0] for w in WORKFLOWS.values() if w.api
    }
    assert not pages - claimed_pages, (
        f"page routes {sorted(pages - claimed_pages)} write but no role scenario covers them"
    )
    assert not api - claimed_api, (
        f"API routes {sorted(api - claimed_api)} write but no role scenario covers them"
    )


def _scenario(action: str) -> Scenario:
    return SCENARIOS[action]


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.label != "sessions.Session"
    }


def _latest_history(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


def _assert_history(obj, *, user, reason: str, kind: str) -> None:
    record = _latest_history(obj)
    assert record is not None
    assert record.history_type == kind
    assert record.history_user == user
    assert record.history_change_reason == reason


def _form_errors(response) -> str:
    """What the user would read on a form page that did not save."""
    context = response.context or {}
    form = context.get("form")
    if form is None:
        return f"status {response.status_code}"
    return f"status {response.status_code}: {form.errors.as_json()}"


def _denied_status(scenario: Scenario, role: str, *, on_target: bool) -> int:
    return 404 if on_target and role in scenario.target_hidden_from else 403


# Actions without a scenario fail once, in test_every_action_has_a_scenario,
# rather than once per role and route.
ROLE_ACTION = [(action, role) for action in ACTIONS if action in SCENARIOS for role in ROLES]
# Scenarios without API routes (the KPI library is read-only in the API) are
# not parametrised there rather than skipped; nor, for updates, those whose API
# only creates (a measure, a concern and a report are not edited).
ROLE_ACTION_API = [(a, r) for a, r in ROLE_ACTION if SCENARIOS[a].api]
# Likewise a scenario with a create page and no edit page (an escalation step
# is proposed, never edited) is parametrised only where it has the page.
ROLE_ACTION_CREATE = [(a, r) for a, r in ROLE_ACTION if SCENARIOS[a].create_page]
ROLE_ACTION_EDIT = [(a, r) for a, r in ROLE_ACTION if SCENARIOS[a].edit_page]
ROLE_ACTION_API_EDIT = [(a, r) for a, r in ROLE_ACTION_API if SCENARIOS[a].edit_json]


@pytest.mark.parametrize(("action", "role"), ROLE_ACTION_CREATE)
def test_page_create(world, client_for, action, role):
    scenario = _scenario(action)
    tw = world.a
    member = tw.members[role]
    client = client_for(member)
    url = reverse(
        scenario.create_page,
        kwargs={"tenant_slug": tw.tenant.slug, **scenario.create_page_kwargs(tw)},
    )
    tag = f"p{next(_tags)}"
    reason = f"Page create by {role} {tag}"
    data = {**scenario.create_form(tw, tag), "reason": reason}
    allowed = role in ACTIONS[action]

    before = _counts()
    form = client.get(url)
    response = client.post(url, data)
    created = scenario.find_created(tw, tag)

    if allowed:
        assert form.status_code == 200
        assert 'name="reason"' in form.content.decode()
        assert response.status_code == 302, _form_errors(response)
        assert created is not None
        _assert_history(created, user=member.user, reason=reason, kind="+")
    else:
        assert form.status_code == 403
        assert response.status_code == 403
        assert created is None
        assert _counts() == before


@pytest.mark.parametrize(("action", "role"), ROLE_ACTION_EDIT)
def test_page_edit(world, client_for, action, role):
    scenario = _scenario(action)
    tw = world.a
    member = tw.members[role]
    client = client_for(member)
    target = scenario.target(tw)
    url = reverse(
        scenario.edit_page,
        kwargs={"tenant_slug": tw.tenant.slug, scenario.edit_page_kwarg: target.pk},
    )
    tag = f"e{next(_tags)}"
    reason = f"Page edit by {role} {tag}"
    data = {**scenario.edit_form(tw, target, tag), "reason": reason}
    allowed = role in ACTIONS[action]

    before = _counts()
    form = client.get(url)
    response = client.post(url, data)
    target.refresh_from_db()

    if allowed:
        assert form.status_code == 200
        assert response.status_code == 302, _form_errors(response)
        assert scenario.is_edited(target, tag)
        _assert_history(target, user=member.user, reason=reason, kind="~")
    else:
        expected = _denied_status(scenario, role, on_target=True)
        assert form.status_code == expected
        assert response.status_code == expected
        assert not scenario.is_edited(target, tag)
        assert _counts() == before


@pytest.mark.parametrize(("action", "role"), ROLE_ACTION_API)
def test_api_create(world, api_client_for, action, role):
    scenario = _scenario(action)
    tw = world.a
    member = tw.members[role]
    url = reverse(f"{scenario.api}-list", kwargs={"tenant_slug": tw.tenant.slug})
    tag = f"a{next(_tags)}"
    reason = f"API create by {role} {tag}"
    allowed = role in ACTIONS[action]

    client = api_client_for(member)
    body = scenario.create_json(tw, tag)  # may prepare the target (a level that allows it)
    before = _counts()
    response = client.post(
        url,
        body,
        format="json",
        HTTP_X_CHANGE_REASON=reason,
        **scenario.api_headers(tag),
    )
    created = scenario.find_created(tw, tag)

    if allowed:
        assert response.status_code == 201, response.content
        assert created is not None
        assert response.json()["id"] == created.pk
        _assert_history(created, user=member.user, reason=reason, kind="+")
    else:
        assert response.status_code == 403
        assert created is None
        assert _counts() == before


@pytest.mark.parametrize(("action", "role"), ROLE_ACTION_API_EDIT)
def test_api_update(world, api_client_for, action, role):
    scenario = _scenario(action)
    tw = world.a
    member = tw.members[role]
    target = scenario.target(tw)
    url = reverse(
        f"{scenario.api}-detail",
        kwargs={"tenant_slug": tw.tenant.slug, scenario.api_kwarg: target.pk},
    )
    tag = f"u{next(_tags)}"
    reason = f"API update by {role} {tag}"
    allowed = role in ACTIONS[action]

    client = api_client_for(member)
    before = _counts()
    response = client.patch(
        url, scenario.edit_json(tw, tag), format="json", HTTP_X_CHANGE_REASON=reason
    )
    target.refresh_from_db()

    if allowed:
        assert response.status_code == 200, response.content
        assert scenario.is_edited(target, tag)
        _assert_history(target, user=member.user, reason=reason, kind="~")
    else:
        assert response.status_code == _denied_status(scenario, role, on_target=True)
        assert not scenario.is_edited(target, tag)
        assert _counts() == before


# --- Workflow actions: a POST that moves an object on (submit, accept, acknowledge)


def _perf_kpi(tw: TenantWorld):
    from performance.models import Kpi

    kpi, _ = Kpi.objects.get_or_create(
        tenant=tw.tenant,
        code="first-contact",
        defaults={
            "name": "Days to first contact",
            "definition": "Days from referral to first contact.",
            "unit": "days",
            "direction": "lower",
            "category": "timeliness",
        },
    )
    return kpi


def _perf_contract_kpi(tw: TenantWorld):
    from performance.models import ContractKpi

    ck, _ = ContractKpi.objects.get_or_create(
        tenant=tw.tenant, contract=tw.p1.contract, kpi=_perf_kpi(tw), defaults={"target": 5}
    )
    return ck


def _perf_period(tw: TenantWorld, month: int = 3):
    from performance.models import ReportingPeriod

    start = dt.date(2025, month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    period, _ = ReportingPeriod.objects.get_or_create(
        tenant=tw.tenant,
        contract=tw.p1.contract,
        frequency="monthly",
        start=start,
        defaults={
            "end": end,
            "due_date": end + dt.timedelta(days=15),
            "missing_after": end + dt.timedelta(days=45),
        },
    )
    return period


def _perf_return(tw: TenantWorld, status: str):
    from performance.models import Return, ReturnValue

    ck = _perf_contract_kpi(tw)
    author = tw.user("provider")
    ret = Return.objects.create(
        tenant=tw.tenant,
        contract=tw.p1.contract,
        period=_perf_period(tw),
        status=status,
        source="web",
        narrative="Referrals steady; one vacancy filled.",
        created_by=author,
        submitted_by=author if status != "draft" else None,
        submitted_at=clock.now() if status != "draft" else None,
    )
    ReturnValue.objects.create(tenant=tw.tenant, return_obj=ret, contract_kpi=ck, value=4)
    return ret


def _perf_signal(tw: TenantWorld):
    from performance.models import Signal

    now = clock.now()
    return Signal.objects.create(
        tenant=tw.tenant,
        contract=tw.p1.contract,
        kind="return_late",
        key="return_late:roles",
        severity="medium",
        message="Returns late three months running",
        opened_at=now,
        last_seen_at=now,
    )


def _variation(tw: TenantWorld, *, status: str):
    """A variation of P1's contract proposed by P1's member, moved on to
    ``status`` ("submitted" or "under_assessment", assessed: its decision is
    the commissioning side's, and needs no executive)."""
    from variations import services

    variation = services.variation_propose(
        membership=tw.members[Role.PROVIDER],
        contract=tw.p1.contract,
        kind="volume",
        title="More hours",
        rationale="The waiting list doubled",
        effective_on=clock.today() + dt.timedelta(days=30),
        changes=[services.ChangeInput(field="annual_value", value="130000")],
        reason="Proposed",
        submit=True,
    )
    if status == "under_assessment":
        assessor = tw.members[Role.COMMISSIONER]
        services.variation_assessment_start(membership=assessor, variation=variation)
        services.variation_assess(
            membership=assessor,
            variation=variation,
            assessment=services.Assessment(
                cost_per_year=Decimal("10000"),
                cost_total=Decimal("10000"),
                quality_impact="None",
                outcomes_impact="More people served",
                risk_impact="None",
            ),
            reason="Assessed",
        )
    variation.refresh_from_db()
    return variation


def _status_of(obj) -> str:
    return type(obj).objects.get(pk=obj.pk).status


def _policy(tw: TenantWorld):
    from variations.services import policy_for

    return policy_for(tw.tenant)


def _policy_changed(policy) -> bool:
    from variations.models import VariationPolicy

    saved = VariationPolicy.objects.filter(tenant=policy.tenant).first()
    return saved is not None and saved.executive_above == Decimal("54321")


@dataclass
class Workflow:
    """A write that moves an object on, performed by one POST (page and API)."""

    prepare: Callable[[TenantWorld], object]  # P1's object, in the state the action needs
    is_done: Callable[[object], bool]
    written: Callable[[object], object]  # the row whose history records the action
    page: str | None = None  # URL name taking a POST
    page_kwarg: str | None = None  # None: a page of the tenant itself (its settings)
    page_data: Callable[[object, str], dict] = lambda obj, tag: {}
    api: str | None = None  # URL name taking a POST
    api_kwarg: str | None = None  # None: a list route (creates)
    api_prepare: Callable[[TenantWorld], object] | None = None
    api_data: Callable[[object, str], dict] = lambda obj, tag: {}
    api_headers: Callable[[str], dict] = lambda tag: {}
    hidden_from: set[str] = field(default_factory=set)


def _created_return(period):
    return period.returns.filter(status="submitted").first()


def _on_behalf_form(period, tag: str) -> dict:
    ck = _perf_contract_kpi_of(period)
    return {
        "action": "submit",
        "narrative": f"Entered from the provider's emailed spreadsheet {tag}",
        f"k{ck.pk}-value": "4",
        "on_behalf_reason": f"The provider's portal login is broken {tag}",
    }


def _perf_contract_kpi_of(period):
    return period.contract.contract_kpis.get(kpi__code="first-contact")


def _entered_on_behalf(period) -> bool:
    return period.returns.filter(status="submitted", entered_on_behalf_by__isnull=False).exists()


WORKFLOWS: dict[str, Workflow] = {
    # Formal variations (variations/services.py).
    "variation.assess": Workflow(
        prepare=lambda tw: _variation(tw, status="submitted"),
        is_done=lambda v: _status_of(v) == "under_assessment",
        written=lambda v: v,
        page="variation_assessment_start",
        page_kwarg="variation_pk",
        api="api-variation-start-assessment",
        api_kwarg="variation_pk",
    ),
    "variation.approve": Workflow(
        prepare=lambda tw: _variation(tw, status="under_assessment"),
        is_done=lambda v: _status_of(v) == "approved",
        written=lambda v: v,
        page="variation_decide",
        page_kwarg="variation_pk",
        page_data=lambda v, tag: {"decision": "approve", "decision_note": f"Agreed {tag}"},
        api="api-variation-approve",
        api_kwarg="variation_pk",
        api_data=lambda v, tag: {"note": f"Agreed {tag}"},
    ),
    "variation_policy.change": Workflow(
        prepare=_policy,
        is_done=_policy_changed,
        written=lambda policy: type(policy).objects.get(tenant=policy.tenant),
        page="variation_policy",
        page_data=lambda policy, tag: {
            "executive_above": "54321",
            "executive_for_protected": "on",
            "reason": f"A lower threshold {tag}",
        },
    ),
    "return.submit": Workflow(
        prepare=lambda tw: _perf_return(tw, "draft"),
        is_done=lambda ret: type(ret).objects.get(pk=ret.pk).status == "submitted",
        written=lambda ret: ret,
        page="return_submit",
        page_kwarg="return_pk",
        api="api-return-list",
        api_prepare=lambda tw: (_perf_contract_kpi(tw), _perf_period(tw, month=4))[1],
        api_data=lambda period, tag: {
            "contract": period.contract.reference,
            "period": period.label,
            "narrative": f"April {tag}",
            "values": [{"kpi_code": "first-contact", "value": "4"}],
        },
        api_headers=lambda tag: {"HTTP_IDEMPOTENCY_KEY": f"roles-{tag}"},
    ),
    # A commissioner's return for the provider: its own form and the API's
    # on_behalf_reason; a provider sending either is refused (issue 7).
    "return.enter_on_behalf": Workflow(
        prepare=lambda tw: (_perf_contract_kpi(tw), _perf_period(tw, month=5))[1],
        is_done=_entered_on_behalf,
        written=lambda period: period.returns.get(status="submitted"),
        page="period_return_on_behalf",
        page_kwarg="period_pk",
        page_data=_on_behalf_form,
        api="api-return-list",
        api_data=lambda period, tag: {
            "contract": period.contract.reference,
            "period": period.label,
            "narrative": f"May {tag}",
            "values": [{"kpi_code": "first-contact", "value": "4"}],
            "on_behalf_reason": f"The provider phoned the figures in {tag}",
        },
        api_headers=lambda tag: {"HTTP_IDEMPOTENCY_KEY": f"roles-behalf-{tag}"},
    ),
    "return.review": Workflow(
        prepare=lambda tw: _perf_return(tw, "submitted"),
        is_done=lambda ret: type(ret).objects.get(pk=ret.pk).status == "accepted",
        written=lambda ret: ret,
        page="return_review",
        page_kwarg="return_pk",
        page_data=lambda ret, tag: {"decision": "accept", "comment": f"Checked {tag}"},
        api="api-return-accept",
        api_kwarg="return_pk",
        api_data=lambda ret, tag: {"comment": f"Checked {tag}"},
    ),
    "signal.acknowledge": Workflow(
        prepare=_perf_signal,
        is_done=lambda s: type(s).objects.get(pk=s.pk).status == "acknowledged",
        written=lambda s: s,
        page="signal_acknowledge",
        page_kwarg="signal_pk",
        page_data=lambda s, tag: {"note": f"Called the provider {tag}"},
        api="api-signal-acknowledge",
        api_kwarg="signal_pk",
        api_data=lambda s, tag: {"note": f"Called the provider {tag}"},
    ),
    # The organisation's settings: its public holidays calendar (the tenant itself).
    "tenant.change": Workflow(
        prepare=lambda tw: tw.tenant,
        is_done=lambda t: type(t).objects.get(pk=t.pk).holiday_country == "GB",
        written=lambda t: type(t).objects.get(pk=t.pk),
        page="tenant_settings",
        page_data=lambda t, tag: {
            "holiday_country": "GB",
            "holiday_subdivision": "ENG",
            "reason": f"Our bank holidays are England's {tag}",
        },
    ),
    "ladder.change": Workflow(
        prepare=lambda tw: _ladder(tw),
        is_done=lambda v: _next_ladder(v) is not None,
        written=lambda v: _next_ladder(v),
        page="ladder_revise",
        page_kwarg="ladder_version_pk",
        page_data=lambda v, tag: _ladder_form(v, tag),
        api="api-ladder-revise",
        api_kwarg="ladder_version_pk",
        api_data=lambda v, tag: {
            "stages": [{"level": 1, "name": f"Informal concern {tag}"}],
            "change_reason": f"Our own words for level 1 {tag}",
        },
    ),
    "escalation.approve": Workflow(
        prepare=lambda tw: _escalation_step(tw, to_level=4),
        is_done=lambda s: type(s).objects.get(pk=s.pk).status == "effective",
        written=lambda s: s,
        page="escalation_step_approve",
        page_kwarg="escalation_step_pk",
        page_data=lambda s, tag: {"note": f"Proportionate to the risk {tag}"},
        api="api-escalation-approve",
        api_kwarg="escalation_step_pk",
        api_data=lambda s, tag: {"note": f"Proportionate to the risk {tag}"},
    ),
    "escalation.reject": Workflow(
        prepare=lambda tw: _escalation_step(tw, to_level=4),
        is_done=lambda s: type(s).objects.get(pk=s.pk).status == "rejected",
        written=lambda s: s,
        page="escalation_step_reject",
        page_kwarg="escalation_step_pk",
        page_data=lambda s, tag: {"note": f"Try enhanced monitoring first {tag}"},
        api="api-escalation-reject",
        api_kwarg="escalation_step_pk",
        api_data=lambda s, tag: {"note": f"Try enhanced monitoring first {tag}"},
    ),
    "escalation.acknowledge": Workflow(
        prepare=lambda tw: _escalation_step(tw, to_level=1),
        is_done=lambda s: type(s).objects.get(pk=s.pk).acknowledged_at is not None,
        written=lambda s: s,
        page="escalation_step_acknowledge",
        page_kwarg="escalation_step_pk",
        api="api-escalation-acknowledge",
        api_kwarg="escalation_step_pk",
    ),
    # Formal notices (escalation/notices.py): the commissioning side closes its
    # own notice once responded (notice.issue) and answers the provider's
    # (notice.answer); the provider withdraws its own (notice.raise) and responds
    # to the commissioner's (notice.respond). Issuing by role is tried in
    # tests/escalation/test_notices_api.py and test_notices_views.py.
    "notice.issue": Workflow(
        prepare=lambda tw: _notice(tw, to_provider=True, responded=True),
        is_done=lambda n: type(n).objects.get(pk=n.pk).status == "closed",
        written=lambda n: n,
        page="notice_close",
        page_kwarg="formal_notice_pk",
        page_data=lambda n, tag: {"close-note": f"Actions taken as required {tag}"},
        api="api-notice-close",
        api_kwarg="formal_notice_pk",
        api_data=lambda n, tag: {"note": f"Actions taken as required {tag}"},
    ),
    "notice.respond": Workflow(
        prepare=lambda tw: _notice(tw, to_provider=True),
        is_done=lambda n: type(n).objects.get(pk=n.pk).status == "responded",
        written=lambda n: n,
        page="notice_respond",
        page_kwarg="formal_notice_pk",
        page_data=lambda n, tag: {"response": f"Two carers recruited, rota attached {tag}"},
        api="api-notice-respond",
        api_kwarg="formal_notice_pk",
        api_data=lambda n, tag: {"response": f"Two carers recruited, rota attached {tag}"},
    ),
    "notice.raise": Workflow(
        prepare=lambda tw: _notice(tw, to_provider=False),
        is_done=lambda n: type(n).objects.get(pk=n.pk).status == "withdrawn",
        written=lambda n: n,
        page="notice_withdraw",
        page_kwarg="formal_notice_pk",
        page_data=lambda n, tag: {"withdraw-note": f"The invoices were paid {tag}"},
        api="api-notice-withdraw",
        api_kwarg="formal_notice_pk",
        api_data=lambda n, tag: {"note": f"The invoices were paid {tag}"},
    ),
    "notice.answer": Workflow(
        prepare=lambda tw: _notice(tw, to_provider=False),
        is_done=lambda n: type(n).objects.get(pk=n.pk).status == "responded",
        written=lambda n: n,
        page="notice_respond",
        page_kwarg="formal_notice_pk",
        page_data=lambda n, tag: {"response": f"Paid on the 3rd, remittance attached {tag}"},
        api="api-notice-respond",
        api_kwarg="formal_notice_pk",
        api_data=lambda n, tag: {"response": f"Paid on the 3rd, remittance attached {tag}"},
    ),
    # Improvement plans: plan.manage is shown by agreeing a plan (page) and
    # adding an action (API); the actions' life by their three routes.
    "plan.manage": Workflow(
        prepare=lambda tw: _plan(tw),
        is_done=lambda p: type(p).objects.get(pk=p.pk).status == "agreed" or p.actions.count() > 1,
        written=lambda p: (
            p.actions.order_by("-id").first()
            if p.actions.count() > 1
            else type(p).objects.get(pk=p.pk)
        ),
        page="plan_agree",
        page_kwarg="improvement_plan_pk",
        page_data=lambda p, tag: {"note": f"Agreed at the meeting {tag}"},
        api="api-improvement-plan-add-action",
        api_kwarg="improvement_plan_pk",
        api_data=lambda p, tag: {
            "description": f"Recruit two senior carers {tag}",
            "lead": "Sam Ortiz",
            "milestone": "Two carers in post",
            "due_on": (clock.today() + dt.timedelta(days=60)).isoformat(),
            "evidence_expected": "Contracts signed",
        },
    ),
    "plan_action.complete": Workflow(
        prepare=lambda tw: _plan_action(tw),
        is_done=lambda a: type(a).objects.get(pk=a.pk).status == "done",
        written=lambda a: a,
        page="action_done",
        page_kwarg="plan_action_pk",
        page_data=lambda a, tag: {f"action-{a.pk}-completion_evidence": f"Rotas out {tag}"},
        api="api-plan-action-done",
        api_kwarg="plan_action_pk",
        api_data=lambda a, tag: {"completion_evidence": f"Rotas out {tag}"},
    ),
    "plan_action.verify": Workflow(
        prepare=lambda tw: _plan_action(tw, done=True),
        is_done=lambda a: type(a).objects.get(pk=a.pk).status == "verified",
        written=lambda a: a,
        page="action_verify",
        page_kwarg="plan_action_pk",
        page_data=lambda a, tag: {f"action-{a.pk}-note": f"Checked {tag}"},
        api="api-plan-action-verify",
        api_kwarg="plan_action_pk",
        api_data=lambda a, tag: {"note": f"Checked {tag}"},
    ),
    "plan_action.reopen": Workflow(
        prepare=lambda tw: _plan_action(tw, done=True),
        is_done=lambda a: type(a).objects.get(pk=a.pk).status == "open",
        written=lambda a: a,
        page="action_reopen",
        page_kwarg="plan_action_pk",
        page_data=lambda a, tag: {f"action-{a.pk}-reopen_reason": f"Two weeks only {tag}"},
        api="api-plan-action-reopen",
        api_kwarg="plan_action_pk",
        api_data=lambda a, tag: {"reopen_reason": f"Two weeks only {tag}"},
    ),
    # A review meeting's action: its owner's side marks it done (page and API).
    "meeting_action.update": Workflow(
        prepare=lambda tw: _meeting_action(tw),
        is_done=lambda a: type(a).objects.get(pk=a.pk).status == "done",
        written=lambda a: a,
        page="meeting_action_done",
        page_kwarg="meeting_action_pk",
        page_data=lambda a, tag: {f"action-{a.pk}-note": f"Rota published {tag}"},
        api="api-meeting-action-done",
        api_kwarg="meeting_action_pk",
        api_data=lambda a, tag: {"note": f"Rota published {tag}"},
    ),
    "measure.end": Workflow(
        prepare=lambda tw: _measure(tw),
        is_done=lambda m: type(m).objects.get(pk=m.pk).status == "ended",
        written=lambda m: m,
        page="measure_end",
        page_kwarg="supportive_measure_pk",
        page_data=lambda m, tag: {"outcome_note": f"Rostering stable again {tag}"},
        api="api-supportive-measure-end",
        api_kwarg="supportive_measure_pk",
        api_data=lambda m, tag: {"outcome_note": f"Rostering stable again {tag}"},
    ),
    "withholding.release": Workflow(
        prepare=lambda tw: _withholding(tw),
        is_done=lambda w: type(w).objects.get(pk=w.pk).status == "released",
        written=lambda w: w,
        page="withholding_release",
        page_kwarg="withholding_pk",
        page_data=lambda w, tag: {"release_note": f"Two carers in post {tag}"},
        api="api-withholding-release",
        api_kwarg="withholding_pk",
        api_data=lambda w, tag: {"note": f"Two carers in post {tag}"},
    ),
    "withholding.retain": Workflow(
        prepare=lambda tw: _withholding(tw),
        is_done=lambda w: type(w).objects.get(pk=w.pk).status == "retained",
        written=lambda w: w,
        page="withholding_retain",
        page_kwarg="withholding_pk",
        page_data=lambda w, tag: {"retain_note": f"No carer recruited by the deadline {tag}"},
        api="api-withholding-retain",
        api_kwarg="withholding_pk",
        api_data=lambda w, tag: {"note": f"No carer recruited by the deadline {tag}"},
    ),
    "concern.acknowledge": Workflow(
        prepare=lambda tw: _concern(tw),
        is_done=lambda c: type(c).objects.get(pk=c.pk).status == "acknowledged",
        written=lambda c: c,
        page="concern_acknowledge",
        page_kwarg="provider_concern_pk",
        page_data=lambda c, tag: {"acknowledgement_note": f"We will pause referrals {tag}"},
        api="api-concern-acknowledge",
        api_kwarg="provider_concern_pk",
        api_data=lambda c, tag: {"note": f"We will pause referrals {tag}"},
    ),
}


def _notice(tw: TenantWorld, *, to_provider: bool, responded: bool = False):
    """A formal notice on P1's contract: the commissioner's to the provider (the
    contract moved to level 3 first), or the provider's to the commissioner."""
    from escalation.notices import notice_issue, notice_respond
    from escalation.services import escalation_step_propose

    commissioner, provider = tw.members[Role.COMMISSIONER], tw.members[Role.PROVIDER]
    if to_provider:
        escalation_step_propose(
            membership=commissioner,
            contract=tw.p1.contract,
            to_level=3,
            reason="Three months of missed visits unexplained",
            proportionality_note="Informal contact brought no change",
            justification="A safeguarding incident with harm",
            next_review_on=clock.today() + dt.timedelta(days=28),
        )
    notice = notice_issue(
        membership=commissioner if to_provider else provider,
        contract=tw.p1.contract,
        ground="" if to_provider else "late_payment",
        concerns="Missed visits" if to_provider else "Invoices unpaid for two months",
        required_actions="Recruit and report" if to_provider else "Pay the invoices",
        # the commissioner's defaults to level 3's response days; level 0 sets none
        response_due_on=None if to_provider else clock.today() + dt.timedelta(days=10),
    )
    if responded:
        notice = notice_respond(membership=provider, notice=notice, response="Recruited two")
    return notice


def _plan_data(tag: str) -> dict:
    return {
        "issue_statement": f"Missed visits rising {tag}",
        "symptoms": "Missed visits at 6% against a 2% target",
        "settling_periods": 3,
    }


def _plan(tw: TenantWorld):
    """A draft plan on P1's contract with one open action (and no control)."""
    from escalation import plans

    return plans.plan_open(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        issue_statement="Missed visits rising",
        symptoms="Missed visits at 6%",
        root_causes=["Rotas one week ahead"],
        actions=[
            plans.ActionInput(
                description="Plan rotas four weeks ahead",
                lead="Dana Whitfield",
                milestone="Rotas published",
                due_on=clock.today() + dt.timedelta(days=30),
                evidence_expected="The rotas",
            )
        ],
        controls=[],
    )


def _plan_action(tw: TenantWorld, *, done: bool = False):
    from escalation import plans

    action = _plan(tw).actions.get()
    if done:
        action = plans.action_mark_done(
            membership=tw.members[Role.PROVIDER], action=action, evidence="Rotas out"
        )
    return action


def _meeting_action(tw: TenantWorld):
    """An open action owned by P1's provider member, from a started meeting."""
    from reviews import services

    commissioner = tw.members["commissioner"]
    meeting = services.meeting_schedule(
        membership=commissioner,
        kind="sprint",
        contract=tw.p1.contract,
        starts_at=clock.now(),
        ends_at=clock.now() + dt.timedelta(hours=1),
    )
    services.meeting_start(membership=commissioner, meeting=meeting)
    return services.meeting_action_add(
        membership=commissioner,
        meeting=meeting,
        description="Publish the back-up rota",
        owner=tw.members["provider"],
        due_on=clock.today() + dt.timedelta(days=14),
    )


def _measure(tw: TenantWorld):
    """An active supportive measure on P1's contract."""
    from escalation.support import measure_start

    return measure_start(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        reason="Support offered",
        **{
            **_measure_data(tw, "roles"),
            "owner": tw.user("commissioner"),
            "starts_on": clock.today(),
            "review_on": clock.today() + dt.timedelta(days=42),
        },
    )


def _concern(tw: TenantWorld):
    """A concern P1's member raised on its contract."""
    from escalation.support import concern_raise

    return concern_raise(
        membership=tw.members[Role.PROVIDER], contract=tw.p1.contract, **_concern_data("roles")
    )


def _ladder(tw: TenantWorld):
    from escalation.services import ladder_for

    return ladder_for(tw.tenant)


def _next_ladder(version):
    return type(version).objects.filter(tenant=version.tenant, number=version.number + 1).first()


def _ladder_form(version, tag: str) -> dict:
    """The ladder's edit form as the admin sends it: every level, level 1 renamed."""
    data = {"reason": f"Our own words for level 1 {tag}"}
    for stage in version.stages.all():
        prefix = f"level_{stage.level}_"
        data.update(
            {
                prefix + "name": f"Informal concern {tag}" if stage.level == 1 else stage.name,
                prefix + "description": stage.description,
                prefix + "response_days": stage.response_days or "",
                prefix + "deadline_basis": stage.deadline_basis,
                prefix + "reporting_frequency": stage.reporting_frequency,
            }
        )
        for flag in ("plan_required", "executive_approval_required"):
            if getattr(stage, flag):
                data[prefix + flag] = "on"
    return data


def _escalation_step(tw: TenantWorld, *, to_level: int):
    """A step on P1's contract proposed by the commissioner (level 4 waits for
    an executive; level 1 is in effect at once)."""
    from escalation.services import escalation_step_propose

    return escalation_step_propose(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        to_level=to_level,
        reason="Three months of missed visits unexplained",
        proportionality_note="The risk to people served is rising",
        justification="Notices went unanswered twice" if to_level > 1 else "",
        next_review_on=clock.today() + dt.timedelta(days=28),
    )


# Declared in ACTIONS, but no page or API route performs them yet (so nothing a
# role could try). A route that starts performing one fails
# test_every_write_route_is_claimed_by_a_scenario until it gets a scenario.
UNROUTED = {
    "reporting_policy.change": "the reporting calendar has no page or API yet",
}

WORKFLOW_ROLE_ACTION = [
    (action, role) for action in ACTIONS if action in WORKFLOWS for role in ROLES
]
# A workflow with no page (or no API route) is not parametrised there rather
# than skipped, as the scenarios above.
WORKFLOW_ROLE_ACTION_PAGE = [(a, r) for a, r in WORKFLOW_ROLE_ACTION if WORKFLOWS[a].page]
WORKFLOW_ROLE_ACTION_API = [(a, r) for a, r in WORKFLOW_ROLE_ACTION if WORKFLOWS[a].api]


@pytest.mark.parametrize(("action", "role"), WORKFLOW_ROLE_ACTION_PAGE)
def test_workflow_page(world, client_for, action, role):
    flow = WORKFLOWS[action]
    tw = world.a
    member = tw.members[role]
    client = client_for(member)
    obj = flow.prepare(tw)
    tag = f"w{next(_tags)}"
    kwargs = {"tenant_slug": tw.tenant.slug}
    if flow.page_kwarg:
        kwargs[flow.page_kwarg] = obj.pk
    url = reverse(flow.page, kwargs=kwargs)
    allowed = role in ACTIONS[action]

    before = _counts()
    response = client.post(url, flow.page_data(obj, tag))

    if allowed:
        assert response.status_code == 302, _form_errors(response)
        assert flow.is_done(obj)
        record = _latest_history(flow.written(obj))
        assert record.history_user == member.user
        assert record.history_change_reason
    else:
        expected = 404 if role in flow.hidden_from else 403
        assert response.status_code == expected
        assert not flow.is_done(obj)
        assert _counts() == before


@pytest.mark.parametrize(("action", "role"), WORKFLOW_ROLE_ACTION_API)
def test_workflow_api(world, api_client_for, action, role):
    flow = WORKFLOWS[action]
    tw = world.a
    member = tw.members[role]
    client = api_client_for(member)
    obj = (flow.api_prepare or flow.prepare)(tw)
    tag = f"x{next(_tags)}"
    kwargs = {"tenant_slug": tw.tenant.slug}
    if flow.api_kwarg:
        kwargs[flow.api_kwarg] = obj.pk
    allowed = role in ACTIONS[action]

    before = _counts()
    response = client.post(
        reverse(flow.api, kwargs=kwargs),
        flow.api_data(obj, tag),
        format="json",
        **flow.api_headers(tag),
    )

    if flow.api_kwarg is None:  # a create: the new row is the one that must (not) exist
        obj_done = _created_return(obj)
        done, written = obj_done is not None, obj_done
    else:
        done, written = flow.is_done(obj), flow.written(obj)
    if allowed:
        assert response.status_code in (200, 201), response.content
        assert done
        record = _latest_history(written)
        assert record.history_user == member.user
        assert record.history_change_reason
    else:
        expected = 404 if role in flow.hidden_from else 403
        assert response.status_code == expected, response.content
        assert not done
        assert _counts() == before


# --- The product's stated rules, spelled out ----------------------------------------


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE])
def test_auditor_and_executive_are_read_only(world, client_for, role):
    tw = world.a
    client = client_for(tw.members[role])
    contract = tw.p1.contract
    page = client.get(contract.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert contract.title in body
    for name in ["contract_edit", "site_create", "milestone_create"]:
        link = reverse(name, kwargs={"tenant_slug": tw.tenant.slug, "contract_pk": contract.pk})
        assert link not in body, f"{role} is offered {name}"


# The register's rules as the product brief states them (issue 2): only admins
# and commissioners change the register, only admins manage members. Written
# out here, not read from ACTIONS, so a loosened ACTIONS entry fails.
REGISTER_RULES = {
    "provider.change": {Role.ADMIN, Role.COMMISSIONER},
    "service_type.change": {Role.ADMIN, Role.COMMISSIONER},
    "contract.change": {Role.ADMIN, Role.COMMISSIONER},
    "site.change": {Role.ADMIN, Role.COMMISSIONER},
    "milestone.change": {Role.ADMIN, Role.COMMISSIONER},
    "membership.change": {Role.ADMIN},
}


@pytest.mark.parametrize("action", sorted(REGISTER_RULES))
def test_register_actions_follow_the_product_rules(action):
    assert set(ACTIONS[action]) == REGISTER_RULES[action]


def test_provider_reads_but_cannot_edit_its_contract(world, client_for, api_client_for):
    tw = world.a
    contract = tw.p1.contract
    member = tw.members[Role.PROVIDER]
    page = client_for(member).get(contract.get_absolute_url())
    assert page.status_code == 200
    assert reverse("contract_edit", args=[tw.tenant.slug, contract.pk]) not in page.content.decode()
    response = api_client_for(member).patch(
        reverse("api-contract-detail", args=[tw.tenant.slug, contract.pk]),
        {"end_date": "2030-12-31"},
        format="json",
        HTTP_X_CHANGE_REASON="extend",
    )
    assert response.status_code == 403
    contract.refresh_from_db()
    assert contract.end_date == dt.date(2027, 12, 31)


def test_commissioner_is_offered_the_edit_links(world, client_for):
    tw = world.a
    contract = tw.p1.contract
    body = client_for(tw.members["commissioner"]).get(contract.get_absolute_url()).content
    assert reverse("contract_edit", args=[tw.tenant.slug, contract.pk]).encode() in body


def test_inactive_membership_loses_access(world, client_for):
    tw = world.a
    member = tw.members["commissioner"]
    member.is_active = False
    member.save()
    response = client_for(member).get(tw.p1.contract.get_absolute_url())
    assert response.status_code == 404


def test_a_user_with_two_tenants_acts_with_the_role_of_each(world, client_for):
    """Admin in B but executive in A: may edit B's contract, not A's."""
    person = UserFactory()
    Membership.objects.create(user=person, tenant=world.b.tenant, role=Role.ADMIN)
    Membership.objects.create(user=person, tenant=world.a.tenant, role=Role.EXECUTIVE)
    client = client_for(person)
    a_edit = reverse("contract_edit", args=[world.a.tenant.slug, world.a.p1.contract.pk])
    b_edit = reverse("contract_edit", args=[world.b.tenant.slug, world.b.p1.contract.pk])
    assert client.get(a_edit).status_code == 403
    assert client.get(b_edit).status_code == 200


# Segregation of duties (issue 7): providers submit their own returns; the
# commissioning organisation enters one only on a provider's behalf; nobody
# reviews a return they entered. Written out, not read from ACTIONS.
RETURN_RULES = {
    "return.submit": {Role.PROVIDER},
    "return.enter_on_behalf": {Role.COMMISSIONER, Role.ADMIN},
    "return.review": {Role.COMMISSIONER, Role.ADMIN},
}


@pytest.mark.parametrize("action", sorted(RETURN_RULES))
def test_return_actions_follow_the_segregation_of_duties(action):
    assert set(ACTIONS[action]) == RETURN_RULES[action]


@pytest.mark.parametrize("role", [Role.COMMISSIONER, Role.ADMIN])
def test_nobody_accepts_or_queries_a_return_they_entered_on_behalf(
    world, client_for, api_client_for, role
):
    tw = world.a
    member = tw.members[role]
    period = WORKFLOWS["return.enter_on_behalf"].prepare(tw)
    client = client_for(member)
    entered = client.post(
        reverse("period_return_on_behalf", args=[tw.tenant.slug, period.pk]),
        _on_behalf_form(period, "sod"),
    )
    assert entered.status_code == 302, _form_errors(entered)
    ret = period.returns.get()
    assert ret.entered_on_behalf_by == member.user
    review = reverse("return_review", args=[tw.tenant.slug, ret.pk])
    api = api_client_for(member)
    before = _counts()
    for decision in ("accept", "query"):
        client.post(review, {"decision": decision, "comment": "Looks fine to me"})
    for verb in ("accept", "query"):
        response = api.post(
            reverse(f"api-return-{verb}", args=[tw.tenant.slug, ret.pk]),
            {"comment": "Looks fine to me"},
            format="json",
        )
        assert response.status_code == 403, response.content
    assert _counts() == before
    ret.refresh_from_db()
    assert (ret.status, ret.reviewed_by) == ("submitted", None)
    colleague = tw.members[Role.ADMIN if role == Role.COMMISSIONER else Role.COMMISSIONER]
    client_for(colleague).post(review, {"decision": "accept", "comment": "Checked"})
    ret.refresh_from_db()
    assert (ret.status, ret.reviewed_by) == ("accepted", colleague.user)


# --- Reads: every role against every page read ------------------------------------
#
# Each tenant page declares its read (``tenant_view(read=…)``, a key of
# ``oversight.permissions.READS``). For every read × every role, each page route
# declaring it is requested as a member of that role, on tenant A's objects of
# provider P1 (the member's own): a role the read leaves out gets the styled 403
# naming the read (404 on a page about objects the role cannot see at all,
# ``hides_objects``), by GET and by POST, and nothing is written; a role it
# allows is never refused by the read: it gets the page (200), a redirect, 405
# for a route that takes only POST, or a 403 that names a write action its role
# may not perform (``ACTIONS``).


def _page_routes():
    return [r for r in all_routes() if r.is_tenant and not r.is_api]


def _read_of(route) -> str | None:
    return getattr(route.pattern.callback, "read", None)


def _routes_declaring(read: str):
    return [r for r in _page_routes() if _read_of(r) == read]


def _refusal(response) -> str:
    """The message of a 403 page ("… (key)."), or ""."""
    context = response.context or {}
    return str(context.get("message") or "")


_NAMED_KEY = re.compile(r"\(([\w.]+)\)\.$")


ROLE_READ = [(read, role) for read in sorted(READS) if _routes_declaring(read) for role in ROLES]


def test_every_tenant_page_declares_a_read():
    routes = _page_routes()
    assert len(routes) >= 20, "the resolver walk found too few tenant pages to be real"
    missing = sorted(r.label for r in routes if _read_of(r) not in READS)
    assert not missing, (
        f"tenant pages {missing} declare no read of oversight.permissions.READS: decorate "
        'them with @tenant_view(read="…") (a feature app registers its own reads with '
        "permissions.register_read in its ready())"
    )


def test_every_read_is_declared_by_a_page_or_followed_by_the_navigation():
    used = {_read_of(r) for r in _page_routes()} | {item.read for item in registry.NAVIGATION.all()}
    assert not set(READS) - used, f"READS declares {sorted(set(READS) - used)}, which nothing uses"


def test_the_navigation_offers_a_page_only_to_roles_that_may_open_it():
    for item in registry.NAVIGATION.all():
        page_read = resolve(reverse(item.url_name, kwargs={"tenant_slug": "t"})).func.read
        assert READS[item.read] <= READS[page_read], (
            f"the navigation offers {item.label!r} to {sorted(READS[item.read])} "
            f"but its page ({page_read}) is for {sorted(READS[page_read])}"
        )


@pytest.mark.parametrize(("read", "role"), ROLE_READ)
def test_page_reads(world, client_for, read, role):
    tw = world.a
    add_every_app(tw)
    client = client_for(tw.members[role])
    allowed = role in READS[read]
    problems = []
    for route in _routes_declaring(read):
        url = _url(route, _values(route, tw, tw.p1, tw.tenant.slug))
        if allowed:
            response = client.get(url)
            named = _NAMED_KEY.search(_refusal(response))
            action = named and named.group(1)
            explained = (
                response.status_code == 403 and action in ACTIONS and role not in ACTIONS[action]
            )
            if response.status_code not in (200, 302, 405) and not explained:
                problems.append(f"GET {url} ({route.label}) → {response.status_code}")
            continue
        hidden = route.pattern.callback.read_hides_objects
        before = _counts()
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if hidden:
                if response.status_code != 404:
                    problems.append(f"{method.upper()} {url} → {response.status_code}, want 404")
            elif response.status_code != 403 or f"({read})" not in _refusal(response):
                problems.append(
                    f"{method.upper()} {url} → {response.status_code} "
                    f"{_refusal(response)!r}, want 403 naming {read}"
                )
        if _counts() != before:
            problems.append(f"requests to {url} as {role} wrote something")
    assert not problems, "\n".join(problems)


def test_a_page_refused_by_its_read_is_the_styled_403(world, client_for):
    tw = world.a
    page = client_for(tw.members[Role.PROVIDER]).get(
        reverse("returns_timeliness", kwargs={"tenant_slug": tw.tenant.slug})
    )
    assert page.status_code == 403
    body = page.content.decode()
    assert "<h1>You cannot do this</h1>" in body
    assert (
        "This page is for admins, commissioners, executives and auditors (returns.overview)."
        in body
    )


def test_an_unknown_read_is_an_error_not_a_refusal(world):
    member = world.a.members[Role.ADMIN]
    with pytest.raises(ValueError, match="Unknown read 'returns.veiw'"):
        can_read(member, "returns.veiw")
    with pytest.raises(ValueError, match="Unknown read"):
        require_read(member, "returns.veiw")


def test_a_feature_app_adds_reads_but_cannot_change_anothers(monkeypatch):
    monkeypatch.setattr(permissions, "READS", dict(READS))
    permissions.register_read("visits.view", {Role.ADMIN})
    permissions.register_read("visits.view", {Role.ADMIN})  # ready() run again: the same
    assert permissions.READS["visits.view"] == {Role.ADMIN}
    with pytest.raises(ValueError, match="'members.view' is already declared"):
        permissions.register_read("members.view", set(Role.values))
    with pytest.raises(ValueError, match="unknown roles \\['visitor'\\]"):
        permissions.register_read("visits.list", {"visitor"})
    monkeypatch.setattr(permissions, "ACTIONS", dict(ACTIONS))
    permissions.register_action("visit.book", {Role.COMMISSIONER})
    assert permissions.can(_member(Role.COMMISSIONER), "visit.book")
    with pytest.raises(ValueError, match="'contract.change' is already declared"):
        permissions.register_action("contract.change", {Role.PROVIDER})


def _member(role):
    return Membership(role=role)


# Reads as the product states them, written out (not read from READS) so that a
# loosened entry fails: the KPI library is its keepers' and auditors', the
# member list the admin's and auditors', the cross-provider views the
# commissioning organisation's.
READ_RULES = {
    "kpi_library.view": {Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR},
    "members.view": {Role.ADMIN, Role.AUDITOR},
    "returns.overview": {Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR},
    "service_types.view": {Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR},
}


@pytest.mark.parametrize("read", sorted(READ_RULES))
def test_reads_follow_the_product_rules(read):
    assert set(READS[read]) == READ_RULES[read]
