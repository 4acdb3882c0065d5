"""KPIs, targets, the reporting calendar and providers' returns.

A ``Kpi`` is a tenant's standard definition; a ``ContractKpi`` is that measure
on one contract with its target, tolerance, weight, benchmarks and phase
targets. Each contract has a calendar of ``ReportingPeriod`` rows (monthly, or
weekly under enhanced monitoring); a provider answers each period with a
``Return`` whose ``ReturnValue`` rows hold one value per contract KPI (and site,
for site-level KPIs). A queried return is corrected as a new version: every
version stays.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from contracts.models import Frequency  # the contract owns its reporting frequency
from oversight import clock, registry
from oversight.formatting import period_label
from oversight.models import TenantOwned


class Unit(models.TextChoices):
    PERCENTAGE = "percentage", "Percentage"
    COUNT = "count", "Count"
    RATE_PER_1000 = "rate_per_1000", "Rate per 1,000"
    DAYS = "days", "Days"
    CURRENCY = "currency", "Currency"


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"
    NONE = "none", "No direction (monitored)"


class Category(models.TextChoices):
    ACTIVITY = "activity", "Activity"
    OUTCOME = "outcome", "Outcome"
    QUALITY = "quality", "Quality"
    TIMELINESS = "timeliness", "Timeliness"
    WORKFORCE = "workforce", "Workforce"
    SAFEGUARDING = "safeguarding", "Safeguarding"
    FINANCE = "finance", "Finance"


class ReportingLevel(models.TextChoices):
    CONTRACT = "contract", "Contract"
    SITE = "site", "Site"


class Kpi(TenantOwned):
    """A standard measure, defined once per tenant and shared by contracts."""

    code = models.SlugField(max_length=40, help_text="Short code used in spreadsheets and the API.")
    name = models.CharField(max_length=200)
    definition = models.TextField(help_text="What is measured and why.")
    numerator = models.CharField(max_length=300, blank=True, help_text="The numerator, in words.")
    denominator = models.CharField(
        max_length=300, blank=True, help_text="The denominator, in words."
    )
    unit = models.CharField(max_length=20, choices=Unit.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    category = models.CharField(max_length=20, choices=Category.choices)
    is_fidelity = models.BooleanField(
        "fidelity measure", default=False, help_text="A protected core measure."
    )
    is_stress_indicator = models.BooleanField(
        default=False,
        help_text="An early sign of strain (turnover, vacancies, missed visits, incidents…).",
    )
    reporting_level = models.CharField(
        max_length=10, choices=ReportingLevel.choices, default=ReportingLevel.CONTRACT
    )
    service_types = models.ManyToManyField("contracts.ServiceType", blank=True, related_name="kpis")

    history = HistoricalRecords(m2m_fields=[service_types])

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"],
                name="kpi_code_unique_per_tenant",
                violation_error_message="A KPI with this code already exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def has_ratio(self) -> bool:
        return bool(self.numerator and self.denominator)


class ContractKpi(TenantOwned):
    """A KPI as reported by one contract, with its target and benchmarks."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="contract_kpis"
    )
    kpi = models.ForeignKey(Kpi, on_delete=models.PROTECT, related_name="contract_kpis")
    is_priority = models.BooleanField(
        default=False, help_text="One of the (at most five) measures meetings lead with."
    )
    target = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    amber_tolerance = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="How far short of target still counts as amber rather than red.",
    )
    weight = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    baseline = models.DecimalField(
        "historical baseline", max_digits=14, decimal_places=4, null=True, blank=True
    )
    peer_benchmark = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    best_practice = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    # The expected range: natural process limits of the accepted values so far,
    # refreshed when a return is accepted. A value outside needs an explanation.
    expected_low = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    expected_high = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-is_priority", "kpi__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kpi"],
                name="contract_kpi_unique",
                violation_error_message="This contract already reports that KPI.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kpi.code} on {self.contract.reference}"


class PhaseTarget(TenantOwned):
    """A target for a phase of the contract (e.g. months 1–6, implementation),
    so an early site is not judged against the mature standard."""

    contract_kpi = models.ForeignKey(
        ContractKpi, on_delete=models.CASCADE, related_name="phase_targets"
    )
    phase = models.CharField(max_length=100, help_text="e.g. Implementation")
    from_month = models.PositiveSmallIntegerField(
        help_text="First contract month of the phase (1 = the month the contract starts)."
    )
    to_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Last month of the phase; empty means to the end."
    )
    target = models.DecimalField(max_digits=14, decimal_places=4)
    amber_tolerance = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract_kpi", "from_month"]


class LimitRebase(TenantOwned):
    """The KPI's control limits start again from ``starts_on``: a known change
    (a formal variation of its target, its definition or the model of delivery)
    after which the old limits no longer describe the process. The SPC of the
    chart and of the signals engine splits the series at the first period that
    starts on or after ``starts_on`` (``spc.xmr_batch``'s ``rebase`` column);
    ``source_label`` names what caused it on the chart ("Variation VAR-2026-002")
    and ``source_type``/``source_id`` point at it."""

    contract_kpi = models.ForeignKey(ContractKpi, on_delete=models.CASCADE, related_name="rebases")
    starts_on = models.DateField("re-based from")
    reason = models.CharField(max_length=500)
    source_label = models.CharField(max_length=120, blank=True)
    source_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract_kpi", "starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_kpi", "starts_on"], name="one_rebase_per_kpi_and_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_kpi} re-based from {self.starts_on:%-d %b %Y}"


class ReportingPolicy(TenantOwned):
    """A tenant's reporting calendar: when returns fall due, when they count
    as missing, when reminders go. Without a row the defaults below apply."""

    monthly_due_days = models.PositiveSmallIntegerField(
        default=15, help_text="Days after a month ends that its return is due."
    )
    weekly_due_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days after a week ends that its return is due."
    )
    missing_after_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days after the due date that an unreceived return is missing."
    )
    reminder_days_before = models.PositiveSmallIntegerField(
        default=5, help_text="Days before the due date that providers are reminded."
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="reporting_policy_one_per_tenant")
        ]


class ReportingPeriod(TenantOwned):
    """One period a contract must report on, with its due date."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="reporting_periods"
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    start = models.DateField()
    end = models.DateField()
    due_date = models.DateField()
    missing_after = models.DateField(
        help_text="After this date a return never received counts as missing."
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    late_notified_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "frequency", "start"], name="reporting_period_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "due_date"])]

    def __str__(self) -> str:
        """The period as people name it: "Oct 2026", "week of 3 Nov 2026"."""
        return period_label(self)

    @property
    def label(self) -> str:
        """The period as spreadsheets and the API name it: 2026-03 or 2026-W11."""
        if self.frequency == Frequency.MONTHLY:
            return self.start.strftime("%Y-%m")
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


class ReturnStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    QUERIED = "queried", "Queried"


class ReturnSource(models.TextChoices):
    WEB = "web", "Web form"
    SPREADSHEET = "spreadsheet", "Spreadsheet upload"
    API = "api", "API"
    BULK = "bulk", "Commissioner bulk upload"


class Return(TenantOwned):
    """A provider's return for one period; each correction is a new version."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="returns"
    )
    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="returns")
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=ReturnStatus.choices, default=ReturnStatus.DRAFT
    )
    no_activity = models.BooleanField(
        default=False, help_text="Nothing was delivered in the period (not scored as a failure)."
    )
    narrative = models.TextField(blank=True)
    source = models.CharField(max_length=12, choices=ReturnSource.choices)
    # An API submission's Idempotency-Key, unique per submitter (not per
    # tenant: one provider's key says nothing to another), and a hash of the
    # request it came with, so a retry with another body is told so.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    # Set when someone of the commissioning organisation entered the return for
    # the provider (a spreadsheet sent by email, a call): a recorded act, shown
    # wherever the return appears; that person may not review it.
    entered_on_behalf_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["period__start", "version"]
        constraints = [
            models.UniqueConstraint(fields=["period", "version"], name="return_version_unique"),
            # At most one live (not queried) version per period: the database,
            # not only the service, stops two concurrent submissions.
            models.UniqueConstraint(
                fields=["period"],
                condition=~models.Q(status="queried"),
                name="return_one_live_version_per_period",
            ),
            models.UniqueConstraint(
                fields=["tenant", "submitted_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="return_idempotency_key_unique_per_submitter",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"])]

    def __str__(self) -> str:
        return f"{self.contract.reference} {self.period.label} v{self.version}"

    @property
    def on_behalf_text(self) -> str:
        """ "Entered on behalf of Heartland Home Care by …, reason: …", or ""."""
        if self.entered_on_behalf_by_id is None:
            return ""
        return (
            f"Entered on behalf of {self.contract.provider.name} by {self.entered_on_behalf_by}, "
            f"reason: {self.on_behalf_reason}"
        )

    @property
    def submitted_on_time(self) -> bool | None:
        if self.submitted_at is None:
            return None
        return self.submitted_at.date() <= self.period.due_date


class ReturnValue(TenantOwned):
    """One value in a return: a contract KPI, for the contract or one site."""

    return_obj = models.ForeignKey(
        Return, on_delete=models.CASCADE, related_name="values", db_column="return_id"
    )
    contract_kpi = models.ForeignKey(ContractKpi, on_delete=models.PROTECT, related_name="values")
    site = models.ForeignKey(
        "contracts.DeliverySite", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    value = models.DecimalField(max_digits=14, decimal_places=4)
    numerator = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    denominator = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    variance_explanation = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["return_obj", "contract_kpi", "site"]
        constraints = [
            models.UniqueConstraint(
                fields=["return_obj", "contract_kpi"],
                condition=models.Q(site__isnull=True),
                name="return_value_unique_contract_level",
            ),
            models.UniqueConstraint(
                fields=["return_obj", "contract_kpi", "site"],
                condition=models.Q(site__isnull=False),
                name="return_value_unique_site_level",
            ),
        ]


class SignalKind(models.TextChoices):
    SPC_CONCERN = "spc_concern", "Special-cause concern"
    TARGET_MISSED = "target_missed", "Target missed repeatedly"
    VOLATILITY = "volatility", "Volatility rising"
    RECOVERY = "recovery", "Recovery"
    STRESS = "stress", "Stress indicator moving against the contract"
    RETURN_LATE = "return_late", "Returns late"
    RETURN_MISSING = "return_missing", "Return missing"
    RETURN_RESUBMITTED = "return_resubmitted", "Returns resubmitted"
    VARIANCE_UNEXPLAINED = "variance_unexplained", "Variances thinly explained"
    SILENCE = "silence", "Deterioration not raised by the provider"
    STRAIN = "strain", "Important measures moving against the contract together"
    EXPIRY = "expiry", "Renewal or expiry approaching"


def signal_kind_choices() -> list[tuple[str, str]]:
    """The engine's own kinds and those of the rules feature apps register
    (oversight/registry.py ``signal_rule``): a signal of a registered kind reads
    with its label everywhere (``get_kind_display``, the API's filter)."""
    return [*SignalKind.choices, *registry.signal_kinds()]


class Severity(models.TextChoices):
    INFO = "info", "Information"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class SignalStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"


class Signal(TenantOwned):
    """Something a commissioner should look at, with the data it rests on.

    Opens when its condition appears, can be acknowledged with a note, and
    closes by itself when the condition clears. ``key`` names the condition
    (kind + subject), so recomputing finds the open signal instead of opening
    a second one; the database refuses two live signals with one key.
    """

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="signals"
    )
    contract_kpi = models.ForeignKey(
        ContractKpi, null=True, blank=True, on_delete=models.CASCADE, related_name="signals"
    )
    kind = models.CharField(max_length=30, choices=signal_kind_choices)
    key = models.CharField(max_length=120)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(
        max_length=15, choices=SignalStatus.choices, default=SignalStatus.OPEN
    )
    period_start = models.DateField(null=True, blank=True, help_text="The period it concerns.")
    message = models.TextField(help_text="The plain-language sentence a commissioner reads.")
    evidence = models.JSONField(default=dict, blank=True, help_text="The data it rests on.")
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "key"],
                condition=~models.Q(status="closed"),
                name="signal_one_live_per_condition",
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "severity"])]

    def __str__(self) -> str:
        return self.message


class RiskBand(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class RiskScore(TenantOwned):
    """A contract's risk on one day, 0–100, with the reasons that make it up."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="risk_scores"
    )
    day = models.DateField()
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=10, choices=RiskBand.choices)
    reasons = models.JSONField(default=list, help_text="Plain-language reasons, largest first.")
    details = models.JSONField(
        default=list,
        blank=True,
        help_text="For each reason, where it comes from: signal kind and key, contract KPI, "
        "period and points (signal_rules.detail).",
    )
    band_from = models.CharField(
        max_length=10,
        choices=RiskBand.choices,
        blank=True,
        help_text="The band of the contract's previous score, when this one is in another.",
    )
    moved_by = models.TextField(blank=True, help_text="The reason that moved it between bands.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "day"], name="risk_score_one_per_day")
        ]
