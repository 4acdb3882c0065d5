"""Static files are served compressed with a long cache lifetime in the demo
(and the tests), as in production: WhiteNoise reads them from the finders,
compresses each once, and a ``{% static %}`` URL names its content (``?v=``
hash), so it may be cached for a year. Plotly's basic bundle comes from npm."""

import gzip
import re
from pathlib import Path

import brotli
import pytest
from django.conf import settings
from django.templatetags.static import static

ROOT = Path(settings.BASE_DIR)
CHARTS_JS = ROOT / "static" / "oversight" / "charts.js"
A_YEAR_IMMUTABLE = "max-age=31536000, public, immutable"


@pytest.fixture(autouse=True)
def _compressed_copies_in(tmp_path, settings):
    settings.STATIC_COMPRESSED_CACHE = str(tmp_path / "compressed")


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_static_js_file_is_served_gzipped_and_cached_for_a_year(client):
    url = static("oversight/charts.js")
    assert re.fullmatch(r"/static/oversight/charts\.js\?v=[0-9a-f]{12}", url), url

    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == A_YEAR_IMMUTABLE
    assert response["Vary"] == "Accept-Encoding"
    assert gzip.decompress(_body(response)) == CHARTS_JS.read_bytes()


def test_a_browser_that_takes_brotli_gets_brotli_and_one_that_takes_neither_the_file(client):
    url = static("oversight/charts.js")
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br, zstd")
    assert response["Content-Encoding"] == "br"
    assert brotli.decompress(_body(response)) == CHARTS_JS.read_bytes()

    plain = client.get(url)
    assert "Content-Encoding" not in plain
    assert _body(plain) == CHARTS_JS.read_bytes()


def test_a_url_without_the_content_hash_is_revalidated_not_cached_for_a_year(client):
    for url in ("/static/oversight/charts.js", "/static/oversight/charts.js?v=0123456789ab"):
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        assert response["Cache-Control"] == "max-age=0, public", url


def test_plotlys_basic_bundle_is_served_from_npm_compressed_to_under_half_a_megabyte(client):
    url = static("plotly/plotly-basic.min.js")
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Cache-Control"] == A_YEAR_IMMUTABLE
    assert response["Content-Encoding"] == "br"
    body = brotli.decompress(_body(response))
    assert b"plotly.js (basic - minified) v4." in body[:200]
    assert int(response["Content-Length"]) < 500_000 < len(body)
    # The full bundle of the Python package is no longer served.
    assert client.get("/static/plotly/plotly.min.js").status_code == 404


def test_the_plotly_bundle_has_the_major_version_of_the_python_packages_plotly_js():
    from oversight.staticfinders import PlotlyFinder, python_plotly_js_version

    assert PlotlyFinder().check() == []
    assert python_plotly_js_version().split(".")[0] == "4"


def test_whitenoise_in_the_demo_does_not_warn_of_a_static_root_never_collected(
    settings, tmp_path, recwarn
):
    from oversight.staticfiles import StaticFilesMiddleware

    settings.STATIC_ROOT = str(tmp_path / "never-collected")
    StaticFilesMiddleware(get_response=lambda request: None)
    assert [str(w.message) for w in recwarn] == []
