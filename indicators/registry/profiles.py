"""Registry profiles: what one registry's extract looks like.

The importer's core knows kinds of columns (a CPR number, a code, a date, a choice, a number),
not any one registry; a profile names the columns, their kinds and codes, the row key and the
rules between dates. A second registry is a second ``Profile``, not a change to the importer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Column:
    name: str  # as written in the file's header
    field: str  # the canonical field on OperationRow
    kind: str  # cpr | code | text | date | choice | int | decimal
    required: bool = False  # blank makes the row invalid
    label_da: str = ""
    label_en: str = ""
    # choice: accepted spellings (lower case) -> canonical value
    choices: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    low: int | None = None  # int: inclusive range
    high: int | None = None
    length: int | None = None  # code: exact length; text: maximum length


@dataclass(frozen=True)
class DateOrder:
    """``later`` may not be before ``earlier`` (checked where both are present)."""

    later: str
    earlier: str


@dataclass(frozen=True)
class Profile:
    slug: str
    version: int
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # column names that identify a row within a file
    date_orders: tuple[DateOrder, ...]
    hospital_code: str
    hospital_name: str
    department_code: str
    department_name: str
    period_column: str  # the date that decides the period a row counts in
    delimiter: str = ";"
    date_format: str = "%d-%m-%Y"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


_YES_NO = MappingProxyType({"ja": True, "nej": False, "1": True, "0": False})
_GRADES = ("0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")

DCCG = Profile(
    slug="dccg",
    version=1,
    name="DCCG – Dansk Kolorektal Cancer Database",
    columns=(
        Column("cpr", "pseudonym", "cpr", True, "CPR-nummer", "CPR number"),
        Column("sygehus_kode", "hospital_code", "code", True, "Sygehuskode", "Hospital code",
               length=4),
        Column("sygehus_navn", "hospital_name", "text", False, "Sygehusnavn", "Hospital name",
               length=200),
        Column("afdeling_kode", "department_code", "code", True, "Afdelingskode",
               "Department code", length=7),
        Column("afdeling_navn", "department_name", "text", False, "Afdelingsnavn",
               "Department name", length=200),
        Column("indl_dato", "admission_date", "date", True, "Indlæggelsesdato", "Admission date"),
        Column("opr_dato", "operation_date", "date", True, "Operationsdato", "Operation date"),
        Column("udskr_dato", "discharge_date", "date", False, "Udskrivelsesdato",
               "Discharge date"),
        Column("procedurekode", "procedure_code", "code", True, "Procedurekode",
               "Procedure code"),
        Column("lokalisation", "site", "choice", False, "Lokalisation", "Tumour site",
               choices=MappingProxyType({"kolon": "kolon", "rektum": "rektum"})),
        Column("prioritet", "priority", "choice", False, "Prioritet", "Urgency",
               choices=MappingProxyType({"elektiv": "elektiv", "akut": "akut"})),
        Column("asa", "asa", "int", False, "ASA-score", "ASA score", low=1, high=5),
        Column("alder", "age", "int", False, "Alder", "Age", low=0, high=120),
        Column("koen", "sex", "choice", False, "Køn", "Sex",
               choices=MappingProxyType({"m": "M", "k": "K"})),
        Column("bmi", "bmi", "decimal", False, "BMI", "BMI"),
        Column("anastomose", "anastomosis", "choice", False, "Anastomose", "Anastomosis",
               choices=_YES_NO),
        Column("anastomoselaekage", "anastomotic_leak", "choice", False, "Anastomoselækage",
               "Anastomotic leak", choices=_YES_NO),
        Column("clavien_dindo", "clavien_dindo", "choice", False, "Clavien-Dindo",
               "Clavien-Dindo", choices=MappingProxyType({g.lower(): g for g in _GRADES})),
        Column("reoperation_dato", "reoperation_date", "date", False, "Reoperationsdato",
               "Reoperation date"),
        Column("genindl_dato", "readmission_date", "date", False, "Genindlæggelsesdato",
               "Readmission date"),
        Column("doed_dato", "death_date", "date", False, "Dødsdato", "Date of death"),
    ),
    key=("cpr", "opr_dato", "procedurekode"),
    date_orders=(
        DateOrder("opr_dato", "indl_dato"),
        DateOrder("udskr_dato", "opr_dato"),
        DateOrder("reoperation_dato", "opr_dato"),
        DateOrder("genindl_dato", "udskr_dato"),
        DateOrder("doed_dato", "opr_dato"),
    ),
    hospital_code="sygehus_kode",
    hospital_name="sygehus_navn",
    department_code="afdeling_kode",
    department_name="afdeling_navn",
    period_column="opr_dato",
)  # fmt: skip

PROFILES: Mapping[str, Profile] = MappingProxyType({DCCG.slug: DCCG})


def get_profile(slug: str) -> Profile:
    try:
        return PROFILES[slug]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise KeyError(f"unknown registry profile {slug!r} (known: {known})") from None
