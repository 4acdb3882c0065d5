from django.apps import AppConfig


def next_review_panel(membership, contract):
    """The contract dashboard's "Next review" panel."""
    from .views import next_review_panel as panel

    return panel(membership, contract)


def upcoming_meetings_panel(membership):
    """The home page's upcoming meetings."""
    from .views import upcoming_panel

    return upcoming_panel(membership)


def seed_meetings(ctx):
    """Demo part: a past meeting with minutes and actions, the next one with its pack."""
    from .demo import seed_meetings as run

    run(ctx)


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        """What review meetings add to the core (oversight/registry.py)."""
        from celery.schedules import crontab

        from oversight import permissions, registry
        from oversight.models import Role

        from .services import ACTION_NOTICE, MEETING_NOTICE

        # The commissioning side's commissioners and admins run the meetings and
        # the roadmap; an action's owner's side updates it (a provider's member,
        # only its own provider's actions: reviews/services.py). Every role reads
        # meetings and the roadmap (a provider, its own contracts' only; never a
        # portfolio review or topic: reviews/selectors.py).
        permissions.register_action("meeting.manage", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_action(
            "meeting_action.update", {Role.COMMISSIONER, Role.ADMIN, Role.PROVIDER}
        )
        permissions.register_action("roadmap.manage", {Role.COMMISSIONER, Role.ADMIN})
        permissions.register_read("meetings.view", permissions.EVERY_ROLE)
        permissions.register_read("roadmap.view", permissions.EVERY_ROLE)

        registry.tenant_urls("reviews.urls", order=300)
        registry.tenant_urls("reviews.api_urls", order=300, api=True)
        # The roadmap is reached from the meetings page (the header is full enough).
        registry.nav_item("Meetings", "meeting_list", read="meetings.view", order=35)
        registry.contract_link(
            "Review meetings", "contract_meetings", read="meetings.view", order=45
        )
        registry.contract_panel("reviews.next_review", next_review_panel, order=45)
        registry.home_panel("reviews.upcoming", upcoming_meetings_panel, order=40)
        registry.notification_kind(MEETING_NOTICE, "Review meetings", order=90)
        registry.notification_kind(ACTION_NOTICE, "Review meeting actions", order=91)
        # After the reporting calendar (01:00) and the signals (02:00), so that a
        # new meeting's generated agenda lists last night's signals.
        registry.periodic_task(
            "generate-review-meetings",
            "reviews.tasks.generate_review_meetings",
            schedule=crontab(hour=3, minute=0),
            order=40,
        )
        # After today's signals (performance, 110): the next meeting's pack shows them.
        registry.demo_part("reviews.meetings", seed_meetings, order=120)
