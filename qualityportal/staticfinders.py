"""Serve plotly.js from the installed plotly package as ``static/vendor/plotly.min.js``.

Hospital networks often block CDNs, so the browser gets plotly.js from the portal itself, and
always the build that matches the installed plotly package: no copy to keep in step.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PLOTLY_STATIC_PATH = "vendor/plotly.min.js"


class PlotlyJsFinder(BaseFinder):
    def __init__(self, *args, **kwargs) -> None:
        self.storage = FileSystemStorage(location=str(PLOTLY_JS.parent))
        self.storage.prefix = "vendor"

    def check(self, **kwargs) -> list[Error]:
        if PLOTLY_JS.is_file():
            return []
        return [Error(f"plotly.min.js not found at {PLOTLY_JS}", id="qualityportal.E001")]

    def find(self, path: str, find_all: bool = False, **kwargs):
        if path == PLOTLY_STATIC_PATH and PLOTLY_JS.is_file():
            return [str(PLOTLY_JS)] if find_all else str(PLOTLY_JS)
        return []

    def list(self, ignore_patterns):
        yield PLOTLY_JS.name, self.storage
