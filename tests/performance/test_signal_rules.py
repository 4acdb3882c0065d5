"""The signal rules on constructed data: each rule fires when its condition
holds, stays quiet when it does not, and says why in words."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from performance import charts, signal_rules
from performance.signal_rules import evaluate, risk_band, risk_scores

TODAY = date(2026, 11, 20)


def _kpis(**overrides):
    row = {
        "ck": 1,
        "contract": 10,
        "code": "missed_visits",
        "name": "Missed visits",
        "unit": "percentage",
        "direction": "lower",
        "is_stress": False,
        "is_priority": False,
        "is_fidelity": False,
        "weight": 1.0,
        "target": np.nan,
        "amber": 0.0,
    }
    row.update(overrides)
    return pd.DataFrame([row]).set_index("ck")


def _contracts(end=date(2028, 1, 1), value=100000.0):
    return pd.DataFrame(
        [
            {
                "id": 10,
                "tenant": 1,
                "reference": "C-10",
                "start_date": date(2023, 1, 1),
                "end_date": end,
                "annual_value": value,
            }
        ]
    ).set_index("id")


def _values(series, ck=1):
    starts = pd.date_range("2023-01-01", periods=len(series), freq="MS")
    return pd.DataFrame({"ck": ck, "period_start": starts, "value": np.asarray(series, float)})


EMPTY_PHASES = pd.DataFrame(columns=["ck", "from_month", "to_month", "target"])
EMPTY_PERIODS = pd.DataFrame(
    columns=[
        "contract",
        "period_start",
        "due_date",
        "missing_after",
        "first_submitted",
        "received",
        "versions",
    ]  # fmt: skip
)
EMPTY_TEXT = pd.DataFrame(columns=["contract", "ck", "period_start", "explanation", "narrative"])


def run(values, kpis=None, contracts=None, periods=EMPTY_PERIODS, text=EMPTY_TEXT, phases=None):
    specs, _ = evaluate(
        values=values,
        kpis=kpis if kpis is not None else _kpis(),
        phases=phases if phases is not None else EMPTY_PHASES,
        contracts=contracts if contracts is not None else _contracts(),
        periods=periods,
        recent_text=text,
        today=TODAY,
    )
    return specs


def kinds(specs):
    return sorted(s.kind for s in specs)


# A stable series alternating around 5 (mean 5, moving range 1): nothing special.
STABLE = [5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6]


def test_stable_series_raises_nothing():
    assert run(_values(STABLE)) == []


def test_run_above_mean_on_lower_is_better_kpi_is_a_concern_with_its_length():
    series = STABLE[:17] + [6, 6.5, 6, 6.5, 6, 6.5, 6]  # 7 points above the mean of ~5.4
    specs = run(_values(series))
    concern = [s for s in specs if s.kind == "spc_concern"]
    assert len(concern) == 1
    # An ordinary measure (one of many) whose run moved it little: low.
    assert concern[0].severity == "low"
    assert concern[0].evidence["concerns_recent"] == 3
    assert "7 periods above the mean (concern)" in concern[0].message
    assert concern[0].evidence["rule"] == "run"


def test_the_same_run_on_higher_is_better_kpi_is_not_a_concern():
    series = STABLE[:17] + [6, 6.5, 6, 6.5, 6, 6.5, 6]
    specs = run(_values(series), kpis=_kpis(direction="higher"))
    assert "spc_concern" not in kinds(specs)


def test_one_point_far_outside_the_limits_is_a_low_concern_even_on_a_priority_measure():
    # One chance special cause: MDC calls it, but one point is not a trend.
    series = STABLE[:23] + [20]
    specs = run(_values(series), kpis=_kpis(is_priority=True))
    concern = next(s for s in specs if s.kind == "spc_concern")
    assert concern.severity == "low"
    assert concern.evidence["concerns_recent"] == 1
    assert "outside its process limits" in concern.message


@pytest.mark.parametrize(
    "flags, severity",
    [({"is_priority": True}, "high"), ({"is_stress": True}, "high"), ({}, "medium")],
)
def test_a_sustained_large_move_is_high_on_a_priority_or_stress_measure(flags, severity):
    # The last three periods all concerns, far above the baseline.
    series = STABLE[:21] + [9, 9.5, 10]
    specs = run(_values(series), kpis=_kpis(**flags))
    concern = next(s for s in specs if s.kind == "spc_concern")
    assert concern.severity == severity
    assert concern.evidence["concerns_recent"] == 3
    assert concern.evidence["shift_sd"] > signal_rules.SHIFT_STRONG
    assert "3 of the last 3 periods are concerns" in concern.message


def test_concern_strength_reads_persistence_then_size():
    strength = signal_rules.concern_strength
    sure, surer = signal_rules.Z_SUSTAINED, signal_rules.Z_STRONG
    large = signal_rules.SHIFT_STRONG
    assert strength(1, 9.0, 9.0) == 0  # one point, however far
    assert strength(2, sure - 0.1, 2.0) == 0  # could be the series wandering
    assert strength(2, sure, 1.0) == 1
    assert strength(3, surer, large - 0.1) == 1  # sure but small
    assert strength(3, surer, large) == 2
    assert strength(3, float("nan"), 2.0) == 0  # no baseline to judge against


def test_a_wandering_series_is_judged_against_its_autocorrelation():
    # The same last three values after a baseline that wanders in long swings
    # (strongly autocorrelated) and after one that alternates: the move is
    # surer against the alternating one.
    rng = np.random.default_rng(3)
    wander = [5.0]
    for _ in range(20):
        wander.append(5 + 0.9 * (wander[-1] - 5) + rng.normal(0, 0.5))
    alternating = [5 + (0.8 if i % 2 else -0.8) for i in range(21)]
    # The same mean and standard deviation: only the autocorrelation differs.
    w = np.asarray(wander)
    wander = list(5 + (w - w.mean()) / w.std(ddof=1) * np.std(alternating, ddof=1))
    tail = [12.0, 12.0, 12.0]
    frames = []
    for ck, series in ((1, wander + tail), (2, alternating + tail)):
        frames.append(_values(series, ck=ck))
    kpis = pd.concat([_kpis(ck=1), _kpis(ck=2)])
    values = pd.concat(frames, ignore_index=True)
    specs = run(values, kpis=kpis)
    z = {s.ck: s.evidence.get("z") for s in specs if s.kind == "spc_concern"}
    assert z[2] > z[1]


def test_target_missed_counts_consecutive_misses_only():
    # lower is better, target 5.5: the last four exceed it, one before them did not.
    series = STABLE[:19] + [5, 6, 6, 6, 6]
    specs = run(_values(series), kpis=_kpis(target=5.5))
    missed = next(s for s in specs if s.kind == "target_missed")
    assert missed.evidence["periods"] == 4
    assert "missed for 4 periods in a row" in missed.message
    # An ordinary measure, one of many: a step lower than a priority or stress one.
    assert missed.severity == "low"
    priority = run(_values(series), kpis=_kpis(target=5.5, is_priority=True))
    assert next(s for s in priority if s.kind == "target_missed").severity == "medium"


def test_misses_within_the_amber_tolerance_are_not_counted():
    # Target 5.5 with an amber tolerance of 0.6: 6 is amber (within 6.1), 6.5 is red.
    amber_only = STABLE[:19] + [5, 6, 6, 6, 6]
    assert "target_missed" not in kinds(run(_values(amber_only), kpis=_kpis(target=5.5, amber=0.6)))
    red = STABLE[:19] + [5, 6.5, 6.5, 6.5, 6.5]
    missed = next(
        s for s in run(_values(red), kpis=_kpis(target=5.5, amber=0.6)) if s.kind == "target_missed"
    )
    assert "missed beyond its tolerance of 0.6% for 4 periods in a row" in missed.message


def test_target_missed_needs_three_periods():
    series = STABLE[:22] + [6, 6]
    assert "target_missed" not in kinds(run(_values(series), kpis=_kpis(target=5.5)))


def test_phase_target_is_used_in_its_months():
    # Contract starts 2023-01: a lenient implementation target for months 1-36
    # covers every point, so the strict mature target is never applied.
    series = [6] * 24
    phases = pd.DataFrame([{"ck": 1, "from_month": 1, "to_month": 36.0, "target": 7.0}])
    assert "target_missed" not in kinds(run(_values(series), kpis=_kpis(target=5.0), phases=phases))
    assert "target_missed" in kinds(run(_values(series), kpis=_kpis(target=5.0)))


def test_volatility_when_recent_swings_widen():
    series = STABLE[:18] + [2, 9, 1, 10, 2, 9]
    specs = run(_values(series))
    vol = next(s for s in specs if s.kind == "volatility")
    assert vol.evidence["recent_moving_range"] > 1.75 * vol.evidence["earlier_moving_range"]


def test_recovery_after_concern():
    # Higher is better: a concern (a low point) six periods ago, then a high one now.
    series = STABLE[:17] + [0, 5, 4, 5, 6, 5, 12]
    specs = run(_values(series), kpis=_kpis(direction="higher"))
    assert "recovery" in kinds(specs)
    assert next(s for s in specs if s.kind == "recovery").severity == "info"


def test_stress_indicator_moving_against_contract():
    series = STABLE[:21] + [7, 7.5, 8]  # turnover (lower is better) rising
    specs = run(_values(series), kpis=_kpis(is_stress=True, name="Staff turnover"))
    stress = next(s for s in specs if s.kind == "stress")
    assert "Staff turnover is moving against the contract" in stress.message
    assert stress.evidence["recent_mean"] == pytest.approx(7.5)


def test_silence_when_deterioration_is_neither_explained_nor_mentioned():
    series = STABLE[:21] + [9, 9.5, 10]  # sustained: three concerns in a row
    text = pd.DataFrame(
        [
            {
                "contract": 10,
                "ck": 1,
                "period_start": pd.Timestamp("2024-12-01"),
                "explanation": "",
                "narrative": "All fine this month.",
            }
        ]
    )
    specs = run(_values(series), text=text)
    assert "silence" in kinds(specs)
    mentioned = text.assign(narrative="Missed visits rose because two carers left.")
    assert "silence" not in kinds(run(_values(series), text=mentioned))


def test_an_early_warning_between_the_first_period_read_and_the_opening_is_no_silence():
    series = STABLE[:21] + [9, 9.5, 10]
    text = pd.DataFrame(
        [
            {
                "contract": 10,
                "ck": 1,
                "period_start": pd.Timestamp("2024-12-01"),
                "explanation": "",
                "narrative": "All fine this month.",
            }
        ]
    )

    def with_warning(raised, contract=10, opened=None):
        specs, _ = evaluate(
            values=_values(series),
            kpis=_kpis(),
            phases=EMPTY_PHASES,
            contracts=_contracts(),
            periods=EMPTY_PERIODS,
            recent_text=text,
            today=TODAY,
            early_warnings=pd.DataFrame(
                [{"contract": contract, "raised_at": pd.Timestamp(raised, tz="UTC"), "id": 7}]
            ),
            first_opened=pd.DataFrame(
                [{"contract": 10, "key": "spc_concern:1", "opened_at": opened}] if opened else [],
                columns=["contract", "key", "opened_at"],
            ),
        )
        return specs

    credited = with_warning("2024-12-05 09:00")
    assert "silence" not in kinds(credited)
    concern = next(s for s in credited if s.kind == "spc_concern")
    assert concern.message.endswith(
        "The provider raised a concern on 5 Dec 2024, before it was flagged."
    )
    assert concern.evidence["provider_concern"]["id"] == 7
    # Before the first period read, on another contract, or after the signal opened: silence.
    assert "silence" in kinds(with_warning("2024-11-30 23:00"))
    assert "silence" in kinds(with_warning("2024-12-05 09:00", contract=11))
    opened = pd.Timestamp("2024-12-04 12:00", tz="UTC")
    assert "silence" in kinds(with_warning("2024-12-05 09:00", opened=opened))
    assert "silence" not in kinds(with_warning("2024-12-03 09:00", opened=opened))


def _periods(rows):
    frame = pd.DataFrame(
        rows, columns=["period_start", "due_date", "first_submitted", "received", "versions"]
    )
    frame["contract"] = 10
    frame["missing_after"] = pd.to_datetime(frame["due_date"]) + pd.Timedelta(days=30)
    for column in ("period_start", "due_date", "first_submitted"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_late_missing_and_resubmitted_returns():
    periods = _periods(
        [
            ("2026-04-01", "2026-05-15", "2026-05-10", True, 1),
            ("2026-05-01", "2026-06-15", "2026-06-20", True, 2),  # late, resubmitted
            ("2026-06-01", "2026-07-15", "2026-07-30", True, 2),  # late, resubmitted
            ("2026-07-01", "2026-08-15", None, False, 0),  # missing
            ("2026-08-01", "2026-09-15", "2026-09-14", True, 1),
            ("2026-09-01", "2026-10-15", "2026-10-20", True, 1),  # late
        ]
    )
    specs = run(_values([]).iloc[0:0], periods=periods)
    by_kind = {s.kind: s for s in specs}
    assert by_kind["return_late"].message.startswith("4 returns late")  # 3 late + 1 never sent
    assert by_kind["return_missing"].message == "1 return never received: Jul 2026."
    assert by_kind["return_resubmitted"].severity == "low"


def test_expiry_within_180_and_90_days():
    assert [s.key for s in run(_values(STABLE), contracts=_contracts(end=date(2027, 4, 1)))] == [
        "expiry:180"
    ]
    near = run(_values(STABLE), contracts=_contracts(end=date(2027, 1, 10)))
    assert [(s.key, s.severity) for s in near] == [("expiry:90", "medium")]


def test_risk_score_counts_a_measure_once_with_its_strongest_signal():
    series = STABLE[:21] + [9, 9.5, 10]
    kpis = _kpis(target=5.5, is_priority=True)
    specs = run(_values(series), kpis=kpis)
    assert {"spc_concern", "target_missed"} <= set(kinds(specs))
    score, band, reasons, _details = risk_scores(specs, kpis, _contracts())[10]
    # One measure is one piece of evidence: the high concern, not its sum with
    # the missed target (20 × 1.25 = 25 points, a chance of 25 / 55).
    assert reasons == [next(s.message for s in specs if s.kind == "spc_concern")]
    # The only contract of its tenant is its largest (value factor 1.15).
    assert score == round(100 * 25 / 55 * 1.15) == 52
    assert band == "high"


def test_many_weak_signals_do_not_make_a_contract_high():
    # 25 measures, each with a low concern: chance looks like this every month.
    kpis = pd.concat([_kpis(ck=ck) for ck in range(1, 26)])
    specs = [
        signal_rules.SignalSpec(10, "spc_concern", f"spc_concern:{ck}", "medium", f"m{ck}", ck)
        for ck in range(1, 26)
    ]
    score, band, _, _ = risk_scores(specs, kpis, _contracts())[10]
    assert band == "medium" and score < 50


def test_two_important_measures_deteriorating_together_make_it_high():
    kpis = pd.concat([_kpis(ck=1, is_priority=True), _kpis(ck=2, is_stress=True), _kpis(ck=3)])
    medium = [
        signal_rules.SignalSpec(10, "spc_concern", f"spc_concern:{ck}", "medium", f"m{ck}", ck)
        for ck in (1, 2)
    ]
    _, band, _, _ = risk_scores(medium, kpis, _contracts())[10]
    assert band == "medium"  # agreement alone counts as one strong piece of evidence…
    high = medium + [signal_rules.SignalSpec(10, "spc_concern", "spc_concern:3", "high", "h3", 3)]
    _, band, _, _ = risk_scores(high, kpis, _contracts())[10]
    assert band == "high"  # …and with a high signal elsewhere the contract is high


def test_late_and_missing_returns_alone_make_a_contract_medium_at_most():
    specs = [
        signal_rules.SignalSpec(10, "return_missing", "return_missing", "critical", "4 missing"),
        signal_rules.SignalSpec(10, "return_late", "return_late", "medium", "3 late"),
    ]
    score, band, reasons, _details = risk_scores(specs, _kpis(), _contracts(value=9e9))[10]
    assert band == "medium" and score < 50
    assert reasons == ["4 missing", "3 late"]


def test_a_risk_score_is_in_the_band_whose_floor_it_reaches_on_the_chart_too():
    """One table of bands: the score's band and the risk chart's label agree."""
    scores = [0, 24, 25, 49, 50, 74, 75, 100]
    assert [risk_band(s) for s in scores] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical",
    ]  # fmt: skip
    assert [charts.risk_band(s) for s in scores] == [
        "Low", "Low", "Medium", "Medium", "High", "High", "Critical", "Critical",
    ]  # fmt: skip


def test_risk_score_of_a_quiet_contract_is_zero_and_low():
    scores = risk_scores([], _kpis(), _contracts())
    assert scores[10] == (0, "low", [], [])


def test_a_count_s_figures_read_whole_in_the_sentence():
    # mean of the 24 points: (5 × 20 + 5 + 4 + 5 + 20) / 24 = 134 / 24 = 5.58
    # (a mean keeps one decimal; the latest value, a count, none)
    specs = run(_values(STABLE[:23] + [20]), kpis=_kpis(unit="count"))
    concern = next(s for s in specs if s.kind == "spc_concern")
    assert concern.message == (
        "Missed visits: outside its process limits (concern); latest 20 against a mean of 5.6."
    )


def test_a_percentage_s_figures_read_to_one_decimal_in_the_sentence():
    specs = run(_values(STABLE[:23] + [20]))
    concern = next(s for s in specs if s.kind == "spc_concern")
    assert concern.message.endswith("latest 20.0% against a mean of 5.6%.")


def test_the_expiry_date_reads_in_the_one_date_format():
    (expiry,) = run(_values(STABLE), contracts=_contracts(end=date(2027, 1, 5)))
    assert expiry.message == (
        "Contract ends in 46 days (5 Jan 2027): decide on renewal, extension or re-procurement."
    )


def test_the_bands_are_told_in_words_from_the_one_table():
    assert signal_rules.bands_in_words() == (
        "low under 25, medium 25 to 49, high 50 to 74, critical 75 and over"
    )
