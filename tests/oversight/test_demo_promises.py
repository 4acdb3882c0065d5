"""What the README promises a demo visitor, on any seeding day.

Every commissioner opens Returns to submitted returns waiting for their review;
a deteriorating contract's dashboard charts more than a year of risk scores,
computed by the signals engine as the nightly job would have run at each
month-end, and rising; ``seed_demo`` prints the logins, not the emails the
demo's past would have sent; and links in emails point at ``SITE_URL``.

The demo is seeded once per date in ``DAYS`` (add dates to try the promises on
other seeding days). The seed is committed, as ``scripts/demo`` commits it,
because the emails it must not print go out on commit; the database is flushed
afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.test.utils import override_settings
from django.urls import reverse

from contracts.models import Contract
from oversight import clock
from oversight.models import Tenant, User
from oversight.notifications import notify
from oversight.tasks import send_welcome_email
from performance import demo
from performance.models import Return, ReturnStatus, RiskScore, Signal, SignalStatus
from tests.dates import day_params
from tests.factories import MembershipFactory, TenantFactory, UserFactory

# A month end, and the last week of December (the year's history crosses a new year).
DAYS = (date(2026, 3, 31), date(2026, 12, 28))
ROOT = Path(__file__).resolve().parents[2]
US, NHS = "riverbend-county", "wessex-vale-icb"

# The README's demo logins.
LOGINS = {
    US: [
        "dana.whitfield@riverbendcounty.example",
        "marcus.reyes@riverbendcounty.example",
        "priya.natarajan@riverbendcounty.example",
        "loretta.banks@riverbendcounty.example",
        "jordan.ellis@publicaudit.example",
        "angela.morris@heartlandhomecare.example",
        "tom.becker@crossroadsbh.example",
        "keisha.grant@harborhousing.example",
    ],
    NHS: [
        "fiona.campbell@wessexvale-icb.example",
        "rachel.adeyemi@wessexvale-icb.example",
        "james.thornton@wessexvale-icb.example",
        "helen.marsh@wessexvale-icb.example",
        "jordan.ellis@publicaudit.example",
        "hannah.price@brightwatercare.example",
        "oliver.grant@pathwaysmh.example",
    ],
}
COMMISSIONERS = [
    (US, "marcus.reyes@riverbendcounty.example"),
    (US, "priya.natarajan@riverbendcounty.example"),
    (NHS, "rachel.adeyemi@wessexvale-icb.example"),
    (NHS, "james.thornton@wessexvale-icb.example"),
]


@dataclass
class Seeded:
    today: date
    output: str  # everything the command printed, emails on the console included


@pytest.fixture(scope="module", params=day_params("demo-promises", DAYS))
def seeded(request, django_db_setup, django_db_blocker):
    today = request.param
    out, console = StringIO(), StringIO()
    with clock.pinned(today), django_db_blocker.unblock():
        try:
            # The demo's own email setting (the console), not the test-suite's memory.
            with (
                override_settings(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend"),
                redirect_stdout(console),
            ):
                call_command(
                    "seed_demo", "--allow-without-debug", "--today", today.isoformat(), stdout=out
                )
            yield Seeded(today, out.getvalue() + console.getvalue())
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def _month_ends_before(today: date, count: int) -> list[date]:
    """The ``count`` last days of a month before ``today``, oldest first."""
    ends, day = [], today
    while len(ends) < count:
        day = day.replace(day=1) - timedelta(days=1)
        ends.append(day)
    return ends[::-1]


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)


# --- the seed's output ------------------------------------------------------------------


def test_the_seed_prints_every_login_and_no_email(seeded):
    output = seeded.output
    for slug, emails in LOGINS.items():
        assert f"/t/{slug}/" in output
        for email in emails:
            assert email in output, email
    assert "'oversight-demo'" in output
    # No email on the console: no headers, no bodies of queried-return or signal notices.
    for email_text in ("Subject:", "Content-Type:", "From: oversight@localhost", "was queried"):
        assert email_text not in output, email_text
    assert len(output.splitlines()) < 40, output


# --- returns waiting for review ------------------------------------------------------------


@pytest.mark.parametrize(("slug", "email"), COMMISSIONERS)
def test_every_commissioner_has_submitted_returns_to_review(seeded, client, slug, email):
    user = User.objects.get(email=email)
    managed = set(
        Contract.objects.filter(tenant__slug=slug, contract_manager=user).values_list(
            "reference", flat=True
        )
    )
    client.force_login(user)
    page = client.get(f"/t/{slug}/returns/", {"state": "submitted"}).content.decode()

    waiting = [row for row in _rows(page) if "Submitted, awaiting review" in row]
    mine = [row for row in waiting if any(ref in row for ref in managed)]
    assert mine, f"{email} has no return of their own to review"
    assert all("Review version 1" in row for row in mine)
    # Each is the contract's latest return, not an old one forgotten.
    for ret in Return.objects.filter(
        contract__contract_manager=user, status=ReturnStatus.SUBMITTED
    ).select_related("period"):
        latest = Return.objects.filter(contract=ret.contract).order_by("-period__start").first()
        assert latest.period == ret.period, ret.contract.reference


# --- a year of risk scores, computed by the engine ---------------------------------------


def _deteriorating(today: date) -> list[Contract]:
    found = [
        c
        for c in Contract.objects.select_related("tenant", "contract_manager").order_by("reference")
        if demo.story_of(c, today) == demo.DETERIORATING
    ]
    assert len(found) >= 2
    return found


def test_a_deteriorating_dashboard_charts_more_than_a_year_of_rising_risk(seeded, client):
    today = seeded.today
    first_day = _month_ends_before(today, 13)[0]
    assert (today - first_day).days > 365
    for contract in _deteriorating(today):
        scores = list(
            RiskScore.objects.filter(contract=contract)
            .order_by("day")
            .values_list("score", flat=True)
        )
        assert len(scores) >= 13, contract.reference
        assert mean(scores[-4:]) >= mean(scores[:4]) + 25, (contract.reference, scores)

        client.force_login(contract.contract_manager)
        url = reverse(
            "contract_dashboard",
            kwargs={"tenant_slug": contract.tenant.slug, "contract_pk": contract.pk},
        )
        page = client.get(url).content.decode()
        assert "Only one day's score so far" not in page
        span = f"from {first_day:%-d %b %Y} to {today:%-d %b %Y}"
        assert f"Daily risk score of {contract.reference} {span}" in page, contract.reference
        history = page.split("Risk scores as a table", 1)[1].split("</table>", 1)[0]
        assert len(_rows(history)) >= 14, contract.reference  # header row and 13+ days


def test_the_history_is_the_nightly_engine_run_at_each_month_end(seeded):
    today = seeded.today
    month_ends = _month_ends_before(today, 13)
    for slug in (US, NHS):
        tenant = Tenant.objects.get(slug=slug)
        zone = ZoneInfo(tenant.time_zone)
        # A contract running for the whole year was scored at every month-end and today.
        long_running = Contract.objects.filter(
            tenant=tenant, status="active", start_date__lte=month_ends[0]
        ).first()
        days = list(
            RiskScore.objects.filter(contract=long_running)
            .order_by("day")
            .values_list("day", flat=True)
        )
        assert days == [*month_ends, today], long_running.reference
        # Written on that night, not back-filled afterwards.
        for score in RiskScore.objects.filter(tenant=tenant, day__lt=today):
            record = score.history.get(history_type="+")
            assert record.history_date.astimezone(zone).date() == score.day, score
        # A contract not started yet was not scored.
        for contract in Contract.objects.filter(tenant=tenant, start_date__gt=month_ends[0]):
            first = RiskScore.objects.filter(contract=contract).order_by("day").first()
            assert first is None or first.day >= contract.start_date, contract.reference
        # As the months' data came in, the engine opened signals and closed others.
        closed = Signal.objects.filter(tenant=tenant, status=SignalStatus.CLOSED)
        assert closed.exists(), slug
        assert all(s.opened_at.astimezone(zone).date() < today for s in closed)


# --- links in emails ----------------------------------------------------------------------


def test_email_links_use_site_url(settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://oversight.example.gov:8443"
    tenant = TenantFactory(name="Alder County")
    user = UserFactory(email="newcomer@example.org", full_name="Nia Newcomer")
    user.set_unusable_password()
    user.save()
    membership = MembershipFactory(tenant=tenant, user=user)

    assert send_welcome_email(membership.id)  # as a management command sends it: no request
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            tenant=tenant,
            users=[user],
            kind="signal",
            message="A new signal",
            url="/t/alder/contracts/7/dashboard/",
            email_subject="A new signal",
        )

    welcome, notice = mail.outbox
    [link] = re.findall(r"\S+://\S+", welcome.body)
    assert link.startswith("https://oversight.example.gov:8443/") and link.endswith("/")
    assert "https://oversight.example.gov:8443/t/alder/contracts/7/dashboard/" in notice.body


def _site_url(**env: str) -> str:
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", "import oversight.settings as s; print(s.SITE_URL)"],
        cwd=ROOT,
        env={**base, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_site_url_defaults_to_the_demo_server_and_its_port():
    assert _site_url() == "http://127.0.0.1:8000"
    assert _site_url(DEMO_PORT="8107") == "http://127.0.0.1:8107"
    assert _site_url(SITE_URL="https://oversight.example.org/", DEMO_PORT="8107") == (
        "https://oversight.example.org"
    )
