"""Tests for indicators.stats: the numbers every chart, table and verdict rests on.

Pure tests (no Django): run with ``pytest -p no:django tests/indicators/test_stats.py``.
"""

import ast
import json
import math
import sys
from fractions import Fraction
from itertools import accumulate
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators import stats

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "spc-examples.json"
REFERENCE = json.loads(FIXTURE.read_text())
TOL = 1e-9  # the reference has 12 decimals


def _nan(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _chart_for(series):
    splits = (series["part"],) if series["part"] else ()
    return stats.spc_chart(
        series["numerator"],
        series["denominator"],
        chart=series["chart"],
        splits=splits,
        freeze=series["freeze"],
    )


def _by_name(name, chart):
    return next(s for s in REFERENCE if s["name"] == name and s["chart"] == chart)


# --- the module stays pure --------------------------------------------------------------------


def test_module_imports_only_stdlib_numpy_and_pandas():
    tree = ast.parse(Path(stats.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative (project) imports"
            roots.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"numpy", "pandas"}
    assert roots <= allowed, roots - allowed


# --- SPC against qicharts2 0.8.1 ----------------------------------------------------------------


@pytest.mark.parametrize("series", REFERENCE, ids=lambda s: f"{s['name']}-{s['chart']}")
def test_spc_points_match_qicharts2(series):
    chart = _chart_for(series)
    np.testing.assert_allclose(chart.cl, _nan(series["cl"]), rtol=0, atol=TOL)
    np.testing.assert_allclose(chart.lcl, _nan(series["lcl"]), rtol=0, atol=TOL)
    np.testing.assert_allclose(chart.ucl, _nan(series["ucl"]), rtol=0, atol=TOL)
    assert chart.sigma_signal.tolist() == series["sigma_signal"]
    expected_y = np.array(series["numerator"]) / np.array(series["denominator"])
    np.testing.assert_allclose(chart.value, expected_y, rtol=0, atol=TOL)


@pytest.mark.parametrize("series", REFERENCE, ids=lambda s: f"{s['name']}-{s['chart']}")
def test_spc_phases_match_qicharts2(series):
    chart = _chart_for(series)
    expected = series["phases"]
    assert len(chart.phases) == len(expected["cl"])
    for i, phase in enumerate(chart.phases):
        assert phase.cl == pytest.approx(expected["cl"][i], abs=TOL)
        runs = phase.runs
        assert runs.n_useful == expected["n_useful"][i]
        assert runs.longest_run == expected["longest_run"][i]
        assert runs.longest_run_max == expected["longest_run_max"][i]
        assert runs.n_crossings == expected["n_crossings"][i]
        assert runs.n_crossings_min == expected["n_crossings_min"][i]
        assert runs.runs_signal is expected["runs_signal"][i]
    starts = [0] + ([series["part"]] if series["part"] else [])
    assert [p.start for p in chart.phases] == starts
    assert chart.phase.tolist() == [sum(i >= s for s in starts) - 1 for i in range(len(chart.cl))]


def test_freeze_counts_baseline_points_from_the_start():
    series = _by_name("freeze_12", "p")
    chart = _chart_for(series)
    first12 = sum(series["numerator"][:12]) / sum(series["denominator"][:12])
    assert chart.phases[0].cl == pytest.approx(first12, abs=1e-15)
    assert chart.phases[0].runs.n_useful == 20  # the runs analysis still covers every point


def test_run_chart_median_zero_leaves_points_on_the_median_out():
    chart = _chart_for(_by_name("small_counts_many_zero", "run"))
    assert chart.phases[0].cl == 0
    assert chart.phases[0].runs.n_useful == int(np.count_nonzero(chart.value))


def test_sigma_signal_only_strictly_outside_limits():
    # Zero proportions sit exactly on a lower limit clipped to 0 and are not signals.
    chart = _chart_for(_by_name("small_counts_many_zero", "p"))
    assert np.any((chart.value == 0) & (chart.lcl == 0))
    assert not chart.sigma_signal.any()


def test_point_equal_to_pooled_centre_is_not_useful():
    # 7/42 and 3/18 equal the pooled 1/6 exactly: two of the 30 points are not useful.
    chart = _chart_for(_by_name("shift_no_split", "p"))
    assert np.count_nonzero(chart.value == chart.cl) == 2
    assert chart.phases[0].runs.n_useful == 28


def test_spc_chart_zero_denominator_is_left_out():
    num, den = [1, 2, 0, 3, 2], [10, 10, 0, 10, 10]
    p = stats.spc_chart(num, den, chart="p")
    assert np.isnan(p.value[2]) and np.isnan(p.lcl[2]) and np.isnan(p.ucl[2])
    assert p.cl[2] == pytest.approx(0.2)
    assert not p.sigma_signal[2]
    assert p.phases[0].cl == pytest.approx(8 / 40)
    run = stats.spc_chart(num, den, chart="run")
    assert run.phases[0].cl == pytest.approx(0.2)  # median of 0.1, 0.2, 0.3, 0.2
    assert run.phases[0].runs.n_useful == 2  # 0.1 below, 0.3 above; 0.2s on the median
    assert np.isnan(run.lcl).all() and np.isnan(run.ucl).all()


def test_spc_chart_phase_without_any_denominator():
    chart = stats.spc_chart([1, 2, 0, 0], [10, 10, 0, 0], chart="p", splits=(2,))
    assert math.isnan(chart.phases[1].cl)
    assert chart.phases[1].runs.n_useful == 0
    assert chart.phases[1].runs.runs_signal is False
    assert not chart.sigma_signal.any()


def test_spc_chart_accepts_pandas_and_empty_input():
    chart = stats.spc_chart(pd.Series([1, 2, 3]), pd.Series([10, 10, 10]), chart="run")
    assert chart.cl.tolist() == pytest.approx([0.2, 0.2, 0.2])
    empty = stats.spc_chart([], [], chart="p")
    assert empty.value.size == 0 and empty.phases == []


def test_freeze_with_splits_limits_only_the_first_phase():
    num = [1, 3, 5, 7, 2, 4, 6]
    den = [10] * 7
    chart = stats.spc_chart(num, den, chart="run", splits=(4,), freeze=2)
    assert chart.phases[0].cl == pytest.approx(0.2)  # median of the first two points
    assert chart.phases[1].cl == pytest.approx(0.4)  # all of phase 2
    assert chart.phases[0].runs.n_useful == 4


@pytest.mark.parametrize("splits", [(0,), (5,), (3, 3), (4, 2)])
def test_spc_chart_rejects_bad_splits(splits):
    with pytest.raises(ValueError, match="splits"):
        stats.spc_chart([1] * 5, [2] * 5, splits=splits)


def test_spc_chart_rejects_unknown_chart_and_bad_counts():
    with pytest.raises(ValueError):
        stats.spc_chart([1], [2], chart="u")
    with pytest.raises(ValueError):
        stats.spc_chart([3], [2])
    with pytest.raises(ValueError):
        stats.spc_chart([1], [2], freeze=0)


# --- Anhøj rules ------------------------------------------------------------------------------


def _qbinom_05(size):
    """R's qbinom(0.05, size, 0.5): smallest c with P(X <= c) >= 0.05, exactly."""
    cdf = accumulate(Fraction(math.comb(size, i), 2**size) for i in range(size + 1))
    return next(c for c, value in enumerate(cdf) if value >= Fraction(1, 20))


# Published Anhøj critical values for the longest run (upper limit), n = 10..100.
PUBLISHED_RUN_MAX = {n: 6 for n in range(10, 12)}
PUBLISHED_RUN_MAX |= {n: 7 for n in range(12, 23)}
PUBLISHED_RUN_MAX |= {n: 8 for n in range(23, 46)}
PUBLISHED_RUN_MAX |= {n: 9 for n in range(46, 91)}
PUBLISHED_RUN_MAX |= {n: 10 for n in range(91, 101)}
# qbinom values R gave in the reference data (n_useful: n_crossings_min), plus the low end of
# the published table.
R_CROSSINGS_MIN = {10: 2, 11: 2, 12: 3, 13: 3, 14: 4, 15: 4, 20: 6, 22: 7, 24: 8, 28: 9, 30: 10}
R_CROSSINGS_MIN |= {36: 13}


@pytest.mark.parametrize("n", range(10, 101))
def test_anhoej_limits_match_published_table_and_exact_binomial(n):
    assert stats.anhoej_limits(n) == (PUBLISHED_RUN_MAX[n], _qbinom_05(n - 1))


def test_anhoej_crossings_match_r_values():
    for n, expected in R_CROSSINGS_MIN.items():
        assert stats.anhoej_limits(n)[1] == expected


def test_anhoej_limits_small_n_cannot_signal():
    assert stats.anhoej_limits(0) == (0, 0)
    assert stats.anhoej_limits(1) == (3, 0)
    assert stats.anhoej_limits(2) == (4, 0)
    for n in range(6):  # no run of n points exceeds the limit, no count of crossings is short
        run_max, crossings_min = stats.anhoej_limits(n)
        assert run_max >= n and crossings_min == 0
    assert stats.anhoej_limits(6)[1] == 1  # 6 points and no crossing is a signal


def test_anhoej_limits_vectorised():
    runs, crossings = stats.anhoej_limits(np.array([10, 24, 0]))
    assert runs.tolist() == [6, 8, 0] and crossings.tolist() == [2, 8, 0]


def test_runs_analysis_long_run_signals():
    values = [1] * 8 + [-1, 1, -1, 1]
    result = stats.runs_analysis(values, 0.0)
    assert result == stats.RunsAnalysis(12, 8, 7, 4, 3, True)


def test_runs_analysis_skips_points_on_the_centre_and_missing():
    # A run continues across a point on the centre; such points never make a crossing.
    result = stats.runs_analysis([1, 0, 1, np.nan, -1, 0, -1], 0.0)
    assert (result.n_useful, result.longest_run, result.n_crossings) == (4, 2, 1)
    assert result.runs_signal is False


def test_runs_analysis_few_crossings_signal():
    values = [2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7]  # 14 points, 1 crossing
    result = stats.runs_analysis(values, 0.0)
    assert (result.longest_run, result.n_crossings, result.n_crossings_min) == (7, 1, 4)
    assert result.runs_signal is True


def test_runs_analysis_without_useful_points():
    assert stats.runs_analysis([1.0, 1.0], 1.0) == stats.RunsAnalysis(0, 0, 0, 0, 0, False)
    assert stats.runs_analysis([1.0, 2.0], math.nan).n_useful == 0


@settings(deadline=None)
@given(st.lists(st.sampled_from([-1.0, 0.0, 1.0, math.nan]), max_size=60))
def test_runs_analysis_matches_a_plain_loop(values):
    useful = [v for v in values if not math.isnan(v) and v != 0]
    runs = []
    for v in useful:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    result = stats.runs_analysis(values, 0.0)
    assert result.n_useful == len(useful)
    assert result.longest_run == max((length for _, length in runs), default=0)
    assert result.n_crossings == max(len(runs) - 1, 0)


# --- proportions and Wilson -----------------------------------------------------------------


def _wilson_closed_form(x, n, z=stats.Z95):
    # Textbook form, written independently of the module's algebra.
    root = z * math.sqrt(z * z + 4 * x * (n - x) / n)
    return ((2 * x + z * z - root) / (2 * (n + z * z)), (2 * x + z * z + root) / (2 * (n + z * z)))


@pytest.mark.parametrize(
    ("x", "n", "expected"),
    [
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (5, 10, (0.2366, 0.7634)),
        (1, 4, (0.0456, 0.6994)),
        # Newcombe (1998, Stat Med 17:857-872) worked examples, score method.
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_known_values(x, n, expected):
    low, high = stats.wilson_interval(x, n)
    assert (float(low), float(high)) == pytest.approx(_wilson_closed_form(x, n), abs=1e-12)
    assert (round(float(low), 4), round(float(high), 4)) == expected


def test_wilson_vectorised_pandas_and_zero_denominator():
    num = pd.Series([1, 0, None, 3], dtype="Int64")
    den = pd.Series([4, 0, 5, 3], dtype="Int64")
    low, high = stats.wilson_interval(num, den)
    assert low.shape == (4,)
    assert np.isnan(low[1]) and np.isnan(high[1])  # 0 / 0
    assert np.isnan(low[2]) and np.isnan(high[2])  # missing numerator
    assert high[3] == 1.0 and low[0] == pytest.approx(0.04558726, abs=1e-8)
    assert np.isnan(stats.wilson_interval(0, 0)[0])


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        stats.wilson_interval(5, 4)
    with pytest.raises(ValueError):
        stats.wilson_interval(-1, 4)


@given(st.integers(1, 10**7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_brackets_the_proportion(xn):
    x, n = xn
    low, high = (float(b) for b in stats.wilson_interval(x, n))
    assert 0.0 <= low <= x / n <= high <= 1.0


def test_proportion_nan_for_zero_denominator():
    result = stats.proportion([1, 0, 3], [4, 0, 3])
    assert result[0] == 0.25 and np.isnan(result[1]) and result[2] == 1.0


# --- median interval and quartiles ---------------------------------------------------------------


def _coverage(n, j, k):
    """Exact P(x_(j) <= median <= x_(k)) = P(j <= B <= k - 1), B ~ Binomial(n, 1/2)."""
    return Fraction(sum(math.comb(n, i) for i in range(j, k)), 2**n)


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_median_interval_ranks_cover_the_level_and_are_the_narrowest(level):
    ns = np.arange(0, 301)
    js, ks = stats.median_interval_ranks(ns, level)
    for n, j, k in zip(ns.tolist(), js.tolist(), ks.tolist(), strict=True):
        if j == 0:  # too few values: even (x_(1), x_(n)) misses the level
            assert k == 0
            assert n == 0 or _coverage(n, 1, n) < level
            continue
        assert k == n + 1 - j
        assert _coverage(n, j, k) >= level
        assert j + 1 > k - 1 or _coverage(n, j + 1, k - 1) < level
        assert stats.median_interval_ranks(n, level) == (j, k)


def _lgamma_cdf(n, p):
    """Binomial(n, p) cdf over 0..n from log-gamma, independent of the module's window."""
    log_p, log_q = math.log(p), math.log1p(-p)
    const = math.lgamma(n + 1)
    pmf = (
        math.exp(const - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        for k in range(n + 1)
    )
    return list(accumulate(pmf))


@pytest.mark.parametrize("n", [2000, 5001, 20000])
def test_median_interval_ranks_large_n(n):
    j, k = stats.median_interval_ranks(n)
    cdf = _lgamma_cdf(n, 0.5)
    assert k == n + 1 - j
    assert 1 - 2 * cdf[j - 1] >= 0.95 > 1 - 2 * cdf[j]  # coverage 1 - 2F(j-1), j maximal


def test_median_interval_hand_example():
    # n = 10: ranks 2 and 9 (coverage 1 - 2 * 11/1024 = 97.9%; ranks 3 and 8 give 89.1%).
    values = [9, 1, 8, 2, 7, 3, 6, 4, 5, 10, np.nan]
    assert stats.median_interval(values) == (2.0, 9.0)
    assert stats.median_interval_ranks(10) == (2, 9)
    lo, hi = stats.median_interval_ranks(100000)
    assert lo + hi == 100001 and 49680 < lo < 49700


def test_median_interval_small_or_empty_sample():
    assert all(math.isnan(v) for v in stats.median_interval([]))
    assert all(math.isnan(v) for v in stats.median_interval([1, 2, 3, 4, 5]))
    assert stats.median_interval([1, 2, 3, 4, 5, 6]) == (1.0, 6.0)  # 1 - 2/64 = 96.9%


def test_quartiles_definition():
    assert stats.quartiles([4, 1, 3, 2]) == (1.75, 2.5, 3.25)  # R type 7; mean of middle two
    assert stats.quartiles([1, 2, 3, 4, 100, np.nan]) == (2.0, 3.0, 4.0)
    assert stats.quartiles(pd.Series([0.1, 0.2]))[1] == (0.1 + 0.2) / 2
    assert all(math.isnan(v) for v in stats.quartiles([]))


# --- funnel limits ----------------------------------------------------------------------------


def _brute_funnel(p0, n, level):
    """Spiegelhalter's interpolated limits from an exact rational binomial cdf."""
    p = Fraction(p0)
    cdf = list(accumulate(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)))
    tail = Fraction(1 - level) / 2
    limits = []
    for prob in (tail, 1 - tail):
        r = next(k for k, value in enumerate(cdf) if value >= prob)
        below = cdf[r - 1] if r else 0
        alpha = (cdf[r] - prob) / (cdf[r] - below)
        limits.append(min(max(float((r - alpha) / n), 0.0), 1.0))
    return tuple(limits)


@pytest.mark.parametrize(
    ("p0", "n"),
    [(0.1, 1), (0.1, 20), (0.1, 100), (0.03, 250), (0.5, 37), (0.9, 50), (0.25, 400)],
)
@pytest.mark.parametrize("level", [0.95, 0.998])
def test_funnel_limits_match_brute_force(p0, n, level):
    lower, upper = stats.funnel_limits(p0, [n], levels=(level,))[level]
    assert (lower[0], upper[0]) == pytest.approx(_brute_funnel(p0, n, level), abs=1e-9)


@pytest.mark.parametrize(("p0", "n"), [(0.05, 20000), (0.5, 30000), (0.002, 5000)])
def test_funnel_limits_large_n_match_lgamma_brute_force(p0, n):
    cdf = _lgamma_cdf(n, p0)
    for level, (lower, upper) in stats.funnel_limits(p0, [n]).items():
        tail = (1 - level) / 2
        expected = []
        for prob in (tail, 1 - tail):
            r = next(k for k, value in enumerate(cdf) if value >= prob)
            alpha = (cdf[r] - prob) / (cdf[r] - (cdf[r - 1] if r else 0.0))
            expected.append(min(max((r - alpha) / n, 0.0), 1.0))
        assert (lower[0], upper[0]) == pytest.approx(expected, abs=1e-9)


def test_funnel_limits_funnel_shape_and_range():
    ns = np.array([10, 30, 100, 300, 1000, 3000, 10000, 30000])
    for p0 in (0.05, 0.2, 0.5):
        limits = stats.funnel_limits(p0, ns)
        inner_low, inner_high = limits[0.95]
        outer_low, outer_high = limits[0.998]
        for low, high in limits.values():
            assert np.all((low >= 0) & (low <= p0) & (high >= p0) & (high <= 1))
            assert np.all(np.diff(low) >= 0) and np.all(np.diff(high) <= 0)  # widen as n shrinks
        assert np.all(outer_low <= inner_low) and np.all(outer_high >= inner_high)


def test_funnel_limits_large_n_close_to_normal():
    lower, upper = stats.funnel_limits(0.1, [100_000], levels=(0.95,))[0.95]
    half = stats.Z95 * math.sqrt(0.1 * 0.9 / 100_000)
    assert lower[0] == pytest.approx(0.1 - half, abs=5e-5)
    assert upper[0] == pytest.approx(0.1 + half, abs=5e-5)


def test_funnel_limits_degenerate_inputs():
    limits = stats.funnel_limits(0.1, [0, np.nan, 10])[0.95]
    assert np.isnan(limits[0][:2]).all() and np.isnan(limits[1][:2]).all()
    assert stats.funnel_limits(0.0, [10])[0.95][1][0] == 0.0
    assert np.isnan(stats.funnel_limits(math.nan, [10])[0.95][0]).all()
    with pytest.raises(ValueError):
        stats.funnel_limits(1.5, [10])


def test_funnel_position_classes():
    # Around 0.1 with n = 100: 95% limits about (0.0404, 0.158), 99.8% about (0.0142, 0.198).
    num, den = [0, 10, 17, 30, 4, 5, 0], [100, 100, 100, 100, 100, 50, 0]
    positions = stats.funnel_position(num, den, 0.1)
    expected = ["below_998", "within", "above_95", "above_998", "below_95", "within", None]
    assert positions.tolist() == expected


# --- target verdicts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "lower_is_better", "expected"),
    [
        (0.02, 0.08, True, "met"),
        (0.12, 0.20, True, "not_met"),
        (0.05, 0.15, True, "not_shown"),
        (0.05, 0.10, True, "not_shown"),  # a bound on the target is not "wholly" below it
        (0.12, 0.20, False, "met"),
        (0.02, 0.08, False, "not_met"),
        (0.10, 0.20, False, "not_shown"),
    ],
)
def test_target_status(low, high, lower_is_better, expected):
    assert stats.target_status(low, high, 0.10, lower_is_better).item() == expected


def test_target_status_without_target_or_interval():
    assert stats.target_status(0.1, 0.2, None, True).item() is None
    result = stats.target_status([0.1, np.nan, 0.3], [0.2, np.nan, 0.4], [np.nan, 0.5, 0.2], True)
    assert result.tolist() == [None, None, "not_met"]
    per_row = stats.target_status([0.3, 0.3], [0.4, 0.4], 0.2, [True, False])
    assert per_row.tolist() == ["not_met", "met"]


def test_a_count_at_the_edge_is_not_an_outlier_it_could_not_have_avoided_being():
    # 3 of 3 where 85 % is usual: the interpolated 99.8 % limit lies a hair under 100 %, but
    # all three happens 61 % of the time. Not an outlier; a real one still is.
    positions = stats.funnel_position(np.array([3, 0, 80, 5]), np.array([3, 3, 100, 100]), 0.85)
    assert positions[0] == "within"
    # 0 of 3: P(X = 0) = 0.15 ** 3 = 0.0034, beyond the 95 % limits, not the 99.8 % ones.
    assert positions[1] == "below_95"
    assert positions[3] == "below_998"  # 5 of 100: P(X <= 5) is astronomically small
    high = stats.funnel_position(np.array([80]), np.array([100]), 0.5)
    assert high[0] == "above_998"
