"""Funnel plots: limits against an exact-fraction evaluation of Spiegelhalter's formula and the
normal approximation, positions, and the builder over the current results."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pytest

from departments.models import Department
from indicators.funnel import METHOD_EN, build_funnel, curve_denominators, funnel_from_counts
from indicators.models import IndicatorDefinition, Result
from indicators.registry import synthetic
from indicators.registry.importer import import_path
from indicators.services import computations


def exact_limit(p0: Fraction, n: int, tail: Fraction, upper: bool) -> float:
    """Spiegelhalter (2005) appendix A.1.1, in exact rational arithmetic: for the tail
    probability p (1 - tail above, tail below), r = the smallest count with F(r) >= p,
    alpha = (F(r) - p) / (F(r) - F(r - 1)), limit = (r - alpha) / n."""
    p = 1 - tail if upper else tail
    cdf = Fraction(0)
    for r in range(n + 1):
        pmf = math.comb(n, r) * p0**r * (1 - p0) ** (n - r)
        cdf += pmf
        if cdf >= p:
            alpha = (cdf - p) / pmf
            return float(min(max((r - alpha) / n, 0), 1))
    raise AssertionError("unreachable")


@pytest.mark.parametrize("p0", [Fraction(1, 20), Fraction(3, 20), Fraction(2, 5)])
@pytest.mark.parametrize("n", [1, 7, 25, 60, 200])
def test_limits_follow_spiegelhalters_formula_exactly(p0, n):
    funnel = funnel_from_counts(["x"], [0], [n], int(p0.numerator * 1000 / p0.denominator), 1000)
    point = funnel.points[0]
    for level in (0.95, 0.998):
        tail = (1 - Fraction(str(level))) / 2
        lower, upper = point.limits[level]
        assert lower == pytest.approx(exact_limit(p0, n, tail, upper=False), abs=1e-9)
        assert upper == pytest.approx(exact_limit(p0, n, tail, upper=True), abs=1e-9)


def test_large_denominators_approach_the_normal_limits():
    p0, n = 0.15, 20_000
    funnel = funnel_from_counts(["x"], [3000], [n], 15, 100)
    for level, z in ((0.95, 1.959963984540054), (0.998, 3.090232306167813)):
        lower, upper = funnel.points[0].limits[level]
        half = z * math.sqrt(p0 * (1 - p0) / n)
        assert lower == pytest.approx(p0 - half, abs=2 / n)
        assert upper == pytest.approx(p0 + half, abs=2 / n)


def test_positions_and_points():
    funnel = funnel_from_counts(
        ["low", "mid", "high", "higher", "none"],
        [2, 30, 45, 80, 0],
        [200, 200, 200, 200, 0],
        150,
        1000,
    )
    assert funnel.p0 == 0.15
    by_key = {p.key: p for p in funnel.points}
    assert set(by_key) == {"low", "mid", "high", "higher"}  # no point without a denominator
    assert by_key["mid"].position == "within"
    assert by_key["low"].position == "below_998"
    assert by_key["high"].position == "above_95"
    assert by_key["higher"].position == "above_998"
    assert by_key["high"].value == 0.225
    assert "Spiegelhalter" in METHOD_EN and funnel.method_da


def test_the_curve_runs_past_the_largest_denominator_and_narrows():
    funnel = funnel_from_counts(["a"], [5], [300], 10, 100)
    assert funnel.curve_n[0] == 1 and funnel.curve_n[-1] >= 330
    lower, upper = funnel.curve[0.998]
    widths = [u - lo for lo, u in zip(lower, upper, strict=True)]
    assert widths[-1] < widths[len(widths) // 2] < widths[1]
    assert list(curve_denominators(3)) == sorted(set(curve_denominators(3)))


def test_a_national_denominator_of_zero_is_refused():
    with pytest.raises(ValueError):
        funnel_from_counts(["a"], [0], [0], 0, 0)


@pytest.mark.django_db
def test_build_funnel_from_the_current_results(tmp_path):
    path = tmp_path / "synthetic.csv"
    synthetic.write_extract(synthetic.generate_frame(20_000, seed=5), path)
    registry = import_path(path).extract.registry
    computation = computations.recompute(registry, reason="test")
    major = IndicatorDefinition.objects.get(slug="major_complication")
    year = dt.date(2023, 1, 1)
    funnel = build_funnel(major, "year", year)
    national = Result.objects.get(
        computation=computation,
        definition=major,
        department=None,
        period_type="year",
        period_start=year,
    )
    assert funnel.p0 == national.numerator / national.denominator
    assert len(funnel.points) == Department.objects.count() == 21
    assert sum(p.denominator for p in funnel.points) == national.denominator
    assert {p.position for p in funnel.points} <= {
        "within",
        "above_95",
        "below_95",
        "above_998",
        "below_998",
    }
    assert build_funnel(major, "year", dt.date(2010, 1, 1)) is None
    with pytest.raises(ValueError, match="proportion"):
        build_funnel(IndicatorDefinition.objects.get(slug="length_of_stay"), "year", year)
