"""axe-core on the returns, KPI and notification pages, as a provider, a
commissioner and an admin would see them, error states included."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from oversight.models import Role
from performance.models import ReportingPeriod, Return
from performance.tasks import send_return_reminders
from tests.browser.test_accessibility import _visit_all
from tests.dates import WORLD_DAYS, pin_days
from tests.performance.test_validation import build_returns_world
from tests.performance.test_views import post_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _url(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def _errors_shown(page):
    assert page.locator(".usa-error-message").count() > 0, "the form showed no errors"


def _submit_non_numbers(page):
    for field in page.locator("input[inputmode=decimal]").all():
        field.fill("abc")
    page.get_by_role("button", name="Submit the return").click()
    page.wait_for_load_state("load")
    _errors_shown(page)


def _query_without_comment(page):
    page.get_by_role("button", name="Query").click()
    page.wait_for_load_state("load")
    _errors_shown(page)


def _save_empty(page):
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    _errors_shown(page)


@pin_days(WORLD_DAYS)
def test_returns_and_kpi_pages_have_no_accessibility_violations(
    page, world, sign_in, assert_accessible, client_for
):
    rw = build_returns_world(world)
    slug = rw.slug
    provider = client_for(rw.provider)
    june = rw.period
    july = ReportingPeriod.objects.get(contract=rw.contract, start=date(2025, 7, 1))
    august = ReportingPeriod.objects.get(contract=rw.contract, start=date(2025, 8, 1))
    post_form(provider, rw)  # June: submitted
    post_form(provider, rw, period=july)  # July: submitted, then queried
    queried = Return.objects.get(period=july)
    client_for(rw.commissioner).post(
        _url("return_review", tenant_slug=slug, return_pk=queried.pk),
        {"decision": "query", "comment": "Check the missed-visit count"},
    )
    post_form(provider, rw, period=august, action="draft")  # August: a draft
    submitted = Return.objects.get(period=june)
    draft = Return.objects.get(period=august)
    unreported = (
        ReportingPeriod.objects.filter(contract=rw.contract, returns__isnull=True)
        .order_by("start")
        .first()
    )
    current = ReportingPeriod.objects.filter(contract=rw.contract).order_by("-start").first()
    send_return_reminders(today=(current.due_date - timedelta(days=1)).isoformat())
    ck = rw.contract.contract_kpis.first()
    contract = rw.contract.pk

    sign_in(page, rw.provider.user)
    _visit_all(
        page,
        assert_accessible,
        [
            ("provider returns home", _url("returns_home", tenant_slug=slug), None),
            ("return form", _url("period_return", tenant_slug=slug, period_pk=unreported.pk), None),
            (
                "return form with errors",
                _url("period_return", tenant_slug=slug, period_pk=unreported.pk),
                _submit_non_numbers,
            ),
            (
                "queried return form",
                _url("period_return", tenant_slug=slug, period_pk=july.pk),
                None,
            ),
            (
                "current period form",
                _url("period_return", tenant_slug=slug, period_pk=current.pk),
                None,
            ),
            ("upload", _url("period_upload", tenant_slug=slug, period_pk=unreported.pk), None),
            ("queried return", _url("return_detail", tenant_slug=slug, return_pk=queried.pk), None),
            ("draft return", _url("return_detail", tenant_slug=slug, return_pk=draft.pk), None),
            (
                "contract KPIs (provider)",
                _url("contract_kpis", tenant_slug=slug, contract_pk=contract),
                None,
            ),
            ("notifications", _url("notification_list", tenant_slug=slug), None),
        ],
    )
    page.context.clear_cookies()
    sign_in(page, rw.commissioner.user)
    _visit_all(
        page,
        assert_accessible,
        [
            ("returns overview", _url("returns_home", tenant_slug=slug), None),
            (
                "returns overview, any state",
                _url("returns_home", tenant_slug=slug) + "?state=",
                None,
            ),
            ("timeliness", _url("returns_timeliness", tenant_slug=slug), None),
            ("bulk upload", _url("returns_bulk_upload", tenant_slug=slug), None),
            (
                "contract returns",
                _url("contract_returns", tenant_slug=slug, contract_pk=contract) + "?page=2",
                None,
            ),
            (
                "values against target",
                _url("contract_values", tenant_slug=slug, contract_pk=contract) + "?page=2",
                None,
            ),
            (
                "submitted return",
                _url("return_detail", tenant_slug=slug, return_pk=submitted.pk),
                None,
            ),
            (
                "review with errors",
                _url("return_detail", tenant_slug=slug, return_pk=submitted.pk),
                _query_without_comment,
            ),
            ("KPI library", _url("kpi_list", tenant_slug=slug), None),
            ("KPI", _url("kpi_detail", tenant_slug=slug, kpi_pk=ck.kpi_id), None),
            ("contract KPIs", _url("contract_kpis", tenant_slug=slug, contract_pk=contract), None),
            (
                "add a contract KPI",
                _url("contract_kpi_create", tenant_slug=slug, contract_pk=contract),
                None,
            ),
            (
                "edit a contract KPI",
                _url("contract_kpi_edit", tenant_slug=slug, contract_kpi_pk=ck.pk),
                None,
            ),
            (
                "contract KPI with errors",
                _url("contract_kpi_create", tenant_slug=slug, contract_pk=contract),
                _save_empty,
            ),
        ],
    )
    page.context.clear_cookies()
    sign_in(page, world.a.members[Role.ADMIN].user)
    _visit_all(
        page,
        assert_accessible,
        [
            ("new KPI", _url("kpi_create", tenant_slug=slug), None),
            ("new KPI with errors", _url("kpi_create", tenant_slug=slug), _save_empty),
            ("edit KPI", _url("kpi_edit", tenant_slug=slug, kpi_pk=ck.kpi_id), None),
        ],
    )
