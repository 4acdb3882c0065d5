"""The demo's data files: every app's part reads YAML beside it, and a file that
is missing, misspelled or inconsistent stops the build with a message naming
the file and the key, before anything is written."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contracts import demo as contracts_demo
from oversight import demo as core_demo
from oversight.demo_files import DemoFileError, choices, load, unknown_placeholders
from oversight.models import Tenant
from performance import demo as performance_demo

# --- a small spec to try the loader's rules on ---------------------------------------


@dataclass(frozen=True)
class Site:
    name: str
    opened: int | None = None


@dataclass(frozen=True)
class Thing:
    code: str
    size: float
    colour: str = field(metadata=choices(["red", "green"]))
    sites: tuple[Site, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    pair: tuple[str, int] | None = None
    active: bool = True


@dataclass(frozen=True)
class ThingsFile:
    things: tuple[Thing, ...]

    def problems(self):
        codes = [t.code for t in self.things]
        for i, code in enumerate(codes):
            if codes.index(code) != i:
                yield f"things[{i}]", f"the code {code!r} is used twice"


def write(tmp_path: Path, text: str, name: str = "things.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(DemoFileError) as caught:
        load(write(tmp_path, text), ThingsFile)
    return str(caught.value)


GOOD = """
things:
  - code: a
    size: 2
    colour: red
    sites:
      - {name: North, opened: -30}
      - {name: South}
    labels: {uk: Ay}
    pair: [x, 3]
  - {code: b, size: 1.5, colour: green, active: false}
"""


def test_a_good_file_becomes_the_dataclasses_with_their_defaults(tmp_path):
    data = load(write(tmp_path, GOOD), ThingsFile)
    a, b = data.things
    assert a == Thing(
        code="a",
        size=2.0,
        colour="red",
        sites=(Site("North", -30), Site("South", None)),
        labels={"uk": "Ay"},
        pair=("x", 3),
    )
    assert isinstance(a.size, float)
    assert b.sites == () and b.labels == {} and b.pair is None and b.active is False


def test_a_missing_key_names_the_file_the_record_and_the_key(tmp_path):
    message = error(tmp_path, "things:\n  - {code: a, colour: red}\n")
    assert message.endswith("things.yaml: things[0] (a): missing key 'size'")


def test_a_misspelled_key_names_the_key_and_the_one_meant(tmp_path):
    message = error(tmp_path, "things:\n  - {code: a, size: 1, colour: red, actve: true}\n")
    assert "things.yaml: things[0] (a).actve: unknown key 'actve' (did you mean 'active'?)" in (
        message
    )


def test_a_missing_top_level_key_is_named(tmp_path):
    assert error(tmp_path, "thing: []\n").endswith(
        "things.yaml: thing: unknown key 'thing' (did you mean 'things'?)"
    )
    assert error(tmp_path, "{}\n").endswith("things.yaml: (top level): missing key 'things'")


def test_a_nested_record_is_named_by_its_path(tmp_path):
    message = error(
        tmp_path, "things:\n  - {code: a, size: 1, colour: red, sites: [{name: N, open: 3}]}\n"
    )
    assert "things[0] (a).sites[0] (N).open: unknown key 'open' (did you mean 'opened'?)" in (
        message
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("size: big", "things[0] (a).size: expected a number, got text"),
        ("size: true", "things[0] (a).size: expected a number, got true/false"),
        ("size: 1, sites: {name: N}", "things[0] (a).sites: expected a list, got a mapping"),
        ("size: 1, pair: [x]", "things[0] (a).pair: expected a list of 2, got 1"),
        ("size: 1, active: 1", "things[0] (a).active: expected true or false, got a number"),
        (
            "size: 1, labels: {uk: 12}",
            "things[0] (a).labels.uk: expected text, got a number (put it in quotes)",
        ),
    ],
)
def test_a_value_of_the_wrong_kind_is_named(tmp_path, value, expected):
    text = "things:\n  - {code: a, colour: red, " + value + "}\n"
    assert error(tmp_path, text).endswith(expected)


def test_text_is_not_coerced_from_a_number(tmp_path):
    # An unquoted 2400000.00 is a number in YAML; money is kept as exact text.
    message = error(tmp_path, "things:\n  - {code: 12, size: 1, colour: red}\n")
    assert message.endswith("things[0].code: expected text, got a number (put it in quotes)")


def test_a_value_outside_the_choices_lists_them(tmp_path):
    message = error(tmp_path, "things:\n  - {code: a, size: 1, colour: blue}\n")
    assert message.endswith("things[0] (a).colour: 'blue' is not one of: red, green")


def test_the_specs_own_checks_name_where(tmp_path):
    text = "things:\n  - {code: a, size: 1, colour: red}\n  - {code: a, size: 2, colour: red}\n"
    assert error(tmp_path, text).endswith("things.yaml: things[1]: the code 'a' is used twice")


def test_a_missing_file_and_broken_yaml_are_named(tmp_path):
    with pytest.raises(DemoFileError, match=r"nowhere\.yaml: no such file"):
        load(tmp_path / "nowhere.yaml", ThingsFile)
    message = error(tmp_path, "things:\n  - code: a\n    size: [1\n    colour: red\n")
    assert re.search(r"things\.yaml: line \d+: not valid YAML \(.+\)$", message), message


def test_a_template_with_an_unknown_placeholder_is_a_problem():
    problems = list(unknown_placeholders("queries", ["{kpi} ok", "{kpii} for {label}"], {"kpi"}))
    assert problems == [
        ("queries[1]", "unknown placeholder {kpii} (this text may use: {kpi})"),
    ]


# --- the shipped files -------------------------------------------------------------------


def test_every_shipped_demo_file_reads_and_is_consistent():
    tenants = core_demo.demo_tenants()
    assert [t.slug for t in tenants] == ["riverbend-county", "wessex-vale-icb"]
    for tenant in tenants:
        register = contracts_demo.register(tenant.slug)
        keys = {p.key for p in register.providers}
        assert {u.provider for u in tenant.users if u.provider} <= keys, tenant.slug
        emails = {u.email for u in tenant.users}
        for contract in register.contracts:
            assert {
                contract.contract_manager,
                contract.service_owner,
                contract.executive_sponsor,
            } <= emails
    data = performance_demo.data()
    references = {c.reference for t in tenants for c in contracts_demo.register(t.slug).contracts}
    assert set(data.stories.stories) <= references
    assert set(data.stories.awaiting_review) <= references
    assert set(data.stories.sources) <= references


def test_the_words_may_only_fill_in_what_the_demo_gives_them(tmp_path, monkeypatch):
    words = tmp_path / "words.yaml"
    text = (performance_demo.DATA_DIR / "words.yaml").read_text(encoding="utf-8")
    words.write_text(
        text.replace("the {commissioner} is in place", "the {comissioner} is in place"),
        encoding="utf-8",
    )
    with pytest.raises(DemoFileError, match=r"narratives\.dip\[1\]: unknown placeholder"):
        load(words, performance_demo.WordsFile)


def test_measures_must_name_kpis_of_the_library(tmp_path, monkeypatch):
    for name in ("library.yaml", "stories.yaml", "words.yaml", "measures.yaml"):
        shutil.copy(performance_demo.DATA_DIR / name, tmp_path / name)
    measures = tmp_path / "measures.yaml"
    text = measures.read_text(encoding="utf-8")
    measures.write_text(text.replace("[missed-visits,", "[missed-visit,", 1), encoding="utf-8")
    monkeypatch.setattr(performance_demo, "DATA_DIR", tmp_path)
    performance_demo.data.cache_clear()
    try:
        with pytest.raises(DemoFileError, match=r"'missed-visit' is not in library\.yaml"):
            performance_demo.data()
    finally:
        performance_demo.data.cache_clear()


# --- seed_demo with a bad file -----------------------------------------------------------


@pytest.fixture
def broken_register(tmp_path, monkeypatch):
    """The register files in a folder of their own, to be broken by the test."""
    for slug in ("riverbend-county", "wessex-vale-icb"):
        shutil.copy(contracts_demo.register_path(slug), tmp_path / f"{slug}.yaml")
    monkeypatch.setattr(contracts_demo, "DATA_DIR", tmp_path)
    contracts_demo.register.cache_clear()
    yield tmp_path
    contracts_demo.register.cache_clear()


def seed() -> None:
    call_command("seed_demo", "--allow-without-debug", "--today", "2026-06-01", stdout=StringIO())


def test_seed_demo_names_the_file_and_key_and_writes_nothing(db, broken_register, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The second tenant's file is the broken one: the first tenant, built by
    # then, is rolled back with it.
    path = broken_register / "wessex-vale-icb.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    title: Home care", "    titel: Home care", 1))
    with pytest.raises(CommandError) as caught:
        seed()
    message = str(caught.value)
    assert message.startswith("Demo data: ")
    assert "wessex-vale-icb.yaml: contracts[1] (WV-HC-2023-011).titel: unknown key 'titel'" in (
        message
    )
    assert "did you mean 'title'?" in message
    assert not Tenant.objects.exists()


def test_seed_demo_checks_contract_owners_against_the_members(db, broken_register, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    path = broken_register / "riverbend-county.yaml"
    text = path.read_text(encoding="utf-8")
    # An executive cannot be a contract manager (contracts/services.py OWNER_ROLES).
    path.write_text(
        text.replace(
            "contract_manager: marcus.reyes@riverbendcounty.example",
            "contract_manager: loretta.banks@riverbendcounty.example",
            1,
        )
    )
    with pytest.raises(CommandError) as caught:
        seed()
    assert (
        "riverbend-county.yaml: RC-HCBS-2024-001.contract_manager: "
        "loretta.banks@riverbendcounty.example (executive) cannot be the contract_manager"
    ) in str(caught.value)
    assert not Tenant.objects.exists()
