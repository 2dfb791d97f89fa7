"""Synthetic extracts for registry profiles (profile-format.md), beside DCCG's own generator.

``kraeftpakke_frame`` makes realistic cancer patient pathways for ``registries/kraeftpakke.toml``;
``profile_frame`` makes valid random rows for any profile, so that a new profile file can be
tried before a real extract exists; ``write_profile_extract`` writes either as the profile reads
it. Free of Django like ``synthetic``, whose departments, CPR numbers and day arithmetic it uses:
dates are integer day numbers, formatted through a table of the few thousand distinct days.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from indicators.registry.cpr import cpr_values, has_cpr
from indicators.registry.profile_file import ProfileSpec
from indicators.registry.profiles import Column
from indicators.registry.synthetic import (
    _BLANK,
    _ORD_1970,
    DEFAULT_END,
    DEFAULT_START,
    DEPARTMENTS,
    XLSX_MAX_ROWS,
    _ages,
    _birth_days,
    _cpr_suffixes,
    _day,
    _format_cpr,
    _lognormal_days,
    _ymd,
)

KRAEFTPAKKE_COLUMNS: tuple[str, ...] = (
    "cpr", "sygehus_kode", "sygehus_navn", "afdeling_kode", "afdeling_navn", "kommune_kode",
    "pakke", "henvisning_dato", "foerste_fremmoede_dato", "beslutning_dato",
    "behandling_start_dato", "behandling", "alder",
)  # fmt: skip
KRAEFTPAKKE_DATE_FORMAT = "%d-%m-%Y"
PACKAGES: tuple[str, ...] = (
    "Tyk- og endetarmskræft", "Brystkræft", "Lungekræft", "Prostatakræft", "Hoved-halskræft",
)  # fmt: skip
STANDARD_DAYS: tuple[int, ...] = (30, 25, 35, 45, 35)  # kraeftpakke.toml's indicators
_PACKAGE_SHARE = np.array([0.22, 0.27, 0.2, 0.19, 0.12])
_MALE_SHARE = np.array([0.55, 0.01, 0.5, 1.0, 0.7])
_AGE_MEAN, _AGE_SD = np.array([70, 62, 70, 69, 64]), np.array([10, 12, 9, 7, 10])
# Median days of referral -> first attendance -> decision -> start of treatment, per package,
# for a department of average pace: about 85 % of its pathways keep the standard time.
_STEP_MEDIAN = np.array([[5, 8, 7], [4, 6, 5], [5, 11, 8], [7, 15, 10], [5, 10, 8]], dtype=float)
_STEP_SIGMA = np.array([0.55, 0.5, 0.5])
# Initial treatment per package (operation, medicine, radiotherapy) and how it stretches the
# last step; the spellings the profile accepts for each, as registries write them.
_TREATMENT_P = np.array([[0.7, 0.2, 0.1], [0.8, 0.15, 0.05], [0.35, 0.35, 0.3],
                         [0.4, 0.2, 0.4], [0.4, 0.05, 0.55]])  # fmt: skip
_TREATMENT_STRETCH = np.array([1.0, 0.85, 1.3])
_SPELLINGS = (
    (("operation", 0.82), ("kirurgi", 0.12), ("Operation", 0.06)),
    (("medicinsk", 0.8), ("kemoterapi", 0.15), ("Medicinsk", 0.05)),
    (("stråle", 0.6), ("straale", 0.15), ("strålebehandling", 0.12), ("Stråle", 0.13)),
)
# Each department's pace (a factor on every step): some keep the standard times, some do not.
_PACE = {"7005330": 0.74, "5501450": 0.78, "1516150": 0.82, "8001241": 0.86, "6630220": 0.9,
         "4001320": 0.94, "3800120": 1.5, "8002110": 1.45, "4211410": 1.38, "5005140": 1.28,
         "3750160": 1.2}  # fmt: skip
_DEPARTMENT_PACE = np.array([_PACE.get(d.code, 1.0) for d in DEPARTMENTS])
# The 98 municipalities by region (the codes of Danmarks Statistik; the big towns weigh more).
_MUNICIPALITY_TABLE = {
    "Region Hovedstaden": "101 147 151 153 155 157 159 161 163 165 167 169 173 175 183 185 187 "
    "190 201 210 217 219 223 230 240 250 260 270 400",
    "Region Sjælland": "253 259 265 269 306 316 320 326 329 330 336 340 350 360 370 376 390",
    "Region Syddanmark": "410 420 430 440 450 461 479 480 482 492 510 530 540 550 561 563 573 "
    "575 580 607 621 630",
    "Region Midtjylland": "615 657 661 665 671 706 707 710 727 730 740 741 746 751 756 760 766 "
    "779 791",
    "Region Nordjylland": "773 787 810 813 820 825 840 846 849 851 860",
}
_BIG_TOWNS = {101: 8.0, 751: 4.0, 461: 3.0, 851: 3.0, 561: 1.5, 621: 1.5, 630: 1.5, 615: 1.3}
MUNICIPALITIES: dict[str, tuple[int, ...]] = {
    region: tuple(int(code) for code in codes.split())
    for region, codes in _MUNICIPALITY_TABLE.items()
}
_AGE_TEXT = np.array([str(i) for i in range(121)], dtype=object)


def _check_period(rows: int, start: dt.date, end: dt.date) -> None:
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if end < start:
        raise ValueError("end must not be before start")


def format_days(days: np.ndarray, date_format: str) -> np.ndarray:
    """Day numbers since 1970 (``synthetic._BLANK``: blank) as text in ``date_format``."""
    valid = days != _BLANK
    if not valid.any():
        return np.full(days.shape, "", dtype=object)
    lo, hi = int(days[valid].min()), int(days[valid].max())
    table = [dt.date.fromordinal(d + _ORD_1970).strftime(date_format) for d in range(lo, hi + 1)]
    return np.array([*table, ""], dtype=object)[np.where(valid, days - lo, hi - lo + 1)]


def _weekday(days: np.ndarray) -> np.ndarray:
    """The day itself, or the Monday after a Saturday or Sunday (day 0 was a Thursday)."""
    dow = (days + 3) % 7
    return days + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))


def _municipalities(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """A municipality per row: mostly in the region of the row's department."""
    everywhere = np.array(sorted(c for codes in MUNICIPALITIES.values() for c in codes))
    out = rng.choice(everywhere, region.size)
    for r, codes in enumerate(MUNICIPALITIES.values()):
        at = np.flatnonzero((region == r) & (rng.random(region.size) < 0.92))
        weight = np.array([_BIG_TOWNS.get(c, 1.0) for c in codes])
        out[at] = rng.choice(np.array(codes), at.size, p=weight / weight.sum())
    return out


_REGION_INDEX = {name: i for i, name in enumerate(MUNICIPALITIES)}
_DEPARTMENT_REGION = np.array([_REGION_INDEX[d.region] for d in DEPARTMENTS])


def _department_field(name: str, index: np.ndarray) -> np.ndarray:
    return np.array([getattr(d, name) for d in DEPARTMENTS], dtype=object)[index]


# --- cancer patient pathways ---------------------------------------------------------------------


def kraeftpakke_frame(
    rows: int, seed: int = 1, start: dt.date = DEFAULT_START, end: dt.date = DEFAULT_END
) -> pd.DataFrame:
    """`rows` cancer patient pathways referred from `start` to `end`, drawn on `end`.

    Columns are ``KRAEFTPAKKE_COLUMNS`` (the profile's), all text, blanks "". Each department
    has its own pace, so the share within the standard time differs between them; pathways
    still under way on `end` have no later dates yet, and some end without a treatment. A
    few patients have a second pathway; (cpr, pakke, henvisning_dato) is unique.
    The same arguments always give the same frame.
    """
    _check_period(rows, start, end)
    rng = np.random.default_rng(seed)
    lo, hi, n = _day(start), _day(end), rows
    weights = np.array([d.weight for d in DEPARTMENTS])
    dept = rng.choice(len(DEPARTMENTS), n, p=weights / weights.sum())
    package = rng.choice(len(PACKAGES), n, p=_PACKAGE_SHARE)
    days = np.arange(lo, hi + 1)
    weekday = np.where((days + 3) % 7 >= 5, 0.08, 1.0)
    referral = rng.choice(days, n, p=weekday / weekday.sum())
    male = rng.random(n) < _MALE_SHARE[package]
    age = np.clip(np.round(rng.normal(_AGE_MEAN[package], _AGE_SD[package])), 18, 95)
    birth = _birth_days(rng, age.astype(np.int64), referral)
    suffix = _cpr_suffixes(rng, birth, male)
    dash = rng.random(n) < 0.3
    pathways = SimpleNamespace(
        n=n, lo=lo, hi=hi, dept=dept, package=package, referral=referral, male=male, age=age,
        birth=birth, suffix=suffix, dash=dash,
    )  # fmt: skip
    parent, child = _second_pathways(rng, pathways)
    age = _ages(birth, referral)

    above = rng.random(n)[:, None] > np.cumsum(_TREATMENT_P[package], axis=1)
    treatment = np.minimum(above.sum(axis=1), 2)
    month = _ymd(referral)[1]
    slow = _DEPARTMENT_PACE[dept] * np.where(month == 7, 1.25, 1.0)
    steps = [
        _lognormal_days(rng, _STEP_MEDIAN[package, k] * slow, _STEP_SIGMA[k], n) for k in range(3)
    ]
    steps[2] = np.floor(steps[2] * _TREATMENT_STRETCH[treatment]).astype(np.int64)
    attendance = _weekday(referral + steps[0])
    decision = _weekday(attendance + steps[1])
    start_day = _weekday(decision + 1 + steps[2])
    # Some pathways end without a decision (no cancer found, the patient declines) or without
    # a treatment (the patient dies or declines); what has not happened by `end` is blank.
    no_decision = rng.random(n) < 0.08
    no_treatment = no_decision | (rng.random(n) < 0.03)
    attendance = np.where(attendance > hi, _BLANK, attendance)
    decision = np.where(no_decision | (decision > hi), _BLANK, decision)
    start_day = np.where(no_treatment | (start_day > hi), _BLANK, start_day)
    planned = (decision != _BLANK) | (start_day != _BLANK)
    # Registration slips: a missing attendance or decision date, an unrecorded treatment.
    attendance[rng.random(n) < 0.015] = _BLANK
    decision[rng.random(n) < 0.02] = _BLANK
    behandling = np.full(n, "", dtype=object)
    for kind, spellings in enumerate(_SPELLINGS):
        at = np.flatnonzero(planned & (treatment == kind) & (rng.random(n) >= 0.01))
        words, p = zip(*spellings, strict=True)
        behandling[at] = np.array(words, dtype=object)[rng.choice(len(words), at.size, p=p)]
    municipality = _municipalities(rng, _DEPARTMENT_REGION[dept])
    municipality[child] = municipality[parent]
    municipality_text = np.array([f"{c:04d}" for c in range(1000)], dtype=object)[municipality]
    municipality_text[rng.random(n) < 0.02] = ""

    columns = {
        "cpr": _format_cpr(birth, suffix, dash),
        "sygehus_kode": _department_field("hospital_code", dept),
        "sygehus_navn": _department_field("hospital_name", dept),
        "afdeling_kode": _department_field("code", dept),
        "afdeling_navn": _department_field("name", dept),
        "kommune_kode": municipality_text,
        "pakke": np.array(PACKAGES, dtype=object)[package],
        "henvisning_dato": format_days(referral, KRAEFTPAKKE_DATE_FORMAT),
        "foerste_fremmoede_dato": format_days(attendance, KRAEFTPAKKE_DATE_FORMAT),
        "beslutning_dato": format_days(decision, KRAEFTPAKKE_DATE_FORMAT),
        "behandling_start_dato": format_days(start_day, KRAEFTPAKKE_DATE_FORMAT),
        "behandling": behandling,
        "alder": _AGE_TEXT[age],
    }
    return pd.DataFrame(columns, columns=list(KRAEFTPAKKE_COLUMNS))


def _second_pathways(rng: np.random.Generator, p: SimpleNamespace) -> tuple[np.ndarray, ...]:
    """Make about 3 % of rows a second pathway of another row's patient: another package
    (one that fits the patient's sex), a referral within a year of the first, mostly the same
    department. The package differs, so the row key stays unique. Gives (parents, children)."""
    fits = np.flatnonzero((p.age >= 20) & (p.age <= 93))
    k = min(int(p.n * 0.03), fits.size // 2)
    pick = rng.choice(fits, 2 * k, replace=False)
    parent, child = pick[:k], pick[k:]
    for a in (p.birth, p.suffix, p.male, p.dash):
        a[child] = a[parent]
    allowed = np.ones((k, len(PACKAGES)), dtype=bool)
    allowed[np.arange(k), p.package[parent]] = False
    allowed[:, 1] &= ~p.male[child]  # a second pathway keeps to the common packages
    allowed[:, 3] &= p.male[child]
    p.package[child] = np.argmax(np.where(allowed, rng.random((k, len(PACKAGES))), -1.0), axis=1)
    p.dept[child] = np.where(rng.random(k) < 0.8, p.dept[parent], p.dept[child])
    shifted = p.referral[parent] + rng.integers(-365, 366, k)
    p.referral[child] = _weekday(np.clip(shifted, p.lo, p.hi - 2)).clip(p.lo, p.hi)
    return parent, child


# --- any profile ---------------------------------------------------------------------------------

_REDRAWS = 60
_DATE_BLANK, _OTHER_BLANK = 0.35, 0.08
_WORDS = (
    "Kirurgisk", "afdeling", "Medicinsk", "ambulatorium", "Kræftcenter", "Øre-næse-hals", "Nord",
    "Syd", "Øst", "Vest", "sengeafsnit", "Hjerte", "Lunge", "Mave", "tarm", "Urologi", "Onkologi",
    "dagkirurgi", "Ålborg", "Højrisiko", "opfølgning", "kontrol", 'Afsnit "B"', "Kirurgi, Køge",
    "stue; to", "Æblehaven", "Dronning Ingrids", "Gade",
)  # fmt: skip
_ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_CODE = re.compile(r"[A-Za-z0-9]+")


def profile_frame(
    spec: ProfileSpec,
    rows: int,
    seed: int = 1,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> pd.DataFrame:
    """`rows` valid random rows for any profile: its columns in order, all text, blanks "".

    Each column holds what its kind, length, range and choices allow (required columns and
    the row key always, optional ones mostly); dates lie from `start` to `end` in the profile's
    ``date_format`` and keep every ``date_orders`` pair; places come from ``synthetic``'s
    departments where the code lengths allow it, else from codes made up once per department.
    Values an indicator's rules name (a code, a prefix, a text) turn up often, so that the
    standard indicators count something. Raises ValueError when the row key cannot tell
    `rows` rows apart. The same arguments always give the same frame.
    """
    _check_period(rows, start, end)
    rng = np.random.default_rng(seed)
    plan = _Plan(spec, rng)
    lo, hi = _day(start), _day(end)
    text, key = plan.draw(rng, rows, lo, hi)
    for _ in range(_REDRAWS):
        twice, shaped = plan.bad_rows(text, key)
        bad = np.flatnonzero(twice | shaped)
        if not bad.size:
            break
        more_text, more_key = plan.draw(rng, bad.size, lo, hi)
        for name, values in more_text.items():
            text[name][bad] = values
        for name, values in more_key.items():
            key[name][bad] = values
    else:
        if shaped.any():
            raise ValueError(
                f"profile {spec.slug!r}: generated values keep looking like CPR numbers, "
                "which the validator refuses outside the cpr column"
            )
        raise ValueError(
            f"the key ({', '.join(spec.key)}) of profile {spec.slug!r} cannot tell "
            f"{rows} generated rows apart"
        )
    names = [c.name for c in spec.columns]
    return pd.DataFrame({name: text[name] for name in names}, columns=names)


class _Plan:
    """What one profile needs for every draw: its dates in order, its places, rule values."""

    def __init__(self, spec: ProfileSpec, rng: np.random.Generator) -> None:
        some_days = [dt.date(2020, 1, 1) + dt.timedelta(days=k) for k in range(0, 366, 7)]
        if all(has_cpr(day.strftime(spec.date_format)) for day in some_days):
            raise ValueError(
                f"profile {spec.slug!r}: every date written as {spec.date_format!r} looks like "
                "a CPR number, which the validator refuses outside the cpr column"
            )
        self.spec = spec
        self.must = {c.name for c in spec.columns if c.required or c.kind == "cpr"}
        self.must |= {*spec.key, spec.period, spec.hospital_code, spec.department_code}
        self.places = _places(spec, rng)
        self.place_names = {*self.places.columns, spec.municipality_code}
        self.date_groups = list(_date_groups(spec))
        self.literals = _rule_literals(spec)

    def draw(self, rng: np.random.Generator, n: int, lo: int, hi: int):
        """Text of every column, and the canonical value of the key's (as the validator
        compares them: CPR digits, upper-case codes, stored choices, numbers, days)."""
        spec = self.spec
        days = self.dates(rng, n, lo, hi)
        dept = rng.choice(len(DEPARTMENTS), n, p=self.places.weights)
        text: dict[str, np.ndarray] = {}
        key: dict[str, np.ndarray] = {}
        for c in spec.columns:
            if c.name == spec.municipality_code:
                values = canonical = _municipality_codes(rng, dept, c.length)
            elif c.name in self.places.columns:
                values = canonical = self.places.columns[c.name][dept]
            elif c.kind == "date":
                values, canonical = format_days(days[c.name], spec.date_format), days[c.name]
            else:
                literals = self.literals.get(c.field, ())
                values, canonical = _DRAW[c.kind](rng, n, c, c.name in spec.key, literals)
            if c.kind != "date" and c.name not in self.must:
                gone = rng.random(n) < (0.03 if c.name in self.place_names else _OTHER_BLANK)
                values = np.where(gone, "", values).astype(object)
            text[c.name] = np.array(values, dtype=object)  # a copy: redraws write into it
            if c.name in spec.key:
                key[c.name] = np.array(canonical)
        return text, key

    def dates(self, rng: np.random.Generator, n: int, lo: int, hi: int) -> dict[str, np.ndarray]:
        """Each date after every earlier date of the orders that is present, from `lo` to `hi`;
        a date with none present falls anywhere in the period."""
        days: dict[str, np.ndarray] = {}
        for members, earlier in self.date_groups:
            base = np.full(n, _BLANK, dtype=np.int64)
            for name in earlier:
                base = np.maximum(base, days[name])
            gap = np.floor(rng.gamma(1.3, 9.0, n)).astype(np.int64)
            fresh = lo + rng.integers(0, hi - lo + 1, n)
            day = np.where(base != _BLANK, np.minimum(base + gap, hi), fresh)
            for name in members:
                gone = (rng.random(n) < _DATE_BLANK) & (name not in self.must)
                days[name] = np.where(gone, _BLANK, day)
        return days

    def bad_rows(self, text: dict, key: dict) -> tuple[np.ndarray, np.ndarray]:
        """Per row: does an earlier row have its key; does it have a CPR-shaped value outside
        the cpr column (a number or a date format can make one; the validator refuses it)."""
        frame = pd.DataFrame({name: pd.Series(values) for name, values in key.items()})
        twice = frame.duplicated(keep="first").to_numpy()
        shaped = np.zeros(len(twice), dtype=bool)
        for c in self.spec.columns:
            if c.kind != "cpr":
                codes, uniques = pd.factorize(pd.Series(text[c.name]))
                found = cpr_values(pa.array(uniques.astype(str), type=pa.string()))
                if found.any():
                    shaped |= found[codes]
        return twice, shaped


def _date_groups(spec: ProfileSpec) -> Iterator[tuple[list[str], list[str]]]:
    """The date columns as (columns that must share a day, columns that must come before them),
    each group after all its earlier ones. Orders that close a circle make equal days."""
    names = [c.name for c in spec.columns if c.kind == "date"]
    at = {name: i for i, name in enumerate(names)}
    before = np.zeros((len(names), len(names)), dtype=bool)  # before[a, b]: a <= b
    for order in spec.date_orders:
        before[at[order.earlier], at[order.later]] = True
    for k in range(len(names)):  # transitive closure (Floyd-Warshall)
        before |= before[:, [k]] & before[[k], :]
    groups, seen = [], set()
    for i in range(len(names)):
        if i in seen:
            continue
        members = [j for j in range(len(names)) if j == i or (before[i, j] and before[j, i])]
        seen.update(members)
        earlier = [a for a in range(len(names)) if before[a, i] and a not in members]
        groups.append(([names[j] for j in members], [names[a] for a in earlier]))
    # A group's earlier groups have strictly fewer earlier columns than it has.
    groups.sort(key=lambda group: len(group[1]))
    yield from groups


def _rule_literals(spec: ProfileSpec) -> dict[str, list[tuple[str, str]]]:
    """Per field, the (op, value) texts the indicators' rules compare it with."""
    found: dict[str, list[tuple[str, str]]] = {}

    def walk(node: Any) -> None:
        if not isinstance(node, Mapping):
            return
        for name in ("all", "any"):
            for child in node.get(name, ()):
                walk(child)
        walk(node.get("not"))
        if "field" in node and "value" in node:
            values = node["value"] if isinstance(node["value"], list) else [node["value"]]
            for value in values:
                if isinstance(value, str):
                    found.setdefault(node["field"], []).append((node["op"], value))

    for indicator in spec.indicators:
        for rule in (indicator.population, indicator.missing, indicator.event):
            walk(rule)
    return found


def _places(spec: ProfileSpec, rng: np.random.Generator) -> SimpleNamespace:
    """Per department of ``DEPARTMENTS``: the text of each place column. Codes that do not fit
    the column's length are made up, one per hospital and one per department."""
    columns = {c.name: c for c in spec.columns}
    hospitals = sorted({d.hospital_code for d in DEPARTMENTS})
    hospital = np.array([hospitals.index(d.hospital_code) for d in DEPARTMENTS])
    out: dict[str, np.ndarray] = {}
    for name, attr, fits, which in (
        (spec.hospital_code, "hospital_code", 4, hospital),
        (spec.department_code, "code", 7, np.arange(len(DEPARTMENTS))),
    ):
        length = columns[name].length
        if length in (None, fits):
            out[name] = _department_field(attr, np.arange(len(DEPARTMENTS)))
        else:
            out[name] = _distinct_codes(rng, int(which.max()) + 1, length)[which]
    for name, attr in ((spec.hospital_name, "hospital_name"), (spec.department_name, "name")):
        if name is not None:
            length = columns[name].length or 10_000
            names = [getattr(d, attr)[:length].strip() for d in DEPARTMENTS]
            out[name] = np.array(names, dtype=object)
    weights = np.array([d.weight for d in DEPARTMENTS])
    return SimpleNamespace(columns=out, weights=weights / weights.sum())


def _municipality_codes(rng: np.random.Generator, dept: np.ndarray, length: int | None):
    """Municipality codes as 4 digits ("0101"), or as many as the column's length has."""
    codes = _municipalities(rng, _DEPARTMENT_REGION[dept])
    width = length or 4
    table = [f"{c:0{width}d}" if width >= 3 else f"{c % 10**width:0{width}d}" for c in range(1000)]
    return np.array(table, dtype=object)[codes]


def _distinct_codes(rng: np.random.Generator, count: int, length: int) -> np.ndarray:
    found: dict[str, None] = {}
    while len(found) < count:
        found.update(dict.fromkeys(_codes(rng, count, length)))
    return np.array(list(found)[:count], dtype=object)


def _codes(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Random codes of digits and capitals; never ten digits in a row (a CPR number's shape)."""
    chars = _ALNUM[rng.integers(0, 36, (n, length))]
    if length >= 10:
        chars[:, 4::5] = _ALNUM[10 + rng.integers(0, 26, (n, len(range(4, length, 5))))]
    return np.ascontiguousarray(chars).view(f"S{length}").ravel().astype(str).astype(object)


def _draw_cpr(rng: np.random.Generator, n: int, c: Column, in_key: bool, literals):
    birth = rng.integers(_day(dt.date(1925, 1, 1)), _day(dt.date(2005, 12, 31)) + 1, n)
    suffix = _cpr_suffixes(rng, birth, rng.random(n) < 0.5)
    text = _format_cpr(birth, suffix, rng.random(n) < 0.3)
    return text, birth * 10_000 + suffix


def _pick(rng: np.random.Generator, values: np.ndarray, pool: list[str], share: float):
    """`values` with about `share` of them replaced by values from `pool`."""
    if pool:
        at = np.flatnonzero(rng.random(values.size) < share)
        values[at] = np.array(pool, dtype=object)[rng.integers(0, len(pool), at.size)]
    return values


def _draw_code(rng: np.random.Generator, n: int, c: Column, in_key: bool, literals):
    length = c.length or 5
    fits = re.compile(rf"[A-Za-z0-9]{{{c.length}}}" if c.length else r"[A-Za-z0-9]{1,10}")
    pool = [v for op, v in literals if op != "startswith" and fits.fullmatch(v)]
    for prefix in (v for op, v in literals if op == "startswith" and _CODE.fullmatch(v)):
        if len(prefix) < length:
            pool += [prefix + rest for rest in _codes(rng, 4, length - len(prefix))]
        elif fits.fullmatch(prefix):
            pool.append(prefix)
    if in_key:
        values = _codes(rng, n, length)
    else:
        distinct = _codes(rng, min(60, 36**length), length)
        values = distinct[rng.integers(0, distinct.size, n)]
    if not in_key:  # a key's values must differ, a rule's value is one
        pool = [v for v in pool if not cpr_values(pa.array([v])).any()]
        values = _pick(rng, values, pool, 0.35)
    canonical = pd.Series(values, dtype=object).str.upper().to_numpy(dtype=object)
    lower = rng.random(n) < 0.1
    values[lower] = pd.Series(values[lower], dtype=object).str.lower().to_numpy(dtype=object)
    return values, canonical


def _draw_text(rng: np.random.Generator, n: int, c: Column, in_key: bool, literals):
    length = c.length or 40
    if in_key:
        letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
        width = min(length, 8)
        chars = letters[rng.integers(0, 26, (n, width))]
        values = np.ascontiguousarray(chars).view(f"S{width}").ravel().astype(str).astype(object)
    else:
        words = [" ".join(rng.choice(_WORDS, rng.integers(1, 4))) for _ in range(40)]
        distinct = np.array([w[:length].strip() for w in words], dtype=object)
        values = distinct[rng.integers(0, distinct.size, n)]
    pool = []
    for op, value in literals:
        value = f"{value} {rng.choice(_WORDS)}" if op == "startswith" else value
        value = value[:length].strip()
        if value and not cpr_values(pa.array([value])).any():
            pool.append(value)
    if not in_key:
        values = _pick(rng, values, pool, 0.35)
    return values, pd.Series(values, dtype=object).str.strip().to_numpy(dtype=object)


def _draw_choice(rng: np.random.Generator, n: int, c: Column, in_key: bool, literals):
    """A stored value, evenly; then one of its spellings, now and then in other letter case."""
    stored = list(dict.fromkeys(c.choices.values()))
    which = rng.integers(0, len(stored), n)
    values = np.empty(n, dtype=object)
    for i, value in enumerate(stored):
        spellings: list[str] = []
        for spelling, target in c.choices.items():
            if target != value:
                continue
            usual = value if isinstance(value, str) and value.lower() == spelling else spelling
            others = (spelling, spelling.upper(), spelling.capitalize())
            spellings += [usual, *(s for s in others if s.lower() == spelling and s != usual)]
        at = np.flatnonzero(which == i)
        weight = np.array([4.0 if s in c.choices or s == value else 1.0 for s in spellings])
        values[at] = np.array(spellings, dtype=object)[
            rng.choice(len(spellings), at.size, p=weight / weight.sum())
        ]
    return values, which


def _bounds(c: Column, width: float) -> tuple[float, float]:
    low, high = c.low, c.high
    if low is None and high is None:
        return 0, width
    if low is None:
        return high - width, high
    if high is None:
        return low, low + width
    return low, high


def _draw_int(rng: np.random.Generator, n: int, c: Column, in_key: bool, literals):
    low, high = _bounds(c, 120)
    values = rng.integers(int(low), int(high), n, endpoint=True)
    return pd.Series(values).astype(str).to_numpy(dtype=object), values


def _draw_decimal(rng: np.random.Generator, n: int, c: Column, in_key: bool, literals):
    """Two decimals (more where the range is narrower), a comma or a point, sometimes none."""
    low, high = _bounds(c, 100.0)
    for digits in (2, 4, 6):
        scale = 10**digits
        first, last = int(np.ceil(low * scale)), int(np.floor(high * scale))
        if first <= last:
            break
    else:  # low == high with more decimals than six
        text = np.format_float_positional(low, trim="-")
        return np.full(n, text, dtype=object), np.full(n, low)
    values = rng.integers(first, last, n, endpoint=True)
    whole, part = np.divmod(np.abs(values), scale)
    sign = np.where(values < 0, "-", "")
    mark = np.where(rng.random(n) < 0.7, ",", ".")
    decimals = pd.Series(part).astype(str).str.zfill(digits).to_numpy(dtype=object)
    text = sign + pd.Series(whole).astype(str).to_numpy(dtype=object) + mark + decimals
    plain = (part == 0) & (rng.random(n) < 0.5)
    text[plain] = (sign + pd.Series(whole).astype(str).to_numpy(dtype=object))[plain]
    return text.astype(object), values / scale


_DRAW = {
    "cpr": _draw_cpr,
    "code": _draw_code,
    "text": _draw_text,
    "choice": _draw_choice,
    "int": _draw_int,
    "decimal": _draw_decimal,
}


# --- writing -------------------------------------------------------------------------------------

_INT_TEXT = re.compile(r"-?\d{1,15}")
_DECIMAL_TEXT = re.compile(r"-?\d{1,15}([,.]\d+)?")
_EXCEL_DATE = (("%d", "DD"), ("%m", "MM"), ("%Y", "YYYY"), ("%y", "YY"), ("%b", "MMM"))


def write_profile_extract(
    frame: pd.DataFrame, path: str | os.PathLike[str], spec: ProfileSpec, fmt: str = "csv"
) -> None:
    """Write `frame` as the profile reads it.

    ``csv``: the profile's delimiter, UTF-8 without BOM, '\\n' line ends, quoting only where
    needed. ``xlsx``: one sheet; dates as date cells, whole numbers and decimals as numbers,
    the rest (codes with leading zeros too) as text; a value that does not parse stays text.
    xlsx goes through openpyxl cell by cell: small files only (up to ~100k rows).
    """
    if fmt == "csv":
        cols = [frame[c].to_numpy(dtype=object, na_value="") for c in frame.columns]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(
                fh, delimiter=spec.delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL
            )
            writer.writerow(list(frame.columns))
            writer.writerows(zip(*cols, strict=True))
    elif fmt == "xlsx":
        _write_xlsx(frame, path, spec)
    else:
        raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'xlsx'")


def _cells(series: pd.Series, column: Column | None, date_format: str) -> list:
    text = series.to_numpy(dtype=object, na_value="")
    kind = column.kind if column is not None else "text"
    typed: list = [None] * len(text)
    if kind == "date":
        parsed = pd.to_datetime(pd.Series(text).astype(str), format=date_format, errors="coerce")
        typed = [None if pd.isna(p) else p.to_pydatetime() for p in parsed]
    elif kind == "int":
        typed = [int(v) if _INT_TEXT.fullmatch(v) and abs(int(v)) < 2**53 else None for v in text]
    elif kind == "decimal":
        # The reader writes a number cell back as repr() does: keep the text where that would
        # read differently (1e-06).
        typed = [float(v.replace(",", ".")) if _DECIMAL_TEXT.fullmatch(v) else None for v in text]
        typed = [None if t is not None and "e" in repr(t) else t for t in typed]
    return [t if t is not None else (v or None) for v, t in zip(text, typed, strict=True)]


def _write_xlsx(frame: pd.DataFrame, path: str | os.PathLike[str], spec: ProfileSpec) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if len(frame) > XLSX_MAX_ROWS:
        raise ValueError(f"an xlsx sheet holds at most {XLSX_MAX_ROWS:,} rows")
    number_format = spec.date_format
    for directive, excel in _EXCEL_DATE:
        number_format = number_format.replace(directive, excel)
    if "%" in number_format:
        number_format = "YYYY-MM-DD"  # only how Excel shows it; the cell is a date
    columns = {c.name: c for c in spec.columns}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Udtræk")
    ws.append(list(frame.columns))
    cols = [_cells(frame[c], columns.get(str(c)), spec.date_format) for c in frame.columns]
    for row in zip(*cols, strict=True):
        cells = []
        for v in row:
            if isinstance(v, dt.datetime):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = number_format
                cells.append(cell)
            else:
                cells.append(v)
        ws.append(cells)
    wb.save(path)
