"""Migration 0004: operation rows already in a plain table move into a partition per extract,
and back again when the migration is reversed, none lost and none changed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from indicators.models import OperationRow
from indicators.registry.importer import import_path
from indicators.registry.load import partition_name
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


def every_row() -> list[tuple]:
    return list(
        OperationRow.objects.order_by("pk").values_list(
            "pk", "extract_id", "line", "pseudonym", "operation_date", "asa"
        )
    )


def test_rows_move_into_a_partition_per_extract_and_back(postgres):
    extract = import_path(SAMPLE).extract
    rows = every_row()
    assert len(rows) == extract.rows_imported > 0

    migrate(BEFORE)
    assert kind_of("indicators_operationrow") == "r"  # a plain table
    assert kind_of(partition_name(extract.pk)) is None
    assert every_row() == rows

    migrate(PARTITIONED)
    assert kind_of("indicators_operationrow") == "p"  # partitioned
    assert kind_of(partition_name(extract.pk)) == "r"
    assert every_row() == rows
    # The importer still writes into the partitioned table afterwards.
    OperationRow.objects.filter(extract=extract).update(asa=1)
    assert set(OperationRow.objects.values_list("asa", flat=True)) == {1}
    # Forward again to the newest migration, as the rest of the suite expects the schema.
    migrate(latest())


def latest() -> tuple[str, str]:
    (leaf,) = MigrationExecutor(connection).loader.graph.leaf_nodes("indicators")
    return leaf
