"""Review meetings: the meetings, their three-part agenda, minutes, decisions
and actions, the frozen meeting pack, the 12-month deep-dive roadmap and the
members' calendar feeds.

Statuses move through ``oversight.workflow`` (declared in reviews/services.py);
every row keeps its history (who and why).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from contracts.models import DESCRIPTION_MAX, Contract, limited_text
from oversight import clock
from oversight.models import Membership, TenantOwned

TEXT_MAX = DESCRIPTION_MAX
MINUTES_MAX = 50_000


class MeetingKind(models.TextChoices):
    CHECK_IN = "check_in", "Monthly contract check-in"
    QUARTERLY = "quarterly_check_in", "Quarterly contract check-in"
    PORTFOLIO = "portfolio_review", "Quarterly internal portfolio review"
    EXECUTIVE = "executive", "Quarterly executive meeting with the provider"
    SPRINT = "sprint", "Improvement sprint"


# A portfolio review is internal: it concerns no one contract, and no provider
# sees it. Every other kind is about one contract.
CONTRACTLESS_KINDS = {MeetingKind.PORTFOLIO}


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


# The pack is frozen on the move to in progress (reviews/services.py).
MEETING_TRANSITIONS = {
    MeetingStatus.SCHEDULED: {MeetingStatus.IN_PROGRESS, MeetingStatus.CANCELLED},
    MeetingStatus.IN_PROGRESS: {MeetingStatus.HELD},
    MeetingStatus.HELD: set(),
    MeetingStatus.CANCELLED: set(),
}


class Meeting(TenantOwned):
    reference = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=MeetingKind.choices)
    contract = models.ForeignKey(
        Contract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review_meetings",
        help_text="None for a portfolio review.",
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField("starts")
    ends_at = models.DateTimeField("ends")
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    # Who is invited: one Attendance row each, written with history
    # (services._attendees_set), so the invitations are in the audit trail.
    attendees = models.ManyToManyField(
        Membership, through="Attendance", related_name="+", blank=True
    )
    minutes = limited_text(MINUTES_MAX, blank=True)
    # "<contract id>:2027-01" (monthly) or "<contract id>:2027Q1" (quarterly),
    # "portfolio:2027Q1": the cadence slot a generated meeting fills, so that
    # generating twice creates nothing new. Blank for a meeting scheduled by hand.
    cadence_key = models.CharField(max_length=40, blank=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = limited_text(TEXT_MAX, blank=True)
    agenda_generated_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="meeting_reference_unique"
            ),
            models.UniqueConstraint(
                fields=["tenant", "cadence_key"],
                condition=~models.Q(cadence_key=""),
                name="meeting_cadence_slot_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "starts_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "meeting_detail", kwargs={"tenant_slug": self.tenant.slug, "meeting_pk": self.pk}
        )


class Attendance(TenantOwned):
    """One member invited to one meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendances")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "membership"], name="attendance_one_per_member"
            )
        ]


class AgendaPart(models.IntegerChoices):
    FOLLOW_UP = 1, "Follow-up of actions"
    PROGRESS = 2, "Progress on the priority measures"
    DEEP_DIVE = 3, "Deep dive"


class AgendaItem(TenantOwned):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    part = models.PositiveSmallIntegerField(choices=AgendaPart.choices)
    order = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=300)
    notes = limited_text(TEXT_MAX, blank=True)
    # What a generated item is about ("meeting_action:12", "plan_action:3",
    # "measure:40", "signal:7", "roadmap:5"); blank for one added by hand.
    source = models.CharField(max_length=40, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["part", "order", "id"]

    def __str__(self) -> str:
        return self.title


class Decision(TenantOwned):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    text = limited_text(TEXT_MAX)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["recorded_at", "id"]


class MeetingActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


MEETING_ACTION_TRANSITIONS = {
    MeetingActionStatus.OPEN: {MeetingActionStatus.DONE, MeetingActionStatus.DROPPED},
    MeetingActionStatus.DONE: {MeetingActionStatus.OPEN},
    MeetingActionStatus.DROPPED: set(),
}


class MeetingAction(TenantOwned):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="actions")
    description = limited_text(TEXT_MAX)
    owner = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField("due date")
    status = models.CharField(
        max_length=10, choices=MeetingActionStatus.choices, default=MeetingActionStatus.OPEN
    )
    note = limited_text(TEXT_MAX, blank=True, help_text="What was done, or why it was dropped.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    done_at = models.DateTimeField(null=True, blank=True)
    dropped_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.description

    def get_absolute_url(self) -> str:
        return self.meeting.get_absolute_url() + f"#action-{self.pk}"


class RoadmapStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


ROADMAP_TRANSITIONS = {
    RoadmapStatus.PLANNED: {RoadmapStatus.DONE, RoadmapStatus.DROPPED},
    RoadmapStatus.DONE: set(),
    RoadmapStatus.DROPPED: {RoadmapStatus.PLANNED},
}


class RoadmapTopic(TenantOwned):
    """A deep-dive topic in the running 12-month roadmap of a contract (or of
    the portfolio, with no contract)."""

    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="roadmap_topics"
    )
    month = models.DateField(help_text="The first day of the month it is taken in.")
    title = models.CharField(max_length=200)
    description = limited_text(TEXT_MAX, blank=True)
    owner = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=RoadmapStatus.choices, default=RoadmapStatus.PLANNED
    )
    finding = limited_text(TEXT_MAX, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    dropped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["month", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "contract", "month", "title"], name="roadmap_topic_unique"
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="roadmap_month_first"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "roadmap_topic_detail",
            kwargs={"tenant_slug": self.tenant.slug, "roadmap_topic_pk": self.pk},
        )


class MeetingPack(TenantOwned):
    """What the meeting was shown, frozen when it started: the pack's HTML,
    its PDF and the data both were made from. Never changed once written."""

    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="pack")
    html = models.TextField()
    pdf = models.BinaryField()
    data = models.JSONField(default=dict)
    frozen_at = models.DateTimeField()
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    # The bytes are not copied into the history: the row is written once.
    history = HistoricalRecords(excluded_fields=["html", "pdf", "data"])


class CalendarFeed(TenantOwned):
    """A member's calendar feed: a secret in the feed's URL, kept only as its
    SHA-256 (reviews/calendar.py). Revoked when the member asks for a new one."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["membership"],
                condition=models.Q(revoked_at__isnull=True),
                name="calendar_feed_one_live_per_member",
            )
        ]
