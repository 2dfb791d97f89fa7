"""Production static files: plotly.js comes from the portal itself, never from a CDN."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.core.management import call_command


def test_collectstatic_ships_plotly_from_the_installed_package(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    shipped = tmp_path / "vendor" / "plotly.min.js"
    original = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert shipped.read_bytes() == original.read_bytes()
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/plotly.min.js" in manifest
    assert "css/portal.css" in manifest


def test_no_page_template_loads_scripts_from_another_host():
    templates = Path(__file__).resolve().parents[2] / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "cdn." not in text and 'src="http' not in text and 'src="//' not in text, template
