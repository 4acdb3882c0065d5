"""Building improvement plans and KPI values for the plan tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from escalation import plans
from oversight import clock
from oversight.models import Role


def kpi_on(contract, *, code="missed-visits", direction="lower", unit="percentage", target="2"):
    """A contract KPI of ``contract`` (a library KPI made for it)."""
    from performance.models import ContractKpi, Kpi

    kpi, _ = Kpi.objects.get_or_create(
        tenant_id=contract.tenant_id,
        code=code,
        defaults={
            "name": code.replace("-", " ").capitalize(),
            "definition": "Visits missed as a share of visits planned.",
            "unit": unit,
            "direction": direction,
            "category": "quality",
        },
    )
    return ContractKpi.objects.create(
        tenant_id=contract.tenant_id, contract=contract, kpi=kpi, target=Decimal(target)
    )


def month_start(day: dt.date, back: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - back, 12)
    return dt.date(year, month + 1, 1)


def accepted_values(contract_kpi, values: list[float], *, last: dt.date | None = None) -> None:
    """Accepted monthly values of ``contract_kpi``, the last one for the month
    of ``last`` (default: the month before today's), oldest first."""
    from performance.models import ReportingPeriod, Return, ReturnValue

    contract = contract_kpi.contract
    last = last or month_start(clock.today(), 1)
    user = contract.contract_manager
    for i, value in enumerate(values):
        start = month_start(last, len(values) - 1 - i)
        end = month_start(start, -1) - dt.timedelta(days=1)
        period, _ = ReportingPeriod.objects.get_or_create(
            tenant_id=contract.tenant_id,
            contract=contract,
            frequency="monthly",
            start=start,
            defaults={
                "end": end,
                "due_date": end + dt.timedelta(days=15),
                "missing_after": end + dt.timedelta(days=45),
            },
        )
        ret = Return.objects.filter(period=period).first() or Return.objects.create(
            tenant_id=contract.tenant_id,
            contract=contract,
            period=period,
            status="accepted",
            source="web",
            created_by=user,
        )
        ReturnValue.objects.create(
            tenant_id=contract.tenant_id,
            return_obj=ret,
            contract_kpi=contract_kpi,
            value=Decimal(str(value)),
        )


def action_input(**over) -> plans.ActionInput:
    data = {
        "description": "Plan rotas four weeks ahead",
        "lead": "Dana Whitfield, registered manager",
        "milestone": "Four weeks of rotas published",
        "due_on": clock.today() + dt.timedelta(days=30),
        "evidence_expected": "The published rotas and the visit log",
        "contract_kpis": (),
    }
    data.update(over)
    return plans.ActionInput(**data)


def open_plan(tw, *, member=None, contract=None, actions=None, controls=None, **over):
    data = {
        "issue_statement": "Missed visits have risen for four months",
        "symptoms": "Missed visits at 6% against a 2% target; families calling the county",
        "root_causes": [
            "Rotas planned one week ahead, so sickness leaves gaps",
            "Two senior carers left and were not replaced",
        ],
        "settling_periods": 2,
        "actions": [action_input()] if actions is None else actions,
        "controls": (
            [
                plans.ControlInput(kind="safeguarding", description="Daily welfare calls"),
                plans.ControlInput(kind="continuity", description="Agency cover on call"),
            ]
            if controls is None
            else controls
        ),
        "reason": "Plan required at enhanced monitoring",
    }
    data.update(over)
    return plans.plan_open(
        membership=member or tw.members[Role.COMMISSIONER],
        contract=contract or tw.p1.contract,
        **data,
    )
