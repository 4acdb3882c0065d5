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

from oversight import registry
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
                "KPI library",
                "Providers",
                "Service types",
                "Notifications",
            ],
        ),
        (Role.PROVIDER, ["Home", "Contracts", "Returns", "Notifications"]),
        (Role.EXECUTIVE, ["Home", "Contracts", "Returns", "Providers", "Notifications"]),
        (
            Role.ADMIN,
            [
                "Home",
                "Contracts",
                "Returns",
                "KPI library",
                "Providers",
                "Service types",
                "Members",
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
        ("general", "General"),
    ]
    assert registry.notification_kind_label("return_late") == "Return late"
    # A kind nobody registered reads as its code.
    assert registry.notification_kind_label("site_visit") == "site_visit"


def test_the_demo_runs_the_core_parts_then_performance_parts_in_order():
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
        "performance.signals",
    ]


def test_performance_keeps_the_calendar_in_step_through_the_contract_saved_hook():
    assert [hook.key for hook in registry.contract_saved_hooks()] == ["performance.calendar"]


# --- the registry's own rules -----------------------------------------------------


def test_entries_are_listed_by_order_and_registering_a_key_again_replaces_it(monkeypatch):
    monkeypatch.setattr(registry, "NAVIGATION", registry.Registry("navigation item"))
    registry.nav_item("Later", "later_page", order=20)
    registry.nav_item("Sooner", "sooner_page", order=10)
    registry.nav_item("Later, renamed", "later_page", order=5)
    assert [item.label for item in registry.navigation_for(Role.PROVIDER)] == [
        "Later, renamed",
        "Sooner",
    ]


def test_a_role_sees_only_the_items_and_panels_registered_for_it(monkeypatch):
    monkeypatch.setattr(registry, "NAVIGATION", registry.Registry("navigation item"))
    monkeypatch.setattr(registry, "CONTRACT_PANELS", registry.Registry("panel"))
    registry.nav_item("Audit", "audit_page", order=10, roles={Role.AUDITOR})
    registry.contract_panel(
        "audit", lambda m, c: ("audit.html", {"c": c}), order=10, roles={Role.AUDITOR}
    )

    class Member:
        role = Role.PROVIDER

    assert registry.navigation_for(Role.PROVIDER) == []
    assert registry.contract_panels_for(Member(), "C-1") == []
    Member.role = Role.AUDITOR
    assert [item.label for item in registry.navigation_for(Role.AUDITOR)] == ["Audit"]
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
        "KPI library",
        "Site visits",
        "Providers",
        "Service types",
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
