"""Tenant and provider isolation, proved by crawling EVERY route.

The routes come from Django's resolver, not from a list in this file, so a new
page or API route is covered the day it is added. Each URL kwarg is mapped to a
world object through ``OBJECT_KWARGS`` / ``PLAIN_KWARGS``; a kwarg the test
does not know makes it fail with a message saying where to add it, so a new
kind of route can never be skipped silently.

Scenarios (the ``world`` fixture: tenants A and B, providers P1 and P2 in each):

(a) an outsider (member of B only) asks for tenant A's slug and A's objects;
(b) the same outsider asks with B's own slug but A's object ids;
(c) A's provider member for P1 asks for P2's objects, and lists everything;
plus routes without a tenant as the outsider, and every tenant route signed out.

Every answer must be 404 (405 for a method a route never accepts) and contain
none of the other side's identifying text; write attempts must change nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils.regex_helper import normalize
from rest_framework.views import APIView

from oversight import clock
from tests.factories import TenantWorld, contains_any

pytestmark = pytest.mark.django_db

WRITE_METHODS = ["post", "put", "patch", "delete"]

# URL kwarg naming an object -> (belongs to one provider?, how to find it in a
# tenant world for a given provider world). Provider-owned objects are the ones
# P1's member must not reach through P2's ids; tenant-wide ones (service types,
# the KPI library) every member of the tenant may read. A new app's objects are
# built for both providers of both tenants in a fixture below, so its list
# pages have another provider's rows that they could leak.
OBJECT_KWARGS = {
    "contract_pk": (True, lambda tw, pw: pw.contract),
    "provider_pk": (True, lambda tw, pw: pw.provider),
    "site_pk": (True, lambda tw, pw: pw.site),
    "milestone_pk": (True, lambda tw, pw: pw.milestone),
    "membership_pk": (True, lambda tw, pw: pw.member),
    "service_type_pk": (False, lambda tw, pw: tw.service_type),
    # performance (built by _add_performance below)
    "kpi_pk": (False, lambda tw, pw: tw.extra["kpi"]),
    "contract_kpi_pk": (True, lambda tw, pw: pw.extra["contract_kpi"]),
    "period_pk": (True, lambda tw, pw: pw.extra["period"]),
    "return_pk": (True, lambda tw, pw: pw.extra["return"]),
    "signal_pk": (True, lambda tw, pw: pw.extra["signal"]),
    # escalation (built by _add_escalation below)
    "ladder_version_pk": (False, lambda tw, pw: tw.extra["ladder_version"]),
    "escalation_step_pk": (True, lambda tw, pw: pw.extra["escalation_step"]),
    "formal_notice_pk": (True, lambda tw, pw: pw.extra["formal_notice"]),
    # supportive measures, concerns, frontline reports (built by _add_support below)
    "supportive_measure_pk": (True, lambda tw, pw: pw.extra["supportive_measure"]),
    "provider_concern_pk": (True, lambda tw, pw: pw.extra["provider_concern"]),
    "frontline_report_pk": (True, lambda tw, pw: pw.extra["frontline_report"]),
    # improvement plans (built by _add_plans below)
    "improvement_plan_pk": (True, lambda tw, pw: pw.extra["improvement_plan"]),
    "plan_action_pk": (True, lambda tw, pw: pw.extra["plan_action"]),
    # the withholding ledger (built by _add_withholdings below)
    "withholding_pk": (True, lambda tw, pw: pw.extra["withholding"]),
    # review meetings (built by _add_reviews below)
    "meeting_pk": (True, lambda tw, pw: pw.extra["meeting"]),
    "meeting_action_pk": (True, lambda tw, pw: pw.extra["meeting_action"]),
    "agenda_item_pk": (True, lambda tw, pw: pw.extra["agenda_item"]),
    "roadmap_topic_pk": (True, lambda tw, pw: pw.extra["roadmap_topic"]),
    # formal variations (built by _add_variations below)
    "variation_pk": (True, lambda tw, pw: pw.extra["variation"]),
}
# URL kwargs that do not name a tenant's object: a fixed value is enough.
PLAIN_KWARGS = {
    "format": "json",
    "uidb64": "MQ",
    "token": "not-a-real-token",
    # a ladder preset (escalation/presets/): product data, the same for every tenant
    "preset_key": "nhs-standard-contract",
}


UNKNOWN_KWARG_HELP = (
    "Route {route!r} has URL kwarg {kwarg!r}, which tests/oversight/test_isolation.py "
    "does not know. Add it to OBJECT_KWARGS (if it names a tenant's object: say how to "
    "find that object in the world fixture) or to PLAIN_KWARGS (if it does not), so the "
    "isolation crawl covers the new route."
)


@dataclass(frozen=True)
class Route:
    """One leaf URL pattern, with Django's own reversal template for it."""

    regex: str
    name: str | None
    pattern: URLPattern
    template: str  # e.g. "t/%(tenant_slug)s/contracts/%(contract_pk)s/"
    params: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.name or self.pattern.lookup_str} [{self.regex}]"

    @property
    def is_tenant(self) -> bool:
        return "tenant_slug" in self.params

    @property
    def is_api(self) -> bool:
        view_class = getattr(self.pattern.callback, "cls", None)
        return isinstance(view_class, type) and issubclass(view_class, APIView)

    @property
    def object_kwargs(self) -> list[str]:
        return [p for p in self.params if p not in ("tenant_slug", *PLAIN_KWARGS)]

    @property
    def unknown_kwargs(self) -> list[str]:
        known = {"tenant_slug", *OBJECT_KWARGS, *PLAIN_KWARGS}
        return [p for p in self.params if p not in known]

    @property
    def provider_scoped(self) -> bool:
        return any(OBJECT_KWARGS[k][0] for k in self.object_kwargs if k in OBJECT_KWARGS)

    def url(self, **values) -> str:
        return "/" + self.template % {k: str(v) for k, v in values.items()}


def _leaves(patterns, prefix: str = ""):
    for p in patterns:
        regex = prefix + p.pattern.regex.pattern.removeprefix("^")
        if isinstance(p, URLResolver):
            yield from _leaves(p.url_patterns, regex)
        else:
            yield regex, p


def all_routes() -> list[Route]:
    """Every leaf pattern (pages, DRF router routes and their format-suffix
    variants), each with every reversal template Django derives from it."""
    routes = []
    for regex, pattern in _leaves(get_resolver().url_patterns):
        for template, params in normalize(regex):
            routes.append(Route(regex, pattern.name, pattern, template, tuple(params)))
    return routes


def _leaf_count() -> int:
    """Counted independently of ``all_routes`` so that the crawl cannot pass by
    visiting nothing."""

    def count(patterns):
        return sum(count(p.url_patterns) if isinstance(p, URLResolver) else 1 for p in patterns)

    return count(get_resolver().url_patterns)


def _values(route: Route, tw: TenantWorld, pw, slug: str) -> dict:
    values = {}
    for param in route.params:
        if param == "tenant_slug":
            values[param] = slug
        elif param in PLAIN_KWARGS:
            values[param] = PLAIN_KWARGS[param]
        elif param in OBJECT_KWARGS:
            values[param] = OBJECT_KWARGS[param][1](tw, pw).pk
        else:
            pytest.fail(UNKNOWN_KWARG_HELP.format(route=route.label, kwarg=param))
    return values


def _url(route: Route, values: dict) -> str:
    """Build the URL and check that it resolves back to the same view, so the
    crawl never requests a URL that some other route answers."""
    url = route.url(**values)
    match = resolve(url)
    assert match.func == route.pattern.callback, f"{url} resolved to {match.func}, not {route}"
    return url


def _snapshot() -> dict[str, int]:
    """Row counts of every model, history tables included (every save writes a
    history row, so an update shows up here too)."""
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.label not in ("sessions.Session",)
    }


def _write(client, route: Route, url: str, method: str):
    payload = {
        "title": "HIJACKED",
        "name": "HIJACKED",
        "reference": "HIJACKED-1",
        "role": "admin",
        "reason": "isolation test",
        "change_reason": "isolation test",
    }
    if route.is_api:
        return getattr(client, method)(
            url, payload, content_type="application/json", HTTP_X_CHANGE_REASON="isolation test"
        )
    if method == "post":
        return client.post(url, payload)
    return getattr(client, method)(url)


def _crawl(client, routes, *, url_values, expect, forbidden_texts, write_routes):
    """Request every route; return (number visited, list of problems)."""
    problems: list[str] = []
    visited = 0
    for route in routes:
        values = url_values(route)
        if values is None:
            continue
        url = _url(route, values)
        visited += 1
        before = _snapshot()
        response = client.get(url)
        allowed = expect(route, "get")
        if response.status_code not in allowed:
            problems.append(f"GET {url} ({route.label}) → {response.status_code}, want {allowed}")
        leaked = contains_any(response.content, forbidden_texts)
        if leaked:
            problems.append(f"GET {url} ({route.label}) shows {leaked}")
        if route in write_routes:
            for method in WRITE_METHODS:
                response = _write(client, route, url, method)
                allowed = expect(route, method)
                if response.status_code not in allowed:
                    problems.append(
                        f"{method.upper()} {url} ({route.label}) → "
                        f"{response.status_code}, want {allowed}"
                    )
                leaked = contains_any(response.content, forbidden_texts)
                if leaked:
                    problems.append(f"{method.upper()} {url} ({route.label}) shows {leaked}")
        after = _snapshot()
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        if changed:
            problems.append(f"requests to {url} ({route.label}) changed row counts: {changed}")
    return visited, problems


def _tenant_routes():
    return [r for r in all_routes() if r.is_tenant]


def _assert_covered_everything(visited: int, routes) -> None:
    tenant_leaves = len({r.pattern for r in routes})
    assert tenant_leaves >= 20, "the resolver walk found too few tenant routes to be real"
    assert visited == len(routes), f"visited {visited} of {len(routes)} tenant routes"


# --- Data beyond the register, so every route has an object and every list has
# another provider's rows it could leak ----------------------------------------------


def _add_performance(tw: TenantWorld) -> None:
    from performance.models import (
        ContractKpi,
        Kpi,
        ReportingPeriod,
        Return,
        ReturnValue,
        RiskScore,
        Signal,
    )

    now = clock.now()
    kpi = Kpi.objects.create(
        tenant=tw.tenant,
        code=f"first-contact-{tw.mark.lower()}",
        name=f"Days to first contact {tw.mark}",
        definition="Days from referral to first face-to-face contact.",
        unit="days",
        direction="lower",
        category="timeliness",
    )
    tw.extra = {"kpi": kpi}
    for pw in (tw.p1, tw.p2):
        contract_kpi = ContractKpi.objects.create(
            tenant=tw.tenant, contract=pw.contract, kpi=kpi, target=Decimal("5")
        )
        period = ReportingPeriod.objects.create(
            tenant=tw.tenant,
            contract=pw.contract,
            frequency="monthly",
            start=dt.date(2025, 3, 1),
            end=dt.date(2025, 3, 31),
            due_date=dt.date(2025, 4, 15),
            missing_after=dt.date(2025, 5, 15),
        )
        ret = Return.objects.create(
            tenant=tw.tenant,
            contract=pw.contract,
            period=period,
            status="submitted",
            source="web",
            narrative=f"Staffing recovered in March {pw.mark}",
            created_by=pw.member.user,
            submitted_by=pw.member.user,
            submitted_at=now,
        )
        ReturnValue.objects.create(
            tenant=tw.tenant,
            return_obj=ret,
            contract_kpi=contract_kpi,
            value=Decimal("7"),
            variance_explanation=f"Two vacancies {pw.mark}",
        )
        signal = Signal.objects.create(
            tenant=tw.tenant,
            contract=pw.contract,
            contract_kpi=contract_kpi,
            kind="target_missed",
            key=f"target_missed:{contract_kpi.pk}",
            severity="medium",
            message=f"Days to first contact missed target {pw.mark}",
            opened_at=now,
            last_seen_at=now,
        )
        RiskScore.objects.create(
            tenant=tw.tenant,
            contract=pw.contract,
            day=dt.date(2025, 4, 1),
            score=40,
            band="medium",
            reasons=[f"Target missed {pw.mark}"],
        )
        pw.extra = {
            "contract_kpi": contract_kpi,
            "period": period,
            "return": ret,
            "signal": signal,
        }


def _add_escalation(tw: TenantWorld) -> None:
    from escalation.notices import notice_issue
    from escalation.services import EvidenceItem, escalation_step_propose, ladder_for

    tw.extra["ladder_version"] = ladder_for(tw.tenant)
    for pw in (tw.p1, tw.p2):
        pw.extra["escalation_step"] = escalation_step_propose(
            membership=tw.members["commissioner"],
            contract=pw.contract,
            to_level=1,
            reason=f"Missed visits unexplained {pw.mark}",
            proportionality_note=f"Advisory contact first {pw.mark}",
            next_review_on=clock.today() + dt.timedelta(days=28),
            evidence=[
                EvidenceItem(kind="signal", object_id=pw.extra["signal"].pk),
                EvidenceItem(kind="incident", text=f"Missed visit on the 3rd {pw.mark}"),
            ],
        )
        # A provider's formal notice to the commissioner (any level), by its own member.
        pw.extra["formal_notice"] = notice_issue(
            membership=pw.member,
            contract=pw.contract,
            ground="late_payment",
            concerns=f"Invoices unpaid for two months {pw.mark}",
            required_actions=f"Pay the March and April invoices {pw.mark}",
            response_due_on=clock.today() + dt.timedelta(days=10),
        )
        # The commissioner's request for explanation ("Raise a concern with the
        # provider"), at level 1, with the contract's signal attached (its words
        # kept on the notice, listed on the contract's notices page).
        pw.extra["explanation_request"] = notice_issue(
            membership=tw.members["commissioner"],
            contract=pw.contract,
            kind="explanation",
            signal_id=pw.extra["signal"].pk,
            concerns=f"Missed visits rising, unexplained {pw.mark}",
            required_actions=f"Explain the missed visits {pw.mark}",
        )


def _add_support(tw: TenantWorld) -> None:
    from escalation.support import concern_raise, frontline_report_create, measure_start

    for pw in (tw.p1, tw.p2):
        pw.extra["supportive_measure"] = measure_start(
            membership=tw.members["commissioner"],
            contract=pw.contract,
            kind="peer_support",
            description=f"Peer support from a steady provider {pw.mark}",
            owner=tw.user("commissioner"),
            starts_on=clock.today(),
            review_on=clock.today() + dt.timedelta(days=42),
            recovery_expectation=f"Missed visits back under target {pw.mark}",
            reason=f"Support offered {pw.mark}",
        )
        pw.extra["provider_concern"] = concern_raise(
            membership=pw.member,
            contract=pw.contract,
            drifting=f"Visit times slipping {pw.mark}",
            drivers=f"Two carers left {pw.mark}",
            mitigation="Agency cover booked",
            support_requested="Referral pause for two weeks",
        )
        pw.extra["frontline_report"] = frontline_report_create(
            membership=tw.members["commissioner"],
            provider=pw.provider,
            contract=pw.contract,
            category="missed_visit",
            occurred_on=clock.today(),
            description=f"No carer arrived on Tuesday {pw.mark}",
            reason=f"Caseworker's report {pw.mark}",
        )


def _add_calendar(tw: TenantWorld) -> None:
    """The tenant's public holidays calendar (the Settings page lists them)."""
    from oversight.models import Tenant

    Tenant.objects.filter(pk=tw.tenant.pk).update(holiday_country="US")
    tw.tenant.holiday_country = "US"


def _add_withholdings(tw: TenantWorld) -> None:
    """A withholding on each provider's contract, tied to its signal, written
    as rows (the service needs a ladder level with a cap: tests/escalation)."""
    from escalation.models import EscalationRecord, Withholding

    for pw in (tw.p1, tw.p2):
        record = EscalationRecord.objects.get(contract=pw.contract)
        signal = pw.extra["signal"]
        pw.extra["withholding"] = Withholding.objects.create(
            tenant=tw.tenant,
            contract=pw.contract,
            period=dt.date(2026, 11, 1),
            amount=Decimal("312.50"),
            currency=tw.tenant.currency,
            tied_to=signal,
            ground=f"Until missed visits are back under target {pw.mark}",
            step=pw.extra["escalation_step"],
            stage=record.stage,
            cap_percent=Decimal("2.00"),
            monthly_value=Decimal("20833.33"),
            recorded_by=tw.user("commissioner"),
        )


def add_every_app(tw: TenantWorld) -> None:
    """Every app's objects for one tenant of the world, so that each route's
    object kwarg (OBJECT_KWARGS) names one: a new app adds its builder here."""
    _add_calendar(tw)
    _add_performance(tw)
    _add_escalation(tw)
    _add_support(tw)
    _add_withholdings(tw)
    _add_plans(tw)
    _add_reviews(tw)
    _add_variations(tw)


def _add_reviews(tw: TenantWorld) -> None:
    """A scheduled meeting with its agenda, a started one with an action the
    provider's member owns, and a roadmap topic, on each provider's contract."""
    from reviews import services

    commissioner = tw.members["commissioner"]
    for pw in (tw.p1, tw.p2):
        starts = clock.now() + dt.timedelta(days=7)
        meeting = services.meeting_schedule(
            membership=commissioner,
            kind="check_in",
            contract=pw.contract,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            location=f"Room 2B {pw.mark}",
        )
        item = services.agenda_item_add(
            membership=commissioner, meeting=meeting, part=1, title=f"Welcome {pw.mark}"
        )
        started = services.meeting_schedule(
            membership=commissioner,
            kind="sprint",
            contract=pw.contract,
            starts_at=clock.now(),
            ends_at=clock.now() + dt.timedelta(hours=1),
        )
        services.meeting_start(membership=commissioner, meeting=started)
        action = services.meeting_action_add(
            membership=commissioner,
            meeting=started,
            description=f"Publish the back-up rota {pw.mark}",
            owner=pw.member,
            due_on=clock.today() + dt.timedelta(days=14),
        )
        topic = services.roadmap_topic_add(
            membership=commissioner,
            contract=pw.contract,
            month=clock.today(),
            title=f"Referral matching {pw.mark}",
            owner=commissioner,
        )
        pw.extra.update(
            meeting=meeting, meeting_action=action, agenda_item=item, roadmap_topic=topic
        )


def _add_variations(tw: TenantWorld) -> None:
    """A submitted variation on each provider's contract, proposed by its
    provider's member (so the commissioning side may decide it)."""
    from variations import services

    for pw in (tw.p1, tw.p2):
        pw.extra["variation"] = services.variation_propose(
            membership=tw.members["provider"] if pw is tw.p1 else tw.members["provider_p2"],
            contract=pw.contract,
            kind="volume",
            title=f"More hours {pw.mark}",
            rationale=f"The waiting list doubled {pw.mark}",
            effective_on=clock.today() + dt.timedelta(days=60),
            changes=[services.ChangeInput(field="annual_value", value="150000")],
            reason="A variation for the isolation crawl",
            submit=True,
        )


def _add_plans(tw: TenantWorld) -> None:
    from escalation import plans

    for pw in (tw.p1, tw.p2):
        plan = plans.plan_open(
            membership=tw.members["commissioner"],
            contract=pw.contract,
            issue_statement=f"Missed visits rising {pw.mark}",
            symptoms=f"Missed visits at 6% for three months {pw.mark}",
            root_causes=[f"Rotas planned a week ahead only {pw.mark}"],
            actions=[
                plans.ActionInput(
                    description=f"Plan rotas four weeks ahead {pw.mark}",
                    lead=f"Dana Whitfield {pw.mark}",
                    milestone="Rotas published for the month",
                    due_on=clock.today() + dt.timedelta(days=30),
                    evidence_expected="The published rotas",
                    contract_kpis=[pw.extra["contract_kpi"].pk],
                )
            ],
            controls=[
                plans.ControlInput(
                    kind="safeguarding", description=f"Daily welfare calls {pw.mark}"
                )
            ],
        )
        pw.extra["improvement_plan"] = plan
        pw.extra["plan_action"] = plan.actions.get()


@pytest.fixture
def world(world):
    """The shared world, plus every app's objects for both tenants."""
    for tw in (world.a, world.b):
        add_every_app(tw)
    return world


# --- The route list itself -------------------------------------------------------


def test_route_walk_finds_every_pattern_and_names_the_core_routes():
    routes = all_routes()
    assert len({id(r.pattern) for r in routes}) == _leaf_count()
    names = {r.name for r in routes}
    for expected in [
        "contract_detail",
        "contract_edit",
        "site_edit",
        "milestone_edit",
        "member_edit",
        "service_type_edit",
        "api-contract-detail",
        "api-site-list",
        "login",
        "schema",
    ]:
        assert expected in names
    # DRF's format-suffix variants are crawled too.
    assert any(r.is_api and "format" in r.params for r in routes)


def test_every_url_kwarg_is_known_to_the_crawl():
    unknown = [
        UNKNOWN_KWARG_HELP.format(route=r.label, kwarg=k)
        for r in all_routes()
        for k in r.unknown_kwargs
    ]
    assert not unknown, "\n".join(unknown)


def test_every_route_resolves_back_to_its_view(world):
    for route in all_routes():
        _url(route, _values(route, world.a, world.a.p1, world.a.tenant.slug))


# --- (a) outsider, other tenant's slug ----------------------------------------------


def test_outsider_gets_404_for_every_route_of_another_tenant(world, client_for):
    outsider = client_for(world.b.members["admin"])
    a = world.a
    routes = _tenant_routes()
    visited, problems = _crawl(
        outsider,
        routes,
        url_values=lambda r: _values(r, a, a.p1, a.tenant.slug),
        expect=lambda r, m: {404},
        forbidden_texts=a.texts,
        write_routes=set(routes),
    )
    assert not problems, "\n".join(problems)
    _assert_covered_everything(visited, routes)


def test_every_role_of_another_tenant_gets_404(world, client_for):
    """Same as (a), GET only, for each role the outsider might hold."""
    a = world.a
    routes = _tenant_routes()
    for role in ["commissioner", "executive", "auditor", "provider"]:
        visited, problems = _crawl(
            client_for(world.b.members[role]),
            routes,
            url_values=lambda r: _values(r, a, a.p2, a.tenant.slug),
            expect=lambda r, m: {404},
            forbidden_texts=a.texts,
            write_routes=set(),
        )
        assert not problems, f"as B's {role}:\n" + "\n".join(problems)
        _assert_covered_everything(visited, routes)


# --- (b) outsider, own slug, other tenant's ids ------------------------------------


def test_own_slug_with_another_tenants_ids_is_404(world, client_for):
    outsider = client_for(world.b.members["admin"])
    a, b = world.a, world.b
    routes = _tenant_routes()
    object_routes = {r for r in routes if r.object_kwargs}
    visited, problems = _crawl(
        outsider,
        routes,
        url_values=lambda r: _values(r, a, a.p1, b.tenant.slug),
        # Routes without an object answer B's own data (or 403/404/405 by role);
        # routes naming an A object must answer 404.
        expect=lambda r, m: {404, 405} if r.object_kwargs else {200, 403, 404, 405},
        forbidden_texts=a.texts,
        write_routes=object_routes,
    )
    assert not problems, "\n".join(problems)
    _assert_covered_everything(visited, routes)
    assert len(object_routes) >= 10


# --- (c) provider P1 against provider P2 ----------------------------------------------


def test_provider_member_cannot_reach_another_providers_objects(world, client_for):
    a = world.a
    provider_client = client_for(a.members["provider"])
    routes = _tenant_routes()

    def expect(route, method):
        if route.provider_scoped:
            return {404, 405}
        # tenant-wide objects and lists: any answer but a leak (checked below);
        # 405 for a route that only takes POST
        return {200, 403, 404, 405} if method == "get" else {403, 404, 405}

    visited, problems = _crawl(
        provider_client,
        routes,
        url_values=lambda r: _values(r, a, a.p2, a.tenant.slug),
        expect=expect,
        forbidden_texts=a.p2.texts,
        write_routes={r for r in routes if r.object_kwargs},
    )
    assert not problems, "\n".join(problems)
    _assert_covered_everything(visited, routes)


def test_provider_member_reaches_own_objects(world, client_for):
    """The crawl above is not passing only because providers see nothing: the
    same member reads its own contract, site list and milestone list."""
    a = world.a
    c = client_for(a.members["provider"])
    slug = a.tenant.slug
    page = c.get(reverse("contract_detail", args=[slug, a.p1.contract.pk]))
    assert page.status_code == 200
    assert a.p1.contract.title in page.content.decode()
    api = c.get(reverse("api-site-list", args=[slug]))
    assert api.status_code == 200
    assert [s["name"] for s in api.json()["results"]] == [a.p1.site.name]


# --- Routes without a tenant --------------------------------------------------------


def test_routes_without_a_tenant_show_the_outsider_nothing_of_another_tenant(world, client_for):
    outsider = client_for(world.b.members["admin"])
    routes = [r for r in all_routes() if not r.is_tenant]
    assert {"home", "login", "tenant_switch", "schema", "api_docs"} <= {r.name for r in routes}
    for route in routes:
        url = _url(route, _values(route, world.b, world.b.p1, ""))
        response = outsider.get(url, follow=True)
        assert response.status_code < 500, url
        leaked = contains_any(response.content, world.a.texts)
        assert not leaked, f"GET {url} shows {leaked}"


def test_tenant_switcher_lists_only_the_users_own_tenants(world, client_for):
    response = client_for(world.b.members["admin"]).get(reverse("tenant_switch"))
    body = response.content.decode()
    assert world.b.tenant.name in body
    assert world.a.tenant.name not in body


# --- Signed out -------------------------------------------------------------------------


def test_signed_out_pages_redirect_to_login_and_api_refuses(world, client):
    a = world.a
    login_url = reverse(settings.LOGIN_URL)
    routes = _tenant_routes()
    problems = []
    for route in routes:
        url = _url(route, _values(route, a, a.p1, a.tenant.slug))
        for method in ["get", *WRITE_METHODS]:
            response = _write(client, route, url, method) if method != "get" else client.get(url)
            if route.is_api:
                if response.status_code not in (401, 403):
                    problems.append(f"{method.upper()} {url} → {response.status_code}")
            elif response.status_code != 302 or not response["Location"].startswith(login_url):
                problems.append(f"{method.upper()} {url} → {response.status_code}, not to login")
            leaked = contains_any(response.content, a.texts)
            if leaked:
                problems.append(f"{method.upper()} {url} shows {leaked}")
    assert not problems, "\n".join(problems)
    assert len(routes) >= 20
