from django.apps import AppConfig


def escalation_panel(membership, contract):
    """The contract dashboard's escalation panel: level, last steps, a link."""
    from .views import dashboard_panel

    return dashboard_panel(membership, contract)


def notices_panel(membership, contract):
    """The contract dashboard's "Notices awaiting response" panel."""
    from .notice_views import dashboard_panel

    return dashboard_panel(membership, contract)


def overdue_notices(*, contract_ids, today):
    from .notices import overdue_notices_rule

    return overdue_notices_rule(contract_ids=contract_ids, today=today)


def concerns_early_warnings(*, contract_ids, since):
    """A provider's concerns as early warnings (the signals engine's silence rule)."""
    from .selectors import concerns_raised

    return concerns_raised(contract_ids=contract_ids, since=since)


def seed_ladder(ctx):
    """Demo part: the demo contracts' escalation records (escalation/demo.py)."""
    from .demo import seed_ladder as seed

    seed(ctx)


def measures_panel(membership, contract):
    """The contract dashboard's supportive measures panel."""
    from .support_views import measures_panel as panel

    return panel(membership, contract)


def concerns_panel(membership, contract):
    """The contract dashboard's provider concerns panel, newest first."""
    from .support_views import concerns_panel as panel

    return panel(membership, contract)


def withholdings_panel(membership, contract):
    """The contract dashboard's withholdings panel: the contract's totals."""
    from .withholding_views import dashboard_panel

    return dashboard_panel(membership, contract)


def plan_panel(membership, contract):
    """The contract dashboard's "Improvement plan" panel: the open plan and its actions."""
    from .plan_views import dashboard_panel

    return dashboard_panel(membership, contract)


def overdue_plan_actions(*, contract_ids, today):
    from .plans import overdue_actions_rule

    return overdue_actions_rule(contract_ids=contract_ids, today=today)


def plans_without_effect(*, contract_ids, today):
    from .plans import no_effect_rule

    return no_effect_rule(contract_ids=contract_ids, today=today)


def seed_plans(ctx):
    from .plan_demo import seed_plans as run

    run(ctx)


class EscalationConfig(AppConfig):
    name = "escalation"

    def ready(self) -> None:
        """What escalation adds to the core (oversight/registry.py)."""
        from oversight import permissions, registry
        from oversight.models import Role

        from .services import APPROVAL_NOTICE, STEP_NOTICE
        from .support import CONCERN_NOTICE

        # The admin configures the ladder; commissioners propose steps; an
        # executive (never the proposer) approves or rejects those that need it;
        # the provider acknowledges a step in effect (escalation/services.py).
        permissions.register_action("ladder.change", {Role.ADMIN})
        permissions.register_action("escalation.propose", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("escalation.approve", {Role.EXECUTIVE})
        permissions.register_action("escalation.reject", {Role.EXECUTIVE})
        permissions.register_action("escalation.acknowledge", {Role.PROVIDER})
        # A contract's escalation record: every role (a provider's member, its
        # own contracts: the selectors). The ladder: the commissioning side.
        permissions.register_read("escalation.view", permissions.EVERY_ROLE)
        permissions.register_read("ladder.view", permissions.COMMISSIONING)

        registry.tenant_urls("escalation.urls", order=200)
        registry.tenant_urls("escalation.api_urls", order=200, api=True)
        # The ladder (and its presets) in the header, for the roles that read it.
        registry.nav_item("Escalation ladder", "ladder_detail", read="ladder.view", order=62)
        registry.contract_link(
            "Escalation", "contract_escalation", read="escalation.view", order=50
        )
        # From a live signal, one step to a proposed escalation with the signal attached.
        registry.signal_lever(
            "Propose escalation", "escalation_propose", action="escalation.propose", order=20
        )
        # Before performance's panel (order 100): where the contract sits on the ladder.
        registry.contract_panel("escalation.level", escalation_panel, order=50)
        registry.notification_kind(STEP_NOTICE, "Escalation steps", order=60)
        registry.notification_kind(APPROVAL_NOTICE, "Escalation steps awaiting approval", order=70)

        # Formal notices, both ways (escalation/notices.py): the commissioning
        # side issues, closes and withdraws its notices and answers the
        # provider's; the provider raises, closes and withdraws its own and
        # responds to the commissioner's.
        from .notices import NOTICE_KIND, NOTICE_OVERDUE

        permissions.register_action("notice.issue", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("notice.answer", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("notice.raise", {Role.PROVIDER})
        permissions.register_action("notice.respond", {Role.PROVIDER})
        permissions.register_read("notices.view", permissions.EVERY_ROLE)
        registry.contract_link("Formal notices", "contract_notices", read="notices.view", order=55)
        # From a live signal, one step to the ladder's level 1 (informal concern):
        # a request for explanation to the provider with the signal attached.
        registry.signal_lever(
            "Raise a concern with the provider",
            "notice_request",
            action="notice.issue",
            order=10,
        )
        registry.contract_panel("escalation.notices", notices_panel, order=55)
        registry.notification_kind(NOTICE_KIND, "Formal notices", order=75)
        registry.signal_rule(
            "escalation.notice_overdue",
            overdue_notices,
            kinds={NOTICE_OVERDUE: "Notice response deadline missed"},
            order=50,
        )
        # Supportive measures, provider concerns and frontline reports
        # (escalation/support.py). Commissioners and admins start and end
        # measures, acknowledge concerns and report problems with a provider; a
        # provider's member raises concerns on its own contracts. Measures and
        # concerns are read on the contract's pages by every role (the
        # selectors: a provider, its own); the tenant-wide concern list and the
        # frontline reports are the commissioning side's (never a provider's).
        permissions.register_action("measure.start", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("measure.end", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("concern.raise", {Role.PROVIDER})
        permissions.register_action("concern.acknowledge", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("frontline_report.create", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_read("concerns.overview", permissions.COMMISSIONING)
        permissions.register_read("frontline_reports.view", permissions.COMMISSIONING)
        # Offered in the header to the staff who report (the page is for every
        # commissioning role).
        permissions.register_read("frontline_reports.directory", {Role.COMMISSIONER, Role.ADMIN})
        registry.nav_item(
            "Frontline reports",
            "frontline_reports",
            read="frontline_reports.directory",
            order=65,
        )
        registry.contract_link(
            "Support and concerns", "contract_support", read="escalation.view", order=55
        )
        registry.contract_panel("escalation.measures", measures_panel, order=60)
        # Beside a live signal: support, with the signal as the recovery it is tied to.
        registry.signal_lever("Offer support", "measure_create", action="measure.start", order=30)
        registry.contract_panel("escalation.concerns", concerns_panel, order=65)
        registry.notification_kind(CONCERN_NOTICE, "Provider concerns", order=80)
        # After performance's returns (100), whose signals the steps cite, and
        # before today's signals (110), which then see the notices' deadlines.
        registry.demo_part("escalation.ladder", seed_ladder, order=105)
        # A concern raised before a signal counts in the provider's favour: the
        # signals engine reads them as early warnings (no "silence" signal).
        registry.early_warning_source("escalation.concerns", concerns_early_warnings, order=50)

        # The withholding ledger (escalation/withholdings.py): the commissioning
        # side's commissioners and admins withhold, release and retain money; every
        # role reads a contract's withholdings (a provider, its own contracts': the
        # selectors); the tenant-wide ledger is the commissioning side's and the
        # auditor's.
        from .withholdings import WITHHOLDING_NOTICE

        permissions.register_action("withholding.record", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("withholding.release", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("withholding.retain", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_read("withholdings.view", permissions.EVERY_ROLE)
        permissions.register_read("withholdings.ledger", permissions.COMMISSIONING)
        registry.contract_link(
            "Withholdings", "contract_withholdings", read="withholdings.view", order=57
        )
        registry.contract_panel("escalation.withholdings", withholdings_panel, order=62)
        registry.notification_kind(WITHHOLDING_NOTICE, "Payment withholdings", order=85)

        # Improvement plans (escalation/plans.py). The commissioning side opens,
        # manages (actions, controls, agreement, closing) and reviews plans and
        # verifies or reopens actions; the provider's member marks its own
        # contract's actions done, with evidence. Every role reads them (a
        # provider, its own contracts').
        from .plans import ACTION_OVERDUE, PLAN_NO_EFFECT, PLAN_NOTICE

        permissions.register_action("plan.open", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("plan.manage", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("plan.review", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("plan_action.complete", {Role.PROVIDER})
        permissions.register_action("plan_action.verify", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action("plan_action.reopen", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_read("plans.view", permissions.EVERY_ROLE)
        registry.contract_link("Improvement plans", "contract_plans", read="plans.view", order=57)
        registry.contract_panel("escalation.plan", plan_panel, order=58)
        # From a live signal: a plan whose issue starts from the signal's words
        # and whose first action is linked to the signal's KPI.
        registry.signal_lever(
            "Open an improvement plan", "plan_create", action="plan.open", order=25
        )
        registry.notification_kind(PLAN_NOTICE, "Improvement plans", order=88)
        registry.signal_rule(
            "escalation.plan_action_overdue",
            overdue_plan_actions,
            kinds={ACTION_OVERDUE: "Improvement-plan action overdue"},
            order=55,
        )
        registry.signal_rule(
            "escalation.plan_no_effect",
            plans_without_effect,
            kinds={PLAN_NO_EFFECT: "Verified plan actions did not move their KPIs"},
            order=56,
        )
        # After the performance demo's returns (100), before its signals (110),
        # so that the nightly rules see the plan.
        registry.demo_part("escalation.plans", seed_plans, order=106)
