"""SPC charts of a department's indicator month by month, split into phases at change markers.

The statistics are ``indicators.stats.spc_chart`` (qicharts2 0.8.1); this module picks the
monthly series from the current results, turns change-marker dates into phase splits and shapes
the output. A marker's month begins the new phase (a change on 15 March puts March after it).
For a measure (length of stay) the run chart is drawn over the monthly medians; a p-chart needs
a proportion.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from indicators import stats


class SpcError(ValueError):
    """A chart that cannot be drawn, with the reason in Danish and English."""

    def __init__(self, da: str, en: str) -> None:
        self.da, self.en = da, en
        super().__init__(f"{da} / {en}")


@dataclass(frozen=True)
class SpcPoint:
    period_start: dt.date
    value: float
    numerator: int | None
    denominator: int
    cl: float
    lcl: float
    ucl: float
    phase: int
    sigma_signal: bool


@dataclass(frozen=True)
class SpcPhase:
    start: dt.date
    cl: float
    n_useful: int
    longest_run: int
    longest_run_max: int
    n_crossings: int
    n_crossings_min: int
    runs_signal: bool
    labels: tuple[str, ...] = ()  # the change markers that began it


@dataclass
class SpcSeries:
    chart: str
    points: list[SpcPoint] = field(default_factory=list)
    phases: list[SpcPhase] = field(default_factory=list)

    def as_export(self) -> dict:
        """Exactly the export_spc JSON: points and phases, NaN as null, dates YYYY-MM-DD."""
        point_keys = ("value", "numerator", "denominator", "cl", "lcl", "ucl", "phase")
        phase_keys = (
            "cl",
            "n_useful",
            "longest_run",
            "longest_run_max",
            "n_crossings",
            "n_crossings_min",
            "runs_signal",
        )
        return {
            "points": [
                {"period_start": p.period_start.isoformat()}
                | {k: _plain(getattr(p, k)) for k in point_keys}
                | {"sigma_signal": bool(p.sigma_signal)}
                for p in self.points
            ],
            "phases": [
                {"start": ph.start.isoformat()} | {k: _plain(getattr(ph, k)) for k in phase_keys}
                for ph in self.phases
            ],
        }


def _plain(value):
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def split_indices(period_starts: Sequence[dt.date], dates: Sequence[dt.date]) -> list[int]:
    """Point indices where a new phase begins: the first point in or after each date's month.
    Dates before the second point or after the last make no phase; two in one month make one."""
    found = {bisect_left(list(period_starts), month_start(d)) for d in dates}
    return sorted(i for i in found if 0 < i < len(period_starts))


def spc_series(
    period_starts: Sequence[dt.date],
    numerators: Sequence[int | None],
    denominators: Sequence[int],
    values: Sequence[float | None],
    *,
    kind: str,
    chart: str | None = None,
    split_dates: Sequence[dt.date] = (),
    labels: Sequence[str] = (),
    freeze: int | None = None,
) -> SpcSeries:
    """A chart from a monthly series (pure): ``kind`` "proportion" or "measure"; ``chart`` "run"
    or "p" (default p for proportions, run for measures); ``labels`` go with ``split_dates``."""
    chart = chart or ("p" if kind == "proportion" else "run")
    if chart not in ("run", "p"):
        raise SpcError(f"Ukendt korttype {chart!r}.", f"Unknown chart type {chart!r}.")
    if chart == "p" and kind != "proportion":
        raise SpcError(
            "Et p-kort kræver en andel; brug et seriediagram (--chart run) for et måltal.",
            "A p-chart needs a proportion; use a run chart (--chart run) for a measure.",
        )
    if freeze is not None and freeze < 1:
        raise SpcError("--freeze skal være mindst 1.", "--freeze must be at least 1.")
    starts = list(period_starts)
    splits = split_indices(starts, split_dates)
    if kind == "proportion":
        result = stats.spc_chart(
            numerators, denominators, chart=chart, splits=splits, freeze=freeze
        )
    else:
        result = _measure_run_chart(np.asarray(values, dtype=float), splits, freeze)
    by_index: dict[int, list[str]] = {}
    for date, label in zip(split_dates, labels, strict=False):
        index = bisect_left(starts, month_start(date))
        by_index.setdefault(index, []).append(label)
    series = SpcSeries(chart)
    for i, start in enumerate(starts):
        series.points.append(
            SpcPoint(
                period_start=start,
                value=float(result.value[i]),
                numerator=None if kind != "proportion" else int(numerators[i]),
                denominator=int(denominators[i]),
                cl=float(result.cl[i]),
                lcl=float(result.lcl[i]),
                ucl=float(result.ucl[i]),
                phase=int(result.phase[i]),
                sigma_signal=bool(result.sigma_signal[i]),
            )
        )
    for phase in result.phases:
        runs = phase.runs
        series.phases.append(
            SpcPhase(
                start=starts[phase.start],
                cl=float(phase.cl),
                n_useful=runs.n_useful,
                longest_run=runs.longest_run,
                longest_run_max=runs.longest_run_max,
                n_crossings=runs.n_crossings,
                n_crossings_min=runs.n_crossings_min,
                runs_signal=runs.runs_signal,
                labels=tuple(by_index.get(phase.start, ())) if phase.start else (),
            )
        )
    return series


def _measure_run_chart(values: np.ndarray, splits: list[int], freeze: int | None):
    """A run chart of arbitrary values (monthly medians), phased as ``stats.spc_chart`` does:
    centre = median of the phase's baseline points, runs analysis over all its points."""
    size = values.size
    valid = ~np.isnan(values)
    baseline = valid.copy()
    edges = [0, *splits, size]
    if freeze is not None and size:
        baseline[min(freeze, edges[1]) : edges[1]] = False
    cl = np.full(size, np.nan)
    phase = np.zeros(size, dtype=int)
    phases = []
    for k, (start, end) in enumerate(pairwise(edges)):
        if end <= start:
            continue
        part = slice(start, end)
        base = values[part][baseline[part]]
        centre = float(np.median(base)) if base.size else math.nan
        cl[part], phase[part] = centre, k
        phases.append(stats.PhaseSummary(start, centre, stats.runs_analysis(values[part], centre)))
    nan = np.full(size, np.nan)
    return stats.SpcChart("run", values, cl, nan, nan, np.zeros(size, dtype=bool), phase, phases)


def build_spc(
    definition,
    department,
    *,
    chart: str | None = None,
    splits: Sequence[dt.date] | None = None,
    freeze: int | None = None,
    computation=None,
) -> SpcSeries:
    """The chart of a department's (None: ALL) indicator from the current results, phased at
    its change markers, or at ``splits`` when given (an empty list: no phases)."""
    from indicators.services.selectors import change_markers, monthly_series

    results = monthly_series(definition, department, computation=computation)
    if splits is None:
        markers = change_markers(department, definition)
        split_dates, labels = [m.date for m in markers], [m.label for m in markers]
    else:
        split_dates, labels = list(splits), []
    return spc_of_results(
        results, kind=definition.kind, chart=chart, split_dates=split_dates, labels=labels,
        freeze=freeze,
    )  # fmt: skip


def spc_of_results(results: Sequence, *, kind: str, **options) -> SpcSeries:
    """``spc_series`` of results (anything with period_start, numerator, denominator, value)."""
    return spc_series(
        [r.period_start for r in results],
        [r.numerator for r in results],
        [r.denominator for r in results],
        [math.nan if r.value is None else r.value for r in results],
        kind=kind,
        **options,
    )
