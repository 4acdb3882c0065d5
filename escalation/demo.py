"""Escalation's demo part: each demo tenant's ladder in use.

The data is ``escalation/demo/ladder.yaml`` (read and checked by
``oversight/demo_files.py``): for some contracts, the steps a commissioner
took on the ladder, each with its reason, proportionality note, evidence and
next review, and the notices or requests for explanation that went with it,
answered by the provider. Every step is made through the escalation services
(``services.escalation_step_propose``, ``notices.notice_issue`` and
``notice_respond``, ``escalation_step_acknowledge``) with the clock pinned at
the day it was taken (offsets in days from the seeding day), so the history,
the notifications and the reporting switch (weekly at enhanced monitoring) are
the product's own. Registered at order 105: after performance's returns (100),
whose signals the steps cite as evidence, and before today's signals (110),
which then see the notices' deadlines.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps

from oversight import clock
from oversight.demo_files import DemoFileError, choices, load
from oversight.models import Role

from . import notices, services
from .models import EvidenceKind, NoticeKind

DATA_DIR = Path(__file__).with_name("demo")
LADDER_FILE = DATA_DIR / "ladder.yaml"
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
DESCRIBED = [k for k in EvidenceKind.values if k not in (EvidenceKind.SIGNAL, EvidenceKind.RETURN)]


@dataclass(frozen=True)
class EvidenceSpec:
    kind: str = field(metadata=choices(DESCRIBED))
    text: str


@dataclass(frozen=True)
class NoticeSpec:
    """A notice that goes with a step, the day after it (a request for
    explanation at any level, a formal notice at level 3 and above), and the
    provider's response ``respond_after`` days after it was issued."""

    kind: str = field(metadata=choices(NoticeKind.values))
    concerns: str
    required_actions: str
    response: str
    respond_after: int


@dataclass(frozen=True)
class StepSpec:
    to_level: int
    day: int  # days from the seeding day (negative: in the past)
    reason: str
    proportionality_note: str
    review_after: int = 28  # the next review, days after the step
    justification: str = ""
    recovery_evidence: str = ""
    signals: int = 0  # attach the contract's strongest signals live on that day
    evidence: tuple[EvidenceSpec, ...] = ()
    notice: NoticeSpec | None = None
    acknowledged_after: int | None = None  # the provider acknowledges, days after


@dataclass(frozen=True)
class ContractSpec:
    reference: str
    by: str  # the commissioner (email) who proposes the steps
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class LadderFile:
    tenants: dict[str, tuple[ContractSpec, ...]]

    def problems(self):
        for slug, contracts in self.tenants.items():
            for i, contract in enumerate(contracts):
                days = [step.day for step in contract.steps]
                where = f"tenants.{slug}[{i}] ({contract.reference})"
                if days != sorted(days) or len(set(days)) != len(days):
                    yield where, "the steps are not in time order, one a day at most"
                if any(day >= 0 for day in days):
                    yield where, "a step is dated today or later: steps are in the past"


@functools.cache
def ladder_data() -> LadderFile:
    return load(LADDER_FILE, LadderFile)


def _member(ctx, *, email: str = "", role: str, provider_id: int | None = None):
    for key, membership in ctx.memberships.items():
        if membership.role != role:
            continue
        if email and key != email:
            continue
        if provider_id is not None and membership.provider_id != provider_id:
            continue
        return membership
    return None


def _signals_then(contract, moment, count: int) -> list[services.EvidenceItem]:
    """The contract's strongest signals live at ``moment`` (the nightly runs of
    performance's part opened and closed them), as evidence."""
    if not count:
        return []
    model = apps.get_model("performance", "Signal")
    rows = model._default_manager.filter(
        tenant_id=contract.tenant_id, contract_id=contract.pk, opened_at__lte=moment
    ).values_list("pk", "severity", "closed_at", "opened_at")
    live = [r for r in rows if r[2] is None or r[2] > moment]
    live.sort(key=lambda r: (SEVERITY_RANK.get(r[1], 9), -r[3].timestamp(), r[0]))
    return [services.EvidenceItem(kind=EvidenceKind.SIGNAL, object_id=r[0]) for r in live[:count]]


def _moment(ctx, day: int, hour: int = 15) -> dt.datetime:
    """``day`` (an offset) at ``hour`` UTC: office hours in both demo tenants."""
    return dt.datetime.combine(ctx.today + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def seed_ladder(ctx) -> None:
    """Demo part: the steps of ladder.yaml for this tenant, in time order."""
    specs = ladder_data().tenants.get(ctx.spec.slug, ())
    for spec in specs:
        contract = ctx.contracts.get(spec.reference)
        if contract is None:
            raise DemoFileError(
                LADDER_FILE,
                f"tenants.{ctx.spec.slug}: {spec.reference}",
                "names a contract no demo part has built",
            )
        commissioner = _member(ctx, email=spec.by, role=Role.COMMISSIONER)
        provider = _member(ctx, role=Role.PROVIDER, provider_id=contract.provider_id)
        if commissioner is None or provider is None:
            raise DemoFileError(
                LADDER_FILE,
                f"tenants.{ctx.spec.slug}: {spec.reference}",
                f"needs the commissioner {spec.by} and a member of the contract's provider",
            )
        for step_spec in spec.steps:
            _take_step(ctx, contract, step_spec, commissioner, provider)


def _take_step(ctx, contract, spec: StepSpec, commissioner, provider) -> None:
    moment = _moment(ctx, spec.day)
    evidence = _signals_then(contract, moment, spec.signals) + [
        services.EvidenceItem(kind=e.kind, text=e.text) for e in spec.evidence
    ]
    with clock.pinned(moment):
        step = services.escalation_step_propose(
            membership=commissioner,
            contract=contract,
            to_level=spec.to_level,
            reason=spec.reason,
            proportionality_note=spec.proportionality_note,
            justification=spec.justification,
            recovery_evidence=spec.recovery_evidence,
            next_review_on=clock.tenant_today(contract.tenant)
            + dt.timedelta(days=spec.review_after),
            evidence=evidence,
        )
    if spec.acknowledged_after is not None:
        with clock.pinned(moment + dt.timedelta(days=spec.acknowledged_after)):
            services.escalation_step_acknowledge(membership=provider, step=step)
    if spec.notice is not None:
        when = moment + dt.timedelta(days=1)
        _notice(contract, step, spec, when, commissioner, provider, evidence)


def _notice(contract, step, spec: StepSpec, moment, commissioner, provider, evidence) -> None:
    """The notice that goes with ``step``: a formal one belongs to it; a
    request for explanation carries the step's strongest signal."""
    wanted = spec.notice
    signal = next((e.object_id for e in evidence if e.kind == EvidenceKind.SIGNAL), None)
    formal = wanted.kind == NoticeKind.FORMAL
    with clock.pinned(moment):
        notice = notices.notice_issue(
            membership=commissioner,
            contract=contract,
            kind=wanted.kind,
            signal_id=signal,
            concerns=wanted.concerns,
            required_actions=wanted.required_actions,
            step=step if formal else None,
        )
    with clock.pinned(moment + dt.timedelta(days=wanted.respond_after)):
        notices.notice_respond(membership=provider, notice=notice, response=wanted.response)
