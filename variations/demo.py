"""The demo part ``variations.variations`` (registered in apps.py, order 107):
the variations of ``variations/demo/variations.yaml``, written through the
services with the clock held at each day of the story, and applied on their
effective day (as the hourly task would have), so the contract's history,
its terms as at a date and the re-based charts read as they would in use.
Runs after the performance demo's returns (its contract KPIs) and before
today's signals (which then read the re-based limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from oversight import clock
from oversight.demo_files import DemoFileError, choices, load
from performance import exports

from . import services
from .models import ChangeField, VariationKind

DATA_FILE = Path(__file__).with_name("demo") / "variations.yaml"


@dataclass(frozen=True)
class ChangeSpec:
    field: str = field(metadata=choices(ChangeField.values))
    value: str = ""
    detail: str = ""
    kpi: str = ""


@dataclass(frozen=True)
class VariationSpec:
    contract: str
    kind: str = field(metadata=choices(VariationKind.values))
    title: str = ""
    rationale: str = ""
    effective: int = 0
    proposed: int = 0
    proposed_by: str = ""
    changes: tuple[ChangeSpec, ...] = ()
    submitted: int | None = None
    assessment_started: int | None = None
    assessed: int | None = None
    assessed_by: str = ""
    cost_per_year: str = ""
    cost_total: str = ""
    quality_impact: str = ""
    outcomes_impact: str = ""
    risk_impact: str = ""
    protected_components: tuple[str, ...] = ()
    decided: int | None = None
    decided_by: str = ""
    decision_note: str = ""


@dataclass(frozen=True)
class VariationsFile:
    variations: tuple[VariationSpec, ...]

    def problems(self):
        for i, v in enumerate(self.variations):
            where = f"variations[{i}] {v.contract}"
            days = [v.proposed, v.submitted, v.assessment_started, v.assessed, v.decided]
            given = [d for d in days if d is not None]
            if given != sorted(given):
                yield where, "the steps' days must not go back in time"
            if v.assessed is not None and not v.assessed_by:
                yield where, "an assessed variation needs assessed_by"
            if v.decided is not None and (v.assessed is None or not v.decided_by):
                yield where, "a decided variation needs an assessment and decided_by"
            for j, change in enumerate(v.changes):
                kpi_field = change.field in ("kpi_target", "kpi_rebase")
                if kpi_field != bool(change.kpi):
                    yield f"{where} changes[{j}]", "a KPI change names a kpi; no other does"


def _member(ctx, email: str, where: str):
    membership = ctx.memberships.get(email)
    if membership is None:
        raise DemoFileError(DATA_FILE, where, f"{email} is not a member of {ctx.tenant.slug}")
    return membership


def seed_variations(ctx) -> None:
    """The tenant's variations, where the tenant has the variation's contract."""
    spec = load(DATA_FILE, VariationsFile)
    for item in spec.variations:
        contract = ctx.contracts.get(item.contract)
        if contract is not None:
            _seed(ctx, item, contract)


def _seed(ctx, spec: VariationSpec, contract) -> None:
    day = ctx.day
    where = f"variation of {spec.contract}: {spec.title}"
    kpis = {
        row["code"]: row["id"]
        for row in exports.contract_kpis_of(tenant_id=contract.tenant_id, contract_id=contract.pk)
    }
    changes = []
    for change in spec.changes:
        if change.kpi and change.kpi not in kpis:
            continue  # a KPI the contract does not report (a demo without its KPIs)
        changes.append(
            services.ChangeInput(
                field=change.field,
                value=change.value,
                detail=change.detail,
                contract_kpi=kpis.get(change.kpi),
            )
        )
    if not changes:
        return
    proposer = _member(ctx, spec.proposed_by, where)
    with clock.pinned(day(spec.proposed)):
        # Proposed for its effective day, which is in the future on the day it was proposed.
        variation = services.variation_propose(
            membership=proposer,
            contract=contract,
            kind=spec.kind,
            title=spec.title,
            rationale=spec.rationale,
            effective_on=exports.first_period_on_or_after(day(spec.effective)),
            changes=changes,
            reason="Variation proposed (demo)",
        )
    if spec.submitted is not None:
        with clock.pinned(day(spec.submitted)):
            variation = services.variation_submit(membership=proposer, variation=variation)
    if spec.assessment_started is not None:
        assessor = _member(ctx, spec.assessed_by, where)
        with clock.pinned(day(spec.assessment_started)):
            variation = services.variation_assessment_start(
                membership=assessor, variation=variation
            )
    if spec.assessed is not None:
        with clock.pinned(day(spec.assessed)):
            variation = services.variation_assess(
                membership=_member(ctx, spec.assessed_by, where),
                variation=variation,
                assessment=services.Assessment(
                    cost_per_year=Decimal(spec.cost_per_year),
                    cost_total=Decimal(spec.cost_total),
                    quality_impact=spec.quality_impact,
                    outcomes_impact=spec.outcomes_impact,
                    risk_impact=spec.risk_impact,
                    protected_components=spec.protected_components,
                ),
                reason="Impact assessed (demo)",
            )
    if spec.decided is not None:
        with clock.pinned(day(spec.decided)):
            variation = services.variation_approve(
                membership=_member(ctx, spec.decided_by, where),
                variation=variation,
                note=spec.decision_note,
            )
        if spec.effective <= 0:
            with clock.pinned(variation.effective_on):
                services.variation_apply(variation=variation)
