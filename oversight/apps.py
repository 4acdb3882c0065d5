from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight"

    def ready(self) -> None:
        """Register what the core itself shows (oversight/registry.py). The
        contract register's pages are listed here too: ``contracts`` is the one
        app the core knows. Feature apps register theirs in their own ready()."""
        from . import demo, registry
        from .models import NotificationKind

        # Each item is shown to the roles that may read it (permissions.READS).
        registry.nav_item("Home", "tenant_home", read="home.view", order=10)
        registry.nav_item("Contracts", "contract_list", read="register.view", order=20)
        registry.nav_item("Providers", "provider_list", read="providers.directory", order=50)
        registry.nav_item(
            "Service types", "service_type_list", read="service_types.directory", order=60
        )
        registry.nav_item("Members", "member_list", read="members.view", order=70)
        registry.nav_item("Settings", "tenant_settings", read="settings.view", order=80)

        registry.notification_kind(
            NotificationKind.GENERAL, NotificationKind.GENERAL.label, order=90
        )

        # The demo's tenants, people and memberships (oversight/demo.py, orders
        # 10, 20, 50); the register's parts come between (contracts/apps.py).
        for order, part in demo.PARTS:
            registry.demo_part(f"oversight.{part.__name__}", part, order=order)
