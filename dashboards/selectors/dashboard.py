"""The department's dashboard: one tile per followed indicator, with its SPC signal.

The tiles of every followed indicator cost two queries together (the department's results and
the national ones for the same periods), whatever the number of indicators or periods. With a
tumour-site or urgency filter the department's results are computed on demand from its rows of
the current extract (nothing is written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from dashboards.selectors.national import national_results
from dashboards.selectors.results import (
    Marker,
    computation_states,
    computed_cells,
    department_markers,
    followed_indicators,
    markers_for,
    spc_of,
    stored_cells,
)
from dashboards.selectors.values import Cell, Filters, add_months
from departments.models import Department
from indicators import mdc, stats
from indicators.mdc import Verdict
from indicators.models import Computation, IndicatorDefinition
from indicators.spc import SpcError


@dataclass
class Tile:
    definition: IndicatorDefinition
    target: float | None
    series: list[Cell]
    latest: Cell | None  # the shown value: the latest period, or the summary window
    national: dict | None  # the pool as the viewer may see it (indicators.services.disclosure)
    variation: Verdict | None = None  # the monthly SPC's latest point (indicators.mdc)
    assurance: Verdict | None = None
    caution: Verdict | None = None  # fewer than 12 points in the latest phase
    window: tuple[dt.date, dt.date] | None = None  # the summary's first and last month


@dataclass
class Dashboard:
    department: Department
    period_type: str
    date_from: dt.date | None
    date_to: dt.date | None
    filters: Filters
    summary: str = ""  # "rolling12" or "ytd": tiles show that window; "": the latest period
    tiles: list[Tile] = field(default_factory=list)
    computation: Computation | None = None
    running: Computation | None = None
    follows: list[tuple[IndicatorDefinition, float | None]] = field(default_factory=list)
    computations: dict[str, Computation] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)
    scope: frozenset[int] = frozenset()  # departments the viewer sees exactly


def department_dashboard(
    department: Department,
    *,
    period_type: str = "month",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    filters: Filters | None = None,
    with_tiles: bool = True,
    scope: frozenset[int] = frozenset(),
    summary: str = "",
) -> Dashboard:
    """The department's dashboard (queries: definitions, computations, the change markers,
    and for the tiles the department's results and the national ones; none per indicator).

    Without ``with_tiles`` no result is read: the caller builds the tiles it has not got
    already with :func:`dashboard_tiles`.
    """
    board = Dashboard(department, period_type, date_from, date_to, filters or Filters(), summary)
    board.scope = scope
    board.follows = followed_indicators(department)
    profiles = {d.profile for d, _ in board.follows} or {"dccg"}
    board.computations, board.running = computation_states(profiles)
    board.computation = next(iter(board.computations.values()), None)
    board.markers = department_markers(department) if board.follows else []
    if with_tiles:
        board.tiles = dashboard_tiles(board, board.follows)
    return board


def summary_window(summary: str, last_month: dt.date, date_from: dt.date | None):
    """(first month, last month) of the tile's summary ending with ``last_month``."""
    first = last_month.replace(month=1) if summary == "ytd" else add_months(last_month, -11)
    if date_from is not None:
        first = max(first, date_from.replace(day=1))
    return first, last_month


def _national_window(pool: dict, definition, window) -> dict | None:
    """The pool's result over the window as the viewer may see it: a calendar year's as stored,
    else summed from its monthly results as the viewer sees them; hidden when any month is (a
    sum would give it back), none for a measure (a median is not a sum)."""
    first, last = window
    if first.month == 1 and (last.year, last.month) == (first.year, 12):
        return pool.get((definition.pk, "year", first))  # a calendar year: as stored
    if definition.kind != IndicatorDefinition.Kind.PROPORTION:
        return None
    month, numerator, denominator, missing = first, 0, 0, 0
    protected = False
    while month <= last:
        row = pool.get((definition.pk, "month", month))
        month = add_months(month, 1)
        if row is None:
            continue
        if row["protected"] or not all(
            isinstance(row[name], int) for name in ("numerator", "denominator")
        ):
            protected = True
            continue
        numerator += row["numerator"]
        denominator += row["denominator"]
        missing += row["missing"] if isinstance(row["missing"], int) else 0
    if protected:
        none = dict.fromkeys(("numerator", "denominator", "missing", "value", "ci_low", "ci_high"))
        return none | {"protected": True}
    if not denominator:
        return None
    low, high = stats.wilson_interval(numerator, denominator)
    return {
        "numerator": numerator,
        "denominator": denominator,
        "missing": missing,
        "value": numerator / denominator,
        "ci_low": float(low),
        "ci_high": float(high),
        "protected": False,
    }


def dashboard_tiles(
    board: Dashboard, follows: Sequence[tuple[IndicatorDefinition, float | None]]
) -> list[Tile]:
    """The tiles of ``follows`` (the board's, or some of them), in their order."""
    if not follows:
        return []
    department, period_type = board.department, board.period_type
    definitions = [d for d, _ in follows]
    if board.filters.active:
        own = computed_cells(board.computations, follows, department, board.filters)
    else:
        own = stored_cells(board.computations, definitions, department, {period_type, "month"})
    monthly_of = {
        definition.pk: [
            c
            for c in own.get((definition.pk, "month"), [])
            if c.overlaps(board.date_from, board.date_to)
        ]
        for definition in definitions
    }
    # Each tile's window ends with its own latest month, so a tile is the same whichever
    # others are built with it (tiles are cached one by one); one read per window.
    windows = {}
    if board.summary:
        windows = {
            pk: summary_window(board.summary, cells[-1].period_start, board.date_from)
            for pk, cells in monthly_of.items()
            if cells
        }
    summed = {}
    for window in set(windows.values()):
        summed[window] = computed_cells(
            board.computations,
            [(d, t) for d, t in follows if windows.get(d.pk) == window],
            department,
            board.filters,
            window=(window[0], add_months(window[1], 1)),
        )
    tiles = []
    for definition, target in follows:
        series = [
            c
            for c in own.get((definition.pk, period_type), [])
            if c.overlaps(board.date_from, board.date_to)
        ]
        monthly = monthly_of[definition.pk]
        tile = Tile(definition, target, series, series[-1] if series else None, None)
        window = windows.get(definition.pk)
        if window is not None:
            found = summed[window].get((definition.pk, "window"))
            tile.latest, tile.window = (found[0] if found else None), window
        elif board.summary:
            tile.latest = None  # no month with data in the range: nothing to sum
        if len(monthly) >= 2:
            try:
                chart = spc_of(definition, monthly, markers_for(board.markers, definition))
            except (SpcError, ValueError):
                chart = None
            if chart is not None:
                tile.variation = mdc.variation(chart, definition.lower_is_better)
                tile.assurance = mdc.assurance(chart, target, definition.lower_is_better)
                tile.caution = mdc.caution(chart)
        tiles.append(tile)
    if not board.filters.active:
        # The national results of what each tile shows, as the viewer may see them (none with
        # a filter: the nation is not filtered).
        pools = {
            profile: national_results(computation, board.scope)
            for profile, computation in board.computations.items()
        }
        for tile in tiles:
            pool = pools.get(tile.definition.profile, {})
            if tile.window is not None:
                tile.national = _national_window(pool, tile.definition, tile.window)
            elif tile.latest is not None:
                key = (tile.definition.pk, period_type, tile.latest.period_start)
                tile.national = pool.get(key)
    return tiles
