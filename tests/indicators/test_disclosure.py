"""indicators.disclosure: the pool as a viewer outside part of it may see it. Hand-made cases,
then random countries attacked by the integer program of tests/disclosure_attack.py."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.disclosure import _ranges, _walk, children, is_small, protect_pool
from tests.disclosure_attack import recover

Y = dt.date(2024, 1, 1)


def pool_of(months: dict[int, tuple[int, int]], slug: str = "x", definition: int = 1) -> list:
    """ALL rows of one year from monthly (numerator, denominator); absent months have none."""
    rows = []

    def add(kind, start, numerator, denominator):
        if denominator:
            rows.append(
                {
                    "definition_id": definition,
                    "indicator": slug,
                    "period_type": kind,
                    "period_start": start,
                    "numerator": numerator,
                    "denominator": denominator,
                    "missing": 1,
                    "value": numerator / denominator,
                    "ci_low": 0.0,
                    "ci_high": 1.0,
                    "target_status": "met",
                }
            )

    for month, (n, d) in months.items():
        add("month", Y.replace(month=month), n, d)
    for q in range(4):
        part = [months.get(m, (0, 0)) for m in range(3 * q + 1, 3 * q + 4)]
        add("quarter", Y.replace(month=3 * q + 1), sum(p[0] for p in part), sum(p[1] for p in part))
    add("year", Y, sum(n for n, _ in months.values()), sum(d for _, d in months.values()))
    return rows


def shown(result: dict, kind: str, month: int, field: str = "numerator"):
    return result[(1, kind, Y.replace(month=month))][field]


def published(rows: list, result: dict) -> list[dict]:
    out = []
    for row in rows:
        got = result[(row["definition_id"], row["period_type"], row["period_start"])]
        out.append(got | {"indicator": row["indicator"]})
    return out


def truth(rows: list) -> dict:
    return {
        (r["indicator"], r["period_type"], r["period_start"]): (r["numerator"], r["denominator"])
        for r in rows
    }


def test_nothing_is_hidden_when_no_count_is_small():
    rows = pool_of({1: (10, 40), 2: (0, 35), 3: (7, 50)})
    result = protect_pool(rows, {})
    assert not any(r["protected"] for r in result.values())
    assert shown(result, "month", 2) == 0  # nobody is singled out of nobody


def test_a_small_month_hides_a_second_one_so_the_quarter_gives_neither_back():
    rows = pool_of({1: (3, 40), 2: (9, 35), 3: (12, 50)})
    result = protect_pool(rows, {})
    assert shown(result, "month", 1) == "<5"
    # The smallest other month with a count is hidden beside it (blank: it is not under 5).
    assert shown(result, "month", 2) is None and shown(result, "month", 3) == 12
    assert shown(result, "quarter", 1) == 24
    row = result[(1, "month", Y)]
    assert row["value"] is row["ci_low"] is row["target_status"] is row["missing"] is None
    assert row["protected"] and not result[(1, "month", Y.replace(month=3))]["protected"]
    assert recover(published(rows, result), {}, truth(rows)) == []


def test_a_small_denominator_hides_its_numerator_and_the_denominators_of_every_indicator():
    rows = pool_of({1: (1, 3), 2: (6, 30), 3: (6, 30)}) + pool_of(
        {1: (10, 20), 2: (10, 20), 3: (10, 20)}, slug="y", definition=2
    )
    result = protect_pool(rows, {})
    assert shown(result, "month", 1, "denominator") == "<5"
    assert shown(result, "month", 1) == "<5"
    # The same month's denominator of the other indicator goes too: a shared population.
    assert result[(2, "month", Y)]["denominator"] is None
    assert recover(published(rows, result), {}, truth(rows)) == []


def test_what_the_viewer_sees_exactly_is_taken_off_before_judging_the_rest():
    rows = pool_of({1: (13, 40), 2: (9, 35), 3: (12, 50)})
    # The viewer's own departments hold 10 of January's 13 events: the rest, 3, is small.
    known = {(1, "month", Y): (10, 20)}
    result = protect_pool(rows, known)
    assert shown(result, "month", 1) is None  # the pooled 13 is not under 5: no "<5"
    assert result[(1, "month", Y)]["protected"]
    assert recover(published(rows, result), {("x", "month", Y): (10, 20)}, truth(rows)) == []


def test_a_year_of_single_events_goes_hidden_rather_than_pinned():
    # Four months with one event each: the year's 4 under "<5" with four quarters would give
    # each month back as 1 if the labels were all an attacker needed.
    rows = pool_of({3: (1, 19), 4: (1, 24), 10: (1, 22), 11: (1, 13)})
    result = protect_pool(rows, {})
    assert recover(published(rows, result), {}, truth(rows)) == []


def test_the_threshold_is_a_setting():
    rows = pool_of({1: (7, 40), 2: (9, 35), 3: (12, 50)})
    assert not any(r["protected"] for r in protect_pool(rows, {}).values())
    result = protect_pool(rows, {}, threshold=10)
    assert shown(result, "month", 1) == "<10"


def test_is_small():
    assert is_small(1) and is_small(4) and not is_small(0) and not is_small(5)
    assert not is_small("<5") and not is_small(None) and not is_small(True)


# --- the range of a hidden count on a tree, against brute force -------------------------------


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(0, 6), min_size=3, max_size=3),
    hidden=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_ranges_on_a_quarter_are_exact(values, hidden):
    quarter = ("quarter", Y)
    nodes = [quarter, *children(quarter)]
    truth_values = dict(zip(nodes, [sum(values), *values], strict=True))
    bound = {
        n: (0, 18) if h else (truth_values[n], truth_values[n])
        for n, h in zip(nodes, hidden, strict=True)
    }
    # Every root of a year must be there: a year with this one quarter.
    year = ("year", Y)
    for n in _walk(year):
        bound.setdefault(n, (truth_values.get(n, 0),) * 2)
    bound[year] = (0, 18) if hidden[0] else (sum(values), sum(values))
    ranges = _ranges([year], bound)
    feasible = {n: set() for n in nodes}
    for months in itertools.product(
        *[range(b[0], b[1] + 1) for b in (bound[n] for n in nodes[1:])]
    ):
        q = sum(months)
        if bound[quarter][0] <= q <= bound[quarter][1] and bound[year][0] <= q <= bound[year][1]:
            for n, v in zip(nodes, [q, *months], strict=True):
                feasible[n].add(v)
    for n in nodes:
        assert (min(feasible[n]), max(feasible[n])) == ranges[n]


# --- random countries, attacked -----------------------------------------------------------------

month_counts = st.tuples(st.integers(0, 6), st.integers(0, 14)).map(lambda nd: (min(nd), max(nd)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.dictionaries(st.integers(1, 12), month_counts, min_size=1),
    second=st.dictionaries(st.integers(1, 12), month_counts, min_size=1),
    own=st.dictionaries(st.integers(1, 12), st.tuples(st.integers(0, 2), st.integers(0, 3))),
)
def test_no_small_rest_of_a_random_pool_can_be_worked_out(first, second, own):
    rows = pool_of(first) + pool_of(second, slug="y", definition=2)
    # The viewer's own part of indicator x, per month and summed up the tree.
    known = {}
    for month, (n, d) in own.items():
        total = first.get(month, (0, 0))
        # events and non-events, each no more than the pool has of them
        n = min(n, total[0])
        d = n + min(max(d - n, 0), total[1] - total[0])
        for kind, start in (
            ("month", Y.replace(month=month)),
            ("quarter", Y.replace(month=(month - 1) // 3 * 3 + 1)),
            ("year", Y),
        ):
            was = known.get((1, kind, start), (0, 0))
            known[(1, kind, start)] = (was[0] + n, was[1] + d)
    result = protect_pool(rows, known)
    seen = {("x", *key[1:]): value for key, value in known.items()}
    assert recover(published(rows, result), seen, truth(rows)) == []


def test_a_blank_count_with_no_upper_bound_is_still_worked_out_beside_a_shown_one():
    # Found by the random test: November's pooled 6 is blank ("5 or more"), the viewer holds 2
    # of them, and the quarter less October gave the rest of 4 back.
    rows = pool_of({10: (0, 5), 11: (0, 6)})
    known = {(1, kind, start): (0, 2) for kind, start in (
        ("month", Y.replace(month=11)), ("quarter", Y.replace(month=10)), ("year", Y))}  # fmt: skip
    result = protect_pool(rows, known)
    assert result[(1, "month", Y.replace(month=10))]["denominator"] is None
    seen = {("x", *key[1:]): value for key, value in known.items()}
    assert recover(published(rows, result), seen, truth(rows)) == []
