"""Every role sees, in the header, who is signed in and a Sign out button: on
screen, inside the viewport and covered by nothing, at a phone's width (after
opening the menu), a laptop's and a wide desktop's. The menu opens with the
keyboard and Sign out is reachable with Tab; the header passes axe."""

import pytest
from django.urls import reverse

from oversight.models import Role
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = [Role.PROVIDER, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR, Role.ADMIN]
WIDTHS = [390, 1024, 1920]
HEIGHT = 800

# Where an element is drawn, and what else is drawn over it or beside it:
# - points of its box where the topmost element is something else (covered);
# - text or controls of the header whose boxes intersect it (overlapping).
PLACEMENT = """(el) => {
  const r = el.getBoundingClientRect();
  const mine = (other) => other && (other === el || el.contains(other));
  const points = [[0.5, 0.5], [0.1, 0.2], [0.9, 0.2], [0.1, 0.8], [0.9, 0.8]];
  const covered = [];
  for (const [fx, fy] of points) {
    const x = r.left + r.width * fx, y = r.top + r.height * fy;
    const top = document.elementFromPoint(x, y);
    if (!mine(top)) covered.push(top ? top.outerHTML.slice(0, 100) : `nothing at ${x},${y}`);
  }
  const overlapping = [];
  for (const other of el.closest('header').querySelectorAll('*')) {
    if (mine(other) || other.contains(el)) continue;
    const style = getComputedStyle(other);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const ownText = [...other.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText && !other.matches('a, button, img, input')) continue;
    const o = other.getBoundingClientRect();
    const w = Math.min(r.right, o.right) - Math.max(r.left, o.left);
    const h = Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top);
    if (w > 1 && h > 1) overlapping.push(other.outerHTML.slice(0, 100));
  }
  return {
    box: [r.left, r.top, r.right, r.bottom],
    viewport: [window.innerWidth, window.innerHeight],
    covered, overlapping,
  };
}"""


@pytest.fixture
def members(world):
    """Tenant A's members, in an organisation with a long name (as in the demo);
    the auditor is a member of tenant B as well, so the header offers a switch."""
    a = world.a
    a.tenant.name = "Riverbend County Health and Human Services QQTENANTA"
    a.tenant.save()
    MembershipFactory(tenant=world.b.tenant, user=a.user(Role.AUDITOR), role=Role.AUDITOR)
    return a.members


def _problems(page, locator, label: str) -> list[str]:
    if not locator.is_visible():
        return [f"{label} is not visible"]
    where = locator.evaluate(PLACEMENT)
    left, top, right, bottom = where["box"]
    width, height = where["viewport"]
    problems = []
    if left < 0 or top < 0 or right > width or bottom > height:
        problems.append(
            f"{label} is drawn at {where['box']}, outside the {width}×{height} viewport"
        )
    if where["covered"]:
        problems.append(f"{label} is covered by {where['covered']}")
    if where["overlapping"]:
        problems.append(f"{label} overlaps {where['overlapping']}")
    return problems


def _open_menu_if_narrow(page) -> None:
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
        page.locator(".usa-nav.is-visible").wait_for()
        page.wait_for_timeout(300)  # USWDS slides the menu in


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_who_is_signed_in_and_sign_out(page, members, sign_in, role):
    member = members[role]
    sign_in(page, member.user)
    home = reverse("tenant_home", args=[member.tenant.slug])
    failures = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.goto(home)
        if width < 1024:
            assert not page.get_by_role("button", name="Sign out").is_visible(), (
                f"at {width}px Sign out shows before the menu is opened"
            )
            _open_menu_if_narrow(page)
        header = page.locator("header")
        name = header.get_by_text(member.user.full_name, exact=True)
        sign_out = header.get_by_role("button", name="Sign out")
        failures += [f"{width}px: {p}" for p in _problems(page, name, "the user's name")]
        failures += [f"{width}px: {p}" for p in _problems(page, sign_out, "Sign out")]
        account = header.locator(".usa-nav__secondary").inner_text()
        for expected in [member.get_role_display(), member.tenant.name]:
            if expected not in account:
                failures.append(f"{width}px: the header does not say {expected!r}: {account!r}")
    assert not failures, f"{role}:\n" + "\n".join(failures)


def test_a_provider_sees_which_provider_they_report_for(page, members, sign_in, world):
    sign_in(page, members[Role.PROVIDER].user)
    page.goto(reverse("tenant_home", args=[world.a.tenant.slug]))
    account = page.locator("header .usa-nav__secondary").inner_text()
    assert f"Provider for {world.a.p1.provider.name}" in account


def test_a_member_of_two_organisations_can_switch_from_the_header(page, members, sign_in, world):
    sign_in(page, members[Role.AUDITOR].user)
    page.goto(reverse("tenant_home", args=[world.a.tenant.slug]))
    page.locator("header").get_by_role("link", name="Switch organisation").click()
    page.wait_for_url(f"**{reverse('tenant_switch')}")
    # and someone with one organisation is not offered a switch
    page.context.clear_cookies()
    sign_in(page, members[Role.COMMISSIONER].user)
    page.goto(reverse("tenant_home", args=[world.a.tenant.slug]))
    assert page.locator("header").get_by_role("link", name="Switch organisation").count() == 0


def _focused(page) -> str:
    return page.evaluate("() => (document.activeElement.textContent || '').trim()")


def _tab_to(page, text: str, *, limit: int = 40) -> list[str]:
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(_focused(page))
        if stops[-1] == text:
            return stops
    pytest.fail(f"{text!r} not reached with Tab; focus went through {stops}", pytrace=False)


def test_on_a_phone_the_menu_opens_with_enter_and_sign_out_is_reached_with_tab(
    page, members, sign_in, world
):
    sign_in(page, members[Role.EXECUTIVE].user)
    page.set_viewport_size({"width": 390, "height": HEIGHT})
    page.goto(reverse("tenant_home", args=[world.a.tenant.slug]))
    _tab_to(page, "Menu")
    page.keyboard.press("Enter")
    page.locator(".usa-nav.is-visible").wait_for()
    _tab_to(page, "Sign out")
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/login/**")


def test_on_a_laptop_sign_out_is_reached_with_tab(page, members, sign_in, world):
    sign_in(page, members[Role.PROVIDER].user)
    page.set_viewport_size({"width": 1024, "height": HEIGHT})
    page.goto(reverse("tenant_home", args=[world.a.tenant.slug]))
    _tab_to(page, "Sign out")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "Sign out shows no focus outline"


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.AUDITOR, Role.ADMIN])
def test_the_header_passes_axe_at_every_width(page, members, sign_in, assert_accessible, role):
    member = members[role]
    sign_in(page, member.user)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.goto(reverse("tenant_home", args=[member.tenant.slug]))
        _open_menu_if_narrow(page)
        assert_accessible(page, f"the home page of a {role} at {width}px")
