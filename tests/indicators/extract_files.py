"""Small hand-made extract files for the importer tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = FIXTURES / "sample-extract.csv"

HEADER = (
    "cpr;sygehus_kode;sygehus_navn;afdeling_kode;afdeling_navn;indl_dato;opr_dato;udskr_dato;"
    "procedurekode;lokalisation;prioritet;asa;alder;koen;bmi;anastomose;anastomoselaekage;"
    "clavien_dindo;reoperation_dato;genindl_dato;doed_dato"
)
COLUMNS = HEADER.split(";")

# Three valid rows; their CPR numbers are made up but well-formed.
ROWS = [
    {
        "cpr": "0510452973", "sygehus_kode": "6630", "sygehus_navn": "Sygehus Lillebælt, Vejle",
        "afdeling_kode": "6630220", "afdeling_navn": "Kirurgisk Afdeling, Vejle",
        "indl_dato": "21-03-2023", "opr_dato": "21-03-2023", "udskr_dato": "27-03-2023",
        "procedurekode": "KJGB10", "lokalisation": "rektum", "prioritet": "elektiv", "asa": "1",
        "alder": "77", "koen": "M", "bmi": "20,8", "anastomose": "ja", "anastomoselaekage": "nej",
        "clavien_dindo": "0", "reoperation_dato": "", "genindl_dato": "", "doed_dato": "",
    },
    {
        "cpr": "170836-4725", "sygehus_kode": "4202",
        "sygehus_navn": "Sjællands Universitetshospital, Køge", "afdeling_kode": "4202200",
        "afdeling_navn": "Kirurgisk Afdeling; Køge", "indl_dato": "31-03-2023",
        "opr_dato": "31-03-2023", "udskr_dato": "14-04-2023", "procedurekode": "KJGB00",
        "lokalisation": "rektum", "prioritet": "akut", "asa": "4", "alder": "86", "koen": "M",
        "bmi": "21,0", "anastomose": "ja", "anastomoselaekage": "ja", "clavien_dindo": "IIIb",
        "reoperation_dato": "04-04-2023", "genindl_dato": "20-04-2023", "doed_dato": "",
    },
    {
        "cpr": "0104588508", "sygehus_kode": "4202",
        "sygehus_navn": "Sjællands Universitetshospital, Køge", "afdeling_kode": "4202200",
        "afdeling_navn": "Kirurgisk Afdeling; Køge", "indl_dato": "28-01-2023",
        "opr_dato": "29-01-2023", "udskr_dato": "01-02-2023", "procedurekode": "KJFB43",
        "lokalisation": "kolon", "prioritet": "elektiv", "asa": "2", "alder": "64", "koen": "K",
        "bmi": "27,4", "anastomose": "ja", "anastomoselaekage": "", "clavien_dindo": "",
        "reoperation_dato": "", "genindl_dato": "", "doed_dato": "",
    },
]  # fmt: skip
CPRS = ["0510452973", "1708364725", "0104588508"]


def _field(value: str) -> str:
    if ";" in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(rows: list[dict] | None = None, *, columns: list[str] | None = None) -> str:
    rows = ROWS if rows is None else rows
    columns = columns or COLUMNS
    lines = [";".join(columns)]
    lines += [";".join(_field(row.get(name, "")) for name in columns) for row in rows]
    return "\n".join(lines) + "\n"


def with_change(index: int, **changes: str) -> list[dict]:
    """The three valid rows with row ``index`` changed."""
    rows = [dict(row) for row in ROWS]
    rows[index].update(changes)
    return rows
