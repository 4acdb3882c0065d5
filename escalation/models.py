"""The escalation ladder and each contract's escalation record.

A tenant's ladder is kept as versions (``LadderVersion``), each with one
``LadderStage`` per level. A version never changes once written: an admin's
edit writes the next version (``services.ladder_revise``), so a step keeps the
stage definition it was taken under (``EscalationStep.stage``).

A contract's ``EscalationRecord`` holds its current level; every move on it is
an ``EscalationStep`` with its reason, proportionality note, evidence
(``StepEvidence``), next review date, approval and the provider's notification
and acknowledgement.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from contracts.models import DESCRIPTION_MAX, Contract, Frequency, limited_text
from oversight import clock, formatting
from oversight.models import TenantOwned

TEXT_MAX = DESCRIPTION_MAX  # every free-text field of a step
RESPONSE_DAYS_MAX = 365


class LadderVersion(TenantOwned):
    """One version of a tenant's escalation ladder; the newest is in force."""

    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=clock.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for the default ladder written on first use.",
    )
    note = models.CharField(max_length=500, help_text="Why this version was made.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], name="ladder_version_number_unique_per_tenant"
            )
        ]

    def get_absolute_url(self) -> str:
        return reverse(
            "ladder_version_detail",
            kwargs={"tenant_slug": self.tenant.slug, "ladder_version_pk": self.pk},
        )

    def __str__(self) -> str:
        return f"Escalation ladder, version {self.number}"


class DeadlineBasis(models.TextChoices):
    """How a stage's response deadline is counted (escalation/ladder.py
    ``response_deadline``): every day, or working days only (weekends and the
    tenant's public holidays skipped, oversight/workdays.py)."""

    CALENDAR = "calendar", "Calendar days"
    WORKING = "working", "Working days"


class LadderStage(TenantOwned):
    """What one level of a ladder version means and what it changes."""

    version = models.ForeignKey(LadderVersion, on_delete=models.PROTECT, related_name="stages")
    level = models.PositiveSmallIntegerField(validators=[MaxValueValidator(9)])
    name = models.CharField(max_length=120)
    description = limited_text(TEXT_MAX, blank=True)
    response_days = models.PositiveSmallIntegerField(
        "response deadline (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(RESPONSE_DAYS_MAX)],
        help_text="Days the provider has to respond at this level; empty for none.",
    )
    deadline_basis = models.CharField(
        "response deadline counted in",
        max_length=10,
        choices=DeadlineBasis.choices,
        default=DeadlineBasis.CALENDAR,
        help_text=(
            "Working days skip weekends and the public holidays of the organisation's "
            "calendar (its settings)."
        ),
    )
    reporting_frequency = models.CharField(
        max_length=10,
        choices=Frequency.choices,
        default=Frequency.MONTHLY,
        help_text="How often the provider reports while the contract is at this level.",
    )
    plan_required = models.BooleanField("improvement plan required", default=False)
    executive_approval_required = models.BooleanField(default=False)
    withholding_cap_percent = models.DecimalField(
        "withholding cap (% of the monthly value)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=(
            "The most that may be withheld from one month's payment at this level, as a "
            "percentage of the contract's actual monthly value; empty for no withholding cap."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "level"], name="ladder_stage_level_unique_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"Level {self.level}: {self.name}"


class EscalationRecord(TenantOwned):
    """A contract's place on the ladder: its current level (0 until a step)."""

    contract = models.OneToOneField(
        Contract, on_delete=models.PROTECT, related_name="escalation_record"
    )
    level = models.PositiveSmallIntegerField(default=0)
    # The stage definition the contract sits at: the last step's in effect
    # (empty before the first).
    stage = models.ForeignKey(
        LadderStage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    def get_absolute_url(self) -> str:
        return reverse(
            "contract_escalation",
            kwargs={"tenant_slug": self.tenant.slug, "contract_pk": self.contract_id},
        )

    def __str__(self) -> str:
        return f"Escalation record of {self.contract.reference}: level {self.level}"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Waiting for executive approval"
    EFFECTIVE = "effective", "In effect"
    REJECTED = "rejected", "Rejected"


# status -> statuses it may become (escalation.services through oversight.workflow).
# A step that needs no approval is written in effect; one that needs it waits.
STEP_TRANSITIONS: dict[str, set[str]] = {
    StepStatus.PENDING: {StepStatus.EFFECTIVE, StepStatus.REJECTED},
    StepStatus.EFFECTIVE: set(),
    StepStatus.REJECTED: set(),
}


class EscalationStep(TenantOwned):
    """One move of a contract on the ladder (up or down), with its case."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="escalation_steps"
    )
    from_level = models.PositiveSmallIntegerField()
    to_level = models.PositiveSmallIntegerField()
    # The stage definition of to_level in the ladder version in force when proposed.
    stage = models.ForeignKey(LadderStage, on_delete=models.PROTECT, related_name="steps")
    status = models.CharField(max_length=12, choices=StepStatus.choices)
    reason = limited_text(TEXT_MAX, help_text="Why the contract moves to this level.")
    justification = limited_text(
        TEXT_MAX,
        blank=True,
        help_text="Required when the step moves more than one level at once.",
    )
    proportionality_note = limited_text(
        TEXT_MAX, help_text="Why this step and not a smaller or a larger one."
    )
    recovery_evidence = limited_text(
        TEXT_MAX,
        blank=True,
        help_text="Required to de-escalate: what shows the provider has recovered.",
    )
    next_review_on = models.DateField("next review date")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=clock.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who decided: the proposer, or the executive who approved or rejected.",
    )
    effective_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    decision_note = limited_text(TEXT_MAX, blank=True)
    # The contract's reporting frequency the step set (blank: unchanged) and
    # what it was before, so that leaving a weekly level restores it.
    reporting_set_to = models.CharField(max_length=10, choices=Frequency.choices, blank=True)
    reporting_before = models.CharField(max_length=10, choices=Frequency.choices, blank=True)
    provider_notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-proposed_at", "-id"]
        indexes = [models.Index(fields=["tenant", "contract", "status"])]

    def get_absolute_url(self) -> str:
        return (
            reverse(
                "contract_escalation",
                kwargs={"tenant_slug": self.tenant.slug, "contract_pk": self.contract_id},
            )
            + f"#step-{self.pk}"
        )

    def __str__(self) -> str:
        return f"{self.contract.reference}: level {self.from_level} → {self.to_level}"

    @property
    def direction(self) -> str:
        return "escalation" if self.to_level > self.from_level else "de-escalation"


class EvidenceKind(models.TextChoices):
    SIGNAL = "signal", "Signal"
    RETURN = "return", "Return"
    MISSED_ACTION = "missed_action", "Missed action"
    INCIDENT = "incident", "Incident"
    PROVIDER_CONCERN = "provider_concern", "Provider concern"
    OTHER = "other", "Other"


# Evidence kinds that name a row of another app (app label, model name); the
# others are free text until later issues link their own models.
LINKED_EVIDENCE = {
    EvidenceKind.SIGNAL: ("performance", "signal"),
    EvidenceKind.RETURN: ("performance", "return"),
}


class StepEvidence(TenantOwned):
    """One piece of evidence a step rests on: a signal or a return of the same
    contract (a generic reference with a snapshot of its text then), or a
    described item (a missed action, an incident, a provider concern)."""

    step = models.ForeignKey(EscalationStep, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    item = GenericForeignKey("content_type", "object_id")
    text = limited_text(
        TEXT_MAX, help_text="The item described, or the linked row's text when attached."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["step", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text}"


# --- formal notices, both ways (escalation/notices.py) ------------------------------


class NoticeDirection(models.TextChoices):
    TO_PROVIDER = "to_provider", "Commissioner to provider"
    TO_COMMISSIONER = "to_commissioner", "Provider to commissioner"


class NoticeGround(models.TextChoices):
    """What a provider's notice to the commissioner is about (blank on a
    commissioner's notice, whose concerns say it)."""

    LATE_PAYMENT = "late_payment", "Late payment"
    REFERRALS = "referrals", "Referrals not made as agreed"
    DATA_NOT_SHARED = "data_not_shared", "Data not shared"
    OTHER = "other", "Other"


class NoticeKind(models.TextChoices):
    """A formal notice (the commissioner's at level 3 and above; the provider's
    at any level), or the commissioner's informal request for an explanation
    (level 1 of the ladder, "informal concern", allowed at any level)."""

    FORMAL = "formal", "Formal notice"
    EXPLANATION = "explanation", "Request for explanation"


class NoticeStatus(models.TextChoices):
    ISSUED = "issued", "Issued, awaiting response"
    RESPONDED = "responded", "Responded"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


# status -> statuses it may become (escalation.notices through oversight.workflow).
NOTICE_TRANSITIONS: dict[str, set[str]] = {
    NoticeStatus.ISSUED: {NoticeStatus.RESPONDED, NoticeStatus.WITHDRAWN},
    NoticeStatus.RESPONDED: {NoticeStatus.CLOSED},
    NoticeStatus.CLOSED: set(),
    NoticeStatus.WITHDRAWN: set(),
}


class FormalNotice(TenantOwned):
    """A formal notice on a contract, either way: the commissioner's to the
    provider (at level 3 and above) or the provider's to the commissioner; the
    receiving side responds by the deadline (late responses are kept, marked)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=12, choices=NoticeKind.choices, default=NoticeKind.FORMAL)
    direction = models.CharField(max_length=20, choices=NoticeDirection.choices)
    ground = models.CharField(
        max_length=20,
        choices=NoticeGround.choices,
        blank=True,
        help_text="What a provider's notice is about; blank on a commissioner's.",
    )
    concerns = limited_text(TEXT_MAX, help_text="What the notice is about, in detail.")
    required_actions = limited_text(TEXT_MAX, help_text="What the other side must do.")
    step = models.ForeignKey(
        EscalationStep,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notices",
        help_text="The escalation step the notice belongs to, if any.",
    )
    status = models.CharField(
        max_length=12, choices=NoticeStatus.choices, default=NoticeStatus.ISSUED
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(default=clock.now, editable=False)
    response_due_on = models.DateField("response deadline")
    response = limited_text(TEXT_MAX, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_late = models.BooleanField(default=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    close_note = limited_text(TEXT_MAX, blank=True, help_text="Why it was closed or withdrawn.")
    # The signal the notice was raised from (a request for explanation from the
    # "Raise a concern with the provider" lever): a reference to the contract's
    # own signal (escalation imports no performance module) and its words then.
    signal_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signal_id = models.PositiveBigIntegerField(null=True, blank=True)
    signal = GenericForeignKey("signal_type", "signal_id")
    signal_text = limited_text(
        TEXT_MAX, blank=True, help_text="The attached signal's words when the notice was issued."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-issued_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status", "response_due_on"])]

    def get_absolute_url(self) -> str:
        return reverse(
            "notice_detail",
            kwargs={"tenant_slug": self.tenant.slug, "formal_notice_pk": self.pk},
        )

    def __str__(self) -> str:
        if self.kind == NoticeKind.EXPLANATION:
            return f"{self.contract.reference}: request for explanation {self.pk}"
        return f"{self.contract.reference}: notice {self.pk} ({self.get_direction_display()})"

    @property
    def is_request(self) -> bool:
        return self.kind == NoticeKind.EXPLANATION

    def signal_url(self) -> str | None:
        if not self.signal_id:
            return None
        return reverse(
            "signal_detail", kwargs={"tenant_slug": self.tenant.slug, "signal_pk": self.signal_id}
        )

    @property
    def from_provider(self) -> bool:
        return self.direction == NoticeDirection.TO_COMMISSIONER


# --- Supportive measures, provider concerns, frontline reports -------------------
# (escalation/support.py writes them; DESIGN.md: supportive measures sit beside
# any level; a provider raises an early-warning concern before it is asked;
# commissioner staff report problems with a provider.)


class MeasureKind(models.TextChoices):
    PEER_SUPPORT = "peer_support", "Peer support brokered"
    REFERRAL_FLOW = "referral_flow", "Temporary referral-flow adjustment"
    TECHNICAL_ASSISTANCE = "technical_assistance", "Technical assistance"
    WORKFORCE = "workforce_stabilisation", "Workforce stabilisation"
    OTHER = "other", "Other"


class MeasureStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


MEASURE_TRANSITIONS: dict[str, set[str]] = {
    MeasureStatus.ACTIVE: {MeasureStatus.ENDED},
    MeasureStatus.ENDED: set(),
}


class SupportiveMeasure(TenantOwned):
    """Support offered to a provider on one contract, beside any level."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="supportive_measures"
    )
    kind = models.CharField(max_length=30, choices=MeasureKind.choices)
    description = limited_text(TEXT_MAX, help_text="What the support is and who gives it.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The member of the organisation who owns the measure.",
    )
    starts_on = models.DateField("start date")
    review_on = models.DateField("review date")
    recovery_expectation = limited_text(
        TEXT_MAX, help_text="The recovery this measure is expected to bring about."
    )
    status = models.CharField(
        max_length=10, choices=MeasureStatus.choices, default=MeasureStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = limited_text(
        TEXT_MAX, blank=True, help_text="What the measure achieved; required to end it."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-starts_on", "-id"]
        indexes = [models.Index(fields=["tenant", "contract", "status"])]

    def get_absolute_url(self) -> str:
        return reverse(
            "measure_detail",
            kwargs={"tenant_slug": self.tenant.slug, "supportive_measure_pk": self.pk},
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.contract.reference}"


class ConcernStatus(models.TextChoices):
    RAISED = "raised", "Raised"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


CONCERN_TRANSITIONS: dict[str, set[str]] = {
    ConcernStatus.RAISED: {ConcernStatus.ACKNOWLEDGED},
    ConcernStatus.ACKNOWLEDGED: set(),
}


class ProviderConcern(TenantOwned):
    """An early-warning concern a provider raises on its own contract before it
    is asked. ``raised_at`` is kept so that a concern raised before a signal
    counts in the provider's favour (``selectors.concerns_raised``)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="concerns")
    drifting = limited_text(TEXT_MAX, help_text="What is drifting.")
    drivers = limited_text(TEXT_MAX, help_text="The likely drivers.")
    mitigation = limited_text(TEXT_MAX, help_text="The mitigation already in place.")
    support_requested = limited_text(
        TEXT_MAX, blank=True, help_text="The support asked of the commissioner, if any."
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(default=clock.now, editable=False)
    status = models.CharField(
        max_length=12, choices=ConcernStatus.choices, default=ConcernStatus.RAISED
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledgement_note = limited_text(TEXT_MAX, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["tenant", "contract", "raised_at"])]

    def get_absolute_url(self) -> str:
        return reverse(
            "concern_detail",
            kwargs={"tenant_slug": self.tenant.slug, "provider_concern_pk": self.pk},
        )

    def __str__(self) -> str:
        return f"Concern on {self.contract.reference}: {self.drifting[:60]}"


class ReportCategory(models.TextChoices):
    MISSED_VISIT = "missed_visit", "Missed visit"
    TRANSPORT = "transport", "Transport"
    SAFEGUARDING = "safeguarding", "Safeguarding"
    COMMUNICATION = "communication", "Communication"
    OTHER = "other", "Other"


class FrontlineReport(TenantOwned):
    """A problem with a provider reported by commissioner staff (a caseworker).
    Providers do not see them."""

    provider = models.ForeignKey(
        "contracts.Provider", on_delete=models.PROTECT, related_name="frontline_reports"
    )
    contract = models.ForeignKey(
        Contract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="frontline_reports",
    )
    category = models.CharField(max_length=20, choices=ReportCategory.choices)
    occurred_on = models.DateField("date of the problem")
    description = limited_text(TEXT_MAX, help_text="What happened.")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["tenant", "provider", "occurred_on"])]

    def get_absolute_url(self) -> str:
        return reverse(
            "frontline_report_detail",
            kwargs={"tenant_slug": self.tenant.slug, "frontline_report_pk": self.pk},
        )

    def __str__(self) -> str:
        return f"{self.get_category_display()} report on {self.provider.name}"


# --- The withholding ledger (escalation/withholdings.py) ---------------------------
# Money withheld from a month's payment under a remedy, tied to the failure or
# the plan milestone it rests on, and released when that milestone is met (or
# retained when it is not).


class WithholdingStatus(models.TextChoices):
    WITHHELD = "withheld", "Withheld"
    RELEASED = "released", "Released"
    RETAINED = "retained", "Retained"


# status -> statuses it may become (escalation.withholdings through oversight.workflow).
WITHHOLDING_TRANSITIONS: dict[str, set[str]] = {
    WithholdingStatus.WITHHELD: {WithholdingStatus.RELEASED, WithholdingStatus.RETAINED},
    WithholdingStatus.RELEASED: set(),
    WithholdingStatus.RETAINED: set(),
}


class Withholding(TenantOwned):
    """An amount withheld from one month's payment on a contract (in the
    tenant's currency), within the withholding cap of the ladder stage the
    contract sat at, with the figures the cap was checked against."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="withholdings")
    period = models.DateField(
        "payment period", help_text="The month whose payment it is withheld from (its first day)."
    )
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(max_length=3, help_text="The tenant's currency when recorded.")
    # What it is tied to: a formal notice, an escalation step, a signal (later an
    # improvement-plan action) of the same contract, or nothing (a failure in words).
    tied_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tied_id = models.PositiveBigIntegerField(null=True, blank=True)
    tied_to = GenericForeignKey("tied_type", "tied_id")
    ground = limited_text(
        TEXT_MAX, help_text="The failure or the milestone it is tied to, in words."
    )
    step = models.ForeignKey(
        EscalationStep,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="withholdings",
        help_text="The escalation step in effect that authorised it, if any.",
    )
    # The figures the cap was checked against when it was recorded.
    stage = models.ForeignKey(LadderStage, on_delete=models.PROTECT, related_name="+")
    cap_percent = models.DecimalField(max_digits=5, decimal_places=2)
    monthly_value = models.DecimalField("actual monthly value", max_digits=14, decimal_places=2)
    status = models.CharField(
        max_length=10, choices=WithholdingStatus.choices, default=WithholdingStatus.WITHHELD
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=clock.now, editable=False)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_note = limited_text(TEXT_MAX, blank=True, help_text="How the milestone was met.")
    retained_at = models.DateTimeField(null=True, blank=True)
    retained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retain_note = limited_text(TEXT_MAX, blank=True, help_text="Why the money is retained.")
    # A retried request (the page's form token, the API's Idempotency-Key) finds
    # the withholding it made instead of writing another.
    request_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-period", "-id"]
        indexes = [models.Index(fields=["tenant", "contract", "period"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recorded_by", "request_key"],
                condition=models.Q(request_key__isnull=False),
                name="withholding_request_key_unique_per_recorder",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="withholding_amount_positive"
            ),
        ]

    def get_absolute_url(self) -> str:
        return reverse(
            "withholding_detail",
            kwargs={"tenant_slug": self.tenant.slug, "withholding_pk": self.pk},
        )

    def __str__(self) -> str:
        return f"Withholding {self.pk} on {self.contract.reference}"

    @property
    def period_label(self) -> str:
        """ "Nov 2026": the payment month, as every page names a month."""
        return formatting.period_label(start=self.period)


# --- Improvement plans (escalation/plans.py writes them) ---------------------------
# DESIGN.md: an issue statement, root causes (distinct from the symptoms that
# show the problem), actions with a named accountable lead, a milestone, a due
# date and the evidence that will show each is done; the KPIs each action is
# expected to move; safeguarding and continuity controls confirmed at each review.

SETTLING_PERIODS_MAX = 24


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AGREED = "agreed", "Agreed"
    CLOSED = "closed", "Closed"


PLAN_TRANSITIONS: dict[str, set[str]] = {
    PlanStatus.DRAFT: {PlanStatus.AGREED, PlanStatus.CLOSED},
    PlanStatus.AGREED: {PlanStatus.CLOSED},
    PlanStatus.CLOSED: set(),
}


class ImprovementPlan(TenantOwned):
    """A contract's improvement plan: what is wrong (the issue and the symptoms
    that show it), why (its root causes, ``PlanRootCause``), what will be done
    (``PlanAction``) and what must stay safe meanwhile (``PlanControl``)."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="improvement_plans"
    )
    step = models.ForeignKey(
        EscalationStep,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="improvement_plans",
        help_text="The escalation step the plan was opened from, if any.",
    )
    issue_statement = limited_text(TEXT_MAX, help_text="The problem the plan addresses.")
    symptoms = limited_text(
        TEXT_MAX,
        help_text="What shows the problem: the measures and events seen (not why they happen).",
    )
    settling_periods = models.PositiveSmallIntegerField(
        "settling time (periods)",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(SETTLING_PERIODS_MAX)],
        help_text=(
            "Reporting periods after an action is verified before its KPIs should show the effect."
        ),
    )
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=clock.now, editable=False)
    agreed_at = models.DateTimeField(null=True, blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_note = limited_text(TEXT_MAX, blank=True, help_text="Why the plan was closed.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-opened_at", "-id"]
        indexes = [models.Index(fields=["tenant", "contract", "status"])]

    def get_absolute_url(self) -> str:
        return reverse(
            "plan_detail",
            kwargs={"tenant_slug": self.tenant.slug, "improvement_plan_pk": self.pk},
        )

    def __str__(self) -> str:
        return f"Improvement plan {self.pk} on {self.contract.reference}"


class PlanRootCause(TenantOwned):
    """One root cause of a plan's issue: why the symptoms happen."""

    plan = models.ForeignKey(ImprovementPlan, on_delete=models.PROTECT, related_name="root_causes")
    cause = limited_text(TEXT_MAX, help_text="Why the problem happens.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return self.cause


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done, awaiting verification"
    VERIFIED = "verified", "Verified"


# The provider marks an open action done (with evidence); the commissioning side
# verifies it or sends it back to open with a reason.
ACTION_TRANSITIONS: dict[str, set[str]] = {
    ActionStatus.OPEN: {ActionStatus.DONE},
    ActionStatus.DONE: {ActionStatus.VERIFIED, ActionStatus.OPEN},
    ActionStatus.VERIFIED: set(),
}


class PlanAction(TenantOwned):
    """One action of a plan, with who answers for it and how it is shown done."""

    plan = models.ForeignKey(ImprovementPlan, on_delete=models.PROTECT, related_name="actions")
    description = limited_text(TEXT_MAX, help_text="What will be done.")
    lead = models.CharField(
        "accountable lead", max_length=200, help_text="The named person accountable for it."
    )
    milestone = models.CharField(max_length=200, help_text="The milestone it reaches.")
    due_on = models.DateField("due date")
    evidence_expected = limited_text(
        TEXT_MAX, help_text="The evidence that will show the action is done."
    )
    contract_kpis = models.ManyToManyField(
        "performance.ContractKpi",
        blank=True,
        related_name="plan_actions",
        verbose_name="KPIs it is expected to move",
    )
    status = models.CharField(
        max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completion_evidence = limited_text(
        TEXT_MAX, blank=True, help_text="The evidence the provider gave that it is done."
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification_note = limited_text(TEXT_MAX, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopen_reason = limited_text(
        TEXT_MAX, blank=True, help_text="Why the action was sent back to open (the latest time)."
    )

    history = HistoricalRecords(m2m_fields=[contract_kpis])

    class Meta:
        ordering = ["plan", "due_on", "id"]
        indexes = [models.Index(fields=["tenant", "status", "due_on"])]

    def get_absolute_url(self) -> str:
        return self.plan.get_absolute_url() + f"#action-{self.pk}"

    def __str__(self) -> str:
        return f"Action {self.pk}: {self.description[:80]}"


class ControlKind(models.TextChoices):
    SAFEGUARDING = "safeguarding", "Safeguarding"
    CONTINUITY = "continuity", "Continuity of care"


class PlanControl(TenantOwned):
    """A safeguarding or continuity control that must stay in place while the
    provider recovers; each review confirms it in place or not."""

    plan = models.ForeignKey(ImprovementPlan, on_delete=models.PROTECT, related_name="controls")
    kind = models.CharField(max_length=20, choices=ControlKind.choices)
    description = limited_text(TEXT_MAX, help_text="What must stay in place.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:80]}"


class PlanReview(TenantOwned):
    """A review of a plan, at which every control is confirmed in place or not
    (``ControlCheck``)."""

    plan = models.ForeignKey(ImprovementPlan, on_delete=models.PROTECT, related_name="reviews")
    held_on = models.DateField("review date")
    note = limited_text(TEXT_MAX, help_text="What the review found.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "-held_on", "-id"]

    def __str__(self) -> str:
        return f"Review of plan {self.plan_id} on {self.held_on}"


class ControlCheck(TenantOwned):
    """One control as a review found it."""

    review = models.ForeignKey(PlanReview, on_delete=models.PROTECT, related_name="checks")
    control = models.ForeignKey(PlanControl, on_delete=models.PROTECT, related_name="checks")
    in_place = models.BooleanField()
    note = limited_text(TEXT_MAX, blank=True, help_text="Required when it is not in place.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["review", "control"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "control"], name="control_check_once_per_review"
            )
        ]

    def __str__(self) -> str:
        return f"{self.control}: {'in place' if self.in_place else 'not in place'}"
