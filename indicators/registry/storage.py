"""Where a registry's rows live: one table per registry, its columns typed from the profile.

Every field a rule may use (``rules.fields_for_profile``) is a column of its kind (a date a
``date``, a yes/no choice a ``boolean``, a number a number), beside the columns every registry
has: ``id``, ``extract_id``, ``line``, ``pseudonym`` (the CPR number's), ``department_id`` and
``extra`` (the file's extra columns, as JSON). No JSON per cell for a profile's field.

On PostgreSQL the table is partitioned by extract: an import copies its rows into a fresh table
without indexes or key checks, indexes it once and attaches it as the extract's partition
(``indicators.registry.load``). Functions owned by the table owner make, attach and drop the
partitions (migration 0011), so the worker may import as a role that can change no table, and
they refuse any table that is not a registry's row table. SQLite (``make run``) has one plain
table per registry.

The table has no foreign keys (Django's ``flush`` truncates only its own tables, and would refuse
to truncate an extract a key points at): an extract's rows are written in the import's
transaction and dropped with the extract (``indicators.signals``), and only the import writes
``department_id``, from the departments it has just placed.

The table is made when a registry is installed (``add_registry``) and gains the columns a newer
profile version adds; a version may not change the kind a stored field already has. DCCG's
table is older than profiles as files and was made by migrations (``OperationRow``);
it has exactly the columns its profile gives (a test checks) and was renamed ``registry_dccg``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
from django.db import connection
from psycopg import sql

from indicators import rules
from indicators.registry.profiles import Profile
from indicators.registry.validate import arrow_type

BASE_COLUMNS = ("id", "extract_id", "line", "pseudonym", "department_id")
EXTRA = "extra"
RESERVED = frozenset((*BASE_COLUMNS, EXTRA))
_TABLE = re.compile(r"registry_[a-z][a-z0-9_]{1,39}")


@dataclass(frozen=True)
class StoredColumn:
    field: str
    arrow: pa.DataType

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[str(self.arrow)]

    @property
    def family(self) -> str:
        """What kind of value it holds, whatever its width: a changed family is a new field."""
        return _FAMILY[self.sql_type.split("(")[0]]


_SQL_TYPES = {
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "double": "double precision",
    "bool": "boolean",
    "date32[day]": "date",
    "string": "text",
}
_FAMILY = {
    "smallint": "number",
    "integer": "number",
    "bigint": "number",
    "double precision": "number",
    "real": "number",
    "boolean": "boolean",
    "date": "date",
    "text": "text",
    "varchar": "text",
    "character varying": "text",
    "character": "text",
}


def table_name(slug: str) -> str:
    """The row table a newly installed registry gets."""
    name = f"registry_{slug}"
    if not _TABLE.fullmatch(name):
        raise ValueError(f"not a registry slug: {slug!r}")
    return name


def partition_name(table: str, extract_id: int) -> str:
    return f"{table}_x{int(extract_id)}"


def stored_columns(profile: Profile) -> list[StoredColumn]:
    """The profile's typed columns, in the profile's order: exactly its rule fields."""
    fields = rules.fields_for_profile(profile)
    return [
        StoredColumn(column.field, arrow_type(column))
        for column in profile.columns
        if column.field in fields
    ]


def column_names(profile: Profile) -> list[str]:
    """Every column of the registry's table, in the order rows are written."""
    return [*BASE_COLUMNS, *(c.field for c in stored_columns(profile)), EXTRA]


def period_field(profile: Profile) -> str:
    return profile.column(profile.period_column).field


def existing_columns(table: str) -> dict[str, str] | None:
    """The table's columns with their type families, or None when there is no such table."""
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return None
        description = connection.introspection.get_table_description(cursor, table)
    found = {}
    for column in description:
        kind = connection.introspection.get_field_type(column.type_code, column)
        found[column.name] = _django_family(kind)
    return found


def _django_family(field_type: str) -> str:
    if field_type in {"DateField"}:
        return "date"
    if field_type in {"BooleanField", "NullBooleanField"}:
        return "boolean"
    if field_type in {"CharField", "TextField"}:
        return "text"
    if field_type == "JSONField":
        return "json"
    return "number"


def type_changes(table: str, profile: Profile) -> list[tuple[str, str, str]]:
    """(field, stored family, new family) of every stored field the profile would change."""
    found = existing_columns(table) or {}
    return [
        (c.field, found[c.field], c.family)
        for c in stored_columns(profile)
        if c.field in found and found[c.field] != c.family
    ]


def ensure_table(table: str, profile: Profile) -> list[str]:
    """Make the registry's table, or add the columns a newer profile has; the columns added.

    Runs in the caller's transaction (DDL is transactional on both databases used).
    """
    if not _TABLE.fullmatch(table):
        raise ValueError(f"not a registry row table: {table!r}")
    found = existing_columns(table)
    wanted = stored_columns(profile)
    if found is None:
        _create(table, wanted, period_field(profile))
        return [c.field for c in wanted]
    missing = [c for c in wanted if c.field not in found]
    with connection.cursor() as cursor:
        for column in missing:
            cursor.execute(
                f"ALTER TABLE {_q(table)} ADD COLUMN {_q(column.field)} {column.sql_type} NULL"
            )
        # A whole number whose new bounds need more room than its column has is widened (a
        # narrower one keeps its column: its values fit, and are written as the column's type).
        if connection.vendor == "postgresql":
            types = sql_types(table)
            for column in wanted:
                old, new = types.get(column.field), column.sql_type
                if old in INT_BYTES and new in INT_BYTES and INT_BYTES[new] > INT_BYTES[old]:
                    cursor.execute(
                        f"ALTER TABLE {_q(table)} ALTER COLUMN {_q(column.field)} TYPE {new}"
                    )
    return [c.field for c in missing]


INT_BYTES = {"smallint": 2, "integer": 4, "bigint": 8}
ARROW_INTS = {"smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64()}


def sql_types(table: str) -> dict[str, str]:
    """PostgreSQL's type of each column of the table (``smallint``, ``date``, …)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            [table],
        )
        return dict(cursor.fetchall())


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _create(table: str, columns: list[StoredColumn], period: str) -> None:
    typed = ", ".join(f"{_q(c.field)} {c.sql_type} NULL" for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TABLE {_q(table)} (id bigint NOT NULL, extract_id bigint NOT NULL, "
                "line integer NOT NULL, pseudonym varchar(32) NOT NULL, "
                f"department_id bigint NOT NULL, {typed}, extra jsonb NULL) "
                "PARTITION BY LIST (extract_id)"
            )
            _grant_like_extracts(cursor, table)
        else:
            cursor.execute(
                f"CREATE TABLE {_q(table)} (id integer NOT NULL PRIMARY KEY, "
                "extract_id bigint NOT NULL, line integer NOT NULL, "
                "pseudonym varchar(32) NOT NULL, department_id bigint NOT NULL, "
                f"{typed}, extra text NULL)"
            )
        cursor.execute(
            f"CREATE INDEX {_q(f'{table}_key')} ON {_q(table)} "
            f"(extract_id, department_id, {_q(period)})"
        )


def _grant_like_extracts(cursor, table: str) -> None:
    """The roles that may read and write extracts (``grant_app_role``) may read and write the
    new registry's rows too; no other right is given."""
    cursor.execute(
        "SELECT DISTINCT grantee FROM information_schema.role_table_grants "
        "WHERE table_name = 'indicators_extract' AND privilege_type = 'INSERT' "
        "AND grantee <> current_user AND grantee <> 'PUBLIC'"
    )
    for (role,) in cursor.fetchall():
        cursor.cursor.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                sql.Identifier(table), sql.Identifier(role)
            )
        )


def drop_table(table: str) -> None:
    """Only for a registry that never held an extract (an install rolled back by hand)."""
    if not _TABLE.fullmatch(table) or table == "registry_dccg":
        raise ValueError(f"not a droppable registry row table: {table!r}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_q(table)}")


def count_rows(table: str, extract_id: int | None = None) -> int:
    where, params = ("WHERE extract_id = %s", [int(extract_id)]) if extract_id else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_q(table)} {where}", params)  # noqa: S608
        return cursor.fetchone()[0]


def distinct_values(table: str, field: str) -> list:
    """The distinct non-blank values a stored column holds (an upgrade's check)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT {_q(field)} FROM {_q(table)} "  # noqa: S608
            f"WHERE {_q(field)} IS NOT NULL"
        )
        return [row[0] for row in cursor.fetchall()]
