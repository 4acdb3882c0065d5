"""The demo's performance data: a KPI library, contract KPIs, and returns that tell stories.

``seed_performance(tenant, contracts, *, user, today)`` is called by ``seed_demo``
for each demo tenant. It builds, in order and idempotently:

1. ``seed_kpi_library``: the tenant's standard measures for the demo service
   types (US or NHS wording by the tenant's currency), stress indicators included.
2. ``seed_contract_kpis``: 5–8 measures per contract (at most five priority),
   with targets, amber tolerances, weights, benchmarks, and an implementation
   phase target (contract months 1–6) so a new site is not judged against the
   mature standard.
3. The reporting calendar (``services.reporting_calendar_sync``).
4. ``seed_returns``: a return for every period each contract owes, generated
   from seeded random processes that tell one story per contract (``STORIES``):

   - ``steady``: good and near target throughout;
   - ``deteriorating``: workforce strain over the last ~12 months: turnover,
     vacancies and then missed visits rising, narratives thinning to a line and
     explanations to a word or two;
   - ``recovered``: a dip about 18 months ago, an improvement plan, back to target;
   - ``late``: values fine, but returns often after the due date, a few never
     sent, and a couple queried and resubmitted;
   - ``new``: a new site in its implementation phase, judged against phase targets.

   The latest return of each contract in ``AWAITING_REVIEW`` is left submitted,
   so that every demo commissioner has returns to accept or query.
5. With ``nightly_history_months`` (seed_demo passes 13), the nightly signals
   job, replayed within the returns at each past month-end in turn: the real
   ``recompute_signals`` for the whole tenant, on the returns accepted by then,
   so the risk-score history and the signals' opening and closing are the
   engine's own (``_nightly``).

How the returns are written: replayed through the real path, in time order.
Each submission is built as ``ReturnHeader``/``ValueRow`` and goes through
``validation.validate`` and ``services.returns_write``; the contract manager
then accepts it with ``services.return_accept`` (or queries it with
``services.return_query``, and a corrected version follows), and the expected
ranges are refreshed as an accepted return would refresh them. Each step runs
with the clock set to the moment it happened (``replaying_at``), so
``submitted_at``, ``reviewed_at`` and the history records carry historical
times, and a value that misses its target (or leaves the expected range as it
stood then) carries the explanation validation demands. The provider's own
member submits; where a provider has no user in the demo, the tenant's admin
enters it as a commissioner bulk upload. Calendar, library and contract KPI rows
are written with ``bulk_create`` (history: ``user``, ``REASON``); returns and
values carry the submitting member and a reason starting with ``REASON``.

Deterministic: ``numpy.random.default_rng`` seeded with ``DEMO_SEED``, the
tenant's slug and the contract's reference; only the anchor date moves.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.db import transaction

from contracts.models import Contract, DeliverySite, ServiceType
from oversight import clock
from oversight.history import bulk_create
from oversight.models import Membership, Role, Tenant

from . import services, terms, validation
from .calendar import contract_month
from .models import (
    Category,
    ContractKpi,
    Direction,
    Kpi,
    PhaseTarget,
    ReportingLevel,
    ReportingPeriod,
    Return,
    ReturnSource,
    Unit,
)
from .signal_engine import recompute_signals

REASON = "Demo data (seed_demo)"
DEMO_SEED = 20260101
Q4 = Decimal("0.0001")

# --------------------------------------------------------------------------
# Service groups: which family of measures a service type reports.
# --------------------------------------------------------------------------

PERSONAL_CARE = "personal_care"
CRISIS = "crisis"
ACT = "act"
HOUSING = "housing"
REENTRY = "reentry"
TRANSITION = "transition"
GENERAL = "general"

SERVICE_GROUPS: dict[str, str] = {
    # Riverbend County (US)
    "hcbs-personal-care": PERSONAL_CARE,
    "mobile-crisis": CRISIS,
    "act": ACT,
    "rapid-rehousing": HOUSING,
    "psh": HOUSING,
    "reentry": REENTRY,
    "hospital-to-home": TRANSITION,
    # Wessex Vale ICB (NHS)
    "home-care": PERSONAL_CARE,
    "discharge-to-assess": TRANSITION,
    "mh-crisis": CRISIS,
    "intensive-community-mh": ACT,
    "housing-first": HOUSING,
    "resettlement": REENTRY,
    "step-down": TRANSITION,
}

# For a service type not in the map: the first keyword found in its code or name.
_GROUP_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("crisis", CRISIS),
    ("assertive", ACT),
    ("act", ACT),
    ("housing", HOUSING),
    ("homeless", HOUSING),
    ("entry", REENTRY),
    ("resettle", REENTRY),
    ("prison", REENTRY),
    ("discharge", TRANSITION),
    ("hospital", TRANSITION),
    ("step-down", TRANSITION),
    ("reablement", TRANSITION),
    ("care", PERSONAL_CARE),
)


def service_group(service_type: ServiceType, overrides: dict[str, str] | None = None) -> str:
    code = service_type.code.lower()
    mapping = {**SERVICE_GROUPS, **(overrides or {})}
    if code in mapping:
        return mapping[code]
    text = f"{code} {service_type.name.lower()}"
    return next((group for word, group in _GROUP_KEYWORDS if word in text), GENERAL)


def dialect(tenant: Tenant) -> str:
    """NHS wording for a tenant paying in pounds, US wording otherwise."""
    return "uk" if tenant.currency == "GBP" else "us"


# --------------------------------------------------------------------------
# The KPI library.
# --------------------------------------------------------------------------

ALL = (PERSONAL_CARE, CRISIS, ACT, HOUSING, REENTRY, TRANSITION, GENERAL)


@dataclass(frozen=True)
class KpiSpec:
    code: str
    name: str
    definition: str
    unit: str
    direction: str
    category: str
    groups: tuple[str, ...]
    numerator: str = ""
    denominator: str = ""
    fidelity: bool = False
    stress: bool = False
    level: str = ReportingLevel.CONTRACT
    uk: tuple[tuple[str, str], ...] = ()  # NHS wording: (field, text) pairs

    def text(self, field_name: str, tenant_dialect: str) -> str:
        if tenant_dialect == "uk":
            for name, text in self.uk:
                if name == field_name:
                    return text
        return getattr(self, field_name)


LIBRARY: tuple[KpiSpec, ...] = (
    # --- stress indicators, reported by (almost) every service ----------------
    KpiSpec(
        "staff-turnover",
        "Staff turnover",
        "Share of the direct-care workforce who left in the month. Rising turnover is "
        "an early warning: missed visits and quality problems usually follow.",
        Unit.PERCENTAGE,
        Direction.LOWER,
        Category.WORKFORCE,
        ALL,
        numerator="Direct-care staff who left the service during the month",
        denominator="Direct-care staff in post at the start of the month (headcount)",
        stress=True,
    ),
    KpiSpec(
        "vacancy-rate",
        "Vacancy rate",
        "Share of funded direct-care posts vacant at month end, per site, so that a "
        "gap in one area is not hidden by another.",
        Unit.PERCENTAGE,
        Direction.LOWER,
        Category.WORKFORCE,
        ALL,
        numerator="Funded direct-care posts vacant at month end",
        denominator="Funded direct-care posts at month end",
        stress=True,
        level=ReportingLevel.SITE,
    ),
    KpiSpec(
        "missed-visits",
        "Missed or late visits",
        "Scheduled visits that did not happen, or started more than 30 minutes late, "
        "per site. The first thing people notice when a service is under strain.",
        Unit.PERCENTAGE,
        Direction.LOWER,
        Category.TIMELINESS,
        (PERSONAL_CARE, ACT, TRANSITION),
        numerator="Scheduled visits missed, or started more than 30 minutes after the "
        "agreed time (from electronic visit verification)",
        denominator="Visits scheduled in the month",
        fidelity=True,
        stress=True,
        level=ReportingLevel.SITE,
        uk=(
            ("name", "Missed or late calls"),
            (
                "numerator",
                "Planned calls missed, or started more than 30 minutes after the agreed "
                "time (from electronic call monitoring)",
            ),
            ("denominator", "Calls planned in the month"),
        ),
    ),
    KpiSpec(
        "incidents",
        "Critical incidents",
        "Critical incidents reported to the County in the month (injury, medication "
        "error, missing person, abuse or neglect allegation, death).",
        Unit.COUNT,
        Direction.LOWER,
        Category.SAFEGUARDING,
        ALL,
        stress=True,
        uk=(
            ("name", "Patient safety incidents (moderate harm or above)"),
            (
                "definition",
                "Patient safety incidents of moderate harm or above reported through "
                "LFPSE in the month.",
            ),
        ),
    ),
    KpiSpec(
        "safeguarding-referrals",
        "Adult protective services referrals",
        "Referrals the provider made to Adult Protective Services in the month. Neither "
        "more nor fewer is better: a change is a question to ask.",
        Unit.COUNT,
        Direction.NONE,
        Category.SAFEGUARDING,
        (PERSONAL_CARE, ACT, CRISIS, TRANSITION),
        stress=True,
        uk=(
            ("name", "Safeguarding referrals"),
            (
                "definition",
                "Section 42 safeguarding concerns the provider raised with the local "
                "authority in the month. Neither more nor fewer is better: a change is a "
                "question to ask.",
            ),
        ),
    ),
    KpiSpec(
        "complaints",
        "Complaints received",
        "Formal complaints received in the month from people served, families or "
        "advocates (concerns resolved on the spot are not counted).",
        Unit.COUNT,
        Direction.LOWER,
        Category.QUALITY,
        ALL,
        stress=True,
    ),
    KpiSpec(
        "referrals-received",
        "Referrals received",
        "New referrals received in the month, accepted or not. Demand, not performance: "
        "a surge is a stress indicator.",
        Unit.COUNT,
        Direction.NONE,
        Category.ACTIVITY,
        ALL,
        stress=True,
    ),
    KpiSpec(
        "referral-acuity-high",
        "Referral acuity mix (high acuity)",
        "Share of referrals triaged as high acuity. A rising share means heavier work "
        "for the same capacity.",
        Unit.PERCENTAGE,
        Direction.NONE,
        Category.ACTIVITY,
        (CRISIS, ACT, TRANSITION, HOUSING),
        numerator="Referrals triaged as high acuity (risk level 3 or 4)",
        denominator="Referrals triaged in the month",
        stress=True,
    ),
    KpiSpec(
        "referral-to-contact-days",
        "Time from referral to first contact",
        "Median days from a referral being accepted to the first face-to-face contact.",
        Unit.DAYS,
        Direction.LOWER,
        Category.TIMELINESS,
        (PERSONAL_CARE, ACT, HOUSING, REENTRY, TRANSITION, GENERAL),
    ),
    KpiSpec(
        "continuity-plan",
        "Continuity-plan completion",
        "People served who have a current, tested back-up plan saying who will come if "
        "their usual worker cannot.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.QUALITY,
        (PERSONAL_CARE, ACT, TRANSITION),
        numerator="People served with a back-up plan reviewed in the last 6 months",
        denominator="People served at month end",
        fidelity=True,
        uk=(
            ("numerator", "People supported with a contingency plan reviewed in the last 6 months"),
            ("denominator", "People supported at month end"),
        ),
    ),
    KpiSpec(
        "housing-placements",
        "Housing placements",
        "Households who moved into permanent or long-term housing in the month.",
        Unit.COUNT,
        Direction.HIGHER,
        Category.OUTCOME,
        (HOUSING, REENTRY),
    ),
    KpiSpec(
        "readmissions-30d",
        "30-day readmissions",
        "People readmitted to hospital within 30 days of discharge into the service.",
        Unit.PERCENTAGE,
        Direction.LOWER,
        Category.OUTCOME,
        (TRANSITION, ACT, CRISIS),
        numerator="People in the cohort readmitted to hospital (any ward) within 30 days",
        denominator="People discharged from hospital into the service in the cohort month "
        "(the month before last)",
        uk=(("name", "30-day emergency readmissions"),),
    ),
    # --- personal care ---------------------------------------------------------
    KpiSpec(
        "hours-delivered",
        "Care hours delivered as planned",
        "Share of the care hours in people's service plans that were delivered.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.ACTIVITY,
        (PERSONAL_CARE,),
        numerator="Care hours delivered (verified)",
        denominator="Care hours planned in current service plans",
        fidelity=True,
        uk=(("denominator", "Care hours commissioned in current care and support plans"),),
    ),
    KpiSpec(
        "care-plan-reviews",
        "Person-centered service plans reviewed on time",
        "Service plans due for review in the month that were reviewed with the person.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.QUALITY,
        (PERSONAL_CARE,),
        numerator="Service plans reviewed with the person by their due date",
        denominator="Service plans due for review in the month",
        fidelity=True,
        uk=(
            ("name", "Care and support plans reviewed on time"),
            ("numerator", "Care and support plans reviewed with the person by their due date"),
            ("denominator", "Care and support plans due for review in the month"),
        ),
    ),
    KpiSpec(
        "evv-compliance",
        "Visits verified by EVV",
        "Visits with a valid electronic visit verification record (21st Century Cures Act).",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.QUALITY,
        (PERSONAL_CARE,),
        numerator="Visits with a complete EVV record",
        denominator="Visits delivered",
        fidelity=True,
        uk=(
            ("name", "Calls logged by electronic call monitoring"),
            ("definition", "Calls with a complete electronic call monitoring record."),
            ("numerator", "Calls with a complete call monitoring record"),
            ("denominator", "Calls delivered"),
        ),
    ),
    # --- crisis ------------------------------------------------------------------
    KpiSpec(
        "crisis-response-1h",
        "In-person crisis response within 1 hour",
        "Crises needing a mobile response that were met in person within 60 minutes.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.TIMELINESS,
        (CRISIS,),
        numerator="Crises met in person within 60 minutes of dispatch",
        denominator="Crises needing a mobile response",
        fidelity=True,
        uk=(
            ("name", "Very urgent crisis referrals seen within 4 hours"),
            (
                "definition",
                "Very urgent referrals to the crisis team seen face to face within 4 hours "
                "(NHS England's community mental health crisis standard).",
            ),
            ("numerator", "Very urgent referrals seen face to face within 4 hours"),
            ("denominator", "Very urgent referrals to the crisis team"),
        ),
    ),
    KpiSpec(
        "crisis-community-resolution",
        "Crises resolved in the community",
        "Crisis episodes that ended without an emergency department visit or admission.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.OUTCOME,
        (CRISIS,),
        numerator="Crisis episodes closed without an emergency department visit or admission",
        denominator="Crisis episodes closed in the month",
    ),
    KpiSpec(
        "crisis-follow-up-72h",
        "Follow-up contact within 72 hours",
        "People stabilized in a crisis who had a follow-up contact within 72 hours.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.QUALITY,
        (CRISIS,),
        numerator="People with a follow-up contact within 72 hours of the crisis episode",
        denominator="Crisis episodes closed in the month",
        fidelity=True,
    ),
    # --- assertive community treatment --------------------------------------------
    KpiSpec(
        "act-contact-intensity",
        "ACT: people seen three or more times a week",
        "People on the ACT caseload seen face to face at least three times in every "
        "week of the month (a DACTS intensity item).",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.QUALITY,
        (ACT,),
        numerator="People seen face to face 3 or more times in every week of the month",
        denominator="People on the caseload for the whole month",
        fidelity=True,
        uk=(
            ("name", "Assertive outreach: people seen three or more times a week"),
            (
                "definition",
                "People on the assertive outreach caseload seen face to face at least three "
                "times in every week of the month.",
            ),
        ),
    ),
    KpiSpec(
        "stable-housing",
        "People in stable housing",
        "People served living in their own or supported accommodation (not homeless, "
        "not in a shelter, hospital or custody) at month end.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.OUTCOME,
        (ACT, REENTRY),
        numerator="People served in stable accommodation at month end",
        denominator="People served at month end",
    ),
    # --- housing -------------------------------------------------------------------
    KpiSpec(
        "days-to-housing",
        "Days from enrollment to move-in",
        "Mean days from enrollment to moving into housing, for households who moved in "
        "during the month.",
        Unit.DAYS,
        Direction.LOWER,
        Category.TIMELINESS,
        (HOUSING,),
        uk=(("name", "Days from referral to moving in"),),
    ),
    KpiSpec(
        "tenancy-sustainment",
        "Tenancies sustained at 12 months",
        "People housed 12 months ago who are still housed (a Housing First fidelity measure).",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.OUTCOME,
        (HOUSING,),
        numerator="People housed in the month a year ago who are still housed",
        denominator="People housed in the month a year ago",
        fidelity=True,
    ),
    KpiSpec(
        "returns-to-homelessness",
        "Returns to homelessness",
        "People who left homelessness for housing 6 to 12 months ago and have since "
        "presented as homeless again (HUD System Performance Measure 2).",
        Unit.PERCENTAGE,
        Direction.LOWER,
        Category.OUTCOME,
        (HOUSING,),
        numerator="People housed 6 to 12 months ago who presented as homeless again",
        denominator="People housed 6 to 12 months ago",
        uk=(
            (
                "definition",
                "People who left homelessness for housing 6 to 12 months ago and have since "
                "presented as homeless again (H-CLIC).",
            ),
        ),
    ),
    KpiSpec(
        "cost-per-household",
        "Cost per household housed",
        "Contract spend in the month divided by households housed; read with the "
        "placements count, never alone.",
        Unit.CURRENCY,
        Direction.LOWER,
        Category.FINANCE,
        (HOUSING,),
    ),
    # --- re-entry -----------------------------------------------------------------
    KpiSpec(
        "pre-release-engagement",
        "Engaged before release",
        "People released in the month who met their re-entry worker before release.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.TIMELINESS,
        (REENTRY,),
        numerator="People released who met their worker at least once before release",
        denominator="People released in the month who were referred to the service",
        fidelity=True,
    ),
    KpiSpec(
        "accommodation-on-release",
        "Accommodation on the night of release",
        "People released in the month who had somewhere settled to stay on the night of release.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.OUTCOME,
        (REENTRY,),
        numerator="People released with settled accommodation on the night of release",
        denominator="People released in the month on the caseload",
    ),
    KpiSpec(
        "health-cover-on-release",
        "Medicaid coverage active at release",
        "People released in the month whose Medicaid coverage was active on the day of "
        "release (enrollment started pre-release).",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.OUTCOME,
        (REENTRY,),
        numerator="People released with Medicaid active on the day of release",
        denominator="People released in the month on the caseload",
        uk=(
            ("name", "Registered with a GP within 7 days of release"),
            (
                "definition",
                "People released in the month registered with a GP within 7 days, so "
                "that medication and treatment continue.",
            ),
            ("numerator", "People released registered with a GP within 7 days of release"),
        ),
    ),
    # --- hospital to home --------------------------------------------------------------
    KpiSpec(
        "visit-within-48h",
        "Home visit within 48 hours of discharge",
        "People discharged from hospital into the service who had a home visit within 48 hours.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.TIMELINESS,
        (TRANSITION,),
        numerator="People visited at home within 48 hours of discharge",
        denominator="People discharged from hospital into the service in the month",
        fidelity=True,
        uk=(("name", "Assessed at home within 48 hours of discharge"),),
    ),
    KpiSpec(
        "med-reconciliation",
        "Medication reconciliation within 72 hours",
        "People whose medicines were reconciled against the discharge summary within 72 "
        "hours of discharge.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.QUALITY,
        (TRANSITION,),
        numerator="People with medicines reconciled within 72 hours of discharge",
        denominator="People discharged from hospital into the service in the month",
        fidelity=True,
    ),
    KpiSpec(
        "independence-at-exit",
        "Leaving the service needing no paid care",
        "People leaving transitional care in the month who needed no ongoing paid care.",
        Unit.PERCENTAGE,
        Direction.HIGHER,
        Category.OUTCOME,
        (TRANSITION,),
        numerator="People leaving the service needing no ongoing paid care",
        denominator="People leaving the service in the month",
        uk=(
            ("name", "Reablement completed needing no ongoing care"),
            ("numerator", "People completing reablement needing no ongoing package of care"),
            ("denominator", "People completing reablement in the month"),
        ),
    ),
)
LIBRARY_BY_CODE = {spec.code: spec for spec in LIBRARY}


@transaction.atomic
def seed_kpi_library(
    tenant: Tenant, *, user, service_groups: dict[str, str] | None = None
) -> dict[str, Kpi]:
    """Create the tenant's standard KPIs (those not there yet), each linked to the
    tenant's service types of the groups that report it. Returns every KPI by code."""
    existing = {k.code: k for k in Kpi.objects.filter(tenant=tenant)}
    words = dialect(tenant)
    new = [
        Kpi(
            tenant=tenant,
            code=spec.code,
            name=spec.text("name", words),
            definition=spec.text("definition", words),
            numerator=spec.text("numerator", words),
            denominator=spec.text("denominator", words),
            unit=spec.unit,
            direction=spec.direction,
            category=spec.category,
            is_fidelity=spec.fidelity,
            is_stress_indicator=spec.stress,
            reporting_level=spec.level,
        )
        for spec in LIBRARY
        if spec.code not in existing
    ]
    for kpi in new:
        kpi.full_clean(validate_unique=False, validate_constraints=False)
    created = bulk_create(Kpi, new, user=user, reason=REASON) if new else []
    by_group: dict[str, list[int]] = {}
    for service_type in ServiceType.objects.filter(tenant=tenant).order_by("code"):
        by_group.setdefault(service_group(service_type, service_groups), []).append(service_type.id)
    for kpi in created:
        ids = [i for g in LIBRARY_BY_CODE[kpi.code].groups for i in by_group.get(g, [])]
        if ids:
            # m2m history: the change to the KPI's service types is a change of the KPI
            kpi._history_user = user
            kpi._change_reason = REASON
            kpi.service_types.set(ids)
        existing[kpi.code] = kpi
    return existing


# --------------------------------------------------------------------------
# Norms: what good, the target and a bad month look like for each measure.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Norm:
    good: float  # the level a well-run service sits at
    bad: float  # the level of a service under real strain
    target: float | None = None  # None for measures with no direction
    amber: float = 0.0
    phase: float | None = None  # implementation target, contract months 1–6
    best: float | None = None  # best practice
    sd: float = 0.0  # month-to-month wobble of the underlying level
    volume: float = 0.0  # typical monthly denominator (ratios)
    sens: float = 1.0  # how strongly a story moves the measure
    onset: int = 10  # months before today a deterioration starts to show


NORMS: dict[str, Norm] = {
    "staff-turnover": Norm(2.0, 5.2, 3.0, 1.0, 4.5, 1.5, 0.35, 140, 1.0, 12),
    "vacancy-rate": Norm(5.0, 17.0, 8.0, 3.0, 15.0, 3.0, 1.5, 60, 1.0, 12),
    "missed-visits": Norm(1.2, 6.5, 2.5, 1.0, 4.0, 0.5, 0.25, 9000, 1.0, 10),
    "incidents": Norm(1.5, 6.0, 4.0, 2.0, 5.0, 1.0, sens=0.8, onset=8),
    "safeguarding-referrals": Norm(2.5, 5.0, sens=0.6, onset=8),
    "complaints": Norm(1.5, 7.0, 4.0, 2.0, 5.0, 1.0, sens=1.0, onset=9),
    "referrals-received": Norm(45, 56, sens=0.6, onset=12),
    "referral-acuity-high": Norm(22.0, 34.0, sd=1.5, volume=120, sens=0.7, onset=12),
    "referral-to-contact-days": Norm(3.0, 8.0, 5.0, 2.0, 7.0, 2.0, 0.12, sens=0.7),
    "continuity-plan": Norm(97.0, 86.0, 95.0, 3.0, 80.0, 99.0, 0.8, 420, 0.7, 9),
    "housing-placements": Norm(14, 7, 12, 2, 6, 16, sens=0.6, onset=8),
    "readmissions-30d": Norm(9.0, 17.0, 12.0, 2.0, 15.0, 7.0, 0.8, 150, 0.6, 7),
    "hours-delivered": Norm(97.0, 88.0, 95.0, 2.0, 90.0, 99.0, 0.5, 30000, 0.8, 9),
    "care-plan-reviews": Norm(94.0, 76.0, 90.0, 5.0, 80.0, 98.0, 2.0, 35, 0.6, 8),
    "evv-compliance": Norm(98.5, 92.0, 97.0, 2.0, 90.0, 99.5, 0.4, 9000, 0.5, 8),
    "crisis-response-1h": Norm(88.0, 70.0, 85.0, 5.0, 75.0, 92.0, 1.5, 160, 0.8, 10),
    "crisis-community-resolution": Norm(78.0, 62.0, 75.0, 5.0, 65.0, 82.0, 1.5, 230, 0.5, 7),
    "crisis-follow-up-72h": Norm(93.0, 78.0, 90.0, 5.0, 80.0, 97.0, 1.2, 200, 0.6, 9),
    "act-contact-intensity": Norm(83.0, 62.0, 80.0, 5.0, 70.0, 90.0, 1.5, 95, 0.8, 10),
    "stable-housing": Norm(87.0, 73.0, 80.0, 5.0, 75.0, 92.0, 1.0, 95, 0.5, 7),
    "days-to-housing": Norm(38.0, 70.0, 45.0, 10.0, 60.0, 30.0, 0.08, sens=0.6, onset=8),
    "tenancy-sustainment": Norm(91.0, 77.0, 85.0, 5.0, 80.0, 95.0, 1.0, 60, 0.5, 7),
    "returns-to-homelessness": Norm(6.0, 15.0, 10.0, 3.0, 12.0, 4.0, 0.6, 70, 0.5, 7),
    "cost-per-household": Norm(4200, 6500, 5000, 500, 6000, 3800, 0.06, sens=0.5, onset=8),
    "pre-release-engagement": Norm(86.0, 64.0, 80.0, 5.0, 65.0, 92.0, 1.5, 45, 0.7, 9),
    "accommodation-on-release": Norm(88.0, 72.0, 85.0, 5.0, 75.0, 93.0, 1.5, 45, 0.5, 7),
    "health-cover-on-release": Norm(91.0, 72.0, 85.0, 5.0, 75.0, 95.0, 1.2, 45, 0.5, 7),
    "visit-within-48h": Norm(94.0, 78.0, 90.0, 5.0, 75.0, 97.0, 1.2, 150, 0.8, 10),
    "med-reconciliation": Norm(95.0, 80.0, 92.0, 4.0, 80.0, 98.0, 1.0, 150, 0.6, 9),
    "independence-at-exit": Norm(62.0, 45.0, 55.0, 5.0, 45.0, 68.0, 1.5, 120, 0.5, 7),
}

# A measure's norm in a service group, where it differs from the default.
GROUP_NORMS: dict[tuple[str, str], dict] = {
    ("staff-turnover", CRISIS): {"volume": 48},
    ("staff-turnover", ACT): {"volume": 30},
    ("staff-turnover", HOUSING): {"volume": 36},
    ("staff-turnover", REENTRY): {"volume": 28},
    ("staff-turnover", TRANSITION): {"volume": 70},
    ("vacancy-rate", CRISIS): {"volume": 48},
    ("vacancy-rate", ACT): {"volume": 30},
    ("vacancy-rate", HOUSING): {"volume": 36},
    ("missed-visits", ACT): {"volume": 1500},
    ("missed-visits", TRANSITION): {"volume": 2200},
    ("continuity-plan", ACT): {"volume": 95},
    ("continuity-plan", TRANSITION): {"volume": 160},
    ("referrals-received", CRISIS): {"good": 240, "bad": 300},
    ("referrals-received", ACT): {"good": 6, "bad": 9},
    ("referrals-received", HOUSING): {"good": 60, "bad": 78},
    ("referrals-received", REENTRY): {"good": 40, "bad": 50},
    ("referrals-received", TRANSITION): {"good": 150, "bad": 185},
    ("referral-to-contact-days", HOUSING): {"good": 4.0, "target": 7.0, "phase": 10.0},
    ("referral-to-contact-days", REENTRY): {"good": 2.0, "target": 3.0, "phase": 5.0},
    ("readmissions-30d", ACT): {"volume": 25, "good": 8.0},
    ("readmissions-30d", CRISIS): {"volume": 90},
    ("housing-placements", REENTRY): {"good": 11, "bad": 6, "target": 9, "phase": 5},
}

UNIT_COUNT_SCALED = (Unit.COUNT, Unit.CURRENCY)


def norm_for(code: str, group: str) -> Norm:
    base = NORMS[code]
    return replace(base, **GROUP_NORMS.get((code, group), {}))


# Which measures each group's contracts report; True marks a priority measure.
CONTRACT_KPIS: dict[str, tuple[tuple[str, bool], ...]] = {
    PERSONAL_CARE: (
        ("missed-visits", True),
        ("hours-delivered", True),
        ("staff-turnover", True),
        ("continuity-plan", True),
        ("complaints", True),
        ("vacancy-rate", False),
        ("incidents", False),
        ("safeguarding-referrals", False),
    ),
    CRISIS: (
        ("crisis-response-1h", True),
        ("crisis-community-resolution", True),
        ("crisis-follow-up-72h", True),
        ("staff-turnover", True),
        ("incidents", True),
        ("referrals-received", False),
        ("referral-acuity-high", False),
        ("vacancy-rate", False),
    ),
    ACT: (
        ("act-contact-intensity", True),
        ("missed-visits", True),
        ("staff-turnover", True),
        ("readmissions-30d", True),
        ("stable-housing", True),
        ("continuity-plan", False),
        ("referral-to-contact-days", False),
        ("incidents", False),
    ),
    HOUSING: (
        ("housing-placements", True),
        ("days-to-housing", True),
        ("tenancy-sustainment", True),
        ("returns-to-homelessness", True),
        ("staff-turnover", True),
        ("referrals-received", False),
        ("complaints", False),
        ("vacancy-rate", False),
    ),
    REENTRY: (
        ("pre-release-engagement", True),
        ("accommodation-on-release", True),
        ("health-cover-on-release", True),
        ("housing-placements", True),
        ("staff-turnover", True),
        ("referral-to-contact-days", False),
        ("referrals-received", False),
        ("incidents", False),
    ),
    TRANSITION: (
        ("visit-within-48h", True),
        ("med-reconciliation", True),
        ("readmissions-30d", True),
        ("missed-visits", True),
        ("staff-turnover", True),
        ("referrals-received", False),
        ("referral-acuity-high", False),
        ("independence-at-exit", False),
    ),
    GENERAL: (
        ("staff-turnover", True),
        ("complaints", True),
        ("incidents", True),
        ("referral-to-contact-days", True),
        ("referrals-received", False),
        ("vacancy-rate", False),
    ),
}


def _size(tenant: Tenant, contract: Contract) -> float:
    """How big the contract is relative to a typical one of its kind (deterministic)."""
    return 0.7 + 0.6 * float(_rng(tenant, contract, "size").random())


def _scaled(number: float | None, unit: str, size: float) -> float | None:
    if number is None or unit not in UNIT_COUNT_SCALED:
        return number
    return number * size if unit == Unit.CURRENCY else max(1.0, round(number * size))


def _dec(number: float | None, places: int = 4) -> Decimal | None:
    if number is None:
        return None
    return Decimal(str(round(float(number), places))).quantize(Q4, ROUND_HALF_UP)


@transaction.atomic
def seed_contract_kpis(
    tenant: Tenant,
    contracts: list[Contract],
    library: dict[str, Kpi],
    *,
    user,
    service_groups: dict[str, str] | None = None,
) -> list[ContractKpi]:
    """The measures each contract reports (for contracts that have none yet), with
    targets, amber tolerances, weights, benchmarks, and an implementation phase
    target for contract months 1–6."""
    done = set(
        ContractKpi.objects.filter(contract__in=contracts).values_list("contract_id", flat=True)
    )
    new: list[ContractKpi] = []
    norms: list[Norm] = []
    for contract in contracts:
        if contract.id in done:
            continue
        group = service_group(contract.service_type, service_groups)
        size = _size(tenant, contract)
        for code, priority in CONTRACT_KPIS[group]:
            kpi = library[code]
            norm = norm_for(code, group)
            good, bad = _scaled(norm.good, kpi.unit, size), _scaled(norm.bad, kpi.unit, size)
            directed = kpi.direction != Direction.NONE
            new.append(
                ContractKpi(
                    tenant=tenant,
                    contract=contract,
                    kpi=kpi,
                    is_priority=priority,
                    target=_dec(_scaled(norm.target, kpi.unit, size)) if directed else None,
                    amber_tolerance=_dec(_scaled(norm.amber, kpi.unit, size) if directed else 0),
                    weight=Decimal("3")
                    if priority and kpi.is_fidelity
                    else Decimal(2 if priority else 1),
                    baseline=_dec(good + 0.3 * (bad - good), 1),
                    peer_benchmark=_dec(good + 0.15 * (bad - good), 1),
                    best_practice=_dec(_scaled(norm.best, kpi.unit, size)) if directed else None,
                )
            )
            norms.append(norm)
    for ck in new:
        ck.full_clean(validate_unique=False, validate_constraints=False)
    created = bulk_create(ContractKpi, new, user=user, reason=REASON) if new else []
    phases = [
        PhaseTarget(
            tenant=tenant,
            contract_kpi=ck,
            phase="Implementation (months 1–6)",
            from_month=1,
            to_month=6,
            target=_dec(_scaled(norm.phase, ck.kpi.unit, _size(tenant, ck.contract))),
            amber_tolerance=ck.amber_tolerance,
        )
        for ck, norm in zip(created, norms, strict=True)
        if norm.phase is not None and ck.target is not None
    ]
    if phases:
        bulk_create(PhaseTarget, phases, user=user, reason=REASON)
    return created


# --------------------------------------------------------------------------
# Stories.
# --------------------------------------------------------------------------

STEADY = "steady"
DETERIORATING = "deteriorating"
RECOVERED = "recovered"
LATE = "late"
NEW = "new"
STORY_NAMES = (STEADY, DETERIORATING, RECOVERED, LATE, NEW)

# The demo contracts' stories (seed_demo's references); a provider's contracts
# share its story where they are long enough to tell it.
STORIES: dict[str, str] = {
    # Riverbend County
    "RC-HCBS-2023-014": DETERIORATING,  # Heartland, rural townships (34 months)
    "RC-HCBS-2024-001": DETERIORATING,  # Heartland, metro
    "RC-BH-2022-003": RECOVERED,  # Crossroads ACT team: dip 18 months ago
    "RC-BH-2024-007": STEADY,  # Crossroads mobile crisis (after the recovery)
    "RC-HSG-2021-009": LATE,  # Harbor House PSH
    "RC-HSG-2024-021": LATE,  # Harbor House rapid re-housing
    "RC-H2H-2025-004": NEW,  # Transitions hospital-to-home, started ~5 months ago
    # Wessex Vale ICB
    "WV-HC-2023-011": DETERIORATING,  # Brightwater home care
    "WV-D2A-2024-003": DETERIORATING,  # Brightwater discharge to assess
    "WV-MH-2022-008": RECOVERED,  # Pathways assertive outreach
    "WV-MH-2024-002": STEADY,  # Pathways crisis
    "WV-HSG-2025-001": STEADY,  # St Aldhelm's Housing First
    "WV-RE-2024-006": LATE,  # Second Chance resettlement
    "WV-SD-2025-009": NEW,  # Community trust step-down, ~3 months
}

# Contracts whose latest return is left submitted, waiting for its contract
# manager's review, so that every demo commissioner opens Returns to something
# to accept or query. Long-running contracts, where holding one month back does
# not blunt the story told by the months already accepted.
AWAITING_REVIEW: frozenset[str] = frozenset(
    {
        "RC-HSG-2021-009",  # Marcus Reyes (late)
        "RC-BH-2024-007",  # Priya Natarajan (steady)
        "WV-D2A-2024-003",  # Rachel Adeyemi (deteriorating)
        "WV-MH-2024-002",  # James Thornton (steady)
    }
)

# How a provider's data reaches the County/ICB, where not the web form.
SOURCES: dict[str, str] = {
    "WV-MH-2022-008": ReturnSource.API,
    "WV-MH-2024-002": ReturnSource.API,
    "RC-HCBS-2023-014": ReturnSource.SPREADSHEET,
    "RC-HCBS-2024-001": ReturnSource.SPREADSHEET,
    "WV-HC-2023-011": ReturnSource.SPREADSHEET,
}


def story_of(contract: Contract, today: date, stories: dict[str, str] | None = None) -> str:
    story = (stories or STORIES).get(contract.reference)
    if story:
        return story
    return NEW if contract_month(contract.start_date, today) <= 7 else STEADY


def _months_ago(period_start: date, today: date) -> int:
    """1 for last month's period, 2 for the month before…"""
    return (today.year - period_start.year) * 12 + today.month - period_start.month


def _ramp(x: float) -> float:
    return min(1.0, max(0.0, x))


def stress(story: str, months_ago: int, norm: Norm) -> float:
    """How far from good towards bad a measure sits: 0 good, 1 bad."""
    a = months_ago
    if story == DETERIORATING:
        # Workforce first (turnover, vacancies), then missed visits, outcomes last.
        return 0.08 + 0.95 * _ramp((norm.onset + 1 - a) / norm.onset) ** 1.3 * norm.sens
    if story == RECOVERED:
        # Trouble from ~22 months ago, worst 19–16 months ago (the improvement
        # plan is agreed 17 months ago), back to target by 12 months ago.
        if a >= 23 or a <= 11:
            bump = 0.0
        elif a >= 19:
            bump = (23 - a) / 4
        elif a >= 16:
            bump = 1.0
        else:
            bump = (a - 11) / 5
        return (0.06 if a > 11 else 0.03) + 0.95 * bump * norm.sens
    return {STEADY: 0.04, LATE: 0.2, NEW: 0.05}.get(story, 0.05)


# --------------------------------------------------------------------------
# Generating the values.
# --------------------------------------------------------------------------


def _rng(tenant: Tenant, contract: Contract, purpose: str) -> np.random.Generator:
    key = [DEMO_SEED, zlib.crc32(tenant.slug.encode()), zlib.crc32(contract.reference.encode())]
    return np.random.default_rng(key + [zlib.crc32(purpose.encode())])


@dataclass
class _Value:
    ck: ContractKpi
    site: DeliverySite | None
    value: Decimal
    numerator: Decimal | None = None
    denominator: Decimal | None = None


@dataclass
class _Period:
    period: ReportingPeriod
    months_ago: int
    month: int  # contract month
    no_activity: bool
    values: list[_Value]
    missing: bool = False
    submit_lag: float = 0.0  # days after the period ends
    review_lag: float = 0.0
    query: bool = False
    resubmit_lag: float = 0.0
    accept_lag: float = 0.0
    awaiting_review: bool = False  # submitted, and left for the commissioner to review


@dataclass
class _Plan:
    tenant: Tenant
    contract: Contract
    story: str
    group: str
    words: str
    size: float
    cks: list[ContractKpi]
    sites: list[DeliverySite]
    submitter: Membership
    reviewer: Membership
    source: str
    text_rng: np.random.Generator
    periods: list[_Period] = field(default_factory=list)
    accepted_with_values: int = 0


def _level(plan: _Plan, ck: ContractKpi, norm: Norm, p: _Period, site_factor: float) -> float:
    unit = ck.kpi.unit
    good, bad = _scaled(norm.good, unit, plan.size), _scaled(norm.bad, unit, plan.size)
    s = stress(plan.story, p.months_ago, norm) * site_factor
    level = good + s * (bad - good)
    target = _scaled(norm.target, unit, plan.size)
    phase = _scaled(norm.phase, unit, plan.size)
    if p.month <= 6 and phase is not None and target is not None:
        # Mobilising: starts between the phase target and the mature one and
        # reaches "good" as the team settles in.
        start = phase + 0.35 * (target - phase)
        early = start + (p.month - 1) / 6 * (good - start)
        higher = ck.kpi.direction == Direction.HIGHER
        level = min(level, early) if higher else max(level, early)
    return level


def _generate_value(
    plan: _Plan,
    ck: ContractKpi,
    p: _Period,
    site: DeliverySite | None,
    share: float,
    site_factor: float,
    fraction: float,
    rng: np.random.Generator,
) -> _Value:
    norm = norm_for(ck.kpi.code, plan.group)
    level = _level(plan, ck, norm, p, site_factor)
    unit = ck.kpi.unit
    if ck.kpi.has_ratio:
        scale = 100 if unit == Unit.PERCENTAGE else 1000
        rate = min(max(level + rng.normal(0, norm.sd), 0.05), 99.9 if scale == 100 else 999)
        volume = max(norm.volume * plan.size * share * fraction, 3)
        den = max(int(rng.poisson(volume)), 1)
        num = int(rng.binomial(den, rate / scale))
        value = (Decimal(num) / Decimal(den) * scale).quantize(Q4)
        return _Value(ck, site, value, Decimal(num), Decimal(den))
    if unit == Unit.COUNT:
        return _Value(ck, site, Decimal(int(rng.poisson(max(level * share * fraction, 0.05)))))
    # days and money: a positive quantity with multiplicative noise
    noisy = level * float(np.exp(rng.normal(0, norm.sd or 0.05)))
    return _Value(ck, site, _dec(noisy, 1 if unit == Unit.DAYS else 2))


def _site_factors(plan: _Plan) -> list[float]:
    """Under strain the pressure lands unevenly: later sites (the rural ones in the
    demo) take more of it."""
    n = len(plan.sites)
    if plan.story != DETERIORATING or n < 2:
        return [1.0] * n
    return [0.85 + 0.3 * i / (n - 1) for i in range(n)]


STORY_ATTEMPTS = 60


def _build_periods(plan: _Plan, periods: list[ReportingPeriod], today: date) -> None:
    """The plan's values and timings, drawn until they tell its story.

    A story is a promise about the realised data, not only about the levels the
    noise is drawn around (a lucky or unlucky draw can hide a dip or a recovery):
    each draw is checked against the story's promise (``story_broken``) and, if it
    breaks it, drawn again from the next seeded stream. The same day still gives
    the same demo; a story that no draw tells is an error, not a quiet demo."""
    problem = ""
    for attempt in range(STORY_ATTEMPTS):
        purpose = "values" if attempt == 0 else f"values/{attempt}"
        _draw_periods(plan, periods, today, _rng(plan.tenant, plan.contract, purpose))
        problem = story_broken(plan, today)
        if not problem:
            return
    raise DemoDataError(
        f"{plan.contract.reference}: no draw in {STORY_ATTEMPTS} tells the {plan.story} "
        f"story ({problem})"
    )


def _draw_periods(
    plan: _Plan, periods: list[ReportingPeriod], today: date, rng: np.random.Generator
) -> None:
    plan.periods = []
    weights = rng.uniform(0.7, 1.3, size=max(len(plan.sites), 1))
    shares = list(weights / weights.sum())
    factors = _site_factors(plan)
    for period in periods:
        month = contract_month(plan.contract.start_date, period.start)
        days = (period.end - max(period.start, plan.contract.start_date)).days + 1
        fraction = days / 30.4  # volumes are monthly; a week or a clipped month is a share
        first_short = month == 1 and days < 10
        p = _Period(period, _months_ago(period.start, today), month, first_short, [])
        if not first_short:
            for ck in plan.cks:
                if ck.kpi.reporting_level == ReportingLevel.SITE:
                    for i, site in enumerate(plan.sites):
                        p.values.append(
                            _generate_value(
                                plan, ck, p, site, shares[i], factors[i], min(fraction, 1), rng
                            )
                        )
                else:
                    p.values.append(
                        _generate_value(plan, ck, p, None, 1.0, 1.0, min(fraction, 1), rng)
                    )
        _timing(plan, p, rng)
        plan.periods.append(p)
    _choose_queries(plan, rng)


def _timing(plan: _Plan, p: _Period, rng: np.random.Generator) -> None:
    """When the return is sent (days after the period ends) and reviewed."""
    due = (p.period.due_date - p.period.end).days  # 15 by default
    if plan.story == LATE:
        # Often after the due date; now and then never sent at all.
        p.missing = p.months_ago > 2 and rng.random() < 0.12
        p.submit_lag = (
            due + float(rng.uniform(-5, 30))
            if rng.random() < 0.8
            else float(rng.uniform(5, due - 1))
        )
    elif plan.story == DETERIORATING and p.months_ago <= 9:
        p.submit_lag = float(rng.uniform(due - 8, due + 2))  # sliding towards the deadline
    else:
        p.submit_lag = float(rng.uniform(3, due - 2))
    p.review_lag = float(rng.uniform(1.5, 9))
    p.resubmit_lag = float(rng.uniform(2, 8))
    p.accept_lag = float(rng.uniform(1, 5))


def _choose_queries(plan: _Plan, rng: np.random.Generator) -> None:
    """A commissioner queries a few returns; the provider corrects and resubmits."""
    candidates = [p for p in plan.periods if p.values and not p.missing and p.months_ago > 1]
    if not candidates:
        return
    if plan.story == LATE:
        picks = rng.choice(len(candidates), size=min(2, len(candidates)), replace=False)
        for i in picks:
            candidates[int(i)].query = True
    elif plan.story == DETERIORATING:
        recent = [p for p in candidates if 2 <= p.months_ago <= 6]
        if recent:
            recent[int(rng.integers(len(recent)))].query = True
    elif plan.story == RECOVERED:
        dip = [p for p in candidates if 16 <= p.months_ago <= 19]
        if dip:
            dip[int(rng.integers(len(dip)))].query = True


# --------------------------------------------------------------------------
# What each story promises of the realised data.
# --------------------------------------------------------------------------

# Every measure of a deteriorating contract is worse over the last year than in its
# mature years before; the measures the strain shows in first (workforce, then
# missed visits) by at least this share of the shift their levels were drawn around.
DETERIORATION_SHARE = 0.7
DETERIORATION_LEADS = frozenset({"staff-turnover", "vacancy-rate", "missed-visits"})


def _realised(plan: _Plan, ck: ContractKpi, skip_latest: bool) -> dict[int, tuple[float, int]]:
    """One KPI's values by months ago (with the contract month), sites pooled as a
    reader of the returns would pool them (Σ numerator ÷ Σ denominator)."""
    series: dict[int, tuple[float, int]] = {}
    for p in plan.periods:
        if p.missing or not p.values or (skip_latest and p.months_ago <= 1):
            continue
        mine = [v for v in p.values if v.ck is ck]
        if not mine:
            continue
        if mine[0].denominator is not None:
            scale = 100 if ck.kpi.unit == Unit.PERCENTAGE else 1000
            den = sum(float(v.denominator) for v in mine)
            value = sum(float(v.numerator) for v in mine) / den * scale
        else:
            value = sum(float(v.value) for v in mine)
        series[p.months_ago] = (value, p.month)
    return series


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _deterioration_broken(plan: _Plan, ck: ContractKpi, series, worse: int) -> str:
    norm = norm_for(ck.kpi.code, plan.group)
    recent_p = [p for p in plan.periods if p.values and 1 <= p.months_ago <= 12]
    before_p = [p for p in plan.periods if p.values and p.months_ago > 12 and p.month > 6]
    recent = _mean([v for a, (v, _m) in series.items() if a <= 12])
    before = _mean([v for a, (v, m) in series.items() if a > 12 and m > 6])
    if recent is None or before is None or len(before_p) < 6:
        return ""  # too young for a before-and-after
    drawn_recent = _mean([_level(plan, ck, norm, p, 1.0) for p in recent_p])
    drawn_before = _mean([_level(plan, ck, norm, p, 1.0) for p in before_p])
    if ck.kpi.code not in DETERIORATION_LEADS:
        return "" if worse * (recent - before) > 0 else f"{ck.kpi.code} is not worse"
    wanted = worse * (drawn_recent - drawn_before) * DETERIORATION_SHARE
    if worse * (recent - before) < wanted:
        return f"{ck.kpi.code} is not worse enough over the last year"
    quarter = _mean([v for a, (v, _m) in series.items() if a <= 3])
    if quarter is not None and worse * (quarter - recent) < -0.05 * abs(recent):
        return f"{ck.kpi.code}: the latest quarter is not the worst"
    return ""


def _recovery_broken(ck: ContractKpi, series, worse: int) -> str:
    dip = _mean([v for a, (v, _m) in series.items() if 16 <= a <= 19])
    before = _mean([v for a, (v, m) in series.items() if a >= 24 and m > 6])
    after = _mean([v for a, (v, _m) in series.items() if a <= 10])
    if dip is None or after is None:
        return ""
    if before is not None and worse * (dip - before) <= 0:
        return f"{ck.kpi.code} shows no dip"
    if worse * (dip - after) <= 0:
        return f"{ck.kpi.code} did not come back from its dip"
    if ck.target is not None and validation.misses_target(
        ck.kpi.direction, Decimal(str(after)), ck.target
    ):
        return f"{ck.kpi.code} is not back on target"
    return ""


def _steady_broken(plan: _Plan, today: date, skip_latest: bool) -> str:
    """A steady contract is one the signals engine itself rates low on its KPIs."""
    from .signal_engine import _roll_up_sites, load_frames
    from .signal_rules import evaluate, risk_scores

    frames = load_frames(Contract.objects.filter(pk=plan.contract.pk), today=today)
    rows = [
        (v.ck.pk, p.period.start, float(v.value), v.site.pk if v.site else None)
        for p in plan.periods
        if not p.missing and not (skip_latest and p.months_ago <= 1)
        for v in p.values
    ]
    if not rows:
        return ""
    values = pd.DataFrame(rows, columns=["ck", "period_start", "value", "site"])
    values["period_start"] = pd.to_datetime(values["period_start"])
    if values["site"].notna().any():
        values = _roll_up_sites(values, frames["kpis"])
    specs, _chart = evaluate(
        values=values.drop(columns="site"),
        kpis=frames["kpis"],
        phases=frames["phases"],
        contracts=frames["contracts"],
        periods=frames["periods"].iloc[0:0],
        recent_text=frames["recent_text"].iloc[0:0],
        today=today,
    )
    specs = [spec for spec in specs if spec.ck is not None]
    score, band, reasons = risk_scores(specs, frames["kpis"], frames["contracts"])[plan.contract.pk]
    return "" if band == "low" else f"rated {band} ({score}): {reasons[:2]}"


def story_broken(plan: _Plan, today: date) -> str:
    """Why the drawn data does not tell the plan's story, or "" if it does. Judged
    with and without the latest period (which may still be awaiting review)."""
    for skip_latest in (False, True):
        if plan.story == STEADY:
            problem = _steady_broken(plan, today, skip_latest)
            if problem:
                return problem
            continue
        if plan.story not in (DETERIORATING, RECOVERED):
            continue
        for ck in plan.cks:
            if ck.kpi.direction == Direction.NONE:
                continue
            worse = 1 if ck.kpi.direction == Direction.LOWER else -1
            series = _realised(plan, ck, skip_latest)
            if plan.story == DETERIORATING:
                problem = _deterioration_broken(plan, ck, series, worse)
            else:
                problem = _recovery_broken(ck, series, worse)
            if problem:
                return problem
    return ""


def _misreported(p: _Period) -> list[_Value]:
    """The first version of a queried return: one figure taken from the wrong
    extract (a ratio's denominator, else a count doubled)."""
    values = list(p.values)
    for i, v in enumerate(values):
        if v.site is None and v.denominator is not None and v.ck.is_priority:
            den = (v.denominator * Decimal("1.4")).to_integral_value()
            scale = Decimal(100 if v.ck.kpi.unit == Unit.PERCENTAGE else 1000)
            wrong = (v.numerator / den * scale).quantize(Q4)
            values[i] = _Value(v.ck, None, wrong, v.numerator, den)
            return values
    for i, v in enumerate(values):
        if v.ck.kpi.unit == Unit.COUNT and v.site is None:
            values[i] = _Value(v.ck, None, v.value * 2 + 3)
            return values
    return values


# --------------------------------------------------------------------------
# Words: narratives, variance explanations, review comments.
# --------------------------------------------------------------------------

N_GOOD = (
    "The service ran to plan this month.",
    "All teams were fully staffed and no agency cover was used.",
    "Supervision and spot checks were completed to schedule.",
    "We met people who use the service and their families at our quarterly forum; "
    "feedback praised continuity of staff.",
    "Two new staff completed induction and shadowing and now work on their own.",
    "Mandatory training compliance is at 96%, with the remaining sessions booked.",
    "Joint case reviews with the hospital and primary care teams continued fortnightly.",
    "The quality lead audited ten case files; the actions were minor and are complete.",
    "We refreshed the lone-working procedure after a staff survey.",
    "Our volunteer befriending scheme matched six more people this month.",
)
N_STRAIN = (
    "Recruitment remains difficult and we are using agency cover in the evenings.",
    "Sickness absence rose this month, mostly short-term.",
    "Staff have raised concerns about travel time between visits in the rural area.",
    "We are reviewing rotas to protect visits for people who live alone.",
    "Two team leaders are covering caseloads as well as supervision.",
)
N_TERSE = (
    "Figures attached.",
    "No change.",
    "Staffing still difficult.",
    "See values.",
    "Busy month.",
    "As last month.",
)
N_DIP = (
    "We lost two senior practitioners this quarter; locums are covering while we recruit.",
    "Our improvement plan with the {commissioner} is in place: weekly huddles, a caseload "
    "review and a recruitment drive.",
    "Improvement plan action {k} (caseload reallocation) is complete; action {k2} is due "
    "next month.",
    "Contact intensity has fallen while the team is short; people at highest risk are "
    "prioritised daily.",
)
N_RECOVERED = (
    "Improvement plan actions are complete and verified; we are keeping the weekly huddle.",
    "The team is fully staffed again and new starters now carry full caseloads.",
    "Performance has held at target since the improvement plan closed.",
)
N_IMPLEMENTATION = (
    "Mobilisation: {posts} of {total} posts are now filled.",
    "The referral pathway with the hospital discharge teams is live and volumes are building.",
    "We held the monthly implementation review with the {commissioner}.",
    "Induction for the second cohort of staff finished this month.",
    "Electronic records went live this month; some figures were collated by hand.",
)
N_LATE = (
    "Apologies for the late return: our data lead was on leave.",
    "This return was delayed while we reconciled figures with the new case management system.",
    "Sorry this is late; month-end fell during our system migration.",
)

MISS: dict[str, tuple[str, ...]] = {
    "missed-visits": (
        "Sickness absence in the {site} team: {n} visits were missed or late. Everyone "
        "affected was called and visits were rescheduled the same day.",
        "Two caregivers left at short notice in {site}; agency cover filled most runs but "
        "{n} visits were late.",
        "Snow closed rural roads on two days; {n} visits moved, none to people at high risk.",
        "The rota system was down on the 14th; {n} visits started late while we used the "
        "paper back-up rota.",
    ),
    "staff-turnover": (
        "{n} staff left this month (two to hospital posts, one retirement); all posts are "
        "advertised and two offers are out.",
        "Leavers this month cited pay compared with the hospital and retail; we have raised "
        "it at the workforce group.",
        "End of fixed-term contracts for {n} staff recruited for the winter surge.",
    ),
    "vacancy-rate": (
        "{site}: {n} posts vacant while recruitment completes; bank staff are covering.",
        "Vacancies in {site} after internal moves to the new team; interviews are booked.",
    ),
    "complaints": (
        "{n} complaints, mostly about changed visit times; each was acknowledged within two "
        "working days.",
        "{n} complaints received; the theme is communication when a worker changes.",
    ),
    "incidents": (
        "{n} incidents reported, none with serious harm; each reviewed at the weekly safety "
        "huddle.",
        "A cluster of {n} medication incidents traced to a new medication chart; the chart "
        "has been withdrawn.",
    ),
    "housing-placements": (
        "Only {n} placements: landlord repairs delayed three move-ins to next month.",
        "Fewer units were offered by the housing authority this month; {n} placements made.",
    ),
    "readmissions-30d": (
        "{n} readmissions in the cohort, mostly people with heart failure; case reviews with "
        "the ward team are booked.",
        "Readmissions up: two people were readmitted twice; reviewed with the discharge team.",
    ),
}
MISS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    Category.TIMELINESS: (
        "Below target: staff shortage meant some contacts were later than planned; urgent "
        "cases were seen first.",
        "A spike in referrals in the second half of the month stretched response times.",
    ),
    Category.QUALITY: (
        "The gap is mainly in recording rather than in practice; a recording refresher is booked.",
        "Below target while two team leads were on leave; catching up this month.",
    ),
    Category.OUTCOME: (
        "Small numbers make this rate volatile; each person concerned has been reviewed.",
        "Several people with very complex needs this month; case reviews are under way.",
    ),
    Category.ACTIVITY: (
        "Fewer hours delivered while people were in hospital and during staff absence; "
        "priority visits were kept.",
        "Planned hours were reduced at people's request over the holidays.",
    ),
    Category.WORKFORCE: MISS["staff-turnover"],
    Category.SAFEGUARDING: MISS["incidents"],
    Category.FINANCE: ("Higher unit cost: fixed costs spread over fewer households this month.",),
}
UNUSUAL_NO_DIRECTION = (
    "More than usual this month: winter pressures and a change in the hospital's discharge "
    "pathway.",
    "Unusually low this month after the holiday period; we expect it to return to normal.",
    "A change in triage practice this month; we are checking that it is applied consistently.",
)
BETTER_THAN_USUAL = (
    "Better than usual this month: full staffing and the new rota bedding in.",
    "An improvement after the actions in our plan; we will see whether it holds.",
    "A quiet month with the whole team in post.",
)
TERSE = (
    "Staffing.",
    "Sickness.",
    "Agency gaps.",
    "As before.",
    "Recruitment ongoing.",
    "Short-staffed.",
)
DIP = (
    "Root cause: the loss of two senior practitioners; covered by locums while we recruit "
    "(improvement plan action {k}).",
    "Part of the dip covered by the improvement plan agreed with the {commissioner}; weekly "
    "huddles started.",
    "Caseloads reallocated after vacancies; improvement plan action {k} is on track.",
)
RECOVERING = (
    "Back on target: improvement plan actions completed and verified.",
    "Recovery continuing; new staff now carry full caseloads.",
)
MOBILISING = (
    "Still mobilising: {posts} of {total} posts in post and the pathway went live this month.",
    "Early months: referral volumes are lower than planned while hospital teams learn the pathway.",
)
QUERY = (
    "{kpi}: the denominator does not match the activity we hold for {label}; please check the "
    "extract and resubmit.",
    "{kpi} looks out of line with last month and with our own data; please check and resubmit.",
    "Please recheck {kpi}: the figure does not reconcile with the invoices for {label}.",
)


def _pick(rng: np.random.Generator, options: tuple[str, ...], **fill) -> str:
    return options[int(rng.integers(len(options)))].format(**fill)


def _fill(plan: _Plan, p: _Period) -> dict:
    posts_total = max(6, int(round(12 * plan.size)))
    return {
        "commissioner": "ICB" if plan.words == "uk" else "County",
        "k": 2 + p.months_ago % 3,
        "k2": 3 + p.months_ago % 3,
        "posts": max(2, int(round(posts_total * (0.5 + 0.08 * p.month)))),
        "total": posts_total,
    }


def _narrative(plan: _Plan, p: _Period, late: bool) -> str:
    rng = plan.text_rng
    fill = _fill(plan, p)
    month = p.period.start.strftime("%B %Y")
    if p.no_activity:
        return (
            f"The service went live on {plan.contract.start_date:%d %B %Y}; no one was "
            "referred before the month ended."
        )
    counts = {v.ck.kpi.code: v.value for v in p.values if v.site is None}
    if "referrals-received" in counts:
        opener = f"{month}: {int(counts['referrals-received'])} referrals received."
    else:
        opener = f"{month} return."
    a, story = p.months_ago, plan.story
    sentences: list[str] = []
    if story == DETERIORATING and a <= 6:
        return _pick(rng, N_TERSE)
    if story == DETERIORATING and a <= 11:
        sentences = [opener, _pick(rng, N_STRAIN)]
    elif story == RECOVERED and 12 <= a <= 21:
        sentences = [
            opener,
            _pick(rng, N_DIP, **fill),
            _pick(rng, N_DIP, **fill),
            _pick(rng, N_STRAIN),
        ]
    elif story == RECOVERED and a < 12:
        sentences = [opener, _pick(rng, N_RECOVERED), _pick(rng, N_GOOD)]
    elif p.month <= 6:
        sentences = [
            opener,
            _pick(rng, N_IMPLEMENTATION, **fill),
            _pick(rng, N_IMPLEMENTATION, **fill),
        ]
    else:
        k = 4 if story == DETERIORATING else 3
        sentences = [opener] + [_pick(rng, N_GOOD) for _ in range(k)]
    if late and rng.random() < 0.6:
        sentences.insert(1, _pick(rng, N_LATE))
    return " ".join(dict.fromkeys(sentences))  # no sentence twice


def _explanation(plan: _Plan, p: _Period, v: _Value, why: str) -> str:
    """``why``: "miss" (worse than target), "unusual" (outside the expected range,
    no direction), "better" (outside the range on the good side)."""
    rng = plan.text_rng
    kpi = v.ck.kpi
    fill = {
        **_fill(plan, p),
        "site": v.site.name if v.site else "the",
        "n": int(v.numerator if v.numerator is not None else v.value),
    }
    if plan.story == DETERIORATING and p.months_ago <= 9:
        return _pick(rng, TERSE)
    if why == "better":
        if plan.story == RECOVERED and p.months_ago <= 15:
            return _pick(rng, RECOVERING)
        return _pick(rng, BETTER_THAN_USUAL)
    if why == "unusual":
        return _pick(rng, UNUSUAL_NO_DIRECTION)
    if plan.story == RECOVERED and 12 <= p.months_ago <= 21:
        return _pick(rng, DIP, **fill)
    if p.month <= 6:
        return _pick(rng, MOBILISING, **fill)
    options = MISS.get(kpi.code) or MISS_BY_CATEGORY[kpi.category]
    return _pick(rng, options, **fill)


def _rows(plan: _Plan, p: _Period, values: list[_Value]) -> list[validation.ValueRow]:
    """The value rows as the provider sends them, explained where validation (with
    the contract's targets and expected ranges as they stand now) will ask."""
    rows = []
    for i, v in enumerate(values):
        ck, kpi = v.ck, v.ck.kpi
        target, _amber = terms.target_in_force(ck, p.period.start)
        why = ""
        if validation.misses_target(kpi.direction, v.value, target):
            why = "miss"
        elif validation.outside_expected(ck, v.value):
            if kpi.direction == Direction.NONE:
                why = "unusual"
            else:
                low = ck.expected_low is not None and v.value < ck.expected_low
                worse = low == (kpi.direction == Direction.HIGHER)
                why = "miss" if worse else "better"
        rows.append(
            validation.ValueRow(
                where=f"values[{i}]",
                contract_ref=plan.contract.reference,
                period=p.period.label,
                kpi_code=kpi.code,
                site=v.site.name if v.site else "",
                value=v.value,
                numerator=v.numerator,
                denominator=v.denominator,
                variance_explanation=_explanation(plan, p, v, why) if why else "",
            )
        )
    return rows


# --------------------------------------------------------------------------
# Replaying the returns through the services.
# --------------------------------------------------------------------------


class DemoDataError(RuntimeError):
    """The generated demo data did not pass the product's own validation."""


@contextmanager
def replaying_at(moment: datetime) -> Iterator[None]:
    """Run the real services as if it were ``moment``: the clock is pinned there
    (submitted and reviewed times, due/late judgements, ``created_at`` and the
    history records' dates, which all read the clock)."""
    with clock.pinned(moment):
        yield


def _at(plan: _Plan, day: date, lag_days: float) -> datetime:
    """A working-hours moment ``lag_days`` after ``day``, in the tenant's time zone."""
    whole = int(lag_days)
    minutes = int((lag_days - whole) * 9 * 60)  # spread across 08:30–17:30
    local = datetime.combine(
        day + timedelta(days=whole), time(8, 30), ZoneInfo(plan.tenant.time_zone)
    )
    return local + timedelta(minutes=minutes)


def _cutoff(tenant: Tenant, today: date) -> datetime:
    """Nothing is replayed on or after the start of ``today`` (tenant time)."""
    return datetime.combine(today, time(0, 0), ZoneInfo(tenant.time_zone))


def _setup_moment(tenant: Tenant, day: date, cutoff: datetime) -> datetime:
    moment = datetime.combine(day, time(9, 0), ZoneInfo(tenant.time_zone))
    return min(moment, cutoff - timedelta(hours=1))


@dataclass
class _Replay:
    user: object
    cutoff: datetime
    queue: list = field(default_factory=list)
    seq: int = 0
    counts: dict = field(default_factory=dict)

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        if moment >= self.cutoff:
            return  # has not happened yet
        self.seq += 1
        heapq.heappush(self.queue, (moment, self.seq, action))

    def run(self) -> None:
        while self.queue:
            moment, _seq, action = heapq.heappop(self.queue)
            with replaying_at(moment):
                action(moment)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def _submit(replay: _Replay, plan: _Plan, p: _Period, *, version_values, first: bool):
    def action(moment: datetime) -> None:
        local_day = moment.astimezone(ZoneInfo(plan.tenant.time_zone)).date()
        late = local_day > p.period.due_date
        header = validation.ReturnHeader(
            contract_ref=plan.contract.reference,
            period=p.period.label,
            narrative=_narrative(plan, p, late)
            if first
            else (
                "Corrected as queried: the figure now comes from the right extract. "
                + _narrative(plan, p, late)
            ),
            no_activity=p.no_activity,
        )
        rows = _rows(plan, p, version_values)
        outcome = validation.validate(
            membership=plan.submitter, headers=[header], rows=rows, today=local_day
        )
        if not outcome.ok:
            raise DemoDataError(
                f"{plan.contract.reference} {p.period.label}: "
                + "; ".join(str(problem) for problem in outcome.problems)
            )
        version = outcome.returns[0].version
        key = None
        if plan.source == ReturnSource.API:
            key = f"demo-{plan.contract.reference}-{p.period.label}-v{version}"
        [ret] = services.returns_write(
            membership=plan.submitter,
            outcome=outcome,
            source=plan.source,
            submit=True,
            idempotency_key=key,
            reason=f"{REASON}: return submitted",
            on_behalf_reason=""
            if plan.submitter.role == Role.PROVIDER
            else "The provider sent its return as a spreadsheet by email; the data team "
            "uploaded it",
        )
        replay.count("submitted")
        if p.awaiting_review:
            return  # nobody has reviewed it yet: the demo's commissioner will
        if p.query and first:
            replay.at(moment + timedelta(days=p.review_lag), _query(replay, plan, p, ret))
        else:
            lag = p.accept_lag if not first else p.review_lag
            replay.at(moment + timedelta(days=lag), _accept(replay, plan, ret, p))

    return action


def _accept(replay: _Replay, plan: _Plan, ret: Return, p: _Period):
    def action(moment: datetime) -> None:
        # Ranges are refreshed below as each return lands; signals are computed
        # once for the whole demo at the end (seed_demo's seed_signals).
        services.return_accept(membership=plan.reviewer, ret=ret, recompute=False)
        replay.count("accepted")
        plan.accepted_with_values += bool(p.values)
        # What an accepted return sets off after commit (too late inside seed_demo's
        # transaction): the contract's expected ranges, which the next return is
        # validated against. Below 12 points there is none.
        if plan.accepted_with_values < services.MIN_POINTS_FOR_RANGE:
            return
        if services.contract_expected_ranges_refresh(
            contract_ids=[plan.contract.id], user=replay.user
        ):
            ranges = {
                ck_id: (low, high)
                for ck_id, low, high in ContractKpi.objects.filter(
                    contract=plan.contract
                ).values_list("id", "expected_low", "expected_high")
            }
            for ck in plan.cks:
                ck.expected_low, ck.expected_high = ranges[ck.id]

    return action


def _query(replay: _Replay, plan: _Plan, p: _Period, ret: Return):
    def action(moment: datetime) -> None:
        wrong = next(
            (v for v, w in zip(p.values, _misreported(p), strict=True) if v is not w), None
        )
        kpi = wrong.ck.kpi.name if wrong else "The figures"
        comment = _pick(plan.text_rng, QUERY, kpi=kpi, label=p.period.label)
        services.return_query(membership=plan.reviewer, ret=ret, comment=comment)
        replay.count("queried")
        replay.at(
            moment + timedelta(days=p.resubmit_lag),
            _submit(replay, plan, p, version_values=p.values, first=False),
        )

    return action


def _leave_latest_for_review(plan: _Plan, cutoff: datetime) -> None:
    """The latest return sent before ``cutoff`` stays submitted: not accepted, not
    queried. Which period that is moves with the seeding date; that there is one
    does not (every demo contract has sent a return by then)."""
    sent = [
        p for p in plan.periods if not p.missing and _at(plan, p.period.end, p.submit_lag) < cutoff
    ]
    if sent:
        sent[-1].awaiting_review, sent[-1].query = True, False


# When the nightly signals job runs (settings.CELERY_BEAT_SCHEDULE,
# "recompute-portfolio-signals"), in the tenant's time.
NIGHTLY_AT = time(2, 0)


def month_ends_before(today: date, months: int) -> list[date]:
    """The last ``months`` month-ends strictly before ``today``, oldest first."""
    ends: list[date] = []
    day = today.replace(day=1) - timedelta(days=1)
    while len(ends) < months:
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def _nightly(replay: _Replay, tenant: Tenant, contracts: list[Contract], day: date):
    """The nightly portfolio recompute as it ran on ``day``: the whole tenant in
    one call, from the returns accepted by then (the replay has reached that
    moment, so later ones do not exist yet). Contracts not yet started were not
    being monitored."""

    def action(moment: datetime) -> None:
        started = [c.id for c in contracts if c.start_date <= day]
        if started:
            recompute_signals(
                tenant_id=tenant.id, contract_ids=started, today=day, user=replay.user
            )
            replay.count("nightly recomputes")

    return action


def _memberships(tenant: Tenant) -> tuple[dict, dict, Membership | None]:
    members = list(
        Membership.objects.filter(tenant=tenant, is_active=True)
        .select_related("user", "tenant")
        .order_by("user__email")
    )
    providers: dict[int, Membership] = {}
    reviewers: dict[int, Membership] = {}
    for m in members:
        if m.role == Role.PROVIDER:
            providers.setdefault(m.provider_id, m)
        elif m.role in (Role.COMMISSIONER, Role.ADMIN):
            reviewers.setdefault(m.user_id, m)
    admin = next((m for m in members if m.role == Role.ADMIN), None)
    fallback = next((m for m in members if m.role == Role.COMMISSIONER), admin)
    return providers, reviewers, admin or fallback


@transaction.atomic
def seed_returns(
    tenant: Tenant,
    contracts: list[Contract],
    *,
    user,
    today: date,
    stories: dict[str, str] | None = None,
    service_groups: dict[str, str] | None = None,
    awaiting_review: frozenset[str] | None = None,
    nightly_history_months: int = 0,
) -> dict[str, int]:
    """Replay a return for every period the contracts owe (skipping contracts that
    already have returns), in time order, through validation and the services.

    The latest return of each contract in ``awaiting_review`` (references;
    default ``AWAITING_REVIEW``) is left submitted. With ``nightly_history_months``
    the nightly signals recompute runs, within the replay, at each of that many
    month-ends before ``today``: the risk-score history and the signals' opening
    and closing are the engine's own, on the data as it stood each night."""
    has_returns = set(
        Return.objects.filter(contract__in=contracts).values_list("contract_id", flat=True)
    )
    todo = [c for c in contracts if c.id not in has_returns]
    if not todo:
        return {}
    providers, reviewers, data_team = _memberships(tenant)
    cks: dict[int, list[ContractKpi]] = {}
    for ck in (
        ContractKpi.objects.filter(contract__in=todo)
        .select_related("kpi", "contract")
        .prefetch_related("phase_targets")
        .order_by("contract_id", "-is_priority", "kpi__code")
    ):
        cks.setdefault(ck.contract_id, []).append(ck)
    sites: dict[int, list[DeliverySite]] = {}
    for site in DeliverySite.objects.filter(contract__in=todo).order_by("name"):
        sites.setdefault(site.contract_id, []).append(site)
    periods: dict[int, list[ReportingPeriod]] = {}
    for period in ReportingPeriod.objects.filter(contract__in=todo, end__lt=today).order_by(
        "start"
    ):
        periods.setdefault(period.contract_id, []).append(period)

    replay = _Replay(user=user, cutoff=_cutoff(tenant, today))
    for contract in todo:
        reviewer = reviewers.get(contract.contract_manager_id) or data_team
        submitter = providers.get(contract.provider_id)
        source = SOURCES.get(contract.reference, ReturnSource.WEB)
        if submitter is None:  # the provider sends a spreadsheet; the data team uploads it
            submitter, source = data_team, ReturnSource.BULK
        if submitter is not None and reviewer is not None and reviewer.user_id == submitter.user_id:
            # Nobody reviews a return they entered (issue 7): a colleague does.
            reviewer = next((m for m in reviewers.values() if m.user_id != submitter.user_id), None)
        if submitter is None or reviewer is None or not cks.get(contract.id):
            continue
        plan = _Plan(
            tenant=tenant,
            contract=contract,
            story=story_of(contract, today, stories),
            group=service_group(contract.service_type, service_groups),
            words=dialect(tenant),
            size=_size(tenant, contract),
            cks=cks[contract.id],
            sites=sites.get(contract.id, []),
            submitter=submitter,
            reviewer=reviewer,
            source=source,
            text_rng=_rng(tenant, contract, "words"),
        )
        _build_periods(plan, periods.get(contract.id, []), today)
        if contract.reference in (AWAITING_REVIEW if awaiting_review is None else awaiting_review):
            _leave_latest_for_review(plan, replay.cutoff)
        for p in plan.periods:
            if p.missing:
                continue
            first_values = _misreported(p) if p.query else p.values
            replay.at(
                _at(plan, p.period.end, p.submit_lag),
                _submit(replay, plan, p, version_values=first_values, first=True),
            )
    zone = ZoneInfo(tenant.time_zone)
    for day in month_ends_before(today, nightly_history_months):
        replay.at(datetime.combine(day, NIGHTLY_AT, zone), _nightly(replay, tenant, contracts, day))
    replay.run()
    return replay.counts


# --------------------------------------------------------------------------
# The whole thing, as seed_demo calls it.
# --------------------------------------------------------------------------


@transaction.atomic
def seed_performance(
    tenant: Tenant,
    contracts: list[Contract],
    *,
    user,
    today: date,
    stories: dict[str, str] | None = None,
    service_groups: dict[str, str] | None = None,
    awaiting_review: frozenset[str] | None = None,
    nightly_history_months: int = 0,
) -> dict[str, int]:
    """KPI library, contract KPIs, reporting calendar and returns for a demo tenant
    (and, with ``nightly_history_months``, the nightly signals runs of those
    months: see ``seed_returns``). Idempotent: what is already there is left alone."""
    contracts = list(
        Contract.objects.filter(pk__in=[c.pk for c in contracts])
        .select_related("service_type", "tenant")
        .order_by("reference")
    )
    # Each piece is dated when it would have been set up: the library before the
    # first contract started, a contract's KPIs and calendar two weeks before it
    # started (never later than the eve of ``today``).
    cutoff = _cutoff(tenant, today)
    first = min((c.start_date for c in contracts), default=today)
    with replaying_at(_setup_moment(tenant, first - timedelta(days=30), cutoff)):
        library = seed_kpi_library(tenant, user=user, service_groups=service_groups)
    created: list[ContractKpi] = []
    periods = 0
    for contract in contracts:
        moment = _setup_moment(tenant, contract.start_date - timedelta(days=14), cutoff)
        with replaying_at(moment):
            created += seed_contract_kpis(
                tenant, [contract], library, user=user, service_groups=service_groups
            )
            periods += services.reporting_calendar_sync(
                contracts=[contract], today=today, user=user, reason=REASON
            )
    counts = seed_returns(
        tenant,
        contracts,
        user=user,
        today=today,
        stories=stories,
        service_groups=service_groups,
        awaiting_review=awaiting_review,
        nightly_history_months=nightly_history_months,
    )
    return {"kpis": len(library), "contract_kpis": len(created), "periods": periods, **counts}


__all__ = [
    "AWAITING_REVIEW",
    "REASON",
    "STORIES",
    "STORY_NAMES",
    "month_ends_before",
    "seed_contract_kpis",
    "seed_kpi_library",
    "seed_performance",
    "seed_returns",
    "service_group",
    "story_of",
]
