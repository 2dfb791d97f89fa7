"""Write validated rows into ``OperationRow``: ``COPY`` on PostgreSQL, bulk inserts elsewhere.

On PostgreSQL the rows of one extract are one partition of the table (migration 0004). They are
copied into a new table with no index and no foreign-key trigger, the index is built once, and
the table is attached as the extract's partition, which checks the keys in one pass. All of it
runs in the import's transaction: if anything fails, the table is gone with the rollback.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from django.db import connection
from pgpq import ArrowToPostgresBinaryEncoder, encoders
from pgpq import schema as pg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from indicators.models import OperationRow
from indicators.registry.validate import Validated

# The row fields in table order.
FIELDS = [
    "id", "extract_id", "line", "pseudonym", "department_id", "admission_date", "operation_date",
    "discharge_date", "procedure_code", "site", "priority", "asa", "age", "sex", "bmi",
    "anastomosis", "anastomotic_leak", "clavien_dindo", "reoperation_date", "readmission_date",
    "death_date", "extra",
]  # fmt: skip
_COPY_CHUNK = 100_000  # rows per slice; the next is taken out while PostgreSQL reads one


def partition_name(extract_id: int) -> str:
    return f"{OperationRow._meta.db_table}_x{int(extract_id)}"


def row_ids(extract_id: int, lines: np.ndarray) -> np.ndarray:
    """A row's id is its extract's number and its line: unique, stable, and free to compute
    (a shared sequence would be asked once per row)."""
    return (np.int64(extract_id) << np.int64(32)) | lines.astype(np.int64)


def load_rows(extract_id: int, validated: Validated, department_ids: dict[str, int]) -> int:
    """Insert the valid rows of one extract; returns how many were written."""
    if not len(validated):
        return 0
    if connection.vendor == "postgresql":
        _copy_partition(extract_id, validated, department_ids)
    else:
        _bulk_insert(_arrow_table(extract_id, validated, department_ids))
    return len(validated)


def drop_partition(extract_id: int) -> None:
    """Remove an extract's (empty) partition once the extract is deleted."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT portal_drop_partition(%s)", [int(extract_id)])


def _arrow_table(
    extract_id: int,
    validated: Validated,
    department_ids: dict[str, int],
    rows: np.ndarray | None = None,
) -> pa.Table:
    """The table rows of the valid rows at ``rows`` (default all), in the table's order."""
    lines = validated.lines if rows is None else validated.lines[rows]
    departments = validated.values["department_code"]
    ids = np.array(
        [department_ids.get(code, 0) for code in departments.distinct.to_pylist()], dtype=np.int64
    )
    index = departments.index if rows is None else departments.index[rows]
    extras = validated.extras
    if extras is not None and rows is not None:
        extras = [extras[i] for i in rows]
    columns = {
        "id": pa.array(row_ids(extract_id, lines)),
        "extract_id": pa.array(np.full(len(lines), extract_id, dtype=np.int64)),
        "line": pa.array(lines.astype(np.int32)),
        "department_id": pa.array(ids[index]),
        "extra": pa.array(
            [None if value is None else json.dumps(value, ensure_ascii=False)
             for value in extras or ()] if extras is not None else [None] * len(lines),
            type=pa.string(),
        ),
    }  # fmt: skip
    for name in FIELDS:
        if name not in columns:
            columns[name] = validated.take(name, rows)
    return pa.table([columns[name] for name in FIELDS], names=FIELDS)


def _copy_partition(extract_id: int, validated: Validated, department_ids: dict[str, int]) -> None:
    part = sql.Identifier(partition_name(extract_id))
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)").format(
        part, sql.SQL(", ").join(map(sql.Identifier, FIELDS))
    )
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        # The owner's function makes the table (migration 0007): the worker may run as a role
        # that can change no table itself, and gets INSERT on this one only.
        cursor.execute("SELECT portal_new_partition(%s, current_user)", [int(extract_id)])
        # Rows go in by department and operation date: the index is then built from sorted rows
        # (in half the time), and a department's rows lie together on disk.
        order = validated.order("department_code", "operation_date")
        encoder = None
        with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
            # A writer thread sends each slice while the next is taken out (its CPR numbers
            # hashed) and encoded, and PostgreSQL reads one while Python works on the next.
            for start in range(0, len(order), _COPY_CHUNK):
                chunk = _arrow_table(
                    extract_id, validated, department_ids, order[start : start + _COPY_CHUNK]
                )
                if encoder is None:
                    encoder = _binary_encoder(chunk.schema)
                    copy.write(encoder.write_header())
                for batch in chunk.to_batches():
                    copy.write(encoder.write_batch(batch))
            copy.write(encoder.finish())
        # Indexed once, from sorted rows, and attached (keys checked in one pass): the owner's.
        cursor.execute("SELECT portal_attach_partition(%s)", [int(extract_id)])


def _binary_encoder(schema: pa.Schema) -> ArrowToPostgresBinaryEncoder:
    """PostgreSQL's binary COPY format from Arrow columns (typed values go in as they are, with
    no text to parse); each Arrow type matches its column's (``line`` int4, ``asa`` int2, …),
    and the extra columns' JSON text goes to ``jsonb``."""
    chosen = {
        field.name: (
            encoders.StringEncoderBuilder.new_with_output(field, pg.Jsonb())
            if field.name == "extra"
            else ArrowToPostgresBinaryEncoder.infer_encoder(field)
        )
        for field in schema
    }
    return ArrowToPostgresBinaryEncoder.new_with_encoders(schema, chosen)


def _bulk_insert(table: pa.Table) -> None:
    objects = []
    for record in table.drop_columns(["id"]).to_pylist():
        if record["extra"] is not None:
            record["extra"] = json.loads(record["extra"])
        objects.append(OperationRow(**record))
    OperationRow.objects.bulk_create(objects, batch_size=2000)
