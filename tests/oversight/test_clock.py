"""The one clock dates everything a write leaves: ``created_at``, ``updated_at``
and the history records, so that a pinned clock (a test, the demo replaying
history) dates them all. And production code holds no clock of its own: no
``unittest.mock``, no ``timezone.now()`` outside ``oversight/clock.py``."""

import ast
import html
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from contracts import services as contract_services
from contracts.models import Provider
from oversight import clock
from oversight import services as oversight_services
from oversight.history import bulk_create, bulk_update, delete_with_history, save_with_history
from oversight.models import Role, User

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Moments after the suite's pinned day (tests.dates.DEFAULT_DAY), inside the
# term of the ``world`` fixture's contracts.
CREATED = datetime(2027, 3, 4, 10, 15, tzinfo=UTC)
CHANGED = datetime(2027, 6, 9, 14, 40, tzinfo=UTC)
DELETED = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)


def _latest(obj):
    """The record the last write left (by insertion, not by its date)."""
    return obj.history.order_by("-history_id").first()


def test_a_row_saved_under_a_pinned_clock_is_created_and_dated_then(world):
    admin = world.a.members[Role.ADMIN]
    with clock.pinned(CREATED):
        new = oversight_services.membership_create(
            membership=admin,
            email="new.person@example.org",
            full_name="New Person",
            role=Role.AUDITOR,
            reason="Joins the audit team",
        )
    new.refresh_from_db()
    assert new.created_at == CREATED
    record = _latest(new)
    assert record.history_type == "+"
    assert record.history_date == CREATED
    assert record.history_change_reason == "Joins the audit team"
    person = User.objects.get(email="new.person@example.org")
    assert _latest(person).history_date == CREATED


def test_a_contract_change_is_updated_and_dated_when_the_clock_says(world):
    a = world.a
    commissioner = a.members[Role.COMMISSIONER]
    created_at = a.p1.contract.created_at
    with clock.pinned(CHANGED):
        contract = contract_services.contract_update(
            membership=commissioner,
            contract=a.p1.contract,
            data={"title": "Personal care and reablement"},
            reason="Variation V-7 agreed at review",
        )
    contract.refresh_from_db()
    assert contract.updated_at == CHANGED
    assert contract.created_at == created_at  # a change does not move the creation
    record = _latest(contract)
    assert record.history_type == "~"
    assert record.history_date == CHANGED


def test_the_history_page_shows_the_day_the_clock_said(world, client_for):
    a = world.a
    with clock.pinned(CHANGED):
        contract_services.contract_update(
            membership=a.members[Role.COMMISSIONER],
            contract=a.p1.contract,
            data={"title": "Personal care and reablement"},
            reason="Variation V-7 agreed at review",
        )
    client = client_for(a.user(Role.COMMISSIONER))
    url = reverse("contract_history", args=[a.tenant.slug, a.p1.contract.pk])
    body = html.unescape(client.get(url).content.decode())
    assert "Variation V-7 agreed at review" in body
    assert "9 Jun 2027" in body


def test_bulk_writes_and_deletes_are_dated_by_the_clock(world):
    a = world.a
    actor = a.user(Role.ADMIN)
    with clock.pinned(CREATED):
        (provider,) = bulk_create(
            Provider,
            [Provider(tenant=a.tenant, name="Lakeside Support Services")],
            user=actor,
            reason="Imported from the register",
        )
    with clock.pinned(CHANGED):
        provider.name = "Lakeside Support Services Ltd"
        bulk_update(Provider, [provider], ["name"], user=actor, reason="Legal name")
    dates = [r.history_date for r in provider.history.order_by("history_id")]
    assert dates == [CREATED, CHANGED]
    provider_id = provider.pk
    with clock.pinned(DELETED):
        delete_with_history(provider, user=actor, reason="Never contracted")
    gone = Provider.history.filter(id=provider_id, history_type="-").get()
    assert gone.history_date == DELETED


def test_a_row_saved_twice_is_dated_by_each_save(world):
    """A row keeps the date of its last save on it; a later bulk write of the
    same object is dated by its own moment, not by that earlier save."""
    a = world.a
    actor = a.user(Role.ADMIN)
    provider = Provider(tenant=a.tenant, name="Lakeside")
    with clock.pinned(CREATED):
        save_with_history(provider, user=actor, reason="New")
    with clock.pinned(CHANGED):
        bulk_update(Provider, [provider], ["name"], user=actor, reason="Again")
    assert _latest(provider).history_date == CHANGED


def test_a_plain_save_is_dated_by_the_clock_too(world):
    """A row saved without the helper (a factory, a cascaded delete) still gets a
    history record dated by the clock, so that records sort in the order made."""
    a = world.a
    with clock.pinned(CHANGED):
        provider = Provider(tenant=a.tenant, name="Lakeside")
        provider.save()
    assert _latest(provider).history_date == CHANGED


def _production_files():
    for app in ("oversight", "performance", "contracts"):
        yield from sorted((ROOT / app).rglob("*.py"))


def _imports_mock(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name in ("mock", "unittest.mock") for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            if node.module in ("mock", "unittest.mock"):
                return True
            if node.module == "unittest" and any(a.name == "mock" for a in node.names):
                return True
    return False


# Reading the time of day: what only oversight/clock.py may call.
_CLOCK_CALLS = {
    ("timezone", "now"),
    ("timezone", "localdate"),
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "today"),
    ("datetime", "utcnow"),
}


def _clock_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in _CLOCK_CALLS
        ):
            found.append(f"{node.func.value.id}.{node.func.attr}() at line {node.lineno}")
    return found


def test_production_code_imports_no_mock():
    files = list(_production_files())
    assert any(f.name == "demo.py" for f in files)  # the demo builder is read too
    offenders = [str(f.relative_to(ROOT)) for f in files if _imports_mock(ast.parse(f.read_text()))]
    assert offenders == []


def test_the_mock_finder_finds_a_mock_import():
    for source in (
        "from unittest import mock",
        "from unittest.mock import patch",
        "import unittest.mock",
    ):
        assert _imports_mock(ast.parse(source)), source
    assert not _imports_mock(ast.parse("from unittest import TestCase"))


def test_only_the_clock_reads_the_time():
    offenders = {}
    for f in _production_files():
        if f == ROOT / "oversight" / "clock.py":
            continue
        calls = _clock_calls(ast.parse(f.read_text()))
        if calls:
            offenders[str(f.relative_to(ROOT))] = calls
    assert offenders == {}
    assert _clock_calls(ast.parse("timezone.now()\ndate.today()")) == [
        "timezone.now() at line 1",
        "date.today() at line 2",
    ]
