"""A contract KPI's terms as at a date: the target and amber tolerance in force.

One rule (``performance.terms``), applied to one contract KPI by
``target_in_force`` and to whole frames by ``signal_rules.targets_in_force``;
both are checked here against the same cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from contracts.models import Contract
from performance.models import ContractKpi, PhaseTarget
from performance.signal_rules import targets_in_force
from performance.terms import phase_covers, target_in_force

START = date(2025, 1, 15)  # contract month 1 is January 2025

# Contract KPI 1: an implementation phase (months 1-6), a bedding-in phase
# (months 7-12), then the mature target. Contract KPI 2: a phase from month 4
# with no end. Contract KPI 3: no phases at all.
MATURE = {1: ("90", "2"), 2: ("60", "1"), 3: ("75", "0")}
PHASES = [
    (1, 1, 6, "80", "5"),
    (1, 7, 12, "85", "3"),
    (2, 4, None, "50", "4"),
]

# (contract KPI, period start, the target and amber tolerance in force)
CASES = [
    (1, date(2025, 1, 15), ("80", "5")),  # month 1: the first day of the contract
    (1, date(2025, 6, 1), ("80", "5")),  # month 6: the phase's last month
    (1, date(2025, 7, 1), ("85", "3")),  # month 7: the next phase from its first month
    (1, date(2025, 12, 1), ("85", "3")),  # month 12
    (1, date(2026, 1, 1), ("90", "2")),  # month 13: no phase covers it, the mature target
    (2, date(2025, 3, 1), ("60", "1")),  # month 3: before its phase starts
    (2, date(2025, 4, 1), ("50", "4")),  # month 4: the open-ended phase
    (2, date(2029, 4, 1), ("50", "4")),  # month 52: still the open-ended phase
    (3, date(2025, 9, 1), ("75", "0")),  # no phases: the mature target
]


def _contract_kpis():
    contract = Contract(start_date=START)
    cks = {
        ck: ContractKpi(pk=ck, contract=contract, target=Decimal(t), amber_tolerance=Decimal(a))
        for ck, (t, a) in MATURE.items()
    }
    phases = {ck: [] for ck in cks}
    for ck, low, high, target, amber in PHASES:
        phases[ck].append(
            PhaseTarget(
                from_month=low,
                to_month=high,
                target=Decimal(target),
                amber_tolerance=Decimal(amber),
            )
        )
    return cks, phases


@pytest.mark.parametrize(("ck", "start", "expected"), CASES)
def test_the_target_in_force_for_a_contract_kpi(ck, start, expected):
    cks, phases = _contract_kpis()
    target, amber = target_in_force(cks[ck], start, phases[ck])
    assert (target, amber) == (Decimal(expected[0]), Decimal(expected[1]))


def test_the_signals_frame_gets_the_same_targets_as_each_contract_kpi():
    values = pd.DataFrame(
        {
            "ck": [ck for ck, _, _ in CASES],
            "period_start": pd.to_datetime([start for _, start, _ in CASES]),
            "value": 1.0,
        }
    )
    kpis = pd.DataFrame(
        {
            "ck": list(MATURE),
            "contract": 7,
            "target": [float(t) for t, _ in MATURE.values()],
            "amber": [float(a) for _, a in MATURE.values()],
        }
    ).set_index("ck")
    phases = pd.DataFrame(
        [
            {
                "ck": ck,
                "from_month": low,
                "to_month": np.nan if high is None else float(high),
                "target": float(target),
                "amber": float(amber),
            }
            for ck, low, high, target, amber in PHASES
        ]
    )
    contracts = pd.DataFrame({"start_date": [START]}, index=[7])
    targets = targets_in_force(values, kpis, phases, contracts)
    ambers = targets_in_force(values, kpis, phases, contracts, column="amber")
    assert list(zip(targets, ambers, strict=True)) == [
        (float(t), float(a)) for _, _, (t, a) in CASES
    ]


def test_a_phase_covers_its_months_on_numbers_and_on_columns_alike():
    assert phase_covers(6, 1, 6) and not phase_covers(7, 1, 6)
    assert phase_covers(40, 4, None) and not phase_covers(3, 4, None)
    assert phase_covers(40, 4, float("nan"))
    months = pd.Series([3, 4, 6, 7, 40])
    assert list(phase_covers(months, 4, pd.Series([6.0] * 5))) == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert list(phase_covers(months, 4, pd.Series([np.nan] * 5))) == [
        False,
        True,
        True,
        True,
        True,
    ]
