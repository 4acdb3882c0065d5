"""The pages of supportive measures, provider concerns and frontline reports:
what each role is offered, refusals shown on the form with nothing written, the
dashboard panels, the month table on pinned days, and the queries of the list
pages at two sizes."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import support
from escalation.models import ConcernStatus, MeasureStatus, ProviderConcern, SupportiveMeasure
from oversight import clock, formatting
from oversight.models import Role
from tests.dates import DAYS, pin_days

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _measure_form(tw, **over) -> dict:
    data = {
        "kind": "referral_flow",
        "description": "New referrals paused for two weeks",
        "owner": str(tw.user(Role.COMMISSIONER).pk),
        "starts_on": clock.today().isoformat(),
        "review_on": (clock.today() + dt.timedelta(days=14)).isoformat(),
        "recovery_expectation": "Waiting list back under 20",
        "reason": "The provider asked for breathing room",
    }
    data.update(over)
    return data


def _concern(tw, pw=None, **over):
    pw = pw or tw.p1
    data = {
        "drifting": f"Visit times slipping {pw.mark}",
        "drivers": "Two carers left",
        "mitigation": "Agency cover booked",
    }
    data.update(over)
    return support.concern_raise(membership=pw.member, contract=pw.contract, **data)


def _report(tw, *, provider=None, category="missed_visit", occurred_on=None):
    return support.frontline_report_create(
        membership=tw.members[Role.COMMISSIONER],
        provider=provider or tw.p1.provider,
        contract=None,
        category=category,
        occurred_on=occurred_on or clock.tenant_today(tw.tenant),
        description="No carer arrived",
        reason="Caseworker's report",
    )


def test_the_commissioner_offers_support_from_the_escalation_page(world, as_role, row_counts):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    contract = tw.p1.contract
    escalation = client.get(_url(tw, "contract_escalation", contract_pk=contract.pk))
    support_url = _url(tw, "contract_support", contract_pk=contract.pk)
    assert support_url in escalation.content.decode()
    assert support_url in client.get(contract.get_absolute_url()).content.decode()
    page = client.get(support_url).content.decode()
    create = _url(tw, "measure_create", contract_pk=contract.pk)
    assert create in page
    assert _url(tw, "concern_create", contract_pk=contract.pk) not in page
    assert _url(tw, "concerns_list") in page
    before = row_counts()
    refused = client.post(create, _measure_form(tw, review_on="2000-01-01"))
    assert refused.status_code == 400
    assert "Nothing was saved" in refused.content.decode()
    assert 'id="review_on-error"' in refused.content.decode()
    assert row_counts() == before
    saved = client.post(create, _measure_form(tw))
    assert saved.status_code == 302
    measure = SupportiveMeasure.objects.get()
    assert saved["Location"] == measure.get_absolute_url()
    detail = client.get(saved["Location"]).content.decode()
    assert "Temporary referral-flow adjustment" in detail
    assert "The provider asked for breathing room" in detail  # the history's reason
    end = _url(tw, "measure_end", supportive_measure_pk=measure.pk)
    refused = client.post(end, {"outcome_note": ""})
    assert refused.status_code == 400
    assert 'id="outcome_note-error"' in refused.content.decode()
    assert client.post(end, {"outcome_note": "Waiting list at 12"}).status_code == 302
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.ENDED
    assert "End the measure" not in client.get(saved["Location"]).content.decode()


def test_the_provider_reads_measures_and_raises_concerns(world, as_role):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    client.post(_url(tw, "measure_create", contract_pk=tw.p1.contract.pk), _measure_form(tw))
    measure = SupportiveMeasure.objects.get()
    provider = as_role(Role.PROVIDER)
    page = provider.get(_url(tw, "contract_support", contract_pk=tw.p1.contract.pk))
    body = page.content.decode()
    assert "New referrals paused for two weeks" in body
    assert _url(tw, "measure_create", contract_pk=tw.p1.contract.pk) not in body
    assert "End the measure" not in provider.get(measure.get_absolute_url()).content.decode()
    raise_url = _url(tw, "concern_create", contract_pk=tw.p1.contract.pk)
    assert raise_url in body
    assert _url(tw, "concerns_list") not in body
    saved = provider.post(
        raise_url,
        {
            "drifting": "Days to first contact rising",
            "drivers": "Referral surge",
            "mitigation": "Triage rota doubled",
            "reason": "Telling you before the return does",
        },
    )
    assert saved.status_code == 302
    concern = ProviderConcern.objects.get()
    assert concern.history.get().history_change_reason == "Telling you before the return does"
    # Another provider's contract: 404 for the page and for raising on it.
    assert (
        provider.get(_url(tw, "concern_create", contract_pk=tw.p2.contract.pk)).status_code == 404
    )
    assert (
        provider.get(_url(tw, "contract_support", contract_pk=tw.p2.contract.pk)).status_code == 404
    )


def test_the_commissioner_acknowledges_a_concern_from_its_page(world, as_role):
    tw = world.a
    concern = _concern(tw)
    client = as_role(Role.COMMISSIONER)
    page = client.get(concern.get_absolute_url()).content.decode()
    assert "Acknowledge the concern" in page
    url = _url(tw, "concern_acknowledge", provider_concern_pk=concern.pk)
    refused = client.post(url, {"acknowledgement_note": ""})
    assert (
        refused.status_code == 400 and 'id="acknowledgement_note-error"' in refused.content.decode()
    )
    assert client.post(url, {"acknowledgement_note": "Referrals paused"}).status_code == 302
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.ACKNOWLEDGED
    provider_page = as_role(Role.PROVIDER).get(concern.get_absolute_url()).content.decode()
    assert "Referrals paused" in provider_page and "Acknowledge the concern" not in provider_page


def test_the_dashboard_shows_measures_and_concerns_newest_first(world, as_role):
    tw = world.a
    support.measure_start(
        membership=tw.members[Role.COMMISSIONER],
        contract=tw.p1.contract,
        kind="peer_support",
        description="Peer support",
        owner=tw.user(Role.COMMISSIONER),
        starts_on=clock.today(),
        review_on=clock.today() + dt.timedelta(days=30),
        recovery_expectation="Staff turnover halved",
        reason="Support",
    )
    with clock.pinned(clock.now() - dt.timedelta(days=2)):
        _concern(tw, drifting="Older drift")
    _concern(tw, drifting="Newer drift")
    body = (
        as_role(Role.EXECUTIVE)
        .get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
        .content.decode()
    )
    assert 'id="supportive-measures-heading"' in body and "Staff turnover halved" in body
    assert 'id="provider-concerns-heading"' in body
    assert body.index("Newer drift") < body.index("Older drift")
    assert "2 waiting for acknowledgement" in body


def test_providers_get_no_frontline_pages(world, as_role):
    tw = world.a
    report = _report(tw)
    provider = as_role(Role.PROVIDER)
    assert provider.get(_url(tw, "frontline_reports")).status_code == 403
    assert provider.get(_url(tw, "frontline_report_create")).status_code == 403
    detail = _url(tw, "frontline_report_detail", frontline_report_pk=report.pk)
    assert provider.get(detail).status_code == 404
    assert provider.get(_url(tw, "concerns_list")).status_code == 403
    home = provider.get(_url(tw, "tenant_home")).content.decode()
    assert "Frontline reports" not in home
    assert (
        "Frontline reports"
        in as_role(Role.COMMISSIONER).get(_url(tw, "tenant_home")).content.decode()
    )
    auditor = as_role(Role.AUDITOR)
    assert auditor.get(detail).status_code == 200
    assert "Report a problem" not in auditor.get(_url(tw, "frontline_reports")).content.decode()


def test_the_commissioner_reports_a_problem_from_the_page(world, as_role, row_counts):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "frontline_report_create")
    data = {
        "provider": str(tw.p1.provider.pk),
        "contract": str(tw.p2.contract.pk),
        "category": "transport",
        "occurred_on": clock.today().isoformat(),
        "description": "The day-centre bus did not come",
        "reason": "Family phoned the duty desk",
    }
    before = row_counts()
    refused = client.post(url, data)
    assert refused.status_code == 400 and 'id="contract-error"' in refused.content.decode()
    assert row_counts() == before
    assert client.post(url, {**data, "contract": ""}).status_code == 302


@pin_days(DAYS)
def test_the_month_table_counts_by_provider_and_category(world, as_role, pinned_day):
    tw = world.a
    today = clock.tenant_today(tw.tenant)
    this_month = today.replace(day=1)
    previous = (this_month - dt.timedelta(days=1)).replace(day=1)
    _report(tw, occurred_on=today)
    _report(tw, occurred_on=this_month)
    _report(tw, occurred_on=previous, category="transport")
    _report(tw, provider=tw.p2.provider, category="safeguarding", occurred_on=previous)
    response = as_role(Role.COMMISSIONER).get(_url(tw, "frontline_reports"))
    context = response.context
    months = context["months"]
    assert months[-1] == formatting.period_label(start=this_month)
    assert months[-2] == formatting.period_label(start=previous)
    rows = {(r["provider"], r["category"]): r["counts"] for r in context["table"]}
    zeros = [0] * 10
    assert rows == {
        (tw.p1.provider.name, "Missed visit"): [*zeros, 0, 2],
        (tw.p1.provider.name, "Transport"): [*zeros, 1, 0],
        (tw.p2.provider.name, "Safeguarding"): [*zeros, 1, 0],
    }
    assert context["totals"][-2:] == [2, 2]
    assert context["grand_total"] == 4


def test_the_frontline_page_reads_in_a_fixed_number_of_queries(
    world, as_role, django_assert_max_num_queries
):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "frontline_reports")
    _report(tw)
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for back in range(0, 330, 15):
        day = clock.tenant_today(tw.tenant) - dt.timedelta(days=back)
        for pw in (tw.p1, tw.p2):
            _report(tw, provider=pw.provider, occurred_on=day, category="communication")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_the_concern_lists_read_in_a_fixed_number_of_queries(
    world, as_role, django_assert_max_num_queries
):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    urls = [
        _url(tw, "concerns_list"),
        _url(tw, "contract_support", contract_pk=tw.p1.contract.pk),
        _url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk),
    ]
    _concern(tw)
    counts = []
    for url in urls:
        client.get(url)
        with django_assert_max_num_queries(60) as few:
            client.get(url)
        counts.append(len(few.captured_queries))
    for _ in range(12):
        _concern(tw)
        _concern(tw, tw.p2)
    for url, count in zip(urls, counts, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)


def test_offer_support_beside_a_signal_starts_from_that_signal(world, as_role, signal_on):
    tw = world.a
    own, other = signal_on(tw.p1.contract), signal_on(tw.p2.contract)
    create = _url(tw, "measure_create", contract_pk=tw.p1.contract.pk)
    lever = f"{create}?signal={own.pk}"
    client = as_role(Role.COMMISSIONER)
    dashboard = client.get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
    assert f'href="{lever}"' in dashboard.content.decode()
    form = client.get(lever).content.decode()
    assert f"Until this signal clears: {own.message}" in form
    # Another contract's signal is not this contract's: the form starts empty.
    form = client.get(f"{create}?signal={other.pk}").content.decode()
    assert "Until this signal clears" not in form
    provider = as_role(Role.PROVIDER)
    dashboard = provider.get(_url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk))
    assert "Offer support" not in dashboard.content.decode()
