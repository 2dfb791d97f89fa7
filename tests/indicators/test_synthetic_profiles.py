"""Synthetic extracts for profile files: every row passes the importer's reader and validator,
the same seed gives the same rows, and the cancer pathways look like pathways."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators import rules
from indicators.registry.profile_file import ProfileSpec, load_profile, load_profile_data
from indicators.registry.pseudonym import pseudonymiser
from indicators.registry.reader import read_extract
from indicators.registry.synthetic import DEPARTMENTS
from indicators.registry.synthetic_profiles import (
    KRAEFTPAKKE_COLUMNS,
    KRAEFTPAKKE_DATE_FORMAT,
    MUNICIPALITIES,
    PACKAGES,
    STANDARD_DAYS,
    kraeftpakke_frame,
    profile_frame,
    write_profile_extract,
)
from indicators.registry.validate import Validated, validate
from indicators.rules.schema import fields_for_profile

REGISTRIES = Path(__file__).resolve().parents[2] / "registries"
PSEUDONYMS = pseudonymiser("test-key")
PATHWAY_DATES = (
    "henvisning_dato", "foerste_fremmoede_dato", "beslutning_dato", "behandling_start_dato",
)  # fmt: skip


def registry(slug: str) -> ProfileSpec:
    return load_profile((REGISTRIES / f"{slug}.toml").read_text(encoding="utf-8"))


def imported(frame: pd.DataFrame, spec: ProfileSpec, path: Path, fmt: str = "csv") -> Validated:
    """Write `frame`, then read and validate the file as the importer does (no database)."""
    write_profile_extract(frame, path, spec, fmt)
    profile = spec.profile()
    table = read_extract(path.read_bytes(), profile)
    assert table.rows_read == len(frame)
    return validate(table, profile, PSEUDONYMS)


def assert_all_valid(frame: pd.DataFrame, spec: ProfileSpec, path: Path, fmt: str = "csv"):
    assert list(frame.columns) == [c.name for c in spec.columns]
    assert frame.map(lambda v: isinstance(v, str)).all().all()
    result = imported(frame, spec, path, fmt)
    shown = [(r.line, [(d["column"], d["en"]) for d in r.details]) for r in result.refused[:5]]
    assert not result.refused, f"{len(result.refused)} refused rows, first: {shown}"
    assert len(result) == len(frame)
    return result


def indicator_counts(spec: ProfileSpec, result: Validated) -> dict[str, tuple[int, int]]:
    """Per standard indicator, from the validated rows by the rule engine: the rows counted
    and the events (a proportion) or the rows above the shortest number of days (a measure:
    fewer than counted unless every row has the same)."""
    fields = fields_for_profile(spec.profile())
    # As the engine reads rows back from the database: plain pandas columns, not Arrow's.
    frame = pd.DataFrame({name: result.take(name).to_pandas() for name in fields})
    frame = rules.prepare_frame(frame, fields)
    counts = {}
    for ind in spec.indicators:
        counted = rules.evaluate(ind.population, frame) & ~rules.evaluate(ind.missing, frame)
        if ind.kind == "proportion":
            hits = rules.evaluate(ind.event, frame) & counted
        else:
            days = rules.measure_values(ind.measure, frame)
            hits = counted & (days > np.nanmin(days[counted], initial=np.inf))
        counts[ind.slug] = (int(counted.sum()), int(hits.sum()))
    return counts


def assert_indicators_count_something(spec: ProfileSpec, result: Validated) -> None:
    for slug, (counted, hits) in indicator_counts(spec, result).items():
        assert 0 < hits < counted, (slug, counted, hits)


def dates(frame: pd.DataFrame, name: str, date_format: str = "%d-%m-%Y") -> pd.Series:
    parsed = pd.to_datetime(frame[name], format=date_format, errors="coerce")
    assert not (frame[name].ne("") & parsed.isna()).any()
    return parsed


# --- kraeftpakke ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pathways() -> pd.DataFrame:
    return kraeftpakke_frame(30_000, seed=5)


def test_kraeftpakke_has_the_profiles_columns_and_date_format() -> None:
    spec = registry("kraeftpakke")
    assert tuple(c.name for c in spec.columns) == KRAEFTPAKKE_COLUMNS
    assert spec.date_format == KRAEFTPAKKE_DATE_FORMAT
    pakke = next(c for c in spec.columns if c.name == "pakke")
    assert set(PACKAGES) == set(pakke.choices.values())
    standard = {
        i.population["all"][0]["value"]: i.event["value"]
        for i in spec.indicators
        if i.slug.startswith("forloebstid_")
    }
    assert standard == dict(zip(PACKAGES, STANDARD_DAYS, strict=True))


def test_every_pathway_is_imported(pathways: pd.DataFrame, tmp_path: Path) -> None:
    spec = registry("kraeftpakke")
    result = assert_all_valid(pathways, spec, tmp_path / "kraeftpakke.csv")
    assert_indicators_count_something(spec, result)
    counts = indicator_counts(spec, result)
    assert min(counted for counted, _ in counts.values()) > 500
    share = {slug: hits / counted for slug, (counted, hits) in counts.items()}
    assert all(0.6 < share[f"forloebstid_{p}"] < 0.95 for p in ("bryst", "lunge", "prostata"))


def test_pathways_as_a_workbook(tmp_path: Path) -> None:
    spec = registry("kraeftpakke")
    assert_all_valid(kraeftpakke_frame(1_500, seed=2), spec, tmp_path / "k.xlsx", "xlsx")


def test_the_same_seed_gives_the_same_pathways() -> None:
    a, b = kraeftpakke_frame(3_000, seed=9), kraeftpakke_frame(3_000, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(kraeftpakke_frame(3_000, seed=10))


def test_pathways_look_like_pathways(pathways: pd.DataFrame) -> None:
    f = pathways
    referral, attendance, decision, treatment = (dates(f, name) for name in PATHWAY_DATES)
    start, end = pd.Timestamp(2019, 1, 1), pd.Timestamp(2024, 12, 31)
    for day in (referral, attendance, decision, treatment):
        assert day.dropna().between(start, end).all()
    assert referral.notna().all()
    assert not (attendance < referral).any()
    assert not (decision < attendance).any()
    assert not (decision < referral).any()
    assert not (treatment < decision).any()
    assert not (treatment < referral).any()
    # Some pathways lack an attendance or a decision date, some a treatment; the most recent
    # referrals are the least often finished.
    for day in (attendance, decision, treatment):
        assert 0.005 < day.isna().mean() < 0.3
    unfinished = treatment.isna().groupby(referral.dt.to_period("M")).mean()
    assert unfinished.iloc[-1] > 0.5 > unfinished.iloc[:-3].max()
    steps = [(attendance - referral).dt.days, (decision - attendance).dt.days]
    steps.append((treatment - decision).dt.days)
    for step in steps:
        assert step.mean() > step.median() > 0  # skewed to the right

    cpr = f["cpr"].str.replace("-", "", regex=False)
    assert cpr.str.fullmatch(r"\d{10}").all()
    assert not (cpr + f["pakke"] + f["henvisning_dato"]).duplicated().any()
    assert 0.01 < cpr.duplicated().mean() < 0.05  # a few patients with a second pathway
    male = cpr.str[-1].astype(int) % 2 == 1
    assert male[f["pakke"] == "Prostatakræft"].all()
    assert male[f["pakke"] == "Brystkræft"].mean() < 0.05
    assert f["alder"].astype(int).between(18, 95).all()
    assert set(f["pakke"]) == set(PACKAGES)
    assert (f["pakke"].value_counts(normalize=True) > 0.08).all()

    places = {(d.hospital_code, d.hospital_name, d.code, d.name) for d in DEPARTMENTS}
    found = f[["sygehus_kode", "sygehus_navn", "afdeling_kode", "afdeling_navn"]]
    assert set(found.itertuples(index=False, name=None)) == places
    known = {f"{c:04d}" for codes in MUNICIPALITIES.values() for c in codes}
    assert len(known) == 98
    assert set(f["kommune_kode"]) - {""} <= known
    assert 0 < (f["kommune_kode"] == "").mean() < 0.05

    spellings = f["behandling"].value_counts()
    assert {"kirurgi", "kemoterapi", "straale", "strålebehandling"} <= set(spellings.index)
    assert spellings["operation"] > spellings["kirurgi"]
    assert (f["behandling"] != "").eq(decision.notna() | treatment.notna()).mean() > 0.95


def test_departments_differ_in_keeping_the_standard_time(pathways: pd.DataFrame) -> None:
    f = pathways
    days = (dates(f, "behandling_start_dato") - dates(f, "henvisning_dato")).dt.days
    standard = f["pakke"].map(dict(zip(PACKAGES, STANDARD_DAYS, strict=True)))
    treated = days.notna()
    within = (days <= standard)[treated].groupby(f["afdeling_kode"][treated]).mean()
    assert len(within) == len(DEPARTMENTS)
    assert (within >= 0.85).sum() >= 3
    assert (within <= 0.7).sum() >= 3
    assert within.between(0.3, 0.99).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    start=st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
    days=st.integers(0, 900),
)
def test_pathways_for_any_size_seed_and_period(rows, seed, start, days) -> None:
    end = start + dt.timedelta(days=days)
    frame = kraeftpakke_frame(rows, seed=seed, start=start, end=end)
    with tempfile.TemporaryDirectory() as folder:
        assert_all_valid(frame, registry("kraeftpakke"), Path(folder) / "k.csv")
    for name in PATHWAY_DATES:
        assert dates(frame, name).dropna().between(pd.Timestamp(start), pd.Timestamp(end)).all()
    assert frame["alder"].astype(int).between(18, 95).all()


def test_kraeftpakke_is_quick_enough() -> None:
    import time

    began = time.perf_counter()
    kraeftpakke_frame(100_000, seed=1)
    assert time.perf_counter() - began < 3  # about 0.3 s; a million rows in a few seconds


# --- any profile ---------------------------------------------------------------------------------

ODD_HEADER = """
format = 1
slug = "{slug}"
version = 1
name_da = "Skæv profil"
name_en = "Odd profile"
"""
# A comma as delimiter, ISO dates, yes/no as a table of booleans, decimals and whole numbers in
# ranges, a chain of three date orders and codes of three characters (departments made up).
COMMA_ISO = """
delimiter = ","
date_format = "%Y-%m-%d"
key = ["cpr", "visit", "unit"]
period = "visit"
hospital_code = "hospital"
department_code = "unit"
department_name = "unit_name"
date_orders = [["seen", "visit"], ["decided", "seen"], ["treated", "decided"]]

[[columns]]
name = "cpr"
kind = "cpr"
required = true

[[columns]]
name = "hospital"
kind = "code"
length = 4
required = true

[[columns]]
name = "unit"
kind = "code"
length = 3
required = true

[[columns]]
name = "unit_name"
kind = "text"
length = 12

[[columns]]
name = "visit"
kind = "date"
required = true

[[columns]]
name = "seen"
kind = "date"

[[columns]]
name = "decided"
kind = "date"
required = true

[[columns]]
name = "treated"
kind = "date"

[[columns]]
name = "smoker"
kind = "choice"
choices = { ja = true, nej = false, "1" = true, "0" = false, yes = true, no = false }
required = true

[[columns]]
name = "weight"
kind = "decimal"
low = 35.5
high = 180.25

[[columns]]
name = "delta"
kind = "decimal"
low = -2.5
high = 2.5

[[columns]]
name = "score"
kind = "int"
low = -10
high = 10
required = true

[[columns]]
name = "stage"
kind = "code"
length = 3

[[indicators]]
slug = "treated_in_time"
name_da = "Behandlet til tiden"
name_en = "Treated in time"
kind = "proportion"
population = { field = "smoker", op = "eq", value = true }
missing = { field = "treated", op = "blank" }
event = { days = ["visit", "treated"], op = "le", value = 40 }
better = "higher"

[[indicators]]
slug = "stage_t1"
name_da = "Stadium T1"
name_en = "Stage T1"
kind = "proportion"
population = { field = "score", op = "ge", value = 0 }
missing = { field = "stage", op = "blank" }
event = { any = [
  { field = "stage", op = "eq", value = "T1A" },
  { field = "stage", op = "startswith", value = "N" },
] }
better = "lower"

[[indicators]]
slug = "days_to_decision"
name_da = "Dage til beslutning"
name_en = "Days to decision"
kind = "measure"
population = { all = [] }
missing = { field = "seen", op = "blank" }
measure = { days = ["seen", "decided"] }
better = "lower"
"""
# A bar as delimiter, dotted dates, long codes with no length, a circle of date orders (equal
# days), whole numbers and decimals without bounds, a key without the CPR number, short
# municipality codes and hospital codes of two characters.
BAR_DOTS = """
delimiter = "|"
date_format = "%d.%m.%Y"
key = ["reference", "day"]
period = "day"
hospital_code = "hosp"
department_code = "dept"
hospital_name = "hosp_name"
municipality_code = "muni"
date_orders = [["other_day", "day"], ["day", "other_day"], ["last_day", "other_day"]]

[[columns]]
name = "reference"
kind = "code"
length = 12
required = true

[[columns]]
name = "cpr"
kind = "cpr"

[[columns]]
name = "hosp"
kind = "code"
length = 2

[[columns]]
name = "hosp_name"
kind = "text"
length = 5

[[columns]]
name = "dept"
kind = "code"

[[columns]]
name = "muni"
kind = "code"
length = 3

[[columns]]
name = "day"
kind = "date"

[[columns]]
name = "other_day"
kind = "date"

[[columns]]
name = "last_day"
kind = "date"

[[columns]]
name = "count"
kind = "int"

[[columns]]
name = "amount"
kind = "decimal"

[[columns]]
name = "note"
kind = "text"

[[columns]]
name = "grade"
kind = "choice"
choices = ["Low", "HIGH", "Middle-ÆØÅ"]
required = true

[[columns]]
name = "procedure"
kind = "code"

[[indicators]]
slug = "high_grade"
name_da = "Høj grad"
name_en = "High grade"
kind = "proportion"
population = { field = "procedure", op = "startswith", value = "KJ" }
missing = { any = [] }
event = { field = "grade", op = "eq", value = "HIGH" }
better = "lower"
"""
ODD = {"comma_iso": COMMA_ISO, "bar_dots": BAR_DOTS}


def odd(slug: str) -> ProfileSpec:
    return load_profile(ODD_HEADER.format(slug=slug) + ODD[slug])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_dccg_row_is_imported(fmt: str, tmp_path: Path) -> None:
    spec = registry("dccg")
    rows = 4_000 if fmt == "csv" else 800
    result = assert_all_valid(profile_frame(spec, rows, seed=3), spec, tmp_path / f"d.{fmt}", fmt)
    assert_indicators_count_something(spec, result)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("slug", list(ODD))
def test_every_row_of_an_odd_profile_is_imported(slug: str, fmt: str, tmp_path: Path) -> None:
    spec = odd(slug)
    frame = profile_frame(spec, 3_000 if fmt == "csv" else 600, seed=4)
    result = assert_all_valid(frame, spec, tmp_path / f"{slug}.{fmt}", fmt)
    assert_indicators_count_something(spec, result)


def test_an_odd_profile_gets_what_it_asks_for() -> None:
    spec = odd("comma_iso")
    f = profile_frame(spec, 3_000, seed=6)
    visit, seen, decided, treated = (
        dates(f, name, "%Y-%m-%d") for name in ("visit", "seen", "decided", "treated")
    )
    assert visit.notna().all() and decided.notna().all()
    assert seen.isna().any() and treated.isna().any()
    assert not (seen < visit).any() and not (decided < seen).any()
    assert not (treated < decided).any()
    assert visit.between(pd.Timestamp(2019, 1, 1), pd.Timestamp(2024, 12, 31)).all()
    assert f["unit"].str.fullmatch(r"[A-Za-z0-9]{3}").all()
    unit_hospitals = f.groupby(f["unit"].str.upper())["hospital"].nunique()
    assert (unit_hospitals == 1).all() and len(unit_hospitals) == len(DEPARTMENTS)
    assert f["hospital"].isin({d.hospital_code for d in DEPARTMENTS}).all()
    assert f["unit_name"].str.len().max() <= 12
    assert set(f["smoker"].str.lower()) == {"ja", "nej", "1", "0", "yes", "no"}
    assert f["smoker"].str.fullmatch(r"JA|Ja|NEJ|Nej|YES|Yes|NO|No").any()  # other letter case
    weight = f["weight"][f["weight"] != ""]
    assert weight.str.contains(",").any() and weight.str.contains(r"\.").any()
    assert weight.str.replace(",", ".").astype(float).between(35.5, 180.25).all()
    assert f["delta"][f["delta"] != ""].str.replace(",", ".").astype(float).lt(0).any()
    score = f["score"].astype(int)
    assert score.between(-10, 10).all() and score.min() == -10 and score.max() == 10
    # Values the rules name turn up: T1A, and codes that start with N.
    named = f["stage"].str.upper()
    assert named.eq("T1A").any() and (named.eq("T1A") | named.str.startswith("N")).mean() > 0.2

    circle = odd("bar_dots")
    g = profile_frame(circle, 500, seed=6)
    day, other = dates(g, "day", "%d.%m.%Y"), dates(g, "other_day", "%d.%m.%Y")
    both = day.notna() & other.notna()
    assert (day[both] == other[both]).all() and both.any()
    assert g["hosp"].str.fullmatch(r"[A-Z0-9]{2}").all()
    assert g["muni"].isin(["", *(f"{c:03d}" for v in MUNICIPALITIES.values() for c in v)]).all()
    assert g["reference"].str.fullmatch(r"[A-Za-z0-9]{12}").all()


def test_the_same_seed_gives_the_same_rows() -> None:
    spec = registry("dccg")
    a, b = profile_frame(spec, 1_000, seed=8), profile_frame(spec, 1_000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(profile_frame(spec, 1_000, seed=9))


def test_a_key_too_narrow_for_the_rows_is_refused() -> None:
    text = ODD_HEADER.format(slug="narrow") + COMMA_ISO.replace(
        'key = ["cpr", "visit", "unit"]', 'key = ["smoker"]'
    )
    spec = load_profile(text)
    assert len(profile_frame(spec, 2, seed=1)) == 2
    with pytest.raises(ValueError, match="cannot tell 3 generated rows apart"):
        profile_frame(spec, 3, seed=1)


def small_profile(date_format: str = "%d-%m-%Y", **extra_column) -> ProfileSpec:
    columns = [
        {"name": "cpr", "kind": "cpr", "required": True},
        {"name": "h", "kind": "code"},
        {"name": "a", "kind": "code"},
        {"name": "d", "kind": "date"},
    ]
    data = {
        "format": 1, "slug": "small", "version": 1, "name_da": "Lille", "name_en": "Small",
        "date_format": date_format, "key": ["cpr"], "period": "d", "hospital_code": "h",
        "department_code": "a", "columns": [*columns, *([extra_column] if extra_column else [])],
    }  # fmt: skip
    return load_profile_data(data)


def test_numbers_shaped_like_cpr_numbers_are_drawn_again(tmp_path: Path) -> None:
    # Ten digits whose first six are a date are refused anywhere but in the cpr column.
    spec = small_profile(name="n", kind="int", low=10**9, high=10**10 - 1, required=True)
    frame = profile_frame(spec, 2_000, seed=1)
    assert frame["n"].str.fullmatch(r"\d{10}").all()
    assert_all_valid(frame, spec, tmp_path / "n.csv")


def test_a_date_format_that_always_looks_like_a_cpr_number_is_refused() -> None:
    with pytest.raises(ValueError, match="looks like a CPR number"):
        profile_frame(small_profile("%d%m%y%H%M"), 10, seed=1)


# --- random profiles -----------------------------------------------------------------------------

_WORD = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzæøå-"), min_size=1, max_size=8)
_BOUND = st.one_of(st.none(), st.integers(-5_000, 5_000))


@st.composite
def random_profiles(draw) -> dict:
    """A valid profile of random columns (every kind, bounds, choices) and date orders."""
    columns: list[dict] = [
        {"name": "cpr", "kind": "cpr", "required": draw(st.booleans())},
        {"name": "hosp", "kind": "code", "required": True},
        {"name": "dept", "kind": "code", "required": draw(st.booleans())},
        {"name": "period", "kind": "date", "required": draw(st.booleans())},
    ]
    for name, lengths in (("hosp", (None, 4, 1, 6)), ("dept", (None, 7, 2, 10))):
        length = draw(st.sampled_from(lengths))
        if length:
            next(c for c in columns if c["name"] == name)["length"] = length
    for i in range(draw(st.integers(0, 7))):
        kind = draw(st.sampled_from(["code", "text", "date", "choice", "int", "decimal"]))
        column = {"name": f"c{i}", "kind": kind, "required": draw(st.booleans())}
        if kind in ("code", "text") and draw(st.booleans()):
            column["length"] = draw(st.integers(1, 14))
        if kind in ("int", "decimal"):
            low, high = draw(_BOUND), draw(_BOUND)
            if low is not None and high is not None and low > high:
                low, high = high, low
            if kind == "decimal":
                low, high = (None if b is None else b / 100 for b in (low, high))
            column.update({k: v for k, v in (("low", low), ("high", high)) if v is not None})
        if kind == "choice":
            words = draw(st.lists(_WORD, min_size=1, max_size=4, unique_by=str.lower))
            if draw(st.booleans()):
                column["choices"] = words
            elif draw(st.booleans()):
                column["choices"] = {w.lower(): draw(st.booleans()) for w in words}
            else:
                column["choices"] = {w.lower(): draw(st.sampled_from(words)) for w in words}
        columns.append(column)
    if draw(st.booleans()):
        columns.append({"name": "muni", "kind": "code", "length": draw(st.sampled_from([3, 4]))})
    date_names = [c["name"] for c in columns if c["kind"] == "date"]
    pairs = st.tuples(st.sampled_from(date_names), st.sampled_from(date_names))
    orders = draw(st.lists(pairs.filter(lambda p: p[0] != p[1]), max_size=5, unique=True))
    others = [c["name"] for c in columns if c["name"] != "cpr"]
    key = ["cpr", *draw(st.lists(st.sampled_from(others), max_size=2, unique=True))]
    profile = {
        "format": 1,
        "slug": "random",
        "version": 1,
        "name_da": "Tilfældig",
        "name_en": "Random",
        "delimiter": draw(st.sampled_from([";", ",", "|", "\t", " "])),
        "date_format": draw(st.sampled_from(["%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%Y%m%d"])),
        "key": key,
        "period": "period",
        "hospital_code": "hosp",
        "department_code": "dept",
        "date_orders": [list(pair) for pair in orders],
        "columns": columns,
    }
    if any(c["name"] == "muni" for c in columns):
        profile["municipality_code"] = "muni"
    return profile


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=random_profiles(),
    rows=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
    start=st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)),
    days=st.integers(0, 800),
    fmt=st.sampled_from(["csv", "csv", "xlsx"]),
)
def test_rows_of_any_profile_are_imported(data, rows, seed, start, days, fmt) -> None:
    spec = load_profile_data(data)
    end = start + dt.timedelta(days=days)
    frame = profile_frame(spec, rows, seed=seed, start=start, end=end)
    assert len(frame) == rows
    with tempfile.TemporaryDirectory() as folder:
        assert_all_valid(frame, spec, Path(folder) / f"extract.{fmt}", fmt)
    period = dates(frame, "period", spec.date_format).dropna()
    assert period.between(pd.Timestamp(start), pd.Timestamp(end)).all()
