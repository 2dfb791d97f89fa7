"""Leadership's overview without the shared country of test_overview.py: before any computation,
and a number of queries that does not grow with departments, indicators or periods (each test
builds the data it needs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from departments.models import Region, Role
from indicators.models import IndicatorDefinition
from tests.departments.people import person
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader(client):
    user = person("ledelse@example.dk", Role.LEADERSHIP)
    client.force_login(user)
    return user


def test_a_leader_before_any_computation_sees_a_plain_message(client, leader):
    response = client.get("/overview/")
    assert response.status_code == 200
    assert "ingen beregnede resultater" in response.content.decode()


# Built: the periods, the period's results of the scope, the national pool and the scope's sums
# (indicators.services.disclosure) are read; cached: they are not. Both read which registries
# the scope has rows in and the installed registries (one query each, however many). Built, the
# cells' Making Data Count icons read the scope's monthly results and change markers (one each).
OVERVIEW_MAX_QUERIES = {"built": 17, "cached": 11}


@pytest.fixture(params=["built", "cached"])
def built_or_cached(request, settings) -> str:
    # A process asks every few seconds whether a registry's profile was upgraded: not per page,
    # so not in a count that could fall between the two pages compared.
    settings.REGISTRY_PROFILE_RECHECK_SECONDS = 3600
    if request.param == "built":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    return request.param


def count_queries(client, url: str = "/overview/") -> int:
    client.get(url)  # warm: sessions, content types, and the cache when there is one
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_departments_indicators_or_periods(
    client, tmp_path, built_or_cached
):
    # One year, two regions' leader: few departments, few periods, the standard indicators.
    build_world(tmp_path, rows=600, seed=3, start=dt.date(2024, 1, 1))
    region = Region.objects.get(name="Region Nordjylland")
    client.force_login(person("region@example.dk", Role.LEADERSHIP, region))
    small = count_queries(client)

    # Six years, twice the indicators, every department (a nationwide leader).
    standard = IndicatorDefinition.objects.filter(department=None).count()
    for i, definition in enumerate(IndicatorDefinition.objects.filter(department=None)):
        definition.pk, definition.slug = None, f"copy-{i}"
        definition.save()
    build_world(tmp_path, rows=3000, seed=4)
    assert IndicatorDefinition.objects.filter(department=None).count() == 2 * standard
    client.force_login(person("national@example.dk", Role.LEADERSHIP))
    large = count_queries(client)
    assert large == small, (small, large)
    assert large <= OVERVIEW_MAX_QUERIES[built_or_cached]
