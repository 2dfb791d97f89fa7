"""The engine: hand-counted fixtures for every standard indicator, and properties on random
extracts against a plain row-by-row reference written from indicators.md (no Django needed)."""

from __future__ import annotations

import ast
import datetime as dt
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators import engine
from tests.indicators.indicator_rows import HAND_ROWS, d, frame, standard_specs

SLUGS = [spec.slug for spec in standard_specs()]
Z = 1.959963984540054


def results_of(rows, **kwargs) -> pd.DataFrame:
    return engine.compute_results(frame(rows), standard_specs(), **kwargs)


def cell(results, slug, department, period_type, start) -> dict | None:
    """One result as a dict (department 1 = A, 2 = B, None = ALL), or None if absent."""
    definition_id = SLUGS.index(slug) + 1
    dept = results["department_id"]
    found = results[
        (results["definition_id"] == definition_id)
        & ((dept.isna()) if department is None else (dept == department)).fillna(False)
        & (results["period_type"] == period_type)
        & (results["period_start"] == pd.Timestamp(start))
    ]
    assert len(found) <= 1
    return None if found.empty else found.iloc[0].to_dict()


def counts(result) -> tuple:
    numerator = result["numerator"]
    return (
        None if pd.isna(numerator) else int(numerator),
        result["denominator"],
        result["missing"],
    )


@pytest.fixture(scope="module")
def hand():
    return results_of(HAND_ROWS)


A, B, ALL = 1, 2, None


# --- hand-counted -----------------------------------------------------------------------------

# (slug, department, period type, period start) -> (numerator, denominator, missing), counted
# by hand from the comments in indicator_rows.HAND_ROWS.
HAND_COUNTS = {
    ("major_complication", A, "month", "2023-01-01"): (1, 3, 1),
    ("major_complication", A, "month", "2023-02-01"): (2, 2, 0),
    ("major_complication", A, "quarter", "2023-01-01"): (3, 5, 1),
    ("major_complication", ALL, "month", "2023-01-01"): (1, 4, 1),
    ("major_complication", ALL, "year", "2023-01-01"): (4, 7, 1),
    ("major_complication", B, "quarter", "2023-04-01"): (1, 1, 0),
    ("major_complication", ALL, "year", "2022-01-01"): (0, 1, 0),
    ("anastomotic_leak", A, "month", "2023-01-01"): (1, 2, 1),
    ("anastomotic_leak", A, "month", "2023-02-01"): (0, 1, 0),
    ("anastomotic_leak", B, "month", "2023-01-01"): (0, 1, 0),
    ("anastomotic_leak", ALL, "year", "2023-01-01"): (1, 4, 1),
    ("reoperation_30d", A, "month", "2023-01-01"): (1, 4, 0),
    ("reoperation_30d", A, "month", "2023-02-01"): (0, 2, 0),
    ("reoperation_30d", ALL, "quarter", "2023-01-01"): (1, 7, 0),
    ("mortality_30d", A, "month", "2023-01-01"): (1, 4, 0),
    ("mortality_30d", A, "month", "2023-02-01"): (1, 2, 0),
    ("mortality_30d", ALL, "year", "2023-01-01"): (2, 8, 0),
    ("prolonged_stay", A, "month", "2023-01-01"): (1, 3, 1),
    ("prolonged_stay", A, "month", "2023-02-01"): (0, 2, 0),
    ("prolonged_stay", B, "month", "2023-04-01"): (1, 1, 0),
    ("prolonged_stay", B, "year", "2022-01-01"): (0, 1, 0),
    ("readmission_30d", A, "month", "2023-01-01"): (1, 3, 1),
    ("readmission_30d", A, "month", "2023-02-01"): (1, 1, 0),
    ("readmission_30d", A, "quarter", "2023-01-01"): (2, 4, 1),
    ("length_of_stay", A, "month", "2023-01-01"): (None, 3, 1),
    ("length_of_stay", A, "month", "2023-02-01"): (None, 2, 0),
    ("length_of_stay", ALL, "year", "2023-01-01"): (None, 7, 1),
}


@pytest.mark.parametrize(("key", "expected"), HAND_COUNTS.items(), ids=lambda v: str(v))
def test_hand_counted_results(hand, key, expected):
    result = cell(hand, *key)
    assert result is not None, key
    assert counts(result) == expected


def test_a_population_without_rows_gives_no_result(hand):
    # B's only April operation has no anastomosis; the 2022 row neither.
    assert cell(hand, "anastomotic_leak", B, "month", "2023-04-01") is None
    assert cell(hand, "anastomotic_leak", ALL, "year", "2022-01-01") is None
    assert cell(hand, "major_complication", B, "month", "2023-02-01") is None


def test_proportion_value_and_wilson_interval(hand):
    result = cell(hand, "major_complication", A, "month", "2023-01-01")
    assert result["value"] == 1 / 3
    # Wilson by hand: (1 + z²/2 ± z·sqrt(1·2/3 + z²/4)) / (3 + z²)
    half = Z * math.sqrt(2 / 3 + Z * Z / 4)
    low, high = (1 + Z * Z / 2 - half) / (3 + Z * Z), (1 + Z * Z / 2 + half) / (3 + Z * Z)
    assert result["ci_low"] == pytest.approx(low, abs=1e-15)
    assert result["ci_high"] == pytest.approx(high, abs=1e-15)
    assert (round(low, 4), round(high, 4)) == (0.0615, 0.7923)


def test_all_events_give_a_value_of_one_and_an_upper_bound_of_one(hand):
    result = cell(hand, "major_complication", A, "month", "2023-02-01")
    assert result["value"] == 1.0 and result["ci_high"] == 1.0


def test_length_of_stay_median_mean_quartiles(hand):
    jan = cell(hand, "length_of_stay", A, "month", "2023-01-01")  # stays 5, 15, 10
    assert (jan["value"], jan["mean"], jan["q1"], jan["q3"]) == (10.0, 10.0, 7.5, 12.5)
    assert np.isnan(jan["ci_low"])  # three values cannot give a 95 % interval
    feb = cell(hand, "length_of_stay", A, "month", "2023-02-01")  # 10 and 3: the two middle
    assert (feb["value"], feb["mean"], feb["q1"], feb["q3"]) == (6.5, 6.5, 4.75, 8.25)
    year = cell(hand, "length_of_stay", ALL, "year", "2023-01-01")  # 3 5 7 10 10 12 15
    assert (year["value"], year["q1"], year["q3"]) == (10.0, 6.0, 11.0)
    assert year["mean"] == pytest.approx(62 / 7)
    # n = 7: 1 - 2·P(Bin(7, ½) <= 0) = 0.984 >= 0.95 but 1 - 2·P(<= 1) = 0.875: ranks 1 and 7
    assert (year["ci_low"], year["ci_high"]) == (3.0, 15.0)
    assert pd.isna(year["numerator"])


def test_every_period_type_and_period_start(hand):
    starts = hand.groupby("period_type")["period_start"].agg(lambda s: sorted(set(s)))
    assert [str(s.date()) for s in starts["quarter"]] == ["2022-10-01", "2023-01-01", "2023-04-01"]
    assert [str(s.date()) for s in starts["year"]] == ["2022-01-01", "2023-01-01"]
    assert len(starts["month"]) == 4  # Dec 2022, Jan, Feb, Apr 2023
    assert list(hand.columns) == engine.RESULT_COLUMNS


def test_targets_and_their_status():
    specs = standard_specs()
    specs[0] = engine.DefinitionSpec(**{**specs[0].__dict__, "default_target": 0.95})
    results = engine.compute_results(frame(HAND_ROWS), specs, {(1, 1): 0.05})
    own = cell(results, "major_complication", A, "quarter", "2023-01-01")
    national = cell(results, "major_complication", ALL, "quarter", "2023-01-01")
    other = cell(results, "major_complication", B, "quarter", "2023-01-01")
    assert (own["target"], national["target"], other["target"]) == (0.05, 0.95, 0.95)
    assert own["target_status"] == "not_met"  # 3/5: interval wholly above 5 %
    assert other["target_status"] == "met"  # 0/1: interval [0, 0.79] wholly below 95 %
    assert cell(results, "reoperation_30d", A, "year", "2023-01-01")["target_status"] is None


def test_higher_is_better_turns_the_verdict():
    spec = standard_specs()[0]
    spec = engine.DefinitionSpec(**{**spec.__dict__, "lower_is_better": False})
    results = engine.compute_results(frame(HAND_ROWS), [spec], {(1, 1): 0.05})
    assert results[results.department_id == 1].target_status.iloc[0] in ("met", "not_shown")
    quarter = results[(results.department_id == 1) & (results.period_type == "quarter")]
    assert quarter.target_status.iloc[0] == "met"


def test_a_departments_own_definition_is_computed_for_it_only_with_no_pool():
    rectum_leak = engine.DefinitionSpec(
        id=99,
        slug="own",
        kind="proportion",
        population={
            "all": [
                {"field": "anastomosis", "op": "eq", "value": True},
                {"field": "site", "op": "eq", "value": "rektum"},
            ]
        },
        missing={"field": "anastomotic_leak", "op": "blank"},
        event={"field": "anastomotic_leak", "op": "eq", "value": True},
        department_id=1,
    )
    results = engine.compute_results(frame(HAND_ROWS), [rectum_leak])
    # Pooled with B's rows it would single out B's patients (docs/privacy.md).
    assert list(results.department_id.unique()) == [1]
    year = results[results.period_type == "year"].iloc[0]
    # rectal anastomoses of A: rows 2 (leak) and 4 (blank), all 2023
    assert (year.numerator, year.denominator, year.missing) == (1, 1, 1)


def test_departments_and_include_all_limit_the_output():
    results = results_of(HAND_ROWS, departments=[2], include_all=False)
    assert set(results.department_id) == {2}


def test_no_rows_or_no_definitions_give_an_empty_frame():
    assert engine.compute_results(frame(HAND_ROWS).iloc[:0], standard_specs()).empty
    assert list(engine.compute_results(frame(HAND_ROWS), []).columns) == engine.RESULT_COLUMNS


def test_the_engine_and_rules_import_nothing_from_django():
    root = Path(engine.__file__).parent
    for path in [root / "engine.py", *sorted((root / "rules").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.startswith("django") for n in names), path


# --- a row-by-row reference, written from indicators.md -----------------------------------------


def _days(a: dt.date | None, b: dt.date | None) -> int | None:
    return None if a is None or b is None else (b - a).days


def _within_30(start, end) -> bool:
    days = _days(start, end)
    return days is not None and days <= 30


def reference_row(slug: str, r: dict):
    """(in population, missing, event or measure value) for one row, straight from the table."""
    opr, udskr, death = d(r["opr"]), d(r.get("udskr")), d(r.get("death"))
    if slug == "major_complication":
        return True, r.get("cd") is None, r.get("cd") in ("IIIa", "IIIb", "IVa", "IVb", "V")
    if slug == "anastomotic_leak":
        return r.get("anast") is True, r.get("leak") is None, r.get("leak") is True
    if slug == "reoperation_30d":
        return True, False, _within_30(opr, d(r.get("reop")))
    if slug == "mortality_30d":
        return True, False, _within_30(opr, death)
    if slug == "prolonged_stay":
        return True, udskr is None, udskr is not None and (udskr - opr).days > 10
    if slug == "readmission_30d":
        alive_at_discharge = death is None or udskr is None or death > udskr
        return alive_at_discharge, udskr is None, _within_30(udskr, d(r.get("readm")))
    if slug == "length_of_stay":
        return True, udskr is None, _days(opr, udskr)
    raise AssertionError(slug)


def _period_start(day: dt.date, period_type: str) -> dt.date:
    if period_type == "month":
        return day.replace(day=1)
    if period_type == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def _type7(sorted_values: list, q: float) -> float:
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def _median_ranks(n: int) -> tuple[int, int]:
    best = 0
    for j in range(1, n // 2 + 1):
        below = sum(math.comb(n, i) for i in range(j))  # P(B <= j - 1) · 2^n
        if 1 - 2 * below / 2**n >= 0.95:
            best = j
    return (best, n + 1 - best)


def _wilson(x: int, n: int) -> tuple[float, float]:
    centre, half = x + Z * Z / 2, Z * math.sqrt(x * (n - x) / n + Z * Z / 4)
    return (max(0.0, (centre - half) / (n + Z * Z)), min(1.0, (centre + half) / (n + Z * Z)))


def reference(rows: list[dict]) -> dict:
    """{(slug, department code or None, period type, start): dict of the expected result}."""
    groups: dict = {}
    for slug in SLUGS:
        for r in rows:
            in_population, missing, event = reference_row(slug, r)
            if not in_population:
                continue
            for period_type in ("month", "quarter", "year"):
                start = _period_start(d(r["opr"]), period_type)
                for dept in (r["dept"], None):
                    group = groups.setdefault((slug, dept, period_type, start), [0, []])
                    if missing:
                        group[0] += 1
                    else:
                        group[1].append(event)
    out = {}
    for key, (missing, counted) in groups.items():
        n = len(counted)
        expected = {"denominator": n, "missing": missing}
        if key[0] == "length_of_stay":
            values = sorted(counted)
            j, k = _median_ranks(n) if n else (0, 0)
            expected |= {
                "numerator": None,
                "value": statistics.median(values) if n else None,
                "mean": statistics.fmean(values) if n else None,
                "q1": _type7(values, 0.25) if n else None,
                "q3": _type7(values, 0.75) if n else None,
                "ci_low": values[j - 1] if j else None,
                "ci_high": values[k - 1] if j else None,
            }
        else:
            x = sum(counted)
            low, high = _wilson(x, n) if n else (None, None)
            expected |= {
                "numerator": x,
                "value": x / n if n else None,
                "ci_low": low,
                "ci_high": high,
            }
        out[key] = expected
    return out


@st.composite
def extract_rows(draw):
    n = draw(st.integers(min_value=1, max_value=60))
    rows = []
    for _ in range(n):
        opr = dt.date(2022, 11, 1) + dt.timedelta(days=draw(st.integers(0, 200)))
        later = st.one_of(st.none(), st.integers(0, 45))

        def after(day, gap):
            return None if gap is None or day is None else str(day + dt.timedelta(days=gap))

        udskr = after(opr, draw(later))
        rows.append(
            {
                "dept": draw(st.sampled_from(["1330300", "6630220", "4202200"])),
                "opr": str(opr),
                "udskr": udskr,
                "reop": after(opr, draw(later)),
                "readm": after(d(udskr), draw(later)),
                "death": after(opr, draw(later)),
                "cd": draw(
                    st.sampled_from([None, "0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V"])
                ),
                "anast": draw(st.sampled_from([None, True, False])),
                "leak": draw(st.sampled_from([None, True, False])),
            }
        )
    return rows


def _same(actual, expected) -> bool:
    if expected is None:
        return actual is None or pd.isna(actual)
    return actual == pytest.approx(expected, rel=1e-12, abs=1e-15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extract_rows())
def test_engine_equals_the_row_by_row_reference(rows):
    codes = sorted({r["dept"] for r in rows})
    results = engine.compute_results(frame(rows), standard_specs())
    expected = reference(rows)
    actual = {}
    for r in results.to_dict("records"):
        dept = None if pd.isna(r["department_id"]) else codes[int(r["department_id"]) - 1]
        start = r["period_start"].date()
        actual[(SLUGS[r["definition_id"] - 1], dept, r["period_type"], start)] = r
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual[key]
        for name, value in want.items():
            assert _same(got[name], value), (key, name, got[name], value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extract_rows())
def test_counts_intervals_and_all_is_the_pool_of_the_departments(rows):
    results = engine.compute_results(frame(rows), standard_specs())
    proportions = results[results.numerator.notna()]
    assert (proportions.numerator <= proportions.denominator).all()
    assert (results.denominator >= 0).all() and (results.missing >= 0).all()
    shown = results[results.ci_low.notna()]
    assert (shown.ci_low <= shown.value + 1e-12).all() and (
        shown.value <= shown.ci_high + 1e-12
    ).all()
    keys = ["definition_id", "period_type", "period_start"]
    departments = results[results.department_id.notna()]
    pooled = departments.groupby(keys)[["numerator", "denominator", "missing"]].sum(min_count=1)
    national = results[results.department_id.isna()].set_index(keys).sort_index()
    pooled = pooled.reindex(national.index)
    assert (pooled.denominator == national.denominator).all()
    assert (pooled.missing == national.missing).all()
    both = national.numerator.notna()
    assert (pooled.numerator[both] == national.numerator[both]).all()
