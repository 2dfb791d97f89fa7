"""The department's pages as each role sees them: home routing, the dashboard, the indicator in
time with its CSV, and the audited patient list."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.urls import reverse

from dashboards import selectors
from dashboards.figures.common import MONTHS_DA_SHORT
from dashboards.selectors import dashboard as dashboard_selectors
from dashboards.selectors.national import national_results
from departments.access import exact_scope
from departments.models import AuditEvent, Department, Hospital, Role
from departments.services import grant_role
from indicators import mdc
from indicators.models import (
    ChangeMarker,
    Computation,
    IndicatorDefinition,
    OperationRow,
    Registry,
    Result,
)
from indicators.registry import synthetic
from indicators.services import definitions
from tests.departments.people import A, B, person
from tests.factories import kept_for_module, load_extract, settle

pytestmark = pytest.mark.django_db
MAJOR_GRADES = ["IIIa", "IIIb", "IVa", "IVb", "V"]


# --- helpers shared with the other dashboard tests ---------------------------------------------


def figure_json(response, element_id: str) -> dict:
    """The figure a page hands to plotly.js with json_script."""
    html = response.content.decode()
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, f"no json_script #{element_id}"
    return json.loads(found.group(1))


def months_2024(code: str | None, slug: str) -> list[Result]:
    return list(
        Result.objects.filter(
            computation__is_current=True,
            department__code=code,
            definition__slug=slug,
            period_type="month",
            period_start__year=2024,
        )
    )


def result(code: str | None, slug: str, period_type: str, start: dt.date) -> Result:
    return Result.objects.get(
        computation__is_current=True,
        department__code=code,
        definition__slug=slug,
        period_type=period_type,
        period_start=start,
    )


@pytest.fixture(scope="module")
def data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The extract every test of the module reads, imported and computed once."""
    with kept_for_module(django_db_blocker):
        yield load_extract(tmp_path_factory.mktemp("extract"))


@pytest.fixture
def koege(data, db) -> Department:
    return Department.objects.get(code=A)


@pytest.fixture
def vejle(data, db) -> Department:
    return Department.objects.get(code=B)


@pytest.fixture
def clinician(koege):
    return person("kliniker@example.dk", Role.CLINICIAN, koege)


@pytest.fixture
def coordinator(koege):
    return person("koordinator@example.dk", Role.COORDINATOR, koege)


@pytest.fixture
def leader(koege):
    """Leadership of Region Sjælland: sees Køge's aggregates, never its patients."""
    return person("ledelse@example.dk", Role.LEADERSHIP, koege.hospital.region)


def dashboard_url(code: str = A, **params) -> str:
    url = reverse("department_dashboard", args=[code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def danish_percent(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + " %"


# --- home -------------------------------------------------------------------------------------


def test_home_sends_a_clinician_to_their_department(client, clinician):
    client.force_login(clinician)
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("department_dashboard", args=[A])


def test_home_sends_a_clinician_of_two_departments_to_the_first_with_a_switcher(
    client, koege, vejle
):
    user = person("to@example.dk", Role.CLINICIAN, koege, vejle)
    client.force_login(user)
    first = min([koege, vejle], key=lambda d: (d.name, d.code))
    assert client.get("/").url == reverse("department_dashboard", args=[first.code])
    page = client.get(dashboard_url(first.code)).content.decode()
    switcher = page[page.index('<select id="dept-switch"') : page.index("</select>")]
    assert koege.name in switcher and vejle.name in switcher
    assert client.get(reverse("department_switch") + f"?code={B}").url == dashboard_url(B)


def test_home_sends_leadership_to_the_overview(client, leader):
    client.force_login(leader)
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.rstrip("/").endswith("/overview")


def test_home_sends_an_admin_to_the_audit_log(client, db):
    admin = person("admin@example.dk", Role.ADMIN)
    client.force_login(admin)
    assert client.get("/").url == reverse("audit_list")


def test_home_tells_a_user_without_a_role_to_ask_for_one(client, db):
    client.force_login(person("ny@example.dk"))
    response = client.get("/")
    assert response.status_code == 200
    assert "ingen rolle" in response.content.decode()


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_shows_a_tile_per_followed_indicator_in_its_order(client, clinician, koege):
    major = IndicatorDefinition.objects.get(slug="major_complication")
    stay = IndicatorDefinition.objects.get(slug="length_of_stay")
    definitions.choose_indicators(koege, [(stay, 6.0), (major, 0.15)])
    settle()
    client.force_login(clinician)
    page = client.get(dashboard_url(period_type="month")).content.decode()
    tiles = re.findall(r'<article class="tile" aria-labelledby="tile-([\w-]+)"', page)
    assert tiles == ["length_of_stay", "major_complication"]

    latest = result(A, "major_complication", "month", dt.date(2024, 12, 1))
    tile = page[page.index('id="tile-major_complication"') :]
    assert "december 2024" in tile
    assert danish_percent(latest.value) in tile
    assert f"{latest.numerator} af {latest.denominator}" in tile
    assert f"Mangler: {latest.missing}" in tile
    words = {
        "met": "Målet er opfyldt",
        "not_met": "Målet er ikke opfyldt",
        "not_shown": "Ikke påvist forskel fra målet",
    }
    assert words[latest.target_status] in tile
    assert "Mål: højst 15,0 %" in tile
    # The pool as the clinician may see it: exact, or hidden where it would give a count back.
    seen = national_results(Computation.objects.get(is_current=True), exact_scope(clinician))
    national = seen[(major.pk, "month", dt.date(2024, 12, 1))]
    if national["protected"]:
        assert 'Landsplan: <span class="muted">skjult – ville afsløre et lille tal' in tile
    else:
        assert f"Landsplan: <strong>{danish_percent(national['value'])}</strong>" in tile
    assert " dage" in page[page.index('id="tile-length_of_stay"') :]


def test_a_department_that_has_chosen_nothing_follows_every_standard_indicator(client, clinician):
    client.force_login(clinician)
    page = client.get(dashboard_url()).content.decode()
    standard = IndicatorDefinition.objects.filter(
        department__isnull=True, is_active=True, profile="dccg"
    )
    assert page.count('<article class="tile"') == standard.count()
    assert "Intet mål" in page  # the standard indicators carry no default target


def test_each_tile_has_a_sparkline_with_a_text_alternative(client, clinician):
    client.force_login(clinician)
    response = client.get(dashboard_url())
    spark = figure_json(response, "spark-major_complication")
    assert spark["data"][-2]["x"][-1] == "2024-12-01"
    assert spark["config"]["staticPlot"] is True
    assert spark["description"] in response.content.decode()
    assert 'data-figure="spark-major_complication" role="img" aria-label="' in (
        response.content.decode()
    )


def tile_periods(page: str) -> list[str]:
    return re.findall(r'<p class="tile-period muted">([^<]*)</p>', page)


def test_the_period_type_and_range_change_the_periods_shown(client, clinician):
    client.force_login(clinician)
    month = client.get(dashboard_url(period_type="month")).content.decode()
    assert set(tile_periods(month)) == {"december 2024"}
    quarter = client.get(dashboard_url(period_type="quarter")).content.decode()
    assert set(tile_periods(quarter)) == {"4. kvt. 2024"}
    year = client.get(dashboard_url(period_type="year", to="2022-06")).content.decode()
    assert set(tile_periods(year)) == {"2022"}
    month = client.get(
        dashboard_url(period_type="month", **{"from": "2021-01", "to": "2021-06"})
    ).content.decode()
    assert set(tile_periods(month)) == {"juni 2021"}
    spark = figure_json(
        client.get(dashboard_url(**{"from": "2021-01", "to": "2021-06"})),
        "spark-major_complication",
    )
    months = spark["data"][-2]["x"]
    assert months[-1] == "2021-06-01" and min(months) >= "2021-01-01"


def test_the_dashboard_in_english_names_months_in_english_and_keeps_danish_decimals(
    client, clinician
):
    client.force_login(clinician)
    page = client.get(dashboard_url(period_type="month"), HTTP_ACCEPT_LANGUAGE="en")
    page = page.content.decode()
    assert '<html lang="en">' in page
    assert "December 2024" in page
    latest = result(A, "major_complication", "month", dt.date(2024, 12, 1))
    assert f"{latest.value * 100:.1f}%".replace(".", ",") in page


def tile_of(page: str, slug: str) -> str:
    return page[page.index(f'id="tile-{slug}"') :].split("</article>")[0]


def test_by_default_a_tile_shows_the_last_12_months_summed_from_the_monthly_results(
    client, clinician, koege
):
    client.force_login(clinician)
    page = client.get(dashboard_url()).content.decode()
    assert set(tile_periods(page)) == {"Seneste 12 måneder: jan – dec 2024"}
    for slug in ("major_complication", "anastomotic_leak", "mortality_30d"):
        months = months_2024(A, slug)
        numerator = sum(r.numerator for r in months)
        denominator = sum(r.denominator for r in months)
        tile = tile_of(page, slug)
        assert f"{numerator} af {denominator}" in tile, slug
        assert danish_percent(numerator / denominator) in tile
        # One click to the patients of those twelve months.
        assert "patients/?period=2024-01..2024-12" in tile
    # The national figure is the pool's over the same months: here a calendar year, as stored.
    share = result(None, "major_complication", "year", dt.date(2024, 1, 1)).value
    assert f"Landsplan: <strong>{danish_percent(share)}</strong>" in tile_of(
        page, "major_complication"
    )


def test_year_to_date_is_the_departments_choice_and_a_median_is_taken_over_its_rows(
    client, clinician, coordinator, koege
):
    client.force_login(coordinator)
    response = client.post(
        reverse("department_settings", args=[A]),
        {"action": "indicators", "ind-summary": "ytd"}
        | {
            f"ind-follow_{d.pk}": "on"
            for d in IndicatorDefinition.objects.filter(department__isnull=True, profile="dccg")
        },
    )
    assert response.status_code == 302
    koege.refresh_from_db()
    assert koege.tile_summary == "ytd"
    assert AuditEvent.objects.filter(detail__summary=["rolling12", "ytd"]).count() == 1
    client.force_login(clinician)
    page = client.get(dashboard_url(to="2024-06")).content.decode()
    last = (
        OperationRow.objects.filter(
            extract__is_current=True, department=koege, operation_date__lt=dt.date(2024, 7, 1)
        )
        .latest("operation_date")
        .operation_date
    )
    # Each tile ends with its own latest month (an indicator may have none in the last ones).
    assert all(p.startswith("År til dato: jan – ") for p in tile_periods(page))
    stay_period = f"År til dato: jan – {MONTHS_DA_SHORT[last.month - 1]} 2024"
    assert stay_period in tile_of(page, "length_of_stay")
    # A median cannot be summed: the tile's is the median of the rows of those months.
    stays = sorted(
        (r.discharge_date - r.operation_date).days
        for r in OperationRow.objects.filter(
            extract__is_current=True,
            department=koege,
            operation_date__gte=dt.date(2024, 1, 1),
            operation_date__lt=dt.date(2024, last.month + 1, 1),
        ).exclude(discharge_date=None)
    )
    n = len(stays)
    median = (stays[(n - 1) // 2] + stays[n // 2]) / 2
    tile = tile_of(page, "length_of_stay")
    assert f"n = {n}" in tile
    assert f"{median:.1f}".replace(".", ",") in tile
    koege.tile_summary = "rolling12"
    koege.save()


def test_the_icons_say_in_words_what_the_monthly_spc_shows_of_the_latest_point(
    client, clinician, koege
):
    client.force_login(clinician)
    page = client.get(dashboard_url()).content.decode()
    english = client.get(dashboard_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    computations_now = selectors.current_computations({"dccg"})
    kinds, assurances = set(), set()
    for definition in IndicatorDefinition.objects.filter(department__isnull=True, profile="dccg"):
        monthly = selectors.stored_cells(computations_now, [definition], koege, {"month"})
        chart = selectors.spc_of(definition, monthly[(definition.pk, "month")], [])
        expected = mdc.variation(chart, definition.lower_is_better)
        tile = tile_of(page, definition.slug)
        assert f'data-mdc="{expected.kind}"' in tile, definition.slug
        assert expected.da in tile and expected.en in tile_of(english, definition.slug)
        kinds.add(expected.kind)
        # Assurance where a target is (DCCG's standards are default targets), none elsewhere.
        judged = mdc.assurance(chart, definition.default_target, definition.lower_is_better)
        shown = [k for k in ("pass", "fail", "inconsistent") if f'data-mdc="{k}"' in tile]
        assert shown == ([judged.kind] if judged else []), definition.slug
        if judged:
            assert judged.da in tile
            assurances.add(judged.kind)
    assert "common" in kinds and kinds - {"common"}  # this extract has both kinds
    assert assurances  # the standards are judged against the process limits


def test_filters_compute_the_departments_results_from_its_rows_without_writing(
    client, clinician, koege
):
    client.force_login(clinician)
    before = (Result.objects.count(), Computation.objects.count())
    response = client.get(dashboard_url(site="rektum", urgency="elektiv", period_type="year"))
    page = response.content.decode()
    assert (Result.objects.count(), Computation.objects.count()) == before
    assert "Tumorlokalisation: Rektum" in page and "Prioritet: Elektiv" in page

    rows = OperationRow.objects.filter(
        extract__is_current=True,
        department=koege,
        site="rektum",
        priority="elektiv",
        operation_date__year=2024,
    )
    known = rows.exclude(clavien_dindo=None)
    events = known.filter(clavien_dindo__in=MAJOR_GRADES).count()
    tile = page[page.index('id="tile-major_complication"') :].split("</article>")[0]
    assert f"{events} af {known.count()}" in tile
    assert f"Mangler: {rows.count() - known.count()}" in tile
    assert danish_percent(events / known.count()) in tile
    assert "Landsplan:" in tile and "<strong>" not in tile.split("Landsplan:")[1]


def test_filtered_results_equal_the_stored_ones_when_the_filters_cover_every_row(koege):
    # Kolon and rektum together are every row with a site: computed on demand they add up.
    major = IndicatorDefinition.objects.get(slug="major_complication")
    comps = selectors.current_computations({"dccg"})
    follows = [(major, None)]
    parts = [
        selectors.computed_cells(comps, follows, koege, selectors.Filters(site=site))
        for site in selectors.SITES
    ]
    stored = selectors.stored_cells(comps, [major], koege, {"year"})[(major.pk, "year")]
    blank_site = OperationRow.objects.filter(
        extract__is_current=True, department=koege, site=None
    ).count()
    for cell in stored:
        same = [
            next(c for c in part[(major.pk, "year")] if c.period_start == cell.period_start)
            for part in parts
        ]
        total = sum(c.denominator + c.missing for c in same)
        assert total <= cell.denominator + cell.missing
        if not blank_site:
            assert sum(c.numerator for c in same) == cell.numerator


def test_leadership_in_scope_sees_the_dashboard_exactly_but_no_patients(client, leader, clinician):
    latest = result(A, "anastomotic_leak", "month", dt.date(2024, 12, 1))
    client.force_login(leader)
    page = client.get(dashboard_url(period_type="month")).content.decode()
    tile = page[page.index('id="tile-anastomotic_leak"') :].split("</article>")[0]
    assert f"{latest.numerator} af {latest.denominator}" in tile
    assert "&lt;5" not in tile.split('class="national')[0]
    assert "Patienter" not in page
    client.force_login(clinician)
    own = client.get(dashboard_url(period_type="month")).content.decode()
    own_tile = own[own.index('id="tile-anastomotic_leak"') :].split("</article>")[0]
    assert f"{latest.numerator} af {latest.denominator}" in own_tile


def test_the_dashboard_of_another_department_is_not_found(client, clinician, vejle, leader):
    client.force_login(clinician)
    assert client.get(dashboard_url(B)).status_code == 404
    assert client.get(dashboard_url("9999999")).status_code == 404
    client.force_login(leader)  # Vejle lies in another region
    assert client.get(dashboard_url(B)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, koege):
    response = client.get(dashboard_url())
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_dashboard_shows_a_running_recompute_and_its_status_follows_it(
    client, clinician, koege
):
    client.force_login(clinician)
    page = client.get(dashboard_url()).content.decode()
    assert re.search(r'id="computation-status"[^>]*data-running="0"[^>]*hidden', page, re.S)
    running = Computation.objects.create(
        registry=Registry.objects.get(slug="dccg"), status="running", progress=40
    )
    page = client.get(dashboard_url()).content.decode()
    assert re.search(r'id="computation-status"[^>]*data-running="1"', page, re.S)
    assert "Beregner…" in page
    state = client.get(reverse("department_status", args=[A])).json()
    assert state["running"] is True and state["progress"] == 40 and state["id"] == running.pk
    assert state["current_id"] == Computation.objects.get(is_current=True).pk
    running.status = "failed"
    running.save(update_fields=["status"])
    assert client.get(reverse("department_status", args=[A])).json()["running"] is False


# --- one indicator in time --------------------------------------------------------------------


@pytest.fixture
def marker(koege):
    major = IndicatorDefinition.objects.get(slug="major_complication")
    found = definitions.add_change_marker(
        koege, date=synthetic.CHANGE_DATE, label=synthetic.CHANGE_LABEL, definitions=[major]
    )
    definitions.set_target(koege, major, 0.15)
    settle()
    return found


def indicator_url(slug: str = "major_complication", code: str = A, **params) -> str:
    url = reverse("indicator_detail", args=[code, slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_the_indicator_page_draws_the_p_chart_with_phases_at_the_change_marker(
    client, clinician, marker
):
    client.force_login(clinician)
    response = client.get(indicator_url())
    chart = figure_json(response, "spc-figure")
    names = [trace.get("name") for trace in chart["data"]]
    assert "Landsplan" in names
    assert "Mål: højst 15,0 %" in names
    assert "Kontrolgrænser (3 sigma)" in names
    assert names[-1] in ("Månedens værdi", "Uden for kontrolgrænserne")
    texts = " ".join(a["text"] for a in chart["layout"]["annotations"])
    assert synthetic.CHANGE_LABEL in texts and "(mar 2022)" in texts
    assert "Fase 1: centerlinje" in texts and "Fase 2: centerlinje" in texts
    assert [s["x0"] for s in chart["layout"]["shapes"]] == ["2022-02-15"]
    assert chart["layout"]["separators"] == ",."
    page = response.content.decode()
    assert 'role="img" aria-label="p-kort for Større komplikation' in page
    assert "Hent diagram (PNG)" in page and "Hent data (CSV)" in page


def test_the_before_after_panel_shows_both_phases_with_intervals(client, clinician, marker):
    client.force_login(clinician)
    page = client.get(indicator_url()).content.decode()
    panel = page[page.index('id="ba-title"') :].split("</section>")[0]
    assert synthetic.CHANGE_LABEL in panel
    before = Result.objects.filter(
        computation__is_current=True,
        department__code=A,
        definition__slug="major_complication",
        period_type="month",
    )
    pre = [r for r in before if r.period_start < dt.date(2022, 3, 1)]
    post = [r for r in before if r.period_start >= dt.date(2022, 3, 1)]
    for part in (pre, post):
        num, den = sum(r.numerator for r in part), sum(r.denominator for r in part)
        assert f"{num} af {den}" in panel
        assert danish_percent(num / den) in panel
    assert panel.count("95 % KI") == 2
    assert "januar 2019 – februar 2022" in panel and "marts 2022 – december 2024" in panel


def test_the_period_table_lists_every_month_with_links_to_the_patients(
    client, clinician, leader, marker
):
    months = Result.objects.filter(
        computation__is_current=True,
        department__code=A,
        definition__slug="major_complication",
        period_type="month",
    ).count()
    client.force_login(clinician)
    page = client.get(indicator_url()).content.decode()
    body = page[page.index('class="data periods"') :]
    assert body.count('<th scope="row">') == months
    assert "patients/?period=2022-03" in body
    client.force_login(leader)
    led = client.get(indicator_url()).content.decode()
    assert "patients/?period=" not in led


def test_the_run_chart_can_be_chosen_and_a_measure_always_gets_one(client, clinician):
    client.force_login(clinician)
    run = figure_json(client.get(indicator_url(chart="run")), "spc-figure")
    assert "Kontrolgrænser (3 sigma)" not in [t.get("name") for t in run["data"]]
    centre = [t["name"] for t in run["data"] if t.get("name", "").startswith("Centerlinje")]
    assert set(centre) <= {"Centerlinje (median)", "Centerlinje, ikke-tilfældig variation"}
    assert centre
    stay = client.get(indicator_url("length_of_stay", chart="p"))
    assert stay.status_code == 200
    assert "Median, dage" in json.dumps(figure_json(stay, "spc-figure"), ensure_ascii=False)


def test_the_csv_download_has_every_month_and_is_audited(client, clinician, marker):
    client.force_login(clinician)
    response = client.get(reverse("indicator_csv", args=[A, "major_complication"]))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="4202200-major_complication.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["afdeling", "indikator", "maaned", "taeller"]
    march = next(r for r in rows if r[2] == "2022-03")
    stored = result(A, "major_complication", "month", dt.date(2022, 3, 1))
    assert march[3:6] == [str(stored.numerator), str(stored.denominator), str(stored.missing)]
    assert march[6] == repr(stored.value).replace(".", ",")
    assert march[9] == "2"  # the second phase begins in March 2022
    event = AuditEvent.objects.get(action="export")
    assert event.department_code == A and event.target == "major_complication.csv"


def test_an_unknown_or_another_departments_own_indicator_is_not_found(client, clinician, vejle):
    own = definitions.create_department_indicator(
        vejle,
        name_da="Vejles egen",
        name_en="Vejle's own",
        event={"field": "clavien_dindo", "op": "in", "value": ["IIIa"]},
    )
    client.force_login(clinician)
    assert client.get(indicator_url("findes-ikke")).status_code == 404
    assert client.get(indicator_url(own.slug)).status_code == 404


# --- the patients behind a number -------------------------------------------------------------


def patients_url(period: str, slug: str = "major_complication", **params) -> str:
    url = reverse("indicator_patients", args=[A, slug]) + f"?period={period}"
    return url + "".join(f"&{k}={v}" for k, v in params.items())


def test_a_clinician_sees_the_patients_behind_the_number_and_the_view_is_audited(
    client, clinician, koege
):
    stored = result(A, "major_complication", "month", dt.date(2022, 3, 1))
    client.force_login(clinician)
    response = client.get(patients_url("2022-03"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    events = page[page.index('id="events-title"') : page.index('id="missing-title"')]
    assert events.count("<tr>") - 1 == stored.numerator  # less the header row
    rows = OperationRow.objects.filter(
        extract__is_current=True,
        department=koege,
        operation_date__year=2022,
        operation_date__month=3,
    )
    for row in rows.filter(clavien_dindo__in=MAJOR_GRADES):
        assert row.pseudonym[:8] in events
        assert row.pseudonym not in page  # only the short pseudonym
        assert row.operation_date.strftime("%d-%m-%Y") in events  # SHORT_DATE_FORMAT
    missing = rows.filter(clavien_dindo=None).count()
    assert f"<dd>{missing}</dd>" in page
    event = AuditEvent.objects.get(action="patients_viewed")
    assert (event.department_code, event.target) == (A, "major_complication/2022-03")
    assert event.detail["events"] == stored.numerator


def test_the_english_patient_list_names_site_and_urgency_as_the_filters_do(client, clinician):
    client.force_login(clinician)
    page = client.get(patients_url("2022-03"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    events = page[page.index('id="events-title"') : page.index('id="missing-title"')]
    cells = re.findall(r"<td>([^<]*)</td>", events)
    assert {"Colon", "Rectum"} & set(cells) and {"Elective", "Emergency"} & set(cells)
    assert not {"kolon", "rektum", "elektiv", "akut"} & set(cells)
    dashboard = client.get(dashboard_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="rektum">Rectum</option>' in dashboard
    assert '<option value="akut">Emergency</option>' in dashboard
    # Days in the portal's short date format, the same in both languages.
    assert re.search(r'<td class="date">\d\d-03-2022</td>', events)
    assert "recorded in the access log" in page


def test_a_coordinator_finds_the_settings_from_the_dashboard_and_the_menu(client, coordinator):
    client.force_login(coordinator)
    settings_url = reverse("department_settings", args=[A])
    for url in (dashboard_url(), indicator_url(), patients_url("2022-03")):
        page = client.get(url).content.decode()
        assert f'href="{settings_url}"' in page, url
    page = client.get(dashboard_url()).content.decode()
    assert page.count(f'href="{settings_url}"') == 2  # the header's menu and the dashboard
    assert ">Indstillinger</a>" in page
    english = client.get(dashboard_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Settings</a>" in english


def test_clinicians_and_leadership_get_no_settings_link(client, clinician, leader):
    settings_url = reverse("department_settings", args=[A])
    for user in (clinician, leader):
        client.force_login(user)
        page = client.get(dashboard_url()).content.decode()
        assert settings_url not in page and ">Indstillinger<" not in page
        assert client.get(settings_url).status_code == 403


def test_a_coordinator_of_another_department_gets_no_settings_link_here(client, koege, vejle):
    # Coordinator in Vejle, clinician in Køge: Køge's pages do not offer Køge's settings.
    user = person("begge@example.dk", Role.COORDINATOR, vejle)
    grant_role(user, Role.CLINICIAN, department=koege)
    client.force_login(user)
    page = client.get(dashboard_url(A)).content.decode()
    assert reverse("department_settings", args=[A]) not in page
    page = client.get(dashboard_url(B)).content.decode()
    assert f'href="{reverse("department_settings", args=[B])}"' in page


def test_a_coordinator_sees_the_patients_too(client, coordinator):
    client.force_login(coordinator)
    assert client.get(patients_url("2024-12")).status_code == 200
    assert AuditEvent.objects.filter(action="patients_viewed", user=coordinator).exists()


def test_leadership_never_sees_patient_rows(client, leader):
    client.force_login(leader)
    assert client.get(patients_url("2022-03")).status_code == 403
    assert not AuditEvent.objects.filter(action="patients_viewed").exists()


def test_patients_of_another_department_are_not_found(client, vejle):
    other = person("vejle@example.dk", Role.CLINICIAN, vejle)
    client.force_login(other)
    assert client.get(patients_url("2022-03")).status_code == 404


def test_a_measure_lists_the_stays_longest_first(client, clinician):
    client.force_login(clinician)
    page = client.get(patients_url("2023", slug="length_of_stay")).content.decode()
    days = [int(d) for d in re.findall(r'<td class="num">(\d+)</td>', page)]
    assert days and days == sorted(days, reverse=True)
    assert "2023" in page


def test_a_patient_list_without_a_readable_period_goes_back_to_the_indicator(client, clinician):
    client.force_login(clinician)
    response = client.get(reverse("indicator_patients", args=[A, "major_complication"]))
    assert response.status_code == 302
    assert response.url == indicator_url()
    assert not AuditEvent.objects.filter(action="patients_viewed").exists()


def test_the_header_switcher_is_absent_for_a_single_department(client, clinician):
    client.force_login(clinician)
    page = client.get(dashboard_url()).content.decode()
    assert 'id="dept-switch"' not in page
    assert Hospital.objects.get(code="4202").name in page
    assert not ChangeMarker.objects.exists()


def test_the_patients_behind_a_tile_or_a_chart_point_are_one_click_away(client, clinician, leader):
    import json
    import re

    client.force_login(clinician)
    page = client.get(dashboard_url(period_type="month")).content.decode()
    tile = page[page.index('id="tile-major_complication"') :].split("</article>")[0]
    link = re.search(r'href="([^"]*/patients/\?period=2024-12)"', tile)
    assert link, "the tile links to the latest month's patients"
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    html = client.get(indicator_url()).content.decode()
    figure = json.loads(
        re.search(r'<script id="spc-figure" type="application/json">(.*?)</script>', html).group(1)
    )
    points = next(t for t in figure["data"] if t.get("name") == "Månedens værdi")
    assert all(
        url.startswith(f"/departments/{A}/indicators/major_complication/patients/?period=")
        for url in points["customdata"]
    )
    # Leadership sees the numbers but no way to the patients.
    client.force_login(leader)
    page = client.get(dashboard_url()).content.decode()
    assert "/patients/" not in page
    html = client.get(indicator_url()).content.decode()
    assert "/patients/" not in html


def test_a_national_window_is_summed_from_visible_months_and_hidden_if_any_month_is():
    major = IndicatorDefinition(pk=1, kind="proportion")
    stay = IndicatorDefinition(pk=2, kind="measure")

    def row(numerator, denominator, protected=False):
        return {"numerator": numerator, "denominator": denominator, "missing": 1} | {
            "protected": protected
        }

    pool = {(1, "month", dt.date(2024, m, 1)): row(m, 10 * m) for m in range(3, 9)}
    window = (dt.date(2024, 3, 1), dt.date(2024, 8, 1))
    found = dashboard_selectors._national_window(pool, major, window)
    assert (found["numerator"], found["denominator"], found["missing"]) == (33, 330, 6)
    assert found["value"] == pytest.approx(0.1) and found["ci_low"] < 0.1 < found["ci_high"]
    # One hidden month would come back by subtraction from the sum: the sum is hidden.
    pool[(1, "month", dt.date(2024, 5, 1))] = row("<5", None, protected=True)
    assert dashboard_selectors._national_window(pool, major, window)["protected"] is True
    assert dashboard_selectors._national_window(pool, stay, window) is None
    year = {(2, "year", dt.date(2024, 1, 1)): row(None, 99)}
    whole = (dt.date(2024, 1, 1), dt.date(2024, 12, 1))
    assert dashboard_selectors._national_window(year, stay, whole)["denominator"] == 99


def test_dccgs_standard_is_the_default_target_and_a_department_may_set_its_own(
    client, clinician, koege
):
    client.force_login(clinician)
    leak = IndicatorDefinition.objects.get(slug="anastomotic_leak_rectum")
    page = client.get(dashboard_url()).content.decode()
    assert "Mål (landsstandard): højst 10,0 %" in tile_of(page, leak.slug)
    english = client.get(dashboard_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Target (national standard): at most 10,0%" in tile_of(english, leak.slug)
    definitions.set_target(koege, leak, 0.08)
    settle()
    page = client.get(dashboard_url()).content.decode()
    assert "Mål: højst 8,0 %" in tile_of(page, leak.slug)
    assert "landsstandard" not in tile_of(page, leak.slug)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03", ("month", dt.date(2024, 3, 1), "2024-03")),
        ("2024-q2", ("quarter", dt.date(2024, 4, 1), "2024-Q2")),
        ("2024", ("year", dt.date(2024, 1, 1), "2024")),
        ("2023-12..2024-11", ("window", dt.date(2023, 12, 1), "2023-12..2024-11")),
        ("2024-05..2024-05", ("window", dt.date(2024, 5, 1), "2024-05..2024-05")),
        ("2024-05..2024-04", None),  # backwards
        ("2014-01..2024-01", None),  # more than ten years
        ("2022-01..2022-02..2022-03", None),
        ("2024-1..2024-02", None),
        ("9999-01..9999-02", None),
        ("2024-13", None),
        ("", None),
    ],
)
def test_a_period_is_read_or_refused_never_a_crash(text, expected):
    period = selectors.parse_period(text)
    if expected is None:
        assert period is None
    else:
        assert (period.period_type, period.start, period.code) == expected


def test_an_own_indicators_target_is_its_own_not_a_national_standard(
    client, coordinator, clinician, koege
):
    from indicators.services import settings_actions

    settings_actions.add_own_indicator(
        koege,
        user=coordinator,
        name_da="Akutte",
        name_en="Emergencies",
        event={"field": "priority", "op": "eq", "value": "akut"},
        default_target=0.5,
    )
    settle()
    client.force_login(clinician)
    page = client.get(dashboard_url()).content.decode()
    own = page[page.index("Akutte") :].split("</article>")[0]
    assert "Mål: højst 50,0 %" in own and "landsstandard" not in own
