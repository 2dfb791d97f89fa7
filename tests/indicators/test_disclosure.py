"""Small numbers: counts of 1 to 4 shown as "<5", and what would reveal them hidden."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from indicators.disclosure import is_small, suppress_small


def row(numerator, denominator, missing=0, value=None, ci=(0.1, 0.9)):
    if value is None and denominator:
        value = numerator / denominator
    return {
        "department": "4202200",
        "numerator": numerator,
        "denominator": denominator,
        "missing": missing,
        "value": value,
        "ci_low": ci[0],
        "ci_high": ci[1],
    }


def test_large_counts_are_shown_as_they_are():
    rows = [row(12, 80, missing=7)]
    assert suppress_small(rows) == rows


def test_a_small_numerator_is_shown_as_less_than_five_and_hides_the_proportion():
    (shown,) = suppress_small([row(3, 80)])
    assert shown["numerator"] == "<5"
    assert shown["denominator"] == 80
    assert (shown["value"], shown["ci_low"], shown["ci_high"]) == (None, None, None)
    assert shown["department"] == "4202200"


def test_a_small_denominator_hides_the_numerator_too_even_a_zero():
    (shown,) = suppress_small([row(0, 4)])
    assert (shown["numerator"], shown["denominator"]) == ("<5", "<5")
    assert (shown["value"], shown["ci_low"], shown["ci_high"]) == (None, None, None)


def test_a_small_missing_count_is_labelled_but_hides_nothing_else():
    (shown,) = suppress_small([row(20, 80, missing=2)])
    assert shown["missing"] == "<5"
    assert (shown["numerator"], shown["denominator"], shown["value"]) == (20, 80, 0.25)


def test_zero_is_not_a_small_number():
    (shown,) = suppress_small([row(0, 80)])
    assert shown["numerator"] == 0 and shown["value"] == 0.0


def test_the_rows_given_are_not_changed():
    rows = [row(1, 2)]
    suppress_small(rows)
    assert rows[0]["numerator"] == 1


def test_the_threshold_and_field_names_can_be_chosen():
    (shown,) = suppress_small(
        [{"n": 7, "median": 6.5, "q1": 4.0, "q3": 9.0}],
        count_fields=("n",),
        hide_fields=("median", "q1", "q3"),
        denominator="n",
        threshold=10,
    )
    assert shown == {"n": "<10", "median": None, "q1": None, "q3": None}


def test_absent_counts_stay_absent():
    (shown,) = suppress_small([{"numerator": None, "denominator": float("nan"), "value": None}])
    assert shown["numerator"] is None and math.isnan(shown["denominator"])


def test_a_dataframe_comes_back_suppressed_with_object_columns_where_needed():
    frame = pd.DataFrame([row(3, 80), row(30, 80, missing=4), row(2, 3)])
    shown = suppress_small(frame)
    assert list(shown["numerator"]) == ["<5", 30, "<5"]
    assert list(shown["denominator"]) == [80, 80, "<5"]
    assert list(shown["missing"]) == [0, "<5", 0]
    assert shown["value"].iloc[0] is None and shown["value"].iloc[1] == 0.375
    assert shown["value"].iloc[2] is None
    assert frame["numerator"].tolist() == [3, 30, 2]  # the frame given is unchanged
    assert shown["department"].dtype == frame["department"].dtype


def test_numpy_counts_are_recognised():
    assert is_small(np.int64(3)) and not is_small(np.int64(5)) and not is_small(True)


counts = st.one_of(st.none(), st.integers(min_value=0, max_value=200))


@given(st.lists(st.tuples(counts, counts, counts), max_size=20))
def test_no_count_from_one_to_four_survives_and_nothing_reveals_one(triples):
    rows = [
        {"numerator": n, "denominator": d, "missing": m, "value": 0.5, "ci_low": 0.1}
        for n, d, m in triples
    ]
    for original, shown in zip(rows, suppress_small(rows), strict=True):
        for field in ("numerator", "denominator", "missing"):
            assert not is_small(shown[field])
        if is_small(original["numerator"]) or is_small(original["denominator"]):
            assert shown["value"] is None and shown["ci_low"] is None
        else:
            assert shown["value"] == 0.5
