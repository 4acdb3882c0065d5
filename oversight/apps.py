from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight"

    def ready(self) -> None:
        """Register what the core itself shows (oversight/registry.py). The
        contract register's pages are listed here too: ``contracts`` is the one
        app the core knows. Feature apps register theirs in their own ready()."""
        from . import demo, registry
        from .models import NotificationKind, Role

        registry.nav_item("Home", "tenant_home", order=10)
        registry.nav_item("Contracts", "contract_list", order=20)
        registry.nav_item(
            "Providers",
            "provider_list",
            order=50,
            roles={Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR},
        )
        registry.nav_item(
            "Service types",
            "service_type_list",
            order=60,
            roles={Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR},
        )
        registry.nav_item("Members", "member_list", order=70, roles={Role.ADMIN, Role.AUDITOR})

        registry.notification_kind(
            NotificationKind.GENERAL, NotificationKind.GENERAL.label, order=90
        )

        # The demo's tenants, people and memberships (oversight/demo.py, orders
        # 10, 20, 50); the register's parts come between (contracts/apps.py).
        for order, part in demo.PARTS:
            registry.demo_part(f"oversight.{part.__name__}", part, order=order)
