"""Three registries in real Chromium: DCCG, kræftpakke and one written from the profile contract
alone, each imported and computed; a leader switches between them on the overview, and prints it.
Screenshots in var/screenshots/registries-*."""

from __future__ import annotations

import datetime as dt

import pytest

from departments.models import Role
from indicators.registry import synthetic_profiles
from indicators.registry.importer import import_path
from indicators.registry.profile_file import load_profile, shipped
from indicators.services import computations
from indicators.services.registries import install_profile
from tests.browser.conftest import log_in, screenshot
from tests.departments.people import PASSWORD, person
from tests.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HIP = """
format = 1
slug = "hoftebrud"
version = 1
name_da = "Hoftebrud"
name_en = "Hip fracture"
key = ["cpr", "indlagt"]
period = "indlagt"
hospital_code = "sygehus"
department_code = "afdeling"
date_orders = [["opereret", "indlagt"]]

[[columns]]
name = "cpr"
kind = "cpr"
required = true

[[columns]]
name = "sygehus"
kind = "code"
length = 4
required = true

[[columns]]
name = "afdeling"
kind = "code"
length = 7
required = true

[[columns]]
name = "indlagt"
kind = "date"
required = true
label_da = "Indlagt"
label_en = "Admitted"

[[columns]]
name = "opereret"
kind = "date"
label_da = "Opereret"
label_en = "Operated"

[[columns]]
name = "mobiliseret"
kind = "choice"
choices = { ja = true, nej = false }
label_da = "Mobiliseret samme dag"
label_en = "Mobilised the same day"

[[indicators]]
slug = "operation_inden_for_36_timer"
name_da = "Opereret inden for 1 døgn"
name_en = "Operated within a day"
kind = "proportion"
population = { all = [] }
missing = { field = "opereret", op = "blank" }
event = { days = ["indlagt", "opereret"], op = "le", value = 1 }
better = "higher"
target = 0.8

[[indicators]]
slug = "dage_til_operation"
name_da = "Dage til operation"
name_en = "Days to operation"
kind = "measure"
population = { all = [] }
missing = { field = "opereret", op = "blank" }
measure = { days = ["indlagt", "opereret"] }
better = "lower"
"""


def _import(tmp_path, slug: str, spec, frame) -> None:
    path = tmp_path / f"{slug}.csv"
    synthetic_profiles.write_profile_extract(frame, path, spec)
    extract = import_path(path, profile_slug=slug).extract
    assert extract.status == "done" and not extract.rows_rejected, extract.message_en
    assert computations.recompute(extract.registry, reason="test").status == "done"


def test_a_leader_switches_between_three_registries_and_prints_the_overview(page, tmp_path):
    build_world(tmp_path)  # DCCG, and the regions, hospitals and registries a flush emptied
    start, end = dt.date(2022, 1, 1), dt.date(2024, 12, 31)
    kp = shipped("kraeftpakke")
    _import(tmp_path, "kraeftpakke", kp, synthetic_profiles.kraeftpakke_frame(3000, 3, start, end))
    hip = load_profile(HIP)
    install_profile(hip)
    _import(tmp_path, "hoftebrud", hip, synthetic_profiles.profile_frame(hip, 2500, 5, start, end))

    person("ledelse@example.dk", Role.LEADERSHIP)
    log_in(page, "ledelse@example.dk", PASSWORD)
    page.goto(f"{page.base}/overview/")
    # Every registry on one page: a summary across them, then each registry's matrix and charts.
    switch = page.locator(".registry-switch a:not([href*='pathways'])")
    assert switch.count() == 4  # all, and each of the three
    assert page.locator(".registry-switch a.current").inner_text().startswith("Alle")
    summary = page.locator("#overview-summary tbody tr")
    assert {summary.nth(i).get_attribute("data-registry") for i in range(summary.count())} == {
        "dccg",
        "kraeftpakke",
        "hoftebrud",
    }
    for slug in ("dccg", "kraeftpakke", "hoftebrud"):
        assert page.locator(f"#{slug}-overview-matrix tr.dept").count() > 0
        assert page.locator(f"[data-registry={slug}] .charts-elsewhere a").count() == 1
    # Sorting one registry's matrix leaves the others in their grouped order.
    page.click("#kraeftpakke-overview-matrix button[data-sort-column='1']")
    assert page.locator("#kraeftpakke-overview-matrix.is-sorted").count() == 1
    assert page.locator("#dccg-overview-matrix.is-sorted").count() == 0
    screenshot(page, "registries-overview-all")
    page.click(".registry-switch a:has-text('DCCG')")
    page.wait_for_selector("#overview-matrix")
    assert page.locator(".registry-switch a.current").inner_text().startswith("DCCG")
    for name, heading in (
        ("Pakkeforløb for kræft", "Forløb inden for standardforløbstid: brystkræft"),
        ("Hoftebrud", "Opereret inden for 1 døgn"),
    ):
        page.click(f".registry-switch a:has-text('{name}')")
        page.wait_for_selector("#overview-matrix")
        assert heading in page.inner_text("#overview-matrix thead")
        assert page.locator("#overview-matrix [data-mdc]").count() > 0
        assert page.locator(".registry-switch a.current").inner_text().startswith(name)
        slug = "kraeftpakke" if name.startswith("Pakke") else "hoftebrud"
        screenshot(page, f"registries-overview-{slug}")
    # A cell of the third registry opens its department's indicator page, named by registry.
    page.click("#overview-matrix tr.dept td.cell a.value >> nth=0")
    page.wait_for_selector("h1")
    assert "registry=hoftebrud" in page.url and "Opereret inden for 1 døgn" in page.inner_text("h1")
    # The pathway times of kræftpakke, per package, region and quarter, with their run charts.
    page.goto(f"{page.base}/overview/pathways/")
    page.wait_for_selector(".pathway .js-plotly-plot .main-svg")
    assert page.locator("section.pathway").count() == 5  # one per package
    assert "Standardforløbstid: højst 25 dage" in page.inner_text("main")
    screenshot(page, "registries-pathways")
    # Printed for a meeting: the controls go, the table stays.
    page.goto(f"{page.base}/overview/?registry=kraeftpakke")
    page.emulate_media(media="print")
    assert not page.locator(".registry-switch").is_visible()
    assert page.locator("#overview-matrix").is_visible()
    screenshot(page, "registries-overview-print")
    assert page.console_errors == []
