"""Formal variations of a contract (DESIGN.md, Domain: ``variations/``).

A variation is proposed by either side with its kind, rationale and the exact
changes, field by field (``VariationChange``); the commissioning side assesses
its impact and it is approved or rejected under the tenant's approval rules
(``VariationPolicy``); on its effective date the approved changes are applied
to the contract and its KPI targets in one transaction (variations/services.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from contracts.models import Contract
from oversight import clock
from oversight.models import TenantOwned


class VariationKind(models.TextChoices):
    SCOPE = "scope", "Scope"
    VOLUME = "volume", "Volume"
    PRICE = "price", "Price"
    KPI = "kpi", "KPI or target"
    TERM = "term", "Term or extension"
    PAYMENT_MODEL = "payment_model", "Payment model"
    SITES = "sites", "Sites"
    DELIVERY_MODEL = "delivery_model", "Model of delivery"


class VariationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_ASSESSMENT = "under_assessment", "Under assessment"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EFFECTIVE = "effective", "Effective"
    WITHDRAWN = "withdrawn", "Withdrawn"


VARIATION_TRANSITIONS = {
    VariationStatus.DRAFT: {VariationStatus.SUBMITTED, VariationStatus.WITHDRAWN},
    VariationStatus.SUBMITTED: {VariationStatus.UNDER_ASSESSMENT, VariationStatus.WITHDRAWN},
    VariationStatus.UNDER_ASSESSMENT: {
        VariationStatus.APPROVED,
        VariationStatus.REJECTED,
        VariationStatus.WITHDRAWN,
    },
    VariationStatus.APPROVED: {VariationStatus.EFFECTIVE},
    VariationStatus.REJECTED: set(),
    VariationStatus.EFFECTIVE: set(),
    VariationStatus.WITHDRAWN: set(),
}

# Still to be decided or applied: "variations in progress".
IN_PROGRESS = (
    VariationStatus.DRAFT,
    VariationStatus.SUBMITTED,
    VariationStatus.UNDER_ASSESSMENT,
    VariationStatus.APPROVED,
)


class VariationPolicy(TenantOwned):
    """A tenant's approval rules: which variations need an executive's approval
    (any one rule suffices); the rest a commissioner or admin may approve. The
    proposer never approves their own."""

    executive_above = models.DecimalField(
        "executive approval above (total cost)",
        max_digits=14,
        decimal_places=2,
        default=Decimal("100000"),
        validators=[MinValueValidator(0)],
        help_text="A variation whose total cost, either way, is above this needs an executive.",
    )
    executive_for_protected = models.BooleanField(
        "executive approval when a protected core component is touched", default=True
    )
    executive_kinds = models.JSONField(
        "kinds that always need an executive",
        default=list,
        blank=True,
        help_text="Kinds of variation (codes) that always need an executive.",
    )
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "variation policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="one_variation_policy_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Variation approval rules of {self.tenant}"


class Variation(TenantOwned):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="variations")
    reference = models.CharField(max_length=40, editable=False)
    kind = models.CharField(max_length=20, choices=VariationKind.choices)
    title = models.CharField(max_length=200)
    rationale = models.TextField(help_text="Why the contract should change.")
    effective_on = models.DateField("effective date")
    status = models.CharField(
        max_length=20, choices=VariationStatus.choices, default=VariationStatus.DRAFT
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposer_role = models.CharField(max_length=20, editable=False)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    assessment_started_at = models.DateTimeField(null=True, blank=True)
    # The impact assessment (the commissioning side's).
    cost_per_year = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Negative: a saving."
    )
    cost_total = models.DecimalField(
        "total cost", max_digits=14, decimal_places=2, null=True, blank=True
    )
    quality_impact = models.TextField(blank=True)
    outcomes_impact = models.TextField(blank=True)
    risk_impact = models.TextField(blank=True)
    protected_components = models.JSONField(
        "protected core components touched", default=list, blank=True
    )
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessed_at = models.DateTimeField(null=True, blank=True)
    needs_executive = models.BooleanField(default=False, editable=False)
    approval_rule = models.CharField(max_length=300, blank=True, editable=False)
    # The decision.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    apply_problem = models.TextField(blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="variation_reference_unique_per_tenant"
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "effective_on"])]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse(
            "variation_detail",
            kwargs={"tenant_slug": self.tenant.slug, "variation_pk": self.pk},
        )


class ChangeField(models.TextChoices):
    ANNUAL_VALUE = "annual_value", "Annual value"
    TOTAL_VALUE = "total_value", "Total value"
    END_DATE = "end_date", "End date"
    LATEST_END_DATE = "latest_end_date", "Latest end date with extensions"
    PAYMENT_MODEL = "payment_model", "Payment model"
    PAYMENT_AT_RISK = "payment_at_risk_pct", "Payment at risk (%)"
    PROTECTED_COMPONENTS = "protected_core_components", "Protected core components"
    KPI_TARGET = "kpi_target", "A KPI's target"
    KPI_REBASE = "kpi_rebase", "Re-base a KPI's control limits"
    SITE_ADD = "site_add", "A site added"


# The changes that name one of the contract's KPIs.
KPI_FIELDS = (ChangeField.KPI_TARGET, ChangeField.KPI_REBASE)


class VariationChange(TenantOwned):
    """One change a variation makes, field by field. ``value`` holds the new
    value as text (a number, an ISO date, a payment model's code; protected
    components one per line; a site's name), ``detail`` what the change needs
    besides (a KPI target's amber tolerance, a new site's area).
    ``previous`` records the value it replaced when it was applied."""

    variation = models.ForeignKey(Variation, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=30, choices=ChangeField.choices)
    contract_kpi = models.ForeignKey(
        "performance.ContractKpi",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="variation_changes",
    )
    value = models.TextField(blank=True)
    detail = models.CharField(max_length=300, blank=True)
    previous = models.TextField(blank=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["variation", "position", "id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()} → {self.value}"
