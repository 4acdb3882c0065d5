"""A contract KPI's terms as at a date: the target and amber tolerance in force.

The one definition. A phase target covers the contract months ``from_month``
to ``to_month`` (no ``to_month``: to the end of the contract), counted from 1
for the month the contract starts; the first phase (in ``from_month`` order)
that covers a period's month gives the target and tolerance, and without one
the contract KPI's mature target and tolerance are in force.

``target_in_force`` applies it to one contract KPI (the validator, the pages,
the importer, the demo); ``signal_rules`` applies the same ``phase_covers`` and
``calendar.months_since_start`` to whole frames. A change to the terms (a
formal variation, say) is made here. Pure: nothing here queries the database
beyond reading a contract KPI's phase targets when they are not passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from .calendar import contract_month


def phase_covers(month, from_month, to_month):
    """Whether a phase from ``from_month`` to ``to_month`` (None or NaN: no end)
    covers contract month ``month``: on plain numbers, or on NumPy/pandas
    columns for a whole frame at once."""
    if isinstance(to_month, pd.Series | np.ndarray):
        upper = np.where(pd.isna(to_month), np.inf, to_month)
    else:
        upper = np.inf if to_month is None or pd.isna(to_month) else to_month
    return (from_month <= month) & (month <= upper)


def phase_in_force(phases: Iterable, month: int):
    """The first of ``phases`` (each with ``from_month`` and ``to_month``) that
    covers contract month ``month``, or None."""
    return next((p for p in phases if phase_covers(month, p.from_month, p.to_month)), None)


def target_in_force(
    contract_kpi, on: date, phases: Iterable | None = None
) -> tuple[Decimal | None, Decimal]:
    """The target and amber tolerance of ``contract_kpi`` in force for a period
    starting ``on``. ``phases``: its phase targets when already loaded in bulk."""
    month = contract_month(contract_kpi.contract.start_date, on)
    if phases is None:
        phases = contract_kpi.phase_targets.all()
    phase = phase_in_force(phases, month)
    if phase is not None:
        return phase.target, phase.amber_tolerance
    return contract_kpi.target, contract_kpi.amber_tolerance
