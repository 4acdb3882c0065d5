"""What a first visit to each kind of page costs in a real browser, over the demo.

Drives the system Chromium (Playwright, Debian's /usr/bin/chromium, never a
downloaded browser) against a running demo server, signed in, and for each page
type prints the median over --repeat cold loads (a new browser context each
time: empty cache, as a first visit) and one warm load (the same context again):

- **server**: the time from the request to the first byte of the page
  (Navigation Timing ``responseStart - requestStart``), i.e. the view's time;
- **transfer**: the bytes that came over the wire for the page and all it
  loaded (``transferSize`` of the navigation and every resource: compressed
  size when compressed, 0 for what came from the cache);
- **load**: until the ``load`` event ended;
- **ready**: until every chart in the first screen (the viewport, 1280 x 800)
  was drawn (its ``[data-chart]`` element has ``data-rendered``), polled each
  animation frame; about the load on a page with no charts in view. This is
  the time until the page is interactive: the target for the dashboard is
  under 1 s on this machine;
- **scroll**: on a page with charts, from scrolling the first chart into view
  (once ready) until it is drawn (charts are drawn as they come into view).

Start the demo first, then run this from the repository root:

    .venv/bin/python manage.py migrate -v0 && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py runserver 127.0.0.1:8000 &
    .venv/bin/python bench/pages.py [--base-url http://127.0.0.1:8000] [--repeat 5]

The script reads the demo database (the same settings as the server) only to
find the pages' addresses: the contract with the most KPIs, a period whose
return the provider can fill in, a live signal. It sends requests to the base
URL only, which must be on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
COMMISSIONER = "marcus.reyes@riverbendcounty.example"
PASSWORD = "oversight-demo"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

# Until every chart whose box starts inside the viewport is drawn (or there is
# none): returns milliseconds since the navigation started.
CHARTS_IN_VIEW_DRAWN = """() => {
  const inView = Array.from(document.querySelectorAll('[data-chart]')).filter(
    (el) => el.getBoundingClientRect().top < window.innerHeight);
  const drawn = inView.every((el) => el.hasAttribute('data-rendered'));
  return drawn && document.readyState === 'complete' ? performance.now() : false;
}"""

TIMINGS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  return {
    server: nav.responseStart - nav.requestStart,
    load: nav.loadEventEnd,
    transfer: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    decoded: nav.decodedBodySize + resources.reduce((sum, r) => sum + r.decodedBodySize, 0),
    charts: document.querySelectorAll('[data-chart]').length,
  };
}"""


def demo_pages() -> tuple[str, str, list[tuple[str, str, str]]]:
    """(commissioner email, provider email, [(page type, who, path)]) from the
    demo database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")
    import django

    django.setup()
    from django.db.models import Count
    from django.urls import reverse

    from contracts.models import Contract
    from oversight.models import Membership, Role
    from performance.models import ReportingPeriod, Return, ReturnStatus, Signal, SignalStatus

    commissioner = Membership.objects.select_related("tenant").get(
        user__email=COMMISSIONER, role=Role.COMMISSIONER
    )
    tenant = commissioner.tenant
    contract = (
        Contract.objects.filter(tenant=tenant)
        .annotate(kpis=Count("contract_kpis"))
        .order_by("-kpis", "pk")
        .first()
    )
    provider = (
        Membership.objects.filter(tenant=tenant, role=Role.PROVIDER, provider=contract.provider)
        .select_related("user")
        .first()
    )
    # A period that has ended whose return is still to be written: the form.
    written = Return.objects.exclude(status=ReturnStatus.QUERIED).values("period_id")
    period = (
        ReportingPeriod.objects.filter(contract__provider=contract.provider)
        .exclude(pk__in=written)
        .order_by("-start")
        .first()
    )
    signal = (
        Signal.objects.filter(tenant=tenant).exclude(status=SignalStatus.CLOSED).order_by("pk")
    ).first()
    slug = tenant.slug

    def url(name, **kwargs):
        return reverse(name, kwargs={"tenant_slug": slug, **kwargs})

    pages = [
        ("dashboard", "commissioner", url("contract_dashboard", contract_pk=contract.pk)),
        ("register", "commissioner", url("contract_list")),
        ("returns overview", "commissioner", url("returns_home")),
    ]
    if period is not None:
        pages.append(("return form", "provider", url("period_return", period_pk=period.pk)))
    if signal is not None:
        pages.append(("signal page", "commissioner", url("signal_detail", signal_pk=signal.pk)))
    return COMMISSIONER, provider.user.email, pages


def sign_in(browser, base_url: str, email: str) -> dict:
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    if "/accounts/login/" in page.url:
        raise SystemExit(f"could not sign in as {email}: is the demo seeded?")
    state = context.storage_state()
    context.close()
    return state


def measure(context, path: str) -> dict:
    page = context.new_page()
    page.goto(path, wait_until="load")
    charts_ms = page.wait_for_function(CHARTS_IN_VIEW_DRAWN, polling="raf", timeout=60_000)
    figures = page.evaluate(TIMINGS)
    figures["ready"] = charts_ms.json_value()
    figures["scroll"] = None
    if figures["charts"]:
        page.evaluate(
            "() => { window.__scrolledAt = performance.now();"
            " document.querySelector('[data-chart]').scrollIntoView(); }"
        )
        drawn = page.wait_for_function(
            "() => document.querySelector('[data-chart]').hasAttribute('data-rendered')"
            " && performance.now() - window.__scrolledAt",
            polling="raf",
            timeout=60_000,
        )
        figures["scroll"] = drawn.json_value()
    page.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if urlsplit(args.base_url).hostname not in LOCAL_HOSTS:
        raise SystemExit("--base-url must be a server on this machine")

    from playwright.sync_api import sync_playwright

    commissioner, provider, pages = demo_pages()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        states = {
            "commissioner": sign_in(browser, args.base_url, commissioner),
            "provider": sign_in(browser, args.base_url, provider),
        }
        print(f"{args.base_url}, median of {args.repeat} cold loads; warm = cached, once")
        header = (
            f"{'page':<17} {'charts':>6} {'server ms':>9} {'transfer kB':>11} "
            f"{'decoded kB':>10} {'load ms':>8} {'ready ms':>8} {'scroll ms':>9} "
            f"{'warm kB':>8} {'warm ms':>8}"
        )
        print(header)
        print("-" * len(header))
        for name, who, path in pages:
            runs = []
            for _ in range(args.repeat):
                context = browser.new_context(
                    base_url=args.base_url, viewport=VIEWPORT, storage_state=states[who]
                )
                runs.append(measure(context, path))
                context.close()
            context = browser.new_context(
                base_url=args.base_url, viewport=VIEWPORT, storage_state=states[who]
            )
            measure(context, path)
            warm = measure(context, path)
            context.close()

            def median(key, runs=runs):
                return statistics.median(run[key] for run in runs)

            scroll = f"{median('scroll'):>9.0f}" if runs[0]["scroll"] is not None else f"{'-':>9}"
            print(
                f"{name:<17} {runs[0]['charts']:>6} {median('server'):>9.0f} "
                f"{median('transfer') / 1000:>11.0f} {median('decoded') / 1000:>10.0f} "
                f"{median('load'):>8.0f} {median('ready'):>8.0f} {scroll} "
                f"{warm['transfer'] / 1000:>8.0f} {warm['ready']:>8.0f}"
            )
        browser.close()


if __name__ == "__main__":
    main()
