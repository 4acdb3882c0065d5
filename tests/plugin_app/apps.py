from django.apps import AppConfig

# What ready() registers, by registry name and key, so the tests can take it out.
REGISTERED = [
    ("URL_MODULES", "pages:tests.plugin_app.urls"),
    ("NAVIGATION", "plugin_site_visits"),
    ("CONTRACT_PANELS", "plugin_app.site_visits"),
    ("HOME_PANELS", "plugin_app.site_visits"),
    ("NOTIFICATION_KINDS", "plugin_site_visit_due"),
    ("DEMO_PARTS", "plugin_app.site_visits"),
    ("PORTFOLIO_PANELS", "plugin_app.site_visits"),
    ("SIGNAL_RULES", "plugin_app.visit_overdue"),
    ("EARLY_WARNING_SOURCES", "plugin_app.visit_warnings"),
]

# The contracts whose site visit is overdue, by id, with the severity the rule
# answers (a test sets them; the rule reads them as an app reads its own table).
OVERDUE_VISITS: dict[int, str] = {}
VISIT_OVERDUE = "plugin_visit_overdue"

# Early warnings a provider gave at a site visit, as (contract id, raised at,
# id) (a test sets them; the source reads them as an app reads its own table),
# and the calls the engine made of the source.
VISIT_WARNINGS: list[tuple[int, object, int]] = []
WARNING_READS: list[dict] = []

# The read its page declares and its navigation item follows (permissions.READS),
# taken out by the tests like the entries above.
SITE_VISITS_READ = "site_visits.view"

# The tenants and contracts the demo part saw, in the order it ran.
DEMO_RUNS: list[tuple[str, list[str]]] = []


def contract_panel(membership, contract):
    return ("plugin_app/contract_panel.html", {"visit_count": 0})


def home_panel(membership):
    return ("plugin_app/home_panel.html", {"visits_due": 2})


def portfolio_panel(membership, contracts):
    return ("plugin_app/portfolio_panel.html", {"contract_count": len(contracts)})


def visit_overdue_rule(*, contract_ids, today):
    from oversight.registry import SignalFinding

    return [
        SignalFinding(
            contract_id=contract_id,
            kind=VISIT_OVERDUE,
            key=f"{VISIT_OVERDUE}:{contract_id}",
            severity=severity,
            message=f"The site visit due before {today:%d %b %Y} has not happened.",
            evidence={"due": today.isoformat()},
        )
        for contract_id, severity in OVERDUE_VISITS.items()
        if contract_id in contract_ids
    ]


def visit_warnings(*, contract_ids, since):
    WARNING_READS.append({"contract_ids": sorted(contract_ids), "since": since})
    return [
        {"contract_id": contract_id, "raised_at": raised_at, "id": pk}
        for contract_id, raised_at, pk in VISIT_WARNINGS
        if contract_id in contract_ids and raised_at >= since
    ]


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
        registry.portfolio_panel(
            "plugin_app.site_visits", portfolio_panel, order=10, roles={Role.EXECUTIVE}
        )
        registry.signal_rule(
            "plugin_app.visit_overdue",
            visit_overdue_rule,
            kinds={VISIT_OVERDUE: "Site visit overdue"},
            order=10,
        )
        registry.early_warning_source("plugin_app.visit_warnings", visit_warnings, order=10)
