"""Statistics behind the indicators: intervals, target verdicts, SPC charts, funnel limits.

Pure functions over numbers, numpy arrays and pandas Series. Nothing here knows about Django,
the registry or the database, so it can be tested and reused on its own.

The SPC part reproduces qicharts2 0.8.1 (Anhøj's R package) for run charts and p-charts; the
reference values are in ``tests/fixtures/spc-examples.json``. Binomial probabilities are
computed here with numpy/math (no scipy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

Z95 = 1.959963984540054

__all__ = [
    "Z95",
    "PhaseSummary",
    "RunsAnalysis",
    "SpcChart",
    "anhoej_limits",
    "funnel_limits",
    "funnel_position",
    "median_interval",
    "median_interval_ranks",
    "proportion",
    "quartiles",
    "runs_analysis",
    "spc_chart",
    "target_status",
    "wilson_interval",
]


def _as_float(x: Any) -> np.ndarray:
    """Float array from a scalar, list, numpy array or pandas object; missing values -> NaN."""
    if hasattr(x, "to_numpy"):  # pandas Series/Index/extension arrays, incl. nullable Int64
        return x.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(x, dtype=float)


def _check_counts(numerator: np.ndarray, denominator: np.ndarray) -> None:
    # NaN compares False, so missing values pass; they turn into NaN results instead.
    if np.any(denominator < 0) or np.any(numerator < 0) or np.any(numerator > denominator):
        raise ValueError("counts must satisfy 0 <= numerator <= denominator")


# --- proportions and intervals ---------------------------------------------------------------


def proportion(numerator: Any, denominator: Any) -> np.ndarray:
    """numerator / denominator as floats; NaN where the denominator is 0 (or missing)."""
    x, n = np.broadcast_arrays(_as_float(numerator), _as_float(denominator))
    _check_counts(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, x / n, np.nan)


def wilson_interval(
    numerator: Any, denominator: Any, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (low, high) for x/n, elementwise; NaN where n is 0 or missing.

    Scalars give 0-d arrays (``float(low)`` works). Computed as
    ``((x + z²/2) ± z·sqrt(x(n-x)/n + z²/4)) / (n + z²)``, the cancellation-free form.
    """
    x, n = np.broadcast_arrays(_as_float(numerator), _as_float(denominator))
    _check_counts(x, n)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (x + z2 / 2) / (n + z2)
        half = z / (n + z2) * np.sqrt(x * (n - x) / n + z2 / 4)
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # At x = 0 (x = n) the bound is exactly 0 (1); rounding could otherwise leave ±1e-17.
    low = np.where(x == 0, 0.0, low)
    high = np.where(x == n, 1.0, high)
    ok = n > 0
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def quartiles(values: Any) -> tuple[float, float, float]:
    """(q1, median, q3) ignoring NaN; NaN x3 for an empty sample.

    Quartiles are numpy's ``method="linear"`` (= R's default type 7); the median is the middle
    value, or the mean of the two middle values for an even count (exactly, as ``np.median``).
    """
    v = _as_float(values).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    q1, q3 = np.quantile(v, [0.25, 0.75], method="linear")
    return (float(q1), float(np.median(v)), float(q3))


def _binom_pmf(n: int, p: float) -> tuple[int, np.ndarray]:
    """(lo, pmf) with pmf[i] = P(X = lo + i), X ~ Binomial(n, p), 0 < p < 1.

    The window mode ± (40 sd + 40) holds all but a negligible (< 1e-20) part of the mass, so
    the cost is O(sqrt(n)). Probabilities come from the ratio pmf(k)/pmf(k-1) = (n-k+1)p/(kq)
    summed in logs outward from the mode (small rounding where the mass is) and are normalised
    at the end, which makes log-gamma unnecessary.
    """
    q = 1.0 - p
    mode = min(int((n + 1) * p), n)
    spread = int(40 * math.sqrt(n * p * q)) + 40
    lo, hi = max(0, mode - spread), min(n, mode + spread)
    up = np.arange(mode + 1, hi + 1, dtype=float)
    down = np.arange(mode, lo, -1, dtype=float)  # pmf(k-1)/pmf(k) for k = mode .. lo+1
    log_up = np.cumsum(np.log((n - up + 1) * p) - np.log(up * q))
    log_down = np.cumsum(np.log(down * q) - np.log((n - down + 1) * p))
    pmf = np.exp(np.concatenate([log_down[::-1], [0.0], log_up]))
    return lo, pmf / pmf.sum()


@lru_cache(maxsize=8192)
def _median_ranks(n: int, level: float) -> tuple[int, int]:
    if n < 1:
        return (0, 0)
    lo, pmf = _binom_pmf(n, 0.5)
    # [x_(j), x_(n+1-j)] covers the median with probability 1 - 2·F(j-1), F the Binomial(n, ½)
    # cdf; j is the largest rank keeping that >= level. The 1e-12 slack keeps float rounding
    # from ever picking a rank whose exact coverage is a hair below the level.
    j = lo + int(np.count_nonzero(2 * np.cumsum(pmf) <= (1 - level) * (1 - 1e-12)))
    return (j, n + 1 - j) if j >= 1 else (0, 0)


def median_interval_ranks(n: Any, level: float = 0.95) -> tuple[Any, Any]:
    """1-based ranks (j, k) of the order statistics bounding the median's confidence interval.

    The classic distribution-free interval: with B ~ Binomial(n, 1/2), j is the largest rank
    with ``1 - 2·P(B <= j-1) >= level`` and k = n + 1 - j, so [x_(j), x_(k)] covers the
    population median with probability >= level (more with ties, as the interval is closed).
    (0, 0) when no pair of order statistics reaches the level (n <= 5 at 95%) or n = 0.
    Ints for a scalar n; int arrays, elementwise, for an array of n (one computation per
    distinct n), so an engine can pick order statistics per group from sorted values.
    """
    arr = np.asarray(n)
    if arr.ndim == 0:
        return _median_ranks(int(arr), float(level))
    uniq, inverse = np.unique(arr.astype(int).ravel(), return_inverse=True)
    pairs = np.array([_median_ranks(int(u), float(level)) for u in uniq], dtype=int)
    pairs = pairs.reshape(-1, 2)[inverse]
    return pairs[:, 0].reshape(arr.shape), pairs[:, 1].reshape(arr.shape)


def median_interval(values: Any, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval (x_(j), x_(k)) for the median; see
    :func:`median_interval_ranks` for the ranks. NaN values are ignored; (NaN, NaN) for an
    empty sample or one too small to reach the level (n <= 5 at 95%)."""
    v = _as_float(values).ravel()
    v = np.sort(v[~np.isnan(v)])
    j, k = _median_ranks(v.size, float(level))
    if j == 0:
        return (math.nan, math.nan)
    return (float(v[j - 1]), float(v[k - 1]))


def target_status(ci_low: Any, ci_high: Any, target: Any, lower_is_better: Any) -> np.ndarray:
    """Verdict per interval against a target (indicators.md), elementwise (object array).

    "met": the interval lies wholly on the good side of the target; "not_met": wholly on the
    bad side; "not_shown": otherwise ("not shown to differ"). "Wholly" is strict: a bound equal
    to the target gives "not_shown". None where the target is None/NaN or a bound is NaN.
    """
    low, high, t, lower = np.broadcast_arrays(
        _as_float(ci_low), _as_float(ci_high), _as_float(target), np.asarray(lower_is_better)
    )
    lower = lower.astype(bool)
    wholly_above, wholly_below = low > t, high < t
    met = np.where(lower, wholly_below, wholly_above)
    not_met = np.where(lower, wholly_above, wholly_below)
    out = np.full(low.shape, "not_shown", dtype=object)
    out[met] = "met"
    out[not_met] = "not_met"
    out[np.isnan(low) | np.isnan(high) | np.isnan(t)] = None
    return out


# --- funnel plots ------------------------------------------------------------------------------


def _binom_limit(n: int, p0: float, tail: float, upper: bool) -> float:
    """Spiegelhalter's interpolated binomial limit with ``tail`` probability beyond it."""
    lo, pmf = _binom_pmf(n, p0)
    if upper:
        # r = smallest with F(r) >= 1 - tail, i.e. P(X > r) <= tail. Using the upper tail
        # avoids F's rounding near 1: F(r) - (1 - tail) = tail - P(X > r).
        beyond = np.append(np.cumsum(pmf[::-1])[::-1][1:], 0.0)  # P(X > lo + i)
        i = int(np.argmax(beyond <= tail))
        excess = tail - beyond[i]
    else:
        cdf = np.cumsum(pmf)
        i = int(np.argmax(cdf >= tail))
        excess = cdf[i] - tail
    alpha = excess / pmf[i]
    return (lo + i - alpha) / n


def funnel_limits(
    p0: float, denominators: Any, levels: tuple[float, ...] = (0.95, 0.998)
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Funnel-plot control limits {level: (lower, upper)} around p0 for each denominator n.

    Exact binomial limits with the interpolation of Spiegelhalter (2005, "Funnel plots for
    comparing institutional performance", Stat Med 24:1185-1202, appendix A.1.1): for a tail
    probability p ((1 - level)/2 below, 1 - (1 - level)/2 above), r_p is the p-quantile of
    Binomial(n, p0) (the smallest r with F(r) >= p), alpha = (F(r_p) - p) / (F(r_p) -
    F(r_p - 1)), and the limit is (r_p - alpha) / n, clipped to [0, 1]. Limits are NaN where
    n is 0 or missing, or p0 is NaN; p0 = 0 or 1 gives degenerate limits equal to p0.
    Cost is O(sqrt(n)) per distinct n.
    """
    n_arr = _as_float(denominators)
    if not math.isnan(p0) and not 0.0 <= p0 <= 1.0:
        raise ValueError("p0 must be a proportion in [0, 1]")
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    flat = n_arr.ravel()
    ok = (flat > 0) & (not math.isnan(p0))
    uniq, inverse = np.unique(np.rint(flat[ok]).astype(int), return_inverse=True)
    for level in levels:
        tail = (1.0 - level) / 2
        lower, upper = np.full(flat.shape, np.nan), np.full(flat.shape, np.nan)
        if 0.0 < p0 < 1.0:
            lo = [_binom_limit(int(n), p0, tail, upper=False) for n in uniq]
            hi = [_binom_limit(int(n), p0, tail, upper=True) for n in uniq]
            lower[ok] = np.clip(np.asarray(lo, dtype=float)[inverse], 0.0, 1.0)
            upper[ok] = np.clip(np.asarray(hi, dtype=float)[inverse], 0.0, 1.0)
        else:
            lower[ok] = upper[ok] = p0
        out[level] = (lower.reshape(n_arr.shape), upper.reshape(n_arr.shape))
    return out


def _level_tag(level: float) -> str:
    return f"{level * 100:g}".replace(".", "")  # 0.95 -> "95", 0.998 -> "998"


def funnel_position(
    numerator: Any, denominator: Any, p0: float, levels: tuple[float, ...] = (0.95, 0.998)
) -> np.ndarray:
    """Where each proportion lies in the funnel around p0 (object array).

    "above_998" / "below_998": strictly outside the 99.8% limits; "above_95" / "below_95":
    strictly outside the 95% but not the 99.8% limits (tags follow ``levels``: level x 100
    without the dot); "within": otherwise, a point on a limit included. None where the
    denominator is 0.
    """
    value = proportion(numerator, denominator)
    n = np.broadcast_to(_as_float(denominator), value.shape)
    x = np.broadcast_to(_as_float(numerator), value.shape)
    limits = funnel_limits(p0, n, levels)
    # At the very edge (all of n, or none) the interpolated limit can lie a hair inside 100 %
    # (or 0 %) although the count is not unlikely at all: 3 of 3 where 85 % is usual happens
    # 61 % of the time. Such a point is outside only if it is that unlikely: P(X = n) (or
    # P(X = 0)) below the limit's tail. Every other point is judged by the limits alone.
    with np.errstate(invalid="ignore", divide="ignore"):
        all_of_n = (x == n) & (n > 0)
        none_of_n = (x == 0) & (n > 0)
        p_all = np.where(all_of_n, np.power(p0, n), 1.0) if 0 < p0 < 1 else np.ones(x.shape)
        p_none = np.where(none_of_n, np.power(1 - p0, n), 1.0) if 0 < p0 < 1 else np.ones(x.shape)
    out = np.full(value.shape, "within", dtype=object)
    for level in sorted(levels):  # widest last, so it overrides the narrower verdict
        lower, upper = limits[level]
        tail = (1.0 - level) / 2
        out[(value > upper) & ~(all_of_n & (p_all >= tail))] = f"above_{_level_tag(level)}"
        out[(value < lower) & ~(none_of_n & (p_none >= tail))] = f"below_{_level_tag(level)}"
    out[np.isnan(value)] = None
    return out


# --- statistical process control (qicharts2-compatible) ----------------------------------------


@lru_cache(maxsize=4096)
def _crossings_min(n_useful: int) -> int:
    # R's qbinom(0.05, n - 1, 0.5): the smallest c with P(X <= c) >= 0.05, in exact integer
    # arithmetic (P(X <= c) = sum C(m, i) / 2^m is never exactly 1/20, so no fuzz is needed).
    m = n_useful - 1
    cum, term, c = 0, 1, 0
    while True:
        cum += term
        if 20 * cum >= 2**m:
            return c
        term = term * (m - c) // (c + 1)
        c += 1


def _anhoej_one(n: int) -> tuple[int, int]:
    if n < 1:
        return (0, 0)
    # qicharts2: round(log2(n)) + 3. log2 of an integer is never exactly x.5, so R's
    # half-to-even rounding and half-up rounding agree.
    return (math.floor(math.log2(n) + 0.5) + 3, _crossings_min(n))


def anhoej_limits(n_useful: Any) -> tuple[Any, Any]:
    """(longest_run_max, n_crossings_min) of the Anhøj rules for ``n_useful`` useful points.

    longest_run_max = round(log2(n) + 3); n_crossings_min = qbinom(0.05, n - 1, 0.5). A signal
    is longest_run > longest_run_max or n_crossings < n_crossings_min. Small n follow the same
    formulas, and no signal is possible below 6 points: n = 1 -> (3, 0), n = 2 -> (4, 0).
    n = 0 (nothing to analyse; qicharts2 reports NA) -> (0, 0), which cannot signal either.
    Ints for a scalar; int arrays, elementwise, for an array.
    """
    arr = np.asarray(n_useful)
    if arr.ndim == 0:
        return _anhoej_one(int(arr))
    pairs = np.array([_anhoej_one(int(v)) for v in arr.ravel()], dtype=int).reshape(-1, 2)
    return pairs[:, 0].reshape(arr.shape), pairs[:, 1].reshape(arr.shape)


@dataclass(frozen=True)
class RunsAnalysis:
    n_useful: int  # points not on the centre line (and not missing)
    longest_run: int
    longest_run_max: int
    n_crossings: int
    n_crossings_min: int
    runs_signal: bool


def runs_analysis(values: Any, centre: float) -> RunsAnalysis:
    """Anhøj runs analysis of ``values`` around ``centre``.

    As qicharts2: points exactly on the centre (and NaN) are dropped before counting runs, so a
    run continues across them and they never make a crossing.
    """
    with np.errstate(invalid="ignore"):
        side = np.sign(_as_float(values).ravel() - centre)
    side = side[(side != 0) & ~np.isnan(side)]
    n = int(side.size)
    run_max, crossings_min = _anhoej_one(n)
    if n == 0:
        return RunsAnalysis(0, 0, run_max, 0, crossings_min, False)
    changes = np.flatnonzero(side[1:] != side[:-1])
    run_lengths = np.diff(np.concatenate(([0], changes + 1, [n])))
    longest, crossings = int(run_lengths.max()), int(changes.size)
    signal = longest > run_max or crossings < crossings_min
    return RunsAnalysis(n, longest, run_max, crossings, crossings_min, bool(signal))


@dataclass(frozen=True)
class PhaseSummary:
    start: int  # 0-based index of the phase's first point
    cl: float
    runs: RunsAnalysis


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays has no single truth value
class SpcChart:
    chart: str  # "run" or "p"
    value: np.ndarray  # y per point (NaN when the denominator is 0)
    cl: np.ndarray
    lcl: np.ndarray  # all NaN for run charts, and NaN at points without a value
    ucl: np.ndarray
    sigma_signal: np.ndarray  # bool: strictly outside the limits
    phase: np.ndarray  # 0-based phase number per point
    phases: list[PhaseSummary]


def _phase_bounds(size: int, splits: Any) -> list[tuple[int, int]]:
    edges = [0, *(int(s) for s in (() if splits is None else splits)), size]
    if any(b <= a for a, b in pairwise(edges)):
        raise ValueError("splits must be strictly increasing, each 0 < split < number of points")
    return list(pairwise(edges))


def spc_chart(
    numerator: Any,
    denominator: Any,
    chart: str = "p",
    splits: Any = (),
    freeze: int | None = None,
) -> SpcChart:
    """Run chart or p-chart with phases, as qicharts2 0.8.1 computes them.

    y = numerator / denominator (NaN where the denominator is 0: such points are left out of
    the centre, the limits and the runs analysis). Per phase, over its baseline points:
    run chart centre = median of y; p-chart centre = pooled sum(numerator) / sum(denominator),
    limits centre ± 3·sqrt(centre(1 - centre)/n_i) clipped to [0, 1]. sigma_signal marks
    points strictly outside the limits. The runs analysis covers every point of the phase,
    around the phase's own centre line.

    ``splits``: 0-based indices where a new phase begins (strictly increasing, 0 < i < len);
    qicharts2's ``part = k`` is ``splits=(k,)``. ``freeze``: the first ``freeze`` points of the
    series are the baseline of the first phase. qicharts2 ignores freeze when part is given;
    here it still limits the first phase's baseline (a freeze reaching past the first phase
    just means all of it) and later phases use all their own points.
    """
    if chart not in ("run", "p"):
        raise ValueError(f"unknown chart type {chart!r}; expected 'run' or 'p'")
    if freeze is not None and freeze < 1:
        raise ValueError("freeze must be a positive number of points")
    x, n = _as_float(numerator).ravel(), _as_float(denominator).ravel()
    if x.shape != n.shape:
        raise ValueError("numerator and denominator must have the same length")
    value = proportion(x, n)
    size = value.size
    valid = ~np.isnan(value)
    cl, lcl, ucl = np.full(size, np.nan), np.full(size, np.nan), np.full(size, np.nan)
    phase = np.zeros(size, dtype=int)
    phases: list[PhaseSummary] = []
    bounds = _phase_bounds(size, splits) if size else []
    baseline = valid.copy()
    if freeze is not None and bounds:
        baseline[min(freeze, bounds[0][1]) : bounds[0][1]] = False
    for k, (start, end) in enumerate(bounds):
        part, base = slice(start, end), baseline[start:end]
        phase[part] = k
        if chart == "run":
            centre = float(np.median(value[part][base])) if base.any() else math.nan
        else:
            pooled_n = n[part][base].sum()
            centre = float(x[part][base].sum() / pooled_n) if pooled_n > 0 else math.nan
            with np.errstate(divide="ignore", invalid="ignore"):
                sd = np.sqrt(centre * (1 - centre) / n[part])
            ucl[part] = np.where(valid[part], np.minimum(centre + 3 * sd, 1.0), np.nan)
            lcl[part] = np.where(valid[part], np.maximum(centre - 3 * sd, 0.0), np.nan)
        cl[part] = centre
        phases.append(PhaseSummary(start, centre, runs_analysis(value[part], centre)))
    sigma_signal = (value > ucl) | (value < lcl)  # NaN compares False: no signal
    return SpcChart(chart, value, cl, lcl, ucl, sigma_signal, phase, phases)
