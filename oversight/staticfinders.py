"""Serve Plotly's basic bundle (scatter, bar and pie traces) from npm.

The charts (performance/charts.py) draw scatter traces only, with shapes and
annotations, so they need Plotly's basic bundle (1.2 MB minified) rather than
the full one the Python ``plotly`` package ships (4.8 MB). It comes from npm's
``plotly.js-basic-dist-min`` (package.json, pinned by package-lock.json) and
is exposed as the one file ``plotly/plotly-basic.min.js``; the package's
README and package.json are not collected.

The system check ``oversight.E001`` fails when the bundle is not installed
(``npm ci``) and ``oversight.E002`` when its major version differs from that of
the plotly.js the Python package bundles: the figures are built against that
one's schema.
"""

import json
import re
from pathlib import Path

import plotly
from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_PACKAGE = "plotly.js-basic-dist-min"
PLOTLY_FILE = "plotly-basic.min.js"
PLOTLY_PATH = f"plotly/{PLOTLY_FILE}"
PYTHON_PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def plotly_dir() -> Path:
    return Path(settings.BASE_DIR) / "node_modules" / PLOTLY_PACKAGE


def python_plotly_js_version() -> str | None:
    """The version of the plotly.js the Python package bundles ("4.1.1"), from
    the bundle's first lines."""
    try:
        with open(PYTHON_PLOTLY_JS, encoding="utf-8") as handle:
            head = handle.read(400)
    except OSError:
        return None
    match = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    return match.group(1) if match else None


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=str(plotly_dir()))
        self.storage.prefix = "plotly"

    def check(self, **kwargs):
        directory = plotly_dir()
        if not (directory / PLOTLY_FILE).exists():
            return [
                Error(
                    f"{PLOTLY_FILE} not found in {directory}",
                    hint="Run npm ci: package.json lists plotly.js-basic-dist-min.",
                    id="oversight.E001",
                )
            ]
        npm_version = json.loads((directory / "package.json").read_text())["version"]
        python_version = python_plotly_js_version()
        if python_version and npm_version.split(".")[0] != python_version.split(".")[0]:
            return [
                Error(
                    f"{PLOTLY_PACKAGE} is {npm_version} but the plotly Python package "
                    f"bundles plotly.js {python_version}",
                    hint="Pin plotly.js-basic-dist-min in package.json at the same major "
                    "version as the plotly.js of the Python plotly package.",
                    id="oversight.E002",
                )
            ]
        return []

    def find(self, path, find_all=False, **kwargs):
        # Not found is [] either way, as Django's own finders answer: a None
        # would come back from ``finders.find`` as the "match" [None].
        match = plotly_dir() / PLOTLY_FILE
        if path != PLOTLY_PATH or not match.exists():
            return []
        return [str(match)] if find_all else str(match)

    def list(self, ignore_patterns):
        yield PLOTLY_FILE, self.storage
