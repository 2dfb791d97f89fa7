"""The dashboard's tiles and the overview's matrix and charts are built once and then taken from
the cache: never stale once a new computation is current, never another department's, another
scope's or another viewer's (exact counts or "<5"), in memory as in Redis."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from departments.models import Department, Region, Role
from indicators.models import IndicatorDefinition, Result
from indicators.registry import synthetic
from indicators.services import definitions
from tests.dashboards.test_department_pages import (
    danish_percent,
    dashboard_url,
    load_extract,
    result,
    settle,
)
from tests.dashboards.test_overview import build_world, figures, matrix, matrix_rows
from tests.departments.people import A, B, person

pytestmark = pytest.mark.django_db
NO_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


@pytest.fixture(params=["memory", "redis"])
def page_cache(request, settings):
    """A cache of its own: an in-process one, or keys of their own in the real Redis."""
    prefix = f"test-{uuid.uuid4().hex}"
    if request.param == "memory":
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}
        settings.CACHES = {"default": backend}
        yield
        return
    url = request.getfixturevalue("redis_url")
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    settings.CACHES = {"default": backend | {"KEY_PREFIX": prefix}}
    yield
    import redis

    server = redis.Redis.from_url(url)
    for key in server.scan_iter(match=f"{prefix}:*"):  # never flush: it is the broker's Redis
        server.delete(key)


def tiles(html: str) -> str:
    return html[html.index('<section class="tiles"') : html.index("</section>")]


def tile(html: str, slug: str) -> str:
    return html[html.index(f'id="tile-{slug}"') :].split("</article>")[0]


def reads_results(client, url: str) -> bool:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return any('"indicators_result"' in q["sql"] for q in queries.captured_queries)


def fresh(client, url: str, settings) -> str:
    """The page built with no cache at all."""
    kept = settings.CACHES
    settings.CACHES = NO_CACHE
    html = client.get(url).content.decode()
    settings.CACHES = kept
    return html


# --- the department's dashboard ---------------------------------------------------------------


def test_the_dashboard_shows_a_new_computations_values_not_the_cached_ones(
    client, tmp_path, page_cache
):
    load_extract(tmp_path, rows=3000, seed=7)
    koege = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, koege))
    december = dt.date(2024, 12, 1)
    before = result(A, "major_complication", "month", december)
    assert reads_results(client, dashboard_url(period_type="month"))
    # The second time the tiles come from the cache.
    assert not reads_results(client, dashboard_url(period_type="month"))
    page = client.get(dashboard_url(period_type="month")).content.decode()
    assert f"{before.numerator} af {before.denominator}" in tile(page, "major_complication")

    load_extract(tmp_path, rows=3000, seed=8)  # a new extract, computed and made current
    after = result(A, "major_complication", "month", december)
    assert (after.numerator, after.denominator) != (before.numerator, before.denominator)
    assert reads_results(client, dashboard_url(period_type="month"))
    page = client.get(dashboard_url(period_type="month")).content.decode()
    shown = tile(page, "major_complication")
    assert f"{after.numerator} af {after.denominator}" in shown
    assert danish_percent(after.value) in shown


def test_a_new_target_shows_at_once_while_its_recompute_waits(client, tmp_path, page_cache):
    load_extract(tmp_path, rows=1500)
    koege = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, koege))
    major = IndicatorDefinition.objects.get(slug="major_complication")
    definitions.set_target(koege, major, 0.15)
    settle()
    assert "Mål: højst 15,0 %" in tile(client.get(dashboard_url()).content.decode(), major.slug)
    definitions.set_target(koege, major, 0.12)  # queued; the same computation is current
    assert "Mål: højst 12,0 %" in tile(client.get(dashboard_url()).content.decode(), major.slug)


def test_a_change_marker_rephases_the_cached_signal_at_once(client, tmp_path, page_cache, settings):
    load_extract(tmp_path, rows=3000)
    koege = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, koege))
    client.get(dashboard_url())
    major = IndicatorDefinition.objects.get(slug="major_complication")
    definitions.add_change_marker(
        koege, date=synthetic.CHANGE_DATE, label=synthetic.CHANGE_LABEL, definitions=[major]
    )  # its recompute is queued; the same computation is current
    page = client.get(dashboard_url()).content.decode()
    assert tiles(page) == tiles(fresh(client, dashboard_url(), settings))


def test_a_filtered_tile_follows_a_rule_change_at_once(client, tmp_path, page_cache, settings):
    # With a filter the results are computed from the rows with the definition's rules as they
    # are now, before the recompute the change queued has run.
    load_extract(tmp_path, rows=3000)
    koege = Department.objects.get(code=A)
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, koege))
    url = dashboard_url(site="kolon")
    before = tile(client.get(url).content.decode(), "major_complication")
    major = IndicatorDefinition.objects.get(slug="major_complication")
    major.event = {"field": "clavien_dindo", "op": "in", "value": ["IVa", "IVb", "V"]}
    definitions.save_definition(major)
    after = tile(client.get(url).content.decode(), "major_complication")
    assert after != before
    assert after == tile(fresh(client, url, settings), "major_complication")


def test_cached_tiles_are_never_another_departments_or_another_viewers(
    client, tmp_path, page_cache, settings
):
    load_extract(tmp_path, rows=4000)
    koege, vejle = Department.objects.get(code=A), Department.objects.get(code=B)
    both = person("begge@example.dk", Role.CLINICIAN, koege, vejle)
    leader = person("ledelse@example.dk", Role.LEADERSHIP, koege.hospital.region)
    views = [(both, A), (both, B), (leader, A), (both, A, "?period_type=year")]
    seen = {}
    for _round in range(2):  # the second round from the cache, after every other view
        for user, code, *query in views:
            client.force_login(user)
            url = dashboard_url(code) + "".join(query)
            seen.setdefault((user.pk, url), []).append(tiles(client.get(url).content.decode()))
    for (pk, url), pages in seen.items():
        client.force_login(both if pk == both.pk else leader)
        assert pages[0] == pages[1] == tiles(fresh(client, url, settings)), url
    own, led = seen[(both.pk, dashboard_url(A))][0], seen[(leader.pk, dashboard_url(A))][0]
    # Both see Køge's own results exactly; the national line is each viewer's own view of the
    # pool (the clinician of both departments sees all of it, the leader only Køge's region),
    # and only the clinician is offered the patients behind a number.
    assert "/patients/" in own and "/patients/" not in led
    assert without_national(own) == without_national(led)
    assert own != seen[(both.pk, dashboard_url(B))][0]


def without_national(html: str) -> str:
    """The tiles less what differs by viewer: the national line and the link to patients."""
    html = re.sub(r'<p class="small"><a href="[^"]*/patients/[^"]*">.*?</a></p>', "", html)
    return re.sub(r'<p class="national[^"]*">.*?</p>', "", html, flags=re.S)


# --- leadership's overview --------------------------------------------------------------------


def overview_parts(html: str) -> tuple:
    return matrix_rows(html), matrix(html), figures(html)


def test_each_scope_gets_its_own_overview_and_a_new_computation_a_new_one(
    client, tmp_path, page_cache, settings
):
    build_world(tmp_path, rows=2500, seed=11)
    region = Region.objects.get(name="Region Nordjylland")
    regional = person("region@example.dk", Role.LEADERSHIP, region)
    national = person("national@example.dk", Role.LEADERSHIP)
    for user in (national, regional, national, regional):
        client.force_login(user)
        html = client.get("/overview/?period=2024").content.decode()
        assert overview_parts(html) == overview_parts(
            fresh(client, "/overview/?period=2024", settings)
        )
    assert len(matrix_rows(html)) == Department.objects.filter(hospital__region=region).count()

    build_world(tmp_path, rows=2500, seed=12)  # a new computation is current
    client.force_login(national)
    html = client.get("/overview/?period=2024").content.decode()
    assert overview_parts(html) == overview_parts(fresh(client, "/overview/?period=2024", settings))
    major = Result.objects.get(
        computation__is_current=True,
        department=None,
        definition__slug="major_complication",
        period_type="year",
        period_start=dt.date(2024, 1, 1),
    )
    assert re.search(rf"Landet: {re.escape(danish_percent(major.value))}", html)


# --- Redis down -------------------------------------------------------------------------------

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
    }
}


def test_with_redis_down_the_pages_still_show_the_current_results(client, tmp_path, settings):
    build_world(tmp_path, rows=2500, seed=11)
    koege = Department.objects.get(code=A)
    settings.CACHES = NO_CACHE
    client.force_login(person("kliniker@example.dk", Role.CLINICIAN, koege))
    dashboard = client.get(dashboard_url()).content.decode()
    client.force_login(person("national@example.dk", Role.LEADERSHIP))
    overview = client.get("/overview/?period=2024").content.decode()

    settings.CACHES = DEAD_REDIS
    answer = client.get("/overview/?period=2024")
    assert answer.status_code == 200
    assert overview_parts(answer.content.decode()) == overview_parts(overview)
    client.force_login(person("k2@example.dk", Role.CLINICIAN, koege))
    answer = client.get(dashboard_url())
    assert answer.status_code == 200
    assert tiles(answer.content.decode()) == tiles(dashboard)
