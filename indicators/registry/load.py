"""Write validated rows into their registry's table: ``COPY`` on PostgreSQL, inserts elsewhere.

On PostgreSQL the rows of one extract are one partition of the registry's table
(``indicators.registry.storage``). They are copied into a new table with no index and no
foreign-key trigger, the index is built once, and the table is attached as the extract's
partition, which checks the keys in one pass. All of it runs in the import's transaction: if
anything fails, the table is gone with the rollback.
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

from indicators.registry import storage
from indicators.registry.profiles import Profile
from indicators.registry.validate import Validated

_COPY_CHUNK = 100_000  # rows per slice; the next is taken out while PostgreSQL reads one


def row_ids(extract_id: int, lines: np.ndarray) -> np.ndarray:
    """A row's id is its extract's number and its line: unique, stable, and free to compute
    (a shared sequence would be asked once per row)."""
    return (np.int64(extract_id) << np.int64(32)) | lines.astype(np.int64)


def load_rows(
    table: str,
    profile: Profile,
    extract_id: int,
    validated: Validated,
    department_ids: dict[str, int],
) -> int:
    """Insert the valid rows of one extract into ``table``; returns how many were written."""
    if not len(validated):
        return 0
    writer = _Writer(table, profile, extract_id, validated, department_ids)
    if connection.vendor == "postgresql":
        writer.copy_partition()
    else:
        writer.insert()
    return len(validated)


def drop_partition(table: str, extract_id: int) -> None:
    """Remove an extract's rows once the extract is deleted: its partition on PostgreSQL, its
    rows of the plain table elsewhere (a registry's table has no key to cascade them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT portal_drop_rows_partition(%s, %s)", [table, int(extract_id)])
        else:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"DELETE FROM {quoted} WHERE extract_id = %s", [int(extract_id)])  # noqa: S608


class _Writer:
    def __init__(self, table, profile, extract_id, validated, department_ids) -> None:
        self.table, self.extract_id, self.validated = table, extract_id, validated
        self.names = storage.column_names(profile)
        self.fields = [c.field for c in storage.stored_columns(profile)]
        self.cpr_field = next(c.field for c in profile.columns if c.kind == "cpr")
        self.department_field = profile.column(profile.department_code).field
        self.period_field = storage.period_field(profile)
        # Whole numbers are written as their column's type (bounds may have changed since).
        types = storage.sql_types(table) if connection.vendor == "postgresql" else {}
        self.casts = {
            name: storage.ARROW_INTS[types[name]]
            for name in self.fields
            if types.get(name) in storage.ARROW_INTS
        }
        departments = validated.values[self.department_field]
        self.department_of_value = np.array(
            [department_ids.get(code, 0) for code in departments.distinct.to_pylist()],
            dtype=np.int64,
        )

    def arrow_table(self, rows: np.ndarray | None = None) -> pa.Table:
        """The table rows of the valid rows at ``rows`` (default all), in the table's order."""
        validated = self.validated
        lines = validated.lines if rows is None else validated.lines[rows]
        departments = validated.values[self.department_field]
        index = departments.index if rows is None else departments.index[rows]
        extras = validated.extras
        if extras is not None and rows is not None:
            extras = [extras[i] for i in rows]
        columns = {
            "id": pa.array(row_ids(self.extract_id, lines)),
            "extract_id": pa.array(np.full(len(lines), self.extract_id, dtype=np.int64)),
            "line": pa.array(lines.astype(np.int32)),
            "pseudonym": validated.take(self.cpr_field, rows),
            "department_id": pa.array(self.department_of_value[index]),
            "extra": pa.array(
                [None if value is None else json.dumps(value, ensure_ascii=False)
                 for value in extras] if extras is not None else [None] * len(lines),
                type=pa.string(),
            ),
        }  # fmt: skip
        for name in self.fields:
            columns[name] = validated.take(name, rows)
            if name in self.casts and columns[name].type != self.casts[name]:
                columns[name] = columns[name].cast(self.casts[name])
        return pa.table([columns[name] for name in self.names], names=self.names)

    def copy_partition(self) -> None:
        part = sql.Identifier(storage.partition_name(self.table, self.extract_id))
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)").format(
            part, sql.SQL(", ").join(map(sql.Identifier, self.names))
        )
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            # The owner's function makes the table (migration 0011): the worker may run as a
            # role that can change no table itself, and gets INSERT on this one only.
            cursor.execute(
                "SELECT portal_new_rows_partition(%s, %s, current_user)",
                [self.table, int(self.extract_id)],
            )
            # Rows go in by department and period date: the index is then built from sorted
            # rows (in half the time), and a department's rows lie together on disk.
            order = self.validated.order(self.department_field, self.period_field)
            encoder = None
            with cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)) as copy:
                # A writer thread sends each slice while the next is taken out (its CPR
                # numbers hashed) and encoded, and PostgreSQL reads one while Python works on
                # the next.
                for start in range(0, len(order), _COPY_CHUNK):
                    chunk = self.arrow_table(order[start : start + _COPY_CHUNK])
                    if encoder is None:
                        encoder = _binary_encoder(chunk.schema)
                        copy.write(encoder.write_header())
                    for batch in chunk.to_batches():
                        copy.write(encoder.write_batch(batch))
                copy.write(encoder.finish())
            # Indexed once, from sorted rows, and attached (keys checked in one pass).
            cursor.execute(
                "SELECT portal_attach_rows_partition(%s, %s, %s)",
                [self.table, int(self.extract_id), self.period_field],
            )

    def insert(self) -> None:
        table = self.arrow_table()
        quoted = ", ".join(connection.ops.quote_name(n) for n in self.names)
        marks = ", ".join(["%s"] * len(self.names))
        into = connection.ops.quote_name(self.table)
        # Identifiers only (quoted; the profile's field names are checked), values as parameters.
        statement = f"INSERT INTO {into} ({quoted}) VALUES ({marks})"  # noqa: S608
        with connection.cursor() as cursor:
            for start in range(0, table.num_rows, 2000):
                rows = table.slice(start, 2000).to_pylist()
                cursor.executemany(statement, [tuple(r.values()) for r in rows])


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
