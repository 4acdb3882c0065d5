"""Browser tests: Playwright (sync API) driving the system Chromium against
pytest-django's live server, with axe-core from npm for accessibility.

No browser is ever downloaded: Chromium comes from the OS (Debian's ``chromium``
package at /usr/bin/chromium, or $CHROMIUM_PATH). Without it, or without
node_modules/axe-core (``npm ci``), these tests skip and say why; with
OVERSIGHT_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead.
"""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# Every WCAG 2.0, 2.1 and 2.2 level A and AA rule axe has, plus its best practices.
# (axe tags its 2.2 level-A rules, if any, wcag22a; 4.x has only wcag22aa ones.)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about"}


def _browser_required() -> bool:
    return os.environ.get("OVERSIGHT_REQUIRE_BROWSER", "") not in ("", "0")


def _unavailable(reason: str):
    if _browser_required():
        pytest.fail(f"OVERSIGHT_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _unavailable(
            f"no Chromium at {path}: install Debian's chromium "
            "(apt-get install -y chromium) or set CHROMIUM_PATH"
        )
    if not AXE_JS.is_file():
        _unavailable(f"axe-core is not installed at {AXE_JS}: run npm ci")
    return path


@pytest.fixture
def browser(chromium_executable, _allow_orm_beside_playwright, transactional_db, live_server):
    """Chromium for one test, started after the live server and the test database
    and stopped before them. While Playwright's sync API runs, this thread has an
    event loop, so Django's async-safety check is relaxed for these tests."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as error:
        playwright.stop()
        _unavailable(f"Chromium at {chromium_executable} did not start: {error}")
    yield browser
    browser.close()
    # While Playwright runs, Django keeps this thread's database connections in a
    # separate (async-context) store; close them before it stops, or they outlive
    # the test and block dropping the PostgreSQL test database.
    connections.close_all()
    playwright.stop()


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    """Playwright's sync API keeps an event loop running in this thread, so Django
    takes the test's own (synchronous) ORM calls for calls from async code. Allow
    them, for the browser tests only; the live server runs in its own thread."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class ExternalRequests(list):
    """Every request the page made to anything but the live server."""


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context and page on the live server. Any request for a
    resource off the live server (a CDN, a font service…) is blocked and fails
    the test: the product must work with no internet access."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    external = ExternalRequests()

    def is_local(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS

    def on_request(request):
        if not is_local(request.url):
            external.append(f"{request.resource_type} {request.url} (from {request.frame.url})")

    def block_external(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.on("request", on_request)
    context.route("**/*", block_external)
    page = context.new_page()
    page.external_requests = external
    yield page
    context.close()
    assert not external, "pages loaded resources from outside the live server:\n" + "\n".join(
        external
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
            f"\n  {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            lines.append(f"    target: {json.dumps(node['target'])}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def axe_violations(page) -> list[dict]:
    """Run axe-core (from node_modules, injected into the page) on the whole page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    known_tags = set(page.evaluate("() => axe.getRules().flatMap(rule => rule.tags)"))
    tags = [tag for tag in AXE_TAGS if tag in known_tags]
    results = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        tags,
    )
    return results["violations"]


@pytest.fixture
def assert_accessible():
    """``assert_accessible(page, "what this page is")``: zero axe violations."""

    def check(page, label: str) -> None:
        page.wait_for_load_state("load")
        assert not page.external_requests, (
            f"{label} loaded resources from outside the live server:\n"
            + "\n".join(page.external_requests)
        )
        violations = axe_violations(page)
        if violations:
            pytest.fail(
                f"axe found {len(violations)} accessibility violation(s) on {label} "
                f"({page.url}):\n{format_violations(violations)}",
                pytrace=False,
            )

    return check


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, user)``: sign in through the real login form."""

    def _sign_in(page, user, password: str = PASSWORD):
        page.goto(reverse("login"))
        page.get_by_label("Email address").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("load")
        assert "/accounts/login/" not in page.url, f"sign-in failed for {user.email}"
        return page

    return _sign_in
