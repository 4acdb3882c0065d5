"""supportive-measures/, concerns/ and frontline-reports/ through the API: the
services' rules refused as ``{"errors": [{"where", "field", "message"}]}`` with
nothing written; a provider reads its own contracts' measures and concerns and
no frontline reports; another provider's contract answers 404."""

import datetime as dt

import pytest
from django.urls import reverse

from escalation import support
from escalation.models import FrontlineReport, ProviderConcern, SupportiveMeasure
from oversight import clock
from oversight.models import Role

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


@pytest.fixture
def as_member(world, api_client_for):
    return lambda role, tenant="a": api_client_for(getattr(world, tenant).members[role])


def _measure_body(tw, **over) -> dict:
    data = {
        "contract": tw.p1.contract.pk,
        "kind": "workforce_stabilisation",
        "description": "Recruitment drive funded for eight weeks",
        "owner": tw.user(Role.COMMISSIONER).pk,
        "starts_on": clock.today().isoformat(),
        "review_on": (clock.today() + dt.timedelta(days=56)).isoformat(),
        "recovery_expectation": "Vacancies below 10% by the review",
    }
    data.update(over)
    return data


def _concern_body(tw, **over) -> dict:
    data = {
        "contract": tw.p1.contract.pk,
        "drifting": "Days to first contact rising",
        "drivers": "Referral surge after the hospital discharge push",
        "mitigation": "Triage rota doubled",
    }
    data.update(over)
    return data


def _errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert all(set(e) == {"where", "field", "message"} for e in errors)
    return {e["field"]: e["message"] for e in errors}


def _post(client, url, body, **headers):
    return client.post(url, body, format="json", **headers)


def test_a_measure_is_started_and_ended_through_the_api(world, as_member, row_counts):
    tw = world.a
    client = as_member(Role.COMMISSIONER)
    response = _post(
        client,
        _url(tw, "api-supportive-measure-list"),
        _measure_body(tw),
        HTTP_X_CHANGE_REASON="Workforce support beside level 2",
    )
    assert response.status_code == 201, response.content
    measure = response.json()
    assert (measure["status"], measure["kind_label"]) == ("active", "Workforce stabilisation")
    assert measure["owner_name"] == tw.user(Role.COMMISSIONER).full_name
    row = SupportiveMeasure.objects.get(pk=measure["id"])
    assert row.history.get().history_change_reason == "Workforce support beside level 2"
    end = _url(tw, "api-supportive-measure-end", supportive_measure_pk=row.pk)
    before = row_counts()
    assert "outcome note" in _errors(_post(client, end, {}))["outcome_note"]
    assert row_counts() == before
    done = _post(client, end, {"outcome_note": "Four carers recruited"})
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["outcome_note"]) == (
        "ended",
        "Four carers recruited",
    )
    record = row.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == tw.user(Role.COMMISSIONER)
    assert "Four carers recruited" in record.history_change_reason


def test_a_measures_rules_through_the_api(world, as_member, row_counts):
    tw = world.a
    client, provider = as_member(Role.COMMISSIONER), as_member(Role.PROVIDER)
    url = _url(tw, "api-supportive-measure-list")
    before = row_counts()
    early = (clock.today() - dt.timedelta(days=1)).isoformat()
    assert (
        "before the start date"
        in _errors(_post(client, url, _measure_body(tw, review_on=early)))["review_on"]
    )
    assert "owner" in _errors(
        _post(client, url, _measure_body(tw, owner=world.b.user(Role.COMMISSIONER).pk))
    )
    assert "contract" in _errors(
        _post(client, url, _measure_body(tw, contract=world.b.p1.contract.pk))
    )
    assert "did you mean" in _errors(_post(client, url, _measure_body(tw, onwer=1)))["onwer"]
    assert (
        "not a valid choice" in _errors(_post(client, url, _measure_body(tw, kind="bribe")))["kind"]
    )
    assert row_counts() == before
    assert _post(provider, url, _measure_body(tw)).status_code == 403
    assert row_counts() == before


def test_the_provider_reads_its_own_contracts_measures_only(world, as_member):
    tw = world.a
    for pw in (tw.p1, tw.p2):
        support.measure_start(
            membership=tw.members[Role.COMMISSIONER],
            contract=pw.contract,
            kind="technical_assistance",
            description=f"Data help {pw.mark}",
            owner=tw.user(Role.COMMISSIONER),
            starts_on=clock.today(),
            review_on=clock.today() + dt.timedelta(days=28),
            recovery_expectation="Returns on time",
            reason="Support",
        )
    listed = as_member(Role.PROVIDER).get(_url(tw, "api-supportive-measure-list")).json()
    assert [m["description"] for m in listed["results"]] == [f"Data help {tw.p1.mark}"]
    other = SupportiveMeasure.objects.get(contract=tw.p2.contract)
    response = as_member(Role.PROVIDER).get(
        _url(tw, "api-supportive-measure-detail", supportive_measure_pk=other.pk)
    )
    assert response.status_code == 404


def test_the_provider_raises_a_concern_and_the_commissioner_acknowledges_it(world, as_member):
    tw = world.a
    provider = as_member(Role.PROVIDER)
    response = _post(provider, _url(tw, "api-concern-list"), _concern_body(tw))
    assert response.status_code == 201, response.content
    concern = response.json()
    assert (concern["status"], concern["raised_by"]) == (
        "raised",
        tw.user(Role.PROVIDER).full_name,
    )
    assert concern["raised_at"].startswith(clock.now().date().isoformat())
    acknowledge = _url(tw, "api-concern-acknowledge", provider_concern_pk=concern["id"])
    assert _post(provider, acknowledge, {"note": "Mine"}).status_code == 403
    commissioner = as_member(Role.COMMISSIONER)
    assert "acknowledgement_note" in _errors(_post(commissioner, acknowledge, {"note": ""}))
    done = _post(commissioner, acknowledge, {"note": "Referrals paused for two weeks"})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "acknowledged"
    listed = commissioner.get(_url(tw, "api-concern-list"), {"contract": tw.p1.contract.pk})
    assert [c["id"] for c in listed.json()["results"]] == [concern["id"]]


def test_a_concern_on_another_providers_contract_is_404(world, as_member, row_counts):
    tw = world.a
    provider, commissioner = as_member(Role.PROVIDER), as_member(Role.COMMISSIONER)
    url = _url(tw, "api-concern-list")
    before = row_counts()
    for contract in (tw.p2.contract, world.b.p1.contract, 999999):
        pk = getattr(contract, "pk", contract)
        response = _post(provider, url, _concern_body(tw, contract=pk))
        assert response.status_code == 404, response.content
        assert tw.p2.contract.reference not in response.content.decode()
    assert row_counts() == before
    assert _post(commissioner, url, _concern_body(tw)).status_code == 403
    assert "drifting" in _errors(_post(provider, url, _concern_body(tw, drifting="")))
    assert row_counts() == before


def test_concerns_list_newest_first_and_only_the_providers_own(world, as_member):
    tw = world.a
    with clock.pinned(clock.now() - dt.timedelta(days=3)):
        older = support.concern_raise(
            membership=tw.members[Role.PROVIDER],
            contract=tw.p1.contract,
            drifting="Older drift",
            drivers="d",
            mitigation="m",
        )
    newer = support.concern_raise(
        membership=tw.members[Role.PROVIDER],
        contract=tw.p1.contract,
        drifting="Newer drift",
        drivers="d",
        mitigation="m",
    )
    theirs = support.concern_raise(
        membership=tw.members["provider_p2"],
        contract=tw.p2.contract,
        drifting="Their drift",
        drivers="d",
        mitigation="m",
    )
    ids = lambda role: [  # noqa: E731
        c["id"] for c in as_member(role).get(_url(tw, "api-concern-list")).json()["results"]
    ]
    assert ids(Role.PROVIDER) == [newer.pk, older.pk]
    assert ids(Role.AUDITOR) == [theirs.pk, newer.pk, older.pk]
    assert ids(Role.ADMIN) == ids(Role.AUDITOR)
    assert ProviderConcern.objects.count() == 3


def test_frontline_reports_through_the_api(world, as_member, row_counts):
    tw = world.a
    client = as_member(Role.COMMISSIONER)
    provider, executive = as_member(Role.PROVIDER), as_member(Role.EXECUTIVE)
    url = _url(tw, "api-frontline-report-list")
    body = {
        "provider": tw.p1.provider.pk,
        "contract": tw.p1.contract.pk,
        "category": "safeguarding",
        "occurred_on": clock.today().isoformat(),
        "description": "Bruising noticed, not reported by the provider",
    }
    response = _post(client, url, body, HTTP_X_CHANGE_REASON="Social worker's visit")
    assert response.status_code == 201, response.content
    report = FrontlineReport.objects.get(pk=response.json()["id"])
    assert report.history.get().history_change_reason == "Social worker's visit"
    before = row_counts()
    assert (
        tw.p1.provider.name
        in _errors(_post(client, url, {**body, "contract": tw.p2.contract.pk}))["contract"]
    )
    assert "provider" in _errors(_post(client, url, {**body, "provider": world.b.p1.provider.pk}))
    assert "category" in _errors(_post(client, url, {**body, "category": "weather"}))
    future = (clock.today() + dt.timedelta(days=5)).isoformat()
    assert (
        "after today" in _errors(_post(client, url, {**body, "occurred_on": future}))["occurred_on"]
    )
    assert _post(provider, url, body).status_code == 403
    assert _post(executive, url, body).status_code == 403
    assert row_counts() == before
    counts = client.get(_url(tw, "api-frontline-report-counts")).json()
    assert counts == [
        {
            "provider": tw.p1.provider.pk,
            "provider_name": tw.p1.provider.name,
            "category": "safeguarding",
            "month": clock.tenant_today(tw.tenant).replace(day=1).isoformat(),
            "count": 1,
        }
    ]


def test_a_provider_does_not_see_frontline_reports(world, as_member):
    tw = world.a
    report = support.frontline_report_create(
        membership=tw.members[Role.COMMISSIONER],
        provider=tw.p1.provider,
        contract=tw.p1.contract,
        category="communication",
        occurred_on=clock.today(),
        description="Family not told of the change of carer",
        reason="Caseworker",
    )
    provider = as_member(Role.PROVIDER)
    assert provider.get(_url(tw, "api-frontline-report-list")).json()["results"] == []
    detail = _url(tw, "api-frontline-report-detail", frontline_report_pk=report.pk)
    assert provider.get(detail).status_code == 404
    assert provider.get(_url(tw, "api-frontline-report-counts")).json() == []
    assert as_member(Role.AUDITOR).get(detail).status_code == 200
