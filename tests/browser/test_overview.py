"""Leadership's overview and a coordinator's rule builder in real Chromium: funnels drawn,
the matrix sorted, the live preview shown, no console errors."""

from __future__ import annotations

import pytest

from departments.models import Department, Role
from indicators.models import IndicatorDefinition, Result
from tests.browser.conftest import log_in, screenshot
from tests.dashboards.test_overview import build_world
from tests.departments.people import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KOEGE = "4202200"


def dept_names(page) -> list[str]:
    return page.eval_on_selector_all(
        "#overview-matrix tr.dept th.dept-col a", "links => links.map(a => a.textContent.trim())"
    )


def column_values(page, column: int) -> list[float | None]:
    return page.eval_on_selector_all(
        "#overview-matrix tr.dept",
        f"""rows => rows.map(row => {{
            const raw = row.cells[{column}].dataset.sort;
            return raw === "" ? null : Number(raw);
        }})""",
    )


def test_leadership_opens_the_overview_sorts_the_matrix_and_sees_the_funnels(page, tmp_path):
    build_world(tmp_path)
    person("ledelse@example.dk", Role.LEADERSHIP)
    log_in(page, "ledelse@example.dk", PASSWORD)
    page.goto(f"{page.base}/overview/")
    page.wait_for_selector("#funnel-major_complication .main-svg")
    page.wait_for_selector("#trend .main-svg")
    assert page.locator(".js-plotly-plot .main-svg").count() >= 7  # six funnels and the trend
    screenshot(page, "overview")

    grouped = dept_names(page)
    assert len(grouped) == 21
    page.click("#overview-matrix button[data-sort-column='1']")  # major complication
    ascending = dept_names(page)
    assert ascending != grouped and sorted(ascending) == sorted(grouped)
    values = [v for v in column_values(page, 1) if v is not None]
    assert values == sorted(values)
    assert page.get_attribute("#overview-matrix thead th:nth-child(2)", "aria-sort") == "ascending"
    page.click("#overview-matrix button[data-sort-column='1']")
    values = [v for v in column_values(page, 1) if v is not None]
    assert values == sorted(values, reverse=True)
    assert page.locator("#overview-matrix tr.group:visible").count() == 0
    screenshot(page, "overview-sorted")
    page.click("#overview-matrix button[data-sort-column='0']")  # back to the grouped order
    assert dept_names(page) == grouped

    # A hidden small count says "<5" when hovered.
    hidden = page.locator("#funnel-major_complication .subplot.xy2 .point")
    if hidden.count():
        hidden.first.hover(force=True)
        page.wait_for_selector("#funnel-major_complication .hovertext")
        assert "<5" in page.text_content("#funnel-major_complication .hoverlayer")

    # Choosing a quarter shows it.
    page.select_option("#period-select", "2024-Q2")
    page.wait_for_url("**/overview/?*period=2024-Q2*")
    page.wait_for_selector("#funnel-major_complication .main-svg")
    assert "2. kvt. 2024" in page.inner_text("#matrix-title")
    screenshot(page, "overview-quarter")
    assert page.console_errors == []


def test_a_leader_on_a_tablet_reads_the_overview(page, tmp_path):
    build_world(tmp_path)
    person("ledelse@example.dk", Role.LEADERSHIP)
    log_in(page, "ledelse@example.dk", PASSWORD)
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{page.base}/overview/")
    page.wait_for_selector("#funnel-anastomotic_leak .main-svg")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820  # nothing scrolls the page sideways
    # One indicator at a time: the matrix fits its card without scrolling sideways either.
    fits = (
        "(() => { const t = document.getElementById('overview-matrix');"
        " return t.scrollWidth <= t.parentElement.clientWidth; })()"
    )
    assert page.evaluate(fits)
    shown = page.locator("#overview-matrix thead th:not([hidden])")
    assert shown.count() == 2 and "Større komplikation" in shown.nth(1).inner_text()
    page.select_option("#matrix-columns", label="30-dages dødelighed")
    assert "30-dages dødelighed" in shown.nth(1).inner_text() and page.evaluate(fits)
    screenshot(page, "overview-tablet")
    assert page.console_errors == []


def test_a_coordinator_builds_an_own_indicator_and_sees_the_live_preview(
    page, tmp_path, eager_tasks
):
    build_world(tmp_path)
    person("koordinator@example.dk", Role.COORDINATOR, Department.objects.get(code=KOEGE))
    log_in(page, "koordinator@example.dk", PASSWORD)
    page.goto(f"{page.base}/departments/{KOEGE}/settings/")
    page.wait_for_selector("[data-rule=population] .add-condition")
    screenshot(page, "settings")

    page.fill("#id_own-name_da", "Anastomoselækage, rektum")
    page.fill("#id_own-name_en", "Anastomotic leak, rectum")
    # Population: anastomosis is yes, and the site is the rectum.
    population = page.locator("[data-rule=population]")
    population.locator(".add-condition").click()
    population.locator(".condition-field").nth(0).select_option("anastomosis")
    population.locator(".add-condition").click()
    population.locator(".condition-field").nth(1).select_option("site")
    population.locator("li.condition").nth(1).locator(".condition-value select").select_option(
        "rektum"
    )
    # Missing: the leak is blank. Event: the leak is yes.
    missing = page.locator("[data-rule=missing]")
    missing.locator(".add-condition").click()
    missing.locator(".condition-field").select_option("anastomotic_leak")
    missing.locator(".condition-op").select_option("blank")
    event = page.locator("[data-rule=event]")
    event.locator(".add-condition").click()
    event.locator(".condition-field").select_option("anastomotic_leak")

    headline = page.locator("[data-preview=headline]")
    headline.filter(has_text="2024: ").wait_for()
    text = headline.inner_text()
    assert " af " in text and "%" in text and "KI" in text
    rows = page.locator("[data-preview=table] tbody tr")
    assert rows.count() >= 2
    screenshot(page, "settings-rule-builder")

    page.click("#own-form button[type=submit]")
    page.wait_for_selector("#computation-state")
    page.locator("#computation-state [data-field=message]").filter(
        has_text="Resultaterne er opdateret."
    ).wait_for()
    own = IndicatorDefinition.objects.get(department__code=KOEGE)
    assert own.population == {
        "all": [
            {"field": "anastomosis", "op": "eq", "value": True},
            {"field": "site", "op": "eq", "value": "rektum"},
        ]
    }
    assert own.missing == {"any": [{"field": "anastomotic_leak", "op": "blank"}]}
    assert own.event == {"all": [{"field": "anastomotic_leak", "op": "eq", "value": True}]}
    latest = (
        Result.objects.filter(
            computation__is_current=True,
            definition=own,
            department__code=KOEGE,
            period_type="year",
        )
        .order_by("period_start")
        .last()
    )
    assert f"2024: {latest.numerator} af {latest.denominator} = " in text
    assert "Anastomoselækage, rektum" in page.inner_text("#egne")
    screenshot(page, "settings-saved")
    assert page.console_errors == []


def test_a_changed_operator_never_carries_a_stale_value(page, tmp_path, eager_tasks):
    """The bug a new user met: grade "er" 0, then "er en af" kept 0 ticked, and the saved own
    indicator counted every grade-0 operation as an event."""
    import json

    build_world(tmp_path, rows=600)
    person("koordinator@example.dk", Role.COORDINATOR, Department.objects.get(code=KOEGE))
    log_in(page, "koordinator@example.dk", PASSWORD)
    page.goto(f"{page.base}/departments/{KOEGE}/settings/")
    event = page.locator("[data-rule=event]")
    event.locator(".add-condition").click()
    event.locator(".condition-field").select_option("clavien_dindo")
    target = event.locator(".builder").get_attribute("data-target")

    def rule() -> dict:
        found = json.loads(page.locator(f"#{target}").input_value())
        return found["all"][0] if "all" in found else found

    assert rule()["value"] == "0"  # "er" and the first grade, as the select shows
    event.locator(".condition-op").select_option("in")
    boxes = event.locator(".condition-value input[type=checkbox]")
    assert boxes.count() == 8
    assert [boxes.nth(i).is_checked() for i in range(8)] == [False] * 8
    assert rule()["value"] == []
    event.locator(".condition-value input[value=IIIb]").check()
    assert rule() == {"field": "clavien_dindo", "op": "in", "value": ["IIIb"]}
    screenshot(page, "settings-operator-changed")
