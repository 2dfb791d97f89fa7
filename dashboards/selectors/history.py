"""One indicator of a department in time: the monthly series, its SPC chart phased at the
change markers, the national line and the before/after of the latest marker."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from dashboards.selectors.national import national_results
from dashboards.selectors.results import (
    Marker,
    computed_cells,
    current_computations,
    department_markers,
    markers_for,
    spc_of,
    stored_cells,
)
from dashboards.selectors.values import Cell, Filters
from departments.models import Department
from indicators import stats
from indicators.models import Computation, IndicatorDefinition
from indicators.spc import SpcError, SpcSeries


@dataclass(frozen=True)
class Pooled:
    """A phase's pooled result: all its operations together."""

    start: dt.date
    end: dt.date  # the phase's last month
    months: int
    numerator: int | None
    denominator: int
    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass
class History:
    definition: IndicatorDefinition
    target: float | None
    monthly: list[Cell]
    # The pool's monthly results as the viewer may see them (indicators.services.disclosure).
    national: dict[dt.date, dict]
    markers: list[Marker]
    spc: SpcSeries | None
    spc_error: SpcError | None
    before: Pooled | None = None
    after: Pooled | None = None
    marker: Marker | None = None  # the latest marker that split the series
    computation: Computation | None = None


def _pooled(definition: IndicatorDefinition, cells: Sequence[Cell], centre: float) -> Pooled:
    denominator = sum(c.denominator for c in cells)
    numerator = value = low = high = None
    if definition.kind == IndicatorDefinition.Kind.PROPORTION:
        numerator = sum(c.numerator or 0 for c in cells)
        if denominator:
            value = numerator / denominator
            lows, highs = stats.wilson_interval(numerator, denominator)
            low, high = float(lows), float(highs)
    else:
        value = None if math.isnan(centre) else centre  # the median of the monthly medians
    return Pooled(
        cells[0].period_start, cells[-1].period_start, len(cells), numerator, denominator,
        value, low, high,
    )  # fmt: skip


def indicator_history(
    department: Department,
    definition: IndicatorDefinition,
    target: float | None,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    filters: Filters | None = None,
    chart: str | None = None,
    scope: frozenset[int] = frozenset(),
) -> History:
    """The monthly series, its SPC chart phased at the change markers, the national line and
    the before/after of the latest marker."""
    filters = filters or Filters()
    computations = current_computations({definition.profile})
    if filters.active:
        own = computed_cells(computations, [(definition, target)], department, filters)
        national: dict = {}
    else:
        own = stored_cells(computations, [definition], department, {"month"})
        pool = national_results(computations.get(definition.profile), scope)
        national = {
            start: row
            for (pk, kind, start), row in pool.items()
            if pk == definition.pk and kind == "month"
        }
    monthly = [c for c in own.get((definition.pk, "month"), []) if c.overlaps(date_from, date_to)]
    markers = markers_for(department_markers(department), definition)
    history = History(
        definition,
        target,
        monthly,
        national,
        markers,
        None,
        None,
        computation=computations.get(definition.profile),
    )
    try:
        history.spc = spc_of(definition, monthly, markers, chart)
    except SpcError as exc:
        history.spc_error = exc
        return history
    points, phases = history.spc.points, history.spc.phases
    if len(phases) >= 2:
        # The latest change that split the series: its phase against the one before it.
        start = phases[-1].start
        index = next(i for i, p in enumerate(points) if p.period_start == start)
        previous = points[index - 1].phase
        before = [c for c, p in zip(monthly, points, strict=True) if p.phase == previous]
        history.before = _pooled(definition, before, phases[-2].cl)
        history.after = _pooled(definition, monthly[index:], phases[-1].cl)
        history.marker = next(
            (m for m in reversed(markers) if m.date.replace(day=1) <= start), None
        )
    return history
