"""One benchmark stage per process, so peak memory is the stage's own. Prints one JSON line.

python -m bench.stages import PATH
python -m bench.stages copy-baseline PATH
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


def stage_import(path: Path) -> dict:
    """The portal's own import, end to end: read, validate, pseudonymise, COPY, make current."""
    _setup()
    from indicators.registry.importer import import_path

    start = time.perf_counter()
    outcome = import_path(path)
    seconds = time.perf_counter() - start
    extract = outcome.extract
    assert extract.status == "done", extract.message_en
    return {"seconds": seconds, "rows": extract.rows_imported, "peak_mib": peak_mib()}


def stage_copy_baseline(path: Path) -> dict:
    """A plain COPY of the same file into a bare table of text columns: the floor."""
    _setup()
    from django.db import connection

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

    from indicators.models import Extract

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Extract._meta.db_table} CASCADE")
    return {}


STAGES = {"import": stage_import, "copy-baseline": stage_copy_baseline, "reset": stage_reset}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(STAGES[name](*(Path(a) for a in args))))
