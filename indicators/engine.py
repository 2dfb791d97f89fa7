"""The engine: every result of every definition from the rows of one extract, in one pass.

Pure pandas/numpy (no Django): :func:`compute_results` takes a frame of operation rows prepared
as ``indicators.rules`` reads them (dates as day numbers, choices as categoricals) and plain
:class:`DefinitionSpec` objects, and returns one row per (definition, department or ALL,
period type, period start) whose population has at least one row.

How it stays fast on a million rows: every rule is a numpy mask; each row gets a small state
code per definition (0 outside the population, 1 missing, 2 in the denominator, 3 an event) and
one ``np.bincount`` over (department, month, state) counts everything. Counts add up, so
quarters, years and ALL are sums of the small month array, not new passes over the rows.
Medians and quartiles of measures do not add up: those sort the values once and then, per
period type, stably sort by group code (a radix sort for small codes) and pick order
statistics at computed offsets.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators import rules, stats

PERIOD_TYPES = ("month", "quarter", "year")
# The column of the rows frame with the date that decides a row's period (the profile's
# ``period``: DCCG's operation date, kræftpakke's referral date), as day numbers.
PERIOD = "_period"
_MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
RESULT_COLUMNS = [
    "definition_id", "department_id", "period_type", "period_start", "numerator",
    "denominator", "missing", "value", "ci_low", "ci_high", "mean", "q1", "q3", "target",
    "target_status",
]  # fmt: skip


@dataclass(frozen=True)
class DefinitionSpec:
    """What the engine needs of an indicator definition."""

    id: int
    slug: str
    kind: str  # "proportion" | "measure"
    population: dict
    missing: dict
    event: dict | None = None
    measure: dict | None = None
    lower_is_better: bool = True
    default_target: float | None = None
    department_id: int | None = None  # a department's own definition; None = standard

    @property
    def fields(self) -> set[str]:
        return (
            rules.rule_fields(self.population)
            | rules.rule_fields(self.missing)
            | (rules.rule_fields(self.event) | rules.rule_fields(self.measure))
        )


def needed_fields(definitions: Sequence[DefinitionSpec]) -> set[str]:
    """The row fields the definitions read (the period date comes with every read)."""
    found: set[str] = set()
    for definition in definitions:
        found |= definition.fields
    return found


def empty_results() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in RESULT_COLUMNS})


def compute_results(
    rows: pd.DataFrame,
    definitions: Sequence[DefinitionSpec],
    targets: Mapping[tuple[int, int], float | None] | None = None,
    *,
    departments: Collection[int] | None = None,
    include_all: bool = True,
    period_types: Sequence[str] = PERIOD_TYPES,
) -> pd.DataFrame:
    """Every result of ``definitions`` over ``rows`` (prepared; ``department_id`` and the period
    date ``PERIOD``, as day numbers, never blank).

    ``targets`` maps (department id, definition id) to the department's own target; others use
    the definition's default (ALL always does). ``departments`` limits the department results
    to those ids (None: every department in the rows); ``include_all`` adds ALL, the pool of
    every row given. A department's own definition gives results for that department only.
    ``period_types`` may hold ``"window"``: one period over every month of the rows given (the
    caller chose them), dated by its first month.
    """
    if rows.empty or not definitions:
        return empty_results()
    grid = _Grid(rows)
    targets = targets or {}
    wanted = None if departments is None else np.isin(grid.dept_ids, list(departments))
    parts = []
    for definition in definitions:
        parts.extend(
            _definition_results(definition, rows, grid, targets, wanted, include_all, period_types)
        )
    if not parts:
        return empty_results()
    frame = pd.concat(parts, ignore_index=True)
    return frame[RESULT_COLUMNS]


class _Grid:
    """Group codes shared by every definition: department index x month index."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.dept_ids, dept = np.unique(rows["department_id"].to_numpy(), return_inverse=True)
        day = rows[PERIOD].to_numpy(dtype=float)
        month = day.astype(np.int64).astype("M8[D]").astype("M8[M]").astype(np.int64)
        self.month0 = int(month.min())
        self.month = month - self.month0
        self.n_dept, self.n_month = len(self.dept_ids), int(self.month.max()) + 1
        self.dept = dept.astype(np.int64)
        self.cell = self.dept * self.n_month + self.month  # (department, month)
        self._codes: dict[str, tuple[np.ndarray, int, np.ndarray]] = {}

    def period_codes(self, period_type: str) -> tuple[np.ndarray, int, np.ndarray]:
        """(period index per month index, number of periods, first month of each period)."""
        if period_type == "window":
            start = np.array([self.month0], dtype="M8[M]").astype("M8[D]")
            return np.zeros(self.n_month, dtype=np.int64), 1, start
        if period_type not in self._codes:
            size = _MONTHS_IN[period_type]
            absolute = np.arange(self.n_month) + self.month0
            period = np.floor_divide(absolute, size)
            first = int(period.min())
            starts = (np.arange(first, int(period.max()) + 1) * size).astype("M8[M]")
            self._codes[period_type] = (period - first, len(starts), starts.astype("M8[D]"))
        return self._codes[period_type]


def _definition_results(
    d, rows, grid, targets, wanted, include_all, period_types
) -> list[pd.DataFrame]:
    population = rules.evaluate(d.population, rows)
    missing = population & rules.evaluate(d.missing, rows)
    values = None
    if d.kind == "measure":
        values = rules.measure_values(d.measure, rows)
        missing |= population & np.isnan(values)
        state = population.astype(np.int8) + (population & ~missing)
    else:
        counted = population & ~missing
        state = population.astype(np.int8) + counted + (counted & rules.evaluate(d.event, rows))
    counts = np.bincount(grid.cell * 4 + state, minlength=grid.n_dept * grid.n_month * 4)
    counts = counts.reshape(grid.n_dept, grid.n_month, 4)
    show = np.ones(grid.n_dept, dtype=bool) if wanted is None else wanted.copy()
    if d.department_id is not None:
        show &= grid.dept_ids == d.department_id
    dept_targets = np.array([_target(targets, int(dept), d) for dept in grid.dept_ids], dtype=float)
    order = _ValueOrder(values, population & ~missing, grid) if values is not None else None
    parts = []
    for period_type in period_types:
        to_period, n_period, starts = grid.period_codes(period_type)
        per = np.zeros((grid.n_dept, n_period, 4), dtype=np.int64)
        np.add.at(per, (slice(None), to_period), counts)
        blocks = []
        if show.any():
            blocks.append(("dept", per, show))
        # A department's own indicator has no pool: pooled with others it would single out
        # their patients (docs/privacy.md).
        if include_all and d.department_id is None:
            blocks.append(("all", per.sum(axis=0, keepdims=True), np.ones(1, dtype=bool)))
        for where, block, keep in blocks:
            cells = (block[..., 1:].sum(axis=-1) > 0) & keep[:, None]
            if not cells.any():
                continue
            di, pi = np.nonzero(cells)
            c = block[di, pi]
            part = {
                "definition_id": d.id,
                "department_id": pd.array(
                    grid.dept_ids[di] if where == "dept" else [None] * len(di), dtype="Int64"
                ),
                "period_type": period_type,
                "period_start": starts[pi],
                "missing": c[:, 1],
                "denominator": c[:, 2] + c[:, 3],
                "target": dept_targets[di] if where == "dept" else _default(d, len(di)),
            }
            if order is not None:
                part.update(order.stats(where, to_period, n_period, di, pi))
                part["numerator"] = pd.array([None] * len(di), dtype="Int64")
            else:
                part.update(_proportion_stats(c[:, 3], c[:, 2] + c[:, 3]))
                part["numerator"] = pd.array(c[:, 3], dtype="Int64")
            status = stats.target_status(
                part["ci_low"], part["ci_high"], part["target"], d.lower_is_better
            )
            part["target_status"] = status
            parts.append(pd.DataFrame(part))
    return parts


def _target(targets, department_id: int, d: DefinitionSpec) -> float:
    own = targets.get((department_id, d.id))
    chosen = own if own is not None else d.default_target
    return np.nan if chosen is None else float(chosen)


def _default(d: DefinitionSpec, n: int) -> np.ndarray:
    return np.full(n, np.nan if d.default_target is None else float(d.default_target))


def _proportion_stats(numerator: np.ndarray, denominator: np.ndarray) -> dict:
    low, high = stats.wilson_interval(numerator, denominator)
    nan = np.full(len(numerator), np.nan)
    return {
        "value": stats.proportion(numerator, denominator),
        "ci_low": low,
        "ci_high": high,
        "mean": nan,
        "q1": nan,
        "q3": nan,
    }


class _ValueOrder:
    """A measure's values sorted once; grouped per period type by a stable sort of group codes,
    so each group's values stay sorted."""

    def __init__(self, values: np.ndarray, in_denominator: np.ndarray, grid: _Grid) -> None:
        keep = np.flatnonzero(in_denominator)
        by_value = keep[np.argsort(values[keep], kind="stable")]
        self.values = values[by_value]
        self.dept = grid.dept[by_value]
        self.month = grid.month[by_value]
        self.n_dept = grid.n_dept

    def stats(self, where: str, to_period: np.ndarray, n_period: int, di, pi) -> dict:
        period = to_period[self.month]
        if where == "dept":
            group, n_groups = self.dept * n_period + period, self.n_dept * n_period
            cells = di * n_period + pi
        else:
            group, n_groups, cells = period, n_period, pi
        return {name: column[cells] for name, column in _group_stats(group, self.values, n_groups)}


def _group_stats(group: np.ndarray, values: np.ndarray, n_groups: int):
    """(name, array over groups) of median, interval, mean and quartiles; ``values`` sorted."""
    small = np.int16 if n_groups < 2**15 else np.int32  # int16 sorts by radix: linear time
    order = np.argsort(group.astype(small), kind="stable")
    x = values[order]
    n = np.bincount(group, minlength=n_groups)
    start = np.cumsum(n) - n
    has = n > 0
    last = np.maximum(n - 1, 0)

    def at(rank: np.ndarray) -> np.ndarray:  # 0-based rank within each group
        return np.where(has, x[np.minimum(start + rank, len(x) - 1)] if len(x) else np.nan, np.nan)

    median = (at(last // 2) + at(n // 2)) / 2
    j, k = stats.median_interval_ranks(n)
    ok = has & (j > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(group, weights=values, minlength=n_groups) / n
    yield "value", median
    yield "ci_low", np.where(ok, at(np.maximum(j - 1, 0)), np.nan)
    yield "ci_high", np.where(ok, at(np.maximum(k - 1, 0)), np.nan)
    yield "mean", np.where(has, mean, np.nan)
    yield "q1", _quantile(at, last, 0.25)
    yield "q3", _quantile(at, last, 0.75)


def _quantile(at, last: np.ndarray, q: float) -> np.ndarray:
    """numpy's ``method="linear"`` quantile (R type 7) from order statistics, as numpy does it."""
    h = last * q
    below = np.floor(h).astype(np.int64)
    t = h - below
    a, b = at(below), at(np.minimum(below + 1, last))
    diff = b - a
    # numpy's _lerp: a + t(b - a), but b - (1 - t)(b - a) from t >= 0.5 on, for symmetry.
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
