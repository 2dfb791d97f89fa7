"""The small values the department's pages pass around: filters, periods and result cells."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

PERIOD_TYPES = ("month", "quarter", "year")
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
SITES = ("kolon", "rektum")
URGENCIES = ("elektiv", "akut")
# A result's definition, then the fields of a Cell in their order.
CELL_FIELDS = (
    "definition_id", "period_type", "period_start", "numerator", "denominator", "missing",
    "value", "ci_low", "ci_high", "target", "target_status",
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """Subgroups the department's results are computed for on demand ("" = all)."""

    site: str = ""
    urgency: str = ""

    @property
    def active(self) -> bool:
        return bool(self.site or self.urgency)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("site", self.site), ("urgency", self.urgency)) if v}


@dataclass(frozen=True)
class Period:
    period_type: str  # month, quarter, year, or "window": ``months`` months from ``start``
    start: dt.date
    months: int = 0

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return add_months(self.start, self.months or MONTHS_IN[self.period_type])

    @property
    def last_month(self) -> dt.date:
        return add_months(self.end, -1)

    @property
    def code(self) -> str:
        if self.period_type == "window":
            return f"{self.start:%Y-%m}..{self.last_month:%Y-%m}"
        if self.period_type == "year":
            return str(self.start.year)
        if self.period_type == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str | None) -> dt.date | None:
    """ "2022-03" (or a full date) as the month's first day; None for anything else."""
    try:
        year, month = (int(part) for part in (text or "").strip().split("-")[:2])
        return dt.date(year, month, 1)
    except ValueError:
        return None


def window(first: dt.date, last: dt.date) -> Period:
    """The months from ``first`` to ``last``, both included."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return Period("window", first.replace(day=1), months)


def parse_period(text: str | None) -> Period | None:
    """ "2022-03" (month), "2022-Q1" (quarter), "2022" (year) or "2021-12..2022-11" (months
    from..to, at most 10 years); None if it is none of them."""
    text = (text or "").strip().upper()
    if ".." in text:
        parts = text.split("..")
        if len(parts) != 2 or not all(len(part) == 7 for part in parts):
            return None
        first, last = (parse_month(part) for part in parts)
        if first is None or last is None or not first <= last or first.year > 9000:
            return None
        if last >= add_months(first, 120):
            return None
        return window(first, last)
    try:
        if len(text) == 4 and text.isdigit():
            return Period("year", dt.date(int(text), 1, 1))
        if len(text) == 7 and text[4:6] == "-Q" and text[6] in "1234":
            return Period("quarter", dt.date(int(text[:4]), 3 * int(text[6]) - 2, 1))
        if len(text) == 7 and text[4] == "-":
            return Period("month", dt.date(int(text[:4]), int(text[5:]), 1))
    except ValueError:
        return None
    return None


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


@dataclass(frozen=True)
class Cell:
    """One result (stored, or computed on demand) as the pages show it."""

    period_type: str
    period_start: dt.date
    numerator: int | None
    denominator: int
    missing: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    target: float | None
    target_status: str | None

    @property
    def period(self) -> Period:
        return Period(self.period_type, self.period_start)

    def overlaps(self, date_from: dt.date | None, date_to: dt.date | None) -> bool:
        if date_from is not None and self.period.end <= date_from:
            return False
        return date_to is None or self.period_start <= date_to


def cells_by_key(rows: Iterable[Sequence]) -> dict[tuple[int, str], list[Cell]]:
    """Results as rows of :data:`CELL_FIELDS` (plain Python values, None for blanks) by
    (definition, period type), oldest first."""
    found: dict[tuple[int, str], list[Cell]] = defaultdict(list)
    for definition_id, *values in rows:
        cell = Cell(*values)
        found[(definition_id, cell.period_type)].append(cell)
    for cells in found.values():
        cells.sort(key=lambda c: c.period_start)
    return found


def frame_cells(frame: pd.DataFrame) -> dict[tuple[int, str], list[Cell]]:
    """The engine's results frame (numpy values, NaN for blanks) as :func:`cells_by_key`."""
    rows = []
    for r in frame.to_dict("records"):
        start = r["period_start"]
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            start = pd.Timestamp(start).date()
        plain = {k: _plain(r[k]) for k in CELL_FIELDS} | {
            "definition_id": int(r["definition_id"]),
            "period_start": start,
            "denominator": int(r["denominator"]),
            "missing": int(r["missing"]),
        }
        rows.append([plain[k] for k in CELL_FIELDS])
    return cells_by_key(rows)
