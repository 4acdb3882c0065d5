"""The browser tests' guard against resources from outside the server works:
a page that asks for one is caught (and the request never leaves)."""

import pytest

pytestmark = pytest.mark.browser


def test_a_request_off_the_live_server_is_caught_and_blocked(page, live_server):
    page.goto(live_server.url + "/static/oversight/oversight.css")
    page.set_content(
        '<img alt="" src="https://cdn.example.com/logo.png">'
        '<img alt="" src="/static/oversight/oversight.css">'
    )
    page.wait_for_load_state("load")

    caught = list(page.external_requests)
    page.external_requests.clear()  # so that the fixture's own check passes
    assert len(caught) == 1 and "https://cdn.example.com/logo.png" in caught[0], caught
