"""How right the early warnings are: precision, recall and lead time of the risk
bands on portfolios whose truth is known, beside a plain red-amber-green rule.

Each portfolio is generated here, with its truth recorded as it is drawn: which
contracts deteriorate (in which measures, from which period, how fast), which
stay stable, which have one noisy or one shifted series while the service does
not get worse, which deteriorated and recovered, and which providers report
late. The engine's own decision, ``performance.signal_rules.evaluate`` and
``risk_scores`` (what ``recompute_signals`` runs between its database read and
its write), is then run at each month-end of the last 18 months on the returns
that had been accepted by that day, as the nightly job would have run it.

Printed per setting and seed, for high + critical together and for critical
alone, and the same for the red-amber-green rule:

- precision: of the (contract, month-end) pairs flagged, the share whose
  contract was deteriorating on that day;
- recall: of the (contract, month-end) pairs where a sustained deterioration
  on a priority measure had been under way for at least ``SUSTAINED`` months,
  the share flagged;
- stable flagged: of the (contract, month-end) pairs of stable contracts (no
  story at all), the share flagged;
- lead time: per deteriorating contract whose deterioration began inside the
  window, the reporting periods from its start to its first flag (median; a
  contract never flagged in the window is counted under "missed").

The red-amber-green rule: a priority measure is red when its latest value is
worse than its target by more than the amber tolerance; a contract is red
(its "high + critical") when any priority measure is red, and "critical" when
one has been red two periods running.

No database: the frames are built in memory in the shape
``signal_engine.load_frames`` gives them.

    .venv/bin/python bench/signal_quality.py [--contracts 300] [--seeds 1 2]
        [--settings independent autocorrelated ...] [--months 18]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

import django  # noqa: E402

django.setup()

from performance.signal_rules import evaluate, risk_scores  # noqa: E402

END = date(2026, 11, 30)  # the last month-end evaluated (fixed: the figures never move)
WINDOW = 18  # month-ends evaluated, ending at END
SUSTAINED = 6  # months a deterioration has run before recall counts it
BEFORE = 8  # months of normal service at least before a deterioration begins
MONTHLY_DUE, WEEKLY_DUE = 15, 3
PRIORITY, STRESS = 4, 4  # the first KPIs of each contract: priority, then stress

# Share of contracts per story (the rest are stable).
STORIES = {
    "deteriorating": 0.12,
    "noisy": 0.08,
    "shifted": 0.08,
    "recovered": 0.06,
    "late": 0.08,
}


@dataclass(frozen=True)
class Setting:
    name: str
    kpis: int = 25
    months: int = 48  # history at END
    ar: float = 0.0  # AR(1) coefficient of each series' noise
    small_counts: bool = False  # most KPIs are counts with small means
    weekly: bool = False
    short: bool = False  # contracts started 14 to 24 months before END
    about: str = ""


SETTINGS = {
    s.name: s
    for s in (
        Setting("independent", about="independent month-to-month noise, 25 KPIs, 4 years"),
        Setting("autocorrelated", ar=0.6, about="AR(1) noise, phi 0.6"),
        Setting("small-counts", small_counts=True, about="most KPIs counts with means 1.5 to 6"),
        Setting("short-history", short=True, about="contracts 14 to 24 months old"),
        Setting("many-kpis", kpis=60, about="60 KPIs per contract"),
        Setting("weekly", weekly=True, months=30, ar=0.3, about="weekly returns, AR(1) 0.3"),
    )
}


@dataclass
class Truth:
    story: str
    start: pd.Timestamp | None = None  # deterioration begins (first affected period)
    end: pd.Timestamp | None = None  # recovered contracts: back to normal from here
    kpis: list[int] = field(default_factory=list)


def _month_end(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_ends(end: date = END, count: int = WINDOW) -> list[date]:
    out, d = [], end
    for _ in range(count):
        out.append(d)
        d = d.replace(day=1) - timedelta(days=1)
    return out[::-1]


def _periods(first: date, last: date, weekly: bool) -> pd.DataFrame:
    """Period starts and ends from ``first`` to the period containing ``last``."""
    if weekly:
        start = first - timedelta(days=first.weekday())
        starts = pd.date_range(start, last, freq="7D")
        ends = starts + pd.Timedelta(days=6)
    else:
        starts = pd.date_range(first.replace(day=1), last, freq="MS")
        ends = starts + pd.offsets.MonthEnd(0)
    return pd.DataFrame({"start": starts, "end": ends})


def generate(setting: Setting, contracts: int, seed: int):
    """Frames in ``load_frames``' shape, every value with the day it was accepted
    (``accepted``) and every period with the day its return came in, plus the
    truth of each contract."""
    rng = np.random.default_rng(seed)
    stories = list(STORIES) + ["stable"]
    shares = list(STORIES.values()) + [1 - sum(STORIES.values())]
    window_first = pd.Timestamp(month_ends()[0]).replace(day=1)
    per_month = 4.345 if setting.weekly else 1.0
    due = WEEKLY_DUE if setting.weekly else MONTHLY_DUE

    contract_rows, kpi_rows, value_parts, period_parts, truth = [], [], [], [], {}
    ck = 0
    for c in range(1, contracts + 1):
        story = stories[rng.choice(len(stories), p=shares)]
        months = int(rng.integers(14, 25)) if setting.short else setting.months
        first = (pd.Timestamp(END) - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()
        periods = _periods(first, END, setting.weekly)
        periods = periods[periods["end"] <= pd.Timestamp(END)].reset_index(drop=True)
        n = len(periods)
        contract_rows.append((c, 1, f"C-{c:04d}", periods["start"].iloc[0].date(),
                              date(2030, 12, 31), float(rng.uniform(2e5, 5e6))))  # fmt: skip

        # Lateness: how many days after its due date each return came in.
        lateness = np.zeros(n)
        received = np.ones(n, dtype=bool)
        if story == "late":
            late = rng.random(n) < 0.5
            lateness[late] = rng.uniform(3, 40, late.sum())
            received = rng.random(n) > 0.04
        else:
            slight = rng.random(n) < 0.03
            lateness[slight] = rng.uniform(1, 5, slight.sum())
        came_in = periods["end"] + pd.to_timedelta(due + lateness - rng.uniform(0, due, n), "D")
        came_in = came_in.where(came_in > periods["end"], periods["end"] + pd.Timedelta(days=1))
        period_parts.append(
            pd.DataFrame(
                {
                    "contract": c,
                    "period_start": periods["start"],
                    "due_date": periods["end"] + pd.Timedelta(days=due),
                    "missing_after": periods["end"] + pd.Timedelta(days=due + 30),
                    "came_in": came_in.where(received),
                    "versions": 1,
                }
            )
        )

        # The story: which series move, from when, how fast.
        t = Truth(story)
        shift = np.zeros((setting.kpis, n))  # in units of each series' spread, + = worse
        scale = np.ones((setting.kpis, n))
        in_window = np.flatnonzero(periods["start"] >= window_first)
        if story == "deteriorating":
            # Begins inside the window, early enough to be sustained by END,
            # and after at least BEFORE months of normal service (a contract
            # that is poor from its first month has no deterioration to find).
            latest = n - int(SUSTAINED * per_month)
            first = min(max(in_window[0], int(BEFORE * per_month)), latest)
            begin = int(rng.integers(first, max(first + 1, latest)))
            ramp = max(1, int(rng.choice([1, 3, 6, 9]) * per_month))
            size = rng.uniform(2.0, 3.5)
            moved = list(rng.choice(PRIORITY, size=int(rng.integers(1, 3)), replace=False))
            # Related measures agree: stress indicators strain with the service.
            moved += [PRIORITY + s for s in range(STRESS) if rng.random() < 0.6]
            for k in moved:
                k_size = size if k < PRIORITY else rng.uniform(1.0, 2.5)
                shift[k, begin:] = k_size * np.minimum(1, (np.arange(n - begin) + 1) / ramp)
            t.start, t.kpis = periods["start"].iloc[begin], sorted(int(k) for k in moved)
        elif story == "recovered":
            # Deteriorated before the window and came back in its first half.
            begin = max(2, in_window[0] - int(rng.integers(6, 13) * per_month))
            back = in_window[0] + int(rng.integers(0, 6) * per_month)
            ramp = max(1, int(3 * per_month))
            moved = [int(rng.integers(PRIORITY))] + [PRIORITY, PRIORITY + 1]
            for k in moved:
                up = np.minimum(1, (np.arange(n - begin) + 1) / ramp)
                down = np.clip((np.arange(n - begin) - (back - begin)) / ramp, 0, 1)
                shift[k, begin:] = rng.uniform(1.5, 3.0) * (up - down)
            t.start = periods["start"].iloc[begin]
            t.end = periods["start"].iloc[min(n - 1, back + ramp)]
            t.kpis = moved
        elif story in ("noisy", "shifted"):
            k = int(rng.integers(PRIORITY + STRESS, setting.kpis))
            begin = int(rng.integers(in_window[0], n - 2))
            if story == "noisy":
                scale[k, begin:] = rng.uniform(2.0, 3.0)
            else:
                shift[k, begin:] = rng.choice([-1, 1]) * rng.uniform(1.5, 3.0)
            t.start, t.kpis = periods["start"].iloc[begin], [k]
        truth[c] = t

        # The series: AR(1) noise of unit spread around each KPI's level.
        for k in range(setting.kpis):
            ck += 1
            priority, stress = k < PRIORITY, PRIORITY <= k < PRIORITY + STRESS
            direction = (
                rng.choice(["higher", "lower"])
                if priority or stress or rng.random() < 0.7
                else "none"
            )
            if stress:
                direction = "lower"  # turnover, missed visits, incidents: lower is better
            sign = -1.0 if direction == "higher" else 1.0  # worse is this way
            noise = rng.standard_normal(n)
            if setting.ar:
                for i in range(1, n):
                    noise[i] = setting.ar * noise[i - 1] + np.sqrt(1 - setting.ar**2) * noise[i]
            count = setting.small_counts and not priority and rng.random() < 0.8
            if count:
                mean = rng.uniform(1.5, 6.0)
                spread = np.sqrt(mean)
                lam = np.clip(mean + sign * shift[k] * spread, 0.2, None) * scale[k] ** 2
                value = rng.poisson(lam).astype(float)
                unit, level = "count", mean
            else:
                level, spread = rng.uniform(40, 90), rng.uniform(2, 6)
                value = level + spread * (noise * scale[k] + sign * shift[k])
                unit = "percentage" if direction != "none" else "rate_per_1000"
            if direction == "none":
                target, amber = np.nan, 0.0
            else:
                # Set so that a steady service meets it most months.
                target = level + sign * 1.0 * spread
                amber = 0.5 * spread
            kpi_rows.append((ck, c, f"k{k}", f"KPI {k}", unit, direction, stress, priority,
                             False, 1.0, target, amber))  # fmt: skip
            value_parts.append(
                pd.DataFrame(
                    {
                        "ck": ck,
                        "period_start": periods["start"],
                        "value": value,
                        "accepted": came_in.where(received),
                    }
                )
            )

    contracts_frame = pd.DataFrame(
        contract_rows,
        columns=["id", "tenant", "reference", "start_date", "end_date", "annual_value"],
    ).set_index("id")
    kpis = pd.DataFrame(
        kpi_rows,
        columns=["ck", "contract", "code", "name", "unit", "direction", "is_stress",
                 "is_priority", "is_fidelity", "weight", "target", "amber"],
    ).set_index("ck")  # fmt: skip
    values = pd.concat(value_parts, ignore_index=True)
    values = values[values["accepted"].notna()]
    periods = pd.concat(period_parts, ignore_index=True)
    return contracts_frame, kpis, values, periods, truth


def _as_at(day: date, contracts, kpis, values, periods) -> dict[str, pd.DataFrame]:
    """The frames ``load_frames`` would give on ``day``: the values accepted by
    then, the periods started by then, each with its return if it had come in."""
    ts = pd.Timestamp(day)
    seen = values[values["accepted"] <= ts]
    started = periods[periods["period_start"] <= ts]
    came = started["came_in"].where(started["came_in"] <= ts)
    frame = started.assign(first_submitted=came.dt.normalize(), received=came.notna()).drop(
        columns="came_in"
    )
    # Every variance explained: the text rules are not what this measures.
    recent = seen[seen["period_start"] >= ts - pd.Timedelta(days=100)]
    recent_text = pd.DataFrame(
        {
            "contract": recent["ck"].map(kpis["contract"]).to_numpy(),
            "ck": recent["ck"].to_numpy(),
            "period_start": recent["period_start"].to_numpy(),
            "explanation": "Explained in full in the return, with the provider's actions.",
            "narrative": "",
        }
    )
    return {
        "values": seen[["ck", "period_start", "value"]],
        "kpis": kpis,
        "phases": pd.DataFrame(columns=["ck", "from_month", "to_month", "target", "amber"]),
        "contracts": contracts,
        "periods": frame,
        "recent_text": recent_text,
    }


def _rag(frames, kpis) -> tuple[set[int], set[int]]:
    """Contracts red (a priority measure red in its latest period) and red two
    periods running."""
    values = frames["values"]
    pk = kpis[kpis["is_priority"] & (kpis["direction"] != "none")]
    v = values[values["ck"].isin(pk.index)].sort_values(["ck", "period_start"])
    last2 = v.groupby("ck").tail(2).copy()
    row = pk.loc[last2["ck"]]
    worse = np.where(row["direction"].to_numpy() == "higher", -1.0, 1.0)
    red = (last2["value"].to_numpy() - row["target"].to_numpy()) * worse > row["amber"].to_numpy()
    last2["red"] = red
    last2["rank"] = last2.groupby("ck").cumcount(ascending=False)
    latest = last2[last2["rank"] == 0]
    red_now = set(latest.loc[latest["red"], "ck"].map(kpis["contract"]).tolist())
    both = last2.groupby("ck")["red"].agg(lambda r: bool(r.all()) and len(r) == 2)
    red_two = set(pd.Series(both[both].index).map(kpis["contract"]).tolist())
    return red_now, red_two


RECOVERY_GRACE = 3  # months after a recovery ends that count neither way


def _deteriorating(t: Truth, day: pd.Timestamp) -> bool | None:
    """True while the contract deteriorates, False when it does not, None in
    the RECOVERY_GRACE months after a recovery, when no reading can yet know
    that it will last (neither a true nor a false flag)."""
    if t.story == "deteriorating":
        return t.start <= day
    if t.story == "recovered":
        if t.end <= day < t.end + pd.DateOffset(months=RECOVERY_GRACE):
            return None
        return t.start <= day < t.end
    return False


def run(setting: Setting, contracts: int, seed: int, ends: list[date]):
    contracts_frame, kpis, values, periods, truth = generate(setting, contracts, seed)
    flagged = {"engine": {"high": {}, "critical": {}}, "rag": {"high": {}, "critical": {}}}
    seconds = 0.0
    for day in ends:
        frames = _as_at(day, contracts_frame, kpis, values, periods)
        t0 = time.perf_counter()
        specs, _chart = evaluate(today=day, **frames)
        scores = risk_scores(specs, kpis, contracts_frame)
        seconds += time.perf_counter() - t0
        flagged["engine"]["high"][day] = {
            c for c, risk in scores.items() if risk.band in ("high", "critical")
        }
        flagged["engine"]["critical"][day] = {
            c for c, risk in scores.items() if risk.band == "critical"
        }
        red, red_two = _rag(frames, kpis)
        flagged["rag"]["high"][day], flagged["rag"]["critical"][day] = red, red_two
    return truth, flagged, seconds, periods


def _periods_between(periods, contract, start, day) -> int:
    starts = periods.loc[periods["contract"] == contract, "period_start"]
    return int(((starts >= start) & (starts <= day)).sum()) - 1


def figures(truth, flagged_by_day, periods, ends) -> dict:
    tp = fp = stable_flagged = stable_pairs = sustained = caught = 0
    for day in ends:
        ts = pd.Timestamp(day)
        flagged = flagged_by_day[day]
        for c, t in truth.items():
            bad = _deteriorating(t, ts)
            if c in flagged and bad is not None:
                tp += bad
                fp += not bad
            if t.story == "stable":
                stable_pairs += 1
                stable_flagged += c in flagged
            if (
                t.story == "deteriorating"
                and t.start + pd.DateOffset(months=SUSTAINED) <= ts
                and any(k < PRIORITY for k in t.kpis)
            ):
                sustained += 1
                caught += c in flagged
    leads, missed = [], 0
    first = pd.Timestamp(ends[0]).replace(day=1)
    for c, t in truth.items():
        if t.story != "deteriorating" or t.start < first:
            continue
        # The first flag that the next month-end confirms: a chance flag on the
        # day after the start is not a detection (for either rule).
        days = [
            d
            for d, after in zip(ends, ends[1:], strict=False)
            if pd.Timestamp(d) >= t.start and c in flagged_by_day[d] and c in flagged_by_day[after]
        ]
        if days:
            leads.append(_periods_between(periods, c, t.start, pd.Timestamp(days[0])))
        else:
            missed += 1
    by_story: dict[str, list[int]] = {}
    for day in ends:
        for c, t in truth.items():
            by_story.setdefault(t.story, []).append(c in flagged_by_day[day])
    return {
        "by_story": {k: float(np.mean(v)) for k, v in sorted(by_story.items())},
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": caught / sustained if sustained else float("nan"),
        "stable": stable_flagged / stable_pairs if stable_pairs else float("nan"),
        "lead": float(np.median(leads)) if leads else float("nan"),
        "missed": missed,
        "of": missed + len(leads),
    }


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--months", type=int, default=WINDOW, help="month-ends evaluated")
    args = parser.parse_args(argv)
    ends = month_ends(END, args.months)
    print(f"signal quality at commit {_commit()}: {args.contracts} contracts per portfolio, ")
    print(f"month-ends {ends[0]} to {ends[-1]}; stories {STORIES} (rest stable)")
    header = (
        f"{'setting':<15} {'seed':>4} {'rule':<7} {'band':<9} {'precision':>9} "
        f"{'recall':>6} {'stable':>6} {'lead':>5} {'missed':>7}"
    )
    print(header)
    print("-" * len(header))
    totals: dict[tuple[str, str], list[dict]] = {}
    for name in args.settings:
        setting = SETTINGS[name]
        for seed in args.seeds:
            truth, flagged, seconds, periods = run(setting, args.contracts, seed, ends)
            for rule in ("engine", "rag"):
                for band, label in (("high", "high+"), ("critical", "critical")):
                    f = figures(truth, flagged[rule][band], periods, ends)
                    totals.setdefault((rule, label), []).append(f)
                    print(
                        f"{name:<15} {seed:>4} {rule:<7} {label:<9} {f['precision']:>9.2f} "
                        f"{f['recall']:>6.2f} {f['stable']:>6.1%} {f['lead']:>5.1f} "
                        f"{f['missed']:>3}/{f['of']:<3}"
                    )
            shares = figures(truth, flagged["engine"]["high"], periods, ends)["by_story"]
            print(
                f"{'':<15} {'':>4} engine high+ by story: "
                + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
            )
            print(f"{'':<15} {'':>4} engine evaluated {len(ends)} month-ends in {seconds:.1f}s")
    print("-" * len(header))
    for (rule, label), rows in totals.items():
        worst_p = min(r["precision"] for r in rows)
        worst_r = min(r["recall"] for r in rows)
        worst_s = max(r["stable"] for r in rows)
        leads = [r["lead"] for r in rows if not np.isnan(r["lead"])]
        print(
            f"{'worst':<15} {'':>4} {rule:<7} {label:<9} {worst_p:>9.2f} {worst_r:>6.2f} "
            f"{worst_s:>6.1%} {max(leads) if leads else float('nan'):>5.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
