"""The contract register: providers, service types, contracts, sites, milestones."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.urls import reverse
from django.utils.deconstruct import deconstructible
from simple_history.models import HistoricalRecords

from oversight import clock
from oversight.models import TenantOwned

ein_validator = RegexValidator(r"^\d{2}-\d{7}$", "An EIN looks like 12-3456789.")
uei_validator = RegexValidator(
    r"^[A-HJ-NP-Z1-9][A-HJ-NP-Z0-9]{11}$",
    "A UEI is 12 letters and digits (no O or I, not starting with 0).",
)
ods_validator = RegexValidator(
    r"^[A-Z0-9]{3,6}$", "An ODS code is 3 to 6 capital letters or digits."
)
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")

# The most a free-text field or a list may hold (docs/api.md lists them): well
# past any real contract's text, short of what a mistaken or hostile client
# could send. Validators, so forms, the API and imports all refuse the excess.
ADDRESS_MAX = 1_000
DESCRIPTION_MAX = 5_000
SCOPE_MAX = 10_000
CORE_COMPONENTS_MAX_ITEMS = 50
CORE_COMPONENT_MAX_LENGTH = 500


def limited_text(limit: int, **kwargs) -> models.TextField:
    """A TextField whose length the model validates (Django checks a
    TextField's max_length only in forms)."""
    return models.TextField(max_length=limit, validators=[MaxLengthValidator(limit)], **kwargs)


@deconstructible
class ListOfTextValidator:
    """At most ``max_items`` strings, each at most ``max_length`` characters.
    Other shapes are left to the model's clean()."""

    def __init__(self, max_items: int, max_length: int):
        self.max_items, self.max_length = max_items, max_length

    def __call__(self, value) -> None:
        if not isinstance(value, list):
            return
        if len(value) > self.max_items:
            raise ValidationError(
                f"Give at most {self.max_items} items (this list has {len(value):,}).",
                code="max_items",
            )
        for number, item in enumerate(value, start=1):
            if isinstance(item, str) and len(item) > self.max_length:
                raise ValidationError(
                    f"Item {number} has {len(item):,} characters; "
                    f"each may have at most {self.max_length}.",
                    code="max_length",
                )

    def __eq__(self, other) -> bool:
        return isinstance(other, ListOfTextValidator) and (self.max_items, self.max_length) == (
            other.max_items,
            other.max_length,
        )


core_components_validator = ListOfTextValidator(
    CORE_COMPONENTS_MAX_ITEMS, CORE_COMPONENT_MAX_LENGTH
)


class Provider(TenantOwned):
    """An organisation that delivers services under contract."""

    name = models.CharField(max_length=200)
    ein = models.CharField("EIN", max_length=10, blank=True, validators=[ein_validator])
    uei = models.CharField("UEI", max_length=12, blank=True, validators=[uei_validator])
    ods_code = models.CharField("ODS code", max_length=6, blank=True, validators=[ods_validator])
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    address = limited_text(ADDRESS_MAX, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="provider_name_unique_per_tenant",
                violation_error_message="A provider with this name already exists.",
            )
        ]

    def get_absolute_url(self) -> str:
        return reverse(
            "provider_detail", kwargs={"tenant_slug": self.tenant.slug, "provider_pk": self.pk}
        )

    def __str__(self) -> str:
        return self.name


class ServiceType(TenantOwned):
    """A kind of service commissioned (HCBS personal care, crisis response…)."""

    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    description = limited_text(DESCRIPTION_MAX, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="service_type_code_unique"),
            models.UniqueConstraint(fields=["tenant", "name"], name="service_type_name_unique"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("service_type_list", kwargs={"tenant_slug": self.tenant.slug})

    def __str__(self) -> str:
        return self.name


class ContractStatus(models.TextChoices):
    PLANNED = "planned", "Planned (awarded, not started)"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    ENDED = "ended", "Ended"
    TERMINATED = "terminated", "Terminated"


# status -> statuses it may become (made by contracts.services through
# oversight.workflow). An active contract may go back to planned (retendered, its
# start moved); an ended one may be extended; a terminated one is final.
CONTRACT_TRANSITIONS: dict[str, set[str]] = {
    ContractStatus.PLANNED: {
        ContractStatus.ACTIVE,
        ContractStatus.ENDED,
        ContractStatus.TERMINATED,
    },
    ContractStatus.ACTIVE: {
        ContractStatus.PLANNED,
        ContractStatus.SUSPENDED,
        ContractStatus.ENDED,
        ContractStatus.TERMINATED,
    },
    ContractStatus.SUSPENDED: {
        ContractStatus.ACTIVE,
        ContractStatus.ENDED,
        ContractStatus.TERMINATED,
    },
    ContractStatus.ENDED: {ContractStatus.ACTIVE},
    ContractStatus.TERMINATED: set(),
}


class PaymentModel(models.TextChoices):
    BLOCK = "block", "Block"
    ACTIVITY_BANDED = "activity_banded", "Activity-banded"
    ACUITY_BANDED = "acuity_banded", "Acuity-banded"
    OUTCOME_LINKED = "outcome_linked", "Outcome-linked"


class Frequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    WEEKLY = "weekly", "Weekly (enhanced monitoring)"


class Contract(TenantOwned):
    """A contract awarded to a provider: what is bought, for whom, for how much."""

    reference = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="contracts")
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.PROTECT, related_name="contracts"
    )
    status = models.CharField(
        max_length=20, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    scope = limited_text(SCOPE_MAX, help_text="What the provider is to deliver.")
    population_coverage = limited_text(
        DESCRIPTION_MAX,
        blank=True,
        help_text="Who is eligible and how many people are to be served.",
    )
    intensity = models.CharField(
        max_length=300, blank=True, help_text="e.g. up to 20 hours of support a week"
    )
    start_date = models.DateField()
    end_date = models.DateField()
    extension_options = models.CharField(
        max_length=300, blank=True, help_text="e.g. two 12-month extensions at the agency's option"
    )
    latest_end_date = models.DateField(
        null=True, blank=True, help_text="End date if every extension option is taken up."
    )
    annual_value = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    total_value = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    payment_model = models.CharField(max_length=20, choices=PaymentModel.choices)
    payment_at_risk_pct = models.DecimalField(
        "share of payment at risk (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    contract_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="managed_contracts"
    )
    service_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_contracts",
    )
    executive_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sponsored_contracts",
    )
    reporting_frequency = models.CharField(
        max_length=10,
        choices=Frequency.choices,
        default=Frequency.MONTHLY,
        help_text="How often the provider submits returns; weekly under enhanced monitoring.",
    )
    protected_core_components = models.JSONField(
        default=list,
        blank=True,
        validators=[core_components_validator],
        help_text="What may not be traded away for volume, one item per line.",
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    # Set from the clock by oversight.history.save_with_history on every save.
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"],
                name="contract_reference_unique_per_tenant",
                violation_error_message="A contract with this reference already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="contract_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "end_date"])]

    def get_absolute_url(self) -> str:
        return reverse(
            "contract_detail", kwargs={"tenant_slug": self.tenant.slug, "contract_pk": self.pk}
        )

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = "The end date is before the start date."
        if self.latest_end_date and self.end_date and self.latest_end_date < self.end_date:
            errors["latest_end_date"] = "The latest end date is before the end date."
        if (
            self.payment_model == PaymentModel.OUTCOME_LINKED
            and (self.payment_at_risk_pct or 0) <= 0
        ):
            errors["payment_at_risk_pct"] = (
                "An outcome-linked contract puts part of its payment at risk: give the share (%)."
            )
        if self.protected_core_components and (
            not isinstance(self.protected_core_components, list)
            or not all(isinstance(c, str) and c.strip() for c in self.protected_core_components)
        ):
            errors["protected_core_components"] = "Give a list of non-empty descriptions."
        if errors:
            raise ValidationError(errors)


class DeliverySite(TenantOwned):
    """Where a contract is delivered: an area or county, perhaps by a partner."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    area = models.CharField(max_length=200, help_text="Area or county served.")
    partner_organisation = models.CharField(max_length=200, blank=True)
    address = limited_text(ADDRESS_MAX, blank=True)
    opened_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "name"], name="site_name_unique_per_contract"
            )
        ]

    def get_absolute_url(self) -> str:
        return self.contract.get_absolute_url() + "#sites"

    def __str__(self) -> str:
        return f"{self.name} ({self.area})"


class MilestoneStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    MET = "met", "Met"
    MISSED = "missed", "Missed"
    WAIVED = "waived", "Waived"


class Milestone(TenantOwned):
    """A dated commitment in a contract (go-live, staffing in post, first review…)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=300)
    due_date = models.DateField()
    status = models.CharField(
        max_length=20, choices=MilestoneStatus.choices, default=MilestoneStatus.PENDING
    )
    completed_on = models.DateField(null=True, blank=True)
    notes = limited_text(DESCRIPTION_MAX, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "due_date"]

    def get_absolute_url(self) -> str:
        return self.contract.get_absolute_url() + "#milestones"

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.status == MilestoneStatus.MET and not self.completed_on:
            raise ValidationError({"completed_on": "Give the date the milestone was met."})
