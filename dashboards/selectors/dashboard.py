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
from dashboards.selectors.values import Cell, Filters
from departments.models import Department
from indicators.models import Computation, IndicatorDefinition
from indicators.spc import SpcError, SpcSeries


@dataclass(frozen=True)
class Signal:
    """The SPC verdict in the latest phase: points outside the limits, non-random runs."""

    chart: str
    outside: int
    runs: bool

    @property
    def any(self) -> bool:
        return bool(self.outside or self.runs)


def latest_signal(series: SpcSeries) -> Signal:
    last = series.points[-1].phase
    outside = sum(1 for p in series.points if p.phase == last and p.sigma_signal)
    return Signal(series.chart, outside, bool(series.phases[-1].runs_signal))


@dataclass
class Tile:
    definition: IndicatorDefinition
    target: float | None
    series: list[Cell]
    latest: Cell | None
    national: dict | None  # the pool as the viewer may see it (indicators.services.disclosure)
    signal: Signal | None


@dataclass
class Dashboard:
    department: Department
    period_type: str
    date_from: dt.date | None
    date_to: dt.date | None
    filters: Filters
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
) -> Dashboard:
    """The department's dashboard (queries: definitions, computations, the change markers,
    and for the tiles the department's results and the national ones; none per indicator).

    Without ``with_tiles`` no result is read: the caller builds the tiles it has not got
    already with :func:`dashboard_tiles`.
    """
    board = Dashboard(department, period_type, date_from, date_to, filters or Filters())
    board.scope = scope
    board.follows = followed_indicators(department)
    profiles = {d.profile for d, _ in board.follows} or {"dccg"}
    board.computations, board.running = computation_states(profiles)
    board.computation = next(iter(board.computations.values()), None)
    board.markers = department_markers(department) if board.follows else []
    if with_tiles:
        board.tiles = dashboard_tiles(board, board.follows)
    return board


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
    tiles = []
    for definition, target in follows:
        series = [
            c
            for c in own.get((definition.pk, period_type), [])
            if c.overlaps(board.date_from, board.date_to)
        ]
        monthly = [
            c
            for c in own.get((definition.pk, "month"), [])
            if c.overlaps(board.date_from, board.date_to)
        ]
        signal = None
        if len(monthly) >= 2:
            try:
                chart = spc_of(definition, monthly, markers_for(board.markers, definition))
                signal = latest_signal(chart)
            except (SpcError, ValueError):
                signal = None
        latest = series[-1] if series else None
        tiles.append(Tile(definition, target, series, latest, None, signal))
    if not board.filters.active:
        # The national results of each tile's latest period, as the viewer may see them (none
        # with a filter: the nation is not filtered).
        pools = {
            profile: national_results(computation, board.scope)
            for profile, computation in board.computations.items()
        }
        for tile in tiles:
            if tile.latest is None:
                continue
            pool = pools.get(tile.definition.profile, {})
            tile.national = pool.get((tile.definition.pk, period_type, tile.latest.period_start))
    return tiles
