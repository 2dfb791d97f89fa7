"""Write validated rows into ``OperationRow``: ``COPY`` on PostgreSQL, bulk inserts elsewhere.

On PostgreSQL the rows of one extract are one partition of the table (migration 0004). They are
copied into a new table with no index and no foreign-key trigger, the index is built once, and
the table is attached as the extract's partition, which checks the keys in one pass. All of it
runs in the import's transaction: if anything fails, the table is gone with the rollback.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection
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
_COPY_CHUNK = 100_000  # rows per COPY message; the next is written while PostgreSQL parses one


def partition_name(extract_id: int) -> str:
    return f"{OperationRow._meta.db_table}_x{int(extract_id)}"


def row_ids(extract_id: int, lines: np.ndarray) -> np.ndarray:
    """A row's id is its extract's number and its line: unique, stable, and free to compute
    (a shared sequence would be asked once per row)."""
    return (np.int64(extract_id) << np.int64(32)) | lines.astype(np.int64)


def load_rows(extract_id: int, validated: Validated, department_ids: dict[str, int]) -> int:
    """Insert the valid rows of one extract; returns how many were written."""
    if validated.rows.empty:
        return 0
    table = _arrow_table(extract_id, validated.rows, department_ids)
    if connection.vendor == "postgresql":
        _copy_partition(extract_id, table, validated)
    else:
        _bulk_insert(_with_pseudonyms(table, validated, 0))
    return table.num_rows


def drop_partition(extract_id: int) -> None:
    """Remove an extract's (empty) partition once the extract is deleted."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(partition_name(extract_id))
                )
            )


def _arrow_table(extract_id: int, rows: pd.DataFrame, department_ids: dict[str, int]) -> pa.Table:
    n = len(rows)
    codes, uniques = pd.factorize(rows["department_code"])
    ids = np.array([department_ids[code] for code in uniques], dtype=np.int64)
    lines = rows["line"].to_numpy(dtype=np.int64)
    columns = {
        "id": pa.array(row_ids(extract_id, lines)),
        "extract_id": pa.array(np.full(n, extract_id, dtype=np.int64)),
        "line": pa.array(lines),
        "department_id": pa.array(ids[codes]),
        "extra": pa.array(
            [None if value is None else json.dumps(value, ensure_ascii=False)
             for value in rows["extra"]],
            type=pa.string(),
        ),
    }  # fmt: skip
    for name in FIELDS:
        if name not in columns:
            # The pseudonyms may be made a slice at a time as the rows are written.
            columns[name] = pa.array(rows[name]) if name in rows else pa.nulls(n, pa.string())
    return pa.table([columns[name] for name in FIELDS], names=FIELDS)


def _with_pseudonyms(table: pa.Table, validated: Validated, start: int) -> pa.Table:
    position = FIELDS.index("pseudonym")
    pseudonyms = validated.pseudonyms(start, start + table.num_rows)
    return table.set_column(position, "pseudonym", pseudonyms)


def _copy_partition(extract_id: int, table: pa.Table, validated: Validated) -> None:
    parent = sql.Identifier(OperationRow._meta.db_table)
    part = sql.Identifier(partition_name(extract_id))
    key = sql.Literal(int(extract_id))
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        part, sql.SQL(", ").join(map(sql.Identifier, FIELDS))
    )
    # Codes, choices and pseudonyms never hold a comma, a quote or a newline, so unless the rows
    # carry extra columns (free text, as JSON) nothing is quoted, which PostgreSQL reads faster.
    free_text = table.column("extra").null_count < table.num_rows
    options = pacsv.WriteOptions(
        include_header=False, quoting_style="needed" if free_text else "none"
    )
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        # A partition left by an extract of the same id (a test database whose sequences were
        # reset) holds no rows: its extract is gone, and its rows with it.
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(part))
        cursor.execute(
            sql.SQL(
                "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
                "CHECK (extract_id = {}))"
            ).format(part, parent, key)
        )
        with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
            # A writer thread sends each slice while the next is prepared (and its CPR numbers
            # hashed), and PostgreSQL reads one while Python works on the next: two cores busy.
            for start in range(0, table.num_rows, _COPY_CHUNK):
                chunk = _with_pseudonyms(table.slice(start, _COPY_CHUNK), validated, start)
                buffer = io.BytesIO()
                # Nulls are written as nothing, which COPY reads as NULL; text is always quoted.
                pacsv.write_csv(chunk, buffer, write_options=options)
                copy.write(buffer.getbuffer())
        cursor.execute(
            sql.SQL("CREATE INDEX ON {} (extract_id, department_id, operation_date)").format(part)
        )
        cursor.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                parent, part, key
            )
        )


def _bulk_insert(table: pa.Table) -> None:
    objects = []
    for record in table.drop_columns(["id"]).to_pylist():
        if record["extra"] is not None:
            record["extra"] = json.loads(record["extra"])
        objects.append(OperationRow(**record))
    OperationRow.objects.bulk_create(objects, batch_size=2000)
