"""Reading an extract's operation rows into the engine's prepared frame, only the needed columns.

On PostgreSQL one ``COPY (SELECT …) TO STDOUT (FORMAT binary)`` in which every column is a
fixed-width number: dates as day numbers, choices as their position in the profile's list,
booleans as 0/1, blanks as a sentinel. Fixed-width rows parse with one ``np.frombuffer`` and no
per-row Python. Elsewhere (SQLite) the ORM reads the rows and ``rules.prepare_frame`` converts
them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import numpy as np
import pandas as pd
from django.db import connection
from psycopg import sql

from indicators import rules
from indicators.models import OperationRow

_BLANK_INT = -(2**31)
_HEADER = 19  # PGCOPY signature (11) + flags (4) + header extension length (4)


def read_rows(
    extract_id: int,
    fields: Iterable[str],
    field_specs: Mapping[str, rules.FieldSpec],
    *,
    department_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """``department_id`` and ``fields`` of the extract's rows (optionally of some departments)."""
    names = sorted(set(fields) - {"department_id"})
    unknown = [name for name in names if name not in field_specs]
    if unknown:
        raise KeyError(f"not a rule field of the profile: {', '.join(unknown)}")
    if connection.vendor == "postgresql":
        return _read_postgres(extract_id, names, field_specs, department_ids)
    return _read_orm(extract_id, names, field_specs, department_ids)


def read_current_rows(
    sources: list[list],
    fields: Iterable[str],
    field_specs: Mapping[str, rules.FieldSpec],
) -> pd.DataFrame:
    """The current rows (``indicators.services.currency.sources``: each extract with the
    departments whose current rows it holds) as one frame."""
    parts = [
        read_rows(extract_id, fields, field_specs, department_ids=departments)
        for extract_id, departments in sources
    ]
    if not parts:
        return read_rows(0, fields, field_specs, department_ids=[])
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat(parts, ignore_index=True)
    # Categories of the same profile are the same in every part; concat keeps them so.
    return frame


def _read_orm(extract_id, names, field_specs, department_ids) -> pd.DataFrame:
    rows = OperationRow.objects.filter(extract_id=extract_id)
    if department_ids is not None:
        rows = rows.filter(department_id__in=list(department_ids))
    columns = ["department_id", *names]
    frame = pd.DataFrame.from_records(list(rows.values_list(*columns)), columns=columns)
    frame["department_id"] = frame["department_id"].astype(np.int64)
    return rules.prepare_frame(frame, field_specs)


def _column_sql(name: str, spec: rules.FieldSpec, text_values: list[str]) -> tuple[sql.SQL, str]:
    """(expression, numpy type) for one column; every expression is NOT NULL and fixed width."""
    column = sql.Identifier(name)
    blank = sql.Literal(_BLANK_INT)
    if spec.kind == "date":
        expr = sql.SQL("COALESCE({} - DATE '1970-01-01', {})").format(column, blank)
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


def _read_postgres(extract_id, names, field_specs, department_ids) -> pd.DataFrame:
    table = sql.Identifier(OperationRow._meta.db_table)
    where = sql.SQL("extract_id = {}").format(sql.Literal(int(extract_id)))
    if department_ids is not None:
        ids = sql.SQL(", ").join([sql.Literal(int(d)) for d in department_ids] or [sql.NULL])
        where = sql.SQL("{} AND department_id IN ({})").format(where, ids)
    text_values = {
        name: _distinct(table, where, name) for name in names if field_specs[name].kind == "text"
    }
    exprs, dtypes = [sql.SQL("department_id::int8")], [">i8"]
    for name in names:
        expr, dtype = _column_sql(name, field_specs[name], text_values.get(name, []))
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
        values[raw == _BLANK_INT] = np.nan
    return values


def _distinct(table, where, name: str) -> list[str]:
    query = sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} AND {} IS NOT NULL ORDER BY 1").format(
        sql.Identifier(name), table, where, sql.Identifier(name)
    )
    with connection.cursor() as cursor:
        cursor.cursor.execute(query)
        return [row[0] for row in cursor.cursor.fetchall()]
