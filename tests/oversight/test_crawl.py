"""A crawl of the real demo: as one member of every role in both demo tenants,
follow every link reachable from the home page and fail on any server error.

The demo is seeded once for the module (``seed_demo``, pinned to a fixed date)
inside a transaction that is rolled back at the end. The crawl is breadth-first
and bounded: same-origin GETs only, never signing out, at most a few pages of
each URL shape (``/t/x/contracts/<n>/``) and at most ``MAX_PAGES`` per member,
so that it visits every kind of page without every row of every list.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from datetime import date
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from oversight import clock
from oversight.models import Membership, Role, User

SLUGS = ("riverbend-county", "wessex-vale-icb")
SEED_DAY = date(2026, 11, 16)
MAX_PAGES = 150
PER_SHAPE = 2
SKIP = (
    re.compile(r"^/accounts/logout/"),  # signing out would end the crawl
    re.compile(r"^/static/"),
    re.compile(r"^/media/"),
)


@pytest.fixture(autouse=True)
def pinned_day():
    """The crawl reads the demo on the day it was seeded."""
    with clock.pinned(SEED_DAY):
        yield SEED_DAY


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with clock.pinned(SEED_DAY), django_db_blocker.unblock(), transaction.atomic():
        seeder = User.objects.create(email="seeder@example.org", full_name="Demo Seeder")
        call_command(
            "seed_demo",
            "--allow-without-debug",
            "--actor",
            seeder.email,
            "--today",
            SEED_DAY.isoformat(),
            stdout=StringIO(),
        )
        yield
        transaction.set_rollback(True)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _same_origin_path(base: str, href: str) -> str | None:
    """The path and query of a same-origin link, or None for anything else."""
    if href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(urljoin(f"http://testserver{base}", href))
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if any(rule.match(path) for rule in SKIP):
        return None
    return path


def _shape(path: str) -> str:
    """/t/a/contracts/12/?page=3&status=x → /t/a/contracts/<n>/?page&status"""
    route, _, query = path.partition("?")
    keys = sorted({pair.partition("=")[0] for pair in query.split("&") if pair})
    return re.sub(r"/\d+(?=/|$)", "/<n>", route) + ("?" + "&".join(keys) if keys else "")


def crawl(client: Client, start: list[str]) -> tuple[list[str], list[str]]:
    """Breadth-first from ``start``: (pages visited, 'status url ← from' of each 5xx)."""
    queue = deque((path, "(start)") for path in start)
    seen = set(start)
    shapes: Counter[str] = Counter()
    visited: list[str] = []
    failures: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        path, came_from = queue.popleft()
        shape = _shape(path)
        if shapes[shape] >= PER_SHAPE:
            continue
        shapes[shape] += 1
        response = client.get(path)
        visited.append(path)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {path} ← {came_from}")
            continue
        found: list[str] = []
        if response.status_code in (301, 302, 303, 307, 308):
            found = [response["Location"]]
        elif "text/html" in response.get("Content-Type", ""):
            parser = _Links()
            parser.feed(response.content.decode("utf-8", "replace"))
            found = parser.hrefs
        for href in found:
            link = _same_origin_path(path, href)
            if link is not None and link not in seen:
                seen.add(link)
                queue.append((link, path))
    return visited, failures


def _one_member_per_role():
    memberships = (
        Membership.objects.filter(tenant__slug__in=SLUGS, is_active=True)
        .select_related("user", "tenant")
        .order_by("tenant__slug", "role", "user__email")
    )
    chosen: dict[tuple[str, str], Membership] = {}
    for m in memberships:
        chosen.setdefault((m.tenant.slug, m.role), m)
    return chosen


@pytest.mark.django_db
def test_every_role_of_both_demo_tenants_can_follow_every_link_without_a_server_error(seeded):
    chosen = _one_member_per_role()
    assert sorted(chosen) == [(slug, role) for slug in SLUGS for role in sorted(Role.values)]
    report: list[str] = []
    for (slug, role), membership in sorted(chosen.items()):
        client = Client(raise_request_exception=False)
        client.force_login(membership.user)
        visited, failures = crawl(client, ["/", f"/t/{slug}/"])
        # the crawl went somewhere: past the home page into the tenant's pages
        assert len(visited) >= 10, (slug, role, visited)
        report += [f"{slug} {role} {membership.user.email}: {line}" for line in failures]
    assert not report, "Server errors:\n" + "\n".join(report)
