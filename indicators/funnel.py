"""Funnel plots: each department's proportion against its denominator, around the national one.

Method (named on the pages and in the exports): exact binomial control limits around the
national proportion p0 (ALL: the pooled numerator / denominator of every department), with
Spiegelhalter's interpolation between attainable counts, at 95 % and 99.8 % (Spiegelhalter DJ,
"Funnel plots for comparing institutional performance", Stat Med 2005;24:1185-1202, appendix
A.1.1). The statistics are ``indicators.stats.funnel_limits`` and ``funnel_position``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from indicators import stats

LEVELS = (0.95, 0.998)
METHOD_DA = (
    "Eksakte binomiale kontrolgrænser (95 % og 99,8 %) om landsandelen med Spiegelhalters "
    "interpolation (Spiegelhalter 2005, Stat Med 24:1185-1202)."
)
METHOD_EN = (
    "Exact binomial control limits (95% and 99.8%) around the national proportion with "
    "Spiegelhalter's interpolation (Spiegelhalter 2005, Stat Med 24:1185-1202)."
)


@dataclass(frozen=True)
class FunnelPoint:
    key: object  # the department (or its id/code in pure use)
    numerator: int
    denominator: int
    value: float
    position: str  # within | above_95 | below_95 | above_998 | below_998
    limits: dict[float, tuple[float, float]]  # at this point's denominator


@dataclass
class Funnel:
    p0: float  # the national proportion
    national_numerator: int
    national_denominator: int
    points: list[FunnelPoint] = field(default_factory=list)
    # The funnel's curves for drawing: denominators and {level: (lower, upper)} along them.
    curve_n: list[int] = field(default_factory=list)
    curve: dict[float, tuple[list[float], list[float]]] = field(default_factory=dict)
    method_da: str = METHOD_DA
    method_en: str = METHOD_EN
    period_type: str = ""
    period_start: dt.date | None = None


def curve_denominators(largest: int, points: int = 100) -> np.ndarray:
    """About ``points`` whole denominators from 1 to a little past the largest, log-spaced."""
    top = max(math.ceil(largest * 1.1), 2)
    return np.unique(np.rint(np.geomspace(1, top, points)).astype(int))


def funnel_from_counts(
    keys: Sequence[object],
    numerators: Sequence[int],
    denominators: Sequence[int],
    national_numerator: int,
    national_denominator: int,
    *,
    curve_points: int = 100,
) -> Funnel:
    """A funnel (pure): departments with a denominator of 0 have no point."""
    if national_denominator <= 0:
        raise ValueError("the national denominator must be positive")
    p0 = national_numerator / national_denominator
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    keep = n > 0
    funnel = Funnel(p0, int(national_numerator), int(national_denominator))
    if keep.any():
        limits = stats.funnel_limits(p0, n[keep], LEVELS)
        positions = stats.funnel_position(x[keep], n[keep], p0, LEVELS)
        for j, i in enumerate(np.flatnonzero(keep)):
            funnel.points.append(
                FunnelPoint(
                    key=keys[i],
                    numerator=int(x[i]),
                    denominator=int(n[i]),
                    value=float(x[i] / n[i]),
                    position=str(positions[j]),
                    limits={
                        lv: (float(limits[lv][0][j]), float(limits[lv][1][j])) for lv in LEVELS
                    },
                )
            )
    largest = int(n.max()) if n.size else 1
    curve_n = curve_denominators(largest, curve_points)
    along = stats.funnel_limits(p0, curve_n, LEVELS)
    funnel.curve_n = curve_n.tolist()
    funnel.curve = {lv: (along[lv][0].tolist(), along[lv][1].tolist()) for lv in LEVELS}
    return funnel


def build_funnel(
    definition, period_type: str, period_start: dt.date, *, computation=None
) -> Funnel | None:
    """The funnel of a proportion in one period from the current results (None: no results)."""
    from indicators.services.selectors import current_results

    if definition.kind != "proportion":
        raise ValueError("a funnel plot needs a proportion / et tragtplot kræver en andel")
    results = list(
        current_results(
            registry=definition.profile,
            computation=computation,
            definition=definition,
            period_type=period_type,
            period_start=period_start,
        ).select_related("department")
    )
    national = next((r for r in results if r.department_id is None), None)
    if national is None or national.denominator == 0:
        return None
    departments = sorted(
        (r for r in results if r.department_id is not None), key=lambda r: r.department.code
    )
    funnel = funnel_from_counts(
        [r.department for r in departments],
        [r.numerator for r in departments],
        [r.denominator for r in departments],
        national.numerator,
        national.denominator,
    )
    funnel.period_type, funnel.period_start = period_type, period_start
    return funnel
