"""The whole ladder walked on the demo through the API, as the commissioner, the
provider, the executive and the admin would (issue 9, "How it is checked"):

concern → enhanced monitoring (the returns become weekly) → formal notice →
the provider's response → an improvement plan with actions → level 4 approved
by an executive (never the proposer) → money withheld under the remedy,
tied to a plan milestone → the milestone met (done by the provider, verified by
the commissioner) → recovery evidence → de-escalation (monthly again) → the
withheld money released; each step on the contract's dashboard and in the
history with who and why.

The demo is seeded on pinned days (tests/dates.py), inside a transaction rolled
back at the end, so the walk holds whatever the day the suite runs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from contracts.models import Contract
from oversight import clock
from oversight.models import Membership, Role, User
from tests.dates import day_params

# A Riverbend County contract the demo leaves at level 0 (Crossroads' ACT team
# went up and back down; this is its other contract), its provider's member,
# and the county's people.
REFERENCE = "RC-BH-2024-007"
SLUG = "riverbend-county"
COMMISSIONER = "marcus.reyes@riverbendcounty.example"
EXECUTIVE = "loretta.banks@riverbendcounty.example"
ADMIN = "dana.whitfield@riverbendcounty.example"
PROVIDER = "tom.becker@crossroadsbh.example"

DAYS = (dt.date(2026, 12, 1), dt.date(2026, 12, 28))


@pytest.fixture(scope="module", params=day_params("whole-ladder", DAYS))
def seeded(request, django_db_setup, django_db_blocker):
    today = request.param
    with clock.pinned(today), django_db_blocker.unblock(), transaction.atomic():
        seeder = User.objects.create(email="seeder@example.org", full_name="Demo Seeder")
        call_command(
            "seed_demo", "--allow-without-debug", "--actor", seeder.email, stdout=StringIO()
        )
        yield {"today": today}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def _client(email) -> APIClient:
    client = APIClient()
    client.force_login(User.objects.get(email=email))
    return client


def _api(name, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": SLUG, **kwargs})


def _ok(response, code=200) -> dict:
    assert response.status_code == code, response.content
    return response.json()


def _refused(response, field) -> str:
    assert response.status_code == 400, response.content
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert field in errors, errors
    return errors[field]


def _dashboard(contract) -> str:
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(email=COMMISSIONER))
    response = client.get(
        reverse("contract_dashboard", kwargs={"tenant_slug": SLUG, "contract_pk": contract.pk})
    )
    assert response.status_code == 200
    return response.content.decode()


def _step(client, contract, to_level, **over) -> dict:
    body = {
        "contract": contract.pk,
        "to_level": to_level,
        "reason": f"Level {to_level}: the concern has not gone away",
        "proportionality_note": "The smallest step that answers the risk now",
        "next_review_on": (clock.today() + dt.timedelta(days=28)).isoformat(),
    }
    body.update(over)
    return client.post(_api("api-escalation-list"), body, format="json")


def _weekly_periods_after(contract, days: int) -> int:
    """The weekly periods the reporting calendar makes ``days`` from today
    (rolled back: the calendar's next sync is what the nightly job would do)."""
    from performance.models import ReportingPeriod
    from performance.services import reporting_calendar_sync

    with transaction.atomic():
        contract.refresh_from_db()
        reporting_calendar_sync(contracts=[contract], today=clock.today() + dt.timedelta(days))
        count = ReportingPeriod.objects.filter(contract=contract, frequency="weekly").count()
        transaction.set_rollback(True)
    return count


def _history_says(obj, user_email, *, contains=""):
    """The object's latest history row names its user and a reason."""
    obj.refresh_from_db()
    record = obj.history.latest()
    assert record.history_user.email == user_email, (obj, record.history_user)
    assert record.history_change_reason, obj
    assert contains in record.history_change_reason, (contains, record.history_change_reason)


def test_the_whole_ladder_on_the_demo_through_the_api(seeded):
    from escalation.models import (
        EscalationStep,
        FormalNotice,
        ImprovementPlan,
        PlanAction,
        ProviderConcern,
        Withholding,
    )

    contract = Contract.objects.get(reference=REFERENCE)
    commissioner, provider = _client(COMMISSIONER), _client(PROVIDER)
    executive, admin = _client(EXECUTIVE), _client(ADMIN)
    assert contract.reporting_frequency == "monthly"
    assert not EscalationStep.objects.filter(contract=contract).exists()

    # The admin sets the county's remedy: up to 2% of a month's payment may be
    # withheld at level 4 (the default ladder sets no cap).
    ladders = _ok(admin.get(_api("api-ladder-list")))["results"]
    current = next(v for v in ladders if v["is_current"]) if ladders else None
    if current is None:
        current = _ok(
            admin.post(
                _api("api-ladder-list"), {"change_reason": "Adopt the default"}, format="json"
            ),
            201,
        )
    _ok(
        admin.post(
            _api("api-ladder-revise", ladder_version_pk=current["id"]),
            {"stages": [{"level": 4, "withholding_cap_percent": "2.00"}]},
            format="json",
            HTTP_X_CHANGE_REASON="The county's remedy: at most 2% of a month's payment",
        ),
        201,
    )

    # 1. The provider raises an early-warning concern before it is asked.
    concern = _ok(
        provider.post(
            _api("api-concern-list"),
            {
                "contract": contract.pk,
                "drifting": "Response times to new referrals are slipping",
                "drivers": "Two clinicians on long-term sick leave",
                "mitigation": "Agency cover booked for the next six weeks",
                "support_requested": "A temporary cap on referrals",
            },
            format="json",
        ),
        201,
    )
    _history_says(ProviderConcern.objects.get(pk=concern["id"]), PROVIDER)

    # 2. Enhanced monitoring, two levels at once: refused without a written
    # justification (nothing written), then taken with one and the concern as
    # its evidence. The returns become weekly.
    before = EscalationStep.objects.count()
    message = _refused(_step(commissioner, contract, 2), "justification")
    assert "more than one level" in message.lower() or "justif" in message.lower()
    assert EscalationStep.objects.count() == before
    step2 = _ok(
        _step(
            commissioner,
            contract,
            2,
            justification="The provider itself reports the drift: monitoring it weekly now is "
            "proportionate, an informal concern would only repeat what it told us",
            evidence=[{"kind": "provider_concern", "text": concern["drifting"]}],
        ),
        201,
    )
    assert step2["status"] == "effective"
    contract.refresh_from_db()
    assert contract.reporting_frequency == "weekly"
    assert _weekly_periods_after(contract, 45) >= 2
    assert "Enhanced monitoring" in _dashboard(contract)
    _ok(
        provider.post(
            _api("api-escalation-acknowledge", escalation_step_pk=step2["id"]), {}, format="json"
        )
    )

    # 3. A formal notice at level 3; the provider responds in the product.
    step3 = _ok(_step(commissioner, contract, 3), 201)
    notice = _ok(
        commissioner.post(
            _api("api-notice-list"),
            {
                "contract": contract.pk,
                "concerns": "Referral-to-contact times twice the target for three months",
                "required_actions": "A recovery plan for referral response within 10 days",
                "step": step3["id"],
            },
            format="json",
        ),
        201,
    )
    assert notice["response_due_on"]
    responded = _ok(
        provider.post(
            _api("api-notice-respond", formal_notice_pk=notice["id"]),
            {"response": "Plan attached: agency clinicians start Monday; triage redesigned"},
            format="json",
        )
    )
    assert responded["status"] == "responded"
    _history_says(FormalNotice.objects.get(pk=notice["id"]), PROVIDER)

    # 4. An improvement plan with actions, agreed.
    due = (clock.today() + dt.timedelta(days=21)).isoformat()
    plan = _ok(
        commissioner.post(
            _api("api-improvement-plan-list"),
            {
                "contract": contract.pk,
                "step": step3["id"],
                "issue_statement": "New referrals wait too long for first contact",
                "symptoms": "Referral-to-contact at 14 days against a 7-day target",
                "root_causes": ["Two clinician vacancies with no cover arranged"],
                "actions": [
                    {
                        "description": "Recruit two clinicians and book agency cover",
                        "lead": "Tom Becker",
                        "milestone": "Two clinicians in post",
                        "due_on": due,
                        "evidence_expected": "Signed contracts and the rota",
                    }
                ],
                "controls": [{"kind": "safeguarding", "description": "Daily triage of waits"}],
            },
            format="json",
        ),
        201,
    )
    _ok(
        commissioner.post(
            _api("api-improvement-plan-agree", improvement_plan_pk=plan["id"]),
            {"note": "Agreed at the meeting"},
            format="json",
        )
    )
    action_id = plan["actions"][0]["id"]

    # 5. Level 4 needs an executive's approval: pending until approved, and the
    # proposer cannot approve it.
    step4 = _ok(_step(commissioner, contract, 4), 201)
    assert step4["status"] == "pending"
    assert (
        _client(COMMISSIONER)
        .post(_api("api-escalation-approve", escalation_step_pk=step4["id"]), {}, format="json")
        .status_code
        == 403
    )
    assert (
        _ok(executive.get(_api("api-escalation-detail", escalation_step_pk=step4["id"])))["status"]
        == "pending"
    )
    approved = _ok(
        executive.post(
            _api("api-escalation-approve", escalation_step_pk=step4["id"]),
            {"note": "The plan is credible; the remedy is proportionate"},
            format="json",
        )
    )
    assert approved["status"] == "effective"
    _history_says(EscalationStep.objects.get(pk=step4["id"]), EXECUTIVE)

    # 6. Money withheld under the remedy, tied to the plan's milestone; a retry
    # with the same key writes nothing more.
    month = clock.today().strftime("%Y-%m")
    body = {
        "contract": contract.pk,
        "period": month,
        "amount": "100.00",
        "ground": "Until two clinicians are in post (the plan's first milestone)",
        "tied_kind": "plan_action",
        "tied_id": action_id,
        "step": step4["id"],
    }
    key = str(uuid.uuid4())
    headers = {"HTTP_IDEMPOTENCY_KEY": key, "HTTP_X_CHANGE_REASON": "Remedy under level 4"}
    withholding = _ok(
        commissioner.post(_api("api-withholding-list"), body, format="json", **headers), 201
    )
    replay = commissioner.post(_api("api-withholding-list"), body, format="json", **headers)
    assert replay.status_code == 201 and replay.json()["id"] == withholding["id"]
    assert Withholding.objects.filter(contract=contract).count() == 1
    # Not released before the milestone is met.
    _refused(
        commissioner.post(
            _api("api-withholding-release", withholding_pk=withholding["id"]),
            {"note": "Early"},
            format="json",
        ),
        "milestone",
    )

    # 7. The provider marks the action done with evidence; the commissioner verifies.
    _ok(
        provider.post(
            _api("api-plan-action-done", plan_action_pk=action_id),
            {"completion_evidence": "Both clinicians signed; rota attached"},
            format="json",
        )
    )
    _ok(
        commissioner.post(
            _api("api-plan-action-verify", plan_action_pk=action_id),
            {"note": "Checked the contracts and the rota"},
            format="json",
        )
    )
    _history_says(PlanAction.objects.get(pk=action_id), COMMISSIONER, contains="Verified")

    # 8. De-escalation needs recorded evidence of recovery; with it, the contract
    # comes down to an informal concern and reports monthly again.
    down = {"justification": "Recovered across the board: three levels down is proportionate"}
    _refused(_step(commissioner, contract, 1, **down), "recovery_evidence")
    step_down = _ok(
        _step(
            commissioner,
            contract,
            1,
            recovery_evidence="Referral-to-contact back at 6 days for six weeks; "
            "the plan's milestone verified",
            **down,
        ),
        201,
    )
    assert step_down["status"] == "effective"
    contract.refresh_from_db()
    assert contract.reporting_frequency == "monthly"

    # 9. The withheld money is released now the milestone is met.
    released = _ok(
        commissioner.post(
            _api("api-withholding-release", withholding_pk=withholding["id"]),
            {"note": "Milestone verified: both clinicians in post"},
            format="json",
        )
    )
    assert released["status"] == "released"
    _history_says(Withholding.objects.get(pk=withholding["id"]), COMMISSIONER)

    # Each step is on the record, the dashboard and in the history.
    steps = list(EscalationStep.objects.filter(contract=contract).order_by("proposed_at", "id"))
    assert [(s.from_level, s.to_level, s.status) for s in steps] == [
        (0, 2, "effective"),
        (2, 3, "effective"),
        (3, 4, "effective"),
        (4, 1, "effective"),
    ]
    for step in steps:
        record = step.history.earliest()
        assert record.history_user.email == COMMISSIONER and record.history_change_reason
    page = _dashboard(contract)
    assert "Informal concern" in page
    assert ImprovementPlan.objects.get(pk=plan["id"]).contract_id == contract.pk
    # The provider sees its own contracts' steps, nobody else's.
    member = Membership.objects.get(user__email=PROVIDER, role=Role.PROVIDER)
    theirs = _ok(provider.get(_api("api-escalation-list")))["results"]
    assert {s["contract"] for s in theirs} >= {contract.pk}
    assert set(
        Contract.objects.filter(pk__in={s["contract"] for s in theirs}).values_list(
            "provider_id", flat=True
        )
    ) == {member.provider_id}
