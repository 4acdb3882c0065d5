"""The demo's returns tell their stories, and they are real data: every value went
through validation and the services, with history, and the seed can run twice.

The demo is seeded once for each of the pinned days of ``tests/dates.py``
(``seed_demo`` with the clock pinned there, as a visitor would get it on that
day) inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO
from statistics import mean

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q

from contracts.models import Contract
from oversight import clock
from oversight.models import Role, Tenant, User
from performance import demo, services
from performance.calendar import contract_month
from performance.models import (
    ContractKpi,
    Direction,
    Kpi,
    PhaseTarget,
    ReportingPeriod,
    Return,
    ReturnStatus,
    ReturnValue,
    Unit,
)
from performance.terms import target_in_force
from performance.validation import (
    ReturnHeader,
    misses_target,
    unit_range_problem,
    validate,
)
from tests.dates import day_params

SLUGS = ("riverbend-county", "wessex-vale-icb")
STRESS_INDICATORS = {
    "staff-turnover",
    "vacancy-rate",
    "missed-visits",
    "incidents",
    "safeguarding-referrals",
    "complaints",
    "referrals-received",
    "referral-acuity-high",
    "referral-to-contact-days",
    "continuity-plan",
    "housing-placements",
    "readmissions-30d",
}


@pytest.fixture(scope="module", params=day_params("demo-stories"))
def seeded(request, django_db_setup, django_db_blocker):
    """The demo as a visitor would get it on each of the pinned days: the stories
    must hold on every seeding date by construction, not by a lucky draw."""
    today = request.param
    with clock.pinned(today), django_db_blocker.unblock(), transaction.atomic():
        seeder = User.objects.create(email="seeder@example.org", full_name="Demo Seeder")
        call_command(
            "seed_demo", "--allow-without-debug", "--actor", seeder.email, stdout=StringIO()
        )
        yield {"seeder": seeder, "today": today}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def _contracts(story: str, today: date) -> list[Contract]:
    found = [
        c
        for c in Contract.objects.filter(tenant__slug__in=SLUGS).order_by("reference")
        if demo.story_of(c, today) == story
    ]
    assert found, f"no {story} contract in the demo"
    return found


def _months_ago(period_start: date, today: date) -> int:
    return (today.year - period_start.year) * 12 + today.month - period_start.month


def _series(contract: Contract, code: str, today: date) -> dict[int, float]:
    """Accepted values of one KPI by months ago; site values pooled (Σnum ÷ Σden)."""
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    scale = None
    for v in ReturnValue.objects.filter(
        return_obj__contract=contract,
        return_obj__status=ReturnStatus.ACCEPTED,
        contract_kpi__kpi__code=code,
    ).select_related("return_obj__period", "contract_kpi__kpi"):
        a = _months_ago(v.return_obj.period.start, today)
        if v.denominator is not None:
            scale = 100 if v.contract_kpi.kpi.unit == Unit.PERCENTAGE else 1000
            sums[a][0] += float(v.numerator)
            sums[a][1] += float(v.denominator)
        else:
            sums[a][0] += float(v.value)
            sums[a][1] = 1.0
    return {a: n / d * (scale or 1) for a, (n, d) in sums.items()}


def _mature(contract: Contract, a: int, today: date) -> bool:
    year, month = divmod(today.year * 12 + today.month - 1 - a, 12)
    return contract_month(contract.start_date, date(year, month + 1, 1)) > 6


# --- the library and the contract KPIs ----------------------------------------------


def test_each_tenant_has_a_library_with_the_stress_indicators_in_its_own_words(seeded):
    for slug in SLUGS:
        kpis = {k.code: k for k in Kpi.objects.filter(tenant__slug=slug)}
        assert set(kpis) >= STRESS_INDICATORS
        for kpi in kpis.values():
            assert kpi.definition
            if kpi.unit == Unit.PERCENTAGE:
                assert kpi.numerator and kpi.denominator, kpi.code
            assert kpi.service_types.exists(), f"{kpi.code} reported by no service type"
        assert {k.category for k in kpis.values()} >= {
            "activity",
            "outcome",
            "quality",
            "timeliness",
            "workforce",
            "safeguarding",
            "finance",
        }
        assert sum(k.reporting_level == "site" for k in kpis.values()) >= 2
        assert sum(k.is_fidelity for k in kpis.values()) >= 5
        assert {c for c, k in kpis.items() if k.is_stress_indicator} >= {
            "staff-turnover",
            "vacancy-rate",
            "missed-visits",
            "incidents",
            "complaints",
            "referrals-received",
        }
    us = Kpi.objects.get(tenant__slug="riverbend-county", code="safeguarding-referrals")
    uk = Kpi.objects.get(tenant__slug="wessex-vale-icb", code="safeguarding-referrals")
    assert "Adult protective services" in us.name
    assert uk.name == "Safeguarding referrals"


def test_every_contract_reports_five_to_eight_kpis_with_targets_and_phase_targets(seeded):
    contracts = Contract.objects.filter(tenant__slug__in=SLUGS)
    assert contracts.count() >= 12
    for contract in contracts:
        cks = list(ContractKpi.objects.filter(contract=contract).select_related("kpi"))
        assert 5 <= len(cks) <= 8, contract.reference
        assert 1 <= sum(ck.is_priority for ck in cks) <= 5, contract.reference
        for ck in cks:
            if ck.kpi.direction == Direction.NONE:
                assert ck.target is None
                continue
            assert ck.target is not None and ck.baseline is not None
            assert ck.peer_benchmark is not None and ck.best_practice is not None
            assert ck.weight >= (2 if ck.is_priority else 1)
        phased = (
            PhaseTarget.objects.filter(contract_kpi__contract=contract)
            .exclude(contract_kpi_id__in=_varied_kpis())
            .select_related("contract_kpi__kpi")
        )
        assert phased.exists(), contract.reference
        for phase in phased:
            ck = phase.contract_kpi
            assert (phase.from_month, phase.to_month) == (1, 6)
            easier = (
                phase.target < ck.target
                if ck.kpi.direction == Direction.HIGHER
                else (phase.target > ck.target)
            )
            assert easier, f"{contract.reference} {ck.kpi.code}: phase target not easier"


def test_every_contract_in_delivery_has_returns_and_every_story_is_told(seeded):
    today = seeded["today"]
    for slug in SLUGS:
        stories = set()
        for contract in Contract.objects.filter(tenant__slug=slug):
            periods = ReportingPeriod.objects.filter(contract=contract, end__lt=today)
            if periods.exists():
                assert Return.objects.filter(contract=contract).exists(), contract.reference
                stories.add(demo.story_of(contract, today))
        assert stories == set(demo.STORY_NAMES), slug


# --- the stories ------------------------------------------------------------------------


def test_the_deteriorating_provider_shows_rising_strain_and_thinning_narratives(seeded):
    today = seeded["today"]
    long_enough = 0
    for contract in _contracts(demo.DETERIORATING, today):
        narratives = {
            _months_ago(r.period.start, today): r.narrative
            for r in Return.objects.filter(contract=contract, status=ReturnStatus.ACCEPTED)
        }
        recent = [len(n) for a, n in narratives.items() if a <= 12]
        earlier = [len(n) for a, n in narratives.items() if a > 12]
        assert mean(recent) < 0.6 * mean(earlier), contract.reference
        explanations = list(
            ReturnValue.objects.filter(return_obj__contract=contract)
            .exclude(variance_explanation="")
            .values_list("return_obj__period__start", "variance_explanation")
        )
        latest = [len(e) for start, e in explanations if _months_ago(start, today) <= 6]
        assert latest and mean(latest) < 25, "explanations should have become terse"

        for code, factor in (("missed-visits", 1.5), ("staff-turnover", 1.3)):
            series = _series(contract, code, today)
            if not series:
                continue
            last = [v for a, v in series.items() if a <= 12]
            before = [v for a, v in series.items() if a > 12 and _mature(contract, a, today)]
            if len(before) < 6:
                continue  # too young for a before-and-after
            long_enough += 1
            assert mean(last) > factor * mean(before), (contract.reference, code)
            # and the latest quarter is the worst
            assert mean(series[a] for a in (1, 2, 3) if a in series) > mean(last) * 0.95
    assert long_enough >= 4, "at least two deteriorating contracts long enough to show it"


def test_the_steady_providers_stay_near_target(seeded):
    today = seeded["today"]
    within = total = 0
    for contract in _contracts(demo.STEADY, today):
        cks = (
            ContractKpi.objects.filter(contract=contract, is_priority=True)
            .select_related("kpi", "contract")
            .prefetch_related("phase_targets")
        )
        for ck in cks:
            if ck.target is None:
                continue
            values = list(
                ReturnValue.objects.filter(
                    contract_kpi=ck, return_obj__status=ReturnStatus.ACCEPTED, site__isnull=True
                ).select_related("return_obj__period")
            )
            gaps = []
            for v in values:
                target, amber = target_in_force(ck, v.return_obj.period.start)
                gap = v.value - target
                gap = -gap if ck.kpi.direction == Direction.HIGHER else gap  # > 0 = worse
                gaps.append(float(gap / (amber or Decimal(1))))
                total += 1
                within += gap <= amber
            # on average no worse than the amber tolerance allows
            assert mean(gaps) <= 1.0, (contract.reference, ck.kpi.code, mean(gaps))
    assert within / total >= 0.75, f"only {within}/{total} priority values near target"


def test_the_late_provider_is_often_late_and_sometimes_missing(seeded):
    today = seeded["today"]

    def timeliness(contracts):
        on_time = sent = missing = 0
        for contract in contracts:
            periods = list(
                ReportingPeriod.objects.filter(contract=contract, end__lt=today).order_by("-start")
            )[:12]
            firsts = {
                r.period_id: r
                for r in Return.objects.filter(contract=contract, version=1).select_related(
                    "period"
                )
            }
            for period in periods:
                ret = firsts.get(period.id)
                if ret is None:
                    missing += period.missing_after < today
                    continue
                sent += 1
                on_time += ret.submitted_at.date() <= period.due_date
        return on_time / sent, missing

    late_share, late_missing = timeliness(_contracts(demo.LATE, today))
    others = [
        c
        for c in Contract.objects.filter(tenant__slug__in=SLUGS)
        if demo.story_of(c, today) != demo.LATE
    ]
    other_share, other_missing = timeliness(others)
    assert late_share <= 0.65 and other_share >= 0.85, (late_share, other_share)
    assert other_share - late_share >= 0.3
    assert late_missing >= 1 and other_missing == 0
    resubmitted = Return.objects.filter(
        contract__in=_contracts(demo.LATE, today), version__gt=1
    ).count()
    assert resubmitted >= 2


def test_the_recovered_provider_dipped_about_18_months_ago_and_came_back(seeded):
    today = seeded["today"]
    for contract in _contracts(demo.RECOVERED, today):
        for code in ("missed-visits", "act-contact-intensity"):
            series = _series(contract, code, today)
            ck = ContractKpi.objects.get(contract=contract, kpi__code=code)
            worse = 1 if ck.kpi.direction == Direction.LOWER else -1
            dip = mean(series[a] for a in range(16, 20))
            before = mean(v for a, v in series.items() if a >= 24 and _mature(contract, a, today))
            after = mean(v for a, v in series.items() if a <= 10)
            assert worse * (dip - before) > 0 and worse * (dip - after) > 0, (code, dip)
            assert not misses_target(ck.kpi.direction, Decimal(str(after)), ck.target), code
        plan_talk = [
            _months_ago(start, today)
            for start in Return.objects.filter(
                contract=contract, narrative__icontains="improvement plan"
            ).values_list("period__start", flat=True)
        ]
        assert any(12 <= a <= 22 for a in plan_talk) and max(plan_talk) <= 22


def test_the_new_site_is_judged_against_its_phase_targets(seeded):
    today = seeded["today"]
    spared = 0
    for contract in _contracts(demo.NEW, today):
        periods = ReportingPeriod.objects.filter(contract=contract, end__lt=today)
        assert all(contract_month(contract.start_date, p.start) <= 6 for p in periods)
        for v in ReturnValue.objects.filter(
            return_obj__contract=contract, return_obj__status=ReturnStatus.ACCEPTED
        ).select_related("contract_kpi__kpi", "contract_kpi__contract", "return_obj__period"):
            ck = v.contract_kpi
            phase_target, _ = target_in_force(ck, v.return_obj.period.start)
            if ck.target is None or phase_target == ck.target:
                continue
            mature_miss = misses_target(ck.kpi.direction, v.value, ck.target)
            phase_miss = misses_target(ck.kpi.direction, v.value, phase_target)
            if mature_miss and not phase_miss and not v.variance_explanation:
                spared += 1  # accepted unexplained only because the phase target applies
    assert spared >= 5


# --- the data is real -------------------------------------------------------------------


def test_every_accepted_value_passes_validation_as_it_stood_when_submitted(seeded):
    # Each contract KPI's expected range over time, from its history.
    ranges: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for ck_id, when, low, high in (
        ContractKpi.history.filter(tenant__slug__in=SLUGS)
        .order_by("history_date", "history_id")
        .values_list("id", "history_date", "expected_low", "expected_high")
    ):
        ranges[ck_id][0].append(when)
        ranges[ck_id][1].append((low, high))
    values = ReturnValue.objects.filter(
        tenant__slug__in=SLUGS, return_obj__status=ReturnStatus.ACCEPTED
    ).select_related("contract_kpi__kpi", "contract_kpi__contract", "return_obj__period")
    checked = by_range = 0
    phases = defaultdict(list)
    for phase in PhaseTarget.objects.filter(tenant__slug__in=SLUGS):
        phases[phase.contract_kpi_id].append(phase)
    for v in values:
        ck, kpi = v.contract_kpi, v.contract_kpi.kpi
        ck._prefetched_objects_cache = {"phase_targets": phases[ck.id]}
        assert unit_range_problem(kpi.unit, v.value) is None
        if kpi.has_ratio:
            scale = 100 if kpi.unit == Unit.PERCENTAGE else 1000
            assert v.denominator > 0
            assert abs(v.numerator / v.denominator * scale - v.value) <= Decimal("0.05")
        target, _ = target_in_force(ck, v.return_obj.period.start)
        if misses_target(kpi.direction, v.value, target):
            assert v.variance_explanation, f"{ck} {v.return_obj.period.label}: unexplained miss"
        times, limits = ranges[ck.id]
        i = bisect.bisect_right(times, v.return_obj.submitted_at) - 1
        assert i >= 0, f"{ck}: a value submitted before its contract KPI existed"
        low, high = limits[i]
        if (low is not None and v.value < low) or (high is not None and v.value > high):
            by_range += 1
            assert v.variance_explanation, f"{ck} {v.return_obj.period.label}: outside range"
        checked += 1
    assert checked > 2000
    assert by_range > 0, "some values should have needed an explanation for the range alone"


def _varied_kpis() -> set[int]:
    """The contract KPIs whose target a demo variation changed: the variation
    cut their phase targets at its effective date (variations/demo.py; the
    cut is tested in tests/variations), so their phases are the variation's."""
    from variations.models import ChangeField, VariationChange

    return set(
        VariationChange.objects.filter(field=ChangeField.KPI_TARGET).values_list(
            "contract_kpi_id", flat=True
        )
    )


def test_every_row_has_history_with_the_seeding_user_and_reason(seeded):
    seeder = seeded["seeder"]
    varied = _varied_kpis()
    for model in (Kpi, ContractKpi, PhaseTarget, ReportingPeriod):
        history = model.history.filter(tenant__slug__in=SLUGS, history_type="+")
        rows = model.objects.filter(tenant__slug__in=SLUGS)
        if model is PhaseTarget:
            history = history.exclude(contract_kpi_id__in=varied)
            rows = rows.exclude(contract_kpi_id__in=varied)
        assert history.count() == rows.count() > 0, model
        assert set(history.values_list("history_user", "history_change_reason")) == {
            (seeder.pk, demo.REASON)
        }, model
    for model in (Return, ReturnValue):
        created = model.history.filter(tenant__slug__in=SLUGS, history_type="+")
        assert created.count() == model.objects.filter(tenant__slug__in=SLUGS).count()
        assert all(
            reason.startswith(demo.REASON)
            for reason in created.values_list("history_change_reason", flat=True)
        )
    # a return's history says who submitted it and who reviewed it, and when
    for ret in Return.objects.filter(tenant__slug__in=SLUGS).exclude(status="submitted")[:200]:
        records = list(ret.history.order_by("history_date", "history_id"))
        assert records[0].history_user_id == ret.submitted_by_id
        assert records[0].history_date == ret.submitted_at
        assert records[-1].history_user_id == ret.reviewed_by_id
        assert records[-1].history_date == ret.reviewed_at
        assert records[-1].history_change_reason
    # history with historical times: submissions spread over three years
    first = Return.objects.filter(tenant__slug__in=SLUGS).order_by("submitted_at").first()
    assert (seeded["today"] - first.submitted_at.date()).days > 3 * 365


def test_running_the_seed_again_duplicates_nothing(seeded):
    models = (Kpi, ContractKpi, PhaseTarget, ReportingPeriod, Return, ReturnValue)

    def counts():
        return {m.__name__: m.objects.filter(tenant__slug__in=SLUGS).count() for m in models}

    before = counts()
    call_command("seed_demo", "--allow-without-debug", stdout=StringIO())
    for tenant in Tenant.objects.filter(slug__in=SLUGS):
        demo.seed_performance(
            tenant,
            list(Contract.objects.filter(tenant=tenant)),
            user=seeded["seeder"],
            today=seeded["today"],
        )
    assert counts() == before


def test_the_same_day_gives_the_same_demo(world):
    """Seeded random processes, not chance: two runs give the same values."""
    tenant = world.a.tenant
    contracts = [world.a.p1.contract, world.a.p2.contract]
    stories = {contracts[0].reference: demo.DETERIORATING, contracts[1].reference: demo.LATE}
    today = date(2026, 11, 20)

    def run():
        with transaction.atomic():
            demo.seed_performance(tenant, contracts, user=None, today=today, stories=stories)
            rows = sorted(
                ReturnValue.objects.filter(tenant=tenant).values_list(
                    "return_obj__contract__reference",
                    "return_obj__period__start",
                    "return_obj__version",
                    "contract_kpi__kpi__code",
                    "site__name",
                    "value",
                    "variance_explanation",
                    "return_obj__submitted_at",
                ),
                key=str,
            )
            transaction.set_rollback(True)
        return rows

    first = run()
    assert len(first) > 100
    assert run() == first


def test_a_contract_starting_mid_month_can_report_its_first_short_month(world):
    """Every demo contract starts mid-month: its first period is clipped to the
    start date and must still be found by its label."""
    contract = world.a.p1.contract
    Contract.objects.filter(pk=contract.pk).update(start_date=date(2025, 3, 12))
    contract.refresh_from_db()
    services.reporting_calendar_sync(contracts=[contract], today=date(2025, 5, 1), user=None)
    first = ReportingPeriod.objects.filter(contract=contract).order_by("start").first()
    assert (first.start, first.label) == (date(2025, 3, 12), "2025-03")
    header = ReturnHeader(
        contract.reference, "2025-03", narrative="Went live on the 12th.", no_activity=True
    )
    outcome = validate(
        membership=world.a.members[Role.COMMISSIONER],
        headers=[header],
        rows=[],
        today=date(2025, 5, 1),
    )
    assert outcome.ok, outcome.problems
    assert outcome.returns[0].period == first


# --- what the signals engine makes of the stories -------------------------------------


def test_the_deteriorating_provider_is_high_or_critical_with_its_reasons(seeded):
    from performance.models import RiskScore, Signal

    today = seeded["today"]
    for contract in _contracts(demo.DETERIORATING, today):
        score = RiskScore.objects.filter(contract=contract).order_by("-day").first()
        assert score is not None, contract.reference
        assert score.band in {"high", "critical"}, (contract.reference, score.score)
        assert score.reasons, contract.reference
        # The reasons name the strain the story puts in: missed visits or turnover.
        text = " ".join(score.reasons).lower()
        assert "missed or late" in text or "turnover" in text, score.reasons
        # Strong evidence behind the band (signal_rules.combine): a high signal,
        # or sustained deterioration on two important measures together.
        live = Signal.objects.filter(contract=contract, status="open")
        agreeing = live.filter(
            kind__in=["spc_concern", "stress", "target_missed"],
            severity__in=["medium", "high", "critical"],
        ).filter(
            Q(contract_kpi__is_priority=True)
            | Q(contract_kpi__kpi__is_stress_indicator=True)
            | Q(contract_kpi__kpi__is_fidelity=True)
        )
        assert (
            live.filter(severity__in=["high", "critical"]).exists()
            or agreeing.values("contract_kpi").distinct().count() >= 2
        ), contract.reference


def test_the_steady_provider_is_low(seeded):
    from performance.models import RiskScore

    today = seeded["today"]
    for contract in _contracts(demo.STEADY, today):
        score = RiskScore.objects.filter(contract=contract).order_by("-day").first()
        assert score is not None, contract.reference
        assert score.band == "low", (contract.reference, score.score, score.reasons)


def test_the_late_provider_carries_its_lateness_as_signals(seeded):
    from performance.models import Signal

    today = seeded["today"]
    for contract in _contracts(demo.LATE, today):
        kinds = set(
            Signal.objects.filter(contract=contract, status="open").values_list("kind", flat=True)
        )
        assert kinds & {"return_late", "return_missing"}, (contract.reference, kinds)
