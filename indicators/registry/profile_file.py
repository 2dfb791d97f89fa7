"""Registry profiles as files: read and check a profile (format 1) written in TOML.

The format is the contract in ``profile-format.md``: the registry's columns, row key, date rules
and standard indicators. :func:`load_profile` checks everything the contract says and either
gives a :class:`ProfileSpec` or raises :class:`ProfileRefused` with every problem, each with its
place in the file (``columns[3].kind``, ``indicators[2].event.any[0].op``; indexes from 0) and a
message in Danish and English. Pure: no database, no Django.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

from indicators.registry.profiles import Column, DateOrder, Profile
from indicators.rules.schema import (
    RuleError,
    fields_for_profile,
    validate_measure,
    validate_rule,
)

FORMAT = 1
KINDS = ("cpr", "code", "text", "date", "choice", "int", "decimal")
INDICATOR_KINDS = ("proportion", "measure")
BETTER = ("lower", "higher")
MAX_EVERY_DAYS = 3660  # expected_every_days: ten years at most
SLUG = re.compile(r"[a-z][a-z0-9_]{1,39}")
INDICATOR_SLUG = re.compile(r"[a-z][a-z0-9_-]{1,59}")

_TOP = (
    "format", "slug", "version", "name_da", "name_en", "delimiter", "date_format", "key",
    "period", "hospital_code", "department_code", "hospital_name", "department_name",
    "municipality_code", "date_orders", "expected_every_days", "columns", "indicators",
)  # fmt: skip
_COLUMN = (
    "name", "field", "kind", "required", "label_da", "label_en", "length", "low", "high",
    "choices",
)  # fmt: skip
_INDICATOR = (
    "slug", "name_da", "name_en", "description_da", "description_en", "kind", "population",
    "missing", "event", "measure", "better", "target",
)  # fmt: skip
# The columns that name a place, and the kind each must have.
_PLACES = {
    "hospital_code": ("code", True),
    "department_code": ("code", True),
    "hospital_name": ("text", False),
    "department_name": ("text", False),
    "municipality_code": ("code", False),
}
_MISSING = object()
# The columns every registry's row table has (indicators.registry.storage) and the engine's own
# period column: no profile field may take these names (the CPR column's field is stored as
# ``pseudonym`` whatever it is called).
RESERVED_FIELDS = ("id", "extract_id", "line", "pseudonym", "department_id", "extra", "_period")


# A problem in a profile file is told as a problem in a rule is: its place, Danish and English.
ProfileError = RuleError


class ProfileRefused(Exception):
    """A profile file that does not hold; ``errors`` has every problem found."""

    def __init__(self, errors: list[ProfileError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def messages(self, language: str = "da") -> list[str]:
        return [f"{e.path}: {e.en if language == 'en' else e.da}" for e in self.errors]


@dataclass(frozen=True)
class IndicatorSpec:
    slug: str
    name_da: str
    name_en: str
    description_da: str
    description_en: str
    kind: str  # proportion | measure
    population: dict
    missing: dict
    event: dict | None  # proportion
    measure: dict | None  # measure: {"days": [from, to]}
    better: str  # lower | higher
    target: float | None

    def as_dict(self) -> dict:
        out = {
            "slug": self.slug,
            "name_da": self.name_da,
            "name_en": self.name_en,
            "description_da": self.description_da,
            "description_en": self.description_en,
            "kind": self.kind,
            "population": self.population,
            "missing": self.missing,
            "better": self.better,
        }
        out.update({"event": self.event} if self.kind == "proportion" else {})
        out.update({"measure": self.measure} if self.kind == "measure" else {})
        out.update({"target": self.target} if self.target is not None else {})
        return copy.deepcopy(out)


@dataclass(frozen=True)
class ProfileSpec:
    """A checked profile file, defaults filled in (``field``, labels, ``required``, ...)."""

    slug: str
    version: int
    name_da: str
    name_en: str
    delimiter: str
    date_format: str
    key: tuple[str, ...]
    period: str
    hospital_code: str
    department_code: str
    hospital_name: str | None
    department_name: str | None
    municipality_code: str | None
    date_orders: tuple[DateOrder, ...]
    columns: tuple[Column, ...]  # choices always as {accepted spelling (lower case): stored}
    indicators: tuple[IndicatorSpec, ...]
    # How often an extract is expected, in days (indicators.services.deliveries); None: the
    # file does not say, and the registry is never late unless the server says otherwise.
    expected_every_days: int | None = None

    def as_dict(self) -> dict:
        """The contents as plain data; ``load_profile_data(as_dict())`` gives the same spec."""
        top = {
            "format": FORMAT,
            "slug": self.slug,
            "version": self.version,
            "name_da": self.name_da,
            "name_en": self.name_en,
            "delimiter": self.delimiter,
            "date_format": self.date_format,
            "key": list(self.key),
            "period": self.period,
        }
        for name in _PLACES:
            if getattr(self, name) is not None:
                top[name] = getattr(self, name)
        top["date_orders"] = [[o.later, o.earlier] for o in self.date_orders]
        # Only when given: a profile without it keeps the digest it had before the key existed.
        if self.expected_every_days is not None:
            top["expected_every_days"] = self.expected_every_days
        top["columns"] = [_column_dict(c) for c in self.columns]
        top["indicators"] = [i.as_dict() for i in self.indicators]
        return top

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the canonical JSON of the contents: equal for the same profile, however
        the file orders its keys, spaces its lines or spells its defaults."""
        text = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def profile(self) -> Profile:
        """The importer's view of this registry (``indicators.registry.profiles.Profile``).

        The CPR number, the hospital, the department and the period date are required whatever
        the file says: a row without them cannot be told apart from other patients' rows, placed
        or counted (without the CPR number, every such row would share one pseudonym)."""
        needed = {self.hospital_code, self.department_code, self.period}
        columns = tuple(
            dataclasses.replace(c, required=True) if c.kind == "cpr" or c.name in needed else c
            for c in self.columns
        )
        return Profile(
            slug=self.slug,
            version=self.version,
            name=self.name_da,
            columns=columns,
            key=self.key,
            date_orders=self.date_orders,
            hospital_code=self.hospital_code,
            hospital_name=self.hospital_name or "",
            department_code=self.department_code,
            department_name=self.department_name or "",
            period_column=self.period,
            delimiter=self.delimiter,
            date_format=self.date_format,
        )


def _column_dict(c: Column) -> dict:
    out = {
        "name": c.name,
        "field": c.field,
        "kind": c.kind,
        "required": c.required,
        "label_da": c.label_da,
        "label_en": c.label_en,
    }
    for name in ("length", "low", "high"):
        if getattr(c, name) is not None:
            out[name] = getattr(c, name)
    if c.kind == "choice":
        out["choices"] = dict(c.choices)
    return out


def load_profile(text: str) -> ProfileSpec:
    """Read and check a profile file's text; raise ProfileRefused with every problem."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        path = f"line {line[1]}" if line else "file"
        da, en = f"Filen er ikke gyldig TOML ({exc}).", f"The file is not valid TOML ({exc})."
        raise ProfileRefused([ProfileError(path, da, en)]) from None
    return load_profile_data(data)


SHIPPED = Path(__file__).resolve().parents[2] / "registries"


def shipped(slug: str) -> ProfileSpec:
    """A profile the project ships in ``registries/`` as its file says (no database: for
    generated data and tests; the portal itself reads what is installed, ``catalog``)."""
    return load_profile((SHIPPED / f"{slug}.toml").read_text(encoding="utf-8"))


def load_profile_data(data: Mapping) -> ProfileSpec:
    """Check a profile already read into plain data (TOML's tables, or ``as_dict()``)."""
    check = _Check()
    spec = check.profile(copy.deepcopy(dict(data)))
    if check.errors:
        raise ProfileRefused(check.errors)
    return spec


# --- checking ------------------------------------------------------------------------------------


def _key(name: Any) -> str:
    name = str(name)
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _at(path: str, name: Any) -> str:
    return f"{path}.{_key(name)}" if path else _key(name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _usable_date_format(pattern: str) -> bool:
    """True when dates written with ``pattern`` read back as the same dates (so it has a day,
    a month and a year, and only directives ``strptime`` knows)."""
    try:
        return all(
            datetime.strptime(day.strftime(pattern), pattern).date() == day
            for day in (date(2024, 11, 23), date(2001, 2, 3))
        )
    except (ValueError, TypeError):
        return False


class _Check:
    def __init__(self) -> None:
        self.errors: list[ProfileError] = []

    def add(self, path: str, da: str, en: str) -> None:
        self.errors.append(ProfileError(path, da, en))

    # -- generic pieces

    def known_keys(self, table: dict, allowed, path: str) -> None:
        for name in table:
            if name not in allowed:
                self.add(
                    _at(path, name),
                    f"Ukendt nøgle '{name}'; kendte nøgler: {', '.join(allowed)}.",
                    f"Unknown key '{name}'; known keys: {', '.join(allowed)}.",
                )

    def get(self, table: dict, name: str, path: str, required: bool) -> Any:
        if name in table:
            return table[name]
        if required:
            self.add(_at(path, name), f"'{name}' mangler.", f"'{name}' is missing.")
        return _MISSING

    def text(self, table: dict, name: str, path: str, default: Any = _MISSING) -> Any:
        """A non-empty text; ``default`` makes it optional."""
        value = self.get(table, name, path, default is _MISSING)
        if value is _MISSING:
            return default
        if not _is_text(value):
            self.add(
                _at(path, name),
                f"'{name}' skal være en tekst, der ikke er tom.",
                f"'{name}' must be a non-empty text.",
            )
            return _MISSING
        return value

    def tables(self, data: dict, name: str, required: bool) -> list[tuple[str, dict]]:
        """A list of tables (``[[name]]``), each with its path."""
        value = self.get(data, name, "", required)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or (required and not value):
            da, en = ", der ikke er tom" if required else "", " non-empty" if required else ""
            self.add(
                name,
                f"'{name}' skal være en liste af tabeller ([[{name}]]){da}.",
                f"'{name}' must be a{en} list of tables ([[{name}]]).",
            )
            return []
        found = []
        for i, table in enumerate(value):
            if isinstance(table, dict):
                found.append((f"{name}[{i}]", table))
            else:
                da, en = f"Hvert element i '{name}'", f"Each element of '{name}'"
                self.add(f"{name}[{i}]", f"{da} skal være en tabel.", f"{en} must be a table.")
        return found

    # -- the whole file

    def profile(self, data: dict) -> ProfileSpec | None:
        self.known_keys(data, _TOP, "")
        fmt = self.get(data, "format", "", True)
        if fmt is not _MISSING and not (_is_int(fmt) and fmt == FORMAT):
            self.add(
                "format",
                f"'format' skal være {FORMAT}; portalen læser profiler i format {FORMAT}.",
                f"'format' must be {FORMAT}; the portal reads profiles in format {FORMAT}.",
            )
        slug = self.get(data, "slug", "", True)
        if isinstance(slug, str) and SLUG.fullmatch(slug) and re.search(r"_x\d+$", slug):
            self.add(
                "slug",
                "'slug' må ikke ende på _x og et tal (sådan navngives et udtræks tabel).",
                "'slug' may not end in _x and a number (that is how an extract's table is named).",
            )
            slug = _MISSING
        elif slug is not _MISSING and not (isinstance(slug, str) and SLUG.fullmatch(slug)):
            self.add(
                "slug",
                "'slug' skal være 2-40 tegn: små bogstaver a-z, cifre og _, først et bogstav.",
                "'slug' must be 2-40 characters: lower-case a-z, digits and _, a letter first.",
            )
            slug = _MISSING
        version = self.get(data, "version", "", True)
        if version is not _MISSING and not (_is_int(version) and version >= 1):
            self.add(
                "version",
                "'version' skal være et helt tal på mindst 1.",
                "'version' must be a whole number of at least 1.",
            )
            version = _MISSING
        name_da, name_en = self.text(data, "name_da", ""), self.text(data, "name_en", "")
        delimiter = self.get(data, "delimiter", "", False)
        if delimiter is _MISSING:
            delimiter = ";"
        elif not (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in '"\r\n'):
            self.add(
                "delimiter",
                "'delimiter' skal være ét tegn (ikke anførselstegn eller linjeskift).",
                "'delimiter' must be one character (not a quote or a line break).",
            )
        date_format = self.get(data, "date_format", "", False)
        if date_format is _MISSING:
            date_format = "%d-%m-%Y"
        elif not (isinstance(date_format, str) and _usable_date_format(date_format)):
            self.add(
                "date_format",
                "'date_format' skal være et strftime-mønster med dag, måned og år, fx %d-%m-%Y.",
                "'date_format' must be a strftime pattern with day, month and year, e.g. %d-%m-%Y.",
            )
        expected_every_days = self.get(data, "expected_every_days", "", False)
        if expected_every_days is _MISSING:
            expected_every_days = None
        elif not (_is_int(expected_every_days) and 1 <= expected_every_days <= MAX_EVERY_DAYS):
            self.add(
                "expected_every_days",
                f"'expected_every_days' skal være et helt antal dage fra 1 til {MAX_EVERY_DAYS}.",
                f"'expected_every_days' must be a whole number of days from 1 to {MAX_EVERY_DAYS}.",
            )

        columns = [self.column(path, table) for path, table in self.tables(data, "columns", True)]
        kinds: dict[str, str | None] = {}  # each column with a usable name: its kind, or None
        for c in columns:
            if c["name"] is not _MISSING:
                kinds.setdefault(c["name"], None if c["kind"] is _MISSING else c["kind"])
        twice = self.unique(columns, "name", "navnet", "name")
        # A file's header is read case-insensitively, so names may not differ by case alone.
        lower: dict[str, str] = {}
        for c in columns:
            name = c["name"]
            if name is _MISSING or c["path"] in twice:
                continue
            if name.lower() in lower and lower[name.lower()] != name:
                twice.add(c["path"])
                self.add(
                    f"{c['path']}.name",
                    f"{name!r} adskiller sig kun ved store og små bogstaver fra "
                    f"{lower[name.lower()]!r}; filens overskrift læses uden forskel på dem.",
                    f"{name!r} differs only in case from {lower[name.lower()]!r}; the file's "
                    "header is read without telling them apart.",
                )
            lower.setdefault(name.lower(), name)
        self.unique(
            [dict(c, field=c["field"].lower() if isinstance(c["field"], str) else c["field"])
             for c in columns if c["path"] not in twice],
            "field", "feltnavnet", "field",  # upper and lower case count as the same
        )  # fmt: skip
        cprs = [c for c in columns if c["kind"] == "cpr"]
        if not cprs and self.tables_ok(data, "columns"):
            self.add(
                "columns",
                "Præcis én kolonne skal have kind cpr; der er ingen.",
                "Exactly one column must have kind cpr; there is none.",
            )
        for c in cprs[1:]:
            self.add(
                f"{c['path']}.kind",
                "Præcis én kolonne må have kind cpr; dette er den anden eller flere.",
                "Exactly one column may have kind cpr; this is a second one or more.",
            )

        key = self.key(data, kinds)
        period = self.reference(data, "period", kinds, ("date",), True)
        places = {
            name: self.reference(data, name, kinds, (kind,), required)
            for name, (kind, required) in _PLACES.items()
        }
        date_orders = self.date_orders(data, kinds)

        fields = self.rule_fields(columns, places)
        indicators = [
            self.indicator(path, table, fields)
            for path, table in self.tables(data, "indicators", False)
        ]
        self.unique(indicators, "slug", "slug'en", "slug")

        if self.errors:
            return None
        return ProfileSpec(
            slug=slug,
            version=version,
            name_da=name_da,
            name_en=name_en,
            delimiter=delimiter,
            date_format=date_format,
            key=tuple(key),
            period=period,
            **{name: None if v is _MISSING else v for name, v in places.items()},
            date_orders=tuple(DateOrder(later, earlier) for later, earlier in date_orders),
            columns=tuple(c["column"] for c in columns),
            indicators=tuple(i["indicator"] for i in indicators),
            expected_every_days=expected_every_days,
        )

    def tables_ok(self, data: dict, name: str) -> bool:
        value = data.get(name)
        return isinstance(value, list) and bool(value)

    def unique(self, items: list[dict], name: str, what_da: str, what_en: str) -> set[str]:
        """Report each item whose ``name`` an earlier one has; give their paths."""
        seen: set = set()
        twice = set()
        for item in items:
            value = item[name]
            if value is _MISSING:
                continue
            if value in seen:
                twice.add(item["path"])
                self.add(
                    f"{item['path']}.{name}",
                    f"{what_da.capitalize()} {value!r} er allerede brugt; det skal være entydigt.",
                    f"The {what_en} {value!r} is already used; it must be unique.",
                )
            seen.add(value)
        return twice

    # -- columns

    def column(self, path: str, table: dict) -> dict:
        self.known_keys(table, _COLUMN, path)
        name = self.text(table, "name", path)
        field = self.get(table, "field", path, False)
        if field is _MISSING:
            field = name
        if field is not _MISSING and not (
            isinstance(field, str) and field.isidentifier() and len(field.encode()) <= 63
        ):
            self.add(
                f"{path}.field",
                f"{field!r} kan ikke være et feltnavn (bogstaver, cifre og _, ikke først et "
                "ciffer, højst 63 bytes); giv kolonnen et 'field'.",
                f"{field!r} cannot be a field name (letters, digits and _, not a digit first, at "
                "most 63 bytes); give the column a 'field'.",
            )
            field = _MISSING
        kind = self.get(table, "kind", path, True)
        if field in RESERVED_FIELDS and not (field == "pseudonym" and kind == "cpr"):
            self.add(
                f"{path}.field" if "field" in table else f"{path}.name",
                f"Feltnavnet {field!r} er forbeholdt portalen ({', '.join(RESERVED_FIELDS)}); "
                "giv kolonnen et andet 'field'.",
                f"The field name {field!r} is reserved by the portal "
                f"({', '.join(RESERVED_FIELDS)}); give the column another 'field'.",
            )
            field = _MISSING
        if kind is not _MISSING and kind not in KINDS:
            self.add(
                f"{path}.kind",
                f"'kind' skal være én af: {', '.join(KINDS)}.",
                f"'kind' must be one of: {', '.join(KINDS)}.",
            )
            kind = _MISSING
        required = self.get(table, "required", path, False)
        if required is _MISSING:
            required = False
        elif not isinstance(required, bool):
            self.add(
                f"{path}.required",
                "'required' skal være true eller false.",
                "'required' must be true or false.",
            )
        default = name if name is not _MISSING else ""
        label_da = self.text(table, "label_da", path, default)
        label_en = self.text(table, "label_en", path, default)
        length = self.length(table, path, kind)
        low, high = self.bounds(table, path, kind)
        choices = self.choices(table, path, kind)
        entry = {"path": path, "name": name, "field": field, "kind": kind, "choices": choices}
        values = (name, field, kind, label_da, label_en, choices)
        if all(v is not _MISSING for v in values):
            entry["column"] = Column(
                name, field, kind, required, label_da, label_en, choices, low, high, length
            )
        return entry

    def length(self, table: dict, path: str, kind: Any) -> int | None:
        length = self.get(table, "length", path, False)
        if length is _MISSING:
            return None
        if kind not in ("code", "text") and kind is not _MISSING:
            self.add(
                f"{path}.length",
                "'length' gælder kun kolonner med kind code eller text.",
                "'length' is only for columns of kind code or text.",
            )
        elif not (_is_int(length) and length >= 1):
            self.add(
                f"{path}.length",
                "'length' skal være et helt tal på mindst 1.",
                "'length' must be a whole number of at least 1.",
            )
        return length

    def bounds(self, table: dict, path: str, kind: Any) -> tuple:
        found = {}
        for name in ("low", "high"):
            value = self.get(table, name, path, False)
            if value is _MISSING:
                found[name] = None
            elif kind not in ("int", "decimal") and kind is not _MISSING:
                self.add(
                    f"{path}.{name}",
                    f"'{name}' gælder kun kolonner med kind int eller decimal.",
                    f"'{name}' is only for columns of kind int or decimal.",
                )
            elif kind == "int" and not _is_int(value):
                da, en = "skal være et helt tal", "must be a whole number"
                self.add(f"{path}.{name}", f"'{name}' {da}.", f"'{name}' {en}.")
            elif not _is_number(value):
                da, en = "skal være et tal", "must be a number"
                self.add(f"{path}.{name}", f"'{name}' {da}.", f"'{name}' {en}.")
            else:
                found[name] = value if kind == "int" else float(value)
        low, high = found.get("low"), found.get("high")
        if low is not None and high is not None and low > high:
            self.add(
                f"{path}.high",
                f"'high' ({high}) må ikke være mindre end 'low' ({low}).",
                f"'high' ({high}) must not be less than 'low' ({low}).",
            )
        return low, high

    def choices(self, table: dict, path: str, kind: Any) -> Any:
        """The accepted spellings (lower case) with their stored values, or _MISSING."""
        where = f"{path}.choices"
        choices = self.get(table, "choices", path, kind == "choice")
        if choices is _MISSING or kind is _MISSING:
            return MappingProxyType({}) if kind not in ("choice", _MISSING) else _MISSING
        if kind != "choice":
            self.add(
                where,
                "'choices' gælder kun kolonner med kind choice.",
                "'choices' is only for columns of kind choice.",
            )
            return MappingProxyType({})
        n = len(self.errors)
        found: dict = {}
        if isinstance(choices, list) and choices:
            for i, value in enumerate(choices):
                if not (_is_text(value) and value == value.strip()):
                    self.add(
                        f"{where}[{i}]",
                        "Hvert valg skal være en tekst uden mellemrum før og efter.",
                        "Each choice must be a text without spaces before or after.",
                    )
                elif value.lower() in found:
                    self.add(
                        f"{where}[{i}]",
                        f"{value!r} står der allerede (store og små bogstaver regnes for ens).",
                        f"{value!r} is there already (upper and lower case count as the same).",
                    )
                else:
                    found[value.lower()] = value
        elif isinstance(choices, dict) and choices:
            for spelling, value in choices.items():
                if not (spelling.strip() and spelling == spelling.strip().lower()):
                    self.add(
                        _at(where, spelling),
                        "Hver stavemåde skal skrives med små bogstaver, uden mellemrum før og "
                        "efter.",
                        "Each spelling must be written in lower case, without spaces before or "
                        "after.",
                    )
                elif not (isinstance(value, bool) or _is_text(value)):
                    self.add(
                        _at(where, spelling),
                        "Den gemte værdi skal være en tekst eller true/false.",
                        "The stored value must be a text or true/false.",
                    )
                else:
                    found[spelling] = value
            if len({isinstance(v, bool) for v in found.values()}) > 1:
                self.add(
                    where,
                    "De gemte værdier skal være enten alle tekster eller alle true/false.",
                    "The stored values must be either all texts or all true/false.",
                )
        else:
            self.add(
                where,
                "'choices' skal være en liste af værdier eller en tabel fra stavemåde til værdi, "
                "og ikke tom.",
                "'choices' must be a list of values or a table from spelling to value, and "
                "not empty.",
            )
        return MappingProxyType(found) if len(self.errors) == n else _MISSING

    # -- references to columns

    def column_name(self, value: Any, path: str, kinds: dict, allowed: tuple) -> bool:
        if not isinstance(value, str) or value not in kinds:
            known = ", ".join(kinds)
            self.add(
                path,
                f"{value!r} er ikke en kolonne; kolonnerne er: {known}.",
                f"{value!r} is not a column; the columns are: {known}.",
            )
            return False
        kind = kinds[value]
        if allowed and kind is not None and kind not in allowed:
            shown = " eller ".join(allowed), " or ".join(allowed)
            self.add(
                path,
                f"Kolonnen {value!r} skal have kind {shown[0]}, ikke {kind}.",
                f"The column {value!r} must have kind {shown[1]}, not {kind}.",
            )
            return False
        return True

    def reference(self, data: dict, name: str, kinds: dict, allowed: tuple, required: bool):
        value = self.get(data, name, "", required)
        if value is _MISSING or not self.column_name(value, name, kinds, allowed):
            return _MISSING
        return value

    def key(self, data: dict, kinds: dict) -> list:
        key = self.get(data, "key", "", True)
        if key is _MISSING:
            return []
        if not (isinstance(key, list) and key):
            self.add(
                "key",
                "'key' skal være en liste af kolonnenavne, der ikke er tom.",
                "'key' must be a non-empty list of column names.",
            )
            return []
        for i, name in enumerate(key):
            if self.column_name(name, f"key[{i}]", kinds, ()) and key.index(name) < i:
                self.add(
                    f"key[{i}]",
                    f"{name!r} står allerede i 'key'.",
                    f"{name!r} is in 'key' already.",
                )
        return key

    def date_orders(self, data: dict, kinds: dict) -> list:
        orders = self.get(data, "date_orders", "", False)
        if orders is _MISSING:
            return []
        if not isinstance(orders, list):
            self.add(
                "date_orders",
                "'date_orders' skal være en liste af par [senere, tidligere].",
                "'date_orders' must be a list of pairs [later, earlier].",
            )
            return []
        for i, pair in enumerate(orders):
            path = f"date_orders[{i}]"
            if not (isinstance(pair, list) and len(pair) == 2):
                self.add(
                    path,
                    "Hver regel skal være et par af datokolonner: [senere, tidligere].",
                    "Each rule must be a pair of date columns: [later, earlier].",
                )
                continue
            for j, name in enumerate(pair):
                self.column_name(name, f"{path}[{j}]", kinds, ("date",))
            if pair[0] == pair[1]:
                self.add(
                    path,
                    "De to datoer skal være forskellige kolonner.",
                    "The two dates must be different columns.",
                )
        return orders

    # -- indicators

    def rule_fields(self, columns: list[dict], places: dict) -> dict:
        """The fields rules may use, from the columns that hold, as the engine offers them
        (``fields_for_profile``: not the CPR number, nor the hospital's and department's codes
        and names)."""
        usable = [c["column"] for c in columns if "column" in c]
        where = {name: None if v is _MISSING else v for name, v in places.items()}
        return fields_for_profile(SimpleNamespace(columns=usable, **where))

    def indicator(self, path: str, table: dict, fields: dict) -> dict:
        self.known_keys(table, _INDICATOR, path)
        slug = self.get(table, "slug", path, True)
        if slug is not _MISSING and not (isinstance(slug, str) and INDICATOR_SLUG.fullmatch(slug)):
            self.add(
                f"{path}.slug",
                "'slug' skal være 2-60 tegn: små bogstaver a-z, cifre, _ og -, først et bogstav.",
                "'slug' must be 2-60 characters: lower-case a-z, digits, _ and -, a letter first.",
            )
            slug = _MISSING
        names = [self.text(table, name, path) for name in ("name_da", "name_en")]
        descriptions = [
            self.get(table, name, path, False) for name in ("description_da", "description_en")
        ]
        for name, value in zip(("description_da", "description_en"), descriptions, strict=True):
            if value is not _MISSING and not isinstance(value, str):
                da, en = "skal være en tekst", "must be a text"
                self.add(f"{path}.{name}", f"'{name}' {da}.", f"'{name}' {en}.")
        kind = self.choice(table, "kind", path, INDICATOR_KINDS)
        better = self.choice(table, "better", path, BETTER)
        rules = {}
        for name in ("population", "missing"):
            rules[name] = self.rule(table, name, path, fields, required=True)
        for name, wanted in (("event", "proportion"), ("measure", "measure")):
            if kind is _MISSING:
                rules[name] = None
            elif kind == wanted:
                rules[name] = self.rule(table, name, path, fields, required=True)
            else:
                rules[name] = None
                if name in table:
                    self.add(
                        f"{path}.{name}",
                        f"'{name}' hører kun til indikatorer med kind {wanted}.",
                        f"'{name}' belongs only to indicators of kind {wanted}.",
                    )
        target = self.target(table, path, kind)
        entry = {"path": path, "slug": slug}
        values = (slug, *names, kind, better, target, *rules.values())
        if all(v is not _MISSING for v in values):
            da, en = ("" if d is _MISSING else d for d in descriptions)
            entry["indicator"] = IndicatorSpec(
                slug, *names, da, en, kind, rules["population"], rules["missing"],
                rules["event"], rules["measure"], better, target,
            )  # fmt: skip
        return entry

    def choice(self, table: dict, name: str, path: str, allowed: tuple) -> Any:
        value = self.get(table, name, path, True)
        if value is not _MISSING and value not in allowed:
            self.add(
                f"{path}.{name}",
                f"'{name}' skal være én af: {', '.join(allowed)}.",
                f"'{name}' must be one of: {', '.join(allowed)}.",
            )
            return _MISSING
        return value

    def target(self, table: dict, path: str, kind: Any) -> Any:
        target = self.get(table, "target", path, False)
        if target is _MISSING:
            return None
        where = f"{path}.target"
        if not _is_number(target):
            self.add(where, "'target' skal være et tal.", "'target' must be a number.")
            return _MISSING
        if kind == "proportion" and not 0 <= target <= 1:
            self.add(
                where,
                "En andels mål skal ligge mellem 0 og 1 (fx 0.03 for 3 %).",
                "A proportion's target must lie between 0 and 1 (e.g. 0.03 for 3 %).",
            )
            return _MISSING
        if kind == "measure" and target < 0:
            self.add(
                where,
                "Et mål i dage kan ikke være negativt.",
                "A target in days cannot be negative.",
            )
            return _MISSING
        return float(target)

    def rule(self, table: dict, name: str, path: str, fields: dict, required: bool) -> Any:
        node = self.get(table, name, path, required)
        if node is _MISSING:
            return _MISSING
        where = f"{path}.{name}"
        n = len(self.errors)
        if name == "measure":
            if isinstance(node, dict) and "days" in node:
                self.known_keys(node, ("days",), where)
                node = {"days": node["days"]}
            problems = validate_measure(node, fields, where)
        else:
            problems = validate_rule(self.rule_keys(node, where), fields, where)
        self.errors += [ProfileError(p.path, p.da, p.en) for p in problems]
        return node if len(self.errors) == n else _MISSING

    def rule_keys(self, node: Any, path: str) -> Any:
        """Report unknown keys at their own place; give the rule without them for the rule
        checks. A part of no known sort is left to them ("use all, any, not, field or days")."""
        if not isinstance(node, dict):
            return node
        if "field" in node:
            allowed: tuple = ("field", "op", "value")
        elif "days" in node:
            allowed = ("days", "op", "value")
        elif {"all", "any", "not"} & set(node):
            allowed = ("all", "any", "not")
        else:
            return node
        self.known_keys(node, allowed, path)
        known = {k: v for k, v in node.items() if k in allowed}
        for name in ("all", "any"):
            if isinstance(known.get(name), list):
                known[name] = [
                    self.rule_keys(child, f"{path}.{name}[{i}]")
                    for i, child in enumerate(known[name])
                ]
        if "not" in known:
            known["not"] = self.rule_keys(known["not"], f"{path}.not")
        return known
