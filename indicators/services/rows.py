"""Reading an extract's rows into the engine's prepared frame, only the needed columns.

Every registry's rows are read the same way, from its own table (``indicators.registry.storage``);
the frame has the row's period date (the profile's ``period`` column) as ``engine.PERIOD``.

On PostgreSQL one ``COPY (SELECT …) TO STDOUT (FORMAT binary)`` in which every column is a
fixed-width number: dates as day numbers, choices as their position in the profile's list,
booleans as 0/1, blanks as a sentinel. Fixed-width rows parse with one ``np.frombuffer`` and no
per-row Python. Elsewhere (SQLite) the ORM reads the rows and ``rules.prepare_frame`` converts
them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np
import pandas as pd
from django.db import connection
from psycopg import sql

from indicators import engine, rules
from indicators.registry import catalog, storage

_BLANK_INT = -(2**31)
_BLANK_INT8 = -(2**63)
_HEADER = 19  # PGCOPY signature (11) + flags (4) + header extension length (4)


class Source:
    """Where a registry's rows are and what their fields are."""

    def __init__(self, registry_slug: str, table: str) -> None:
        profile = catalog.profile(registry_slug)
        self.table = table
        self.fields = rules.fields_for_profile(profile)
        self.period = storage.period_field(profile)
        # Whole numbers beyond int2 are bigint columns, read as int8; the rest as int4.
        self.wide = frozenset(
            c.field for c in storage.stored_columns(profile) if c.sql_type == "bigint"
        )

    @classmethod
    def of(cls, registry) -> Source:
        """``registry``: a Registry or its slug."""
        if isinstance(registry, str):
            from indicators.models import Registry

            registry = Registry.objects.get(slug=registry)
        return cls(registry.slug, registry.row_table)


def read_rows(
    source: Source,
    extract_id: int,
    fields: Iterable[str],
    *,
    department_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """``department_id``, ``engine.PERIOD`` and ``fields`` of the extract's rows (optionally of
    some departments)."""
    asked = set(fields) - {"department_id", engine.PERIOD}
    names = sorted(asked | {source.period})
    unknown = [name for name in names if name not in source.fields]
    if unknown:
        raise KeyError(f"not a rule field of the profile: {', '.join(unknown)}")
    if connection.vendor == "postgresql":
        frame = _read_postgres(
            source.table, extract_id, names, source.fields, department_ids, wide=source.wide
        )
    else:
        frame = _read_plain(source.table, extract_id, names, source.fields, department_ids)
    frame[engine.PERIOD] = frame[source.period]
    if source.period not in asked:
        del frame[source.period]
    return frame


def read_current_rows(
    source: Source,
    sources: list[list],
    fields: Iterable[str],
) -> pd.DataFrame:
    """The current rows (``indicators.services.currency.sources``: each extract with the
    departments whose current rows it holds) as one frame."""
    parts = [
        read_rows(source, extract_id, fields, department_ids=departments)
        for extract_id, departments in sources
    ]
    if not parts:
        return read_rows(source, 0, fields, department_ids=[])
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat(parts, ignore_index=True)
    # Categories of the same profile are the same in every part; concat keeps them so.
    return frame


def _read_plain(table, extract_id, names, field_specs, department_ids) -> pd.DataFrame:
    quote = connection.ops.quote_name
    columns = ["department_id", *names]
    selected = ", ".join(quote(c) for c in columns)
    query = f"SELECT {selected} FROM {quote(table)} WHERE extract_id = %s"  # noqa: S608
    params: list = [int(extract_id)]
    if department_ids is not None:
        ids = [int(d) for d in department_ids]
        query += f" AND department_id IN ({', '.join(['%s'] * len(ids)) or 'NULL'})"
        params += ids
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        records = cursor.fetchall()
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["department_id"] = frame["department_id"].astype(np.int64)
    for name in names:  # SQLite gives booleans as 0/1 (and dates as text: prepare_frame reads them)
        if field_specs[name].kind == "boolean":
            frame[name] = [None if value is None else bool(value) for value in frame[name]]
    return rules.prepare_frame(frame, field_specs)


def _column_sql(
    name: str, spec: rules.FieldSpec, text_values: list[str], wide: bool = False
) -> tuple[sql.SQL, str]:
    """(expression, numpy type) for one column; every expression is NOT NULL and fixed width."""
    column = sql.Identifier(name)
    blank = sql.Literal(_BLANK_INT)
    if spec.kind == "date":
        expr = sql.SQL("COALESCE({} - DATE '1970-01-01', {})").format(column, blank)
    elif spec.kind == "integer" and wide:
        # A bigint column (a profile's int may go up to 2**53) as int8; the rest fit int4.
        expr = sql.SQL("COALESCE({}::int8, {})").format(column, sql.Literal(_BLANK_INT8))
        return sql.SQL("({})::int8").format(expr), ">i8"
    elif spec.kind == "integer":
        expr = sql.SQL("COALESCE({}::int4, {})").format(column, blank)
    elif spec.kind == "number":
        return sql.SQL("COALESCE({}::float8, 'NaN'::float8)").format(column), ">f8"
    elif spec.kind == "boolean":
        expr = sql.SQL("COALESCE({}::int4, {})").format(column, blank)
    else:
        values = [str(c) for c in spec.choices] if spec.kind == "choice" else text_values
        # Position 1..k in the list; 0 for a blank (or, never for a valid row, unknown) value.
        expr = sql.SQL("COALESCE(array_position(ARRAY[{}]::text[], {}::text), 0)").format(
            sql.SQL(", ").join(sql.Literal(v) for v in values) if values else sql.SQL("NULL"),
            column,
        )
    return sql.SQL("({})::int4").format(expr), ">i4"


def _read_postgres(
    table_name, extract_id, names, field_specs, department_ids, *, wide=frozenset()
) -> pd.DataFrame:
    table = sql.Identifier(table_name)
    where = sql.SQL("extract_id = {}").format(sql.Literal(int(extract_id)))
    if department_ids is not None:
        ids = sql.SQL(", ").join([sql.Literal(int(d)) for d in department_ids] or [sql.NULL])
        where = sql.SQL("{} AND department_id IN ({})").format(where, ids)
    text_values = {
        name: _distinct(table, where, name) for name in names if field_specs[name].kind == "text"
    }
    exprs, dtypes = [sql.SQL("department_id::int8")], [">i8"]
    for name in names:
        expr, dtype = _column_sql(name, field_specs[name], text_values.get(name, []), name in wide)
        exprs.append(expr)
        dtypes.append(dtype)
    query = sql.SQL("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT (FORMAT binary)").format(
        sql.SQL(", ").join(exprs), table, where
    )
    buffer = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(query) as copy:
        for chunk in copy:
            buffer += chunk
    record = np.dtype(
        [("count", ">i2")]
        + [part for i, t in enumerate(dtypes) for part in ((f"len{i}", ">i4"), (f"v{i}", t))]
    )
    n_rows = (len(buffer) - _HEADER - 2) // record.itemsize
    data = np.frombuffer(buffer, dtype=record, count=n_rows, offset=_HEADER)
    out = {"department_id": data["v0"].astype(np.int64)}
    for i, name in enumerate(names, start=1):
        out[name] = _column_values(data[f"v{i}"], field_specs[name], text_values.get(name, []))
    return pd.DataFrame(out)


def _column_values(raw: np.ndarray, spec: rules.FieldSpec, text_values: list[str]):
    if spec.kind in ("choice", "text"):
        categories = list(spec.choices) if spec.kind == "choice" else text_values
        return pd.Categorical.from_codes(raw.astype(np.int32) - 1, categories=categories)
    values = raw.astype(float)
    if spec.kind != "number":
        values[raw == (_BLANK_INT8 if raw.dtype.itemsize == 8 else _BLANK_INT)] = np.nan
    return values


def _distinct(table, where, name: str) -> list[str]:
    query = sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} AND {} IS NOT NULL ORDER BY 1").format(
        sql.Identifier(name), table, where, sql.Identifier(name)
    )
    with connection.cursor() as cursor:
        cursor.cursor.execute(query)
        return [row[0] for row in cursor.cursor.fetchall()]
