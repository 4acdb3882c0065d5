from django.apps import AppConfig

# What ready() registers, by registry name and key, so the tests can take it out.
REGISTERED = [
    ("URL_MODULES", "pages:tests.plugin_app.urls"),
    ("NAVIGATION", "plugin_site_visits"),
    ("CONTRACT_PANELS", "plugin_app.site_visits"),
    ("HOME_PANELS", "plugin_app.site_visits"),
    ("NOTIFICATION_KINDS", "plugin_site_visit_due"),
    ("DEMO_PARTS", "plugin_app.site_visits"),
]

# The read its page declares and its navigation item follows (permissions.READS),
# taken out by the tests like the entries above.
SITE_VISITS_READ = "site_visits.view"

# The tenants and contracts the demo part saw, in the order it ran.
DEMO_RUNS: list[tuple[str, list[str]]] = []


def contract_panel(membership, contract):
    return ("plugin_app/contract_panel.html", {"visit_count": 0})


def home_panel(membership):
    return ("plugin_app/home_panel.html", {"visits_due": 2})


def demo_part(ctx) -> None:
    DEMO_RUNS.append((ctx.tenant.slug, sorted(ctx.contracts)))


class PluginAppConfig(AppConfig):
    name = "tests.plugin_app"
    label = "plugin_app"

    def ready(self) -> None:
        from oversight import permissions, registry
        from oversight.models import Role

        registry.tenant_urls("tests.plugin_app.urls", order=500)
        permissions.register_read(SITE_VISITS_READ, {Role.ADMIN, Role.COMMISSIONER})
        registry.nav_item("Site visits", "plugin_site_visits", read=SITE_VISITS_READ, order=45)
        registry.contract_panel("plugin_app.site_visits", contract_panel, order=200)
        registry.home_panel(
            "plugin_app.site_visits", home_panel, order=10, roles={Role.COMMISSIONER}
        )
        registry.notification_kind("plugin_site_visit_due", "Site visit due", order=500)
        registry.demo_part("plugin_app.site_visits", demo_part, order=500)
