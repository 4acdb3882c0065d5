from django.apps import AppConfig


def escalation_panel(membership, contract):
    """The contract dashboard's escalation panel: level, last steps, a link."""
    from .views import dashboard_panel

    return dashboard_panel(membership, contract)


class EscalationConfig(AppConfig):
    name = "escalation"

    def ready(self) -> None:
        """What escalation adds to the core (oversight/registry.py)."""
        from oversight import registry

        from .services import APPROVAL_NOTICE, STEP_NOTICE

        registry.tenant_urls("escalation.urls", order=200)
        registry.tenant_urls("escalation.api_urls", order=200, api=True)
        # Before performance's panel (order 100): where the contract sits on the ladder.
        registry.contract_panel("escalation.level", escalation_panel, order=50)
        registry.notification_kind(STEP_NOTICE, "Escalation steps", order=60)
        registry.notification_kind(APPROVAL_NOTICE, "Escalation steps awaiting approval", order=70)
