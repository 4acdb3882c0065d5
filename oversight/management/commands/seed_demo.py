"""Build the demo tenants: ``python manage.py seed_demo [--reset] [--today YYYY-MM-DD]``.

What is built is declared as data at the top of this module (``DEMO_TENANTS``);
the functions below turn it into rows, one small function per part. The command
runs the demo parts registered in oversight/registry.py in their order: the
core's (``CORE_PARTS``, registered by oversight/apps.py), then each feature
app's, registered in its ``AppConfig.ready()`` (performance: KPIs, returns and
signals), so a feature adds its part without touching this module.

- **Deterministic.** Every name, identifier, value and date is declared here.
  Dates are offsets in days from "demo today" (``date.today()`` unless
  ``--today`` is given), so "ending within 90/180 days" always shows contracts.
  Parts that generate series (later: returns) draw from ``ctx.rng``, a
  ``random.Random`` seeded with ``DEMO_SEED`` and the tenant's slug.
- **Idempotent.** If the demo tenants exist, the command leaves them alone and
  prints the logins; ``--reset`` deletes them (every tenant-owned row, with
  history) and builds them again. Demo users are kept and reused (their history
  attribution elsewhere must not be lost), their names and passwords restored.
- **Through history.** Every row is written with ``save_with_history`` or
  ``bulk_create`` (oversight/history.py) with the reason ``REASON``; deletions
  on reset use ``delete_with_history``. The writes are attributed to
  ``--actor EMAIL`` if given, otherwise recorded as the system.
- **Quiet.** It prints what it built and the logins. Email sent while seeding
  (notices of the demo's past: queried returns, new signals) goes to memory and
  is only counted; the engine's and notifications' INFO logs show with ``-v 2``.
- **Demo-only passwords.** Every demo account signs in with ``DEMO_PASSWORD``.
  Because that password is published, the command refuses to run with DEBUG
  off unless ``--allow-without-debug`` is passed (the test-suite does).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.test.utils import override_settings
from simple_history.models import HistoricalChanges

from contracts.models import (
    Contract,
    DeliverySite,
    Milestone,
    MilestoneStatus,
    PaymentModel,
    Provider,
    ServiceType,
)
from contracts.services import OWNER_ROLES
from oversight import clock, registry
from oversight.history import bulk_create, delete_with_history, save_with_history
from oversight.models import Membership, Role, Tenant, User

REASON = "Demo data (seed_demo)"
RESET_REASON = "Demo data reset (seed_demo --reset)"
DEMO_SEED = 20260101
# While seeding, email goes to memory: the demo's past (queried returns, new
# signals) would otherwise print hundreds of lines of console email.
SEED_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Their INFO lines (one per recompute, one per email) are shown with -v 2.
CHATTY_LOGGERS = ("performance.signal_engine", "oversight.notifications")
# Demo only: published in the README and printed by the command. Never reuse.
DEMO_PASSWORD = "oversight-demo"


# --------------------------------------------------------------------------
# The data: what the demo contains.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec:
    email: str
    full_name: str
    role: str
    title: str  # job title, printed in the logins table
    provider: str = ""  # provider key, for the provider role


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    address: str
    ein: str = ""
    uei: str = ""
    ods_code: str = ""


@dataclass(frozen=True)
class ServiceTypeSpec:
    code: str
    name: str
    description: str


@dataclass(frozen=True)
class SiteSpec:
    name: str
    area: str
    partner_organisation: str = ""
    address: str = ""
    opened: int | None = None  # days from demo today


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    due: int  # days from demo today
    status: str = MilestoneStatus.PENDING
    completed: int | None = None  # days from demo today
    notes: str = ""


@dataclass(frozen=True)
class ContractSpec:
    reference: str
    title: str
    provider: str  # provider key
    service_type: str  # service type code
    scope: str
    population_coverage: str
    intensity: str
    start: int  # days from demo today
    end: int
    annual_value: str
    total_value: str
    payment_model: str
    contract_manager: str  # user email
    service_owner: str
    executive_sponsor: str
    protected_core_components: tuple[str, ...]
    sites: tuple[SiteSpec, ...]
    milestones: tuple[MilestoneSpec, ...]
    payment_at_risk_pct: str = "0"
    extension_options: str = ""
    latest_end: int | None = None
    status: str = "active"


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    currency: str
    time_zone: str
    users: tuple[UserSpec, ...]
    providers: tuple[ProviderSpec, ...]
    service_types: tuple[ServiceTypeSpec, ...]
    contracts: tuple[ContractSpec, ...]


# One person with memberships in both tenants, to show the tenant switcher.
SHARED_AUDITOR = UserSpec(
    "jordan.ellis@publicaudit.example",
    "Jordan Ellis",
    Role.AUDITOR,
    "Senior auditor, Public Audit Partners (both tenants)",
)

RIVERBEND = TenantSpec(
    slug="riverbend-county",
    name="Riverbend County Health and Human Services",
    currency="USD",
    time_zone="America/Chicago",
    users=(
        UserSpec(
            "dana.whitfield@riverbendcounty.example",
            "Dana Whitfield",
            Role.ADMIN,
            "Contracts systems administrator",
        ),
        UserSpec(
            "marcus.reyes@riverbendcounty.example",
            "Marcus Reyes",
            Role.COMMISSIONER,
            "Contract manager, aging and disability services",
        ),
        UserSpec(
            "priya.natarajan@riverbendcounty.example",
            "Priya Natarajan",
            Role.COMMISSIONER,
            "Program officer, behavioral health and housing",
        ),
        UserSpec(
            "loretta.banks@riverbendcounty.example",
            "Loretta Banks",
            Role.EXECUTIVE,
            "Director of Health and Human Services",
        ),
        SHARED_AUDITOR,
        UserSpec(
            "angela.morris@heartlandhomecare.example",
            "Angela Morris",
            Role.PROVIDER,
            "Service manager, Heartland Home Care Cooperative",
            provider="heartland",
        ),
        UserSpec(
            "tom.becker@crossroadsbh.example",
            "Tom Becker",
            Role.PROVIDER,
            "Data and quality lead, Crossroads Behavioral Health",
            provider="crossroads",
        ),
        UserSpec(
            "keisha.grant@harborhousing.example",
            "Keisha Grant",
            Role.PROVIDER,
            "Program director, Harbor House Housing Partners",
            provider="harbor",
        ),
    ),
    providers=(
        ProviderSpec(
            key="heartland",
            name="Heartland Home Care Cooperative",
            ein="41-7302215",
            uei="HK4TQ7M2LZ81",
            contact_name="Angela Morris",
            contact_email="angela.morris@heartlandhomecare.example",
            contact_phone="(555) 301-4410",
            address="1180 Prairie Avenue, Riverbend, MN 55990",
        ),
        ProviderSpec(
            key="crossroads",
            name="Crossroads Behavioral Health",
            ein="41-5518820",
            uei="CR8WJX3NVK52",
            contact_name="Tom Becker",
            contact_email="tom.becker@crossroadsbh.example",
            contact_phone="(555) 301-7720",
            address="400 Mill Street, Suite 200, Riverbend, MN 55990",
        ),
        ProviderSpec(
            key="harbor",
            name="Harbor House Housing Partners",
            ein="41-6690143",
            uei="HB2MKR7TQ9F3",
            contact_name="Keisha Grant",
            contact_email="keisha.grant@harborhousing.example",
            contact_phone="(555) 301-2288",
            address="77 Harbor Road, Lakeview, MN 55992",
        ),
        ProviderSpec(
            key="newleaf",
            name="New Leaf Reentry Services",
            ein="41-2207761",
            uei="NL6PZD4WXA27",
            contact_name="Darnell Hughes",
            contact_email="darnell.hughes@newleafreentry.example",
            contact_phone="(555) 301-9034",
            address="15 Second Street East, Riverbend, MN 55990",
        ),
        ProviderSpec(
            key="transitions",
            name="Transitions Care Network",
            ein="41-9034412",
            uei="TC3RBV8YLM65",
            contact_name="Gloria Svensson",
            contact_email="gloria.svensson@transitionscare.example",
            contact_phone="(555) 301-5561",
            address="2 Hospital Drive, Riverbend, MN 55991",
        ),
    ),
    service_types=(
        ServiceTypeSpec(
            "hcbs-personal-care",
            "HCBS personal care",
            "Home- and community-based personal care under the Medicaid waiver: help with "
            "bathing, dressing, eating, mobility and medication reminders at home.",
        ),
        ServiceTypeSpec(
            "mobile-crisis",
            "Mobile crisis response",
            "24/7 behavioral-health crisis response in the community, dispatched from the "
            "988 line, with stabilization and follow-up.",
        ),
        ServiceTypeSpec(
            "act",
            "Assertive Community Treatment (ACT)",
            "A multidisciplinary team delivering intensive, community-based treatment to "
            "adults with serious mental illness, to the ACT fidelity model.",
        ),
        ServiceTypeSpec(
            "rapid-rehousing",
            "Rapid re-housing",
            "Short- to medium-term rental assistance and case management that moves "
            "households out of homelessness quickly.",
        ),
        ServiceTypeSpec(
            "psh",
            "Permanent supportive housing",
            "Housing First: long-term leased housing with voluntary support services for "
            "people with disabilities and long histories of homelessness.",
        ),
        ServiceTypeSpec(
            "reentry",
            "Re-entry support",
            "Support for people leaving jail or prison: housing, benefits, treatment and "
            "employment linkage, starting before release.",
        ),
        ServiceTypeSpec(
            "hospital-to-home",
            "Hospital-to-home transitional care",
            "Transitional care from hospital discharge to home: a visit within 48 hours, "
            "medication reconciliation and 30 days of follow-up.",
        ),
    ),
    contracts=(
        ContractSpec(
            reference="RC-HCBS-2024-001",
            title="HCBS personal care: metro and river towns",
            provider="heartland",
            service_type="hcbs-personal-care",
            scope="Personal care and homemaker services for waiver participants living at home "
            "in the metro area and the river towns, including evening and weekend visits.",
            population_coverage="Adults 18+ on the Elderly and Disability waivers; about 420 "
            "people at any time.",
            intensity="Up to 35 hours a week per person, per the person-centred service plan",
            start=-540,
            end=555,
            extension_options="Two 12-month extensions at the County's option",
            latest_end=1285,
            annual_value="2400000.00",
            total_value="7200000.00",
            payment_model=PaymentModel.ACTIVITY_BANDED,
            contract_manager="marcus.reyes@riverbendcounty.example",
            service_owner="priya.natarajan@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "Person-centred service plan reviewed with the person at least annually",
                "Electronic visit verification on every visit",
                "Continuity of caregiver where the person asks for it",
                "No visit shorter than 30 minutes",
            ),
            sites=(
                SiteSpec("Riverbend metro", "Riverbend County", opened=-540),
                SiteSpec("River towns", "Riverbend County (Lakeview, Millford)", opened=-480),
            ),
            milestones=(
                MilestoneSpec(
                    "All caregivers on electronic visit verification",
                    -450,
                    MilestoneStatus.MET,
                    completed=-462,
                ),
                MilestoneSpec(
                    "Weekend visit coverage at 95%",
                    -120,
                    MilestoneStatus.MISSED,
                    notes="Reached 91%; recruitment drive agreed.",
                ),
                MilestoneSpec("Annual contract review", 45),
            ),
        ),
        ContractSpec(
            reference="RC-HCBS-2023-014",
            title="HCBS personal care: rural townships",
            provider="heartland",
            service_type="hcbs-personal-care",
            scope="Personal care in the rural townships, including travel time and a "
            "back-up caregiver rota for visits that cannot be missed.",
            population_coverage="Waiver participants in the eight rural townships; about "
            "95 people.",
            intensity="Up to 28 hours a week per person",
            start=-1033,
            end=62,
            extension_options="None remaining (final extension taken)",
            annual_value="780000.00",
            total_value="2340000.00",
            payment_model=PaymentModel.ACUITY_BANDED,
            contract_manager="marcus.reyes@riverbendcounty.example",
            service_owner="priya.natarajan@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "Back-up caregiver within 2 hours for critical visits",
                "Travel time paid, not deducted from care time",
                "Electronic visit verification on every visit",
            ),
            sites=(
                SiteSpec("Northern townships", "Riverbend County (north)", opened=-1033),
                SiteSpec(
                    "Southern townships",
                    "Riverbend County (south)",
                    partner_organisation="Juniper Valley Senior Services",
                    opened=-1000,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Re-procurement decision",
                    -20,
                    MilestoneStatus.MET,
                    completed=-24,
                    notes="Re-procure as a single countywide lot.",
                ),
                MilestoneSpec("Transition plan for people served agreed", 30),
            ),
        ),
        ContractSpec(
            reference="RC-BH-2024-007",
            title="Mobile crisis response, 24/7",
            provider="crossroads",
            service_type="mobile-crisis",
            scope="Two-person mobile crisis teams dispatched by the 988 call centre, on-site "
            "assessment and stabilization, and follow-up contact within 72 hours.",
            population_coverage="Anyone in Riverbend, Lake or Juniper County in a "
            "behavioral-health crisis; about 2,600 dispatches a year.",
            intensity="24 hours a day, 365 days a year",
            start=-400,
            end=330,
            extension_options="One 24-month extension",
            latest_end=1060,
            annual_value="3150000.00",
            total_value="6300000.00",
            payment_model=PaymentModel.BLOCK,
            contract_manager="priya.natarajan@riverbendcounty.example",
            service_owner="priya.natarajan@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "24/7/365 mobile response",
                "On scene within 60 minutes in urban areas and 90 minutes in rural areas",
                "Two-person teams including a licensed clinician",
                "Follow-up contact within 72 hours of every dispatch",
            ),
            sites=(
                SiteSpec("Riverbend hub", "Riverbend County", opened=-400),
                SiteSpec(
                    "Lake County satellite",
                    "Lake County",
                    partner_organisation="Lake County Sheriff's Office (co-response)",
                    opened=-370,
                ),
                SiteSpec(
                    "Juniper County satellite",
                    "Juniper County",
                    partner_organisation="Juniper Community Health Center",
                    opened=-300,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Go-live with 988 dispatch", -400, MilestoneStatus.MET, completed=-400
                ),
                MilestoneSpec(
                    "Juniper County satellite open", -300, MilestoneStatus.MET, completed=-300
                ),
                MilestoneSpec("Crisis stabilization unit referral pathway agreed", 60),
            ),
        ),
        ContractSpec(
            reference="RC-BH-2022-003",
            title="Assertive Community Treatment team",
            provider="crossroads",
            service_type="act",
            scope="One full ACT team serving adults with serious mental illness and repeated "
            "hospitalisations, delivered to the ACT fidelity model.",
            population_coverage="Up to 100 enrolled adults at a 1:10 staff-to-client ratio.",
            intensity="Average of three face-to-face contacts a week per client",
            start=-1310,
            end=150,
            extension_options="One 12-month extension",
            latest_end=515,
            annual_value="1450000.00",
            total_value="5800000.00",
            payment_model=PaymentModel.OUTCOME_LINKED,
            payment_at_risk_pct="10",
            contract_manager="priya.natarajan@riverbendcounty.example",
            service_owner="marcus.reyes@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "Multidisciplinary team: psychiatric prescriber, nurse, peer specialist, "
                "substance-use and employment specialists",
                "Staff-to-client ratio no worse than 1:10",
                "24/7 crisis availability for enrolled clients",
                "At least 75% of contacts in the community, not the office",
            ),
            sites=(SiteSpec("ACT team base", "Riverbend County", opened=-1310),),
            milestones=(
                MilestoneSpec(
                    "Annual fidelity review (TMACT) score of 4.0 or above",
                    -75,
                    MilestoneStatus.MISSED,
                    notes="Scored 3.6; improvement plan in "
                    "place for the employment specialist vacancy.",
                ),
                MilestoneSpec("Extension decision", 60),
            ),
        ),
        ContractSpec(
            reference="RC-HSG-2024-021",
            title="Rapid re-housing for families",
            provider="harbor",
            service_type="rapid-rehousing",
            scope="Housing search, up to 12 months of rental assistance and case management "
            "for families with children entering shelter, across three counties.",
            population_coverage="About 180 families a year referred through coordinated entry.",
            intensity="Case manager caseload no more than 1:20",
            start=-300,
            end=430,
            extension_options="Two 12-month extensions",
            latest_end=1160,
            annual_value="1850000.00",
            total_value="3700000.00",
            payment_model=PaymentModel.OUTCOME_LINKED,
            payment_at_risk_pct="15",
            contract_manager="priya.natarajan@riverbendcounty.example",
            service_owner="marcus.reyes@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "Housing First: no preconditions of sobriety, treatment or income",
                "Families housed in 30 days or less from referral",
                "Housing-focused case management for at least 6 months after move-in",
            ),
            sites=(
                SiteSpec("Riverbend family center", "Riverbend County", opened=-300),
                SiteSpec(
                    "Lake County outreach",
                    "Lake County",
                    partner_organisation="Lake County Housing Authority",
                    opened=-280,
                ),
                SiteSpec(
                    "Juniper County outreach",
                    "Juniper County",
                    partner_organisation="Juniper Valley Community Action",
                    opened=-250,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Landlord partnership fund launched", -240, MilestoneStatus.MET, completed=-236
                ),
                MilestoneSpec(
                    "HMIS data quality at 95% complete",
                    -30,
                    MilestoneStatus.WAIVED,
                    notes="Waived while the State migrates HMIS vendors.",
                ),
                MilestoneSpec("Six-month housing retention report", 20),
            ),
        ),
        ContractSpec(
            reference="RC-HSG-2021-009",
            title="Permanent supportive housing: scattered sites",
            provider="harbor",
            service_type="psh",
            scope="Leased scattered-site apartments with on-call support services for "
            "chronically homeless adults with disabling conditions.",
            population_coverage="60 units; chronically homeless adults prioritised by "
            "coordinated entry.",
            intensity="Weekly home visits, more often on request",
            start=-1790,
            end=35,
            extension_options="None remaining",
            annual_value="1120000.00",
            total_value="5600000.00",
            payment_model=PaymentModel.BLOCK,
            contract_manager="marcus.reyes@riverbendcounty.example",
            service_owner="priya.natarajan@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "Standard lease with full tenancy rights",
                "Services voluntary, never a condition of the tenancy",
                "Tenancy held if the person is in hospital or treatment for up to 90 days",
            ),
            sites=(
                SiteSpec("Scattered sites, Riverbend", "Riverbend County", opened=-1790),
                SiteSpec(
                    "Scattered sites, Lakeview",
                    "Lake County",
                    partner_organisation="Lakeview Property Management",
                    opened=-1600,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Successor contract awarded", -14, MilestoneStatus.MET, completed=-10
                ),
                MilestoneSpec("Tenancies transferred to successor contract", 30),
            ),
        ),
        ContractSpec(
            reference="RC-RE-2026-002",
            title="Jail re-entry navigation",
            provider="newleaf",
            service_type="reentry",
            scope="In-reach to the county jail from 60 days before release, then 6 months of "
            "navigation to housing, benefits, treatment and work.",
            population_coverage="About 240 people a year released from Riverbend County Jail.",
            intensity="Weekly contact for the first 90 days after release",
            start=30,
            end=760,
            extension_options="Two 12-month extensions",
            latest_end=1490,
            annual_value="640000.00",
            total_value="1280000.00",
            payment_model=PaymentModel.OUTCOME_LINKED,
            payment_at_risk_pct="8",
            contract_manager="priya.natarajan@riverbendcounty.example",
            service_owner="priya.natarajan@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            status="planned",
            protected_core_components=(
                "First contact at least 30 days before release",
                "Peer navigator with lived experience of incarceration on every caseload",
                "Medicaid application submitted before release",
            ),
            sites=(
                SiteSpec(
                    "Riverbend County Jail in-reach",
                    "Riverbend County",
                    partner_organisation="Riverbend County Sheriff's Office",
                ),
                SiteSpec("Community office", "Riverbend County"),
            ),
            milestones=(
                MilestoneSpec("Jail access agreement signed", 14),
                MilestoneSpec("First in-reach sessions", 45),
                MilestoneSpec("Six-month implementation review", 210),
            ),
        ),
        ContractSpec(
            reference="RC-H2H-2025-004",
            title="Hospital-to-home transitional care",
            provider="transitions",
            service_type="hospital-to-home",
            scope="Transitional care for adults discharged from Riverbend Memorial Hospital "
            "with high readmission risk: home visit in 48 hours, medication "
            "reconciliation, 30 days of follow-up and linkage to HCBS.",
            population_coverage="About 900 discharges a year.",
            intensity="A home visit within 48 hours and weekly calls for 30 days",
            start=-160,
            end=570,
            extension_options="One 24-month extension",
            latest_end=1300,
            annual_value="980000.00",
            total_value="1960000.00",
            payment_model=PaymentModel.ACTIVITY_BANDED,
            contract_manager="marcus.reyes@riverbendcounty.example",
            service_owner="marcus.reyes@riverbendcounty.example",
            executive_sponsor="loretta.banks@riverbendcounty.example",
            protected_core_components=(
                "Home visit within 48 hours of discharge",
                "Medication reconciliation by a registered nurse or pharmacist",
            ),
            sites=(
                SiteSpec(
                    "Riverbend Memorial discharge lounge",
                    "Riverbend County",
                    partner_organisation="Riverbend Memorial Hospital",
                    opened=-160,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Referral pathway live on hospital wards",
                    -150,
                    MilestoneStatus.MET,
                    completed=-152,
                ),
                MilestoneSpec("30-day readmission baseline agreed", 15),
            ),
        ),
    ),
)

WESSEX_VALE = TenantSpec(
    slug="wessex-vale-icb",
    name="NHS Wessex Vale Integrated Care Board",
    currency="GBP",
    time_zone="Europe/London",
    users=(
        UserSpec(
            "fiona.campbell@wessexvale-icb.example",
            "Fiona Campbell",
            Role.ADMIN,
            "Contracting systems lead",
        ),
        UserSpec(
            "rachel.adeyemi@wessexvale-icb.example",
            "Rachel Adeyemi",
            Role.COMMISSIONER,
            "Senior commissioning manager, community and discharge",
        ),
        UserSpec(
            "james.thornton@wessexvale-icb.example",
            "James Thornton",
            Role.COMMISSIONER,
            "Commissioning manager, mental health and inclusion health",
        ),
        UserSpec(
            "helen.marsh@wessexvale-icb.example",
            "Dr Helen Marsh",
            Role.EXECUTIVE,
            "Director of Strategic Commissioning",
        ),
        SHARED_AUDITOR,
        UserSpec(
            "hannah.price@brightwatercare.example",
            "Hannah Price",
            Role.PROVIDER,
            "Registered manager, Brightwater Home Care",
            provider="brightwater",
        ),
        UserSpec(
            "oliver.grant@pathwaysmh.example",
            "Oliver Grant",
            Role.PROVIDER,
            "Head of performance, Pathways Mental Health Partnership",
            provider="pathways",
        ),
    ),
    providers=(
        ProviderSpec(
            key="valecommunity",
            name="Wessex Vale Community Health NHS Trust",
            ods_code="R1V",
            contact_name="Sarah Whitmore",
            contact_email="sarah.whitmore@valecommunity.example",
            contact_phone="01632 960 410",
            address="Trust Headquarters, Kingsbridge Road, Northgate NG1 4AA",
        ),
        ProviderSpec(
            key="brightwater",
            name="Brightwater Home Care Ltd",
            ods_code="NBW",
            contact_name="Hannah Price",
            contact_email="hannah.price@brightwatercare.example",
            contact_phone="01632 960 722",
            address="Unit 4, Riverside Business Park, Westmoor WM3 2BT",
        ),
        ProviderSpec(
            key="pathways",
            name="Pathways Mental Health Partnership NHS Foundation Trust",
            ods_code="R2P",
            contact_name="Oliver Grant",
            contact_email="oliver.grant@pathwaysmh.example",
            contact_phone="01632 960 155",
            address="Elm House, Eastbury General Hospital, Eastbury EB2 7QL",
        ),
        ProviderSpec(
            key="staldhelm",
            name="St Aldhelm's Housing Trust",
            ods_code="8KT21",
            contact_name="Mark Osei",
            contact_email="mark.osei@staldhelms.example",
            contact_phone="01632 960 903",
            address="12 Abbey Lane, Southfield SF4 1DD",
        ),
        ProviderSpec(
            key="secondchance",
            name="Second Chance Wessex CIC",
            ods_code="8JK44",
            contact_name="Amira Khan",
            contact_email="amira.khan@secondchancewessex.example",
            contact_phone="01632 960 348",
            address="The Old Courthouse, Market Street, Northgate NG2 3HF",
        ),
    ),
    service_types=(
        ServiceTypeSpec(
            "home-care",
            "Home care (personal care)",
            "Domiciliary personal care for adults with eligible needs under the Care Act, "
            "jointly funded with the local authorities.",
        ),
        ServiceTypeSpec(
            "discharge-to-assess",
            "Discharge to assess (Pathway 1)",
            "Home-based support from the day of hospital discharge, with needs assessed at "
            "home rather than on the ward.",
        ),
        ServiceTypeSpec(
            "mh-crisis",
            "Mental health crisis response",
            "24/7 crisis line, crisis assessment and home treatment as an alternative to "
            "admission.",
        ),
        ServiceTypeSpec(
            "intensive-community-mh",
            "Intensive community mental health (ACT model)",
            "Assertive outreach for adults with severe mental illness who do not engage with "
            "standard community services.",
        ),
        ServiceTypeSpec(
            "housing-first",
            "Housing First",
            "Permanent housing with intensive, open-ended support for people with multiple "
            "disadvantage and a history of rough sleeping.",
        ),
        ServiceTypeSpec(
            "resettlement",
            "Prison leaver resettlement",
            "Health and housing resettlement for people leaving prison: continuity of "
            "medication and treatment, registration with a GP, accommodation on release.",
        ),
        ServiceTypeSpec(
            "step-down",
            "Hospital-to-home step-down and reablement",
            "Short-term reablement at home after a hospital stay, aiming for independence "
            "within six weeks.",
        ),
    ),
    contracts=(
        ContractSpec(
            reference="WV-D2A-2024-003",
            title="Discharge to assess, Pathway 1 home-based support",
            provider="brightwater",
            service_type="discharge-to-assess",
            scope="Same-day starts for people leaving the acute wards, with a trusted "
            "assessor completing the Care Act assessment at home within 72 hours.",
            population_coverage="Adults 18+ medically fit for discharge in the four places; "
            "about 1,900 starts a year.",
            intensity="Up to four calls a day for up to four weeks",
            start=-610,
            end=120,
            extension_options="One 12-month extension",
            latest_end=485,
            annual_value="3400000.00",
            total_value="6800000.00",
            payment_model=PaymentModel.ACTIVITY_BANDED,
            contract_manager="rachel.adeyemi@wessexvale-icb.example",
            service_owner="rachel.adeyemi@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Support starts on the day of discharge",
                "Assessment at home within 72 hours, never on the ward",
                "Reablement ethos: doing with, not for",
            ),
            sites=(
                SiteSpec(
                    "Northgate place",
                    "Northgate",
                    partner_organisation="Northgate City Council adult social care",
                    opened=-610,
                ),
                SiteSpec(
                    "Westmoor place",
                    "Westmoor",
                    partner_organisation="Westmoor District Council",
                    opened=-610,
                ),
                SiteSpec(
                    "Eastbury place",
                    "Eastbury",
                    partner_organisation="Eastbury General Hospital discharge hub",
                    opened=-560,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Trusted assessor agreement with both acute trusts",
                    -580,
                    MilestoneStatus.MET,
                    completed=-590,
                ),
                MilestoneSpec(
                    "Same-day start rate at 80%",
                    -60,
                    MilestoneStatus.MISSED,
                    notes="72% in Q2; workforce stabilisation support offered.",
                ),
                MilestoneSpec("Extension decision to ICB board", 40),
            ),
        ),
        ContractSpec(
            reference="WV-HC-2023-011",
            title="Home care for people with complex needs",
            provider="brightwater",
            service_type="home-care",
            scope="Long-term home care for adults with complex physical health needs, "
            "including continuing healthcare packages.",
            population_coverage="About 310 people across Northgate and Southfield.",
            intensity="Double-handed calls where assessed; up to 42 hours a week",
            start=-850,
            end=610,
            extension_options="Two 12-month extensions",
            latest_end=1340,
            annual_value="5200000.00",
            total_value="20800000.00",
            payment_model=PaymentModel.ACUITY_BANDED,
            contract_manager="rachel.adeyemi@wessexvale-icb.example",
            service_owner="helen.marsh@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Minimum call length of 30 minutes",
                "Care workers paid for travel time",
                "Named care coordinator for every person",
            ),
            sites=(
                SiteSpec("Northgate", "Northgate", opened=-850),
                SiteSpec(
                    "Southfield",
                    "Southfield",
                    partner_organisation="Southfield Borough Council",
                    opened=-820,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "CQC inspection action plan closed", -200, MilestoneStatus.MET, completed=-210
                ),
                MilestoneSpec("Electronic call monitoring on all rounds", 90),
            ),
        ),
        ContractSpec(
            reference="WV-MH-2024-002",
            title="24/7 mental health crisis line and home treatment",
            provider="pathways",
            service_type="mh-crisis",
            scope="The NHS 111 option 2 crisis line, crisis assessment within 4 hours and "
            "crisis resolution and home treatment as an alternative to admission.",
            population_coverage="All ages across the ICB footprint (population about 1.1 million).",
            intensity="24 hours a day, 365 days a year",
            start=-520,
            end=700,
            extension_options="One 24-month extension",
            latest_end=1430,
            annual_value="7900000.00",
            total_value="23700000.00",
            payment_model=PaymentModel.BLOCK,
            contract_manager="james.thornton@wessexvale-icb.example",
            service_owner="james.thornton@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Calls answered by a mental health practitioner, not a call handler",
                "Urgent assessment within 4 hours, very urgent within 1 hour",
                "Home treatment offered before any admission",
            ),
            sites=(
                SiteSpec("Crisis hub, Eastbury", "Eastbury", opened=-520),
                SiteSpec(
                    "Crisis café, Northgate",
                    "Northgate",
                    partner_organisation="Northgate Mind",
                    opened=-400,
                ),
                SiteSpec(
                    "Crisis café, Westmoor",
                    "Westmoor",
                    partner_organisation="Westmoor Samaritans",
                    opened=-330,
                ),
            ),
            milestones=(
                MilestoneSpec("NHS 111 option 2 live", -520, MilestoneStatus.MET, completed=-520),
                MilestoneSpec("Crisis café in every place", 75),
            ),
        ),
        ContractSpec(
            reference="WV-MH-2022-008",
            title="Intensive community mental health (assertive outreach)",
            provider="pathways",
            service_type="intensive-community-mh",
            scope="An assertive outreach team for adults with psychosis who disengage from "
            "standard community mental health services.",
            population_coverage="Up to 120 people; caseload no more than 12 per care coordinator.",
            intensity="Contact at least twice a week",
            start=-1020,
            end=75,
            extension_options="None remaining",
            annual_value="1650000.00",
            total_value="4950000.00",
            payment_model=PaymentModel.OUTCOME_LINKED,
            payment_at_risk_pct="5",
            contract_manager="james.thornton@wessexvale-icb.example",
            service_owner="james.thornton@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Caseload no more than 12 per care coordinator",
                "Peer support worker in the team",
                "Physical health checks for everyone on the caseload",
            ),
            sites=(SiteSpec("Assertive outreach team", "Eastbury and Southfield", opened=-1020),),
            milestones=(
                MilestoneSpec(
                    "Annual physical health check coverage at 85%",
                    -90,
                    MilestoneStatus.MET,
                    completed=-95,
                ),
                MilestoneSpec(
                    "Decision on recommissioning within community mental health transformation", 21
                ),
            ),
        ),
        ContractSpec(
            reference="WV-HSG-2025-001",
            title="Housing First for people sleeping rough",
            provider="staldhelm",
            service_type="housing-first",
            scope="Housing First tenancies with intensive, open-ended support for people "
            "with multiple disadvantage, jointly with the district councils.",
            population_coverage="50 people at any time; referrals from the outreach teams.",
            intensity="Caseload no more than 1:7",
            start=-220,
            end=1240,
            extension_options="One 24-month extension",
            latest_end=1970,
            annual_value="720000.00",
            total_value="2880000.00",
            payment_model=PaymentModel.OUTCOME_LINKED,
            payment_at_risk_pct="20",
            contract_manager="james.thornton@wessexvale-icb.example",
            service_owner="rachel.adeyemi@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Housing First fidelity: housing not conditional on treatment or abstinence",
                "Support open-ended, continuing if the tenancy ends",
                "Caseload no more than 1:7",
            ),
            sites=(
                SiteSpec(
                    "Northgate",
                    "Northgate",
                    partner_organisation="Northgate City Council housing options",
                    opened=-220,
                ),
                SiteSpec(
                    "Southfield",
                    "Southfield",
                    partner_organisation="Southfield Borough Council",
                    opened=-180,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "First 20 tenancies started", -60, MilestoneStatus.MET, completed=-71
                ),
                MilestoneSpec("Fidelity review by Housing First England", 150),
            ),
        ),
        ContractSpec(
            reference="WV-RE-2024-006",
            title="Prison leaver health and housing resettlement",
            provider="secondchance",
            service_type="resettlement",
            scope="Through-the-gate support from HMP Northgate: medication on release, GP "
            "registration, drug and alcohol treatment continuity and accommodation.",
            population_coverage="About 450 releases a year to addresses in the ICB area.",
            intensity="Met at the gate; weekly contact for 12 weeks",
            start=-380,
            end=350,
            extension_options="One 12-month extension",
            latest_end=715,
            annual_value="410000.00",
            total_value="820000.00",
            payment_model=PaymentModel.BLOCK,
            contract_manager="james.thornton@wessexvale-icb.example",
            service_owner="james.thornton@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Met at the gate on the day of release",
                "Continuity of opioid substitution treatment with no gap",
                "GP registration within 7 days of release",
            ),
            sites=(
                SiteSpec(
                    "HMP Northgate in-reach",
                    "Northgate",
                    partner_organisation="HMP Northgate healthcare",
                    opened=-380,
                ),
                SiteSpec(
                    "Community hub",
                    "Northgate",
                    partner_organisation="Probation Service, Wessex region",
                    opened=-380,
                ),
            ),
            milestones=(
                MilestoneSpec(
                    "Data-sharing agreement with the prison",
                    -360,
                    MilestoneStatus.MET,
                    completed=-366,
                ),
                MilestoneSpec("Interim evaluation", 100),
            ),
        ),
        ContractSpec(
            reference="WV-SD-2025-009",
            title="Hospital-to-home step-down and reablement",
            provider="valecommunity",
            service_type="step-down",
            scope="Six weeks of reablement at home after an acute admission, with therapy "
            "input and a review before handover to long-term care.",
            population_coverage="About 1,200 people a year across the four places.",
            intensity="Up to six weeks; daily visits in the first week",
            start=-90,
            end=1005,
            extension_options="Two 12-month extensions",
            latest_end=1735,
            annual_value="2600000.00",
            total_value="7800000.00",
            payment_model=PaymentModel.BLOCK,
            contract_manager="rachel.adeyemi@wessexvale-icb.example",
            service_owner="rachel.adeyemi@wessexvale-icb.example",
            executive_sponsor="helen.marsh@wessexvale-icb.example",
            protected_core_components=(
                "Occupational therapist review within 5 days of start",
                "Goals set with the person, not for them",
            ),
            sites=(
                SiteSpec("Northgate and Westmoor", "Northgate; Westmoor", opened=-90),
                SiteSpec("Eastbury and Southfield", "Eastbury; Southfield", opened=-60),
            ),
            milestones=(
                MilestoneSpec("Mobilisation complete", -60, MilestoneStatus.MET, completed=-58),
                MilestoneSpec("Three-month post-mobilisation review", 30),
            ),
        ),
    ),
)

DEMO_TENANTS: tuple[TenantSpec, ...] = (RIVERBEND, WESSEX_VALE)


# --------------------------------------------------------------------------
# The parts: each turns one slice of a TenantSpec into rows.
# --------------------------------------------------------------------------


@dataclass
class SeedContext:
    """What the parts share while one tenant is built."""

    spec: TenantSpec
    today: date
    actor: User | None
    rng: random.Random
    password_hash: str
    tenant: Tenant | None = None
    users: dict[str, User] = field(default_factory=dict)  # by email
    # Users saved earlier in this run (a person in several tenants is saved once).
    run_users: dict[str, User] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)  # by key
    service_types: dict[str, ServiceType] = field(default_factory=dict)  # by code
    contracts: dict[str, Contract] = field(default_factory=dict)  # by reference

    def day(self, offset: int | None) -> date | None:
        return None if offset is None else self.today + timedelta(days=offset)

    def save(self, obj: models.Model) -> models.Model:
        _validate(obj)
        save_with_history(obj, user=self.actor, reason=REASON)
        return obj

    def bulk(self, model: type[models.Model], objs: Iterable[models.Model]) -> list:
        objs = list(objs)
        for obj in objs:
            _validate(obj)
        return bulk_create(model, objs, user=self.actor, reason=REASON)


def _validate(obj: models.Model) -> None:
    """The model's own validation, constraints included, so the demo obeys the
    same rules as data entered in the pages. Foreign keys are skipped: they point
    at rows this run has just saved, and checking each costs a query."""
    relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
    obj.full_clean(exclude=relations)


def seed_tenant(ctx: SeedContext) -> None:
    spec = ctx.spec
    ctx.tenant = ctx.save(
        Tenant(name=spec.name, slug=spec.slug, currency=spec.currency, time_zone=spec.time_zone)
    )


def seed_users(ctx: SeedContext) -> None:
    """Create the tenant's people, or restore a demo user kept from an earlier run."""
    for spec in ctx.spec.users:
        if spec.email in ctx.run_users:
            ctx.users[spec.email] = ctx.run_users[spec.email]
            continue
        user = User.objects.filter(email=spec.email).first() or User(email=spec.email)
        user.full_name = spec.full_name
        user.password = ctx.password_hash
        user.is_active = True
        ctx.users[spec.email] = ctx.run_users[spec.email] = ctx.save(user)


def seed_service_types(ctx: SeedContext) -> None:
    rows = [
        ServiceType(tenant=ctx.tenant, code=s.code, name=s.name, description=s.description)
        for s in ctx.spec.service_types
    ]
    for row in ctx.bulk(ServiceType, rows):
        ctx.service_types[row.code] = row


def seed_providers(ctx: SeedContext) -> None:
    for spec in ctx.spec.providers:
        ctx.providers[spec.key] = ctx.save(
            Provider(
                tenant=ctx.tenant,
                name=spec.name,
                ein=spec.ein,
                uei=spec.uei,
                ods_code=spec.ods_code,
                contact_name=spec.contact_name,
                contact_email=spec.contact_email,
                contact_phone=spec.contact_phone,
                address=spec.address,
            )
        )


def seed_memberships(ctx: SeedContext) -> None:
    for spec in ctx.spec.users:
        ctx.save(
            Membership(
                user=ctx.users[spec.email],
                tenant=ctx.tenant,
                role=spec.role,
                provider=ctx.providers[spec.provider] if spec.provider else None,
            )
        )


def _check_owner(ctx: SeedContext, contract: ContractSpec, name: str) -> User:
    """The demo data obeys the same owner rules as the contract services."""
    email = getattr(contract, name)
    role = next(u.role for u in ctx.spec.users if u.email == email)
    if role not in OWNER_ROLES[name]:
        raise CommandError(f"{contract.reference}: {email} ({role}) cannot be the {name}")
    return ctx.users[email]


def seed_contracts(ctx: SeedContext) -> None:
    for spec in ctx.spec.contracts:
        ctx.contracts[spec.reference] = ctx.save(
            Contract(
                tenant=ctx.tenant,
                reference=spec.reference,
                title=spec.title,
                provider=ctx.providers[spec.provider],
                service_type=ctx.service_types[spec.service_type],
                status=spec.status,
                scope=spec.scope,
                population_coverage=spec.population_coverage,
                intensity=spec.intensity,
                start_date=ctx.day(spec.start),
                end_date=ctx.day(spec.end),
                extension_options=spec.extension_options,
                latest_end_date=ctx.day(spec.latest_end),
                annual_value=Decimal(spec.annual_value),
                total_value=Decimal(spec.total_value),
                currency=ctx.spec.currency,
                payment_model=spec.payment_model,
                payment_at_risk_pct=Decimal(spec.payment_at_risk_pct),
                contract_manager=_check_owner(ctx, spec, "contract_manager"),
                service_owner=_check_owner(ctx, spec, "service_owner"),
                executive_sponsor=_check_owner(ctx, spec, "executive_sponsor"),
                protected_core_components=list(spec.protected_core_components),
            )
        )


def seed_sites(ctx: SeedContext) -> None:
    ctx.bulk(
        DeliverySite,
        (
            DeliverySite(
                tenant=ctx.tenant,
                contract=ctx.contracts[contract.reference],
                name=site.name,
                area=site.area,
                partner_organisation=site.partner_organisation,
                address=site.address,
                opened_on=ctx.day(site.opened),
            )
            for contract in ctx.spec.contracts
            for site in contract.sites
        ),
    )


def seed_milestones(ctx: SeedContext) -> None:
    ctx.bulk(
        Milestone,
        (
            Milestone(
                tenant=ctx.tenant,
                contract=ctx.contracts[contract.reference],
                title=milestone.title,
                due_date=ctx.day(milestone.due),
                status=milestone.status,
                completed_on=ctx.day(milestone.completed),
                notes=milestone.notes,
            )
            for contract in ctx.spec.contracts
            for milestone in contract.milestones
        ),
    )


# The core's parts, in order: each may use what the earlier ones built. They are
# registered as demo parts (oversight/apps.py, orders 10-80); feature apps
# register theirs after them (performance: returns, then signals).
CORE_PARTS: tuple[Callable[[SeedContext], None], ...] = (
    seed_tenant,
    seed_users,
    seed_service_types,
    seed_providers,
    seed_memberships,
    seed_contracts,
    seed_sites,
    seed_milestones,
)


def build_tenant(
    spec: TenantSpec,
    *,
    today: date,
    actor: User | None,
    password_hash: str,
    run_users: dict[str, User],
) -> SeedContext:
    ctx = SeedContext(
        spec=spec,
        today=today,
        actor=actor,
        rng=random.Random(f"{DEMO_SEED}:{spec.slug}"),
        password_hash=password_hash,
        run_users=run_users,
    )
    for part in registry.demo_parts():
        part.run(ctx)
    return ctx


# --------------------------------------------------------------------------
# Reset: delete a demo tenant and everything it owns, leaving history.
# --------------------------------------------------------------------------


def _tenant_scoped_models() -> list[type[models.Model]]:
    """Every model with a ``tenant`` foreign key (history tables aside), so rows
    added by later features are deleted too without this list being edited."""
    found = []
    for model in apps.get_models():
        if issubclass(model, HistoricalChanges):
            continue
        try:
            tenant_field = model._meta.get_field("tenant")
        except FieldDoesNotExist:
            continue
        if tenant_field.is_relation and tenant_field.related_model is Tenant:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def _points_to(model: type[models.Model], target: type[models.Model]) -> bool:
    return any(
        f.is_relation and f.many_to_one and f.related_model is target
        for f in model._meta.concrete_fields
    )


def _deletion_order(candidates: list[type[models.Model]]) -> list[type[models.Model]]:
    """Referrers before what they refer to (foreign keys are PROTECT)."""
    remaining, order = list(candidates), []
    while remaining:
        ready = [
            m
            for m in remaining
            if not any(other is not m and _points_to(other, m) for other in remaining)
        ]
        if not ready:
            raise CommandError(f"Cannot order deletion of {remaining}: foreign-key cycle")
        order.extend(ready)
        remaining = [m for m in remaining if m not in ready]
    return order


def reset_tenant(tenant: Tenant, *, actor: User | None) -> int:
    deleted = 0
    for model in _deletion_order(_tenant_scoped_models()):
        for obj in model._default_manager.filter(tenant=tenant).order_by("-pk"):
            delete_with_history(obj, user=actor, reason=RESET_REASON)
            deleted += 1
    delete_with_history(tenant, user=actor, reason=RESET_REASON)
    return deleted + 1


# --------------------------------------------------------------------------
# The command.
# --------------------------------------------------------------------------


@contextmanager
def _quiet(names: Iterable[str], *, unless: bool) -> Iterator[None]:
    """Raise the given loggers to WARNING for the block (warnings still show)."""
    loggers = [] if unless else [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Build the demo tenants (a US county and an NHS ICB) with a user for every role, "
        "providers, contracts, sites and milestones. Idempotent; --reset rebuilds. "
        f"Every demo account's password is {DEMO_PASSWORD!r} (demo only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo tenants (with history) and build them again.",
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="Anchor the demo's dates to this day (YYYY-MM-DD) instead of today.",
        )
        parser.add_argument(
            "--actor",
            default="",
            help="Email of an existing user to record as the author of the demo writes "
            "(default: recorded as the system).",
        )
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even with DEBUG off. The demo passwords are public: never on production.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "seed_demo creates accounts with a published password, so it runs only with "
                "DEBUG on. Pass --allow-without-debug if this really is not production."
            )
        actor = None
        if options["actor"]:
            actor = User.objects.filter(email__iexact=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No user with the email {options['actor']!r}")
        today = options["today"] or clock.today()
        slugs = [spec.slug for spec in DEMO_TENANTS]
        # Email sent while seeding (on commit, so still inside these blocks) goes
        # to memory, and is counted instead of printed.
        with (
            override_settings(EMAIL_BACKEND=SEED_EMAIL_BACKEND),
            _quiet(CHATTY_LOGGERS, unless=options["verbosity"] >= 2),
        ):
            held = len(getattr(mail, "outbox", []))
            built = self.build(options, today=today, slugs=slugs, actor=actor)
            held = len(getattr(mail, "outbox", [])) - held
        if built and held:
            self.stdout.write(
                f"{held} notification emails to demo users (queried returns, new signals) "
                "were not sent: the demo's past is not mailed."
            )
        self.print_logins()

    def build(self, options, *, today: date, slugs: list[str], actor: User | None) -> bool:
        """Build the demo tenants (resetting them if asked); False if they were
        there already and left alone."""
        with transaction.atomic():
            existing = list(Tenant.objects.filter(slug__in=slugs))
            if existing and not options["reset"]:
                self.stdout.write(
                    "The demo tenants are already there; leaving them as they are "
                    "(run with --reset to rebuild them)."
                )
                return False
            for tenant in existing:
                count = reset_tenant(tenant, actor=actor)
                self.stdout.write(f"Deleted demo tenant {tenant.slug} ({count} rows).")
            password_hash = make_password(DEMO_PASSWORD)
            run_users: dict[str, User] = {}
            for spec in DEMO_TENANTS:
                ctx = build_tenant(
                    spec,
                    today=today,
                    actor=actor,
                    password_hash=password_hash,
                    run_users=run_users,
                )
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Built {spec.name} (/t/{spec.slug}/): {len(ctx.users)} users, "
                        f"{len(ctx.providers)} providers, {len(ctx.contracts)} contracts."
                    )
                )
        return True

    def print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (DEMO ONLY; every password is {DEMO_PASSWORD!r}):")
        for spec in DEMO_TENANTS:
            self.stdout.write("")
            self.stdout.write(f"  {spec.name}  /t/{spec.slug}/")
            for user in spec.users:
                role = Role(user.role).label
                self.stdout.write(
                    f"    {role:<12} {user.email:<44} {DEMO_PASSWORD}  {user.full_name}: "
                    f"{user.title}"
                )
        self.stdout.write("")
