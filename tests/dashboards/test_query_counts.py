"""The department's pages issue a fixed number of SQL queries: not one more per indicator or
per period, with the dashboard's tiles built or taken from the cache."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from departments.models import Department, Role
from indicators.models import IndicatorDefinition
from indicators.services import definitions
from tests.dashboards.test_department_pages import load_extract, settle
from tests.departments.people import A, person

pytestmark = pytest.mark.django_db
# Built: the tiles' results are read (the department's; the national pool and the sums of the
# viewer's scope that decide what of it the viewer may see); cached: they are not. Both read the
# viewer's scope (departments.access.exact_scope), which keys the tiles' national line.
# And where the department's current rows come from (indicators.services.currency). Built, the
# tiles' summary (last 12 months) also reads the department's rows of the window, one read per
# registry however many tiles. Registries are data (step 10): which registries the department has
# rows in, the registry's row table and its installed profile (checked every few seconds) are
# read once per page, per registry, never per tile.
DASHBOARD_MAX_QUERIES = {"built": 22, "cached": 16}


@pytest.fixture(params=["built", "cached"])
def tiles(request, settings) -> str:
    # A process asks every few seconds whether a registry's profile was upgraded: not per page,
    # so not in a count that could fall between the two pages compared.
    settings.REGISTRY_PROFILE_RECHECK_SECONDS = 3600
    if request.param == "built":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    return request.param


def count_queries(client, url: str) -> int:
    client.get(url)  # warm: sessions, content types, and the cache when there is one
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def follow(department: Department, slugs: list[str]) -> None:
    chosen = [IndicatorDefinition.objects.get(slug=slug) for slug in slugs]
    definitions.choose_indicators(
        department, [(d, 0.1 if d.kind == "proportion" else 5.0) for d in chosen]
    )
    settle()


ALL_SLUGS = [
    "major_complication", "anastomotic_leak", "reoperation_30d", "mortality_30d",
    "prolonged_stay", "readmission_30d", "length_of_stay",
]  # fmt: skip


@pytest.mark.parametrize("filters", ["", "?site=kolon&urgency=akut"])
def test_the_dashboard_does_not_query_per_indicator(client, tmp_path, filters, tiles):
    load_extract(tmp_path, rows=3000)
    department = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, department))
    url = reverse("department_dashboard", args=[A]) + filters
    follow(department, ALL_SLUGS[:2])
    few = count_queries(client, url)
    follow(department, ALL_SLUGS)
    many = count_queries(client, url)
    assert few == many
    assert many <= DASHBOARD_MAX_QUERIES[tiles]


def test_the_dashboard_does_not_query_per_period(
    client, tmp_path, django_assert_max_num_queries, tiles
):
    # One year of data, then six years: 12 or 72 months per indicator.
    load_extract(tmp_path, rows=800, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    department = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, department))
    url = reverse("department_dashboard", args=[A])
    short = count_queries(client, url)
    load_extract(tmp_path, rows=3000, seed=8)
    long = count_queries(client, url)
    assert short == long
    assert long <= DASHBOARD_MAX_QUERIES[tiles]
    client.get(url + "?period_type=quarter")
    with django_assert_max_num_queries(DASHBOARD_MAX_QUERIES[tiles]):
        client.get(url + "?period_type=quarter")


def test_the_indicator_page_does_not_query_per_period(client, tmp_path):
    load_extract(tmp_path, rows=800, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    department = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, department))
    url = reverse("indicator_detail", args=[A, "major_complication"])
    short = count_queries(client, url)
    load_extract(tmp_path, rows=3000, seed=8)
    assert count_queries(client, url) == short
