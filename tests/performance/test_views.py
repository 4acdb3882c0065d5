"""The returns pages: the provider's home, form, upload and correction; the
commissioner's overview, review, contract returns, values against target and
timeliness; the KPI library and a contract's KPIs.

The returns world (KPIs, contract KPIs, two sites on P1's contract, the
calendar) comes from ``test_validation.build_returns_world``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import Contract, ContractStatus
from oversight import clock
from oversight.clock import tenant_today
from oversight.models import Role
from performance.models import (
    ContractKpi,
    Kpi,
    PhaseTarget,
    ReportingPeriod,
    Return,
    ReturnSource,
    ReturnStatus,
    ReturnValue,
)
from performance.services import reporting_calendar_sync
from tests.dates import DAYS, WORLD_DAYS, pin_days
from tests.factories import ContractFactory, MembershipFactory, ProviderFactory, contains_any
from tests.performance.test_validation import (
    PERIOD,
    build_returns_world,
    counts,
    csv_bytes,
    sheet_rows,
    valid_values,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rw(world):
    return build_returns_world(world)


def url(rw, name, **kwargs):
    return reverse(name, kwargs={"tenant_slug": rw.slug, **kwargs})


def line_names(rw, contract: Contract | None = None) -> dict[str, str]:
    """Form field prefix of each line, keyed the way validation names it."""
    contract = contract or rw.contract
    names = {}
    for ck in ContractKpi.objects.filter(contract=contract).select_related("kpi"):
        if ck.kpi.reporting_level == "site":
            for site in contract.sites.all():
                names[f"{ck.kpi.code} at {site.name}"] = f"k{ck.pk}s{site.pk}"
        else:
            names[ck.kpi.code] = f"k{ck.pk}"
    return names


def form_data(rw, *, action="submit", **overrides) -> dict:
    """A complete, valid web-form POST for P1's June 2025 return; overrides
    are ``{"<kpi code>[ at <site>]": {"value": ...}}`` or top-level fields."""
    names = line_names(rw)
    data = {"action": action, "narrative": "A steady month."}
    for where, prefix in names.items():
        code = where.split(" at ")[0]
        if code == "visits_on_time":
            data |= {f"{prefix}-numerator": "95", f"{prefix}-denominator": "100"}
        elif code == "missed_visits":
            data[f"{prefix}-value"] = "2"
        elif code == "staff_turnover":
            data[f"{prefix}-value"] = "5"
        else:
            data[f"{prefix}-value"] = "4"
    for key, value in overrides.items():
        if isinstance(value, dict):
            for name, text in value.items():
                data[f"{names[key]}-{name}"] = text
        else:
            data[key] = value
    return data


def page_of(period, per_page=12) -> int:
    """The page (newest periods first, 12 a page) a contract's pages show a period on."""
    newer = ReportingPeriod.objects.filter(contract=period.contract, start__gt=period.start)
    return newer.count() // per_page + 1


def post_form(client, rw, period=None, **overrides):
    period = period or rw.period
    return client.post(url(rw, "period_return", period_pk=period.pk), form_data(rw, **overrides))


def field_errors(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {name: list(errors) for name, errors in form.errors.items()}


# --- the provider's pages ---------------------------------------------------------


def test_provider_home_lists_the_returns_to_send_with_their_state(rw, client_for):
    page = client_for(rw.provider).get(url(rw, "returns_home"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Returns to send" in body
    assert rw.contract.reference in body
    # June 2025 fell due long ago and was never sent: missing, with a link to fill it in.
    assert url(rw, "period_return", period_pk=rw.period.pk) in body
    assert "Missing" in body
    # Only P1's contracts: P2's are not listed.
    assert not contains_any(body, rw.world.a.p2.texts)


def test_the_form_asks_for_each_kpi_per_site_with_numerator_and_denominator(rw, client_for):
    page = client_for(rw.provider).get(url(rw, "period_return", period_pk=rw.period.pk))
    assert page.status_code == 200
    form = page.context["form"]
    names = set(form.fields)
    prefixes = line_names(rw)
    assert len(prefixes) == 5  # two contract-level KPIs, one ratio, one KPI at 2 sites
    ratio = prefixes["visits_on_time"]
    assert {f"{ratio}-numerator", f"{ratio}-denominator", f"{ratio}-value"} <= names
    for where, prefix in prefixes.items():
        assert f"{prefix}-variance_explanation" in names
        if not where.startswith("visits_on_time"):
            assert f"{prefix}-numerator" not in names
    body = page.content.decode()
    assert "Numerator: Visits on time" in body
    assert "Target: at least 90" in body
    assert 'name="no_activity"' in body and 'name="narrative"' in body


def test_the_form_shows_targets_and_expected_ranges_as_the_unit_allows(rw, client_for):
    missed = ContractKpi.objects.get(contract=rw.contract, kpi__code="missed_visits")
    missed.expected_low, missed.expected_high = Decimal("-2.1857"), Decimal("6.7918")
    missed.save()
    page = client_for(rw.provider).get(url(rw, "period_return", period_pk=rw.period.pk))
    body = page.content.decode()
    # a count: whole numbers inside the range, never below zero (the stored
    # limits stay as they are; 7 would be outside 6.7918)
    assert "<strong>Target: at most 5.</strong> Expected range: 0 to 6. Unit: count" in body
    assert "-2.1857" not in body and "6.7918" not in body
    # a percentage: one decimal
    assert "<strong>Target: at most 10.0%.</strong> Expected range: 3.0% to 9.0%." in body
    assert "<strong>Target: at least 90.0%.</strong>" in body
    # headings name the KPI, not its code
    assert '<legend class="usa-legend usa-legend--large">Staff turnover</legend>' in body
    assert "staff_turnover:" not in body
    assert "Period 1 Jun 2025 to 30 Jun 2025, due" in body


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"staff_turnover": {"value": ""}}, "value", "no value for Staff turnover"),
        ({"staff_turnover": {"value": "abc"}}, "value", "'abc' is not a number"),
        ({"staff_turnover": {"value": "140"}}, "value", "not a percentage between 0 and 100"),
        ({"days_to_first_contact": {"value": "-2"}}, "value", "negative"),
        ({"missed_visits at North hub": {"value": "2.5"}}, "value", "not a whole number"),
        (
            {"days_to_first_contact": {"value": "9"}},
            "variance_explanation",
            "Days to first contact: 9 misses its target of 7.0: explain the variance",
        ),
        (
            {"staff_turnover": {"value": "2"}},
            "variance_explanation",
            "outside the expected range (3.0% to 9.0%)",
        ),
        (
            {"visits_on_time": {"numerator": ""}},
            "numerator",
            "Visits on time is a ratio: give the numerator (Visits on time)",
        ),
        (
            {"visits_on_time": {"value": "80"}},
            "value",
            "Visits on time: 80 does not match numerator ÷ denominator: 95 out of 100 is 95%",
        ),
        ({"visits_on_time": {"denominator": "0"}}, "denominator", "must be more than 0"),
    ],
)
def test_each_validation_problem_is_shown_on_its_field_and_nothing_is_written(
    rw, client_for, overrides, field, message
):
    before = counts()
    response = post_form(client_for(rw.provider), rw, **overrides)
    assert response.status_code == 400
    where = next(iter(overrides))
    prefix = line_names(rw)[where]
    errors = field_errors(response)
    assert any(message in e for e in errors.get(f"{prefix}-{field}", [])), errors
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert f'href="#id_{prefix}-{field}"' in body  # the summary links to the field
    assert 'aria-invalid="true"' in body
    assert counts() == before


def test_the_form_takes_numbers_as_people_type_them(rw, client_for):
    """Issue 7: "95%" was "not a number"; commas and spaces are what people type."""
    response = post_form(
        client_for(rw.provider),
        rw,
        visits_on_time={"numerator": "1,140", "denominator": " 1,200 ", "value": "95%"},
        staff_turnover={"value": "5%"},
        days_to_first_contact={"value": " 4 "},
    )
    assert response.status_code == 302, field_errors(response)
    stored = ReturnValue.objects.get(contract_kpi__kpi__code="visits_on_time")
    assert (stored.value, stored.numerator, stored.denominator) == (95, 1140, 1200)
    assert ReturnValue.objects.get(contract_kpi__kpi__code="staff_turnover").value == 5


def test_a_numerator_over_its_denominator_is_shown_in_the_figures_typed(rw, client_for):
    before = counts()
    response = post_form(
        client_for(rw.provider), rw, visits_on_time={"numerator": "500", "denominator": "100"}
    )
    assert response.status_code == 400
    prefix = line_names(rw)["visits_on_time"]
    assert field_errors(response) == {
        f"{prefix}-numerator": [
            "Visits on time: 500 out of 100 is more than 100%: the numerator (Visits on time) "
            "cannot exceed the denominator (Visits scheduled)"
        ]
    }
    body = response.content.decode()
    assert "500.0000" not in body
    assert counts() == before


def test_an_explanation_lets_a_missed_target_through(rw, client_for):
    response = post_form(
        client_for(rw.provider),
        rw,
        days_to_first_contact={"value": "9", "variance_explanation": "Two staff off sick."},
    )
    assert response.status_code == 302
    value = ReturnValue.objects.get(contract_kpi__kpi__code="days_to_first_contact")
    assert value.value == Decimal("9")
    assert value.variance_explanation == "Two staff off sick."


def test_no_activity_needs_a_narrative_and_no_values(rw, client_for):
    client = client_for(rw.provider)
    blank = {k: "" for k in form_data(rw) if k.startswith("k")}
    before = counts()
    response = client.post(
        url(rw, "period_return", period_pk=rw.period.pk),
        {"action": "submit", "no_activity": "on", "narrative": "", **blank},
    )
    assert response.status_code == 400
    assert "say why there was no activity in the period" in field_errors(response)["narrative"][0]
    # A value with "no activity" ticked is pointed out on its field.
    data = form_data(rw, no_activity="on")
    response = client.post(url(rw, "period_return", period_pk=rw.period.pk), data)
    prefix = line_names(rw)["staff_turnover"]
    assert "no activity" in field_errors(response)[f"{prefix}-value"][0]
    assert counts() == before
    response = client.post(
        url(rw, "period_return", period_pk=rw.period.pk),
        {"action": "submit", "no_activity": "on", "narrative": "Service paused.", **blank},
    )
    assert response.status_code == 302
    ret = Return.objects.get()
    assert ret.no_activity and ret.values.count() == 0
    assert ret.status == ReturnStatus.SUBMITTED


def test_a_period_still_running_cannot_be_filled_in(rw, client_for):
    running = ReportingPeriod.objects.filter(contract=rw.contract).order_by("-start").first()
    page = client_for(rw.provider).get(url(rw, "period_return", period_pk=running.pk))
    assert page.status_code == 200
    assert "still running" in page.content.decode()
    assert "form" not in page.context


def test_draft_submit_query_correct_accept_keeps_every_version_readable(rw, client_for):
    provider = client_for(rw.provider)
    commissioner = client_for(rw.commissioner)

    # 1. Save a draft: kept, not sent.
    response = post_form(provider, rw, action="draft", narrative="First go.")
    assert response.status_code == 302
    draft = Return.objects.get()
    assert (draft.status, draft.version, draft.source) == ("draft", 1, ReturnSource.WEB)
    assert draft.submitted_at is None
    # The commissioner's overview still counts the period as not received.
    overview = commissioner.get(
        url(rw, "returns_home") + f"?state=missing&contract={rw.contract.pk}"
    )
    assert any(p.pk == rw.period.pk for p in overview.context["page"].object_list)

    # 2. Edit the draft (the form is pre-filled), then submit it from its page.
    form = provider.get(url(rw, "period_return", period_pk=rw.period.pk)).context["form"]
    assert form.initial["narrative"] == "First go."
    response = provider.post(url(rw, "return_submit", return_pk=draft.pk))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED and draft.submitted_at

    # 3. The commissioner queries it: a comment is required.
    response = commissioner.post(
        url(rw, "return_review", return_pk=draft.pk), {"decision": "query", "comment": " "}
    )
    assert response.status_code == 400
    assert "Say what the provider must correct." in response.content.decode()
    response = commissioner.post(
        url(rw, "return_review", return_pk=draft.pk),
        {"decision": "query", "comment": "Turnover looks wrong: check the leavers."},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.QUERIED

    # 4. The provider sees the comment and corrects: a new version, pre-filled.
    page = provider.get(url(rw, "return_detail", return_pk=draft.pk))
    body = page.content.decode()
    assert "Turnover looks wrong: check the leavers." in body
    assert "Correct and resubmit" in body
    page = provider.get(url(rw, "period_return", period_pk=rw.period.pk))
    assert "Turnover looks wrong" in page.content.decode()
    prefix = line_names(rw)["staff_turnover"]
    assert page.context["form"].initial[f"{prefix}-value"] == "5"
    response = post_form(provider, rw, staff_turnover={"value": "6"}, narrative="Corrected.")
    assert response.status_code == 302
    second = Return.objects.get(version=2)
    assert second.status == ReturnStatus.SUBMITTED
    assert second.values.get(contract_kpi__kpi__code="staff_turnover").value == Decimal("6")

    # 5. Accepted.
    response = commissioner.post(
        url(rw, "return_review", return_pk=second.pk), {"decision": "accept", "comment": ""}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == ReturnStatus.ACCEPTED

    # Every version stays readable with its own values, narrative and history.
    first_page = commissioner.get(url(rw, "return_detail", return_pk=draft.pk)).content.decode()
    assert "First go." in first_page and "Queried" in first_page
    second_page = provider.get(url(rw, "return_detail", return_pk=second.pk)).content.decode()
    assert "Corrected." in second_page and "Accepted" in second_page
    history = commissioner.get(url(rw, "return_detail", return_pk=draft.pk)).context["history"]
    assert "Turnover looks wrong: check the leavers." in [h.reason for h in history]
    listing = commissioner.get(
        url(rw, "contract_returns", contract_pk=rw.contract.pk) + f"?page={page_of(rw.period)}"
    )
    body = listing.content.decode()
    for ret in (draft, second):
        assert url(rw, "return_detail", return_pk=ret.pk) in body


def test_a_sent_return_cannot_be_sent_again_through_the_form(rw, client_for):
    provider = client_for(rw.provider)
    assert post_form(provider, rw).status_code == 302
    before = counts()
    response = provider.get(url(rw, "period_return", period_pk=rw.period.pk))
    assert response.status_code == 302  # to the submitted return
    assert post_form(provider, rw).status_code == 302
    assert counts() == before


def test_review_is_for_commissioners_and_admins(rw, client_for):
    post_form(client_for(rw.provider), rw)
    ret = Return.objects.get()
    review = url(rw, "return_review", return_pk=ret.pk)
    for role in ("provider", "auditor", "executive"):
        client = client_for(rw.world.a.members[role])
        assert client.post(review, {"decision": "accept"}).status_code == 403
        page = client.get(url(rw, "return_detail", return_pk=ret.pk))
        assert page.status_code == 200 and not page.context["can_review"]
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED
    admin = client_for(rw.world.a.members["admin"])
    assert admin.post(review, {"decision": "accept"}).status_code == 302


def test_other_provider_and_other_tenant_get_404(rw, client_for):
    post_form(client_for(rw.provider), rw)
    ret = Return.objects.get()
    p2 = client_for(rw.world.a.members["provider_p2"])
    outsider = client_for(rw.world.b.members["admin"])
    for name, kwargs in [
        ("period_return", {"period_pk": rw.period.pk}),
        ("period_upload", {"period_pk": rw.period.pk}),
        ("period_template", {"period_pk": rw.period.pk}),
        ("return_detail", {"return_pk": ret.pk}),
        ("contract_returns", {"contract_pk": rw.contract.pk}),
        ("contract_values", {"contract_pk": rw.contract.pk}),
        ("contract_kpis", {"contract_pk": rw.contract.pk}),
    ]:
        assert p2.get(url(rw, name, **kwargs)).status_code == 404, name
        assert outsider.get(url(rw, name, **kwargs)).status_code == 404, name


def test_roles_that_cannot_submit_cannot_open_the_form(rw, client_for):
    for role in ("executive", "auditor"):
        client = client_for(rw.world.a.members[role])
        assert client.get(url(rw, "period_return", period_pk=rw.period.pk)).status_code == 403
        assert client.get(url(rw, "period_upload", period_pk=rw.period.pk)).status_code == 403


# --- upload ---------------------------------------------------------------------------


def _upload(client, target, data: bytes, name="return.csv", **extra):
    return client.post(target, {"file": SimpleUploadedFile(name, data, "text/csv"), **extra})


def test_upload_lists_row_problems_and_writes_nothing(rw, client_for):
    values = valid_values(rw.contract)
    values[0] = {**values[0], "kpi_code": "made_up"}
    values[2] = {**values[2], "value": "lots"}
    data = csv_bytes(sheet_rows(rw.contract.reference, PERIOD, values))
    before = counts()
    response = _upload(
        client_for(rw.provider), url(rw, "period_upload", period_pk=rw.period.pk), data
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "row 2" in body and "unknown KPI code" in body
    assert "row 4" in body and "is not a number" in body
    assert counts() == before


def test_upload_of_a_valid_file_submits_the_return(rw, client_for):
    data = csv_bytes(sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract)))
    response = _upload(
        client_for(rw.provider), url(rw, "period_upload", period_pk=rw.period.pk), data
    )
    assert response.status_code == 302
    ret = Return.objects.get()
    assert (ret.status, ret.source) == (ReturnStatus.SUBMITTED, ReturnSource.SPREADSHEET)


def test_template_download_is_a_workbook_or_csv_for_the_period(rw, client_for):
    client = client_for(rw.provider)
    response = client.get(url(rw, "period_template", period_pk=rw.period.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"{rw.contract.reference}-{PERIOD}.xlsx" in response["Content-Disposition"]
    assert response.content[:2] == b"PK"
    response = client.get(url(rw, "period_template", period_pk=rw.period.pk) + "?as=csv")
    assert PERIOD in response.content.decode("utf-8-sig")


def test_bulk_upload_is_the_commissioners_and_writes_many_contracts(rw, client_for):
    rows = sheet_rows(rw.contract.reference, PERIOD, valid_values(rw.contract))
    rows += sheet_rows(rw.other.reference, PERIOD, valid_values(rw.other))
    target = url(rw, "returns_bulk_upload")
    assert client_for(rw.provider).get(target).status_code == 403
    assert client_for(rw.world.a.members["executive"]).get(target).status_code == 403
    commissioner = client_for(rw.commissioner)
    # Entering the providers' returns is a recorded act: without a reason, nothing.
    refused = _upload(commissioner, target, csv_bytes(rows), "export.csv")
    assert refused.status_code == 400
    reason_missing = "Say why you are entering this on the provider&#x27;s behalf."
    assert reason_missing in refused.content.decode()
    assert not Return.objects.exists()
    response = _upload(
        commissioner,
        target,
        csv_bytes(rows),
        "export.csv",
        on_behalf_reason="Both providers emailed their spreadsheets",
    )
    assert response.status_code == 302
    assert set(Return.objects.values_list("source", flat=True)) == {ReturnSource.BULK}
    assert Return.objects.count() == 2
    assert set(
        Return.objects.values_list("entered_on_behalf_by", "on_behalf_reason").distinct()
    ) == {(rw.commissioner.user_id, "Both providers emailed their spreadsheets")}


# --- the commissioner's pages -------------------------------------------------------


def _commissioner_overview(client, rw, query=""):
    return client.get(url(rw, "returns_home") + query)


@pin_days(WORLD_DAYS)
def test_overview_filters_by_state_provider_and_contract(rw, client_for):
    post_form(client_for(rw.provider), rw)  # P1's June return: submitted
    client = client_for(rw.commissioner)
    page = _commissioner_overview(client, rw, "?state=submitted")
    rows = list(page.context["page"].object_list)
    assert [(p.pk, p.state) for p in rows] == [(rw.period.pk, "submitted")]
    page = _commissioner_overview(client, rw, f"?state=missing&contract={rw.other.pk}")
    assert {p.contract_id for p in page.context["page"].object_list} == {rw.other.pk}
    assert all(p.state == "missing" for p in page.context["page"].object_list)
    page = _commissioner_overview(client, rw, f"?state=&provider={rw.contract.provider_id}")
    assert {p.contract_id for p in page.context["page"].object_list} == {rw.contract.pk}
    summary = {key: n for key, _label, n in page.context["summary"]}
    assert summary["submitted"] == 1
    body = _commissioner_overview(client, rw, "?state=submitted").content.decode()
    assert "Review version 1" in body


def _add_contracts(tenant, provider, count: int) -> None:
    """More contracts with their calendars (each ~20 periods to date)."""
    service_type = provider.contracts.first().service_type
    manager = provider.contracts.first().contract_manager
    new = [
        ContractFactory(
            tenant=tenant, provider=provider, service_type=service_type, contract_manager=manager
        )
        for _ in range(count)
    ]
    reporting_calendar_sync(contracts=new, today=clock.today())


@pytest.mark.parametrize(
    "name, role",
    [
        ("returns_home", "commissioner"),
        ("returns_home", "provider"),
        ("returns_timeliness", "commissioner"),
    ],
)
def test_list_pages_run_a_fixed_number_of_queries(
    rw, client_for, django_assert_max_num_queries, name, role
):
    client = client_for(rw.world.a.members[role])
    target = url(rw, name)
    client.get(target)  # warm up (session, content types)
    with django_assert_max_num_queries(20) as small:
        assert client.get(target).status_code == 200
    baseline = len(small.captured_queries)  # read now: the query log is a bounded deque
    _add_contracts(rw.contract.tenant, rw.contract.provider, 5)
    with django_assert_max_num_queries(baseline):
        assert client.get(target).status_code == 200


@pytest.mark.parametrize("name", ["contract_returns", "contract_values", "contract_kpis"])
def test_contract_pages_run_a_fixed_number_of_queries(
    rw, client_for, django_assert_max_num_queries, name
):
    client = client_for(rw.commissioner)
    target = url(rw, name, contract_pk=rw.contract.pk) + f"?page={page_of(rw.period)}"
    client.get(target)
    post_form(client_for(rw.provider), rw)
    with django_assert_max_num_queries(30) as small:
        assert client.get(target).status_code == 200
    baseline = len(small.captured_queries)  # read now: the query log is a bounded deque
    # Five more returns, with values, on the same page of periods (a page holding
    # June 2025 of a contract that started in January 2025 has at least six).
    page = page_of(rw.period)
    same_page = ReportingPeriod.objects.filter(contract=rw.contract).order_by("-start")[
        (page - 1) * 12 : page * 12
    ]
    for period in [p for p in same_page if p.pk != rw.period.pk][:5]:
        assert post_form(client_for(rw.provider), rw, period=period).status_code == 302
    assert Return.objects.count() == 6
    with django_assert_max_num_queries(baseline):
        assert client.get(target).status_code == 200


def test_values_against_target_label_each_value_met_amber_or_missed(rw, client_for):
    ck = ContractKpi.objects.get(contract=rw.contract, kpi__code="days_to_first_contact")
    ck.amber_tolerance = Decimal("1")
    ck.save()
    # Lower is better, target 7 (amber to 8): 4 met, 8 amber, 9 missed.
    periods = list(
        ReportingPeriod.objects.filter(contract=rw.contract, start__year=2025).order_by("start")
    )[5:8]  # June, July, August 2025
    provider = client_for(rw.provider)
    for period, value in zip(periods, ["4", "8", "9"], strict=True):
        response = post_form(
            provider,
            rw,
            period=period,
            days_to_first_contact={"value": value, "variance_explanation": "Noted."},
        )
        assert response.status_code == 302
    page = client_for(rw.commissioner).get(
        url(rw, "contract_values", contract_pk=rw.contract.pk) + "?page=2"
    )
    line = next(ln for ln in page.context["lines"] if ln["ck"].kpi.code == "days_to_first_contact")
    columns = [p.pk for p in page.context["columns"]]
    cells = {pk: cell for pk, cell in zip(columns, line["cells"], strict=True)}
    if periods[0].pk not in cells:  # the page boundary depends on today's date
        page = client_for(rw.commissioner).get(
            url(rw, "contract_values", contract_pk=rw.contract.pk) + "?page=3"
        )
        line = next(
            ln for ln in page.context["lines"] if ln["ck"].kpi.code == "days_to_first_contact"
        )
        columns = [p.pk for p in page.context["columns"]]
        cells = {pk: cell for pk, cell in zip(columns, line["cells"], strict=True)}
    assert [cells[p.pk]["label"] for p in periods] == ["Met", "Amber", "Missed"]
    assert cells[periods[0].pk]["provisional"]  # submitted, not yet accepted
    body = page.content.decode()
    assert "Amber" in body and "Missed" in body  # in words, not colour alone


def test_values_table_reads_in_names_periods_and_each_units_precision(rw, client_for):
    assert post_form(client_for(rw.provider), rw).status_code == 302  # June 2025
    page = client_for(rw.commissioner).get(
        url(rw, "contract_values", contract_pk=rw.contract.pk) + f"?page={page_of(rw.period)}"
    )
    body = page.content.decode()
    # column heads name the period as people do, not "2025-06"
    assert '<th scope="col" class="text-right">Jun 2025</th>' in body
    assert "2025-06" not in body
    # rows are KPIs by name; the codes are for spreadsheets and the API
    assert 'Visits on time <span class="usa-tag">Priority</span>' in body
    assert "Missed visits at " + rw.sites[0].name in body
    for code in ("visits_on_time", "missed_visits", "staff_turnover", "days_to_first_contact"):
        assert code not in body
    # a percentage to one decimal, a count whole, days to one decimal
    assert '95.0%<br><span class="font-body-3xs">Met (target 90.0%), provisional' in body
    assert '>2<br><span class="font-body-3xs">Met (target 5), provisional' in body
    assert '4.0<br><span class="font-body-3xs">Met (target 7.0), provisional' in body
    assert ".0000" not in body


def test_a_return_reads_in_kpi_names_and_one_date_format(rw, client_for):
    assert post_form(client_for(rw.provider), rw).status_code == 302
    ret = Return.objects.get()
    ret.submitted_at = datetime(2025, 7, 3, 9, 5, tzinfo=UTC)
    ret.save()
    body = client_for(rw.commissioner).get(url(rw, "return_detail", return_pk=ret.pk))
    body = body.content.decode()
    assert "<h1>" + rw.contract.reference + ", Jun 2025: version 1</h1>" in body
    assert "<dd>1 Jun 2025 to 30 Jun 2025, due 15 Jul 2025</dd>" in body
    assert "3 Jul 2025 09:05 by" in body
    assert '<th scope="row">Days to first contact<br>' in body
    assert "days_to_first_contact" not in body


def test_values_use_the_phase_target_in_force(rw, client_for):
    """The contract started January 2025: a phase target for months 1–6 judges
    June 2025 (month 6) against 12 days, not the mature 7."""
    ck = ContractKpi.objects.get(contract=rw.contract, kpi__code="days_to_first_contact")
    PhaseTarget.objects.create(
        tenant=ck.tenant, contract_kpi=ck, phase="Implementation", from_month=1, to_month=6,
        target=Decimal("12"),
    )  # fmt: skip
    response = post_form(client_for(rw.provider), rw, days_to_first_contact={"value": "10"})
    assert response.status_code == 302  # 10 meets the phase target: no explanation needed
    ret = Return.objects.get()
    page = client_for(rw.commissioner).get(url(rw, "return_detail", return_pk=ret.pk))
    rows = page.context["rows"]
    row = next(r for r in rows if r["value"].contract_kpi.kpi.code == "days_to_first_contact")
    assert (row["target"], row["label"]) == ("12.0", "Met")  # days, to one decimal


def _period(tenant, contract, start: date, due: date) -> ReportingPeriod:
    return ReportingPeriod.objects.create(
        tenant=tenant,
        contract=contract,
        frequency="monthly",
        start=start,
        end=start + timedelta(days=27),
        due_date=due,
        missing_after=due + timedelta(days=30),
    )


def _sent(period, user, on: date, *, version=1, status=ReturnStatus.ACCEPTED):
    at = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    return Return.objects.create(
        tenant=period.tenant,
        contract=period.contract,
        period=period,
        version=version,
        status=status,
        source=ReturnSource.WEB,
        created_by=user,
        submitted_by=user,
        submitted_at=at,
    )


@pin_days(DAYS)
def test_timeliness_is_the_share_on_time_over_each_providers_last_12_due_periods(world, client_for):
    """Hand-built: provider "Prompt" has 14 due periods, the two oldest late and
    the last 12 all on time but one (sent a day late) and one never sent, so
    10 of 12 = 83%. Provider "Patchy" has 4 due periods: one on time, one
    late, one queried then resubmitted after the due date (first sent on time,
    so on time), one not received: 2 of 4 = 50%. A period not yet due counts
    for nobody."""
    tenant = world.a.tenant
    user = world.a.members["provider"].user
    today = clock.today()
    tz_day = today - timedelta(days=30 * 14)  # the 14 due dates run to a month ago, all past
    prompt = ProviderFactory(tenant=tenant, name="Prompt Care")
    patchy = ProviderFactory(tenant=tenant, name="Patchy Care")
    c1 = ContractFactory(tenant=tenant, provider=prompt, status=ContractStatus.ENDED)
    c2 = ContractFactory(tenant=tenant, provider=patchy, status=ContractStatus.ENDED)
    for n in range(14):
        due = tz_day + timedelta(days=30 * n)
        period = _period(tenant, c1, due - timedelta(days=40), due)
        if n < 2:
            _sent(period, user, due + timedelta(days=3))  # old and late: outside the 12
        elif n == 5:
            _sent(period, user, due + timedelta(days=1))
        elif n == 9:
            pass  # never sent
        else:
            _sent(period, user, due)  # on the due date counts as on time
    dues = [today - timedelta(days=days) for days in (122, 92, 61, 31)]
    p = [_period(tenant, c2, d - timedelta(days=40), d) for d in dues]
    _sent(p[0], user, dues[0] - timedelta(days=2))
    _sent(p[1], user, dues[1] + timedelta(days=10))
    _sent(p[2], user, dues[2], status=ReturnStatus.QUERIED)
    _sent(p[2], user, dues[2] + timedelta(days=20), version=2)
    future = today + timedelta(days=30)
    _period(tenant, c2, future - timedelta(days=40), future)

    page = client_for(world.a.members["commissioner"]).get(
        reverse("returns_timeliness", kwargs={"tenant_slug": tenant.slug})
    )
    rows = {r.provider_name: r for r in page.context["rows"]}
    assert (rows["Prompt Care"].periods, rows["Prompt Care"].on_time) == (12, 10)
    assert (rows["Prompt Care"].late, rows["Prompt Care"].not_received) == (1, 1)
    assert rows["Prompt Care"].percent_on_time == "83.3%"
    assert (rows["Patchy Care"].periods, rows["Patchy Care"].on_time) == (4, 2)
    assert (rows["Patchy Care"].late, rows["Patchy Care"].not_received) == (1, 1)
    assert rows["Patchy Care"].percent_on_time == "50.0%"
    assert "83.3%" in page.content.decode()


def test_timeliness_is_not_for_providers(rw, client_for):
    assert client_for(rw.provider).get(url(rw, "returns_timeliness")).status_code == 403


def test_a_new_contracts_returns_page_lists_the_periods_its_creation_made(world, client_for):
    """The calendar is written when the contract is created (contracts.services),
    not when its returns page is opened: the page only reads."""
    from contracts.services import contract_create

    tenant = world.a.tenant
    today = tenant_today(tenant)
    contract = contract_create(
        membership=world.a.members["commissioner"],
        data={
            "reference": "NEW-001",
            "title": "Reablement at home",
            "provider": world.a.p1.provider,
            "service_type": world.a.service_type,
            "status": "active",
            "scope": "Short-term reablement after a hospital stay.",
            "start_date": today - timedelta(days=70),
            "end_date": today + timedelta(days=365),
            "annual_value": Decimal("100000"),
            "total_value": Decimal("200000"),
            "payment_model": "block",
            "payment_at_risk_pct": Decimal("0"),
            "contract_manager": world.a.user("commissioner"),
        },
        reason="Award",
    )
    made = ReportingPeriod.objects.filter(contract=contract).count()
    assert made >= 3
    page = client_for(world.a.members["provider"]).get(
        reverse("contract_returns", kwargs={"tenant_slug": tenant.slug, "contract_pk": contract.pk})
    )
    assert page.status_code == 200
    assert len(page.context["rows"]) == made
    assert ReportingPeriod.objects.filter(contract=contract).count() == made


# --- the KPI library and contract KPIs -----------------------------------------------


def _kpi_post(**overrides):
    data = {
        "code": "complaints",
        "name": "Complaints received",
        "definition": "Formal complaints received in the period.",
        "unit": "count",
        "direction": "lower",
        "category": "quality",
        "reporting_level": "contract",
        "reason": "New measure agreed at the quarterly review",
    }
    return data | overrides


def test_admin_adds_a_kpi_with_history_and_others_only_read(rw, client_for):
    admin = client_for(rw.world.a.members["admin"])
    response = admin.post(url(rw, "kpi_create"), _kpi_post())
    assert response.status_code == 302
    kpi = Kpi.objects.get(code="complaints")
    assert kpi.tenant == rw.contract.tenant
    record = kpi.history.get()
    assert record.history_change_reason == "New measure agreed at the quarterly review"
    # A duplicate code is refused on the field.
    response = admin.post(url(rw, "kpi_create"), _kpi_post(name="Again"))
    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["code"])

    for role in ("commissioner", "auditor"):
        client = client_for(rw.world.a.members[role])
        assert client.get(url(rw, "kpi_list")).status_code == 200
        assert client.get(url(rw, "kpi_detail", kpi_pk=kpi.pk)).status_code == 200
        assert client.get(url(rw, "kpi_create")).status_code == 403
        response = client.post(url(rw, "kpi_edit", kpi_pk=kpi.pk), _kpi_post(name="Hijack"))
        assert response.status_code == 403
    for role in ("provider", "executive"):
        assert client_for(rw.world.a.members[role]).get(url(rw, "kpi_list")).status_code == 403
    kpi.refresh_from_db()
    assert kpi.name == "Complaints received"


def _ck_post(kpi, **overrides):
    data = {
        "kpi": kpi.pk,
        "target": "3",
        "amber_tolerance": "1",
        "weight": "1",
        "reason": "Agreed with the provider",
        "phases-TOTAL_FORMS": "2",
        "phases-INITIAL_FORMS": "0",
        "phases-MIN_NUM_FORMS": "0",
        "phases-MAX_NUM_FORMS": "1000",
    }
    return data | overrides


def _new_kpi(rw, code):
    return Kpi.objects.create(
        tenant=rw.contract.tenant, code=code, name=code, definition="d", unit="count",
        direction="lower", category="quality",
    )  # fmt: skip


def test_commissioner_adds_a_kpi_to_a_contract_with_phase_targets(rw, client_for):
    client = client_for(rw.commissioner)
    kpi = _new_kpi(rw, "complaints")
    target = url(rw, "contract_kpi_create", contract_pk=rw.contract.pk)
    response = client.post(
        target,
        _ck_post(
            kpi,
            baseline="4",
            peer_benchmark="2.5",
            best_practice="1",
            **{
                "phases-0-phase": "Implementation",
                "phases-0-from_month": "1",
                "phases-0-to_month": "6",
                "phases-0-target": "6",
                "phases-0-amber_tolerance": "2",
            },
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    ck = ContractKpi.objects.get(contract=rw.contract, kpi=kpi)
    assert (ck.target, ck.baseline, ck.peer_benchmark) == (Decimal(3), Decimal(4), Decimal("2.5"))
    phase = ck.phase_targets.get()
    assert (phase.phase, phase.from_month, phase.to_month, phase.target) == (
        "Implementation", 1, 6, Decimal(6),
    )  # fmt: skip
    assert ck.history.get().history_change_reason == "Agreed with the provider"
    page = client.get(url(rw, "contract_kpis", contract_pk=rw.contract.pk)).content.decode()
    assert "Implementation: months 1–6" in page

    # Overlapping phases are refused with a message, and nothing changes.
    edit = url(rw, "contract_kpi_edit", contract_kpi_pk=ck.pk)
    data = _ck_post(
        kpi,
        **{
            "phases-TOTAL_FORMS": "2",
            "phases-INITIAL_FORMS": "1",
            "phases-0-id": str(phase.pk),
            "phases-0-phase": "Implementation",
            "phases-0-from_month": "1",
            "phases-0-to_month": "6",
            "phases-0-target": "6",
            "phases-0-amber_tolerance": "2",
            "phases-1-phase": "Bedding in",
            "phases-1-from_month": "5",
            "phases-1-to_month": "9",
            "phases-1-target": "4",
        },
    )
    response = client.post(edit, data)
    assert response.status_code == 400
    assert "overlap" in response.content.decode()
    assert ck.phase_targets.count() == 1


def test_a_sixth_priority_measure_is_refused_with_the_message(rw, client_for):
    client = client_for(rw.commissioner)
    # The contract has one priority measure; add four more, then a sixth.
    for n in range(4):
        kpi = _new_kpi(rw, f"extra_{n}")
        response = client.post(
            url(rw, "contract_kpi_create", contract_pk=rw.contract.pk),
            _ck_post(kpi, is_priority="on"),
        )
        assert response.status_code == 302
    kpi = _new_kpi(rw, "one_too_many")
    response = client.post(
        url(rw, "contract_kpi_create", contract_pk=rw.contract.pk), _ck_post(kpi, is_priority="on")
    )
    assert response.status_code == 400
    assert "at most 5 priority measures" in response.content.decode()
    assert not ContractKpi.objects.filter(kpi=kpi).exists()
    assert ContractKpi.objects.filter(contract=rw.contract, is_priority=True).count() == 5


def test_contract_kpis_are_read_by_the_provider_and_edited_by_commissioners(rw, client_for):
    ck = ContractKpi.objects.get(contract=rw.contract, kpi__code="staff_turnover")
    provider = client_for(rw.provider)
    page = provider.get(url(rw, "contract_kpis", contract_pk=rw.contract.pk))
    body = page.content.decode()
    assert page.status_code == 200
    # the KPI by name, its figures to the unit: target 10.0%, expected range as stored
    assert '<th scope="row">Staff turnover<br><span class="font-body-3xs">Percentage, lower' in body
    assert '<td class="text-right">10.0%</td>' in body
    assert "staff_turnover" not in body and "10.0000" not in body
    assert not page.context["can_edit"]
    edit = url(rw, "contract_kpi_edit", contract_kpi_pk=ck.pk)
    assert provider.get(edit).status_code == 403
    for role in ("auditor", "executive"):
        assert client_for(rw.world.a.members[role]).get(edit).status_code == 403
    assert client_for(rw.commissioner).get(edit).status_code == 200


def test_contract_detail_links_to_returns_and_kpis(rw, client_for):
    page = client_for(rw.commissioner).get(rw.contract.get_absolute_url()).content.decode()
    assert url(rw, "contract_returns", contract_pk=rw.contract.pk) in page
    assert url(rw, "contract_kpis", contract_pk=rw.contract.pk) in page


def test_navigation_shows_returns_to_all_and_the_library_to_its_readers(rw, client_for):
    for role, sees_library in [
        ("admin", True), ("commissioner", True), ("auditor", True),
        ("executive", False), ("provider", False),
    ]:  # fmt: skip
        member = rw.world.a.members[role]
        page = client_for(member).get(url(rw, "tenant_home"))
        labels = [item["label"] for item in page.context["nav_items"]]
        assert "Returns" in labels, role
        assert ("KPI library" in labels) is sees_library, role


def test_a_member_of_two_tenants_sees_each_tenants_returns_only(rw, world, client_for):
    """The same person as provider in tenant A and commissioner in tenant B."""
    person = rw.provider.user
    MembershipFactory(tenant=world.b.tenant, user=person, role=Role.COMMISSIONER)
    client = client_for(person)
    page = client.get(reverse("returns_home", kwargs={"tenant_slug": world.b.tenant.slug}))
    assert page.status_code == 200
    # (The tenant switcher names tenant A: the person is a member there.)
    assert not contains_any(page.content, [rw.contract.reference, rw.other.reference])
    assert contains_any(page.content, [world.b.p1.contract.reference])


# --- a return entered on the provider's behalf (issue 7) -------------------------------

REASON = "Heartland's portal login is broken; figures emailed on 3 July"


def test_a_commissioner_opening_the_providers_form_is_sent_to_the_on_behalf_form(rw, client_for):
    client = client_for(rw.commissioner)
    response = client.get(url(rw, "period_return", period_pk=rw.period.pk))
    on_behalf = url(rw, "period_return_on_behalf", period_pk=rw.period.pk)
    assert (response.status_code, response["Location"]) == (302, on_behalf)
    # Posting the provider's own form is refused: a commissioner cannot submit as the provider.
    before = counts()
    assert (
        client.post(url(rw, "period_return", period_pk=rw.period.pk), form_data(rw)).status_code
        == 403
    )
    assert counts() == before
    page = client.get(on_behalf)
    body = page.content.decode()
    provider = rw.contract.provider.name
    assert f"You are entering this return on behalf of {provider}" in body
    assert f"Why are you entering this for {provider}?" in body


def test_the_on_behalf_form_needs_a_reason_and_writes_nothing_without(rw, client_for):
    before = counts()
    response = client_for(rw.commissioner).post(
        url(rw, "period_return_on_behalf", period_pk=rw.period.pk), form_data(rw)
    )
    assert response.status_code == 400
    assert field_errors(response) == {
        "on_behalf_reason": ["Say why you are entering this on the provider's behalf."]
    }
    assert counts() == before


def test_a_missing_reason_and_the_figures_problems_are_shown_together(rw, client_for):
    before = counts()
    response = client_for(rw.commissioner).post(
        url(rw, "period_return_on_behalf", period_pk=rw.period.pk),
        form_data(rw, visits_on_time={"numerator": "500", "denominator": "100"}),
    )
    assert response.status_code == 400
    prefix = line_names(rw)["visits_on_time"]
    assert field_errors(response) == {
        "on_behalf_reason": ["Say why you are entering this on the provider's behalf."],
        f"{prefix}-numerator": [
            "Visits on time: 500 out of 100 is more than 100%: the numerator (Visits on time) "
            "cannot exceed the denominator (Visits scheduled)"
        ],
    }
    assert "please correct 2 problems" in response.content.decode()
    assert counts() == before


def _entered_on_behalf(rw, client_for):
    response = client_for(rw.commissioner).post(
        url(rw, "period_return_on_behalf", period_pk=rw.period.pk),
        form_data(rw, on_behalf_reason=REASON),
    )
    assert response.status_code == 302, field_errors(response)
    return Return.objects.get(period=rw.period)


def test_a_return_entered_on_behalf_says_so_wherever_it_appears(rw, client_for):
    ret = _entered_on_behalf(rw, client_for)
    provider = rw.contract.provider.name
    who = rw.commissioner.user
    assert (ret.entered_on_behalf_by, ret.on_behalf_reason) == (who, REASON)
    admin = client_for(rw.world.a.members["admin"])
    expected = f"Entered on behalf of {provider} by {who}, reason: {REASON}"
    detail = admin.get(url(rw, "return_detail", return_pk=ret.pk)).content.decode()
    assert expected.replace("'", "&#x27;") in detail
    contract_page = admin.get(
        url(rw, "contract_returns", contract_pk=rw.contract.pk) + f"?page={page_of(rw.period)}"
    )
    assert "Entered on behalf" in contract_page.content.decode()
    overview = admin.get(url(rw, "returns_home") + "?state=submitted").content.decode()
    assert f'Entered on behalf</span><span class="usa-sr-only"> of {provider}' in overview
    provider_home = client_for(rw.provider).get(url(rw, "returns_home")).content.decode()
    assert "Entered on your behalf" in provider_home
    own = client_for(rw.provider).get(url(rw, "return_detail", return_pk=ret.pk))
    assert expected.replace("'", "&#x27;") in own.content.decode()


def test_a_providers_own_return_is_not_marked(rw, client_for):
    post_form(client_for(rw.provider), rw)
    ret = Return.objects.get(period=rw.period)
    detail = client_for(rw.commissioner).get(url(rw, "return_detail", return_pk=ret.pk))
    assert "Entered on behalf" not in detail.content.decode()
    assert 'value="accept"' in detail.content.decode()


def test_whoever_entered_a_return_is_not_offered_its_review_and_cannot_accept_it(rw, client_for):
    ret = _entered_on_behalf(rw, client_for)
    client = client_for(rw.commissioner)
    page = client.get(url(rw, "return_detail", return_pk=ret.pk)).content.decode()
    assert 'value="accept"' not in page
    assert "You entered this return on the provider&#x27;s behalf, so someone else must" in page
    response = client.post(
        url(rw, "return_review", return_pk=ret.pk), {"decision": "accept", "comment": ""}
    )
    assert response.status_code == 302
    followed = client.get(response["Location"]).content.decode()
    assert "You entered this return on the provider&#x27;s behalf" in followed
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED and ret.reviewed_by is None
    # A colleague reviews it.
    admin = client_for(rw.world.a.members["admin"])
    admin.post(url(rw, "return_review", return_pk=ret.pk), {"decision": "accept", "comment": ""})
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.ACCEPTED


@pin_days(WORLD_DAYS)
def test_values_say_why_a_period_has_no_value_yet(rw, client_for):
    """A period still running, or ended but not yet due, is not a missing return."""
    today = tenant_today(rw.contract.tenant)
    page = client_for(rw.commissioner).get(url(rw, "contract_values", contract_pk=rw.contract.pk))
    line = page.context["lines"][0]
    said = {
        period.pk: cell["label"]
        for period, cell in zip(page.context["columns"], line["cells"], strict=True)
    }
    for period in page.context["columns"]:
        if period.end >= today:
            assert said[period.pk] == "Still running", period
        elif period.due_date >= today:
            assert said[period.pk] == "Not yet due", period
        else:
            assert said[period.pk] == "No return", period
    assert "Still running" in said.values()
    assert "No return" in said.values()
