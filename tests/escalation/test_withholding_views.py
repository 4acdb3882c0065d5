"""The withholding ledger's pages: what each role is offered, a refusal shown
on the form with nothing written, a double-submitted form writing once,
release and retain from the detail page, the tenant-wide ledger, the contract
dashboard's panel, and the list pages' queries at two sizes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from escalation import withholdings
from escalation.models import Withholding
from oversight.models import Role

pytestmark = pytest.mark.django_db


def _url(tw, name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": tw.tenant.slug, **kwargs})


def _form(**over) -> dict:
    data = {
        "period": "2026-11",
        "amount": "250",
        "ground": "Remedial plan milestone 1: two carers recruited",
        "tied": "",
        "step": "",
        "request_key": "form-1",
        "reason": "Withheld under the remedy",
    }
    data.update(over)
    return data


def _withhold(tw, amount="100", period=dt.date(2026, 11, 1), contract=None):
    return withholdings.withholding_record(
        membership=tw.members[Role.COMMISSIONER],
        contract=contract or tw.p1.contract,
        period=period,
        amount=Decimal(amount),
        ground="Until two carers are recruited",
        reason="Remedy",
    )


def test_the_commissioner_withholds_from_the_page_once(world, capped, as_role, row_counts):
    tw = world.a
    step = capped(tw)
    client = as_role(Role.COMMISSIONER)
    page = client.get(_url(tw, "contract_withholdings", contract_pk=tw.p1.contract.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Withhold payment" in body and "at most 2% of the actual monthly value" in body
    url = _url(tw, "withholding_create", contract_pk=tw.p1.contract.pk)
    form = client.get(url).content.decode()
    assert 'type="month"' in form and 'name="request_key"' in form
    assert f'value="escalation_step:{step.pk}"' in form
    response = client.post(url, _form(step=str(step.pk)))
    assert response.status_code == 302
    w = Withholding.objects.get()
    assert response.url == w.get_absolute_url()
    assert (w.amount, w.period, w.step) == (Decimal("250.00"), dt.date(2026, 11, 1), step)
    # The same form sent again (a double click, a refresh) writes nothing more.
    before = row_counts()
    again = client.post(url, _form(step=str(step.pk)))
    assert again.status_code == 302 and again.url == w.get_absolute_url()
    assert row_counts() == before
    detail = client.get(w.get_absolute_url()).content.decode()
    assert "$250 withheld from Nov 2026" in detail
    assert "2% of the actual monthly value $20,833.33" in detail
    assert "Withheld under the remedy" in detail  # the history's reason


def test_a_refusal_is_shown_on_the_form_and_nothing_is_written(world, capped, as_role, row_counts):
    tw = world.a
    client = as_role(Role.COMMISSIONER)
    url = _url(tw, "withholding_create", contract_pk=tw.p1.contract.pk)
    before = row_counts()
    response = client.post(url, _form())
    assert response.status_code == 400
    assert "whose stage sets no withholding cap" in response.content.decode()
    capped(tw)
    before = row_counts()
    response = client.post(url, _form(amount="500", request_key="form-2"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "over the cap of $416.66" in body and 'href="#id_amount"' in body
    assert row_counts() == before


def test_release_and_retain_from_the_detail_page(world, capped, as_role):
    tw = world.a
    capped(tw)
    first, second = _withhold(tw), _withhold(tw, period=dt.date(2026, 10, 1))
    client = as_role(Role.COMMISSIONER)
    body = client.get(first.get_absolute_url()).content.decode()
    assert "Release the money" in body and "Retain the money" in body
    refused = client.post(_url(tw, "withholding_release", withholding_pk=first.pk), {})
    assert refused.status_code == 400
    assert "Say how the milestone was met" in refused.content.decode()
    done = client.post(
        _url(tw, "withholding_release", withholding_pk=first.pk),
        {"release_note": "Both carers in post"},
    )
    assert done.status_code == 302
    kept = client.post(
        _url(tw, "withholding_retain", withholding_pk=second.pk),
        {"retain_note": "No carer by the deadline"},
    )
    assert kept.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("released", "retained")
    body = client.get(first.get_absolute_url()).content.decode()
    assert "Release the money" not in body and "Both carers in post" in body
    totals = client.get(_url(tw, "contract_withholdings", contract_pk=tw.p1.contract.pk))
    text = totals.content.decode()
    assert "$200 (2 withholdings)" in text


def test_the_provider_reads_its_own_and_is_offered_nothing(world, capped, as_role):
    tw = world.a
    capped(tw)
    w = _withhold(tw)
    client = as_role(Role.PROVIDER)
    page = client.get(_url(tw, "contract_withholdings", contract_pk=tw.p1.contract.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Withhold payment</a>" not in body and "withholding ledger" not in body
    detail = client.get(w.get_absolute_url()).content.decode()
    assert "Release the money" not in detail and "$100 withheld" in detail
    assert client.get(_url(tw, "withholdings_ledger")).status_code == 403
    other = as_role("provider_p2")
    assert other.get(w.get_absolute_url()).status_code == 404


def test_the_ledger_totals_every_contract_for_the_auditor(world, capped, as_role):
    tw = world.a
    capped(tw)
    a = _withhold(tw, "100")
    _withhold(tw, "60.50", period=dt.date(2026, 10, 1))
    withholdings.withholding_release(
        membership=tw.members[Role.COMMISSIONER], withholding=a, note="Met"
    )
    response = as_role(Role.AUDITOR).get(_url(tw, "withholdings_ledger"))
    assert response.status_code == 200
    body = response.content.decode()
    assert tw.p1.contract.reference in body and tw.p2.contract.reference not in body
    assert "$160.50 (2 withholdings)" in body
    assert "$60.50" in body  # outstanding
    retained_only = as_role(Role.AUDITOR).get(
        _url(tw, "withholdings_ledger"), {"status": "released"}
    )
    assert "No withholdings with this status" not in retained_only.content.decode()


def test_the_dashboard_panel_shows_the_contracts_totals(world, capped, as_role):
    tw = world.a
    dashboard = _url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk)
    assert (
        'id="withholdings-heading"' not in as_role(Role.EXECUTIVE).get(dashboard).content.decode()
    )
    capped(tw)
    _withhold(tw, "75")
    body = as_role(Role.EXECUTIVE).get(dashboard).content.decode()
    assert 'id="withholdings-heading"' in body and "$75 still withheld" in body


def test_the_list_pages_read_in_a_fixed_number_of_queries(
    world, capped, as_role, django_assert_max_num_queries
):
    tw = world.a
    capped(tw)
    client = as_role(Role.COMMISSIONER)
    urls = [
        _url(tw, "withholdings_ledger"),
        _url(tw, "contract_withholdings", contract_pk=tw.p1.contract.pk),
        _url(tw, "contract_dashboard", contract_pk=tw.p1.contract.pk),
    ]
    _withhold(tw, "1")
    counts = []
    for url in urls:
        client.get(url)
        with django_assert_max_num_queries(80) as few:
            client.get(url)
        counts.append(len(few.captured_queries))
    for month in range(1, 11):
        _withhold(tw, "2", period=dt.date(2026, month, 1))
    for url, count in zip(urls, counts, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)
