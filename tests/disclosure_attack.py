"""An attacker who wants the small counts the portal hides, written apart from the portal's own
protection (indicators.disclosure) so that the one cannot share the other's blind spots.

It knows what a viewer can obtain: the national pool (``ALL``) as published to them, the exact
results of the departments in their scope, that a calendar year is the sum of its quarters and a
quarter the sum of its months, that a numerator is at most its denominator, and what a label
says ("<5": the pooled count is under 5; a blank hidden count: 5 or more, it assumes, unless that
contradicts the rest, as it does where the portal withholds a whole year). For every hidden count
it asks an integer program (scipy's ``milp``) for the smallest and the largest value that fits
all of that, for what the pool holds beyond the viewer's scope. A hidden count from 1 to 4 whose
smallest and largest fit are both its true value has been recovered.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

THRESHOLD = 5
LABEL = "<5"


@dataclass(frozen=True)
class Recovered:
    indicator: str
    count: str  # "numerator" | "denominator"
    period_type: str
    period_start: dt.date
    rest: int  # what the pool holds beyond the viewer's scope, recovered exactly


def _children(kind: str, start: dt.date) -> list[tuple[str, dt.date]]:
    if kind == "year":
        return [("quarter", start.replace(month=m)) for m in (1, 4, 7, 10)]
    if kind == "quarter":
        return [("month", start.replace(month=start.month + i)) for i in range(3)]
    return []


def recover(
    published: Iterable[Mapping],
    known: Mapping[tuple[str, str, dt.date], tuple[int, int]],
    truth: Mapping[tuple[str, str, dt.date], tuple[int, int]],
) -> list[Recovered]:
    """The hidden small counts of the rest that can be worked out exactly.

    ``published``: the ALL rows as the viewer got them (``indicator``, ``period_type``,
    ``period_start`` as a date, ``numerator``, ``denominator``); ``known``: the viewer's exact
    (numerator, denominator) sums over its scope per (indicator, period type, start);
    ``truth``: the real pooled counts, used to say which hidden counts are small and which
    indicators share their denominators (as their public definitions tell an attacker).
    """
    by_indicator: dict[str, dict] = defaultdict(dict)
    for row in published:
        by_indicator[row["indicator"]][(row["period_type"], row["period_start"])] = row
    groups: dict[tuple, list[str]] = defaultdict(list)
    for indicator, rows in by_indicator.items():
        denominators = tuple(sorted((node, truth[(indicator, *node)][1]) for node in rows))
        groups[denominators].append(indicator)
    found: list[Recovered] = []
    for indicators in groups.values():
        found.extend(_attack(indicators, by_indicator, known, truth))
    return found


def _nodes(rows) -> list[tuple[str, dt.date]]:
    years = {("year", start.replace(month=1, day=1)) for _kind, start in rows}
    nodes = []
    for year in sorted(years, key=lambda n: n[1]):
        nodes.append(year)
        for quarter in _children(*year):
            nodes.append(quarter)
            nodes.extend(_children(*quarter))
    return nodes


def _attack(indicators, by_indicator, known, truth) -> list[Recovered]:
    """One integer program for a group of indicators with the same denominators: their shared
    denominator tree, each numerator tree, and numerator <= denominator at every node."""
    first = indicators[0]
    nodes = _nodes(by_indicator[first])
    # counts: ("denominator", first) shared, then ("numerator", each proportion)
    counts = [("denominator", first)] + [
        ("numerator", i)
        for i in indicators
        if any(truth.get((i, *n), (None, 0))[0] is not None for n in by_indicator[i])
    ]
    variables: dict[tuple[int, tuple], int] = {}
    fixed: dict[tuple[int, tuple], int] = {}
    low, high, blank = [], [], []
    for c, (count, indicator) in enumerate(counts):
        index = 0 if count == "numerator" else 1
        rows = by_indicator[indicator]
        for node in nodes:
            row = rows.get(node)
            own = known.get((indicator, *node), (0, 0))[index]
            shown = None if row is None else row[count]
            if row is None:
                fixed[(c, node)] = 0  # no operation in the pool that period
            elif isinstance(shown, int):
                fixed[(c, node)] = shown - own
            else:
                variables[(c, node)] = len(variables)
                if shown == LABEL:
                    low.append(0)
                    high.append(THRESHOLD - 1 - own)
                else:
                    low.append(max(0, THRESHOLD - own))
                    high.append(10**6)  # "no more than a million": no program is unbounded
                    blank.append(len(variables) - 1)
    if not variables:
        return []
    matrix, lower, upper = [], [], []

    def add(terms, low_level, high_level):
        vector, constant = np.zeros(len(variables)), 0.0
        for key, sign in terms:
            if key in variables:
                vector[variables[key]] += sign
            else:
                constant += sign * fixed[key]
        if vector.any():
            matrix.append(vector)
            lower.append(low_level - constant)
            upper.append(high_level - constant)

    for c in range(len(counts)):
        for node in nodes:
            below = _children(*node)
            if below:
                add([((c, node), 1.0)] + [((c, b), -1.0) for b in below], 0.0, 0.0)
    for c in range(1, len(counts)):
        for node in nodes:
            add([((c, node), 1.0), ((0, node), -1.0)], -np.inf, 0.0)
    constraints = (
        [LinearConstraint(np.array(matrix), np.array(lower), np.array(upper))] if matrix else []
    )

    def solve(objective, lows):
        return milp(
            objective,
            constraints=constraints,
            integrality=np.ones(len(variables)),
            bounds=Bounds(np.array(lows, dtype=float), np.array(high, dtype=float)),
        )

    if not solve(np.zeros(len(variables)), low).success:
        for i in blank:  # "5 or more" does not hold here: a blank is anything
            low[i] = 0
    found = []
    for (c, node), i in variables.items():
        count, indicator = counts[c]
        index = 0 if count == "numerator" else 1
        true_total = truth.get((indicator, *node))
        if true_total is None or true_total[index] is None:
            continue
        rest = true_total[index] - known.get((indicator, *node), (0, 0))[index]
        if not 0 < rest < THRESHOLD:
            continue
        extremes = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(variables))
            objective[i] = sign
            result = solve(objective, low)
            assert result.success, f"the published numbers contradict each other: {result}"
            extremes.append(round(result.x[i]))
        if extremes[0] == extremes[1] == rest:
            found.append(Recovered(indicator, count, *node, rest))
    return found
