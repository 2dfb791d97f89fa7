"""One benchmark stage per process, so peak memory is the stage's own. Prints one JSON line.

python -m bench.stages import PATH
python -m bench.stages copy-baseline PATH
python -m bench.stages load SECONDS  (gunicorn under wrk: bench/load.py)
python -m bench.stages workers DEPARTMENT_TASKS FULL_TASKS  (Celery: bench/workers.py)
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualityportal.settings")
    import django

    django.setup()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_import(path: str, profile: str = "dccg") -> dict:
    """The portal's own import, end to end: read, validate, pseudonymise, COPY, make current."""
    _setup()
    from indicators.registry.importer import import_path

    start = time.perf_counter()
    outcome = import_path(Path(path), profile_slug=profile)
    seconds = time.perf_counter() - start
    extract = outcome.extract
    assert extract.status == "done", extract.message_en
    return {"seconds": seconds, "rows": extract.rows_imported, "peak_mib": peak_mib()}


def stage_copy_baseline(path: str) -> dict:
    """A plain COPY of the same file into a bare table of text columns: the floor."""
    _setup()
    from django.db import connection

    path = Path(path)
    header = path.open(encoding="utf-8").readline().strip().split(";")
    columns = ", ".join(f'"{name}" text' for name in header)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
        cursor.execute(f"CREATE TABLE bench_bare_copy ({columns})")
        start = time.perf_counter()
        with (
            path.open("rb") as handle,
            cursor.cursor.copy(
                "COPY bench_bare_copy FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true)"
            ) as copy,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - start
        cursor.execute("SELECT count(*) FROM bench_bare_copy")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_bare_copy")
    return {"seconds": seconds, "rows": rows, "peak_mib": peak_mib()}


def stage_reset() -> dict:
    """Empty the extract tables so every repetition imports into the same state."""
    _setup()
    from django.db import connection

    from indicators.models import DepartmentIndicator, Extract, Registry

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Extract._meta.db_table} CASCADE")
        cursor.execute(f"TRUNCATE {DepartmentIndicator._meta.db_table}")
        # Every registry's rows (DCCG's table went with the CASCADE; the others have no key).
        for table in Registry.objects.exclude(row_table="").values_list("row_table", flat=True):
            cursor.execute(f'TRUNCATE "{table}"')
    from django.conf import settings

    if settings.CELERY_BROKER_URL:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # the queued recomputes
    return {}


def stage_recompute(registry_slug: str = "dccg") -> dict:
    """A full recompute of every standard indicator: read rows, compute, write, make current."""
    _setup()
    from indicators.models import Registry
    from indicators.services.computations import recompute

    registry = Registry.objects.get(slug=registry_slug)
    start = time.perf_counter()
    computation = recompute(registry, reason="benchmark")
    seconds = time.perf_counter() - start
    assert computation.status == "done", computation.error_en
    return {
        "seconds": seconds,
        "results": computation.result_count,
        "timings": computation.timings,
        "peak_mib": peak_mib(),
    }


def stage_recompute_floor() -> dict:
    """The floor: the same counts by a bare pandas group-by over rows already in memory."""
    _setup()
    import pandas as pd
    from django.db import connection

    from indicators.models import Extract, OperationRow

    extract = Extract.objects.get(is_current=True, registry__slug="dccg")
    columns = (
        "department_id, operation_date, discharge_date, reoperation_date, readmission_date, "
        "death_date, clavien_dindo, anastomosis, anastomotic_leak"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {OperationRow._meta.db_table} WHERE extract_id = %s",
            [extract.pk],
        )
        names = [c.name for c in cursor.description]
        rows = pd.DataFrame(cursor.fetchall(), columns=names)
    for name in ("operation_date", "discharge_date", "reoperation_date", "readmission_date",
                 "death_date"):  # fmt: skip
        rows[name] = pd.to_datetime(rows[name])
    start = time.perf_counter()
    opr = rows["operation_date"]
    days = {
        name: (rows[name] - opr).dt.days
        for name in ("discharge_date", "reoperation_date", "death_date")
    }
    readmit = (rows["readmission_date"] - rows["discharge_date"]).dt.days
    graded = rows["clavien_dindo"].notna()
    indicators = {
        "major_complication": (
            graded,
            rows["clavien_dindo"].isin(["IIIa", "IIIb", "IVa", "IVb", "V"]),
            graded,
        ),
        "anastomotic_leak": (
            rows["anastomosis"] == True,  # noqa: E712
            rows["anastomotic_leak"] == True,  # noqa: E712
            rows["anastomotic_leak"].notna(),
        ),
        "reoperation_30d": (opr.notna(), days["reoperation_date"] <= 30, opr.notna()),
        "mortality_30d": (opr.notna(), days["death_date"] <= 30, opr.notna()),
        "prolonged_stay": (
            opr.notna(),
            days["discharge_date"] > 10,
            days["discharge_date"].notna(),
        ),
        "readmission_30d": (
            ~(days["death_date"] <= days["discharge_date"]),
            readmit <= 30,
            rows["discharge_date"].notna(),
        ),
    }
    counted = 0
    for period in ("M", "Q", "Y"):
        key = [rows["department_id"], opr.dt.to_period(period)]
        for population, event, known in indicators.values():
            frame = pd.DataFrame({"pop": population, "num": event & known & population,
                                  "den": known & population})  # fmt: skip
            counted += len(frame.groupby(key).sum())
            counted += len(frame.groupby(key[1]).sum())  # the national pool
        stay = days["discharge_date"]
        counted += len(stay.groupby(key).median())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "groups": counted, "peak_mib": peak_mib()}


def stage_target_change(repeats: str = "5") -> dict:
    """A coordinator changes one department's target: the change is saved and the queued
    partial recompute (that department and definition; the rest copied) runs to current."""
    _setup()
    import statistics

    from departments.models import Department
    from indicators.models import Computation, IndicatorDefinition
    from indicators.services.computations import run_computation
    from indicators.services.definitions import set_target

    # Not the department whose dashboard the pages stage measures.
    department = Department.objects.get(code="6630220")
    definition = IndicatorDefinition.objects.get(slug="major_complication")
    times = []
    for i in range(int(repeats)):
        start = time.perf_counter()
        set_target(department, definition, 0.10 + i / 1000)
        queued = Computation.objects.filter(status="queued").latest("pk")
        done = run_computation(queued.pk)
        times.append(time.perf_counter() - start)
        assert done.status == "done" and done.is_current, done.error_en
    return {"seconds_median": statistics.median(times), "seconds_all": times}


def bench_users():
    """(department, its clinician, a national leader): the users whose pages are measured."""
    from departments.models import Department, Role, User
    from departments.services import grant_role

    department = Department.objects.get(code="4202200")
    clinician, _ = User.objects.get_or_create(email="bench-kliniker@example.dk")
    leader, _ = User.objects.get_or_create(email="bench-ledelse@example.dk")
    grant_role(clinician, Role.CLINICIAN, department=department)
    grant_role(leader, Role.LEADERSHIP)
    return department, clinician, leader


def stage_pages(repeats: str = "40") -> dict:
    """Server time of the department dashboard and the overview against the login page, through
    the whole Django stack (middleware, sessions, templates), on the current results."""
    _setup()
    import statistics

    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client through ALLOWED_HOSTS
    department, clinician, leader = bench_users()
    anonymous, clinic, lead = Client(), Client(), Client()
    clinic.force_login(clinician)
    lead.force_login(leader)
    pages = {
        "login": (anonymous, "/accounts/login/"),
        "dashboard": (clinic, f"/departments/{department.code}/"),
        "overview": (lead, "/overview/"),
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    sizes: dict[str, int] = {}
    for _ in range(int(repeats)):
        for name, (client, url) in pages.items():
            start = time.perf_counter()
            response = client.get(url, secure=True)
            times[name].append(time.perf_counter() - start)
            assert response.status_code == 200, (name, response.status_code)
            sizes[name] = len(response.content)
    result: dict = {"repeats": int(repeats), "bytes": sizes}
    for name, values in times.items():
        values = sorted(values[1:])  # the first request warms caches
        result[f"{name}_median"] = statistics.median(values)
        result[f"{name}_p95"] = values[int(0.95 * (len(values) - 1))]
    return result


def stage_add_registry(path: str) -> dict:
    """Install a profile file, as ``add_registry`` does."""
    _setup()
    from indicators.services.registries import install_file

    installed = install_file(Path(path))
    return {"registry": installed.registry.slug, "action": installed.action}


def stage_overviews(repeats: str = "40") -> dict:
    """Server time and queries of the overview of each installed registry with rows, and of the
    page with all of them, against the login page, through the whole Django stack."""
    _setup()
    import statistics

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from indicators.models import CurrentRows

    setup_test_environment()
    _department, _clinician, leader = bench_users()
    anonymous, lead = Client(), Client()
    lead.force_login(leader)
    slugs = sorted(set(CurrentRows.objects.values_list("registry__slug", flat=True)))
    pages = {"login": (anonymous, "/accounts/login/")}
    pages |= {slug: (lead, f"/overview/?registry={slug}") for slug in slugs}
    pages["all"] = (lead, "/overview/")  # every registry on one page
    times: dict[str, list[float]] = {name: [] for name in pages}
    queries: dict[str, int] = {}
    for _ in range(int(repeats)):
        for name, (client, url) in pages.items():
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(url, secure=True)
                times[name].append(time.perf_counter() - start)
            assert response.status_code == 200, (name, response.status_code)
            queries[name] = len(captured)
    result: dict = {"repeats": int(repeats), "registries": slugs, "queries": queries}
    for name, values in times.items():
        result[f"{name}_first"] = values[0]  # the first request builds the cached parts
        result[f"{name}_median"] = statistics.median(sorted(values[1:]))
    return result


def stage_load(seconds: str = "20") -> dict:
    """gunicorn on loopback under a bounded load from wrk: the login page, the dashboard, the
    overview."""
    _setup()
    from bench.load import measure

    return measure(int(seconds), *bench_users())


def stage_workers(department_tasks: str = "21", full_tasks: str = "6") -> dict:
    """The same bursts of queued recomputes drained by 1 and by 2 real Celery workers."""
    _setup()
    from bench.workers import measure

    return measure(int(department_tasks), int(full_tasks))


def stage_inbox(*paths: str) -> dict:
    """Files dropped in the inbox with beat and a real worker running, each timed until its
    computation is current; and an empty poll."""
    _setup()
    from bench.inbox import measure

    return measure(list(paths))


STAGES = {
    "inbox": stage_inbox,
    "add-registry": stage_add_registry,
    "overviews": stage_overviews,
    "load": stage_load,
    "workers": stage_workers,
    "pages": stage_pages,
    "target-change": stage_target_change,
    "import": stage_import,
    "copy-baseline": stage_copy_baseline,
    "reset": stage_reset,
    "recompute": stage_recompute,
    "recompute-floor": stage_recompute_floor,
}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(STAGES[name](*args), default=str))
