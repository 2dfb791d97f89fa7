"""A clinician follows the department's dashboard in real Chromium: charts drawn by plotly.js,
period and language switched, the indicator in time with its downloads, the patient list."""

from __future__ import annotations

import csv
import io
import time

import pytest

from departments.models import Department, Role, User
from departments.services import grant_role
from indicators.models import Computation, IndicatorDefinition, Registry
from indicators.registry import synthetic
from indicators.services import computations, definitions
from tests.browser.conftest import log_in, screenshot
from tests.dashboards.test_department_pages import load_extract, settle
from tests.departments.people import A
from tests.indicators.indicator_rows import ensure_standard_definitions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Rigtig-godt-kodeord-1"


@pytest.fixture
def koege(tmp_path) -> Department:
    ensure_standard_definitions()  # a transactional test's flush emptied the migration's rows
    load_extract(tmp_path, rows=4000)
    department = Department.objects.get(code=A)
    major = IndicatorDefinition.objects.get(slug="major_complication")
    definitions.add_change_marker(
        department, date=synthetic.CHANGE_DATE, label=synthetic.CHANGE_LABEL, definitions=[major]
    )
    settle()
    return department


def user(email: str, role: str, **place) -> User:
    found = User.objects.create_user(email, PASSWORD)
    grant_role(found, role, **place)
    return found


def wait_until(page, expression: str, timeout: float = 15.0) -> None:
    """Poll ``expression`` in the page (``wait_for_function`` evaluates strings, which the
    portal's content security policy forbids)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError:  # the page is reloading
            pass
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out waiting for {expression}")


def tile_periods(page) -> set[str]:
    return set(page.locator(".tile-period").all_inner_texts())


def test_a_clinician_reads_the_dashboard_and_an_indicator_in_time(page, koege):
    user("kliniker@example.dk", Role.CLINICIAN, department=koege)
    log_in(page, "kliniker@example.dk", PASSWORD)
    assert page.url.endswith(f"/departments/{A}/")
    page.wait_for_selector("#tile-major_complication")
    page.wait_for_selector(".sparkline.js-plotly-plot .main-svg")
    tiles = page.locator("article.tile")
    assert (
        tiles.count()
        == IndicatorDefinition.objects.filter(department__isnull=True, profile="dccg").count()
    )
    assert page.locator(".sparkline.js-plotly-plot:has(svg.main-svg)").count() == tiles.count()
    # By default the last 12 months, with the monthly SPC read in words beside the icons.
    assert tile_periods(page) == {"Seneste 12 måneder: jan – dec 2024"}
    assert "%" in page.inner_text("#tile-major_complication ~ p, .tile-value")
    assert page.locator("article.tile .mdc-words li").count() >= tiles.count()
    screenshot(page, "dashboard")

    # The latest month on asking.
    with page.expect_navigation():
        page.select_option("#f-period", "month")
    page.wait_for_selector(".sparkline.js-plotly-plot .main-svg")
    assert tile_periods(page) == {"december 2024"}

    # The period select submits itself: quarters replace months.
    with page.expect_navigation():
        page.select_option("#f-period", "quarter")
    page.wait_for_selector(".sparkline.js-plotly-plot .main-svg")
    assert "period_type=quarter" in page.url
    assert tile_periods(page) == {"4. kvt. 2024"}
    screenshot(page, "dashboard-quarter")

    # English: the page's language and its period names change; numbers keep the decimal comma.
    with page.expect_navigation():
        page.click("form.langswitch button[value=en]")
    page.wait_for_selector(".sparkline.js-plotly-plot .main-svg")
    assert page.get_attribute("html", "lang") == "en"
    assert tile_periods(page) == {"Q4 2024"}
    value = page.locator(".tile-value strong").first.inner_text()
    assert "." not in value and value.endswith("%")
    screenshot(page, "dashboard-english")
    with page.expect_navigation():
        page.click("form.langswitch button[value=da]")

    # The indicator in time: the p-chart drawn, phased at the change marker.
    page.goto(f"{page.base}/departments/{A}/indicators/major_complication/")
    page.wait_for_selector("#spc-chart.js-plotly-plot .main-svg")
    chart_text = page.inner_text("#spc-chart")
    assert synthetic.CHANGE_LABEL in chart_text
    assert "Fase 2: centerlinje" in chart_text
    assert "Landsplan" in chart_text
    assert page.locator("#ba-title").is_visible()
    screenshot(page, "indicator")

    with page.expect_download() as download:
        page.click("text=Hent data (CSV)")
    assert download.value.suggested_filename == f"{A}-major_complication.csv"
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        text = handle.read()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["afdeling", "indikator", "maaned"]
    assert any(row[2] == "2022-03" for row in rows[1:])

    with page.expect_download() as download:
        page.click("text=Hent diagram (PNG)")
    assert download.value.suggested_filename.endswith(".png")
    with open(download.value.path(), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"

    # The patients behind a month.
    page.click("a[href*='patients/?period=2022-03']")
    page.wait_for_selector("h1")
    assert "Patienterne bag tallet" in page.inner_text("h1")
    assert "marts 2022" in page.inner_text("main")
    screenshot(page, "patients")
    assert page.console_errors == []


def test_leadership_sees_the_dashboard_on_a_tablet_without_patient_links(page, koege):
    user("ledelse@example.dk", Role.LEADERSHIP, region=koege.hospital.region)
    page.set_viewport_size({"width": 820, "height": 1180})
    log_in(page, "ledelse@example.dk", PASSWORD)
    page.goto(f"{page.base}/departments/{A}/")
    page.wait_for_selector(".sparkline.js-plotly-plot .main-svg")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    # The header's switcher lists the region's departments, this one chosen.
    assert page.locator("#dept-switch option").count() > 1
    assert page.eval_on_selector("#dept-switch", "el => el.value") == A
    screenshot(page, "dashboard-tablet-leadership")
    page.goto(f"{page.base}/departments/{A}/indicators/mortality_30d/")
    page.wait_for_selector("#spc-chart.js-plotly-plot .main-svg")
    assert page.locator("a[href*='patients/']").count() == 0
    screenshot(page, "indicator-tablet-leadership")
    assert page.console_errors == []


def test_the_dashboard_follows_a_recompute_without_reloading_and_shows_the_new_results(page, koege):
    user("kliniker@example.dk", Role.CLINICIAN, department=koege)
    registry = Registry.objects.get(slug="dccg")
    running = Computation.objects.create(registry=registry, status="running", progress=40)
    log_in(page, "kliniker@example.dk", PASSWORD)
    status = page.locator("#computation-status")
    assert status.is_visible() and "Beregner…" in status.inner_text()
    assert page.eval_on_selector("#computation-status progress", "el => el.value") == 40
    page.evaluate("window.kvpLoaded = true")  # gone after a reload

    Computation.objects.filter(pk=running.pk).update(progress=80)
    wait_until(page, "document.querySelector('#computation-status progress').value == 80")
    assert page.evaluate("window.kvpLoaded") is True  # followed without reloading
    screenshot(page, "dashboard-computing")

    Computation.objects.filter(pk=running.pk).update(status="failed", progress=100)
    computations.recompute(registry, reason="ny beregning")
    wait_until(page, "window.kvpLoaded === undefined")  # reloaded for the new results
    page.wait_for_selector(".sparkline.js-plotly-plot .main-svg")
    assert not page.locator("#computation-status").is_visible()
    assert page.console_errors == []
