"""Serve Plotly's JavaScript from the installed ``plotly`` package.

The package ships ``package_data/plotly.min.js`` beside many MB of data sets we
do not want collected, so this finder exposes only that one file, as
``plotly/plotly.min.js``; its version always matches the Python package.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"
PLOTLY_PATH = "plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=str(PLOTLY_DIR))
        self.storage.prefix = "plotly"

    def check(self, **kwargs):
        if not (PLOTLY_DIR / "plotly.min.js").exists():
            from django.core.checks import Error

            return [Error(f"plotly.min.js not found in {PLOTLY_DIR}", id="oversight.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_PATH:
            return [] if find_all else None
        match = str(PLOTLY_DIR / "plotly.min.js")
        return [match] if find_all else match

    def list(self, ignore_patterns):
        yield "plotly.min.js", self.storage
