"""Test data: extracts generated, imported and computed as a coordinator's upload would be, and
the way to build them once for a whole module.

A module-scoped fixture builds its data inside :func:`kept_for_module`: one transaction that
every test of the module runs inside (each test's own transaction is a savepoint in it, rolled
back after the test) and that is rolled back after the module's last test. So a module pays for
its extract once, and no test sees what another changed.
"""

from __future__ import annotations

import datetime as dt
import importlib
from contextlib import contextmanager

from django.db import transaction

from departments.hospitals import load_hospitals
from departments.models import Region
from indicators.models import Computation
from indicators.registry import synthetic
from indicators.registry.importer import import_path
from indicators.services import computations
from tests.indicators.indicator_rows import ensure_standard_definitions

REGIONS = importlib.import_module("departments.migrations.0002_danish_regions").REGIONS


@contextmanager
def kept_for_module(django_db_blocker):
    """Build inside; the data stays for the module's tests and is rolled back after them."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def settle() -> Computation:
    """Run the queued computations as the worker would (their tasks wait for a commit that a
    test's transaction never makes); the current computation afterwards."""
    for pk in (
        Computation.objects.filter(status="queued").order_by("pk").values_list("pk", flat=True)
    ):
        computations.run_computation(pk)
    # With several registries, several are current: the newest is the one just settled.
    return Computation.objects.filter(is_current=True).order_by("-pk").first()


def load_extract(
    tmp_path,
    rows: int = 4000,
    seed: int = 7,
    start: dt.date = dt.date(2019, 1, 1),
    end: dt.date = dt.date(2024, 12, 31),
) -> Computation:
    """A generated extract imported and computed, as a coordinator's upload would be."""
    path = tmp_path / f"extract-{rows}-{seed}-{start}-{end}.csv"
    synthetic.write_extract(synthetic.generate_frame(rows, seed, start, end), path)
    extract = import_path(path).extract
    assert extract.status == "done", extract.message_da
    return settle()


def build_world(tmp_path, rows: int = 2500, seed: int = 11, **period) -> Computation:
    """A synthetic extract (21 departments in 5 regions) imported and computed.

    The regions, hospitals and standard definitions come from data migrations, which a
    transactional (browser) test's flush empties: they are written again first.
    """
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})
    load_hospitals()
    ensure_standard_definitions()
    path = tmp_path / f"extract-{rows}-{seed}.csv"
    synthetic.write_extract(synthetic.generate_frame(rows, seed, **period), path)
    extract = import_path(path).extract
    assert extract.status == "done", extract.message_da
    computation = computations.recompute(extract.registry, reason="test")
    assert computation.status == "done", computation.error_en
    return computation
