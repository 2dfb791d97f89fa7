"""Operation rows written by hand, for the indicator tests: as extract files and as frames.

``HAND_ROWS`` is a small extract whose every standard indicator was counted by hand (see
test_engine.py): two departments, the 30-day and 10-day boundaries, blank dates and grades.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pandas as pd

from indicators import engine, rules
from indicators.registry.profile_file import shipped

_MIGRATION = importlib.import_module("indicators.migrations.0003_standard_definitions")
_PUBLISHED = importlib.import_module("indicators.migrations.0008_published_standards")
STANDARD = _MIGRATION.STANDARD
FIELDS = rules.fields_for_profile(shipped("dccg").profile())

HEADER = (
    "cpr;sygehus_kode;sygehus_navn;afdeling_kode;afdeling_navn;indl_dato;opr_dato;udskr_dato;"
    "procedurekode;lokalisation;prioritet;asa;alder;koen;bmi;anastomose;anastomoselaekage;"
    "clavien_dindo;reoperation_dato;genindl_dato;doed_dato"
)
A, B = "1330300", "6630220"
HOSPITALS = {A: ("1330", "Bispebjerg Hospital"), B: ("6630", "Sygehus Lillebælt, Vejle")}


def d(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# dept, operation, discharge, grade, anastomosis, leak, reoperation, readmission, death, site,
# priority, asa.  Comments give what each row is there to test.
HAND_ROWS = [
    dict(dept=A, opr="2023-01-10", udskr="2023-01-15", cd="0", anast=True, leak=False,
         site="kolon", prio="elektiv", asa=2),
    # reoperation and readmission exactly 30 days after: both count; stay 15 > 10
    dict(dept=A, opr="2023-01-10", udskr="2023-01-25", cd="IIIa", anast=True, leak=True,
         reop="2023-02-09", readm="2023-02-24", site="rektum", prio="elektiv", asa=3),
    # 31 days: neither counts; a stay of exactly 10 days is not prolonged
    dict(dept=A, opr="2023-01-20", udskr="2023-01-30", cd="II", anast=False, leak=None,
         reop="2023-02-20", readm="2023-03-02", site="kolon", prio="akut", asa=3),
    # blank discharge, grade and leak: missing; death 30 days after the operation counts
    dict(dept=A, opr="2023-01-31", udskr=None, cd=None, anast=True, leak=None,
         death="2023-03-02", site="rektum", prio="akut", asa=4),
    # dead on the day of discharge: outside the readmission population
    dict(dept=A, opr="2023-02-01", udskr="2023-02-11", cd="V", anast=True, leak=False,
         death="2023-02-11", site="kolon", prio="akut", asa=4),
    # death 31 days after the operation (after discharge): not 30-day mortality; readmitted
    dict(dept=A, opr="2023-02-05", udskr="2023-02-08", cd="IVb", anast=False, leak=None,
         readm="2023-02-20", death="2023-03-08", site="kolon", prio="elektiv", asa=1),
    dict(dept=B, opr="2023-01-15", udskr="2023-01-22", cd="I", anast=True, leak=False,
         site="rektum", prio="elektiv", asa=2),
    dict(dept=B, opr="2023-04-03", udskr="2023-04-15", cd="IIIb", anast=False, leak=None,
         site="kolon", prio="elektiv", asa=3),
    dict(dept=B, opr="2022-12-30", udskr="2023-01-05", cd="0", anast=False, leak=None,
         site="kolon", prio="akut", asa=None),
]  # fmt: skip


def _ddmmyyyy(text: str | None) -> str:
    return "" if not text else dt.date.fromisoformat(text).strftime("%d-%m-%Y")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("ja" if value else "nej")


def csv_text(rows: list[dict]) -> str:
    """The rows as a DCCG extract (one made-up, well-formed CPR number per row)."""
    lines = [HEADER]
    for i, row in enumerate(rows):
        hospital, hospital_name = HOSPITALS.get(row["dept"], (row["dept"][:4], ""))
        opr = row["opr"]
        cells = [
            f"010150{i:04d}", hospital, hospital_name, row["dept"], f"Afdeling {row['dept']}",
            _ddmmyyyy(row.get("indl", opr)), _ddmmyyyy(opr), _ddmmyyyy(row.get("udskr")),
            row.get("proc", "KJFB20"), row.get("site") or "", row.get("prio") or "",
            "" if row.get("asa") is None else str(row["asa"]), str(row.get("age", 70)),
            row.get("sex", "M"), row.get("bmi", "25,0"), _yes_no(row.get("anast")),
            _yes_no(row.get("leak")), row.get("cd") or "", _ddmmyyyy(row.get("reop")),
            _ddmmyyyy(row.get("readm")), _ddmmyyyy(row.get("death")),
        ]  # fmt: skip
        lines.append(";".join(cells))
    return "\n".join(lines) + "\n"


def write_csv(tmp_path: Path, rows: list[dict], name: str = "extract.csv") -> Path:
    path = tmp_path / name
    path.write_text(csv_text(rows), encoding="utf-8")
    return path


def frame(rows: list[dict], department_ids: dict[str, int] | None = None) -> pd.DataFrame:
    """The rows as the engine reads them (prepared), departments numbered 1, 2, … by code."""
    codes = sorted({row["dept"] for row in rows})
    ids = department_ids or {code: i for i, code in enumerate(codes, start=1)}
    data = pd.DataFrame(
        {
            "department_id": [ids[row["dept"]] for row in rows],
            "operation_date": [d(row["opr"]) for row in rows],
            "discharge_date": [d(row.get("udskr")) for row in rows],
            "reoperation_date": [d(row.get("reop")) for row in rows],
            "readmission_date": [d(row.get("readm")) for row in rows],
            "death_date": [d(row.get("death")) for row in rows],
            "clavien_dindo": [row.get("cd") for row in rows],
            "anastomosis": [row.get("anast") for row in rows],
            "anastomotic_leak": [row.get("leak") for row in rows],
            "site": [row.get("site") for row in rows],
            "priority": [row.get("prio") for row in rows],
            "asa": [row.get("asa") for row in rows],
        }
    )
    prepared = rules.prepare_frame(data, FIELDS)
    prepared[engine.PERIOD] = prepared["operation_date"]
    return prepared


def standard_specs() -> list[engine.DefinitionSpec]:
    """The seven standard definitions as the migration writes them, numbered 1-7."""
    return [
        engine.DefinitionSpec(
            id=i,
            slug=spec["slug"],
            kind=spec["kind"],
            population=spec["population"],
            missing=spec["missing"],
            event=spec.get("event"),
            measure=spec.get("measure"),
        )
        for i, spec in enumerate(STANDARD, start=1)
    ]


def ensure_standard_definitions() -> None:
    """Write the standard definitions again (a transactional test's flush empties the tables
    its data migration filled)."""
    from django.apps import apps

    _MIGRATION.create_standard(apps, None)
    _PUBLISHED.create(apps, None)
