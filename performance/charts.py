"""Pure figures for the performance pages: no ORM, no request.

``rag`` says whether a value met its target, fell within the amber tolerance
or missed; ``timeliness`` turns each provider's recent due periods into the
share of returns sent on time. Both take plain values so they are tested
without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

TIMELINESS_PERIODS = 12  # a provider's timeliness is judged on its last 12 due periods

MET, AMBER, MISSED, NO_TARGET, MONITORED = "met", "amber", "missed", "no_target", "monitored"

RAG_LABELS = {
    MET: "Met",
    AMBER: "Amber",
    MISSED: "Missed",
    NO_TARGET: "No target",
    MONITORED: "Monitored",
}
# USWDS utility classes: light backgrounds keep dark text at AA contrast; the
# label text carries the meaning, colour only repeats it.
RAG_CLASSES = {
    MET: "bg-success-lighter",
    AMBER: "bg-warning-lighter",
    MISSED: "bg-error-lighter",
    NO_TARGET: "",
    MONITORED: "",
}


def rag(direction: str, value: Decimal, target: Decimal | None, amber: Decimal | None) -> str:
    """Met, amber or missed against the target in force.

    Higher is better: at or above target is met; short of it by no more than
    the amber tolerance is amber; further short is missed. Lower is better
    mirrors that. A KPI with no direction is monitored, not judged."""
    if direction not in ("higher", "lower"):
        return MONITORED
    if target is None:
        return NO_TARGET
    amber = amber or Decimal(0)
    shortfall = (target - value) if direction == "higher" else (value - target)
    if shortfall <= 0:
        return MET
    if shortfall <= amber:
        return AMBER
    return MISSED


@dataclass(frozen=True)
class DuePeriod:
    """One period that has fallen due, as the timeliness figure needs it."""

    provider_id: int
    provider_name: str
    due_date: date
    first_submitted_on: date | None  # the day the first version was submitted


@dataclass(frozen=True)
class Timeliness:
    provider_id: int
    provider_name: str
    periods: int
    on_time: int
    late: int
    not_received: int

    @property
    def share_on_time(self) -> float | None:
        return self.on_time / self.periods if self.periods else None

    @property
    def percent_on_time(self) -> str:
        share = self.share_on_time
        return "—" if share is None else f"{share * 100:.0f}%"


def timeliness(periods: list[DuePeriod], *, last: int = TIMELINESS_PERIODS) -> list[Timeliness]:
    """Per provider, over its ``last`` most recent due periods: how many
    returns were first submitted on or before the due date, how many after,
    and how many never arrived. Providers sorted by name."""
    by_provider: dict[int, list[DuePeriod]] = {}
    for period in periods:
        by_provider.setdefault(period.provider_id, []).append(period)
    results = []
    for provider_id, rows in by_provider.items():
        recent = sorted(rows, key=lambda p: p.due_date, reverse=True)[:last]
        on_time = sum(
            1 for p in recent if p.first_submitted_on and p.first_submitted_on <= p.due_date
        )
        not_received = sum(1 for p in recent if p.first_submitted_on is None)
        results.append(
            Timeliness(
                provider_id=provider_id,
                provider_name=recent[0].provider_name,
                periods=len(recent),
                on_time=on_time,
                late=len(recent) - on_time - not_received,
                not_received=not_received,
            )
        )
    return sorted(results, key=lambda t: t.provider_name.lower())
