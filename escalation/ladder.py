"""The default escalation ladder (docs: DESIGN.md, "The default escalation
ladder"): what a tenant's ladder starts as, written on first use; and the one
computation of a deadline from a stage (``response_deadline``)."""

import datetime as dt

from contracts.models import Frequency
from oversight import workdays

from .models import DeadlineBasis

# level, name, description, response deadline (days), reporting while there,
# improvement plan required, executive approval required
DEFAULT_STAGES: list[dict] = [
    {
        "level": 0,
        "name": "Routine monitoring",
        "description": "Monthly returns and scheduled reviews.",
        "response_days": None,
        "deadline_basis": DeadlineBasis.CALENDAR,
        "reporting_frequency": Frequency.MONTHLY,
        "plan_required": False,
        "executive_approval_required": False,
        "withholding_cap_percent": None,
    },
    {
        "level": 1,
        "name": "Informal concern",
        "description": (
            "Advisory contact, a targeted review and a request for an explanation of "
            "a signal the provider has not explained."
        ),
        "response_days": 10,
        "deadline_basis": DeadlineBasis.CALENDAR,
        "reporting_frequency": Frequency.MONTHLY,
        "plan_required": False,
        "executive_approval_required": False,
        "withholding_cap_percent": None,
    },
    {
        "level": 2,
        "name": "Enhanced monitoring",
        "description": (
            "The concern persists: weekly returns, more frequent reviews, detailed "
            "incident and workforce reporting."
        ),
        "response_days": 10,
        "deadline_basis": DeadlineBasis.CALENDAR,
        "reporting_frequency": Frequency.WEEKLY,
        "plan_required": False,
        "executive_approval_required": False,
        "withholding_cap_percent": None,
    },
    {
        "level": 3,
        "name": "Formal performance notice",
        "description": (
            "No credible recovery: a written notice with required actions and a response "
            "deadline; an improvement plan is required."
        ),
        "response_days": 10,
        "deadline_basis": DeadlineBasis.CALENDAR,
        "reporting_frequency": Frequency.WEEKLY,
        "plan_required": True,
        "executive_approval_required": False,
        "withholding_cap_percent": None,
    },
    {
        "level": 4,
        "name": "Contractual remedies",
        "description": (
            "The plan fails or the risk rises: referral suspension or restriction, payment "
            "withholding or a financial remedy."
        ),
        "response_days": 10,
        "deadline_basis": DeadlineBasis.CALENDAR,
        "reporting_frequency": Frequency.WEEKLY,
        "plan_required": True,
        "executive_approval_required": True,
        "withholding_cap_percent": None,
    },
    {
        "level": 5,
        "name": "Exit planning / termination",
        "description": (
            "Recovery is not credible: a continuity and transition plan for the people served."
        ),
        "response_days": 10,
        "deadline_basis": DeadlineBasis.CALENDAR,
        "reporting_frequency": Frequency.WEEKLY,
        "plan_required": True,
        "executive_approval_required": True,
        "withholding_cap_percent": None,
    },
]

# The fields of a stage an admin may change (the levels themselves stay).
EDITABLE_FIELDS = (
    "name",
    "description",
    "response_days",
    "deadline_basis",
    "reporting_frequency",
    "plan_required",
    "executive_approval_required",
    "withholding_cap_percent",
)


def response_deadline(stage, start: dt.date, *, tenant) -> dt.date | None:
    """The day a response is due at ``stage``, counted from ``start``: its
    ``response_days`` in calendar days, or in working days (weekends and the
    tenant's public holidays skipped) where the stage says so; None where the
    stage sets no deadline. Every deadline computed from a stage comes from here."""
    if stage is None or not stage.response_days:
        return None
    if stage.deadline_basis == DeadlineBasis.WORKING:
        calendar = workdays.HolidayCalendar.of(tenant)
        return workdays.add_working_days(start, stage.response_days, calendar)
    return start + dt.timedelta(days=stage.response_days)
