"""The synthetic extract generator: valid per extract-format.md, deterministic, realistic."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.registry import synthetic
from indicators.registry.synthetic import (
    CHANGE_DATE,
    CHANGE_DEPARTMENT,
    COLUMNS,
    DEPARTMENTS,
    REGION_OF_HOSPITAL,
    generate_frame,
    write_extract,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = (
    "cpr;sygehus_kode;sygehus_navn;afdeling_kode;afdeling_navn;indl_dato;opr_dato;udskr_dato;"
    "procedurekode;lokalisation;prioritet;asa;alder;koen;bmi;anastomose;anastomoselaekage;"
    "clavien_dindo;reoperation_dato;genindl_dato;doed_dato"
)
REGIONS = {
    "Region Hovedstaden",
    "Region Sjælland",
    "Region Syddanmark",
    "Region Midtjylland",
    "Region Nordjylland",
}
PROCEDURES = {
    "KJFB20": "kolon",
    "KJFB30": "kolon",
    "KJFB43": "kolon",
    "KJFB46": "kolon",
    "KJFH10": "kolon",
    "KJGB00": "rektum",
    "KJGB10": "rektum",
    "KJGB36": "rektum",
}
STOMA = {"KJFH10", "KJGB10", "KJGB36"}  # end stoma, no anastomosis
GRADES = {"0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V"}
MAJOR = ["IIIa", "IIIb", "IVa", "IVb", "V"]
AT_LEAST_II = ["II", *MAJOR]
AT_LEAST_IIIB = ["IIIb", "IVa", "IVb", "V"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_frame(50_000, seed=7)


def _dates(col: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(col, format="%d-%m-%Y", errors="coerce")
    bad = col.ne("") & parsed.isna()
    assert not bad.any(), f"unparsable dates: {col[bad].head().tolist()}"
    return parsed


def _cpr_birth(cpr: pd.Series) -> pd.Series:
    """The birth date in a CPR number, with the century from the 7th digit (CPR office rule)."""
    digits = cpr.str.replace("-", "", regex=False)
    yy = digits.str[4:6].astype(int)
    c7 = digits.str[6].astype(int)
    century = np.select(
        [c7 <= 3, c7.isin([4, 9]) & (yy <= 36), (c7 >= 5) & (c7 <= 8) & (yy <= 57), c7 >= 5],
        [1900, 2000, 2000, 1800],
        default=1900,
    )
    text = digits.str[:4] + (century + yy).astype(str)
    parsed = pd.to_datetime(text, format="%d%m%Y", errors="coerce")
    assert parsed.notna().all(), f"CPR with no real date: {cpr[parsed.isna()].head().tolist()}"
    return parsed


def assert_valid(f: pd.DataFrame) -> None:
    """Every row valid per extract-format.md, plus the consistency the generator promises."""
    assert list(f.columns) == list(COLUMNS)
    assert f.map(lambda v: isinstance(v, str)).all().all()
    assert f["cpr"].str.fullmatch(r"\d{6}-?\d{4}").all()
    birth = _cpr_birth(f["cpr"])
    assert f["sygehus_kode"].str.fullmatch(r"\w{4}").all()
    assert f["afdeling_kode"].str.fullmatch(r"\w{7}").all()
    assert (f["afdeling_kode"].str[:4] == f["sygehus_kode"]).all()
    known = {(d.hospital_code, d.hospital_name, d.code, d.name) for d in DEPARTMENTS}
    rows = set(f[["sygehus_kode", "sygehus_navn", "afdeling_kode", "afdeling_navn"]].itertuples(
        index=False, name=None
    ))  # fmt: skip
    assert rows <= known

    indl, opr, udskr = (_dates(f[c]) for c in ("indl_dato", "opr_dato", "udskr_dato"))
    reop, genindl, doed = (_dates(f[c]) for c in ("reoperation_dato", "genindl_dato", "doed_dato"))
    assert indl.notna().all() and opr.notna().all()
    assert ((opr - indl).dt.days.between(0, 3)).all()
    assert not (udskr < opr).any()
    assert not (reop < opr).any()
    assert not (genindl < udskr).any()
    assert not (genindl.notna() & udskr.isna()).any()
    assert not (doed < opr).any()
    assert not (udskr > doed).any(), "discharged after death"
    assert not (genindl > doed).any(), "readmitted after death"

    assert f["procedurekode"].isin(list(PROCEDURES)).all()
    assert (f["procedurekode"].map(PROCEDURES) == f["lokalisation"]).all()
    assert f["prioritet"].isin(["elektiv", "akut"]).all()
    assert f["asa"].isin(["", "1", "2", "3", "4", "5"]).all()
    assert f["alder"].str.fullmatch(r"\d{1,3}").all()
    age = f["alder"].astype(int)
    assert age.between(0, 120).all()
    # Completed years from the CPR birth date to the operation day.
    before_birthday = (opr.dt.month < birth.dt.month) | (
        (opr.dt.month == birth.dt.month) & (opr.dt.day < birth.dt.day)
    )
    assert (age == opr.dt.year - birth.dt.year - before_birthday.astype(int)).all()
    assert f["koen"].isin(["M", "K"]).all()
    # The last CPR digit is odd for men, even for women.
    male_digit = f["cpr"].str[-1].astype(int) % 2 == 1
    assert (male_digit == (f["koen"] == "M")).all()
    bmi = f["bmi"]
    assert bmi.str.fullmatch(r"(\d{2},\d)?").all()
    values = bmi[bmi != ""].str.replace(",", ".").astype(float)
    assert values.between(17, 40).all()
    assert f["anastomose"].isin(["ja", "nej"]).all()
    assert f["anastomoselaekage"].isin(["ja", "nej", ""]).all()
    assert (f.loc[f["anastomose"] == "nej", "anastomoselaekage"] == "").all()
    assert f["clavien_dindo"].isin([*GRADES, ""]).all()
    grade_v = f["clavien_dindo"] == "V"
    assert ((doed - opr).dt.days[grade_v] <= 30).all()
    assert not (f["procedurekode"].isin(STOMA) & (f["anastomose"] == "ja")).any()
    assert_consistent_grades(f)

    # A patient with several rows: one sex, one death date, no operation after death.
    patient = f["cpr"].str.replace("-", "", regex=False)
    assert (f.groupby(patient)["koen"].nunique() == 1).all()
    assert (f.groupby(patient)["doed_dato"].nunique() == 1).all()
    assert not (opr > doed.groupby(patient).transform("min")).any()

    key = f["cpr"].str.replace("-", "", regex=False) + "|" + f["opr_dato"] + "|"
    key += f["procedurekode"]
    assert not key.duplicated().any()


def assert_consistent_grades(f: pd.DataFrame) -> None:
    """Where the grade is known, it is as bad as what happened within 30 days says it must be."""
    grade = f["clavien_dindo"]
    known = grade != ""
    opr, reop, doed = (_dates(f[c]) for c in ("opr_dato", "reoperation_dato", "doed_dato"))
    leak = known & (f["anastomoselaekage"] == "ja")
    assert grade[leak].isin(AT_LEAST_II).all(), "a leak is at least grade II"
    early_reop = known & ((reop - opr).dt.days <= 30)
    assert grade[early_reop].isin(AT_LEAST_IIIB).all(), "a reoperation is at least grade IIIb"
    early_death = known & ((doed - opr).dt.days <= 30)
    assert (grade[early_death] == "V").all(), "a death within 30 days is grade V"


def test_header_is_exact(tmp_path: Path) -> None:
    f = generate_frame(10)
    assert ";".join(f.columns) == HEADER
    write_extract(f, tmp_path / "x.csv")
    raw = (tmp_path / "x.csv").read_bytes()
    assert raw.split(b"\n", 1)[0].decode() == HEADER


def test_deterministic_per_seed() -> None:
    a, b = generate_frame(2_000, seed=3), generate_frame(2_000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_frame(2_000, seed=4))


def test_every_row_valid(frame: pd.DataFrame) -> None:
    assert len(frame) == 50_000
    assert_valid(frame)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    start=st.dates(dt.date(2010, 1, 1), dt.date(2030, 1, 1)),
    days=st.integers(0, 900),
)
def test_valid_for_any_size_seed_and_period(rows: int, seed: int, start: dt.date, days: int):
    end = start + dt.timedelta(days=days)
    f = generate_frame(rows, seed=seed, start=start, end=end)
    assert len(f) == rows
    assert_valid(f)
    opr = pd.to_datetime(f["opr_dato"], format="%d-%m-%Y")
    assert opr.min() >= pd.Timestamp(start) and opr.max() <= pd.Timestamp(end)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(1, 3000),
    seed=st.integers(0, 2**32 - 1),
    end=st.dates(dt.date(2015, 1, 1), dt.date(2030, 1, 1)),
    days=st.integers(0, 1500),
    follow_up=st.one_of(st.none(), st.integers(0, 120)),
)
def test_grades_agree_with_leaks_reoperations_and_deaths(
    rows: int, seed: int, end: dt.date, days: int, follow_up: int | None
) -> None:
    snapshot = None if follow_up is None else end + dt.timedelta(days=follow_up)
    f = generate_frame(rows, seed, end - dt.timedelta(days=days), end, snapshot=snapshot)
    assert_consistent_grades(f)


def test_every_consistency_rule_is_exercised(frame: pd.DataFrame) -> None:
    """The rules above are not vacuous: each kind of event occurs, with a known grade."""
    known = frame["clavien_dindo"] != ""
    opr, reop, doed = (_dates(frame[c]) for c in ("opr_dato", "reoperation_dato", "doed_dato"))
    assert (known & (frame["anastomoselaekage"] == "ja")).sum() > 500
    assert (known & ((reop - opr).dt.days <= 30)).sum() > 500
    assert (known & ((doed - opr).dt.days <= 30)).sum() > 300
    # Lesser courses still end in a (later) reoperation now and then.
    late = (reop - opr).dt.days > 30
    assert (late & frame["clavien_dindo"].isin(["0", "I", "II"])).sum() > 0


def test_nothing_lies_after_the_snapshot() -> None:
    end = dt.date(2026, 10, 31)
    f = generate_frame(5_000, seed=3, start=dt.date(2024, 11, 1), end=end, snapshot=end)
    assert_valid(f)
    for c in synthetic.DATE_COLUMNS:
        assert not (_dates(f[c]) > pd.Timestamp(end)).any(), c
    # Those operated last are still in hospital or not yet readmitted: a blank, not a guess.
    opr, udskr = _dates(f["opr_dato"]), _dates(f["udskr_dato"])
    assert udskr[opr >= pd.Timestamp(end) - pd.Timedelta(days=3)].isna().mean() > 0.5
    later = generate_frame(5_000, seed=3, start=dt.date(2024, 11, 1), end=end)
    assert (later["doed_dato"] != "").sum() > (f["doed_dato"] != "").sum()


def test_the_change_date_can_be_moved() -> None:
    change = dt.date(2025, 5, 1)
    f = generate_frame(
        60_000, seed=7, start=dt.date(2023, 11, 1), end=dt.date(2026, 10, 31), change_date=change
    )
    f = f[(f["afdeling_kode"] == CHANGE_DEPARTMENT) & (f["clavien_dindo"] != "")]
    major = f["clavien_dindo"].isin(MAJOR)
    after = pd.to_datetime(f["opr_dato"], format="%d-%m-%Y") >= pd.Timestamp(change)
    assert major[~after].mean() - major[after].mean() > 0.07


@pytest.mark.parametrize(
    ("today", "start", "end", "change"),
    [
        (dt.date(2026, 11, 30), dt.date(2023, 11, 1), dt.date(2026, 10, 31), dt.date(2025, 5, 1)),
        (dt.date(2027, 1, 1), dt.date(2024, 1, 1), dt.date(2026, 12, 31), dt.date(2025, 7, 1)),
        (dt.date(2024, 3, 15), dt.date(2021, 3, 1), dt.date(2024, 2, 29), dt.date(2022, 9, 1)),
    ],
)
def test_the_demo_period_is_the_last_three_full_years(today, start, end, change) -> None:
    period = synthetic.demo_period(today)
    assert (period.start, period.end, period.change_date) == (start, end, change)
    assert period.snapshot == today


def test_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate_frame(0)
    with pytest.raises(ValueError):
        generate_frame(10, start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 1))
    with pytest.raises(ValueError):
        generate_frame(10, end=dt.date(2024, 1, 2), snapshot=dt.date(2024, 1, 1))
    with pytest.raises(ValueError):
        synthetic.demo_period(dt.date(2026, 1, 1), months=1)
    with pytest.raises(ValueError):
        write_extract(generate_frame(5), "unused.txt", fmt="json")


def test_departments_cover_all_regions_and_the_sample() -> None:
    assert 18 <= len(DEPARTMENTS) <= 24
    assert {d.region for d in DEPARTMENTS} == REGIONS
    assert len({d.code for d in DEPARTMENTS}) == len(DEPARTMENTS)
    for d in DEPARTMENTS:
        assert len(d.hospital_code) == 4 and len(d.code) == 7
        assert d.code.startswith(d.hospital_code)
        assert REGION_OF_HOSPITAL[d.hospital_code] == d.region
    sample = pd.read_csv(FIXTURES / "sample-extract.csv", sep=";", dtype=str, keep_default_na=False)
    cols = ["sygehus_kode", "sygehus_navn", "afdeling_kode", "afdeling_navn"]
    # The sample quotes one name with a ';' in it, to test the reader; ours are all clean.
    sample["afdeling_navn"] = sample["afdeling_navn"].str.replace("; ", ", ", regex=False)
    in_sample = set(sample[cols].itertuples(index=False, name=None))
    ours = {(d.hospital_code, d.hospital_name, d.code, d.name) for d in DEPARTMENTS}
    assert len(in_sample) == 14 and in_sample <= ours
    for d in DEPARTMENTS:
        for name in (d.hospital_name, d.name):
            assert name == name.strip() and not set(name) & set(';"\n\t'), name
    weights = sorted(d.weight for d in DEPARTMENTS)
    assert weights[-1] / weights[0] > 4, "volumes should differ clearly"
    assert CHANGE_DEPARTMENT in {d.code for d in DEPARTMENTS}


def test_all_regions_present(frame: pd.DataFrame) -> None:
    assert set(frame["sygehus_kode"].map(REGION_OF_HOSPITAL)) == REGIONS
    assert frame["afdeling_kode"].nunique() == len(DEPARTMENTS)


def test_change_department_improves_after_change_date(frame: pd.DataFrame) -> None:
    f = frame[(frame["afdeling_kode"] == CHANGE_DEPARTMENT) & (frame["clavien_dindo"] != "")]
    opr = pd.to_datetime(f["opr_dato"], format="%d-%m-%Y")
    major = f["clavien_dindo"].isin(MAJOR)
    after = opr >= pd.Timestamp(CHANGE_DATE)
    before_rate, after_rate = major[~after].mean(), major[after].mean()
    assert after.sum() > 500 and (~after).sum() > 500
    assert before_rate > 0.16 and after_rate < 0.13
    assert before_rate - after_rate > 0.07


def test_departments_differ_in_quality(frame: pd.DataFrame) -> None:
    f = frame[frame["clavien_dindo"] != ""]
    rates = f["clavien_dindo"].isin(MAJOR).groupby(f["afdeling_kode"]).mean()
    assert rates.max() - rates.min() > 0.08


def test_realistic_rates(frame: pd.DataFrame) -> None:
    f = frame
    n = len(f)
    known = f["clavien_dindo"] != ""
    assert 0.10 < f.loc[known, "clavien_dindo"].isin(MAJOR).mean() < 0.22
    with_anastomosis = f[(f["anastomose"] == "ja") & (f["anastomoselaekage"] != "")]
    assert 0.04 < (with_anastomosis["anastomoselaekage"] == "ja").mean() < 0.10
    assert 0.74 < (f["anastomose"] == "ja").mean() < 0.86
    assert 0.75 < (f["prioritet"] == "elektiv").mean() < 0.85
    age = f["alder"].astype(int)
    assert age.between(55, 90).mean() > 0.75
    opr, udskr = (pd.to_datetime(f[c], format="%d-%m-%Y") for c in ("opr_dato", "udskr_dato"))
    doed = pd.to_datetime(f["doed_dato"], format="%d-%m-%Y")
    reop = pd.to_datetime(f["reoperation_dato"], format="%d-%m-%Y")
    stay = (udskr - opr).dt.days
    assert 4 <= stay[f["prioritet"] == "elektiv"].median() <= 6
    assert (stay > 10).mean() > 0.05
    assert 0.01 < ((doed - opr).dt.days <= 30).mean() < 0.05
    assert ((doed - opr).dt.days > 30).sum() > 0, "a few later deaths"
    assert 0.05 < ((reop - opr).dt.days <= 30).mean() < 0.15
    assert ((reop - opr).dt.days > 30).sum() > 0, "a few later reoperations"
    died_inside = doed.notna() & (doed == udskr)
    assert died_inside.sum() > 0
    # Each kind of missing value occurs, but rarely.
    for missing in (
        f["clavien_dindo"] == "",
        f["udskr_dato"] == "",
        f["asa"] == "",
        f["bmi"] == "",
        (f["anastomose"] == "ja") & (f["anastomoselaekage"] == ""),
    ):
        assert 0.003 * n < missing.sum() < 0.05 * n
    # Both CPR forms and some patients with more than one operation.
    assert 0.1 < f["cpr"].str.contains("-").mean() < 0.6
    per_patient = f["cpr"].str.replace("-", "", regex=False).value_counts()
    assert 0.01 * n < (per_patient > 1).sum() < 0.06 * n


def test_csv_round_trip(tmp_path: Path) -> None:
    f = generate_frame(3_000, seed=11)
    path = tmp_path / "extract.csv"
    write_extract(f, path)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
    text = raw.decode("utf-8")
    assert '"' not in text, "no value of ours needs quoting"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert len(rows) == len(f) + 1 and all(len(r) == len(COLUMNS) for r in rows)
    back = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, f, check_dtype=False)


def test_csv_writes_mutated_values_as_given(tmp_path: Path) -> None:
    f = generate_frame(5, seed=2).astype(object)
    f.loc[0, "cpr"] = 'bad "cpr"\nline'
    f.loc[1, "asa"] = None
    f.loc[2, "afdeling_navn"] = "Kirurgisk Afdeling; Køge"
    write_extract(f, tmp_path / "m.csv")
    assert ';"Kirurgisk Afdeling; Køge";' in (tmp_path / "m.csv").read_text(encoding="utf-8")
    with (tmp_path / "m.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[1][0] == 'bad "cpr"\nline' and rows[2][COLUMNS.index("asa")] == ""
    assert rows[3][COLUMNS.index("afdeling_navn")] == "Kirurgisk Afdeling; Køge"


def test_xlsx_round_trip_has_real_dates_and_numbers(tmp_path: Path) -> None:
    f = generate_frame(400, seed=5)
    path = tmp_path / "extract.xlsx"
    write_extract(f, path, fmt="xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    assert ws.title == "Udtræk"
    # A blank cell is absent, as in Excel's own files, so a row may end early: pad it.
    rows = [r + (None,) * (len(COLUMNS) - len(r)) for r in ws.iter_rows(values_only=True)]
    wb.close()
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == len(f) + 1
    col = {c: i for i, c in enumerate(COLUMNS)}
    for values, (_, expected) in zip(rows[1:], f.iterrows(), strict=True):
        assert values[col["cpr"]] == expected["cpr"]  # text, leading zeros kept
        assert values[col["afdeling_kode"]] == expected["afdeling_kode"]
        for c in synthetic.DATE_COLUMNS:
            cell = values[col[c]]
            if expected[c] == "":
                assert cell is None
            else:
                assert isinstance(cell, dt.datetime)
                assert cell.strftime("%d-%m-%Y") == expected[c]
        assert isinstance(values[col["alder"]], int)
        assert values[col["alder"]] == int(expected["alder"])
        if expected["asa"]:
            assert values[col["asa"]] == int(expected["asa"])
        if expected["bmi"]:
            # A whole number such as 28.0 is stored as "28" in the XML and reads back as int.
            assert isinstance(values[col["bmi"]], (int, float))
            assert values[col["bmi"]] == pytest.approx(float(expected["bmi"].replace(",", ".")))
        else:
            assert values[col["bmi"]] is None
        assert (values[col["clavien_dindo"]] or "") == expected["clavien_dindo"]


def test_xlsx_keeps_unparsable_values_as_text(tmp_path: Path) -> None:
    f = generate_frame(3, seed=1).astype(object)
    f.loc[0, "opr_dato"] = "31-02-2023"
    f.loc[0, "asa"] = "tre"
    f.loc[0, "bmi"] = "27.4"
    write_extract(f, tmp_path / "m.xlsx", fmt="xlsx")
    wb = openpyxl.load_workbook(tmp_path / "m.xlsx", read_only=True)
    row = next(wb.worksheets[0].iter_rows(min_row=2, max_row=2, values_only=True))
    wb.close()
    assert row[COLUMNS.index("opr_dato")] == "31-02-2023"
    assert row[COLUMNS.index("asa")] == "tre"
    assert row[COLUMNS.index("bmi")] == "27.4"


def test_xlsx_refuses_more_rows_than_a_sheet_holds(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(synthetic, "XLSX_MAX_ROWS", 10)
    with pytest.raises(ValueError, match="xlsx"):
        write_extract(generate_frame(11), tmp_path / "big.xlsx", fmt="xlsx")
