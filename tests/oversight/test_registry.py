"""The core renders what feature apps register (oversight/registry.py).

The first tests read the registry as the installed apps fill it (the header's
navigation per role is what it was when the core listed it by hand). The
``plugin_installed`` tests add tests/plugin_app, an app that only registers
things, and find its page in the navigation, its panels on the contract
dashboard and the home page, and its demo part run by seed_demo, with no core
file changed.
"""

from __future__ import annotations

import importlib
import re
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from django.urls import clear_url_caches, reverse

from oversight import permissions, registry
from oversight.models import Role

NAV_LINK = re.compile(r'class="usa-nav__link[^"]*" href="[^"]*"[^>]*><span>([^<]+)</span>')


def nav_labels(client, url: str) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200
    return NAV_LINK.findall(page.content.decode())


def home_url(tw) -> str:
    return reverse("tenant_home", kwargs={"tenant_slug": tw.tenant.slug})


def _reload_urls() -> None:
    """Read the URL conf again (it includes the registered URL modules)."""
    module = sys.modules.get(settings.ROOT_URLCONF)
    if module is not None:
        importlib.reload(module)
    clear_url_caches()


@pytest.fixture
def plugin_installed():
    """tests/plugin_app installed as if listed in INSTALLED_APPS: Django runs every
    app's ready() again (the plugin's registers its parts); the URL conf is read
    again, as at start-up. Afterwards the plugin's registrations are taken out."""
    from tests.plugin_app import apps as plugin

    plugin.DEMO_RUNS.clear()
    try:
        with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.plugin_app"]):
            _reload_urls()
            yield plugin
    finally:
        for name, key in plugin.REGISTERED:
            getattr(registry, name).remove(key)
        permissions.READS.pop(plugin.SITE_VISITS_READ, None)
        _reload_urls()


# --- the registry as the product's apps fill it ---------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            Role.COMMISSIONER,
            [
                "Home",
                "Contracts",
                "Returns",
                "Meetings",
                "KPI library",
                "Providers",
                "Service types",
                "Escalation ladder",
                "Frontline reports",
                "Variations",
                "Notifications",
            ],
        ),
        (
            Role.PROVIDER,
            ["Home", "Contracts", "Returns", "Meetings", "Variations", "Notifications"],
        ),
        (
            Role.EXECUTIVE,
            [
                "Home",
                "Contracts",
                "Returns",
                "Meetings",
                "Providers",
                "Escalation ladder",
                "Variations",
                "Notifications",
            ],
        ),
        (
            Role.ADMIN,
            [
                "Home",
                "Contracts",
                "Returns",
                "Meetings",
                "KPI library",
                "Providers",
                "Service types",
                "Escalation ladder",
                "Frontline reports",
                "Variations",
                "Members",
                "Settings",
                "Notifications",
            ],
        ),
    ],
)
def test_the_navigation_lists_what_the_core_and_performance_register(
    world, client_for, role, expected
):
    client = client_for(world.a.members[role])
    assert nav_labels(client, home_url(world.a)) == expected


def test_notification_kinds_are_registered_by_the_apps_that_send_them():
    assert registry.notification_kinds() == [
        ("return_reminder", "Return due soon"),
        ("return_late", "Return late"),
        ("return_queried", "Return queried"),
        ("signal", "New high-risk signals"),
        ("escalation_step", "Escalation steps"),
        ("escalation_approval", "Escalation steps awaiting approval"),
        ("formal_notice", "Formal notices"),
        ("provider_concern", "Provider concerns"),
        ("withholding", "Payment withholdings"),
        ("improvement_plan", "Improvement plans"),
        ("general", "General"),
        ("review_meeting", "Review meetings"),
        ("variation", "Contract variations"),
        ("meeting_action", "Review meeting actions"),
    ]
    assert registry.notification_kind_label("return_late") == "Return late"
    # A kind nobody registered reads as its code.
    assert registry.notification_kind_label("site_visit") == "site_visit"


def test_the_demo_runs_the_core_parts_then_the_feature_apps_parts_in_order():
    assert [part.key for part in registry.demo_parts()] == [
        "oversight.seed_tenant",
        "oversight.seed_users",
        "contracts.seed_service_types",
        "contracts.seed_providers",
        "oversight.seed_memberships",
        "contracts.seed_contracts",
        "contracts.seed_sites",
        "contracts.seed_milestones",
        "performance.returns",
        "escalation.ladder",  # cites the returns' signals; today's signals see its notices
        "escalation.plans",
        "variations.variations",
        "performance.signals",
        "reviews.meetings",  # after today's signals: the next meeting's pack shows them
    ]


def test_performance_keeps_the_calendar_in_step_through_the_contract_saved_hook():
    assert [hook.key for hook in registry.contract_saved_hooks()] == ["performance.calendar"]


# --- the registry's own rules -----------------------------------------------------


class _Member:
    def __init__(self, role):
        self.role = role


def test_entries_are_listed_by_order_and_registering_a_key_again_replaces_it(monkeypatch):
    monkeypatch.setattr(registry, "NAVIGATION", registry.Registry("navigation item"))
    registry.nav_item("Later", "later_page", read="home.view", order=20)
    registry.nav_item("Sooner", "sooner_page", read="home.view", order=10)
    registry.nav_item("Later, renamed", "later_page", read="home.view", order=5)
    assert [item.label for item in registry.navigation_for(_Member(Role.PROVIDER))] == [
        "Later, renamed",
        "Sooner",
    ]


def test_a_role_sees_only_the_items_and_panels_registered_for_it(monkeypatch):
    monkeypatch.setattr(registry, "NAVIGATION", registry.Registry("navigation item"))
    monkeypatch.setattr(registry, "CONTRACT_PANELS", registry.Registry("panel"))
    monkeypatch.setitem(permissions.READS, "audit.view", frozenset({Role.AUDITOR}))
    registry.nav_item("Audit", "audit_page", read="audit.view", order=10)
    registry.contract_panel(
        "audit", lambda m, c: ("audit.html", {"c": c}), order=10, roles={Role.AUDITOR}
    )

    class Member:
        role = Role.PROVIDER

    assert registry.navigation_for(Member()) == []
    assert registry.contract_panels_for(Member(), "C-1") == []
    Member.role = Role.AUDITOR
    assert [item.label for item in registry.navigation_for(Member())] == ["Audit"]
    assert registry.contract_panels_for(Member(), "C-1") == [
        {"key": "audit", "template": "audit.html", "context": {"c": "C-1"}}
    ]


def test_a_panel_that_answers_none_is_left_out(monkeypatch):
    monkeypatch.setattr(registry, "HOME_PANELS", registry.Registry("panel"))
    registry.home_panel("quiet", lambda m: None, order=10)
    registry.home_panel("loud", lambda m: ("loud.html", {}), order=20)

    class Member:
        role = Role.ADMIN

    assert [p["key"] for p in registry.home_panels_for(Member())] == ["loud"]


def test_contract_links_show_to_the_roles_that_may_read_them(world, monkeypatch):
    monkeypatch.setattr(registry, "CONTRACT_LINKS", registry.Registry("contract page link"))
    registry.contract_link("History", "contract_history", read="history.view", order=20)
    registry.contract_link("Members' view", "contract_edit", read="members.view", order=10)
    contract = world.a.p1.contract
    history = reverse(
        "contract_history", kwargs={"tenant_slug": world.a.tenant.slug, "contract_pk": contract.pk}
    )
    admin = world.a.members[Role.ADMIN]
    assert [link["label"] for link in registry.contract_links_for(admin, contract)] == [
        "Members' view",
        "History",
    ]
    provider = world.a.members[Role.PROVIDER]
    assert registry.contract_links_for(provider, contract) == [{"label": "History", "url": history}]


def test_signal_levers_show_to_the_roles_that_may_act_and_only_on_live_signals(monkeypatch):
    monkeypatch.setattr(registry, "SIGNAL_LEVERS", registry.Registry("signal lever"))
    registry.signal_lever("Edit the contract", "contract_edit", action="contract.change", order=1)

    class Tenant:
        slug = "alder"

    class Member:
        tenant = Tenant()
        role = Role.COMMISSIONER

    class Sig:
        pk, contract_id, status = 7, 3, "open"

    assert registry.signal_levers_for(Member(), Sig()) == [
        {"label": "Edit the contract", "url": "/t/alder/contracts/3/edit/?signal=7"}
    ]
    Sig.status = "closed"
    assert registry.signal_levers_for(Member(), Sig()) == []
    Sig.status, Member.role = "open", Role.AUDITOR
    assert registry.signal_levers_for(Member(), Sig()) == []


def test_performance_links_its_contract_pages_from_the_contract_page(world, client_for):
    contract = world.a.p1.contract
    kwargs = {"tenant_slug": world.a.tenant.slug, "contract_pk": contract.pk}
    html = (
        client_for(world.a.members[Role.COMMISSIONER])
        .get(reverse("contract_detail", kwargs=kwargs))
        .content.decode()
    )
    for name in ("contract_returns", "contract_values", "contract_kpis"):
        assert f'href="{reverse(name, kwargs=kwargs)}"' in html


# --- a feature app that only registers ----------------------------------------------


def test_a_plugin_page_appears_in_the_navigation_of_the_roles_it_names(
    world, client_for, plugin_installed
):
    commissioner = client_for(world.a.members[Role.COMMISSIONER])
    labels = nav_labels(commissioner, home_url(world.a))
    assert labels == [
        "Home",
        "Contracts",
        "Returns",
        "Meetings",
        "KPI library",
        "Site visits",
        "Providers",
        "Service types",
        "Escalation ladder",
        "Frontline reports",
        "Variations",
        "Notifications",
    ]
    page = commissioner.get(
        reverse("plugin_site_visits", kwargs={"tenant_slug": world.a.tenant.slug})
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "No site visit is booked." in html
    assert 'aria-current="page"><span>Site visits</span>' in html

    provider = client_for(world.a.members[Role.PROVIDER])
    assert "Site visits" not in nav_labels(provider, home_url(world.a))


def test_a_plugin_panel_appears_on_the_contract_dashboard_after_performance(
    world, client_for, plugin_installed
):
    contract = world.a.p1.contract
    client = client_for(world.a.members[Role.COMMISSIONER])
    page = client.get(
        reverse(
            "contract_dashboard",
            kwargs={"tenant_slug": world.a.tenant.slug, "contract_pk": contract.pk},
        )
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert f"0 site visits booked at {contract.reference}." in html
    # Performance's panel first (order 100), then the plugin's (order 200).
    assert html.index("KPI control charts") < html.index("Site visits</h2>")


def test_a_plugin_home_panel_shows_to_the_role_it_names(world, client_for, plugin_installed):
    commissioner = client_for(world.a.members[Role.COMMISSIONER])
    html = commissioner.get(home_url(world.a)).content.decode()
    assert f"2 site visits due in {world.a.tenant.name}." in html
    executive = client_for(world.a.members[Role.EXECUTIVE])
    assert "site visits due" not in executive.get(home_url(world.a)).content.decode()


def test_a_plugin_notification_kind_is_known_by_its_label(plugin_installed):
    assert registry.notification_kind_label("plugin_site_visit_due") == "Site visit due"


def test_a_plugin_portfolio_panel_is_given_the_contracts_in_view(world, plugin_installed):
    contracts = [world.a.p1.contract, world.a.p2.contract]
    executive = world.a.members[Role.EXECUTIVE]
    assert registry.portfolio_panels_for(executive, contracts) == [
        {
            "key": "plugin_app.site_visits",
            "template": "plugin_app/portfolio_panel.html",
            "context": {"contract_count": 2},
        }
    ]
    assert registry.portfolio_panels_for(world.a.members[Role.PROVIDER], contracts) == []


def test_a_plugin_signal_rule_opens_updates_and_closes_its_signals(
    world, client_for, plugin_installed
):
    from performance.models import RiskScore, Signal, SignalStatus
    from performance.signal_engine import recompute_signals

    contract = world.a.p1.contract
    kind = plugin_installed.VISIT_OVERDUE
    plugin_installed.OVERDUE_VISITS.clear()
    plugin_installed.OVERDUE_VISITS[contract.pk] = "high"
    try:
        recompute_signals(tenant_id=world.a.tenant.id)
        signal = Signal.objects.get(contract=contract, kind=kind)
        assert (signal.status, signal.severity) == (SignalStatus.OPEN, "high")
        assert signal.get_kind_display() == "Site visit overdue"
        assert signal.history.first().history_change_reason == "Signal opened: condition appeared"
        score = RiskScore.objects.get(contract=contract)
        assert signal.message in score.reasons

        # It reads as its label on the API and filters by its kind.
        client = client_for(world.a.members[Role.COMMISSIONER])
        listed = client.get(
            reverse("api-signal-list", args=[world.a.tenant.slug]), {"kind": kind}
        ).json()["results"]
        assert [(s["id"], s["kind_label"]) for s in listed] == [(signal.pk, "Site visit overdue")]

        plugin_installed.OVERDUE_VISITS[contract.pk] = "critical"
        recompute_signals(tenant_id=world.a.tenant.id)
        signal.refresh_from_db()
        assert signal.severity == "critical"

        plugin_installed.OVERDUE_VISITS.clear()
        recompute_signals(tenant_id=world.a.tenant.id)
        signal.refresh_from_db()
        assert signal.status == SignalStatus.CLOSED
    finally:
        plugin_installed.OVERDUE_VISITS.clear()


def test_a_plugin_early_warning_source_counts_in_the_providers_favour(db, plugin_installed):
    from datetime import UTC, datetime

    from performance.models import Signal, SignalStatus
    from performance.signal_engine import recompute_signals
    from tests.performance.test_signal_engine import STABLE, TODAY, build

    tenant, contract, *_ = build(STABLE[:-3] + [20, 21, 22])
    _, other, *_ = build(STABLE)
    plugin_installed.VISIT_WARNINGS.clear()
    plugin_installed.WARNING_READS.clear()
    plugin_installed.VISIT_WARNINGS.append((contract.pk, datetime(2026, 11, 4, 15, tzinfo=UTC), 31))
    try:
        recompute_signals(today=TODAY)
        live = Signal.objects.filter(contract=contract).exclude(status=SignalStatus.CLOSED)
        assert not live.filter(kind="silence").exists()
        assert "raised a concern on 4 Nov 2026" in live.get(kind="spc_concern").message
        # One read for every contract of the run, from the first period the
        # silence rule reads (periods starting in the last 100 days).
        [read] = plugin_installed.WARNING_READS
        assert {contract.pk, other.pk} <= set(read["contract_ids"])
        assert read["since"] == datetime(2026, 9, 1, tzinfo=UTC)
        assert registry.early_warnings(contract_ids=[contract.pk], since=read["since"]) == [
            {
                "contract_id": contract.pk,
                "raised_at": datetime(2026, 11, 4, 15, tzinfo=UTC),
                "id": 31,
                "source": "plugin_app.visit_warnings",
            }
        ]
    finally:
        plugin_installed.VISIT_WARNINGS.clear()
        plugin_installed.WARNING_READS.clear()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kind": "spc_concern"}, "kind 'spc_concern' is not one it registered"),
        ({"severity": "dire"}, "severity 'dire' is unknown"),
        ({"key": "visit:1"}, "key 'visit:1' does not start with its kind"),
    ],
)
def test_a_signal_rule_that_answers_what_it_did_not_register_is_named(
    world, monkeypatch, change, problem
):
    from performance.signal_engine import recompute_signals

    contract = world.a.p1.contract
    monkeypatch.setattr(registry, "SIGNAL_RULES", registry.Registry("signal rule"))

    def rule(*, contract_ids, today):
        finding = {
            "contract_id": contract.pk,
            "kind": "visit_late",
            "key": f"visit_late:{contract.pk}",
            "severity": "low",
            "message": "Late.",
        }
        return [registry.SignalFinding(**{**finding, **change})]

    registry.signal_rule("broken", rule, kinds={"visit_late": "Visit late"}, order=1)
    with pytest.raises(ValueError, match=re.escape(f"Signal rule 'broken': {problem}")):
        recompute_signals(tenant_id=world.a.tenant.id)


def test_a_signal_rule_must_register_its_kinds():
    with pytest.raises(ValueError, match="registers no kinds"):
        registry.signal_rule("kindless", lambda **kw: [], kinds={}, order=1)


def test_seed_demo_runs_a_plugin_demo_part_after_the_core_parts(db, monkeypatch, plugin_installed):
    # The returns and signals parts take most of a minute; test_demo_stories has them.
    for slow in ("performance.returns", "performance.signals"):
        monkeypatch.delitem(registry.DEMO_PARTS._entries, slow)
    # (A context manager, not pytest-django's ``settings``: that one would be
    # undone after the plugin's override and bring the plugin back.)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        call_command(
            "seed_demo", "--allow-without-debug", "--today", "2026-06-01", stdout=StringIO()
        )
    assert plugin_installed.DEMO_RUNS == [
        (
            "riverbend-county",
            [
                "RC-BH-2022-003",
                "RC-BH-2024-007",
                "RC-H2H-2025-004",
                "RC-HCBS-2023-014",
                "RC-HCBS-2024-001",
                "RC-HSG-2021-009",
                "RC-HSG-2024-021",
                "RC-RE-2026-002",
            ],
        ),
        (
            "wessex-vale-icb",
            [
                "WV-D2A-2024-003",
                "WV-HC-2023-011",
                "WV-HSG-2025-001",
                "WV-MH-2022-008",
                "WV-MH-2024-002",
                "WV-RE-2024-006",
                "WV-SD-2025-009",
            ],
        ),
    ]


def test_once_the_plugin_is_gone_nothing_of_it_is_left(world, client_for):
    # Runs after the plugin tests in this module: its fixture took everything out.
    client = client_for(world.a.members[Role.COMMISSIONER])
    assert "Site visits" not in nav_labels(client, home_url(world.a))
    assert "plugin_app.site_visits" not in [p.key for p in registry.demo_parts()]
