"""Write validated rows into ``OperationRow``: ``COPY`` on PostgreSQL, bulk inserts elsewhere."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from django.db import connection

from indicators.models import OperationRow

# The row fields in table order, less the primary key.
FIELDS = [
    "extract_id", "line", "pseudonym", "department_id", "admission_date", "operation_date",
    "discharge_date", "procedure_code", "site", "priority", "asa", "age", "sex", "bmi",
    "anastomosis", "anastomotic_leak", "clavien_dindo", "reoperation_date", "readmission_date",
    "death_date", "extra",
]  # fmt: skip
_SMALL_INTS = ["asa", "age"]
_COPY_CHUNK = 200_000


def load_rows(extract_id: int, rows: pd.DataFrame, department_ids: dict[str, int]) -> int:
    """Insert the canonical rows of one extract; returns how many were written."""
    if rows.empty:
        return 0
    frame = _table_frame(extract_id, rows, department_ids)
    if connection.vendor == "postgresql":
        _copy(frame)
    else:
        _bulk_insert(frame)
    return len(frame)


def _table_frame(extract_id: int, rows: pd.DataFrame, department_ids: dict[str, int]):
    frame = pd.DataFrame(index=rows.index)
    frame["extract_id"] = extract_id
    for name in FIELDS[1:]:
        if name == "department_id":
            frame[name] = rows["department_code"].map(department_ids).astype("int64")
        elif name in _SMALL_INTS:
            frame[name] = pd.array(rows[name], dtype="Int64")
        elif name == "extra":
            frame[name] = rows["extra"].map(_json) if rows["extra"].notna().any() else None
        else:
            frame[name] = rows[name]
    return frame


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _copy(frame: pd.DataFrame) -> None:
    table = OperationRow._meta.db_table
    columns = ", ".join(FIELDS)
    sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '')"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for start in range(0, len(frame), _COPY_CHUNK):
            buffer = io.StringIO()
            # Every text value is non-empty (blank became NULL), so '' can stand for NULL.
            frame.iloc[start : start + _COPY_CHUNK].to_csv(
                buffer, header=False, index=False, date_format="%Y-%m-%d"
            )
            copy.write(buffer.getvalue())


def _bulk_insert(frame: pd.DataFrame) -> None:
    objects = []
    for record in frame.to_dict("records"):
        for name, value in record.items():
            if value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
                record[name] = None
            elif isinstance(value, pd.Timestamp):
                record[name] = value.date()
        if record["extra"] is not None:
            record["extra"] = json.loads(record["extra"])
        objects.append(OperationRow(**record))
    OperationRow.objects.bulk_create(objects, batch_size=2000)
