"""Registry profiles: what one registry's extract looks like.

The importer's core knows kinds of columns (a CPR number, a code, a date, a choice, a number),
not any one registry; a profile names the columns, their kinds and codes, the row key and the
rules between dates. Profiles are files (``registries/*.toml``, profile-format.md), read by
``profile_file`` and installed in the database (``catalog``); a second registry is a second
file, not a change to the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Column:
    name: str  # as written in the file's header
    field: str  # the name rules use, and the column of the registry's row table
    kind: str  # cpr | code | text | date | choice | int | decimal
    required: bool = False  # blank makes the row invalid
    label_da: str = ""
    label_en: str = ""
    # choice: accepted spellings (lower case) -> canonical value
    choices: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    low: int | None = None  # int: inclusive range
    high: int | None = None
    length: int | None = None  # code: exact length; text: maximum length


@dataclass(frozen=True)
class DateOrder:
    """``later`` may not be before ``earlier`` (checked where both are present)."""

    later: str
    earlier: str


@dataclass(frozen=True)
class Profile:
    slug: str
    version: int
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # column names that identify a row within a file
    date_orders: tuple[DateOrder, ...]
    hospital_code: str
    hospital_name: str
    department_code: str
    department_name: str
    period_column: str  # the date that decides the period a row counts in
    delimiter: str = ";"
    date_format: str = "%d-%m-%Y"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def get_profile(slug: str) -> Profile:
    """The installed profile of a registry (``indicators.registry.catalog``: the database holds
    every installed profile file, ``registries/*.toml`` and whatever ``add_registry`` added)."""
    from indicators.registry import catalog

    return catalog.profile(slug)
