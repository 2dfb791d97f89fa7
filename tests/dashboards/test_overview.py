"""Leadership's overview: every department in scope grouped by region and hospital, small
numbers shown as "<5" in the matrix and the funnels' hover texts, scope limits, refusals, and a
number of queries that does not grow with departments, indicators or periods."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
from html import unescape

import pytest

from departments.models import Department, Hospital, Region, Role
from indicators.models import Computation, IndicatorDefinition, Result
from indicators.registry import synthetic
from tests.departments.people import person
from tests.factories import build_world, kept_for_module

REGIONS = importlib.import_module("departments.migrations.0002_danish_regions").REGIONS

pytestmark = pytest.mark.django_db
ALL_CODES = {d.code for d in synthetic.DEPARTMENTS}


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):
    """The country every test of the module reads, imported and computed once."""
    with kept_for_module(django_db_blocker):
        yield build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def world(built, db) -> Computation:
    return built


@pytest.fixture
def leader(client):
    user = person("ledelse@example.dk", Role.LEADERSHIP)
    client.force_login(user)
    return user


def figures(html: str) -> dict:
    found = re.search(r'<script id="overview-figures" type="application/json">(.*?)</script>', html)
    assert found, "no figures handed to the page"
    return json.loads(found.group(1))


def matrix(html: str) -> str:
    return html[html.index('<table class="data matrix"') : html.index("</table>")]


def matrix_rows(html: str) -> list[str]:
    """The department names in the matrix, in the order shown."""
    return [
        unescape(name)
        for name in re.findall(r'<tr class="dept" data-order="\d+" data-name="([^"]*)"', html)
    ]


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/overview/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_clinicians_and_coordinators_do_not_get_the_overview(client, world):
    department = Department.objects.get(code="4202200")
    for email, role in (("k@example.dk", Role.CLINICIAN), ("q@example.dk", Role.COORDINATOR)):
        client.force_login(person(email, role, department))
        response = client.get("/overview/")
        assert response.status_code == 403
        assert "Kirurgisk Afdeling" not in response.content.decode()


def test_leadership_sees_every_department_grouped_by_region_and_hospital(client, world, leader):
    response = client.get("/overview/")
    assert response.status_code == 200
    html = response.content.decode()
    names = matrix_rows(html)
    assert len(names) == 21
    assert set(names) == set(Department.objects.values_list("name", flat=True))
    regions = re.findall(
        r'<tr class="group region"><th scope="rowgroup" colspan="\d+"><span[^>]*>([^<]+)<', html
    )
    assert regions == sorted(synthetic._REGIONS.values())
    hospitals = re.findall(r'<tr class="group hospital"><th [^>]*><span[^>]*>([^<]+)<', html)
    assert len(hospitals) == 21 and "Odense Universitetshospital" in hospitals
    # Grouped: the Sjælland block holds Køge, under its hospital, before Syddanmark's Vejle.
    table = matrix(html)
    assert table.index("Region Sjælland") < table.index("Sjællands Universitetshospital, Køge")
    assert table.index("Sjællands Universitetshospital, Køge") < table.index(
        "Kirurgisk Afdeling, Køge"
    )
    assert table.index("Kirurgisk Afdeling, Køge") < table.index("Region Syddanmark")
    # Every standard indicator is a column; the latest year is chosen; links go down.
    for definition in IndicatorDefinition.objects.filter(department=None, profile="dccg"):
        assert definition.name_da in html
    assert '<option value="2024" selected>2024</option>' in html
    assert 'href="/departments/4202200/"' in html
    assert 'href="/departments/4202200/indicators/major_complication/?registry=dccg"' in html
    # Danish decimal comma and interval in the cells, and the target status in words.
    assert re.search(r"\d+,\d %", html) and re.search(r"\d+,\d–\d+,\d %", html)


def test_the_matrix_shows_a_leader_the_small_counts_of_its_scope_exactly(client, world, leader):
    html = client.get("/overview/?period=2024").content.decode()
    small = Result.objects.filter(
        computation=world,
        period_type="year",
        period_start=dt.date(2024, 1, 1),
        department__isnull=False,
        numerator__gte=1,
        numerator__lte=4,
    ).select_related("department", "definition")
    assert small, "the world should have small numerators"
    for result in small[:5]:
        url = (
            f"/departments/{result.department.code}/indicators/{result.definition.slug}/"
            "?registry=dccg"
        )
        cell = re.search(
            rf'<td [^>]*>\s*<a class="value" href="{re.escape(url)}">(.*?)</td>', html, re.S
        )
        assert cell, url
        text = cell.group(1)
        assert f"{result.numerator}/{result.denominator}" in text
        assert "%" in text and "&lt;5" not in text


def test_the_funnel_places_every_department_in_scope_by_its_exact_proportion(client, world, leader):
    html = client.get("/overview/?period=2024").content.decode()
    found = figures(html)
    funnel = found["funnel-major_complication"]
    assert not [t for t in funnel["data"] if t.get("yaxis") == "y2"]
    shown = [t for t in funnel["data"] if t.get("mode") == "markers"]
    small = [
        r
        for r in Result.objects.filter(
            computation=world,
            definition__slug="major_complication",
            period_type="year",
            period_start=dt.date(2024, 1, 1),
            department__isnull=False,
        ).select_related("department")
        if 1 <= r.numerator <= 4
    ]
    assert small
    hover = " ".join(" ".join(t["text"]) for t in shown)
    for result in small:
        assert f"<b>{result.department.name}</b>" in hover
    assert sum(len(t["x"]) for t in shown) == 21
    assert funnel["layout"]["title"]["text"] == "Større komplikation · 2024"
    assert "Tragtplot af Større komplikation, 2024" in funnel["description"]
    # The national trend: a line per proportion of the pool (a median is not pooled).
    proportions = IndicatorDefinition.objects.filter(
        department=None, kind="proportion", profile="dccg"
    ).count()
    assert "trend" in found and len(found["trend"]["data"]) == proportions


def test_a_leader_of_one_region_sees_only_that_region(client, world):
    region = Region.objects.get(name="Region Sjælland")
    client.force_login(person("region@example.dk", Role.LEADERSHIP, region))
    html = client.get("/overview/").content.decode()
    in_region = set(
        Department.objects.filter(hospital__region=region).values_list("name", flat=True)
    )
    assert set(matrix_rows(html)) == in_region and len(in_region) == 4
    assert "Region Hovedstaden" not in html and "Odense" not in html
    funnel = figures(html)["funnel-anastomotic_leak"]
    points = sum(len(t["x"]) for t in funnel["data"] if t.get("mode") == "markers")
    assert points == 4


def test_a_leader_of_one_hospital_sees_its_departments(client, world):
    department = Department.objects.get(code="5501450")
    client.force_login(person("h@example.dk", Role.LEADERSHIP, department.hospital))
    html = client.get("/overview/").content.decode()
    assert matrix_rows(html) == [department.name]


def test_the_overview_speaks_english_with_its_numbers(client, world, leader):
    client.cookies["django_language"] = "en"
    html = client.get("/overview/?period=2023-Q4", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert '<option value="2023-Q4" selected>Q4 2023</option>' in html
    funnel = figures(html)["funnel-major_complication"]
    assert funnel["layout"]["title"]["text"] == "Major complication · Q4 2023"
    assert funnel["layout"]["separators"] == ",."  # numbers keep the Danish notation
    assert re.search(r"\d+,\d%", html)


def test_a_leader_of_a_hospital_without_departments_sees_none(client, world):
    empty = Hospital.objects.create(code="9999", name="Tomt Sygehus")
    client.force_login(person("tom@example.dk", Role.LEADERSHIP, empty))
    html = client.get("/overview/").content.decode()
    assert "Der er ingen afdelinger i dit område." in html
    assert matrix_rows(html) == [] and "overview-figures" not in html


def test_funnel_outliers_are_labelled_listed_and_flagged_high_or_low(client, world, leader):
    html = client.get("/overview/?period=2024").content.decode()
    found = figures(html)
    outside = []
    for name, figure in found.items():
        if not name.startswith("funnel-"):
            continue
        for trace in figure["data"]:
            if trace.get("name", "").startswith(("Over ", "Under ")):
                assert trace["mode"] == "markers+text" and all(trace["text"])  # labelled
                symbol = trace["marker"]["symbol"]
                assert symbol == (
                    "triangle-up" if trace["name"].startswith("Over") else "triangle-down"
                )
                outside += [(name, t) for t in trace["text"]]
    assert outside, "a synthetic country of 21 departments has outliers"
    table = html[html.index('id="outliers-title"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr class=") == len(outside)
    assert "/indicators/" in table  # each links to the department's indicator page
    # ... and the matrix flags them too.
    assert matrix(html).count('class="outlier outlier-') == len(outside)


def test_a_leader_of_one_region_exports_the_table_it_sees_as_csv(client, world):
    import csv
    import io

    from departments.models import AuditEvent

    region = Region.objects.get(name="Region Sjælland")
    client.force_login(person("region-csv@example.dk", Role.LEADERSHIP, region))
    response = client.get("/overview/", {"period": "2024", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["register", "region", "sygehus", "afdeling_kode", "afdeling"]
    in_region = set(
        Department.objects.filter(hospital__region=region).values_list("code", flat=True)
    )
    codes = {r[3] for r in body}
    assert codes == in_region | {"ALL"}
    assert {r[0] for r in body} == {"dccg"}
    assert {r[1] for r in body if r[3] != "ALL"} == {"Region Sjælland"}
    standard = IndicatorDefinition.objects.filter(department=None, profile="dccg").count()
    assert len([r for r in body if r[3] == "ALL"]) == standard  # each indicator's national row
    event = AuditEvent.objects.get(action="export", target="overblik-dccg-2024.csv")
    assert event.detail["rows"] == len(body) - standard
