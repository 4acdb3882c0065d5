"""The KPI library's tables fit their container at a phone's, a laptop's and a
wide desktop's width, or scroll inside a region a keyboard user can reach
(tabindex="0", a role and an accessible name): no column is cut off."""

from decimal import Decimal

import pytest
from django.urls import reverse

from oversight.models import Role
from performance import demo, services
from performance.models import ContractKpi

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [390, 1024, 1920]

# For each table: does it fit its container, and if not, is the container a
# named, focusable scrolling region?
TABLES = """() => [...document.querySelectorAll('main table')].map((table) => {
  const box = table.parentElement;
  const named = (box.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean)
    .map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim()
    || (box.getAttribute('aria-label') || '').trim();
  const style = getComputedStyle(box);
  const last = table.querySelector('thead th:last-child').getBoundingClientRect();
  return {
    caption: (table.caption ? table.caption.textContent : '').trim(),
    fits: table.scrollWidth <= box.clientWidth + 1
      && last.right <= box.getBoundingClientRect().right + 1
      && last.right <= window.innerWidth,
    scrolls: ['auto', 'scroll'].includes(style.overflowX),
    tabindex: box.getAttribute('tabindex'),
    role: box.getAttribute('role'),
    name: named,
  };
})"""


@pytest.fixture
def library(world):
    """The demo's whole KPI library (its real codes, names and flags), one KPI
    of it reported by a contract."""
    a = world.a
    admin = a.members[Role.ADMIN]
    kpis = demo.seed_kpi_library(a.tenant, user=admin.user)
    kpi = kpis["referral-acuity-high"]
    services.contract_kpi_save(
        membership=admin,
        contract_kpi=ContractKpi(
            tenant=a.tenant, contract=a.p1.contract, kpi=kpi, target=Decimal("25")
        ),
        reason="Reported by the contract",
    )
    return [kpi]


def test_kpi_library_tables_fit_or_scroll_in_a_named_focusable_region(
    page, world, library, sign_in
):
    a = world.a
    sign_in(page, a.user(Role.ADMIN))
    pages = {
        "the KPI library": reverse("kpi_list", args=[a.tenant.slug]),
        "a KPI's page": reverse("kpi_detail", args=[a.tenant.slug, library[0].pk]),
    }
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for label, url in pages.items():
            page.goto(url)
            tables = page.evaluate(TABLES)
            assert tables, f"no table on {label}"
            for table in tables:
                where = f"{width}px, {label}, table {table['caption']!r}"
                if table["fits"]:
                    continue
                if not table["scrolls"]:
                    problems.append(f"{where}: cut off (its container does not scroll)")
                elif table["tabindex"] != "0" or not table["role"] or not table["name"]:
                    problems.append(
                        f"{where}: scrolls in a region without tabindex=0, a role and a name "
                        f"({table})"
                    )
    assert not problems, "\n".join(problems)


def test_at_a_laptops_width_the_kpi_librarys_last_column_is_on_screen(
    page, world, library, sign_in
):
    a = world.a
    sign_in(page, a.user(Role.ADMIN))
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(reverse("kpi_list", args=[a.tenant.slug]))
    (table,) = page.evaluate(TABLES)
    assert table["fits"], "the KPI library's last column (Contracts) is cut off at 1024px"
    assert page.get_by_role("columnheader", name="Contracts").is_visible()


def test_a_keyboard_user_can_scroll_the_kpi_library_on_a_phone(page, world, library, sign_in):
    a = world.a
    sign_in(page, a.user(Role.ADMIN))
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(reverse("kpi_list", args=[a.tenant.slug]))
    region = page.get_by_role("region", name="KPIs by category")
    region.focus()
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "region"
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => { const r = document.activeElement; return r.scrollLeft > 0; }", timeout=5_000
    )
