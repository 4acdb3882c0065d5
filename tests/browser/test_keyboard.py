"""A keyboard-only user can sign in, skip to the content and reach the
register's filters and contracts (WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7)."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from oversight.models import Role
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    name: el.getAttribute('name') || '',
    text: (el.innerText || el.value || '').trim(),
    href: el.getAttribute('href') || '',
    outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
  };
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_until(page, matches, *, limit: int = 80) -> list[dict]:
    """Press Tab until the focused element matches; return every stop on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = focused(page)
        stops.append(stop)
        if matches(stop):
            return stops
    pytest.fail(
        f"not reached by Tab within {limit} presses; focus went through:\n"
        + "\n".join(f"  {s['tag']}#{s['id']} {s['name']} {s['text'][:40]!r}" for s in stops),
        pytrace=False,
    )


def skip_to_main_content(page) -> None:
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"] == "Skip to main content", f"the first Tab stop is {skip}"
    assert skip["outlined"], "the skip link shows no focus outline"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'main-content'")


def test_sign_in_with_the_keyboard_only(page, world):
    commissioner = world.a.members[Role.COMMISSIONER].user
    page.goto(reverse("login"))

    skip_to_main_content(page)
    email = tab_until(page, lambda s: s["tag"] == "input")[-1]
    assert email["name"] == "username" and email["outlined"]
    page.keyboard.type(commissioner.email)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "password"
    page.keyboard.type(PASSWORD)
    button = tab_until(page, lambda s: s["tag"] == "button", limit=3)[-1]
    assert button["text"] == "Sign in" and button["outlined"]
    page.keyboard.press("Enter")

    home = reverse("tenant_home", kwargs={"tenant_slug": world.a.tenant.slug})
    page.wait_for_url(lambda url: urlsplit(url).path == home)
    assert commissioner.full_name in page.locator("header").inner_text()


def test_register_filters_and_contracts_are_reachable_by_tab(page, world, sign_in):
    a = world.a
    sign_in(page, a.members[Role.COMMISSIONER].user)
    page.goto(reverse("contract_list", kwargs={"tenant_slug": a.tenant.slug}))

    skip_to_main_content(page)
    stops = tab_until(page, lambda s: s["tag"] == "a" and s["text"] == a.p1.contract.reference)
    reached = {s["name"] for s in stops if s["name"]}
    filters = {"q", "provider", "service_type", "status", "owner", "ending_within"}
    assert filters <= reached, f"filters not reached by Tab: {filters - reached}"
    assert "Apply filters" in [s["text"] for s in stops]
    # Filters come before the results, in reading order.
    names = [s["name"] for s in stops]
    assert names.index("q") < names.index("ending_within") < len(stops) - 1
    not_outlined = [s for s in stops if not s["outlined"]]
    assert not not_outlined, f"focus is not visible on: {not_outlined}"

    # The filters work from the keyboard: search, Enter, and the register narrows.
    page.get_by_label("Search").focus()
    page.keyboard.type(a.p2.contract.reference)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "q=" in urlsplit(url).query)
    assert page.get_by_role("link", name=a.p2.contract.reference).is_visible()
    assert page.get_by_role("link", name=a.p1.contract.reference).count() == 0

    # And a contract opens with Enter.
    tab_until(page, lambda s: s["tag"] == "a" and s["text"] == a.p2.contract.reference)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == a.p2.contract.get_absolute_url())
