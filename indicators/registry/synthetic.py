"""Synthetic DCCG-style registry extracts (profile ``dccg``, version 1).

Used by the demo data, the tests and the benchmarks, so it must stay free of Django. Every row is
valid per ``extract-format.md``; tests that need invalid rows mutate valid ones themselves.

The outcome model is a small causal chain rather than independent columns, so that the indicators
computed from it relate the way clinicians expect: patient risk (ASA, age, acute priority) and the
department's quality drive the Clavien-Dindo grade, and the grade drives leaks, reoperations,
length of stay, readmissions and deaths. One department (``CHANGE_DEPARTMENT``) halves its major
complication rate from ``CHANGE_DATE`` (or the ``change_date`` given), so its SPC chart shows a
shift.

The grade is consistent with what happened (see ``generate_frame``): an anastomotic leak is at
least grade II, a reoperation within 30 days at least IIIb, and a death within 30 days grade V.

Everything is vectorised numpy; dates are handled as integer day numbers and formatted through a
lookup table, because per-element ``strftime`` on a million rows costs seconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

COLUMNS: tuple[str, ...] = (
    "cpr", "sygehus_kode", "sygehus_navn", "afdeling_kode", "afdeling_navn", "indl_dato",
    "opr_dato", "udskr_dato", "procedurekode", "lokalisation", "prioritet", "asa", "alder",
    "koen", "bmi", "anastomose", "anastomoselaekage", "clavien_dindo", "reoperation_dato",
    "genindl_dato", "doed_dato",
)  # fmt: skip
DATE_COLUMNS: tuple[str, ...] = (
    "indl_dato", "opr_dato", "udskr_dato", "reoperation_dato", "genindl_dato", "doed_dato",
)  # fmt: skip
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row


@dataclass(frozen=True)
class SyntheticDepartment:
    region: str
    hospital_code: str
    hospital_name: str
    code: str
    name: str
    weight: float


_REGIONS = {"H": "Region Hovedstaden", "SJ": "Region Sjælland", "SD": "Region Syddanmark",
            "MJ": "Region Midtjylland", "NJ": "Region Nordjylland"}  # fmt: skip
# region | hospital | hospital name | department | department name | volume weight | quality, the
# department's log-odds shift of a major complication (some clearly better, some clearly worse).
# The first 14 are the departments of sample-extract.csv, with the same codes and names, except
# that the sample spells Køge's "Kirurgisk Afdeling; Køge" to exercise the format's quoting.
_DEPARTMENT_TABLE = """\
H |1330|Bispebjerg og Frederiksberg Hospital|1330300|Abdominalcenter K, Bispebjerg|7|0
H |1516|Herlev og Gentofte Hospital|1516150|Mave-, Tarm- og Leverkirurgi, Herlev|9|-0.25
H |4001|Nordsjællands Hospital, Hillerød|4001320|Kirurgisk Afdeling, Hillerød|5|0
H |6006|Hvidovre Hospital|6006050|Gastroenheden, Kirurgisk Sektion, Hvidovre|8|0
SJ|3800|Nykøbing Falster Sygehus|3800120|Kirurgisk Afdeling, Nykøbing F.|2|0.5
SJ|4202|Sjællands Universitetshospital, Køge|4202200|Kirurgisk Afdeling, Køge|7|0
SJ|4211|Sjællands Universitetshospital, Roskilde|4211410|Kirurgi, Roskilde|3|0.35
SD|5005|Sydvestjysk Sygehus, Esbjerg|5005140|Kirurgisk Afdeling, Esbjerg|4|0.15
SD|5501|Odense Universitetshospital|5501450|Kirurgisk Afdeling A, Odense|8|-0.3
SD|6630|Sygehus Lillebælt, Vejle|6630220|Kirurgisk Afdeling, Vejle|7|0.1
MJ|7005|Aarhus Universitetshospital|7005330|Mave- og Tarmkirurgi, Aarhus|8|-0.45
MJ|7601|Regionshospitalet Gødstrup|7601160|Kirurgi, Gødstrup|5|0
NJ|8001|Aalborg Universitetshospital|8001241|Mave- og Tarmkirurgi, Aalborg|8|-0.1
NJ|8003|Regionshospital Nordjylland, Hjørring|8003130|Kirurgisk Afdeling, Hjørring|4|0.2
H |1301|Rigshospitalet|1301260|Abdominalcentret, Rigshospitalet|1.5|0
SJ|3750|Slagelse Sygehus|3750160|Kirurgisk Afdeling, Slagelse|6|0
SD|5001|Sygehus Sønderjylland, Aabenraa|5001060|Kirurgisk Afdeling, Aabenraa|4|0
SD|5502|OUH Svendborg Sygehus|5502310|Kirurgisk Afdeling, Svendborg|3|0
MJ|7003|Regionshospitalet Randers|7003120|Kirurgisk Afdeling, Randers|4|0
MJ|7603|Regionshospitalet Viborg|7603230|Kirurgi, Viborg|4|0
NJ|8002|Aalborg Universitetshospital, Thisted|8002110|Kirurgisk Afdeling, Thisted|1.2|0.3
"""
_ROWS = [line.split("|") for line in _DEPARTMENT_TABLE.splitlines()]
DEPARTMENTS: tuple[SyntheticDepartment, ...] = tuple(
    SyntheticDepartment(_REGIONS[r.strip()], h, hn, c, cn, float(w))
    for r, h, hn, c, cn, w, _ in _ROWS
)
_QUALITY = np.array([float(row[-1]) for row in _ROWS])
REGION_OF_HOSPITAL: dict[str, str] = {d.hospital_code: d.region for d in DEPARTMENTS}

# A fixed default period, so that the same arguments always give the same frame; the demo asks
# for the last three years instead (``demo_period``).
DEFAULT_START, DEFAULT_END = dt.date(2019, 1, 1), dt.date(2024, 12, 31)
CHANGE_DEPARTMENT = "4202200"
CHANGE_DATE = dt.date(2022, 3, 1)
CHANGE_LABEL = "ERAS-forløb og ny stapler indført"
_CHANGE_BEFORE, _CHANGE_AFTER = 0.35, -0.5

# NCSP codes (texts in data/ncsp.csv). Colon: ileocaecal resection, right hemicolectomy, left
# hemicolectomy, sigmoid resection, colectomy and ileostomy. Rectum: resection of the rectum
# (anterior resection), resection with colostomy (Hartmann), abdominal and extralevator excision.
_PROCEDURES = np.array(["KJFB20", "KJFB30", "KJFB43", "KJFB46", "KJFH10", "KJGB00", "KJGB10",
                        "KJGB36"], dtype=object)  # fmt: skip
_RECTUM = np.array([False] * 5 + [True] * 3)
# These end in a stoma instead of an anastomosis.
_STOMA = np.isin(_PROCEDURES, ["KJFH10", "KJGB10", "KJGB36"])
_COLON_P = {False: [0.08, 0.44, 0.10, 0.33, 0.05], True: [0.10, 0.37, 0.08, 0.25, 0.20]}
_RECTUM_P = [0.65, 0.10, 0.25]
_GRADES = np.array(["0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V", ""], dtype=object)
_V, _BLANK_GRADE = 7, 8
_ASA_EFFECT = np.array([0.0, -0.5, 0.0, 0.45, 0.95, 1.6])
_ORD_1970 = dt.date(1970, 1, 1).toordinal()
_TREND_ORIGIN = dt.date(2019, 1, 1).toordinal() - _ORD_1970
_FOLLOW_UP_DAYS = 90  # the extract is drawn this long after the period, so later events are absent
_BLANK = -(10**9)  # day number of a blank date; far outside any real day
_AGE_TEXT = np.array([str(i) for i in range(121)], dtype=object)
_BMI_TEXT = np.array([""] + [f"{i // 10},{i % 10}" for i in range(1, 401)], dtype=object)
_PLAIN_SUFFIX = np.array([f"{i:04d}" for i in range(10_000)], dtype=object)
_DASHED_SUFFIX = np.array([f"-{i:04d}" for i in range(10_000)], dtype=object)


def _day(d: dt.date) -> int:
    return d.toordinal() - _ORD_1970


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _lognormal_days(rng: np.random.Generator, median: float | np.ndarray, sigma: float, n: int):
    return np.floor(median * np.exp(rng.normal(0.0, sigma, n))).astype(np.int64)


def _labels(index: np.ndarray, *labels: str) -> np.ndarray:
    """Object array of `labels[index]`; sharing a few str objects is far cheaper than astype."""
    return np.array(labels, dtype=object)[index.astype(np.intp)]


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("M8[D]")
    m = d.astype("M8[M]")
    months = m.astype(np.int64)
    return months // 12 + 1970, months % 12 + 1, (d - m).astype(np.int64) + 1


def _from_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    months = ((year - 1970) * 12 + month - 1).astype("M8[M]")
    return months.astype("M8[D]").astype(np.int64) + day - 1


def _format_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers (_BLANK = blank) to DD-MM-YYYY via a table of the few thousand distinct days."""
    valid = days != _BLANK
    if not valid.any():
        return np.full(days.shape, "", dtype=object)
    lo, hi = int(days[valid].min()), int(days[valid].max())
    table = [dt.date.fromordinal(d + _ORD_1970).strftime("%d-%m-%Y") for d in range(lo, hi + 1)]
    table = np.array([*table, ""], dtype=object)
    return table[np.where(valid, days - lo, hi - lo + 1)]


def _ages(birth: np.ndarray, opr: np.ndarray) -> np.ndarray:
    by, bm, bd = _ymd(birth)
    oy, om, od = _ymd(opr)
    return oy - by - ((om < bm) | ((om == bm) & (od < bd)))


def _birth_days(rng: np.random.Generator, age: np.ndarray, opr: np.ndarray) -> np.ndarray:
    """A birth day giving exactly `age` completed years on the operation day."""
    oy, om, od = _ymd(opr)
    od = np.where((om == 2) & (od == 29), 28, od)  # 29 Feb does not exist in most birth years
    return _from_ymd(oy - age, om, od) - rng.integers(0, 365, age.size)


def _cpr_suffixes(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Last four CPR digits: century digit, two free digits, sex parity; unique with the birth."""
    century = np.where(_ymd(birth)[0] >= 2000, 4, rng.integers(0, 4, birth.size))
    suffix = np.zeros(birth.size, dtype=np.int64)
    todo = np.arange(birth.size)
    while todo.size:
        last = 2 * rng.integers(0, 5, todo.size) + male[todo]
        suffix[todo] = century[todo] * 1000 + rng.integers(0, 100, todo.size) * 10 + last
        key = birth * 10_000 + suffix
        _, first = np.unique(key, return_index=True)
        clash = np.ones(birth.size, dtype=bool)
        clash[first] = False
        todo = np.flatnonzero(clash)
    return suffix


def _format_cpr(birth: np.ndarray, suffix: np.ndarray, dash: np.ndarray) -> np.ndarray:
    lo, hi = int(birth.min()), int(birth.max())
    ddmmyy = np.array([dt.date.fromordinal(d + _ORD_1970).strftime("%d%m%y")
                       for d in range(lo, hi + 1)], dtype=object)  # fmt: skip
    return ddmmyy[birth - lo] + np.where(dash, _DASHED_SUFFIX[suffix], _PLAIN_SUFFIX[suffix])


def _operation_days(rng: np.random.Generator, acute: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Acute operations on any day; elective ones on weekdays, fewer in July and at Christmas."""
    days = np.arange(lo, hi + 1)
    _, month, mday = _ymd(days)
    weight = np.where((days + 3) % 7 >= 5, 0.02, 1.0)  # day 0 (1970-01-01) was a Thursday
    weight *= np.where(month == 7, 0.55, 1.0)
    weight *= np.where(((month == 12) & (mday >= 22)) | ((month == 1) & (mday == 1)), 0.15, 1.0)
    out = lo + rng.integers(0, days.size, acute.size)
    elective = ~acute
    out[elective] = rng.choice(days, int(elective.sum()), p=weight / weight.sum())
    return out


def generate_frame(
    rows: int,
    seed: int = 1,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    *,
    change_date: dt.date = CHANGE_DATE,
    snapshot: dt.date | None = None,
) -> pd.DataFrame:
    """`rows` operations with operation dates from `start` to `end`, as the extract's text.

    Columns are ``COLUMNS`` in order; dates DD-MM-YYYY, BMI with a decimal comma, blanks "".
    ``CHANGE_DEPARTMENT`` improves from `change_date`. The extract is drawn on `snapshot`
    (default: 90 days after `end`): nothing after it is known, so no date lies beyond it, and a
    patient who dies of a complication after it has no grade yet.

    Where the grade is known it agrees with the rest of the row: an anastomotic leak means
    grade II or worse, a reoperation within 30 days IIIb or worse, a death within 30 days V.
    The same arguments always give the same frame.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if end < start:
        raise ValueError("end must not be before start")
    if snapshot is not None and snapshot < end:
        raise ValueError("snapshot must not be before end")
    rng = np.random.default_rng(seed)
    lo, hi = _day(start), _day(end)
    o = _operations(rng, rows, lo, hi)
    _outcomes(rng, o, _day(change_date))
    _second_operations(rng, o, lo, hi)
    return _as_frame(rng, o, hi + _FOLLOW_UP_DAYS if snapshot is None else _day(snapshot))


@dataclass(frozen=True)
class DemoPeriod:
    start: dt.date
    end: dt.date
    change_date: dt.date
    snapshot: dt.date


def _first_of_month(year: int, month0: int) -> dt.date:
    """The first day of month `month0` (0-based, may be out of 0..11) of `year`."""
    y, m = divmod(year * 12 + month0, 12)
    return dt.date(y, m + 1, 1)


def demo_period(today: dt.date, months: int = 36) -> DemoPeriod:
    """The demo's window as of `today`: the `months` full months before this one, drawn today.

    The change department's change falls on the first of the middle month, so its charts have
    as many months before the change as after.
    """
    if months < 2:
        raise ValueError("months must be at least 2")
    start = _first_of_month(today.year, today.month - 1 - months)
    end = today.replace(day=1) - dt.timedelta(days=1)
    change = _first_of_month(start.year, start.month - 1 + months // 2)
    return DemoPeriod(start, end, change, today)


def _operations(rng: np.random.Generator, n: int, lo: int, hi: int) -> SimpleNamespace:
    """Who was operated, where, when and how: everything known before the outcome."""
    weights = np.array([d.weight for d in DEPARTMENTS])
    dept = rng.choice(len(DEPARTMENTS), n, p=weights / weights.sum())
    acute = rng.random(n) < 0.2
    rectum = rng.random(n) < np.where(acute, 0.08, 0.38)  # rectal cancer is rarely operated acutely
    proc = np.empty(n, dtype=np.int64)
    for is_acute in (False, True):
        sel = ~rectum & (acute == is_acute)
        proc[sel] = rng.choice(5, int(sel.sum()), p=_COLON_P[is_acute])
    proc[rectum] = 5 + rng.choice(3, int(rectum.sum()), p=_RECTUM_P)
    opr = _operation_days(rng, acute, lo, hi)
    indl_gap = np.where(acute, rng.choice(4, n, p=[0.6, 0.25, 0.1, 0.05]),
                        rng.choice(4, n, p=[0.55, 0.35, 0.07, 0.03]))  # fmt: skip
    male = rng.random(n) < 0.55
    bmi10 = np.clip(np.round(rng.normal(265, 45, n)), 170, 400).astype(np.int64)
    age = np.clip(np.round(rng.normal(np.where(acute, 73, 70), 10.5)), 25, 99).astype(np.int64)
    birth = _birth_days(rng, age, opr)
    dash = rng.random(n) < 0.3

    suffix = _cpr_suffixes(rng, birth, male)
    z = 0.035 * (age - 70) + 0.45 * acute + rng.normal(0, 1, n)
    asa = 1 + np.searchsorted(np.array([-1.2, 0.35, 1.7, 3.0]), z)
    return SimpleNamespace(
        n=n, dept=dept, acute=acute, rectum=rectum, proc=proc, opr=opr, indl=opr - indl_gap,
        male=male, bmi10=bmi10, age=age, birth=birth, suffix=suffix, dash=dash, asa=asa,
    )  # fmt: skip


def _outcomes(rng: np.random.Generator, o: SimpleNamespace, change_day: int) -> None:
    """Add the Clavien-Dindo grade and what follows from it, as days after the operation."""
    n, acute, age, asa, opr = o.n, o.acute, o.age, o.asa, o.opr
    quality = _QUALITY[o.dept]
    is_change = o.dept == [d.code for d in DEPARTMENTS].index(CHANGE_DEPARTMENT)
    after = opr >= change_day
    quality += np.where(is_change, np.where(after, _CHANGE_AFTER, _CHANGE_BEFORE), 0.0)
    lp = -2.1 + _ASA_EFFECT[asa] + 0.022 * (age - 70) + 0.75 * acute + 0.2 * o.rectum
    lp += 0.15 * (o.bmi10 >= 300) + quality - 0.04 * (opr - _TREND_ORIGIN) / 365.25
    major = rng.random(n) < _sigmoid(lp)
    minor_grade = np.searchsorted(np.array([0.62, 0.77]), rng.random(n), side="right")
    p_death = _sigmoid(-2.2 + 0.7 * acute + 0.035 * (age - 70) + 0.5 * (asa >= 4))
    major_grade = 3 + np.searchsorted(np.array([0.32, 0.76, 0.92]), rng.random(n))
    grade = np.where(major, np.where(rng.random(n) < p_death, _V, major_grade), minor_grade)

    stoma = _STOMA[o.proc]
    p_anastomosis = np.where(stoma, 0.0, np.where(acute, 0.75, 0.98))
    anastomosis = rng.random(n) < p_anastomosis
    p_leak = _sigmoid(-4.0 + 0.7 * o.rectum + 3.0 * major + 0.2 * acute)
    leak = anastomosis & (rng.random(n) < p_leak)
    # A leak is a complication in itself: treated with antibiotics at least (grade II).
    grade = np.where(leak, np.maximum(grade, 2), grade)

    los = _lognormal_days(rng, np.where(acute, 6.5, 4.2) * np.exp(0.01 * (age - 70)), 0.35, n)
    extra = np.array([0.0, 1.5, 3.0, 6.0, 9.0, 14.0, 16.0, 0.0])[grade]
    los = np.maximum(1, los + _lognormal_days(rng, extra, 0.5, n))

    reop = rng.random(n) < np.array([0.004, 0.006, 0.02, 0.15, 0.92, 0.65, 0.7, 0.45])[grade]
    reop_delay = np.clip(1 + _lognormal_days(rng, 4.0, 0.75, n), 1, 30)
    late = rng.random(n) < 0.04
    reop_delay[late] = 31 + np.minimum(rng.exponential(40, int(late.sum())).astype(np.int64), 150)
    # A reoperation within 30 days is a grade IIIb complication at least; after a lesser course
    # the reoperation (a hernia, a stoma problem) comes later.
    reop_delay = np.where(grade < 4, np.maximum(reop_delay, 31 + 2 * reop_delay), reop_delay)
    dead = grade == _V  # grade V is death from the complication, so within the 30 days
    death_delay = np.clip(1 + _lognormal_days(rng, 8.0, 0.7, n), 1, 30)
    p_late_death = 0.008 + 0.02 * (asa >= 3) + 0.02 * acute + 0.01 * (age > 80)
    late_dead = ~dead & (rng.random(n) < p_late_death)
    late_gap = rng.exponential(220, int(late_dead.sum())).astype(np.int64)
    death_delay[late_dead] = 31 + np.minimum(late_gap, 1000)
    dead |= late_dead
    reop_delay = np.where(dead, np.minimum(reop_delay, death_delay), reop_delay)
    # Most early reoperations happen during the stay and prolong it; the rest mean readmission.
    in_stay = reop & (reop_delay <= 30) & (rng.random(n) < 0.85)
    los = np.where(in_stay, np.maximum(los, reop_delay + _lognormal_days(rng, 7.0, 0.5, n)), los)
    died_inside = dead & ((los >= death_delay) | ((grade == _V) & (rng.random(n) < 0.8)))
    los = np.where(died_inside, death_delay, los)

    lp_readm = -2.45 + 0.35 * acute + 0.012 * (age - 70) + 0.3 * leak
    lp_readm += np.array([0.0, 0.2, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9])[grade]
    soon = np.clip(1 + _lognormal_days(rng, 6.0, 0.8, n), 1, 30)
    later = 31 + np.minimum(rng.exponential(45, n).astype(np.int64), 300)
    has_readm = rng.random(n) < _sigmoid(lp_readm)
    readm = los + np.where(rng.random(n) < 0.85, soon, later)
    # A reoperation after discharge is itself a readmission, unless an earlier one came first.
    by_reop = reop & (reop_delay > los) & ~(has_readm & (readm <= reop_delay))
    readm = np.where(by_reop, reop_delay, readm)
    readm_ok = (has_readm | by_reop) & ~died_inside & ~(dead & (readm > death_delay))

    o.grade, o.anastomosis, o.leak, o.los = grade, anastomosis, leak, los
    o.reop, o.reop_delay, o.dead, o.death_delay = reop, reop_delay, dead, death_delay
    o.readm_ok, o.readm = readm_ok, readm


def _second_operations(rng: np.random.Generator, o: SimpleNamespace, lo: int, hi: int) -> None:
    """Make a few % of rows a second operation of another row's patient.

    Both rows come from patients who survive, so that no patient is operated after death or
    has two death dates; a later operation comes after the first stay, an earlier one before.
    """
    alive = np.flatnonzero(~o.dead)
    k = min(int(o.n * 0.03), alive.size // 2)
    pick = rng.choice(alive, 2 * k, replace=False)
    parent, child = pick[:k], pick[k:]
    for a in (o.birth, o.suffix, o.male, o.dash):
        a[child] = a[parent]
    o.dept[child] = np.where(rng.random(k) < 0.85, o.dept[parent], o.dept[child])
    later = o.opr[parent] + o.los[parent] + 14 + rng.exponential(200, k).astype(np.int64)
    earlier = o.indl[parent] - 14 - rng.exponential(200, k).astype(np.int64) - o.los[child]
    new_day = np.where(later <= hi, later, np.where(earlier >= lo, earlier, o.opr[parent]))
    same_day = (rng.random(k) < 0.3) | (new_day == o.opr[parent])
    o.indl[child] += np.where(same_day, o.opr[parent], new_day) - o.opr[child]
    o.opr[child] = np.where(same_day, o.opr[parent], new_day)
    # A second procedure in the same session shares the admission and its course; its code
    # differs from the first, so (cpr, opr_dato, procedurekode) stays unique.
    shift = rng.integers(1, 8, k)
    o.proc[child] = np.where(same_day, (o.proc[parent] + shift) % 8, o.proc[child])
    o.rectum[child] = _RECTUM[o.proc[child]]
    o.anastomosis[child] &= ~_STOMA[o.proc[child]]
    shared = ("dept", "acute", "bmi10", "asa", "indl", "grade", "los", "reop", "reop_delay",
              "readm_ok", "readm")  # fmt: skip
    for name in shared:
        a = getattr(o, name)
        a[child] = np.where(same_day, a[parent], a[child])
    # One course, one leak: the session leaked (and its grade shows it) or it did not.
    o.leak[child] = np.where(same_day, o.leak[parent] & o.anastomosis[child], o.leak[child])
    o.age = _ages(o.birth, o.opr)


def _as_frame(rng: np.random.Generator, o: SimpleNamespace, snapshot: int) -> pd.DataFrame:
    """Dates (blank after `snapshot`) and the odd blank as in real extracts, as text."""
    n = o.n

    def day(present: np.ndarray, delay: np.ndarray) -> np.ndarray:
        return np.where(present & (o.opr + delay <= snapshot), o.opr + delay, _BLANK)

    o.udskr = day(np.ones(n, dtype=bool), o.los)
    o.reop_day, o.genindl = day(o.reop, o.reop_delay), day(o.readm_ok, o.readm)
    o.doed = day(o.dead, o.death_delay)
    no_udskr = rng.random(n) < 0.01
    o.udskr[no_udskr] = _BLANK
    o.genindl[no_udskr | (o.udskr == _BLANK)] = _BLANK  # no readmission date without discharge
    grade = np.where(rng.random(n) < 0.015, _BLANK_GRADE, o.grade)
    # Death from a complication after the snapshot: not known yet, so neither is the grade.
    grade[(o.grade == _V) & (o.doed == _BLANK)] = _BLANK_GRADE
    asa = np.where(rng.random(n) < 0.015, 0, o.asa)
    bmi10 = np.where(rng.random(n) < 0.03, 0, o.bmi10)
    leak = np.where(o.anastomosis, 1 + o.leak, 0)
    leak[o.anastomosis & (rng.random(n) < 0.02)] = 0

    def field(name: str) -> np.ndarray:
        return np.array([getattr(d, name) for d in DEPARTMENTS], dtype=object)[o.dept]

    columns = {
        "cpr": _format_cpr(o.birth, o.suffix, o.dash),
        "sygehus_kode": field("hospital_code"),
        "sygehus_navn": field("hospital_name"),
        "afdeling_kode": field("code"),
        "afdeling_navn": field("name"),
        "indl_dato": _format_dates(o.indl),
        "opr_dato": _format_dates(o.opr),
        "udskr_dato": _format_dates(o.udskr),
        "procedurekode": _PROCEDURES[o.proc],
        "lokalisation": _labels(o.rectum, "kolon", "rektum"),
        "prioritet": _labels(o.acute, "elektiv", "akut"),
        "asa": _labels(asa, "", "1", "2", "3", "4", "5"),
        "alder": _AGE_TEXT[o.age],
        "koen": _labels(o.male, "K", "M"),
        "bmi": _BMI_TEXT[bmi10],
        "anastomose": _labels(o.anastomosis, "nej", "ja"),
        "anastomoselaekage": _labels(leak, "", "nej", "ja"),
        "clavien_dindo": _GRADES[grade],
        "reoperation_dato": _format_dates(o.reop_day),
        "genindl_dato": _format_dates(o.genindl),
        "doed_dato": _format_dates(o.doed),
    }
    return pd.DataFrame(columns, columns=list(COLUMNS))


def write_extract(frame: pd.DataFrame, path: str | os.PathLike[str], fmt: str = "csv") -> None:
    """Write `frame` as an extract file.

    ``csv``: ';'-delimited UTF-8 without BOM, '\\n' line ends, quoting only where needed.
    ``xlsx``: one sheet "Udtræk"; dates as real date cells, asa/alder as integers, bmi as a
    float, everything else text; a value that does not parse (a test's mutation) stays text.
    xlsx goes through openpyxl cell by cell, so use it for small files only (up to ~100k rows).
    """
    if fmt == "csv":
        cols = [frame[c].to_numpy(dtype=object, na_value="") for c in frame.columns]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(list(frame.columns))
            writer.writerows(zip(*cols, strict=True))
    elif fmt == "xlsx":
        _write_xlsx(frame, path)
    else:
        raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'xlsx'")


_INT_RE = re.compile(r"\d+")
_DECIMAL_RE = re.compile(r"\d+(,\d+)?")


def _xlsx_values(name: str, series: pd.Series) -> list:
    """One column's cell values: typed where the text parses, else the text itself."""
    text = series.to_numpy(dtype=object, na_value="")
    if name in DATE_COLUMNS:
        parsed = pd.to_datetime(pd.Series(text).astype(str), format="%d-%m-%Y", errors="coerce")
        typed = [None if pd.isna(p) else p.to_pydatetime() for p in parsed]
    elif name in ("asa", "alder"):
        typed = [int(v) if isinstance(v, str) and _INT_RE.fullmatch(v) else None for v in text]
    elif name == "bmi":
        ok = [isinstance(v, str) and _DECIMAL_RE.fullmatch(v) for v in text]
        typed = [float(v.replace(",", ".")) if k else None for v, k in zip(text, ok, strict=True)]
    else:
        typed = [None] * len(text)
    return [
        t if t is not None else (None if v == "" else v) for v, t in zip(text, typed, strict=True)
    ]


def _write_xlsx(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if len(frame) > XLSX_MAX_ROWS:
        raise ValueError(f"an xlsx sheet holds at most {XLSX_MAX_ROWS:,} rows")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Udtræk")
    ws.append(list(frame.columns))
    cols = [_xlsx_values(str(c), frame[c]) for c in frame.columns]
    for row in zip(*cols, strict=True):
        cells = []
        for v in row:
            if isinstance(v, dt.datetime):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = "DD-MM-YYYY"
                cells.append(cell)
            else:
                cells.append(v)
        ws.append(cells)
    wb.save(path)
