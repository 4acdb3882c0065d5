from django.apps import AppConfig

# Month-ends at which the nightly signals job is replayed by the demo: 13, so
# that with today's run the risk-score history spans more than a year on any
# seeding day.
HISTORY_MONTHS = 13

# The notification kind of new high-risk signals (registered below).
SIGNAL_NOTICE = "signal"


def seed_performance_data(ctx) -> None:
    """Demo part: KPIs, targets, the reporting calendar and returns that tell
    stories, with the nightly signals job run at each of the last
    ``HISTORY_MONTHS`` month-ends along the way (a risk-score history the
    dashboards can chart)."""
    from .demo import seed_performance

    seed_performance(
        ctx.tenant,
        list(ctx.contracts.values()),
        user=ctx.actor,
        today=ctx.today,
        nightly_history_months=HISTORY_MONTHS,
    )


def seed_signals(ctx) -> None:
    """Demo part: today's signals and risk scores, as tonight's nightly job
    would compute them, so the dashboards open with something current to read."""
    from .signal_engine import recompute_signals

    recompute_signals(tenant_id=ctx.tenant.id, today=ctx.today, user=ctx.actor)


def calendar_follows_contracts(*, membership, contracts, reason=None) -> None:
    """Contracts were created or changed (contracts' services and the register's
    import call this through the registry): their reporting calendars follow
    their dates, frequency and status."""
    from .services import contracts_calendar_sync

    if reason:  # many at once (the register's import): its reason
        why = f"Reporting calendar ({reason})"
    else:
        why = "Reporting calendar of " + ", ".join(c.reference for c in contracts)
    contracts_calendar_sync(contracts=contracts, user=membership.user, reason=why)


def dashboard_panel(membership, contract):
    """The contract dashboard's performance panel: risk, signals, charts, the
    latest return (performance/dashboard.py)."""
    from .dashboard import performance_panel

    return performance_panel(membership, contract)


class PerformanceConfig(AppConfig):
    name = "performance"

    def ready(self) -> None:
        """What performance adds to the core (oversight/registry.py)."""
        from celery.schedules import crontab

        from oversight import permissions, registry
        from oversight.models import NotificationKind, Role

        registry.tenant_urls("performance.urls", order=100)
        registry.tenant_urls("performance.api_urls", order=100, api=True)
        # Its writes (oversight.permissions.ACTIONS).
        permissions.register_action("kpi.change", {Role.ADMIN})
        permissions.register_action("contract_kpi.change", {Role.ADMIN, Role.COMMISSIONER})
        permissions.register_action("reporting_policy.change", {Role.ADMIN})
        # Providers submit their own returns. The commissioning organisation may
        # enter one for a provider (a form, a spreadsheet, the data team's bulk
        # upload) only as a recorded act with a reason; whoever entered or
        # submitted a return may not review it (services).
        permissions.register_action("return.submit", {Role.PROVIDER})
        permissions.register_action("return.enter_on_behalf", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("return.review", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("signal.acknowledge", {Role.COMMISSIONER, Role.ADMIN})
        # Its pages' reads (oversight.permissions.READS), and the navigation by them.
        permissions.register_read("returns.view", permissions.EVERY_ROLE)
        # Across the tenant's providers: the commissioning organisation's view.
        permissions.register_read("returns.overview", permissions.COMMISSIONING)
        permissions.register_read("kpi_library.view", {Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR})
        registry.nav_item("Returns", "returns_home", read="returns.view", order=30)
        registry.nav_item("KPI library", "kpi_list", read="kpi_library.view", order=40)
        registry.contract_saved("performance.calendar", calendar_follows_contracts, order=100)
        # Nightly, UTC: the calendar sync first, so that the signals recompute
        # counts newly late or missing returns and the reminders see the periods
        # created overnight.
        registry.periodic_task(
            "sync-reporting-calendars",
            "performance.tasks.sync_reporting_calendars",
            schedule=crontab(hour=1, minute=0),
            order=10,
        )
        registry.periodic_task(
            "recompute-portfolio-signals",
            "performance.tasks.recompute_portfolio_signals",
            schedule=crontab(hour=2, minute=0),
            order=20,
        )
        registry.periodic_task(
            "send-return-reminders",
            "performance.tasks.send_return_reminders",
            schedule=crontab(hour=7, minute=0),
            order=30,
        )
        registry.contract_panel("performance.overview", dashboard_panel, order=100)
        registry.contract_link("Returns", "contract_returns", read="returns.view", order=10)
        registry.contract_link(
            "Values against target", "contract_values", read="returns.view", order=20
        )
        registry.contract_link(
            "KPIs, targets and benchmarks", "contract_kpis", read="register.view", order=30
        )
        for order, kind in enumerate(
            (
                NotificationKind.RETURN_REMINDER,
                NotificationKind.RETURN_LATE,
                NotificationKind.RETURN_QUERIED,
            ),
            start=1,
        ):
            registry.notification_kind(kind, kind.label, order=order * 10)
        # New high or critical signals, to the contract's manager (signal_engine).
        registry.notification_kind(SIGNAL_NOTICE, "New high-risk signals", order=40)
        # After the core's parts (tenant … milestones, orders 10-80).
        registry.demo_part("performance.returns", seed_performance_data, order=100)
        registry.demo_part("performance.signals", seed_signals, order=110)
