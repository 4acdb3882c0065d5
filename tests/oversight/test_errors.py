"""What a user sees when a request fails, and the guards that make it fail
cleanly: the product's 400/403/404/413/500 pages (JSON under /api/), 401 for a
missing or wrong API token, deeply nested JSON, the one request size limit, and
405 for a POST to a page that only shows things.

Django's test client runs with DEBUG off; the tests that matter for the demo
also run with DEBUG on, where Django would show its technical pages.
"""

import datetime as dt
import io
import json
import re
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from oversight import views
from oversight.parsers import JSONParser
from performance.models import ReportingPeriod
from tests.api_errors import field_errors
from tests.factories import contains_any
from tests.oversight.test_isolation import _snapshot, _url, _values, all_routes
from tests.oversight.test_isolation import world as world  # noqa: F401 (the fixture, with every app's objects)
from tests.performance.test_validation import api_post, build_returns_world, counts

MB = 1024 * 1024
NESTED = b"[" * 100_000 + b"]" * 100_000
TOO_DEEP = "nested too deeply: at most 32 levels of arrays and objects"


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def text(response) -> str:
    return response.content.decode()


def assert_product_page(response, status: int, heading: str) -> str:
    body = text(response)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f"<h1>{heading}</h1>" in body
    # The site's header, and a way back.
    assert "<header" in body
    assert 'href="/">Go to your home page</a>' in body
    # Not one of Django's own pages.
    assert "Using the URLconf" not in body
    assert "The requested resource was not found on this server" not in body
    return body


# --- 404 ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tenant_you_cannot_see_is_the_products_404_even_in_debug(world, client_for, debug):
    outsider = client_for(world.b.members["admin"])
    a = world.a
    for url in [
        f"/t/{a.tenant.slug}/",
        f"/t/{a.tenant.slug}/contracts/{a.p1.contract.pk}/",
        f"/t/{world.b.tenant.slug}/contracts/{a.p1.contract.pk}/",  # own slug, A's id
    ]:
        body = assert_product_page(outsider.get(url), 404, "Page not found")
        assert "or it belongs to an organisation you are not a member of" in body
        assert not contains_any(body, a.texts), url
        assert "No such tenant" not in body


@pytest.mark.django_db
def test_an_address_that_matches_no_page_is_the_products_404_even_in_debug(
    world, client_for, debug
):
    body = assert_product_page(
        client_for(world.b.members["admin"]).get("/t/beech/no-such-page/"), 404, "Page not found"
    )
    assert 'action="/accounts/logout/"' in body  # the header knows you are signed in


@pytest.mark.django_db
def test_unknown_api_paths_answer_json_404_even_in_debug(world, client_for, debug):
    client = client_for(world.b.members["admin"])
    for url in ["/api/v1/no-such-thing/", "/api/v1/t/beech/no-such-thing/", "/api/v2/"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}
    # Another tenant's API is the same 404.
    response = client.get(f"/api/v1/t/{world.a.tenant.slug}/contracts/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


# --- 403 and the CSRF failure -----------------------------------------------------


@pytest.mark.django_db
def test_a_page_your_role_cannot_use_is_the_products_403(world, client_for, debug):
    auditor = client_for(world.a.members["auditor"])
    body = assert_product_page(
        auditor.get(reverse("contract_create", args=[world.a.tenant.slug])),
        403,
        "You cannot do this",
    )
    assert "Your role cannot do this (contract.change)." in body
    assert f"Go to {world.a.tenant.name}'s home page" in body


@pytest.mark.django_db
def test_a_form_that_fails_its_csrf_check_is_the_products_403(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.members["admin"].user)
    before = _snapshot()
    response = client.post(
        reverse("contract_create", args=[world.a.tenant.slug]), {"title": "No token"}
    )
    body = assert_product_page(response, 403, "You cannot do this")
    assert "This form could not be sent because its security check failed" in body
    assert "Go back, reload the page and send the form again." in body
    assert "CSRF verification failed" not in body
    assert _snapshot() == before


# --- 400 and 500 --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bad_request_is_the_products_400(client):
    # An unknown Host header is refused before any view (DisallowedHost).
    body = assert_product_page(client.get("/", HTTP_HOST="attacker.example"), 400, "Bad request")
    assert "The server could not understand what your browser sent." in body


@pytest.mark.django_db
@pytest.mark.urls("tests.oversight.error_urls")
def test_a_server_error_is_the_products_500_page(world, client_for):
    client = client_for(world.a.members["admin"])
    client.raise_request_exception = False
    body = assert_product_page(client.get("/boom/"), 500, "Something went wrong")
    assert "It has been recorded." in body
    assert "deliberate failure" not in body  # nothing of the error itself
    api = client.get("/api/boom/")
    assert api.status_code == 500
    assert api.json() == {"detail": "A server error occurred. It has been logged; try again later."}


def test_the_500_page_renders_without_the_database_or_a_tenant():
    """No ``django_db`` mark: any query fails this test."""
    request = RequestFactory().get("/t/alder/contracts/")
    response = views.server_error(request)
    body = text(response)
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in body
    assert 'href="/">Go to your home page</a>' in body
    assert 'action="/accounts/logout/"' not in body  # no user: no sign-out form


# --- API authentication -------------------------------------------------------------


@pytest.mark.django_db
def test_a_missing_or_wrong_token_is_401_with_the_token_challenge(world):
    url = f"/api/v1/t/{world.a.tenant.slug}/contracts/"
    for headers, detail in [
        ({}, "Authentication credentials were not provided."),
        ({"HTTP_AUTHORIZATION": "Token not-a-real-token"}, "Invalid token."),
        ({"HTTP_AUTHORIZATION": "Token"}, "Invalid token header. No credentials provided."),
    ]:
        response = APIClient().get(url, **headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": detail}
    token = Token.objects.create(user=world.a.members["admin"].user)
    ok = APIClient().get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert ok.status_code == 200
    assert world.a.p1.contract.reference in text(ok)


@pytest.mark.django_db
def test_a_session_still_signs_in_to_the_api(world, api_client_for):
    response = api_client_for(world.a.members["admin"]).get(
        f"/api/v1/t/{world.a.tenant.slug}/contracts/"
    )
    assert response.status_code == 200


# --- deeply nested JSON ---------------------------------------------------------------


@pytest.mark.django_db
def test_deeply_nested_json_to_the_returns_route_is_a_400(world):
    rw = build_returns_world(world)
    before = counts()
    response = api_post(rw.provider, None, key="nested-1", raw=NESTED)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "where": "request",
                "field": "body",
                "message": "the body is not valid JSON: JSON parse error - nested too deeply: "
                "at most 32 levels of arrays and objects",
            }
        ]
    }
    assert counts() == before


def test_the_parser_takes_32_levels_and_refuses_33():
    parser = JSONParser()

    def parse(depth: int):
        return parser.parse(io.BytesIO(b"[" * depth + b"]" * depth), "application/json")

    assert parse(32) is not None
    assert parse(1) == []
    assert JSONParser().parse(io.BytesIO(b'{"a": [{"b": 1}]}'), "application/json") == {
        "a": [{"b": 1}]
    }
    for depth in (33, 900, 100_000):
        with pytest.raises(ParseError, match=TOO_DEEP):
            parse(depth)


@pytest.mark.django_db
def test_every_api_route_refuses_deeply_nested_json_with_a_400(world, client_for):
    """Every API route and write method, as the tenant's admin and a provider:
    a 400 naming the nesting where the body is read, 403/405 where it is not;
    never a 500."""
    a = world.a
    api_routes = [r for r in all_routes() if r.is_api and r.is_tenant]
    parsed, problems = set(), []
    for route in api_routes:
        url = _url(route, _values(route, a, a.p1, a.tenant.slug))
        for role in ("admin", "provider"):
            client = APIClient()
            client.force_login(a.members[role].user)
            for method in ("post", "put", "patch"):
                response = getattr(client, method)(
                    url,
                    NESTED,
                    content_type="application/json",
                    HTTP_X_CHANGE_REASON="nesting test",
                    HTTP_IDEMPOTENCY_KEY="nesting-test",
                )
                if response.status_code == 400:
                    if TOO_DEEP not in text(response):
                        problems.append(f"{method} {url} as {role}: 400 {text(response)[:200]}")
                    parsed.add(route.pattern)
                elif response.status_code not in (403, 405):
                    problems.append(f"{method} {url} as {role}: {response.status_code}")
    assert not problems, "\n".join(problems)
    names = {p.name for p in parsed}
    assert {"api-return-list", "api-contract-list", "api-contract-detail"} <= names, names


# --- the one request size limit --------------------------------------------------------


@pytest.mark.django_db
def test_api_bodies_between_2_5_and_5_mb_are_read_and_validated(world):
    """Django's own 2.5 MB cap used to answer these with an HTML 400."""
    rw = build_returns_world(world)
    response = api_post(rw.provider, {"narrative": "x" * (3 * MB)}, key="big-but-allowed")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    problems = response.json()["errors"]
    assert {"where": "return", "field": "contract", "message": "This field is required."} in (
        problems
    )
    client = APIClient()
    client.force_login(world.a.members["admin"].user)
    response = client.post(
        f"/api/v1/t/{world.a.tenant.slug}/contracts/",
        json.dumps({"title": "x" * (4 * MB)}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "reference" in field_errors(response)


def _api_clients(membership):
    """A session with CSRF enforced (as a browser's) and a token client."""
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(membership.user)
    token = APIClient()
    key = Token.objects.create(user=membership.user).key
    token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return {"session": session, "token": token}


@pytest.mark.django_db
def test_api_bodies_over_5_mb_are_json_413_on_every_route(world):
    rw = build_returns_world(world)
    slug = world.a.tenant.slug
    clients = _api_clients(rw.provider)
    before = _snapshot()
    expected = {
        "detail": "The request body is too large; the limit is 5 MB.",
        "errors": [
            {
                "where": "request",
                "field": "body",
                "message": "the body is too large; the limit is 5 MB",
            }
        ],
    }
    body = json.dumps({"narrative": "x" * int(5.3 * MB)})
    for name, client in clients.items():
        for url in [f"/api/v1/t/{slug}/returns/", f"/api/v1/t/{slug}/contracts/"]:
            response = client.post(
                url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big"
            )
            assert response.status_code == 413, (name, url)
            assert response.json() == expected, (name, url)
        # form-encoded too: the CSRF check would read it first
        response = client.post(f"/api/v1/t/{slug}/returns/", {"narrative": "x" * int(5.3 * MB)})
        assert (response.status_code, response.json()) == (413, expected), name
    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("enforce_csrf", [False, True])
def test_a_page_form_over_5_mb_is_the_413_page(world, enforce_csrf, debug):
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(world.a.members["admin"].user)
    url = reverse("contract_create", args=[world.a.tenant.slug])
    before = _snapshot()
    response = client.post(
        url,
        urlencode({"title": "x" * int(5.3 * MB)}),
        content_type="application/x-www-form-urlencoded",
    )
    body = text(response)
    assert response.status_code == 413
    assert "<h1>Too large to send</h1>" in body
    assert "What you sent is too large (5.3 MB); the limit is 5 MB." in body
    assert f'<a class="usa-button" href="{url}">Go back to the form</a>' in body
    assert _snapshot() == before


@pytest.fixture
def upload(world, client_for):
    rw = build_returns_world(world)
    period = rw.period
    url = reverse("period_upload", args=[world.a.tenant.slug, period.pk])
    client = client_for(rw.provider)

    def _upload(size: int):
        data = b"contract_reference,period,kpi_code,value\n" + b"x" * size
        return client.post(url, {"file": SimpleUploadedFile("return.csv", data)})

    _upload.url = url
    return _upload


@pytest.mark.django_db
def test_a_spreadsheet_over_the_limit_is_the_413_page_saying_so(upload, debug):
    before = _snapshot()
    response = upload(6 * MB)
    body = text(response)
    assert response.status_code == 413
    assert "The file is too large (6.0 MB); the limit is 5 MB: split it into smaller files." in (
        body
    )
    assert f'href="{upload.url}">Go back to the form</a>' in body
    assert _snapshot() == before


@pytest.mark.django_db
def test_a_spreadsheet_just_over_the_limit_gets_the_forms_own_message(upload):
    """A file a few bytes over: the request is within the limit plus a form's
    envelope, so the upload page itself says how big the file is."""
    response = upload(5 * MB)
    body = text(response)
    assert response.status_code == 400
    assert "the file is too large (5.0 MB); the limit is 5 MB: split it into smaller files" in body
    assert "Spreadsheet (CSV or XLSX)" in body  # the upload form, shown again


@pytest.mark.django_db
def test_a_3_mb_spreadsheet_is_read_by_the_upload_page(upload):
    response = upload(3 * MB)
    body = text(response)
    assert response.status_code == 400  # its content is nonsense, and the page says so
    assert "Spreadsheet (CSV or XLSX)" in body
    assert "too large" not in body
    assert "Bad request" not in body


@pytest.mark.django_db
def test_the_limit_is_one_setting(world, settings, client_for):
    settings.MAX_UPLOAD_MB = 1
    settings.MAX_UPLOAD_BYTES = MB
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = MB + 64 * 1024
    client = client_for(world.a.members["admin"])
    response = client.post(
        reverse("contract_create", args=[world.a.tenant.slug]),
        urlencode({"title": "x" * int(1.5 * MB)}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "What you sent is too large (1.5 MB); the limit is 1 MB." in text(response)
    api = client.post(
        f"/api/v1/t/{world.a.tenant.slug}/contracts/",
        json.dumps({"title": "x" * int(1.5 * MB)}),
        content_type="application/json",
    )
    assert api.status_code == 413
    assert api.json()["detail"] == "The request body is too large; the limit is 1 MB."


# --- 405 for a POST to a page that only shows things -------------------------------------

OUR_APPS = ("oversight.", "contracts.", "performance.")
FORM_TAG = re.compile(r"<form\b[^>]*>", re.IGNORECASE)
ATTR = r'\b{}\s*=\s*"([^"]*)"'


def _posts_to_itself(body: str, path: str) -> bool:
    """Does the page offer a form (or an htmx control) that POSTs to its own URL?"""
    for tag in FORM_TAG.findall(body):
        method = re.search(ATTR.format("method"), tag, re.IGNORECASE)
        if not method or method.group(1).lower() != "post":
            continue
        action = re.search(ATTR.format("action"), tag, re.IGNORECASE)
        if action is None or action.group(1) in ("", path):
            return True
    return any(target == path for target in re.findall(r'hx-post\s*=\s*"([^"]*)"', body))


@pytest.mark.django_db
def test_read_only_pages_answer_405_to_post(world, client_for):
    """Every page route of our apps, from the resolver: a page whose GET offers no
    form posting back to it only shows things, so a POST must be 405 (and must
    change nothing); a page with such a form must still take its POST."""
    a = world.a
    clients = {role: client_for(a.members[role]) for role in ("admin", "commissioner", "provider")}
    routes = [
        r
        for r in all_routes()
        if not r.is_api and r.pattern.callback.__module__.startswith(OUR_APPS)
    ]
    # A period with no return yet, so that its return page shows its form
    # (the world's period has a submitted return, and redirects to it).
    period = a.p1.extra["period"]
    open_period = ReportingPeriod.objects.create(
        tenant=a.tenant,
        contract=period.contract,
        frequency=period.frequency,
        start=dt.date(2025, 4, 1),
        end=dt.date(2025, 4, 30),
        due_date=dt.date(2025, 5, 15),
        missing_after=dt.date(2025, 6, 15),
    )
    read_only, writable, post_only, problems = [], [], [], []
    for route in routes:
        values = _values(route, a, a.p1, a.tenant.slug)
        if "period_pk" in values:
            values["period_pk"] = open_period.pk
        url = _url(route, values)
        answers = {role: c.get(url) for role, c in clients.items()}
        if all(r.status_code == 405 for r in answers.values()):
            post_only.append(route.name)
            continue
        opened = [role for role, r in answers.items() if r.status_code in (200, 302)]
        if not opened:
            problems.append(f"GET {url}: no role could open it ({answers})")
            continue
        with_form = [
            role
            for role in opened
            if answers[role].get("Content-Type", "").startswith("text/html")
            and _posts_to_itself(text(answers[role]), url)
        ]
        if with_form:
            writable.append(route.name)
            response = clients[with_form[0]].post(url, {})
            if response.status_code == 405:
                problems.append(f"POST {url} ({route.name}) has a form but answers 405")
            continue
        read_only.append(route.name)
        for role in opened:
            before = _snapshot()
            response = clients[role].post(url, {"reason": "405 test"})
            if response.status_code != 405:
                problems.append(f"POST {url} ({route.name}) as {role} → {response.status_code}")
            elif set(response["Allow"].split(", ")) != {"GET", "HEAD"}:
                problems.append(f"POST {url} ({route.name}): Allow {response['Allow']}")
            if _snapshot() != before:
                problems.append(f"POST {url} ({route.name}) as {role} changed data")
    assert not problems, "\n".join(problems)
    # The walk found real pages of each kind.
    assert {"contract_list", "contract_detail", "tenant_home", "home", "tenant_switch"} <= set(
        read_only
    )
    assert {"contract_edit", "period_return", "member_create"} <= set(writable)
    assert {"return_submit", "notification_read"} <= set(post_only)
    assert len(read_only) >= 15
