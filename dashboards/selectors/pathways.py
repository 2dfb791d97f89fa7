"""Cancer pathway times (the ``kraeftpakke`` registry) as leadership reads them, the way
eSundhed publishes them: per package x region or hospital x quarter, the number of pathways,
the share within the package's standard time with its interval, and the quartiles of the days
of each step (referral -> first attendance -> decision -> start of treatment).

Computed from the current rows of the departments in the leader's scope only, and shown only for
groups that lie wholly inside it: every number is one the leader may see exactly (departments in
scope are seen exactly, docs/privacy.md), and nothing outside the scope is shown or pooled, so
nothing can be subtracted from anything.

The standard time of each package is read from the installed profile's standard indicators (a
proportion whose population is one package and whose event is ``days [from, to] le N``): change
the profile, and the page follows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from departments.models import Department
from indicators import engine, stats
from indicators.models import Registry
from indicators.registry import catalog
from indicators.services import currency
from indicators.services.rows import Source, read_current_rows

REGISTRY = "kraeftpakke"
PACKAGE = "pakke"
# The steps of a pathway, in order: (from, to) date fields of the kræftpakke profile.
STEPS = (
    ("henvisning_dato", "foerste_fremmoede_dato"),
    ("foerste_fremmoede_dato", "beslutning_dato"),
    ("beslutning_dato", "behandling_start_dato"),
)
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Standard:
    days: int
    start: str  # the date field the time runs from
    end: str  # ... and to


@dataclass
class Cell:
    pathways: int
    treated: int  # with both dates of the standard time
    within: int
    share: float | None
    ci_low: float | None
    ci_high: float | None
    quartiles: list[tuple[float, float, float] | None] = field(default_factory=list)  # per step


@dataclass
class Package:
    name: str
    standard: Standard | None
    groups: list[str]
    quarters: list[dt.date]
    cells: dict[tuple[str, dt.date], Cell]


def standards(spec) -> dict[str, Standard]:
    """Each package's standard time, from the profile's standard indicators."""
    found = {}
    for indicator in spec.indicators:
        if indicator.kind != "proportion" or not indicator.event:
            continue
        event, population = indicator.event, indicator.population
        parts = population.get("all", [population]) if isinstance(population, dict) else []
        packages = [
            p["value"]
            for p in parts
            if isinstance(p, dict) and p.get("field") == PACKAGE and p.get("op") == "eq"
        ]
        if len(packages) == 1 and "days" in event and event.get("op") == "le":
            found[packages[0]] = Standard(int(event["value"]), *event["days"])
    return found


def groups_in_scope(departments: list[Department], by: str) -> dict[int, str]:
    """Department id -> its group's name, for groups wholly inside the scope: a region (or
    hospital) shows only if every department with pathways in it is one the leader sees."""
    with_rows = {
        d.pk: d
        for d in Department.objects.select_related("hospital__region").filter(
            pk__in=currency.with_current_rows(Department.objects.all(), REGISTRY).values("pk")
        )
    }
    seen = {d.pk for d in departments}
    members: dict[str, set[int]] = defaultdict(set)
    for pk, department in with_rows.items():
        members[_group_of(department, by)].add(pk)
    return {pk: name for name, pks in members.items() if pks <= seen for pk in pks}


def _group_of(department: Department, by: str) -> str:
    hospital = department.hospital
    if by == "hospital":
        return hospital.name or hospital.code
    return hospital.region.name if hospital.region else "–"


def pathway_times(departments: list[Department], by: str = "region") -> list[Package]:
    """The table of each package, for the leader's departments (see the module's doc)."""
    registry = Registry.objects.filter(slug=REGISTRY, version__gt=0).first()
    if registry is None or not departments:
        return []
    group_of = groups_in_scope(departments, by)
    if not group_of:
        return []
    source = Source.of(registry)
    fields = {PACKAGE, *(f for step in STEPS for f in step)}
    rows = read_current_rows(
        source, currency.restrict(currency.sources(registry), list(group_of)), fields
    )
    if rows.empty:
        return []
    spec = catalog.spec(REGISTRY)
    standard = standards(spec)
    day = rows[engine.PERIOD].to_numpy(dtype=float)
    month = day.astype(np.int64).astype("M8[D]").astype("M8[M]").astype(np.int64)
    quarter = (month // 3) * 3
    frame = pd.DataFrame(
        {
            "group": rows["department_id"].map(group_of).to_numpy(),
            "quarter": quarter,
            "package": rows[PACKAGE].astype(object).to_numpy(),
        }
    )
    steps = [rows[b].to_numpy(dtype=float) - rows[a].to_numpy(dtype=float) for a, b in STEPS]
    packages = []
    for name in spec_packages(spec):
        mine = (frame["package"] == name).to_numpy()
        if not mine.any():
            continue
        rule = standard.get(name)
        waited = None
        if rule is not None:
            waited = rows[rule.end].to_numpy(dtype=float) - rows[rule.start].to_numpy(dtype=float)
        cells = {}
        keys = frame[mine].groupby(["group", "quarter"]).indices
        for (group, q), positions in keys.items():
            index = np.flatnonzero(mine)[positions]
            cells[(group, _quarter_start(q))] = _cell(index, waited, rule, steps)
        packages.append(
            Package(
                name,
                rule,
                sorted({g for g, _q in cells}),
                sorted({q for _g, q in cells}),
                cells,
            )
        )
    return packages


def spec_packages(spec) -> list[str]:
    """The packages in the profile's order of choices."""
    column = next(c for c in spec.columns if c.field == PACKAGE)
    return list(dict.fromkeys(str(v) for v in column.choices.values()))


def _quarter_start(months_since_1970: int) -> dt.date:
    year, month = divmod(int(months_since_1970), 12)
    return dt.date(1970 + year, month + 1, 1)


def _cell(index: np.ndarray, waited, rule: Standard | None, steps) -> Cell:
    treated = within = 0
    share = low = high = None
    if rule is not None:
        days = waited[index]
        known = ~np.isnan(days)
        treated = int(known.sum())
        within = int((days[known] <= rule.days).sum())
        if treated:
            share = within / treated
            lo, hi = stats.wilson_interval(within, treated)
            low, high = float(lo), float(hi)
    quartiles = []
    for values in steps:
        days = values[index]
        days = days[~np.isnan(days)]
        quartiles.append(
            tuple(float(v) for v in np.percentile(days, [25, 50, 75])) if len(days) else None
        )
    return Cell(len(index), treated, within, share, low, high, quartiles)
