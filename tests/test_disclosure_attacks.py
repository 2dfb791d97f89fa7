"""The attacker suite: a leader of one region tries to recover the small counts of the rest of
the country through the portal's own pages, API and CSV files, and fails; a leader's own scope
is exact.

One synthetic country (21 departments, 5 regions) is imported and computed once for the module.
Each attack named in docs/privacy.md is one test. The integer-program attacker
(tests/disclosure_attack.py) is written apart from the portal's protection.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client

from departments.models import Department, Region, Role
from indicators.models import Computation, IndicatorDefinition, Result
from indicators.services import computations
from indicators.services.definitions import create_department_indicator
from tests.dashboards.test_overview import build_world
from tests.departments.people import person
from tests.disclosure_attack import LABEL, recover

pytestmark = pytest.mark.django_db
ATTACKER_REGION = "Region Sjælland"
COUNTS = ("numerator", "denominator")


@dataclass
class World:
    computation: Computation
    attacker: object  # a leader of ATTACKER_REGION
    nationwide: object  # a leader of the whole country
    clinician: object  # a clinician of one department in another region
    scope: list[Department]  # the attacker's departments
    outside: list[Department]
    own_indicators: list[IndicatorDefinition]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module inside a transaction that is rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            computation = build_world(tmp_path_factory.mktemp("country"), rows=3000, seed=7)
            region = Region.objects.get(name=ATTACKER_REGION)
            scope = list(Department.objects.filter(hospital__region=region))
            outside = list(Department.objects.exclude(hospital__region=region))
            assert scope and len(outside) > 5
            target = outside[0]
            # A coordinator elsewhere defines X, X or P, and P: with a pool, their difference
            # would single out a patient.
            rules = {
                "x": {"field": "asa", "op": "ge", "value": 4},
                "x-or-p": {
                    "any": [
                        {"field": "asa", "op": "ge", "value": 4},
                        {"field": "priority", "op": "eq", "value": "akut"},
                    ]
                },
                "p": {"field": "priority", "op": "eq", "value": "akut"},
            }
            own = [
                create_department_indicator(
                    target, slug=f"egen-{slug}", name_da=slug, name_en=slug, event=rule
                )
                for slug, rule in rules.items()
            ]
            computation = computations.recompute(computation.registry, reason="own indicators")
            assert computation.status == "done", computation.error_en
            yield World(
                computation,
                person("angriber@example.dk", Role.LEADERSHIP, region),
                person("landsledelse@example.dk", Role.LEADERSHIP),
                person("kliniker@example.dk", Role.CLINICIAN, target),
                scope,
                outside,
                own,
            )
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_rows(client: Client, **params) -> list[dict]:
    rows, url, query = [], "/api/v1/results", {"limit": "10000", **params}
    while url:
        response = client.get(url, query)
        assert response.status_code == 200, (response.status_code, response.content[:2000])
        answer = response.json()
        rows.extend(answer["results"])
        url, query = answer["next"], None
    for row in rows:
        row["period_start"] = dt.date.fromisoformat(row["period_start"])
    return rows


def truth(world: World) -> dict:
    return {
        (r["definition__slug"], r["period_type"], r["period_start"]): (
            r["numerator"],
            r["denominator"],
        )
        for r in Result.objects.filter(
            computation=world.computation, department__isnull=True
        ).values("definition__slug", "period_type", "period_start", "numerator", "denominator")
    }


def scope_sums(rows: list[dict]) -> dict:
    """What the attacker knows exactly: the sums of the departments it sees."""
    known: dict = defaultdict(lambda: [0, 0])
    for row in rows:
        if row["department_code"] != "ALL":
            key = (row["indicator"], row["period_type"], row["period_start"])
            known[key][0] += row["numerator"] or 0
            known[key][1] += row["denominator"]
    return {key: tuple(v) for key, v in known.items()}


@pytest.fixture(scope="module")
def stolen(world, django_db_blocker):
    """Everything the attacker's API gives: (ALL rows, its scope's rows, the sums it knows)."""
    with django_db_blocker.unblock():
        rows = api_rows(logged_in(world.attacker))
        pool = [r for r in rows if r["department_code"] == "ALL"]
        return pool, [r for r in rows if r["department_code"] != "ALL"], scope_sums(rows)


def small_rest(world, stolen) -> dict:
    """The counts of the rest of the country that are 1 to 4, which nothing may give back."""
    _pool, _own, known = stolen
    found = {}
    for key, counts in truth(world).items():
        for index, name in enumerate(COUNTS):
            if counts[index] is None:
                continue
            rest = counts[index] - known.get(key, (0, 0))[index]
            if 0 < rest < 5:
                found[(*key, name)] = rest
    return found


# --- the attacks ------------------------------------------------------------------------------


def test_the_rest_of_the_country_has_small_counts_to_protect(world, stolen):
    # Without them every other test here would pass for want of anything to find.
    assert len(small_rest(world, stolen)) > 50


def test_departments_against_all_give_nothing_back(world, stolen):
    """ALL minus the departments the attacker sees exactly is the rest of the country."""
    pool, _own, known = stolen
    for row in pool:
        key = (row["indicator"], row["period_type"], row["period_start"])
        for index, name in enumerate(COUNTS):
            if isinstance(row[name], int):
                rest = row[name] - known.get(key, (0, 0))[index]
                assert not 0 < rest < 5, f"{key} {name}: ALL minus the scope gives {rest}"


def test_periods_cannot_be_differenced(world, stolen):
    """A quarter minus its shown months, a year minus its shown quarters, each on its own."""
    pool, _own, known = stolen
    shown = {(r["indicator"], r["period_type"], r["period_start"]): r for r in pool}
    small = small_rest(world, stolen)
    recovered = []
    for (slug, kind, start), row in shown.items():
        parts = (
            [("quarter", start.replace(month=m)) for m in (1, 4, 7, 10)]
            if kind == "year"
            else [("month", start.replace(month=start.month + i)) for i in range(3)]
            if kind == "quarter"
            else []
        )
        for index, name in enumerate(COUNTS):
            if not parts or not isinstance(row[name], int):
                continue
            hidden = [
                p for p in parts if (slug, *p) in shown and shown[(slug, *p)][name] in (LABEL, None)
            ]
            if len(hidden) != 1:
                continue
            rest = row[name] - known.get((slug, kind, start), (0, 0))[index]
            for part in parts:
                if part != hidden[0] and (slug, *part) in shown:
                    rest -= shown[(slug, *part)][name] - known.get((slug, *part), (0, 0))[index]
            if (slug, *hidden[0], name) in small:
                recovered.append((slug, *hidden[0], name, rest))
    assert recovered == []


def test_no_small_count_can_be_worked_out_from_everything_published(world, stolen):
    """Every sum, every label, every bound at once, solved as an integer program."""
    pool, _own, known = stolen
    assert recover(pool, known, truth(world)) == []


def test_a_protected_row_carries_nothing_derived_from_it(world, stolen):
    pool, _own, _known = stolen
    protected = [r for r in pool if r["protected"]]
    assert protected, "the attacker should meet protected rows"
    for row in protected:
        for field in ("value", "ci_low", "ci_high", "mean", "q1", "q3", "target_status"):
            assert row[field] is None, (row, field)
        assert row["numerator"] in (LABEL, None) or row["denominator"] in (LABEL, None)
    # The missing count is never published for the pool outside the scope.
    assert all(r["missing"] is None for r in pool)


def test_filters_and_date_ranges_add_no_national_aggregate(world, stolen):
    pool, _own, _known = stolen
    client = logged_in(world.attacker)
    code = world.scope[0].code
    for params in ({"site": "kolon"}, {"site": "rektum"}, {"urgency": "akut"}):
        page = client.get(f"/departments/{code}/", params).content.decode()
        assert "Landsplan: <strong>" not in page  # no national figure beside a filter
        text = client.get(
            f"/departments/{code}/indicators/major_complication/data.csv", params
        ).content.decode("utf-8-sig")
        national = [line.split(";")[-1] for line in text.splitlines()[1:]]
        assert set(national) == {""}, "a filtered CSV carries no national column"
    # A date range only chooses months; each national figure is the one published anyway.
    published = {
        r["period_start"]: r
        for r in pool
        if r["indicator"] == "major_complication" and r["period_type"] == "month"
    }
    text = client.get(
        f"/departments/{code}/indicators/major_complication/data.csv",
        {"from": "2023-03", "to": "2023-09"},
    ).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    assert lines
    for line in lines:
        row = published[dt.date.fromisoformat(line[2] + "-01")]
        expected = "skjult" if row["protected"] else repr(row["value"]).replace(".", ",")
        assert line[-1] == expected
    # The API takes no filter that could narrow the pool.
    answer = client.get("/api/v1/results", {"site": "kolon"})
    assert answer.status_code == 400 and answer.json()["error"] == "unknown_parameter"


def test_spc_limits_exist_only_for_departments_in_scope(world):
    client = logged_in(world.attacker)
    outside = world.outside[0].code
    for suffix in ("", "data.csv?chart=p"):
        url = f"/departments/{outside}/indicators/mortality_30d/{suffix}"
        assert client.get(url).status_code == 404
    # Inside the scope the chart's limits sit beside exact counts, which the leader may see.
    text = client.get(
        f"/departments/{world.scope[0].code}/indicators/mortality_30d/data.csv?chart=p"
    ).content.decode("utf-8-sig")
    assert LABEL not in text


def test_funnels_show_the_scope_and_a_national_line_only_where_the_pool_is_shown(world, stolen):
    pool, _own, _known = stolen
    client = logged_in(world.attacker)
    names = {d.name for d in world.scope}
    outside = {d.name for d in world.outside}
    shown = {(r["indicator"], r["period_type"], r["period_start"]): r for r in pool}
    html = client.get("/overview/").content.decode()
    choices = re.search(r'<select name="period" id="period-select">(.*?)</select>', html, re.S)
    periods = re.findall(r'<option value="(\d{4}(?:-Q\d)?)"', choices.group(1))
    assert len(periods) > 4
    funnels = 0
    for period in periods:
        page = client.get("/overview/", {"period": period}).content.decode()
        data = re.search(r'id="overview-figures" type="application/json">(.*?)</script>', page)
        figures = json.loads(data.group(1))
        start = (
            dt.date(int(period[:4]), 3 * int(period[-1]) - 2, 1)
            if "Q" in period
            else dt.date(int(period), 1, 1)
        )
        kind = "quarter" if "Q" in period else "year"
        for name, figure in figures.items():
            if not name.startswith("funnel-"):
                continue
            funnels += 1
            national = shown[(name.removeprefix("funnel-"), kind, start)]
            assert isinstance(national["numerator"], int)
            assert isinstance(national["denominator"], int)
            text = json.dumps(figure, ensure_ascii=False)
            assert not any(n in text for n in outside - names)
    assert funnels > 0


def test_department_defined_indicators_have_no_pool_and_no_other_department(world, stolen):
    pool, own_rows, _known = stolen
    slugs = {d.slug for d in world.own_indicators}
    assert not Result.objects.filter(definition__in=world.own_indicators, department__isnull=True)
    assert not Result.objects.filter(definition__in=world.own_indicators).exclude(
        department=world.own_indicators[0].department
    )
    assert not any(r["indicator"] in slugs for r in pool + own_rows)
    client = logged_in(world.attacker)
    for slug in slugs:
        assert client.get("/api/v1/results", {"indicator": slug}).status_code == 404
    # Its own department's staff see it.
    staff = logged_in(world.clinician)
    assert {r["indicator"] for r in api_rows(staff) if r["indicator"] in slugs} == slugs


# --- the rightful readers ---------------------------------------------------------------------


def test_a_leader_sees_exact_numbers_for_every_department_in_scope(world, stolen):
    _pool, own, _known = stolen
    assert {r["department_code"] for r in own} == {d.code for d in world.scope}
    exact = {
        (r["department__code"], r["definition__slug"], r["period_type"], r["period_start"]): r
        for r in Result.objects.filter(
            computation=world.computation, department__in=world.scope
        ).values(
            "department__code", "definition__slug", "period_type", "period_start", "numerator",
            "denominator", "missing", "value", "target_status",
        )
    }  # fmt: skip
    assert len(own) == len(exact)
    for row in own:
        stored = exact[
            (row["department_code"], row["indicator"], row["period_type"], row["period_start"])
        ]
        for field in ("numerator", "denominator", "missing", "value", "target_status"):
            assert row[field] == stored[field]
        assert row["protected"] is False
    # The overview's matrix shows them too: no "<5" for a department in scope.
    page = logged_in(world.attacker).get("/overview/").content.decode()
    table = page[page.index('<table class="data matrix"') : page.index("</table>")]
    assert "&lt;5" not in table


def test_a_nationwide_leader_sees_the_pool_exactly(world):
    rows = api_rows(logged_in(world.nationwide), department="ALL")
    assert rows and not any(r["protected"] for r in rows)
    stored = truth(world)
    for row in rows:
        key = (row["indicator"], row["period_type"], row["period_start"])
        assert (row["numerator"], row["denominator"]) == stored[key]


def test_a_chart_draws_a_protected_point_as_protected(world, stolen):
    pool, _own, _known = stolen
    hidden_quarters = {
        (r["indicator"], r["period_start"])
        for r in pool
        if r["period_type"] == "quarter" and r["protected"]
    }
    assert hidden_quarters
    page = logged_in(world.attacker).get("/overview/").content.decode()
    data = re.search(r'id="overview-figures" type="application/json">(.*?)</script>', page)
    trend = json.loads(data.group(1))["trend"]
    marks = [t for t in trend["data"] if t.get("meta") == "protected"]
    assert len(marks) == 1
    marked = list(zip(marks[0]["x"], marks[0]["customdata"], strict=True))
    names = {d.slug: d.name_da for d in IndicatorDefinition.objects.filter(department=None)}
    lines = {t["name"]: t for t in trend["data"] if t.get("meta") != "protected"}
    for slug, start in hidden_quarters:
        if slug not in names or names[slug] not in lines:
            continue  # a measure: not in the proportions' trend
        assert (start.isoformat(), names[slug]) in marked
        line = lines[names[slug]]
        y = line["y"][line["x"].index(start.isoformat())]
        assert y is None, "a hidden point is never drawn at a value (nor at 0)"
    assert all(label == LABEL for label in marks[0]["text"])


def test_a_count_split_by_tumour_site_cannot_be_subtracted_from_the_whole(world, stolen):
    """A leak after colon or rectal cancer is a leak: whole = colon + rectum (+ no site), so the
    three numerators are never shown with exactly one of them hidden."""
    pool, _own, _known = stolen
    rows = {(r["indicator"], r["period_type"], r["period_start"]): r for r in pool}
    slugs = ("anastomotic_leak", "anastomotic_leak_colon", "anastomotic_leak_rectum")
    periods = {key[1:] for key in rows if key[0] == slugs[0]}
    hidden_parts = 0
    for period in periods:
        shown = [
            (slug, *period) not in rows or isinstance(rows[(slug, *period)]["numerator"], int)
            for slug in slugs
        ]
        assert shown.count(False) != 1, (period, shown)
        hidden_parts += shown.count(False)
    assert hidden_parts, "the attacker should meet hidden leaks"
