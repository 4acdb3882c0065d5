"""The contract dashboard and the signal pages.

Who may read the dashboard (every role of the tenant; a provider only its own
contracts'), what it shows (a control chart per KPI with its data table, the
signals with their reasons, the risk score with its reasons and history, the
latest accepted return's narrative), acknowledging a signal with a note (the
commissioner and admin only, validated, recorded in history), and the number
of queries, which does not grow with the number of KPIs or points.

``build_dashboard`` gives a contract KPIs, accepted returns and the signals and
risk scores the engine computes from them; the browser tests use it too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from oversight.models import Role
from performance.models import (
    ContractKpi,
    Kpi,
    PhaseTarget,
    ReportingPeriod,
    Return,
    ReturnStatus,
    ReturnValue,
    RiskScore,
    Signal,
    SignalStatus,
)
from performance.services import reporting_calendar_sync
from performance.signal_engine import recompute_signals
from performance.spc import xmr
from tests.factories import contains_any

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 20)
# A steady series of missed visits (lower is better) that ends in a spike.
STEADY = [5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5]
SPIKE = 21


@dataclass
class Dashboard:
    contract: object
    contract_kpis: list[ContractKpi]
    periods: list[ReportingPeriod]
    returns: list[Return]


def build_dashboard(tw, *, contract=None, kpis: int = 2, points: int = 12, days: int = 3):
    """``kpis`` KPIs on the contract (the last a priority measure), ``points``
    accepted monthly returns; KPI 0 (missed visits, lower is better) spikes in
    the last period. The engine then runs on ``days`` consecutive days up to
    TODAY, leaving signals and a risk score history."""
    contract = contract or tw.p1.contract
    manager = tw.user(Role.COMMISSIONER)
    reporting_calendar_sync(contracts=[contract], today=TODAY)
    periods = list(
        ReportingPeriod.objects.filter(contract=contract, end__lt=TODAY).order_by("start")
    )[-points:]
    assert len(periods) == points, "the contract's calendar is too short for that many points"
    contract_kpis = []
    for i in range(kpis):
        kpi, _ = Kpi.objects.get_or_create(
            tenant=tw.tenant,
            code=f"measure-{i}",
            defaults={
                "name": "Missed visits" if i == 0 else f"Measure number {i}",
                "definition": "Share of planned visits",
                "unit": "percentage",
                "direction": "lower" if i == 0 else "higher",
                "category": "quality",
            },
        )
        contract_kpis.append(
            ContractKpi.objects.create(
                tenant=tw.tenant,
                contract=contract,
                kpi=kpi,
                is_priority=(i == kpis - 1),
                target=Decimal("8") if i == 0 else Decimal("3"),
            )
        )
    returns = []
    for n, period in enumerate(periods):
        last = n == len(periods) - 1
        ret = Return.objects.create(
            tenant=tw.tenant,
            contract=contract,
            period=period,
            status=ReturnStatus.ACCEPTED,
            source="web",
            created_by=manager,
            submitted_at=datetime.combine(period.due_date, time(9), tzinfo=UTC),
            reviewed_at=datetime.combine(period.due_date, time(12), tzinfo=UTC),
            narrative=f"Narrative for {period.label}: staffing steady."
            if not last
            else "Two carers left in the month; agency cover booked.",
        )
        returns.append(ret)
        for i, ck in enumerate(contract_kpis):
            value = STEADY[n % len(STEADY)] + i
            if i == 0 and last:
                value = SPIKE
            ReturnValue.objects.create(
                tenant=tw.tenant,
                return_obj=ret,
                contract_kpi=ck,
                value=Decimal(value),
                variance_explanation="Sickness and two leavers." if i == 0 and last else "",
            )
    for back in range(days - 1, -1, -1):
        recompute_signals(contract_ids=[contract.pk], today=TODAY - timedelta(days=back))
    return Dashboard(contract, contract_kpis, periods, returns)


def dashboard_url(tw, contract=None) -> str:
    contract = contract or tw.p1.contract
    return reverse("contract_dashboard", args=[tw.tenant.slug, contract.pk])


def _figures(html: str) -> dict[str, dict]:
    """The Plotly figures a page carries, by their JSON script tag's id."""
    found = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S)
    return {key: json.loads(body) for key, body in found}


@pytest.fixture
def dash(world):
    return build_dashboard(world.a)


# --- what the dashboard shows ------------------------------------------------------------


def test_commissioner_sees_a_control_chart_per_kpi_priority_first(world, dash, client_for):
    response = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a))
    assert response.status_code == 200
    html = response.content.decode()
    figures = _figures(html)
    ck_missed, ck_other = dash.contract_kpis
    # the priority measure (the second KPI) comes first on the page
    assert html.index(f'id="kpi-{ck_other.pk}"') < html.index(f'id="kpi-{ck_missed.pk}"')

    figure = figures[f"kpi-{ck_missed.pk}-data"]
    values = [5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, SPIKE]
    expected = xmr(values, improvement="decrease", target=8)
    by_name = {trace["name"]: trace for trace in figure["data"]}
    assert by_name["Mean"]["y"] == pytest.approx([p.mean for p in expected.points])
    assert by_name["Upper process limit"]["y"][-1] == pytest.approx(expected.points[-1].upl)
    assert by_name["Target"]["y"] == [8.0] * 12
    assert by_name["Special cause concern"]["y"] == [SPIKE]
    # the variation and assurance icons, as words on the page
    assert "Variation: Special cause concern — high" in html
    assert "Assurance: Hit and miss" in html
    # the text alternative: a caption and a data table of every point
    assert f'aria-labelledby="kpi-{ck_missed.pk}-caption"' in html
    assert "Special cause concern (outside the process limits)" in html
    assert html.count("<td>Common cause</td>") >= 11
    assert "/static/plotly/plotly-basic.min.js?v=" in html and "oversight/charts.js?v=" in html


def test_the_signals_with_their_reasons_and_an_acknowledge_form(world, dash, client_for):
    html = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a)).content
    html = html.decode()
    concern = Signal.objects.get(contract=dash.contract, kind="spc_concern")
    row = html.split(f'id="signal-{concern.pk}"')[1].split("</tr>")[0]
    # severity (one point outside the limits may be chance: low), kind, reason,
    # period, status
    assert ">Low</span>" in row
    assert "Special-cause concern" in row and concern.message in row
    assert concern.period_start.strftime("%b %Y") in row
    assert "Open" in row
    acknowledge = reverse("signal_acknowledge", args=[world.a.tenant.slug, concern.pk])
    assert f'action="{acknowledge}"' in html
    assert f'id="ack-note-{concern.pk}"' in html


def test_figures_periods_and_dates_read_as_people_write_them(world, dash, client_for):
    html = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a)).content
    html = html.decode()
    ck_missed, _ = dash.contract_kpis
    # KPI names, not codes, in the headings, the chart titles and the signals
    assert "measure-0" not in html and "measure-1" not in html
    panel = html.split(f'id="kpi-{ck_missed.pk}"')[1].split("</section>")[0]
    assert "Missed visits <span" in panel and "(lower is better)" in panel
    # the data table: a percentage to one decimal, the period as "May 2026"
    assert '<th scope="row">May 2026</th><td class="text-right">21.0%</td>' in panel
    assert '<td class="text-right">8.0%</td>' in panel  # the target
    assert not re.search(r"\d\.\d{2,}%", panel)  # never 6.25% or 97.4684%
    concern = Signal.objects.get(contract=dash.contract, kind="spc_concern")
    row = html.split(f'id="signal-{concern.pk}"')[1].split("</tr>")[0]
    assert "Special-cause concern</a> · Missed visits<br>" in row
    assert ">May 2026</time>" in row
    assert "latest 21.0% against a mean of 6.3%" in row  # (12 × 5 + 15) / 12 = 6.25
    # one date format: "20 Jun 2026", not "20 June 2026" or "2026-06-20"
    assert '<time datetime="2026-06-20">20 Jun 2026</time> from the open signals' in html


def test_the_risk_score_with_its_reasons_history_and_the_latest_narrative(world, dash, client_for):
    response = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a))
    html = response.content.decode()
    risk = RiskScore.objects.filter(contract=dash.contract).order_by("-day").first()
    assert risk.day == TODAY and risk.reasons
    assert f"<strong>{risk.score}</strong> out of 100" in html
    for reason in risk.reasons:
        assert reason in html
    history = _figures(html)["risk-chart-data"]
    assert history["data"][0]["x"] == [(TODAY - timedelta(days=d)).isoformat() for d in (2, 1, 0)]
    assert "Bands: low under 25, medium 25 to 49, high 50 to 74, critical 75 and over." in html
    assert "Two carers left in the month; agency cover booked." in html
    assert "Sickness and two leavers." in html


def test_the_score_shows_five_reasons_strongest_first_and_folds_the_rest(world, dash, client_for):
    risk = RiskScore.objects.filter(contract=dash.contract).order_by("-day").first()
    reasons = [f"Reason number {n} in order of strength." for n in range(1, 9)]
    RiskScore.objects.filter(pk=risk.pk).update(reasons=reasons)
    html = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a)).content
    html = html.decode()
    section = html.split('id="risk-heading"')[1].split("</section>")[0]
    shown, folded = section.split("<details")
    assert [r for r in reasons if r in shown] == reasons[:5]
    assert "<summary>3 more</summary>" in folded
    assert [r for r in reasons if r in folded] == reasons[5:]


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.AUDITOR, Role.PROVIDER, Role.ADMIN])
def test_every_role_of_the_tenant_reads_the_dashboard(world, dash, client_for, role):
    response = client_for(world.a.members[role]).get(dashboard_url(world.a))
    assert response.status_code == 200
    html = response.content.decode()
    assert dash.contract.reference in html
    assert Signal.objects.filter(contract=dash.contract).first().message in html
    may_acknowledge = role == Role.ADMIN
    assert ('name="note"' in html) is may_acknowledge


def test_other_tenant_and_other_provider_get_404(world, dash, client_for):
    url = dashboard_url(world.a)
    for who in (world.b.members[Role.ADMIN], world.a.members["provider_p2"]):
        response = client_for(who).get(url)
        assert response.status_code == 404
        assert not contains_any(response.content, world.a.p1.texts)
    # B's own slug with A's contract id
    response = client_for(world.b.members[Role.ADMIN]).get(
        reverse("contract_dashboard", args=[world.b.tenant.slug, dash.contract.pk])
    )
    assert response.status_code == 404


def test_a_contract_without_data_says_so(world, client_for):
    response = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This contract reports no KPIs yet." in html
    assert "No live signals." in html
    assert "No risk score yet" in html
    assert "No accepted return yet." in html
    assert "risk-chart-data" not in html


def test_phase_targets_draw_a_stepped_target_line(world, client_for):
    dash = build_dashboard(world.a, kpis=1, points=12, days=1)
    ck = dash.contract_kpis[0]
    # the first six contract months have an implementation target of 10
    PhaseTarget.objects.create(
        tenant=world.a.tenant,
        contract_kpi=ck,
        phase="Implementation",
        from_month=1,
        to_month=dash.periods[5].start.month
        + 12 * (dash.periods[5].start.year - dash.contract.start_date.year),
        target=Decimal("10"),
    )
    html = client_for(world.a.members[Role.COMMISSIONER]).get(dashboard_url(world.a)).content
    figure = _figures(html.decode())[f"kpi-{ck.pk}-data"]
    target = next(t for t in figure["data"] if t["name"] == "Target")
    assert target["y"] == [10.0] * 6 + [8.0] * 6


def test_the_contract_page_links_to_its_dashboard(world, client_for):
    contract = world.a.p1.contract
    html = client_for(world.a.members[Role.EXECUTIVE]).get(contract.get_absolute_url()).content
    assert dashboard_url(world.a).encode() in html


# --- acknowledging a signal --------------------------------------------------------------


def _concern(dash) -> Signal:
    return Signal.objects.get(contract=dash.contract, kind="spc_concern")


def _acknowledge(client, tw, signal, note, **extra):
    url = reverse("signal_acknowledge", args=[tw.tenant.slug, signal.pk])
    return client.post(url, {"note": note, **extra})


def test_commissioner_acknowledges_with_a_note_and_history_records_it(world, dash, client_for):
    commissioner = world.a.members[Role.COMMISSIONER]
    client = client_for(commissioner)
    signal = _concern(dash)
    response = _acknowledge(
        client, world.a, signal, "Called the provider; agency cover agreed.", next="dashboard"
    )
    assert response.status_code == 302
    assert response["Location"] == dashboard_url(world.a) + "#signals"

    signal.refresh_from_db()
    assert signal.status == SignalStatus.ACKNOWLEDGED
    assert signal.acknowledged_by == commissioner.user
    assert signal.acknowledgement_note == "Called the provider; agency cover agreed."
    record = signal.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == commissioner.user
    assert record.history_change_reason == "Acknowledged: Called the provider; agency cover agreed."
    assert record.status == SignalStatus.ACKNOWLEDGED

    # the dashboard now shows who acknowledged it and why, with no form for it
    html = client.get(dashboard_url(world.a)).content.decode()
    assert "Called the provider; agency cover agreed." in html
    assert f'id="ack-note-{signal.pk}"' not in html
    # and the signal's page lists the change in its history
    page = client.get(reverse("signal_detail", args=[world.a.tenant.slug, signal.pk]))
    assert page.status_code == 200
    assert "Acknowledged: Called the provider; agency cover agreed." in page.content.decode()
    assert 'name="note"' not in page.content.decode()


def test_an_empty_note_is_refused_with_a_message_and_nothing_changes(world, dash, client_for):
    client = client_for(world.a.members[Role.COMMISSIONER])
    signal = _concern(dash)
    versions = signal.history.count()
    response = _acknowledge(client, world.a, signal, "   ", next="dashboard")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Write a note: say what you have done or decided." in html
    assert 'aria-invalid="true"' in html
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    assert signal.history.count() == versions


def test_a_signal_cannot_be_acknowledged_twice(world, dash, client_for):
    client = client_for(world.a.members[Role.ADMIN])
    signal = _concern(dash)
    assert _acknowledge(client, world.a, signal, "First look").status_code == 302
    response = _acknowledge(client, world.a, signal, "Second look")
    assert response.status_code == 400
    assert "acknowledged already" in response.content.decode()
    signal.refresh_from_db()
    assert signal.acknowledgement_note == "First look"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.EXECUTIVE, Role.PROVIDER])
def test_read_only_roles_get_403_and_nothing_changes(world, dash, client_for, role):
    signal = _concern(dash)
    versions = signal.history.count()
    response = _acknowledge(client_for(world.a.members[role]), world.a, signal, "Not mine to say")
    assert response.status_code == 403
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    assert signal.history.count() == versions


def test_outsiders_get_404_on_the_signal_and_its_acknowledgement(world, dash, client_for):
    signal = _concern(dash)
    for who in (world.b.members[Role.ADMIN], world.a.members["provider_p2"]):
        client = client_for(who)
        page = client.get(reverse("signal_detail", args=[world.a.tenant.slug, signal.pk]))
        assert page.status_code == 404
        assert _acknowledge(client, world.a, signal, "Hijack").status_code == 404
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


def test_the_signal_page_shows_its_evidence_and_the_form(world, dash, client_for):
    signal = _concern(dash)
    response = client_for(world.a.members[Role.COMMISSIONER]).get(
        reverse("signal_detail", args=[world.a.tenant.slug, signal.pk])
    )
    html = response.content.decode()
    assert signal.message in html
    assert 'name="note"' in html
    # the evidence in words and figures to the unit, not codes and raw floats:
    # mean 75 / 12 = 6.25; the moving range of 16 is screened out, MR̄ 1, so
    # the limits are 6.25 ± 2.66
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', html))
    assert rows == {
        "KPI": "Missed visits",
        "Latest value": "21.0%",
        "Mean": "6.3%",
        "Lower process limit": "3.6%",
        "Upper process limit": "8.9%",
        "Target": "8.0%",
        "Latest point": "Special cause concern",
        "Rule that fired": "Outside the process limits",
        "Special-cause concerns in the last 3 periods": "1",
        "Move from its baseline (standard deviations)": "6.6",
        "Strength of the evidence (standard errors)": "8.4",
    }
    for code in ("Kpi", "special_cause_concern", "outside_limits", "measure-0"):
        assert code not in html
    assert "<dt>Period</dt><dd>May 2026</dd>" in html
    assert "Missed visits (measure-0)" not in html


def test_a_weekly_period_reads_as_the_week_it_starts(world, dash, client_for):
    week = ReportingPeriod.objects.create(
        tenant=world.a.tenant, contract=dash.contract, frequency="weekly",
        start=date(2026, 6, 8), end=date(2026, 6, 14), due_date=date(2026, 6, 17),
        missing_after=date(2026, 7, 17),
    )  # fmt: skip
    signal = _concern(dash)
    signal.period_start = week.start
    signal.save()
    client = client_for(world.a.members[Role.COMMISSIONER])
    page = client.get(reverse("signal_detail", args=[world.a.tenant.slug, signal.pk]))
    assert "<dt>Period</dt><dd>week of 8 Jun 2026</dd>" in page.content.decode()
    row = client.get(dashboard_url(world.a)).content.decode().split(f'id="signal-{signal.pk}"')[1]
    assert ">week of 8 Jun 2026</time>" in row.split("</tr>")[0]


def test_a_clipped_limit_in_the_evidence_says_what_it_works_out_at(world, dash, client_for):
    signal = _concern(dash)
    signal.evidence = {**signal.evidence, "lower_limit": -2.1857, "amber_tolerance": 1.0}
    signal.save()
    html = client_for(world.a.members[Role.COMMISSIONER]).get(
        reverse("signal_detail", args=[world.a.tenant.slug, signal.pk])
    )
    rows = dict(
        re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', html.content.decode())
    )
    assert rows["Lower process limit"] == "0.0% (works out at -2.2%)"
    assert rows["Amber tolerance"] == "1.0%"


# --- queries ---------------------------------------------------------------------------


def _count_queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200
    return response


# The same for 1 KPI × 6 points as for 8 KPIs × 17 points; 2 of them are the
# escalation panel's (escalation/views.py: dashboard_panel), 2 the notices
# awaiting response (escalation/notice_views.py), 2 the supportive measures' and
# concerns' panels (escalation/support_views.py; with no concern raised, the
# concerns panel does not count the open ones), 1 the withholdings' totals
# (escalation/withholding_views.py: dashboard_panel), 1 the improvement plan's
# (escalation/plan_views.py; 2 when the contract has an open plan: its actions),
# 1 the KPIs' limit re-bases (prefetched with their phase targets), 1 the pending
# variations' panel (variations/views.py: dashboard_panel; none pending, so no
# changes are prefetched), 2 the next review's panel (reviews/views.py: the next
# meeting, and the due dates of the actions still open).
DASHBOARD_QUERIES = 28


def test_dashboard_queries_do_not_grow_with_kpis_or_points(
    world, client_for, django_assert_max_num_queries
):
    client = client_for(world.a.members[Role.COMMISSIONER])
    small = build_dashboard(world.a, kpis=1, points=6, days=2)
    _count_queries(client, dashboard_url(world.a), django_assert_max_num_queries, DASHBOARD_QUERIES)

    large = build_dashboard(world.a, contract=world.a.p2.contract, kpis=8, points=17, days=6)
    assert len(large.contract_kpis) > len(small.contract_kpis)
    response = _count_queries(
        client,
        dashboard_url(world.a, world.a.p2.contract),
        django_assert_max_num_queries,
        DASHBOARD_QUERIES,
    )
    assert len([k for k in _figures(response.content.decode()) if k.startswith("kpi-")]) == 8
