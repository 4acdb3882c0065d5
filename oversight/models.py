"""Tenants, users, memberships and roles.

A tenant is one commissioning organisation; a user reaches it only through a
membership, whose role decides what the user may see and change. Every
tenant-owned row elsewhere inherits ``TenantOwned``.
"""

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from oversight import clock
from oversight.workdays import calendar_problems


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in with an email address."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/Chicago)")


class Tenant(models.Model):
    """A commissioning organisation: a county agency, a state department, an NHS ICB."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD")],
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # Whose public holidays a working-day deadline skips (oversight/workdays.py):
    # a country and optionally one of its subdivisions, as the holidays library
    # names them ("US"; "GB" and "ENG" for England). Empty: weekends only.
    holiday_country = models.CharField(
        "public holidays: country",
        max_length=2,
        blank=True,
        default="",
        help_text="Two-letter ISO 3166 code, e.g. US or GB; empty to skip weekends only.",
    )
    holiday_subdivision = models.CharField(
        "public holidays: subdivision",
        max_length=10,
        blank=True,
        default="",
        help_text="Optional: a state, nation or region of that country, e.g. ENG for England.",
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.holiday_country = (self.holiday_country or "").strip()
        self.holiday_subdivision = (self.holiday_subdivision or "").strip()
        problems = calendar_problems(self.holiday_country, self.holiday_subdivision)
        if problems:
            raise ValidationError(problems)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    COMMISSIONER = "commissioner", "Commissioner"
    EXECUTIVE = "executive", "Executive"
    PROVIDER = "provider", "Provider"
    AUDITOR = "auditor", "Auditor"


class Membership(models.Model):
    """A user's place in a tenant. A provider membership names its provider."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    provider = models.ForeignKey(
        "contracts.Provider",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text="For the provider role only: the provider this person works for.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__name", "user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_one_per_tenant"),
            models.CheckConstraint(
                condition=(
                    models.Q(role="provider", provider__isnull=False)
                    | (~models.Q(role="provider") & models.Q(provider__isnull=True))
                ),
                name="membership_provider_iff_provider_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.tenant}"

    def clean(self) -> None:
        if self.role == Role.PROVIDER and not self.provider_id:
            raise ValidationError({"provider": "A provider membership must name its provider."})
        if self.role != Role.PROVIDER and self.provider_id:
            raise ValidationError({"provider": "Only provider memberships name a provider."})
        if self.provider_id and self.provider.tenant_id != self.tenant_id:
            raise ValidationError({"provider": "That provider belongs to another tenant."})

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER


class TenantOwned(models.Model):
    """Base for every row that belongs to a tenant (child rows included)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=True)

    class Meta:
        abstract = True


class NotificationKind(models.TextChoices):
    RETURN_REMINDER = "return_reminder", "Return due soon"
    RETURN_LATE = "return_late", "Return late"
    RETURN_QUERIED = "return_queried", "Return queried"
    GENERAL = "general", "General"


class Notification(TenantOwned):
    """Something a user should know about in one tenant, shown in the in-app
    list (and usually emailed). ``dedupe_key`` makes sending idempotent: a
    second attempt to send the same notice to the same user finds the row."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_sent_once",
            )
        ]
        indexes = [models.Index(fields=["tenant", "user", "read_at"])]

    def __str__(self) -> str:
        return self.message


@receiver(pre_create_historical_record, dispatch_uid="oversight.history_dated_by_the_clock")
def _history_dated_by_the_clock(sender, instance, history_instance, **kwargs) -> None:
    """Every single-row history record is dated by the one clock, also those a
    plain ``save()`` or a cascaded delete leaves (django-simple-history reads
    ``timezone.now()``). A date set on the row (``oversight.history`` sets
    ``_history_date``) stands."""
    if not hasattr(instance, "_history_date"):
        history_instance.history_date = clock.now()
