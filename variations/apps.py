from django.apps import AppConfig


def variations_panel(membership, contract):
    """The contract dashboard's "Pending variations" panel."""
    from .views import dashboard_panel

    return dashboard_panel(membership, contract)


def seed_variations(ctx):
    """Demo part: the demo's variations (variations/demo.py)."""
    from .demo import seed_variations as run

    run(ctx)


class VariationsConfig(AppConfig):
    name = "variations"

    def ready(self) -> None:
        """What variations adds to the core (oversight/registry.py)."""
        from celery.schedules import crontab

        from oversight import permissions, registry
        from oversight.models import Role

        from .services import VARIATION_NOTICE

        # Either side proposes (a provider's member on its own contracts); the
        # commissioning side assesses; commissioners, admins and executives
        # decide, under the tenant's rules (an executive where they say; never
        # the proposer: variations/services.py); the admin sets the rules.
        permissions.register_action(
            "variation.propose", {Role.COMMISSIONER, Role.ADMIN, Role.PROVIDER}
        )
        permissions.register_action("variation.assess", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action(
            "variation.approve", {Role.COMMISSIONER, Role.ADMIN, Role.EXECUTIVE}
        )
        permissions.register_action("variation_policy.change", {Role.ADMIN})
        # Every role reads variations and a contract's terms (a provider's
        # member, its own contracts': the selectors); the approval rules are the
        # commissioning side's.
        permissions.register_read("variations.view", permissions.EVERY_ROLE)
        permissions.register_read("variation_policy.view", permissions.COMMISSIONING)

        registry.tenant_urls("variations.urls", order=300)
        registry.tenant_urls("variations.api_urls", order=300, api=True)
        registry.nav_item("Variations", "variation_list", read="variations.view", order=66)
        registry.contract_link(
            "Variations", "contract_variations", read="variations.view", order=60
        )
        registry.contract_link(
            "Terms as at a date", "contract_terms", read="variations.view", order=61
        )
        registry.contract_panel("variations.pending", variations_panel, order=70)
        registry.notification_kind(VARIATION_NOTICE, "Contract variations", order=90)
        # Hourly, at a quarter past: each tenant's effective date comes at its
        # own midnight (a tenant's today, oversight.clock), so a variation
        # applies within the hour after it, whatever the time zone.
        registry.periodic_task(
            "apply-due-variations",
            "variations.tasks.apply_due",
            schedule=crontab(minute=15),
            order=5,
        )
        # After escalation's parts (105, 106), before today's signals (110), so
        # that the nightly run sees the re-based limits.
        registry.demo_part("variations.variations", seed_variations, order=107)
