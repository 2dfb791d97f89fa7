"""A coordinator uploads an extract in a real browser and follows it to the report."""

from __future__ import annotations

import pytest

from departments.models import Role
from indicators.models import Extract
from tests.browser.conftest import log_in, screenshot
from tests.departments.people import PASSWORD, A, department, person
from tests.indicators.extract_files import ROWS, csv_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_coordinator_uploads_and_sees_the_report(page, eager_tasks, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    person("koordinator@example.dk", Role.COORDINATOR, department(A))
    log_in(page, "koordinator@example.dk", PASSWORD)
    screenshot(page, "home")

    path = tmp_path / "udtraek.csv"
    # A refused row of the coordinator's own department (A): theirs to read.
    path.write_text(csv_text([*ROWS, dict(ROWS[1], asa="9", cpr="0202024444")]), encoding="cp1252")
    page.goto(f"{page.base}/extracts/upload/")
    page.set_input_files("input[type=file]", str(path))
    screenshot(page, "extract-upload")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Afviste rækker")
    screenshot(page, "extract-report")

    extract = Extract.objects.get()
    assert extract.status == "done"
    assert page.inner_text("[data-field=imported]") == "3"
    assert "asa skal være et helt tal fra 1 til 5" in page.content()
    with page.expect_download() as download:
        page.click("text=Hent afviste rækker (CSV)")
    assert download.value.suggested_filename == f"afviste-raekker-{extract.pk}.csv"

    page.goto(f"{page.base}/extracts/")
    assert "Aktuelt" in page.inner_text("table")
    screenshot(page, "extract-list")
    assert page.console_errors == []
