"""A coordinator uploads an extract in a real browser and follows it to the report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from departments.models import Role
from indicators.models import Extract
from indicators.services import inbox
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

    # Ten days later DCCG (an extract a week expected) is late: the coordinator sees a banner.
    Extract.objects.update(uploaded_at=timezone.now() - dt.timedelta(days=10))
    page.goto(f"{page.base}/extracts/")
    banner = page.locator(".late-deliveries [data-registry=dccg]")
    assert (
        "Forsinket levering" in banner.inner_text() and "10,0 dage gammelt" in banner.inner_text()
    )
    screenshot(page, "late-delivery-banner")
    # A delivery through the inbox ends it.
    settings.INBOX_DIR = tmp_path / "inbox"
    (settings.INBOX_DIR / "dccg").mkdir(parents=True)
    (settings.INBOX_DIR / "dccg" / "levering.csv").write_text(csv_text(ROWS[:2]), encoding="utf-8")
    (taken,) = inbox.poll().taken
    page.goto(f"{page.base}/extracts/{taken.extract_id}/")
    assert "fra indbakken" in page.inner_text("main")
    assert page.locator(".late-deliveries").count() == 0
    assert page.console_errors == []
