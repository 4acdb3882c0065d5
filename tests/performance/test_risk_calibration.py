"""The calibrated risk score on constructed contracts (issue 10, "How it is
checked"): one chance special cause stays low; a sustained deterioration on a
priority measure becomes high within the benchmark's lead time; a recovered
contract returns to low once its recovery has lasted; a late but steady
provider is flagged for its data, not as a failing service; and the score's
history says when the band changed and what moved it.

The contracts are read month-end by month-end, as the nightly job reads them:
at each, only the periods that had ended by then."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from performance.signal_engine import band_move
from performance.signal_rules import DATA_KINDS, evaluate, risk_scores

START = date(2022, 1, 1)
MONTHS = 48
# The benchmark's median lead time of high + critical (bench/README.md): the
# periods from a deterioration's start to its first confirmed flag.
LEAD = 6

KPIS = [
    # ck, name, direction, priority, stress
    (1, "Visits on time", "higher", True, False),
    (2, "Care hours delivered", "higher", True, False),
    (3, "Staff turnover", "lower", False, True),
    (4, "Missed visits", "lower", False, True),
    (5, "Complaints per 1,000 hours", "lower", False, False),
    (6, "Satisfaction", "higher", False, False),
]


def _kpis() -> pd.DataFrame:
    rows = [
        {
            "ck": ck, "contract": 10, "code": f"k{ck}", "name": name, "unit": "percentage",
            "direction": direction, "is_stress": stress, "is_priority": priority,
            "is_fidelity": False, "weight": 1.0, "target": np.nan, "amber": 0.0,
        }
        for ck, name, direction, priority, stress in KPIS
    ]  # fmt: skip
    return pd.DataFrame(rows).set_index("ck")


def _contracts() -> pd.DataFrame:
    return pd.DataFrame(
        [{"id": 10, "tenant": 1, "reference": "C-10", "start_date": START,
          "end_date": date(2030, 12, 31), "annual_value": 1e6},
         {"id": 11, "tenant": 1, "reference": "C-11", "start_date": START,
          "end_date": date(2030, 12, 31), "annual_value": 2e6}]
    ).set_index("id")  # fmt: skip


STARTS = pd.date_range(START, periods=MONTHS, freq="MS")


def _series(shift: dict[int, np.ndarray] | None = None, seed: int = 7) -> pd.DataFrame:
    """Steady series (level 50, spread 2, independent noise) for every KPI, with
    ``shift`` (in spreads, worse is positive) added per contract KPI."""
    rng = np.random.default_rng(seed)
    frames = []
    for ck, _name, direction, _p, _s in KPIS:
        worse = 1.0 if direction == "lower" else -1.0
        move = (shift or {}).get(ck, np.zeros(MONTHS))
        value = 50 + 2 * (rng.standard_normal(MONTHS) + worse * move)
        frames.append(pd.DataFrame({"ck": ck, "period_start": STARTS, "value": value}))
    return pd.concat(frames, ignore_index=True)


def _ramp(start: int, size: float, months: int = 3, back: int | None = None) -> np.ndarray:
    out = size * np.clip((np.arange(MONTHS) - start + 1) / months, 0, 1)
    if back is not None:
        out -= size * np.clip((np.arange(MONTHS) - back + 1) / months, 0, 1)
    return out


def _periods(late_days: float = 0.0, missing: tuple[int, ...] = ()) -> pd.DataFrame:
    ends = STARTS + pd.offsets.MonthEnd(0)
    due = ends + pd.Timedelta(days=15)
    submitted = (due + pd.Timedelta(days=late_days)).to_series(index=range(MONTHS))
    submitted[list(missing)] = pd.NaT
    return pd.DataFrame(
        {
            "contract": 10,
            "period_start": STARTS,
            "due_date": due,
            "missing_after": due + pd.Timedelta(days=30),
            "first_submitted": submitted.to_numpy(),
            "received": submitted.notna().to_numpy(),
            "versions": 1,
        }
    )


EMPTY_TEXT = pd.DataFrame(columns=["contract", "ck", "period_start", "explanation", "narrative"])
EMPTY_PERIODS = _periods().iloc[0:0]
NO_PHASES = pd.DataFrame(columns=["ck", "from_month", "to_month", "target", "amber"])


def _rate(values: pd.DataFrame, month: int, periods=EMPTY_PERIODS):
    """The contract's risk at the end of the month after period ``month``
    (0-based) ended: the values of periods 0..month, as the nightly run reads
    them then."""
    day = (STARTS[month] + pd.offsets.MonthEnd(0) + pd.Timedelta(days=20)).date()
    seen = values[values["period_start"] <= STARTS[month]]
    specs, _ = evaluate(
        values=seen,
        kpis=_kpis(),
        phases=NO_PHASES,
        contracts=_contracts(),
        periods=periods[periods["period_start"] <= STARTS[month]],
        recent_text=EMPTY_TEXT,
        today=day,
    )
    _rate.specs = specs  # the signals behind the last rating, for the tests to read
    return risk_scores(specs, _kpis(), _contracts())[10]


def test_a_steady_contract_with_one_chance_special_cause_stays_low():
    values = _series()
    spike = (values["ck"] == 4) & (values["period_start"] == STARTS[-1])
    values.loc[spike, "value"] = 50 + 2 * 6  # far outside its limits, once
    risk = _rate(values, MONTHS - 1)
    concern = [s for s in _rate.specs if s.kind == "spc_concern" and s.ck == 4]
    assert concern and concern[0].severity == "low"  # MDC calls it…
    assert risk.band == "low", risk  # …but one point is not a failing service


def test_a_sustained_deterioration_on_a_priority_measure_becomes_high_within_the_lead_time():
    start = 36
    values = _series({1: _ramp(start, 2.5), 3: _ramp(start, 1.5), 4: _ramp(start, 1.5)})
    bands = {m: _rate(values, m).band for m in range(start - 6, MONTHS)}
    assert all(bands[m] == "low" for m in range(start - 6, start)), bands
    first = next(m for m in range(start, MONTHS) if bands[m] in ("high", "critical"))
    assert first - start <= LEAD, bands
    # And it stays flagged while the deterioration lasts.
    assert all(bands[m] in ("high", "critical") for m in range(first, MONTHS)), bands


def test_a_recovered_contract_returns_to_low_once_its_recovery_has_lasted():
    down, back = 24, 34
    values = _series({1: _ramp(down, 2.5, back=back), 4: _ramp(down, 2.0, back=back)})
    assert _rate(values, back - 2).band in ("high", "critical")
    # Three months after it is back (the ramp takes three), it reads low.
    assert _rate(values, back + 2 + 3).band == "low"
    assert _rate(values, MONTHS - 1).band == "low"


def test_a_late_reporting_steady_provider_is_flagged_for_its_data_not_its_service():
    values = _series()
    periods = _periods(late_days=20, missing=(44, 46))
    risk = _rate(values, MONTHS - 1, periods)
    kinds = {d["kind"] for d in risk.details}
    assert kinds & {"return_late", "return_missing"}, risk
    assert kinds <= set(DATA_KINDS) | {"volatility", "spc_concern"}, risk
    assert risk.band == "medium" and risk.score < 50, risk
    assert "late" in risk.reasons[0] or "never received" in risk.reasons[0]


def test_each_reason_carries_where_it_comes_from():
    start = 36
    values = _series({1: _ramp(start, 2.5), 3: _ramp(start, 1.5), 4: _ramp(start, 1.5)})
    risk = _rate(values, MONTHS - 1)
    assert len(risk.details) == len(risk.reasons)
    assert [d["points"] for d in risk.details] == sorted(
        (d["points"] for d in risk.details), reverse=True
    )
    top = next(d for d in risk.details if d["kpi"] is not None)
    assert top["kpi"] in {1, 3, 4} and top["period"] == STARTS[-1].date().isoformat()
    # Agreement across the moving measures is a reason of its own, naming them.
    strain = next(s for s in _rate.specs if s.kind == "strain")
    assert set(strain.evidence["kpis"]) <= {"k1", "k3", "k4"} and len(strain.evidence["kpis"]) >= 3
    assert strain.severity == "high"  # a priority measure among them


class _Score:
    def __init__(self, band, reasons):
        self.band, self.reasons = band, reasons


def test_a_band_change_names_the_reason_that_moved_it():
    before = _Score("medium", ["Staff turnover: rising.", "2 returns late in the last 6."])
    now = ["Visits on time: 3 of the last 3 periods are concerns.", "Staff turnover: rising."]
    assert band_move(before, "high", now) == ("medium", now[0])
    # Down: the strongest reason that has gone.
    assert band_move(_Score("high", now), "medium", ["Staff turnover: rising."]) == (
        "high",
        f"No longer: {now[0]}",
    )
    assert band_move(before, "medium", now) == ("", "")  # the same band
    assert band_move(None, "high", now) == ("", "")  # a first score


@pytest.mark.django_db
def test_the_stored_score_records_its_band_change_and_the_api_and_page_show_it(client):
    from django.urls import reverse

    from oversight.models import Role
    from performance.models import Return, ReturnStatus, ReturnValue, RiskScore
    from performance.signal_engine import recompute_signals
    from tests.factories import ContractFactory, TenantFactory, member_user

    from .test_signal_engine import STABLE

    def put(period, values):
        ret = Return.objects.create(
            tenant=tenant, contract=contract, period=period, status=ReturnStatus.ACCEPTED,
            source="web", created_by=manager,
            submitted_at=datetime.combine(period.due_date, time(9), tzinfo=UTC),
        )  # fmt: skip
        for ck, value in zip(cks, values, strict=True):
            ReturnValue.objects.create(
                tenant=tenant, return_obj=ret, contract_kpi=ck, value=Decimal(str(value))
            )

    tenant = TenantFactory()
    manager = member_user(tenant, Role.COMMISSIONER)
    contract = ContractFactory(
        tenant=tenant,
        contract_manager=manager,
        start_date=date(2024, 12, 1),
        end_date=date(2029, 12, 31),
    )
    from performance.models import ContractKpi, Kpi, ReportingPeriod
    from performance.services import reporting_calendar_sync

    cks = []
    for code, stress in (("missed_visits", False), ("staff_turnover", True)):
        kpi = Kpi.objects.create(
            tenant=tenant, code=code, name=code.replace("_", " ").capitalize(), unit="percentage",
            direction="lower", category="quality", is_stress_indicator=stress,
        )  # fmt: skip
        cks.append(
            ContractKpi.objects.create(
                tenant=tenant, contract=contract, kpi=kpi, is_priority=not stress
            )
        )
    day = date(2026, 11, 20)
    reporting_calendar_sync(contracts=[contract], today=day)
    periods = list(ReportingPeriod.objects.filter(contract=contract).order_by("start"))
    for period, value in zip(periods[:21], STABLE, strict=False):
        put(period, [value, value])
    recompute_signals(tenant_id=tenant.id, today=day - timedelta(days=1))
    before = RiskScore.objects.get(contract=contract).band
    assert before not in ("high", "critical")
    for period, value in zip(periods[21:24], [20, 21, 22], strict=False):
        put(period, [value, value])
    recompute_signals(tenant_id=tenant.id, today=day)
    score = RiskScore.objects.get(contract=contract, day=day)
    assert score.band in ("high", "critical") and score.band_from == before
    assert score.moved_by == score.reasons[0]
    assert score.history.first().history_change_reason == "Risk score computed"

    client.force_login(manager)
    api = client.get(
        reverse("api-risk-score-list", args=[tenant.slug]), {"contract": contract.pk}
    ).json()
    row = next(r for r in api["results"] if r["day"] == day.isoformat())
    assert (row["band_from"], row["moved_by"]) == (before, score.moved_by)
    assert row["details"][0]["kpi"] in {ck.pk for ck in cks}
    from oversight import clock

    with clock.pinned(day):
        html = client.get(
            reverse("contract_dashboard", args=[tenant.slug, contract.pk])
        ).content.decode()
    changes = html.split("When the band changed")[1].split("</table>")[0]
    assert f"{before.capitalize()} to " in changes and score.moved_by in changes
    reasons = html.split('id="risk-heading"')[1].split("</section>")[0]
    assert f'href="#kpi-{score.details[0]["kpi"]}"' in reasons
    assert "on the chart" in reasons


def _rate_rebased(values: pd.DataFrame, month: int, rebases: pd.DataFrame):
    day = (STARTS[month] + pd.offsets.MonthEnd(0) + pd.Timedelta(days=20)).date()
    specs, chart = evaluate(
        values=values[values["period_start"] <= STARTS[month]],
        kpis=_kpis(),
        phases=NO_PHASES,
        contracts=_contracts(),
        periods=EMPTY_PERIODS,
        recent_text=EMPTY_TEXT,
        today=day,
        rebases=rebases,
    )
    return risk_scores(specs, _kpis(), _contracts())[10], chart


def test_a_known_change_re_based_by_a_variation_is_not_read_as_a_deterioration():
    """A priority measure steps to a new level when a variation changes the model
    of delivery: read against its old limits it is a sustained concern; re-based
    from the variation's effective date, the SPC starts new limits there and the
    shift evidence reads only the values since, so the contract stays low."""
    start = 36
    values = _series({1: _ramp(start, 3.0, months=1), 2: _ramp(start, 3.0, months=1)})
    plain = [_rate(values, m).band for m in range(start + 3, MONTHS)]
    assert set(plain) & {"high", "critical"}, plain  # the step, unexplained
    rebases = pd.DataFrame(
        {"ck": [1, 2], "starts_on": [STARTS[start].date(), STARTS[start].date()]}
    )
    rebased = [_rate_rebased(values, m, rebases) for m in range(start + 3, MONTHS)]
    assert [risk.band for risk, _ in rebased] == ["low"] * len(rebased)
    _risk, chart = rebased[-1]
    groups = chart.assign(ck=values.sort_values(["ck", "period_start"])["ck"].to_numpy())
    first_new = groups[(groups["ck"] == 1) & (groups["rebase_group"] == 1)].index.min()
    assert first_new - groups[groups["ck"] == 1].index.min() == start  # new limits from there
