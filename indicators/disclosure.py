"""Small numbers: how a pooled result is shown to a viewer who may not see all of it exactly.

Pure Python, no Django. Who sees what is decided in ``departments.access`` (the viewer's exact
scope) and applied in ``indicators.services.disclosure``; this module does the arithmetic.

The portal shows every viewer the departments in their own scope exactly (their own staff, and
leadership whose hospital, region or country contains them). The only aggregate that reaches a
viewer from outside that scope is the national pool ``ALL``. Subtracting the viewer's own
departments from it gives the *rest*: the pooled count of every department the viewer may not
see. For each standard indicator and each count (numerator, denominator) the rest forms a tree
per calendar year: year = its four quarters, quarter = its three months. :func:`protect_pool`
hides the ``ALL`` counts whose rest is 1 to ``threshold - 1`` (*primary* suppression), then keeps
hiding more (*complementary* suppression) until no hidden small rest can be worked out from what
is shown.

"Worked out" is judged as the strongest attacker would: knowing every shown count, the sums that
tie the tree together, that a small count lies between 1 and ``threshold - 1``, that any other
hidden count is at least ``threshold`` (or is 0 and known to be), and that a numerator never
exceeds its denominator. On a tree those facts give each hidden count an exact range by interval
propagation (:func:`_ranges`, two passes); a small count whose range is one number is pinned and
another count is hidden beside it. Denominators are hidden together across indicators (a period
hidden for one is hidden for all), because indicators with the same population share one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

INF = math.inf
Node = tuple[str, dt.date]  # (period type, first day)
Key = tuple[int, str, dt.date]  # (definition id, period type, first day)
# Fields that a hidden numerator or denominator takes with it.
DERIVED = ("value", "ci_low", "ci_high", "mean", "q1", "q3", "target_status")


def small_label(threshold: int = 5) -> str:
    return f"<{threshold}"


def is_small(count, threshold: int = 5) -> bool:
    """Is ``count`` a whole number from 1 to ``threshold - 1``? (Strings and None are not.)"""
    if isinstance(count, bool) or not isinstance(count, int | float):
        return False
    if isinstance(count, float) and math.isnan(count):
        return False
    return 0 < count < threshold


# --- the calendar tree ------------------------------------------------------------------------


def parent(node: Node) -> Node | None:
    kind, start = node
    if kind == "month":
        return ("quarter", start.replace(month=(start.month - 1) // 3 * 3 + 1))
    if kind == "quarter":
        return ("year", start.replace(month=1))
    return None


def children(node: Node) -> list[Node]:
    kind, start = node
    if kind == "year":
        return [("quarter", start.replace(month=m)) for m in (1, 4, 7, 10)]
    if kind == "quarter":
        return [("month", start.replace(month=start.month + i)) for i in range(3)]
    return []


def _years(nodes: Iterable[Node]) -> list[Node]:
    return sorted({("year", start.replace(month=1)) for _kind, start in nodes})


def _walk(root: Node) -> list[Node]:
    """The root, its quarters and their months, parents before children."""
    found = [root]
    for quarter in children(root):
        found.append(quarter)
        found.extend(children(quarter))
    return found


Interval = tuple[float, float]


def _add(a: Interval, b: Interval) -> Interval:
    return a[0] + b[0], a[1] + b[1]


def _meet(a: Interval, b: Interval) -> Interval:
    return max(a[0], b[0]), min(a[1], b[1])


def _ranges(roots: list[Node], bound: Mapping[Node, Interval]) -> dict[Node, Interval]:
    """What can be known of each node's value from the bounds and the tree's sums: exact on a
    tree (up: what a node's subtree allows; down: what the rest of the tree allows)."""
    up: dict[Node, Interval] = {}

    def upward(node: Node) -> Interval:
        below = children(node)
        own = bound[node]
        if below:
            total = (0.0, 0.0)
            for child in below:
                total = _add(total, upward(child))
            own = _meet(own, total)
        up[node] = own
        return own

    found: dict[Node, Interval] = {}
    for root in roots:
        upward(root)
        found[root] = up[root]
        for node in _walk(root):
            below = children(node)
            if not below:
                continue
            low, high = found[node]
            for child in below:
                # summed without the child (not subtracted: infinity less infinity is nothing)
                others = (0.0, 0.0)
                for other in below:
                    if other != child:
                        others = _add(others, up[other])
                found[child] = _meet(up[child], (low - others[1], high - others[0]))
    return found


# --- protecting one pool ----------------------------------------------------------------------


@dataclass
class _Series:
    """One indicator's counts: the rest (the pool minus what the viewer sees exactly) and the
    viewer's own part of the pool."""

    numerator: dict[Node, int] = field(default_factory=dict)
    denominator: dict[Node, int] = field(default_factory=dict)
    own_numerator: dict[Node, int] = field(default_factory=dict)
    own_denominator: dict[Node, int] = field(default_factory=dict)
    is_proportion: bool = True


@dataclass
class _Count:
    """One count's tree as the attacker meets it: the rest per node, the viewer's own part,
    which nodes are hidden, and which of those are dark (shown with no "<5" either)."""

    rest: Mapping[Node, int]
    own: Mapping[Node, int]
    hidden: set[Node]
    dark: set[Node]

    def bound(self, node: Node, threshold: int, cap: Interval = (0, INF)) -> Interval:
        """What the attacker knows of the rest at ``node`` before any sum: shown, it is known;
        hidden, the pool's label says the pool is under ``threshold`` ("<5") or not (blank)."""
        rest, own = self.rest.get(node, 0), self.own.get(node, 0)
        if node not in self.hidden or node not in self.rest:  # no row: the pool had nobody
            return (rest, rest)
        if node in self.dark:
            return _meet((0, INF), cap)
        if rest + own < threshold:
            return _meet((0, threshold - 1 - own), cap)
        return _meet((max(0, threshold - own), INF), cap)

    def pinned(self, roots: list[Node], every: list[Node], threshold: int, caps) -> list[Node]:
        """Hidden nodes whose small rest the attacker can work out to the one number."""
        bound = {n: self.bound(n, threshold, caps.get(n, (0, INF))) for n in every}
        ranges = _ranges(roots, bound)
        return [
            n
            for n in sorted(self.hidden, key=lambda n: (n[1], n[0]))
            if 0 < self.rest.get(n, 0) < threshold and ranges[n][0] >= ranges[n][1]
        ]

    def complement(self, pinned: Node) -> set[Node]:
        """What to hide next so that ``pinned`` is no longer one number: the smallest shown
        sibling with a count (else a shown 0), walking up the tree; else the parent."""
        node = pinned
        while (up := parent(node)) is not None:
            shown = [s for s in children(up) if s != node and s not in self.hidden]
            if shown:
                return {min(shown, key=lambda s: (self.rest.get(s, 0) == 0, self.rest.get(s, 0)))}
            if up not in self.hidden:
                return {up}
            node = up
        return set()


def _settle(
    count: _Count, roots: list[Node], every: list[Node], threshold: int, caps
) -> set[Node] | None:
    """Hide one more node of ``count`` if a small rest can be worked out; the nodes newly
    hidden, or None when nothing is pinned. When nothing more can be hidden in a pinned node's
    year, the whole year goes dark."""
    pinned = count.pinned(roots, every, threshold, caps)
    if not pinned:
        return None
    node = pinned[0]
    more = count.complement(node) - count.hidden
    if not more:
        year = next(r for r in roots if r[1].year == node[1].year)
        more = set(_walk(year))
        count.dark |= more
    count.hidden |= more
    return more


def hidden_cells(
    series: Mapping[int, _Series],
    threshold: int,
    links: Mapping[int, Hashable] | None = None,
) -> tuple[set[Node], dict[int, set[Node]], set[Node], dict[int, set[Node]]]:
    """(periods whose denominators are hidden, for every indicator; numerators hidden per
    indicator; and of each, the dark ones) such that no small rest can be worked out.

    Indicators with the same ``links`` key count the same kind of event (say a leak after colon
    and after rectal cancer, and a leak after either): one's numerator may be the sum of
    others', so their numerators are hidden together, as every denominator is."""
    nodes = {n for s in series.values() for n in (*s.denominator, *s.numerator)}
    roots = _years(nodes)
    every = [n for root in roots for n in _walk(root)]
    den_hidden = {n for s in series.values() for n, v in s.denominator.items() if 0 < v < threshold}
    den_dark: set[Node] = set()
    dens = {
        k: _Count(s.denominator, s.own_denominator, den_hidden, den_dark) for k, s in series.items()
    }
    links = links or {}
    shared: dict[Hashable, tuple[set[Node], set[Node]]] = defaultdict(lambda: (set(), set()))
    nums = {}
    for k, s in series.items():
        if not s.is_proportion:
            continue
        hidden, dark = shared[links.get(k, ("alone", k))]
        hidden |= {n for n, v in s.numerator.items() if 0 < v < threshold}
        # a numerator is at most its denominator: with a small one it is small too
        hidden |= {n for n, v in s.denominator.items() if 0 < v < threshold}
        nums[k] = _Count(s.numerator, s.own_numerator, hidden, dark)
    settled: set = set()
    for _round in range(100_000):
        changed = False
        for key, den in dens.items():
            num = nums.get(key)
            # A shown numerator is a floor under its hidden denominator.
            caps = (
                {}
                if num is None
                else {n: (v, INF) for n, v in num.rest.items() if n not in num.hidden}
            )
            if _settle(den, roots, every, threshold, caps):
                changed = True
                break  # denominators are shared: start again from the first indicator
        if changed:
            continue
        for key, num in nums.items():
            den = dens[key]
            # A shown denominator is a ceiling over its hidden numerator.
            caps = {n: (0, v) for n, v in den.rest.items() if n not in den.hidden}
            if _settle(num, roots, every, threshold, caps):
                changed = True
        if not changed:
            # The trees one by one are settled; now both counts of every indicator together
            # (a numerator is at most its denominator, over any sum of them), and indicators
            # with the same denominators together. Another hidden count restarts the loop.
            found = _joint_pin(series, dens, nums, roots, threshold, settled)
            if found is None:
                return (
                    den_hidden,
                    {k: c.hidden for k, c in nums.items()},
                    den_dark,
                    {k: c.dark for k, c in nums.items()},
                )
            count, node = found
            more = count.complement(node) - count.hidden
            if not more:
                year = set(_walk(next(r for r in roots if r[1].year == node[1].year)))
                if year <= count.dark:
                    settled.add((id(count), node))  # nothing more to hide: let it be
                count.dark |= year
                more = year
            count.hidden |= more
    raise RuntimeError("small-number protection did not settle")  # pragma: no cover


def _joint_pin(series, dens, nums, roots, threshold, settled) -> tuple[_Count, Node] | None:
    """The first hidden small count that the numerators and denominators of a group of
    indicators sharing their denominators give back together, by integer programming."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for key, s in series.items():
        groups[
            (tuple(sorted(s.denominator.items())), tuple(sorted(s.own_denominator.items())))
        ].append(key)
    for keys in groups.values():
        for root in roots:
            nodes = _walk(root)
            # With every denominator of the year shown, each numerator tree has fixed ceilings
            # and the interval pass is already exact: only a hidden denominator couples counts.
            if not any(n in dens[keys[0]].hidden for n in nodes):
                continue
            found = _pin_in_year(keys, dens, nums, nodes, threshold)
            if found is not None and (id(found[0]), found[1]) not in settled:
                return found
    return None


def _pin_in_year(keys, dens, nums, nodes, threshold) -> tuple[_Count, Node] | None:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    den = dens[keys[0]]
    counts = [den] + [nums[k] for k in keys if k in nums]
    variables: dict[tuple[int, Node], int] = {}
    low, high = [], []
    for c, count in enumerate(counts):
        for node in nodes:
            if node in count.hidden and node in count.rest:
                bound = count.bound(node, threshold)
                variables[(c, node)] = len(variables)
                low.append(bound[0])
                high.append(min(bound[1], 10**7))
    candidates = [
        (c, node) for (c, node) in variables if 0 < counts[c].rest.get(node, 0) < threshold
    ]
    if not candidates:
        return None

    def term(c: int, node: Node):
        return variables.get((c, node)), counts[c].rest.get(node, 0)

    rows, levels = [], []
    for c in range(len(counts)):
        for node in nodes:
            below = children(node)
            if not below:
                continue
            row, constant = np.zeros(len(variables)), 0.0
            for other, sign in [(node, 1.0)] + [(b, -1.0) for b in below]:
                index, value = term(c, other)
                if index is None:
                    constant += sign * value
                else:
                    row[index] += sign
            if row.any():
                rows.append(row)
                levels.append((-constant, -constant))
    for c in range(1, len(counts)):  # numerator <= denominator, node by node
        for node in nodes:
            (n_index, n_value), (d_index, d_value) = term(c, node), term(0, node)
            if n_index is None and d_index is None:
                continue
            row, constant = np.zeros(len(variables)), 0.0
            if n_index is None:
                constant += n_value
            else:
                row[n_index] += 1.0
            if d_index is None:
                constant -= d_value
            else:
                row[d_index] -= 1.0
            rows.append(row)
            levels.append((-np.inf, -constant))
    constraints = []
    if rows:
        bounds = np.array(levels, dtype=float)
        constraints = [LinearConstraint(np.array(rows), bounds[:, 0], bounds[:, 1])]
    box = Bounds(np.array(low, dtype=float), np.array(high, dtype=float))
    for c, node in candidates:
        index, true = variables[(c, node)], counts[c].rest.get(node, 0)
        pinned = True
        for sign in (1.0, -1.0):  # the smallest fit, then the largest: one differs, it is free
            objective = np.zeros(len(variables))
            objective[index] = sign
            result = milp(
                objective,
                constraints=constraints,
                integrality=np.ones(len(variables)),
                bounds=box,
            )
            if not result.success or round(result.x[index]) != true:
                pinned = False
                break
        if pinned:
            return counts[c], node
    return None


def protect_pool(
    pool: Iterable[Mapping],
    known: Mapping[Key, tuple[int, int]],
    *,
    threshold: int = 5,
    links: Mapping[int, Hashable] | None = None,
) -> dict[Key, dict]:
    """The pool's results (``ALL``: dicts with ``definition_id``, ``period_type``,
    ``period_start``, ``numerator``, ``denominator``, ``missing`` and the derived fields) as a
    viewer may see them, who sees exactly the departments whose summed (numerator, denominator)
    per result key are ``known``.

    A hidden count becomes "<5" when the pooled count itself is under the threshold, else None;
    whatever it would give back (value, interval, mean, quartiles, target status) becomes None.
    The missing count is never shown here (the difference between two indicators'
    denominators would give a hidden one back). Each row gets ``protected``: True when any of
    its counts is hidden.
    """
    rows = {(r["definition_id"], r["period_type"], r["period_start"]): dict(r) for r in pool}
    series: dict[int, _Series] = defaultdict(_Series)
    for (definition, kind, start), row in rows.items():
        own_num, own_den = known.get((definition, kind, start), (0, 0))
        node = (kind, start)
        s = series[definition]
        s.is_proportion = row.get("numerator") is not None
        s.own_denominator[node] = int(own_den or 0)
        s.denominator[node] = int(row["denominator"]) - s.own_denominator[node]
        if s.is_proportion:
            s.own_numerator[node] = int(own_num or 0)
            s.numerator[node] = int(row["numerator"]) - s.own_numerator[node]
    den_hidden, num_hidden, den_dark, num_dark = hidden_cells(series, threshold, links)
    label = small_label(threshold)
    shown: dict[Key, dict] = {}
    for key, row in rows.items():
        definition, kind, start = key
        node = (kind, start)
        out = dict(row)
        out["missing"] = None
        hide_den = node in den_hidden
        hide_num = node in num_hidden.get(definition, ())
        if hide_den:
            small = row["denominator"] < threshold and node not in den_dark
            out["denominator"] = label if small else None
        if hide_num:
            small = row["numerator"] < threshold and node not in num_dark[definition]
            out["numerator"] = label if small else None
        if hide_den or hide_num:
            for name in DERIVED:
                if name in out:
                    out[name] = None
        out["protected"] = hide_den or hide_num
        shown[key] = out
    return shown


def exact_pool(pool: Iterable[Mapping]) -> dict[Key, dict]:
    """The pool as a viewer who sees every department exactly sees it."""
    return {
        (r["definition_id"], r["period_type"], r["period_start"]): dict(r, protected=False)
        for r in pool
    }
