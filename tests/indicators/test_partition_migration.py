"""Migration 0004: operation rows already in a plain table move into a partition per extract,
and back again when the migration is reversed, none lost and none changed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from indicators.models import OperationRow
from indicators.registry.importer import import_path
from indicators.registry.storage import partition_name
from tests.indicators.extract_files import SAMPLE

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("indicators", "0003_standard_definitions")
PARTITIONED = ("indicators", "0004_partition_operation_rows")


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def kind_of(table: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return row and row[0]


def every_row(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, extract_id, line, pseudonym, operation_date, asa "  # noqa: S608
            f"FROM {connection.ops.quote_name(table)} ORDER BY id"
        )
        return cursor.fetchall()


def test_rows_move_into_a_partition_per_extract_and_back(postgres):
    extract = import_path(SAMPLE).extract
    old, new = "indicators_operationrow", "registry_dccg"
    rows = every_row(new)
    assert len(rows) == extract.rows_imported > 0

    migrate(BEFORE)
    assert kind_of(old) == "r"  # a plain table
    assert kind_of(partition_name(old, extract.pk)) is None
    assert every_row(old) == rows

    migrate(PARTITIONED)
    assert kind_of(old) == "p"  # partitioned
    assert kind_of(partition_name(old, extract.pk)) == "r"
    assert every_row(old) == rows

    # Forward again to the newest migration (0011: every registry's table is registry_<slug>),
    # as the rest of the suite expects the schema.
    migrate(latest())
    assert kind_of(old) is None and kind_of(partition_name(old, extract.pk)) is None
    assert kind_of(new) == "p" and kind_of(partition_name(new, extract.pk)) == "r"
    assert every_row(new) == rows
    # The importer's table takes writes afterwards.
    OperationRow.objects.filter(extract=extract).update(asa=1)
    assert set(OperationRow.objects.values_list("asa", flat=True)) == {1}


def latest() -> tuple[str, str]:
    (leaf,) = MigrationExecutor(connection).loader.graph.leaf_nodes("indicators")
    return leaf
