"""Formal variations (issue 11): the workflow's rules, atomic application on the
effective date, a target's change re-basing its limits while earlier periods
keep theirs, and a contract's terms as at a past date (service and API)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from contracts.models import Contract, DeliverySite
from oversight import clock
from oversight.models import Role
from performance.models import ContractKpi, Kpi, LimitRebase
from performance.terms import target_in_force
from variations import services, tasks
from variations.models import Variation, VariationPolicy, VariationStatus
from variations.terms import contract_terms

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def tw(world):
    return world.a


@pytest.fixture
def kpi(tw):
    k = Kpi.objects.create(
        tenant=tw.tenant, code="visits-on-time", name="Visits on time",
        definition="Visits started within 15 minutes.", unit="percentage",
        direction="higher", category="timeliness",
    )  # fmt: skip
    return ContractKpi.objects.create(
        tenant=tw.tenant, contract=tw.p1.contract, kpi=k, target=Decimal("90"),
        amber_tolerance=Decimal("3"), is_priority=True,
    )  # fmt: skip


def _propose(tw, member, changes, *, effective=None, submit=True, kind="volume"):
    return services.variation_propose(
        membership=member,
        contract=tw.p1.contract,
        kind=kind,
        title="A change",
        rationale="Because",
        effective_on=effective or clock.today() + dt.timedelta(days=31),
        changes=changes,
        reason="Proposed",
        submit=submit,
    )


def _assess(tw, variation, *, total="1000", components=()):
    member = tw.members[Role.COMMISSIONER]
    variation.refresh_from_db()
    if variation.status == VariationStatus.SUBMITTED:
        services.variation_assessment_start(membership=member, variation=variation)
    return services.variation_assess(
        membership=member,
        variation=variation,
        assessment=services.Assessment(
            cost_per_year=Decimal(total), cost_total=Decimal(total), quality_impact="None",
            outcomes_impact="None", risk_impact="Low", protected_components=tuple(components),
        ),
        reason="Assessed",
    )  # fmt: skip


def _value_change(value="150000"):
    return [services.ChangeInput(field="annual_value", value=value)]


def test_the_workflow_runs_draft_to_effective(tw):
    provider = tw.members[Role.PROVIDER]
    variation = _propose(tw, provider, _value_change(), submit=False)
    assert variation.status == VariationStatus.DRAFT and variation.reference.startswith("VAR-")
    services.variation_submit(membership=provider, variation=variation)
    _assess(tw, variation)
    services.variation_approve(membership=tw.members[Role.COMMISSIONER], variation=variation)
    variation.refresh_from_db()
    assert variation.status == VariationStatus.APPROVED  # effective in a month
    assert tw.p1.contract.annual_value != Decimal("150000")
    with clock.pinned(variation.effective_on):
        assert tasks.apply_due() == {"applied": 1, "failed": 0}
        assert tasks.apply_due() == {"applied": 0, "failed": 0}  # a second run applies nothing
    variation.refresh_from_db()
    contract = Contract.objects.get(pk=tw.p1.contract.pk)
    assert variation.status == VariationStatus.EFFECTIVE
    assert contract.annual_value == Decimal("150000.00")
    record = contract.history.latest("history_date")
    assert record.history_change_reason == f"Variation {variation.reference}: A change"


def test_the_proposer_never_approves_and_an_executive_is_needed_above_the_threshold(tw):
    commissioner = tw.members[Role.COMMISSIONER]
    variation = _propose(tw, commissioner, _value_change())
    _assess(tw, variation, total="250000")  # above the default 100,000
    variation.refresh_from_db()
    assert variation.needs_executive and "total cost" in variation.approval_rule
    with pytest.raises(ValidationError, match="someone else decides it"):
        services.variation_approve(membership=commissioner, variation=variation)
    with pytest.raises(ValidationError, match="needs an executive"):
        services.variation_approve(membership=tw.members[Role.ADMIN], variation=variation)
    services.variation_approve(membership=tw.members[Role.EXECUTIVE], variation=variation)
    assert Variation.objects.get(pk=variation.pk).status == VariationStatus.APPROVED


def test_touching_a_protected_component_needs_an_executive_under_the_tenants_rules(tw):
    contract = tw.p1.contract
    contract.protected_core_components = ["Two-person teams"]
    contract.save()
    variation = _propose(tw, tw.members[Role.PROVIDER], _value_change())
    with pytest.raises(ValidationError, match="Not a protected core component"):
        _assess(tw, variation, components=["Something else"])
    _assess(tw, variation, components=["Two-person teams"])
    assert Variation.objects.get(pk=variation.pk).needs_executive
    # The admin switches the rule off: a new assessment no longer needs one.
    services.policy_update(
        membership=tw.members[Role.ADMIN],
        data={"executive_for_protected": False},
        reason="Protected components go to the contract board instead",
    )
    assert VariationPolicy.objects.get(tenant=tw.tenant).history.count() == 1
    _assess(tw, Variation.objects.get(pk=variation.pk), components=["Two-person teams"])
    assert not Variation.objects.get(pk=variation.pk).needs_executive


def test_bad_changes_are_refused_saying_which_and_nothing_is_written(tw, kpi):
    before = Variation.objects.count()
    with pytest.raises(ValidationError) as refused:
        _propose(
            tw,
            tw.members[Role.COMMISSIONER],
            [
                services.ChangeInput(field="end_date", value="31/12/2027"),
                services.ChangeInput(field="kpi_target", value="95"),  # no KPI named
                services.ChangeInput(field="payment_model", value="barter"),
            ],
        )
    messages = refused.value.message_dict["changes"]
    assert messages[0].startswith("Change 1 (End date): enter a date as YYYY-MM-DD")
    assert messages[1].startswith("Change 2 (A KPI's target): choose one of")
    assert messages[2].startswith("Change 3 (Payment model): choose one of")
    assert Variation.objects.count() == before


def test_a_provider_cannot_propose_on_another_providers_contract(tw):
    with pytest.raises(Exception) as refused:
        services.variation_propose(
            membership=tw.members[Role.PROVIDER], contract=tw.p2.contract, kind="volume",
            title="Not ours", rationale="x", effective_on=clock.today() + dt.timedelta(days=9),
            changes=_value_change(), reason="x",
        )  # fmt: skip
    assert refused.type.__name__ == "Http404"
    with pytest.raises(PermissionDenied):
        _propose(tw, tw.members[Role.AUDITOR], _value_change())


def test_a_failing_change_applies_none_and_the_variation_waits_with_the_problem(tw):
    contract = tw.p1.contract
    variation = _propose(
        tw,
        tw.members[Role.PROVIDER],
        [
            services.ChangeInput(field="annual_value", value="175000"),
            services.ChangeInput(field="site_add", value="Lower Valley", detail="River towns"),
        ],
    )
    _assess(tw, variation)
    services.variation_approve(membership=tw.members[Role.COMMISSIONER], variation=variation)
    # Before the effective date someone registers a site of that name by hand.
    DeliverySite.objects.create(tenant=tw.tenant, contract=contract, name="Lower Valley", area="x")
    value_before = Contract.objects.get(pk=contract.pk).annual_value
    with clock.pinned(variation.effective_on):
        assert services.variations_apply_due() == {"applied": 0, "failed": 1}
    variation.refresh_from_db()
    assert variation.status == VariationStatus.APPROVED
    assert "Change 2 (A site added)" in variation.apply_problem
    assert Contract.objects.get(pk=contract.pk).annual_value == value_before  # not half applied
    assert DeliverySite.objects.filter(contract=contract, name="Lower Valley").count() == 1


def test_a_target_change_re_bases_the_limits_and_earlier_periods_keep_their_target(tw, kpi):
    effective = dt.date(2027, 3, 1)
    variation = _propose(
        tw,
        tw.members[Role.COMMISSIONER],
        [services.ChangeInput(field="kpi_target", contract_kpi=kpi.pk, value="94", detail="2")],
        effective=effective,
        kind="kpi",
    )
    _assess(tw, variation)
    services.variation_approve(membership=tw.members[Role.EXECUTIVE], variation=variation)
    with clock.pinned(effective):
        services.variations_apply_due()
    kpi.refresh_from_db()
    phases = list(kpi.phase_targets.all())
    assert target_in_force(kpi, dt.date(2027, 2, 1), phases) == (Decimal("90"), Decimal("3"))
    assert target_in_force(kpi, dt.date(2027, 3, 1), phases) == (Decimal("94"), Decimal("2"))
    rebase = LimitRebase.objects.get(contract_kpi=kpi)
    assert rebase.starts_on == effective and rebase.source_label == variation.reference
    change = Variation.objects.get(pk=variation.pk).changes.get()
    assert change.previous == "90 (amber 3)"


def test_the_terms_as_at_a_past_date_are_those_then_in_force(tw, kpi, api_client_for):
    contract = tw.p1.contract
    effective = dt.date(2027, 3, 1)
    with clock.pinned(dt.date(2027, 1, 10)):
        variation = _propose(
            tw,
            tw.members[Role.PROVIDER],
            [
                services.ChangeInput(field="annual_value", value="210000"),
                services.ChangeInput(field="kpi_target", contract_kpi=kpi.pk, value="93"),
                services.ChangeInput(field="site_add", value="North hub", detail="North"),
            ],
            effective=effective,
        )
        _assess(tw, variation)
        services.variation_approve(membership=tw.members[Role.COMMISSIONER], variation=variation)
    old_value = Contract.objects.get(pk=contract.pk).annual_value
    with clock.pinned(effective):
        services.variations_apply_due()
    member = tw.members[Role.COMMISSIONER]
    contract = Contract.objects.get(pk=contract.pk)
    before = contract_terms(membership=member, contract=contract, as_at=dt.date(2027, 2, 15))
    after = contract_terms(membership=member, contract=contract, as_at=dt.date(2027, 3, 2))
    assert before.values["annual_value"] == old_value
    assert after.values["annual_value"] == Decimal("210000.00")
    assert [k["target"] for k in before.kpis] == [Decimal("90")]
    assert [k["target"] for k in after.kpis] == [Decimal("93")]
    assert "North hub" not in [s["name"] for s in before.sites]
    assert "North hub" in [s["name"] for s in after.sites]
    assert before.variations == [] and [v.pk for v in after.variations] == [variation.pk]

    url = reverse("api-contract-terms", args=[tw.tenant.slug, contract.pk])
    client = api_client_for(tw.members[Role.PROVIDER])
    answer = client.get(url, {"as_at": "2027-02-15"}).json()
    assert answer["annual_value"] == str(old_value)
    assert answer["kpi_targets"][0]["target"] == "90.0000"
    assert client.get(url, {"as_at": "2027-03-02"}).json()["variations"][0]["reference"] == (
        variation.reference
    )
    bad = client.get(url, {"as_at": "15/02/2027"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "as_at"
    other = reverse("api-contract-terms", args=[tw.tenant.slug, tw.p2.contract.pk])
    assert client.get(other).status_code == 404  # another provider's contract


def test_the_api_proposes_assesses_and_decides(tw, api_client_for):
    slug = tw.tenant.slug
    provider = api_client_for(tw.members[Role.PROVIDER])
    created = provider.post(
        reverse("api-variation-list", args=[slug]),
        {
            "contract": tw.p1.contract.pk, "kind": "volume", "title": "More hours",
            "rationale": "Waiting list", "effective_on": "2027-02-01", "submit": True,
            "changes": [{"field": "annual_value", "value": "abc"}],
        },
        format="json",
    )  # fmt: skip
    assert created.status_code == 400
    assert (
        "Change 1 (Annual value): enter the value as a number"
        in created.json()["errors"][0]["message"]
    )
    created = provider.post(
        reverse("api-variation-list", args=[slug]),
        {
            "contract": tw.p1.contract.pk, "kind": "volume", "title": "More hours",
            "rationale": "Waiting list", "effective_on": "2027-02-01", "submit": True,
            "changes": [{"field": "annual_value", "value": "160000"}],
        },
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["status"] == "submitted"
    commissioner = api_client_for(tw.members[Role.COMMISSIONER])
    assert (
        commissioner.post(reverse("api-variation-start-assessment", args=[slug, pk])).status_code
        == 200
    )
    assessed = commissioner.post(
        reverse("api-variation-assess", args=[slug, pk]),
        {"cost_per_year": "10000", "cost_total": "8000", "quality_impact": "None",
         "outcomes_impact": "More people", "risk_impact": "Low"},
        format="json",
    )  # fmt: skip
    assert assessed.status_code == 200 and assessed.json()["assessment"]["cost_total"] == "8000.00"
    refused = provider.post(reverse("api-variation-approve", args=[slug, pk]), {}, format="json")
    assert refused.status_code == 403
    rejected = commissioner.post(
        reverse("api-variation-reject", args=[slug, pk]), {}, format="json"
    )
    assert rejected.status_code == 400  # a rejection says why
    approved = commissioner.post(
        reverse("api-variation-approve", args=[slug, pk]), {"note": "Agreed"}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["decision"]["note"] == "Agreed"


def test_the_chart_marks_the_re_base_with_the_variation_that_caused_it(tw, kpi, client_for):
    from tests.escalation.plan_helpers import accepted_values

    accepted_values(kpi, [90 + i % 3 for i in range(12)], last=dt.date(2026, 11, 1))
    with clock.pinned(dt.date(2026, 8, 10)):
        variation = _propose(
            tw,
            tw.members[Role.COMMISSIONER],
            [services.ChangeInput(field="kpi_rebase", contract_kpi=kpi.pk)],
            effective=dt.date(2026, 9, 1),
            kind="delivery_model",
        )
        _assess(tw, variation)
        services.variation_approve(membership=tw.members[Role.EXECUTIVE], variation=variation)
    with clock.pinned(dt.date(2026, 9, 1)):
        services.variations_apply_due()
    assert Variation.objects.get(pk=variation.pk).status == VariationStatus.EFFECTIVE
    url = reverse("contract_dashboard", args=[tw.tenant.slug, tw.p1.contract.pk])
    html = client_for(tw.members[Role.COMMISSIONER]).get(url).content.decode()
    assert f"Re-based from Sep 2026: {variation.reference}" in html
