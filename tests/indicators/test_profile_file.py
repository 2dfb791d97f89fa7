"""Registry profiles as files (profile-format.md): every rule of the format, refused with its
place and a message in Danish and English; the shipped profiles; the digest."""

from __future__ import annotations

import copy
import importlib
import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.registry.profile_file import (
    ProfileError,
    ProfileRefused,
    load_profile,
    load_profile_data,
)

REGISTRIES = Path(__file__).resolve().parents[2] / "registries"


# --- writing TOML (tomllib only reads) -----------------------------------------------------------


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(_value, value)) + "]"
    return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"


def to_toml(data: dict) -> str:
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in data.items())


# --- a small valid profile, and its mutations ----------------------------------------------------

BASE = {
    "format": 1,
    "slug": "mini",
    "version": 1,
    "name_da": "Mini",
    "name_en": "Mini",
    "key": ["cpr", "dato"],
    "period": "dato",
    "hospital_code": "sygehus",
    "department_code": "afdeling",
    "date_orders": [["slut", "dato"]],
    "columns": [
        {"name": "cpr", "kind": "cpr", "required": True},  # 0
        {"name": "sygehus", "kind": "code", "length": 4},  # 1
        {"name": "afdeling", "kind": "code", "length": 7},  # 2
        {"name": "note", "kind": "text"},  # 3
        {"name": "dato", "kind": "date", "required": True},  # 4
        {"name": "slut", "kind": "date"},  # 5
        {"name": "svar", "kind": "choice", "choices": {"ja": True, "nej": False}},  # 6
        {"name": "gruppe", "kind": "choice", "choices": ["A", "B"]},  # 7
        {"name": "antal", "kind": "int", "low": 0, "high": 9},  # 8
        {"name": "vaegt", "kind": "decimal"},  # 9
        {"name": "farve", "kind": "choice", "choices": ["rød", "grøn"]},  # 10: in no rule
    ],
    "indicators": [
        {
            "slug": "andel",
            "name_da": "Andel",
            "name_en": "Share",
            "kind": "proportion",
            "population": {"all": []},
            "missing": {"field": "svar", "op": "blank"},
            "event": {"field": "svar", "op": "eq", "value": True},
            "better": "lower",
            "target": 0.1,
        },
        {
            "slug": "dage",
            "name_da": "Dage",
            "name_en": "Days",
            "kind": "measure",
            "population": {"all": []},
            "missing": {"field": "slut", "op": "blank"},
            "measure": {"days": ["dato", "slut"]},
            "better": "lower",
        },
        {
            "slug": "gruppe-a",
            "name_da": "Gruppe A",
            "name_en": "Group A",
            "kind": "proportion",
            "population": {"not": {"field": "antal", "op": "blank"}},
            "missing": {"any": []},
            "event": {
                "any": [
                    {"field": "gruppe", "op": "eq", "value": "A"},
                    {"days": ["dato", "slut"], "op": "le", "value": 30},
                ]
            },
            "better": "higher",
        },
    ],
}
COLUMN_NAMES = "cpr, sygehus, afdeling, note, dato, slut, svar, gruppe, antal, vaegt, farve"
RULE_FIELDS = "antal, dato, farve, gruppe, note, slut, svar, vaegt"


def changed(*steps) -> dict:
    """BASE with each step applied: (path, value) sets, (path,) deletes; a path is a tuple."""
    data = copy.deepcopy(BASE)
    for step in steps:
        *parents, last = step[0]
        target = data
        for part in parents:
            target = target[part]
        if len(step) == 1:
            del target[last]
        else:
            target[last] = step[1]
    return data


def refusal(data: dict) -> list[ProfileError]:
    with pytest.raises(ProfileRefused) as refused:
        load_profile(to_toml(data))
    return refused.value.errors


def only(data: dict, path: str, da: str, en: str) -> None:
    assert refusal(data) == [ProfileError(path, da, en)]


def test_the_small_profile_loads_with_its_defaults():
    spec = load_profile(to_toml(BASE))
    assert (spec.delimiter, spec.date_format) == (";", "%d-%m-%Y")
    assert spec.hospital_name is spec.department_name is spec.municipality_code is None
    note = spec.columns[3]
    assert (note.field, note.label_da, note.label_en, note.required) == (
        "note",
        "note",
        "note",
        False,
    )
    assert dict(spec.columns[7].choices) == {"a": "A", "b": "B"}  # a list: stored as written
    assert dict(spec.columns[6].choices) == {"ja": True, "nej": False}
    assert [i.slug for i in spec.indicators] == ["andel", "dage", "gruppe-a"]
    assert spec.indicators[1].event is None and spec.indicators[0].measure is None
    assert spec.indicators[0].description_da == ""


REQUIRED = [
    *[(name,) for name in ("format", "slug", "version", "name_da", "name_en", "key", "period")],
    ("hospital_code",),
    ("department_code",),
    ("columns", 3, "name"),
    ("columns", 3, "kind"),
    *[("indicators", 2, name) for name in ("slug", "name_da", "name_en", "kind", "better")],
    ("indicators", 2, "population"),
    ("indicators", 2, "missing"),
]


@pytest.mark.parametrize("path", REQUIRED, ids=lambda p: ".".join(map(str, p)))
def test_a_required_key_that_is_missing(path):
    place = path[0] if len(path) == 1 else f"{path[0]}[{path[1]}].{path[2]}"
    only(changed((path,)), place, f"'{path[-1]}' mangler.", f"'{path[-1]}' is missing.")


def test_a_profile_without_columns():
    errors = refusal(changed((("columns",),)))
    assert errors[0] == ProfileError("columns", "'columns' mangler.", "'columns' is missing.")


def test_a_file_that_is_not_toml_is_refused_with_its_line():
    text = 'format = 1\nslug = "mini\n'
    with pytest.raises(tomllib.TOMLDecodeError) as raised:
        tomllib.loads(text)
    with pytest.raises(ProfileRefused) as refused:
        load_profile(text)
    exc = raised.value
    assert refused.value.errors == [
        ProfileError(
            "line 2", f"Filen er ikke gyldig TOML ({exc}).", f"The file is not valid TOML ({exc})."
        )
    ]


def test_every_problem_is_reported_at_once():
    errors = refusal(
        changed(
            (("slug",), "X"), (("columns", 3, "kind"), "tekst"), (("indicators", 2, "better"), "up")
        )
    )
    assert [e.path for e in errors] == ["slug", "columns[3].kind", "indicators[2].better"]
    assert str(errors[0]).startswith("slug: 'slug' must be")
    assert ProfileRefused(errors).messages("en")[1].startswith("columns[3].kind: 'kind' must")


# --- top level -----------------------------------------------------------------------------------

TOP_KEYS = (
    "format, slug, version, name_da, name_en, delimiter, date_format, key, period, hospital_code, "
    "department_code, hospital_name, department_name, municipality_code, date_orders, "
    "expected_every_days, columns, indicators"
)


def test_unknown_top_level_key():
    only(
        changed((("colour",), "blue")),
        "colour",
        f"Ukendt nøgle 'colour'; kendte nøgler: {TOP_KEYS}.",
        f"Unknown key 'colour'; known keys: {TOP_KEYS}.",
    )


@pytest.mark.parametrize("value", [2, 0, True, "1", 1.0])
def test_format_must_be_1(value):
    only(
        changed((("format",), value)),
        "format",
        "'format' skal være 1; portalen læser profiler i format 1.",
        "'format' must be 1; the portal reads profiles in format 1.",
    )


@pytest.mark.parametrize("value", ["Mini", "m", "1mini", "mi-ni", "m" * 41, "", 5, "mini\n"])
def test_registry_slug_pattern(value):
    only(
        changed((("slug",), value)),
        "slug",
        "'slug' skal være 2-40 tegn: små bogstaver a-z, cifre og _, først et bogstav.",
        "'slug' must be 2-40 characters: lower-case a-z, digits and _, a letter first.",
    )


@pytest.mark.parametrize("value", ["mi", "m" * 40, "a_9"])
def test_registry_slug_accepted(value):
    assert load_profile(to_toml(changed((("slug",), value)))).slug == value


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_version_is_a_whole_number_of_at_least_1(value):
    only(
        changed((("version",), value)),
        "version",
        "'version' skal være et helt tal på mindst 1.",
        "'version' must be a whole number of at least 1.",
    )


@pytest.mark.parametrize(("name", "value"), [("name_da", ""), ("name_en", "  "), ("name_da", 3)])
def test_names_are_non_empty_texts(name, value):
    only(
        changed(((name,), value)),
        name,
        f"'{name}' skal være en tekst, der ikke er tom.",
        f"'{name}' must be a non-empty text.",
    )


@pytest.mark.parametrize("value", ["", ";;", 1, '"', "\n"])
def test_delimiter_is_one_character(value):
    only(
        changed((("delimiter",), value)),
        "delimiter",
        "'delimiter' skal være ét tegn (ikke anførselstegn eller linjeskift).",
        "'delimiter' must be one character (not a quote or a line break).",
    )


@pytest.mark.parametrize("value", ["%d-%m", "%m-%Y", "%d-%Y", "dato", "%Q-%d-%m-%Y", "", 5])
def test_date_format_needs_day_month_and_year(value):
    only(
        changed((("date_format",), value)),
        "date_format",
        "'date_format' skal være et strftime-mønster med dag, måned og år, fx %d-%m-%Y.",
        "'date_format' must be a strftime pattern with day, month and year, e.g. %d-%m-%Y.",
    )


@pytest.mark.parametrize("value", ["%Y-%m-%d", "%d.%m.%y", "%d%m%Y", "%d %b %Y", "\t"])
def test_usable_formats_and_delimiters(value):
    name = "delimiter" if len(value) == 1 else "date_format"
    assert getattr(load_profile(to_toml(changed(((name,), value)))), name) == value


@pytest.mark.parametrize("value", [0, -7, 1.5, 7.0, True, "7", 3661])
def test_expected_every_days_is_a_whole_number_of_days(value):
    only(
        changed((("expected_every_days",), value)),
        "expected_every_days",
        "'expected_every_days' skal være et helt antal dage fra 1 til 3660.",
        "'expected_every_days' must be a whole number of days from 1 to 3660.",
    )


def test_expected_every_days_is_optional_and_absent_from_the_contents_when_not_given():
    without = load_profile(to_toml(BASE))
    assert without.expected_every_days is None
    assert "expected_every_days" not in without.as_dict()  # the digest it always had
    weekly = load_profile(to_toml(changed((("expected_every_days",), 7))))
    assert weekly.expected_every_days == 7 and weekly.as_dict()["expected_every_days"] == 7
    assert weekly.digest != without.digest
    assert load_profile_data(weekly.as_dict()) == weekly


@pytest.mark.parametrize("value", [[], "cpr", 1])
def test_key_is_a_non_empty_list(value):
    only(
        changed((("key",), value)),
        "key",
        "'key' skal være en liste af kolonnenavne, der ikke er tom.",
        "'key' must be a non-empty list of column names.",
    )


def test_key_names_known_columns_once():
    only(
        changed((("key",), ["cpr", "dato", "nope"])),
        "key[2]",
        f"'nope' er ikke en kolonne; kolonnerne er: {COLUMN_NAMES}.",
        f"'nope' is not a column; the columns are: {COLUMN_NAMES}.",
    )
    only(
        changed((("key",), ["cpr", "dato", "cpr"])),
        "key[2]",
        "'cpr' står allerede i 'key'.",
        "'cpr' is in 'key' already.",
    )


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("period", "antal", "date"),
        ("hospital_code", "note", "code"),
        ("department_code", "dato", "code"),
        ("hospital_name", "sygehus", "text"),
        ("department_name", "svar", "text"),
        ("municipality_code", "antal", "code"),
    ],
)
def test_place_and_period_columns_have_their_kind(name, value, kind):
    actual = next(c["kind"] for c in BASE["columns"] if c["name"] == value)
    only(
        changed(((name,), value)),
        name,
        f"Kolonnen '{value}' skal have kind {kind}, ikke {actual}.",
        f"The column '{value}' must have kind {kind}, not {actual}.",
    )


@pytest.mark.parametrize(
    "name", ["period", "department_code", "hospital_name", "municipality_code"]
)
def test_place_and_period_columns_exist(name):
    only(
        changed(((name,), "nope")),
        name,
        f"'nope' er ikke en kolonne; kolonnerne er: {COLUMN_NAMES}.",
        f"'nope' is not a column; the columns are: {COLUMN_NAMES}.",
    )


def test_optional_place_columns_are_kept():
    data = changed(
        (("columns", 3, "name"), "navn"),
        (("hospital_name",), "navn"),
        (("municipality_code",), "afdeling"),
    )
    spec = load_profile(to_toml(data))
    assert (spec.hospital_name, spec.municipality_code) == ("navn", "afdeling")
    assert spec.profile().hospital_name == "navn"


def test_date_orders():
    only(
        changed((("date_orders",), "slut")),
        "date_orders",
        "'date_orders' skal være en liste af par [senere, tidligere].",
        "'date_orders' must be a list of pairs [later, earlier].",
    )
    for pair in (["slut"], ["slut", "dato", "dato"], "slut"):
        only(
            changed((("date_orders",), [["slut", "dato"], pair])),
            "date_orders[1]",
            "Hver regel skal være et par af datokolonner: [senere, tidligere].",
            "Each rule must be a pair of date columns: [later, earlier].",
        )
    only(
        changed((("date_orders",), [["slut", "antal"]])),
        "date_orders[0][1]",
        "Kolonnen 'antal' skal have kind date, ikke int.",
        "The column 'antal' must have kind date, not int.",
    )
    only(
        changed((("date_orders",), [["nope", "dato"]])),
        "date_orders[0][0]",
        f"'nope' er ikke en kolonne; kolonnerne er: {COLUMN_NAMES}.",
        f"'nope' is not a column; the columns are: {COLUMN_NAMES}.",
    )
    only(
        changed((("date_orders",), [["slut", "slut"]])),
        "date_orders[0]",
        "De to datoer skal være forskellige kolonner.",
        "The two dates must be different columns.",
    )


# --- columns -------------------------------------------------------------------------------------

COLUMN_KEYS = "name, field, kind, required, label_da, label_en, length, low, high, choices"


@pytest.mark.parametrize("value", [[], {"name": "x"}, "cpr"])
def test_columns_are_a_non_empty_list_of_tables(value):
    errors = refusal(changed((("columns",), value)))
    assert errors[0] == ProfileError(
        "columns",
        "'columns' skal være en liste af tabeller ([[columns]]), der ikke er tom.",
        "'columns' must be a non-empty list of tables ([[columns]]).",
    )


def test_each_column_is_a_table():
    only(
        changed((("columns", 3), "note")),
        "columns[3]",
        "Hvert element i 'columns' skal være en tabel.",
        "Each element of 'columns' must be a table.",
    )


def test_unknown_column_key():
    only(
        changed((("columns", 3, "colour"), "blue")),
        "columns[3].colour",
        f"Ukendt nøgle 'colour'; kendte nøgler: {COLUMN_KEYS}.",
        f"Unknown key 'colour'; known keys: {COLUMN_KEYS}.",
    )


@pytest.mark.parametrize("value", ["", 5])
def test_column_name_is_a_text(value):
    only(
        changed((("columns", 3, "name"), value)),
        "columns[3].name",
        "'name' skal være en tekst, der ikke er tom.",
        "'name' must be a non-empty text.",
    )


def test_column_names_are_unique():
    only(
        changed((("columns", 3, "name"), "vaegt")),
        "columns[9].name",  # the later one
        "Navnet 'vaegt' er allerede brugt; det skal være entydigt.",
        "The name 'vaegt' is already used; it must be unique.",
    )


def test_fields_are_unique_and_default_to_the_name():
    only(
        changed((("columns", 9, "field"), "note")),
        "columns[9].field",
        "Feltnavnet 'note' er allerede brugt; det skal være entydigt.",
        "The field 'note' is already used; it must be unique.",
    )
    spec = load_profile(to_toml(changed((("columns", 3, "field"), "remark"))))
    assert spec.columns[3].field == "remark"


@pytest.mark.parametrize(
    ("step", "value"),
    [
        (("columns", 3, "field"), "2x"),
        (("columns", 3, "field"), "a b"),
        (("columns", 3, "field"), ""),
        (("columns", 3, "field"), 7),
        (("columns", 3, "field"), "x" * 64),  # longer than PostgreSQL keeps
        (("columns", 3, "field"), "æ" * 32),  # 64 bytes
        (("columns", 3, "name"), "Opr. note"),  # no field: the name is the field
    ],
)
def test_a_field_is_an_identifier(step, value):
    field = value if step[2] == "field" else "Opr. note"
    only(
        changed((step, value)),
        "columns[3].field",
        f"{field!r} kan ikke være et feltnavn (bogstaver, cifre og _, ikke først et ciffer, "
        "højst 63 bytes); giv kolonnen et 'field'.",
        f"{field!r} cannot be a field name (letters, digits and _, not a digit first, at most "
        "63 bytes); give the column a 'field'.",
    )


@pytest.mark.parametrize("value", ["string", "CODE", 1, "boolean"])
def test_column_kind_is_one_of_seven(value):
    kinds = "cpr, code, text, date, choice, int, decimal"
    only(
        changed((("columns", 3, "kind"), value)),
        "columns[3].kind",
        f"'kind' skal være én af: {kinds}.",
        f"'kind' must be one of: {kinds}.",
    )


def test_exactly_one_cpr_column():
    only(
        changed((("columns", 0, "kind"), "code")),
        "columns",
        "Præcis én kolonne skal have kind cpr; der er ingen.",
        "Exactly one column must have kind cpr; there is none.",
    )
    only(
        changed((("columns", 3, "kind"), "cpr")),
        "columns[3].kind",
        "Præcis én kolonne må have kind cpr; dette er den anden eller flere.",
        "Exactly one column may have kind cpr; this is a second one or more.",
    )


@pytest.mark.parametrize("value", ["true", 1, "ja"])
def test_required_is_a_boolean(value):
    only(
        changed((("columns", 3, "required"), value)),
        "columns[3].required",
        "'required' skal være true eller false.",
        "'required' must be true or false.",
    )


@pytest.mark.parametrize(("name", "value"), [("label_da", ""), ("label_en", 4)])
def test_labels_are_texts(name, value):
    only(
        changed((("columns", 3, name), value)),
        f"columns[3].{name}",
        f"'{name}' skal være en tekst, der ikke er tom.",
        f"'{name}' must be a non-empty text.",
    )


@pytest.mark.parametrize("index", [4, 6, 8, 9])
def test_length_only_for_code_and_text(index):
    only(
        changed((("columns", index, "length"), 3)),
        f"columns[{index}].length",
        "'length' gælder kun kolonner med kind code eller text.",
        "'length' is only for columns of kind code or text.",
    )


@pytest.mark.parametrize(("index", "value"), [(1, 0), (1, -4), (3, 1.5), (3, True), (3, "4")])
def test_length_is_a_positive_whole_number(index, value):
    only(
        changed((("columns", index, "length"), value)),
        f"columns[{index}].length",
        "'length' skal være et helt tal på mindst 1.",
        "'length' must be a whole number of at least 1.",
    )


@pytest.mark.parametrize(("index", "name"), [(3, "low"), (4, "high"), (7, "low"), (1, "high")])
def test_low_and_high_only_for_numbers(index, name):
    only(
        changed((("columns", index, name), 1)),
        f"columns[{index}].{name}",
        f"'{name}' gælder kun kolonner med kind int eller decimal.",
        f"'{name}' is only for columns of kind int or decimal.",
    )


@pytest.mark.parametrize(("name", "value"), [("low", 0.5), ("high", "9"), ("low", True)])
def test_int_bounds_are_whole_numbers(name, value):
    only(
        changed((("columns", 8, name), value)),
        f"columns[8].{name}",
        f"'{name}' skal være et helt tal.",
        f"'{name}' must be a whole number.",
    )


@pytest.mark.parametrize(
    ("name", "value"), [("low", "1,5"), ("high", float("inf")), ("low", False)]
)
def test_decimal_bounds_are_numbers(name, value):
    only(
        changed((("columns", 9, name), value)),
        f"columns[9].{name}",
        f"'{name}' skal være et tal.",
        f"'{name}' must be a number.",
    )


def test_low_is_not_above_high():
    only(
        changed((("columns", 8, "low"), 5), (("columns", 8, "high"), 4)),
        "columns[8].high",
        "'high' (4) må ikke være mindre end 'low' (5).",
        "'high' (4) must not be less than 'low' (5).",
    )
    spec = load_profile(to_toml(changed((("columns", 9, "low"), 10), (("columns", 9, "high"), 60))))
    assert (spec.columns[9].low, spec.columns[9].high) == (10.0, 60.0)
    assert load_profile(to_toml(changed((("columns", 8, "high"), 0)))).columns[8].high == 0


def test_choices_required_for_choice_and_only_there():
    only(
        changed((("columns", 10, "choices"),)),
        "columns[10].choices",
        "'choices' mangler.",
        "'choices' is missing.",
    )
    only(
        changed((("columns", 3, "choices"), ["a"])),
        "columns[3].choices",
        "'choices' gælder kun kolonner med kind choice.",
        "'choices' is only for columns of kind choice.",
    )


@pytest.mark.parametrize("value", [[], {}, "A", 1])
def test_choices_are_a_non_empty_list_or_table(value):
    only(
        changed((("columns", 10, "choices"), value)),
        "columns[10].choices",
        "'choices' skal være en liste af værdier eller en tabel fra stavemåde til værdi, og ikke "
        "tom.",
        "'choices' must be a list of values or a table from spelling to value, and not empty.",
    )


@pytest.mark.parametrize("value", ["", " B", 2, True])
def test_listed_choices_are_texts(value):
    only(
        changed((("columns", 10, "choices"), ["A", value])),
        "columns[10].choices[1]",
        "Hvert valg skal være en tekst uden mellemrum før og efter.",
        "Each choice must be a text without spaces before or after.",
    )


def test_listed_choices_are_unique_ignoring_case():
    only(
        changed((("columns", 10, "choices"), ["A", "B", "a"])),
        "columns[10].choices[2]",
        "'a' står der allerede (store og små bogstaver regnes for ens).",
        "'a' is there already (upper and lower case count as the same).",
    )


@pytest.mark.parametrize(("spelling", "place"), [("A", "A"), (" a", '" a"'), ("", '""')])
def test_table_spellings_are_lower_case(spelling, place):
    only(
        changed((("columns", 10, "choices"), {"b": "B", spelling: "A"})),
        f"columns[10].choices.{place}",
        "Hver stavemåde skal skrives med små bogstaver, uden mellemrum før og efter.",
        "Each spelling must be written in lower case, without spaces before or after.",
    )


@pytest.mark.parametrize("value", [1, "", ["A"]])
def test_table_values_are_texts_or_booleans(value):
    only(
        changed((("columns", 10, "choices"), {"a": "A", "b": value})),
        "columns[10].choices.b",
        "Den gemte værdi skal være en tekst eller true/false.",
        "The stored value must be a text or true/false.",
    )


def test_table_values_are_all_texts_or_all_booleans():
    only(
        changed((("columns", 10, "choices"), {"a": "A", "b": True})),
        "columns[10].choices",
        "De gemte værdier skal være enten alle tekster eller alle true/false.",
        "The stored values must be either all texts or all true/false.",
    )


# --- indicators ----------------------------------------------------------------------------------

INDICATOR_KEYS = (
    "slug, name_da, name_en, description_da, description_en, kind, population, missing, event, "
    "measure, better, target"
)


def test_indicators_are_optional_but_a_list_of_tables():
    assert load_profile(to_toml(changed((("indicators",),)))).indicators == ()
    assert load_profile(to_toml(changed((("indicators",), [])))).indicators == ()
    only(
        changed((("indicators",), "andel")),
        "indicators",
        "'indicators' skal være en liste af tabeller ([[indicators]]).",
        "'indicators' must be a list of tables ([[indicators]]).",
    )
    only(
        changed((("indicators", 1), 1)),
        "indicators[1]",
        "Hvert element i 'indicators' skal være en tabel.",
        "Each element of 'indicators' must be a table.",
    )


def test_unknown_indicator_key():
    only(
        changed((("indicators", 2, "direction"), "lower")),
        "indicators[2].direction",
        f"Ukendt nøgle 'direction'; kendte nøgler: {INDICATOR_KEYS}.",
        f"Unknown key 'direction'; known keys: {INDICATOR_KEYS}.",
    )


@pytest.mark.parametrize("value", ["Andel", "a", "1a", "_a", "a" * 61, "a b", 3])
def test_indicator_slug_pattern(value):
    only(
        changed((("indicators", 0, "slug"), value)),
        "indicators[0].slug",
        "'slug' skal være 2-60 tegn: små bogstaver a-z, cifre, _ og -, først et bogstav.",
        "'slug' must be 2-60 characters: lower-case a-z, digits, _ and -, a letter first.",
    )


def test_indicator_slugs_are_unique():
    only(
        changed((("indicators", 2, "slug"), "andel")),
        "indicators[2].slug",
        "Slug'en 'andel' er allerede brugt; det skal være entydigt.",
        "The slug 'andel' is already used; it must be unique.",
    )


@pytest.mark.parametrize(("name", "value"), [("name_da", ""), ("name_en", 1)])
def test_indicator_names_are_texts(name, value):
    only(
        changed((("indicators", 0, name), value)),
        f"indicators[0].{name}",
        f"'{name}' skal være en tekst, der ikke er tom.",
        f"'{name}' must be a non-empty text.",
    )


def test_descriptions_are_texts():
    only(
        changed((("indicators", 0, "description_en"), 1)),
        "indicators[0].description_en",
        "'description_en' skal være en tekst.",
        "'description_en' must be a text.",
    )
    spec = load_profile(to_toml(changed((("indicators", 0, "description_da"), "Om andelen"))))
    assert spec.indicators[0].description_da == "Om andelen"


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [("kind", "ratio", "proportion, measure"), ("better", "up", "lower, higher")],
)
def test_indicator_kind_and_better(name, value, allowed):
    only(
        changed((("indicators", 2, name), value)),
        f"indicators[2].{name}",
        f"'{name}' skal være én af: {allowed}.",
        f"'{name}' must be one of: {allowed}.",
    )


def test_event_for_proportions_and_measure_for_measures():
    only(
        changed((("indicators", 0, "event"),)),
        "indicators[0].event",
        "'event' mangler.",
        "'event' is missing.",
    )
    only(
        changed((("indicators", 1, "measure"),)),
        "indicators[1].measure",
        "'measure' mangler.",
        "'measure' is missing.",
    )
    only(
        changed((("indicators", 1, "event"), {"all": []})),
        "indicators[1].event",
        "'event' hører kun til indikatorer med kind proportion.",
        "'event' belongs only to indicators of kind proportion.",
    )
    only(
        changed((("indicators", 0, "measure"), {"days": ["dato", "slut"]})),
        "indicators[0].measure",
        "'measure' hører kun til indikatorer med kind measure.",
        "'measure' belongs only to indicators of kind measure.",
    )


def test_a_measure_is_days_between_two_date_fields():
    only(
        changed((("indicators", 1, "measure"), {"days": ["dato", "antal"]})),
        "indicators[1].measure.days",
        "'antal' er ikke et datofelt.",
        "'antal' is not a date field.",
    )
    only(
        changed((("indicators", 1, "measure", "op"), "le")),
        "indicators[1].measure.op",
        "Ukendt nøgle 'op'; kendte nøgler: days.",
        "Unknown key 'op'; known keys: days.",
    )
    only(
        changed((("indicators", 1, "measure"), {"median": ["dato", "slut"]})),
        "indicators[1].measure",
        'Et mål skal have formen {"days": [dato A, dato B]}.',
        'A measure must have the form {"days": [date A, date B]}.',
    )


@pytest.mark.parametrize("value", ["0.1", True, float("nan")])
def test_target_is_a_number(value):
    only(
        changed((("indicators", 0, "target"), value)),
        "indicators[0].target",
        "'target' skal være et tal.",
        "'target' must be a number.",
    )


@pytest.mark.parametrize("value", [1.01, -0.1, 3])
def test_a_proportions_target_lies_between_0_and_1(value):
    only(
        changed((("indicators", 0, "target"), value)),
        "indicators[0].target",
        "En andels mål skal ligge mellem 0 og 1 (fx 0.03 for 3 %).",
        "A proportion's target must lie between 0 and 1 (e.g. 0.03 for 3 %).",
    )


def test_a_measures_target_is_not_negative():
    only(
        changed((("indicators", 1, "target"), -1)),
        "indicators[1].target",
        "Et mål i dage kan ikke være negativt.",
        "A target in days cannot be negative.",
    )
    spec = load_profile(
        to_toml(changed((("indicators", 1, "target"), 12), (("indicators", 0, "target"), 1)))
    )
    assert (spec.indicators[1].target, spec.indicators[0].target) == (12.0, 1.0)


# --- rules ---------------------------------------------------------------------------------------


def test_the_place_of_a_rule_problem():
    only(
        changed((("indicators", 2, "event", "any", 0, "op"), "gt")),
        "indicators[2].event.any[0].op",
        "Operatoren 'gt' kan ikke bruges på gruppe; brug én af: eq, ne, in, not_in, blank, "
        "not_blank.",
        "The operator 'gt' cannot be used on gruppe; use one of: eq, ne, in, not_in, blank, "
        "not_blank.",
    )


@pytest.mark.parametrize(
    ("step", "place", "allowed"),
    [
        (
            ("indicators", 2, "event", "any", 0, "colour"),
            "indicators[2].event.any[0]",
            "field, op, value",
        ),
        (
            ("indicators", 2, "event", "any", 1, "unit"),
            "indicators[2].event.any[1]",
            "days, op, value",
        ),
        (("indicators", 2, "event", "also"), "indicators[2].event", "all, any, not"),
        (
            ("indicators", 2, "population", "not", "x"),
            "indicators[2].population.not",
            "field, op, value",
        ),
        (("indicators", 0, "missing", "y"), "indicators[0].missing", "field, op, value"),
    ],
)
def test_unknown_keys_inside_rules(step, place, allowed):
    only(
        changed((step, 1)),
        f"{place}.{step[-1]}",
        f"Ukendt nøgle '{step[-1]}'; kendte nøgler: {allowed}.",
        f"Unknown key '{step[-1]}'; known keys: {allowed}.",
    )


@pytest.mark.parametrize("field", ["nope", "sygehus", "afdeling", "cpr"])
def test_rules_use_the_profiles_own_fields_but_not_who_or_where(field):
    only(
        changed((("indicators", 0, "event"), {"field": field, "op": "blank"})),
        "indicators[0].event.field",
        f"Ukendt felt '{field}'; kendte felter: {RULE_FIELDS}.",
        f"Unknown field '{field}'; known fields: {RULE_FIELDS}.",
    )


def test_rules_use_the_field_not_the_column_name():
    data = changed(
        (("columns", 6, "field"), "answer"),
        (("indicators", 0, "missing"), {"field": "answer", "op": "blank"}),
        (("indicators", 0, "event"), {"field": "answer", "op": "eq", "value": False}),
    )
    assert load_profile(to_toml(data)).indicators[0].event["field"] == "answer"


@pytest.mark.parametrize(
    ("rule", "place", "da", "en"),
    [
        (
            {"field": "svar", "op": "eq", "value": "ja"},
            "value",
            "'ja' er ikke en gyldig værdi for svar; brug én af: true, false.",
            "'ja' is not a valid value for svar; use one of: true, false.",
        ),
        (
            {"field": "gruppe", "op": "eq", "value": "a"},
            "value",
            "'a' er ikke en gyldig værdi for gruppe; brug én af: 'A', 'B'.",
            "'a' is not a valid value for gruppe; use one of: 'A', 'B'.",
        ),
        (
            {"field": "gruppe", "op": "in", "value": "A"},
            "value",
            "'in' kræver en ikke-tom liste af værdier.",
            "'in' needs a non-empty list of values.",
        ),
        (
            {"field": "note", "op": "blank", "value": "x"},
            "value",
            "'blank' tager ingen værdi.",
            "'blank' takes no value.",
        ),
        (
            {"field": "antal", "op": "ge", "value": "5"},
            "value",
            "antal sammenlignes med et tal, ikke '5'.",
            "antal is compared with a number, not '5'.",
        ),
        (
            {"field": "dato", "op": "lt", "value": 1},
            "op",
            "Operatoren 'lt' kan ikke bruges på dato; brug én af: blank, not_blank.",
            "The operator 'lt' cannot be used on dato; use one of: blank, not_blank.",
        ),
        (
            {"days": ["dato", "slut"], "op": "startswith", "value": 3},
            "op",
            "Operatoren 'startswith' kan ikke bruges på dage; brug én af: eq, ne, lt, le, gt, ge.",
            "The operator 'startswith' cannot be used on days; use one of: eq, ne, lt, le, gt, ge.",
        ),
        (
            {"all": {"field": "note", "op": "blank"}},
            "all",
            '"all" skal være en liste af regler.',
            '"all" must be a list of rules.',
        ),
    ],
)
def test_rule_values_and_operators_by_kind(rule, place, da, en):
    only(changed((("indicators", 0, "event"), rule)), f"indicators[0].event.{place}", da, en)


def test_a_rule_of_no_known_sort():
    only(
        changed((("indicators", 0, "population"), {"every": []})),
        "indicators[0].population",
        'Ukendt regeldel; brug "all", "any", "not", "field" eller "days".',
        'Unknown rule part; use "all", "any", "not", "field" or "days".',
    )


# --- the shipped profiles ------------------------------------------------------------------------


def load_file(name: str):
    return load_profile((REGISTRIES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["dccg.toml", "kraeftpakke.toml"])
def test_the_shipped_profiles_load(name):
    spec = load_file(name)
    assert spec.slug == name.removesuffix(".toml")
    assert load_profile_data(json.loads(json.dumps(spec.as_dict()))) == spec


def test_dccg_file_has_the_standard_indicators_of_the_migrations():
    standard = importlib.import_module("indicators.migrations.0003_standard_definitions").STANDARD
    published = importlib.import_module("indicators.migrations.0008_published_standards").STANDARDS
    names = ("slug", "name_da", "name_en", "description_da", "description_en")
    names += ("population", "missing")
    expected = [
        {
            **{name: spec[name] for name in names},
            "kind": spec.get("kind", "proportion"),  # 0008 adds proportions only
            "event": spec.get("event"),
            "measure": spec.get("measure"),
            "better": "lower",  # the migrations' direction
            "target": spec.get("default_target"),  # 0003: none
        }
        for spec in standard + published
    ]
    actual = [
        {name: getattr(i, name) for name in expected[0]} for i in load_file("dccg.toml").indicators
    ]
    assert actual == expected
    assert [i["target"] for i in expected[7:]] == [0.03, 0.10, 0.02, 0.03]


def test_kraeftpakke_has_a_standard_time_per_package_and_median_days_per_step():
    spec = load_file("kraeftpakke.toml")
    packages = list(next(c for c in spec.columns if c.name == "pakke").choices.values())
    within = [i for i in spec.indicators if i.kind == "proportion"]
    assert [i.population["all"][0]["value"] for i in within] == packages
    assert all(i.event["days"] == ["henvisning_dato", "behandling_start_dato"] for i in within)
    steps = [tuple(i.measure["days"]) for i in spec.indicators if i.kind == "measure"]
    assert steps == [
        ("henvisning_dato", "foerste_fremmoede_dato"),
        ("foerste_fremmoede_dato", "beslutning_dato"),
        ("beslutning_dato", "behandling_start_dato"),
        ("henvisning_dato", "behandling_start_dato"),
    ]
    assert spec.municipality_code == "kommune_kode"


# --- the digest ----------------------------------------------------------------------------------


def test_the_digest_is_the_content_not_the_spelling():
    text = (REGISTRIES / "dccg.toml").read_text(encoding="utf-8")
    spec = load_profile(text)
    data = tomllib.loads(text)
    shuffled = {k: data[k] for k in reversed(list(data))}
    shuffled["columns"] = [{k: c[k] for k in reversed(list(c))} for c in data["columns"]]
    assert load_profile(to_toml(shuffled)).digest == spec.digest  # key order, no comments
    assert load_profile("\n\n# a comment\n" + text.replace(" = ", "   =   ")).digest == spec.digest
    defaults = {k: v for k, v in data.items() if k not in ("delimiter", "date_format")}
    assert load_profile(to_toml(defaults)).digest == spec.digest  # defaults spelled or not
    assert re.fullmatch(r"[0-9a-f]{64}", spec.digest)
    changes = (("version", data["version"] + 1), ("name_en", "DCCG"), ("delimiter", ","))
    changes += (("expected_every_days", data["expected_every_days"] + 1),)
    for key, value in changes:
        assert load_profile(to_toml({**data, key: value})).digest != spec.digest
    data["indicators"][10]["target"] = 0.04
    assert load_profile(to_toml(data)).digest != spec.digest


# --- random profiles -----------------------------------------------------------------------------

WORD = st.text("abcdefghijklmnopqrstuvwxyzæøå", min_size=1, max_size=8)
TEXT = st.text("abcdefghijklmnopqrstuvwxyzæøåABC -", min_size=1, max_size=12).filter(str.strip)


@st.composite
def extra_column(draw, i: int) -> dict:
    kind = draw(st.sampled_from(["code", "text", "date", "choice", "int", "decimal"]))
    column = {"name": f"{draw(WORD)}_{i}", "kind": kind}
    if draw(st.booleans()):
        column["field"] = f"f_{i}"
    if draw(st.booleans()):
        column["required"] = draw(st.booleans())
    if draw(st.booleans()):
        column["label_da"] = draw(TEXT)
    if kind in ("code", "text") and draw(st.booleans()):
        column["length"] = draw(st.integers(1, 300))
    if kind in ("int", "decimal"):
        bounds = sorted(draw(st.lists(st.integers(-50, 500), min_size=2, max_size=2)))
        column.update(zip(("low", "high"), bounds, strict=True))
    if kind == "choice":
        words = draw(st.lists(WORD, min_size=1, max_size=4, unique=True))
        if draw(st.booleans()):
            column["choices"] = [w.upper() if draw(st.booleans()) else w for w in words]
        elif draw(st.booleans()):
            column["choices"] = {w: draw(st.booleans()) for w in words}
        else:
            column["choices"] = {w: draw(TEXT).strip() for w in words}
    return column


def _condition(draw, column: dict) -> dict:
    field, kind = column.get("field", column["name"]), column["kind"]
    if kind == "choice":
        choices = column["choices"]
        stored = [c for c in choices] if isinstance(choices, list) else list(choices.values())
        return {"field": field, "op": "eq", "value": draw(st.sampled_from(stored))}
    if kind in ("int", "decimal"):
        return {"field": field, "op": draw(st.sampled_from(["lt", "ge"])), "value": 3}
    if kind in ("code", "text"):
        return {"field": field, "op": "in", "value": [draw(TEXT)]}
    return {"field": field, "op": draw(st.sampled_from(["blank", "not_blank"]))}


@st.composite
def rule(draw, columns: list[dict], depth: int = 0) -> dict:
    options = ["all", "any", "days"] + (["field"] if columns else [])
    sort = draw(st.sampled_from(options + (["not", "nest"] if depth < 2 else [])))
    if sort in ("all", "any"):
        return {sort: []}
    if sort == "days":
        return {"days": ["dato", "slut"], "op": draw(st.sampled_from(["le", "gt"])), "value": 30}
    if sort == "field":
        return _condition(draw, draw(st.sampled_from(columns)))
    if sort == "not":
        return {"not": draw(rule(columns, depth + 1))}
    key = draw(st.sampled_from(["all", "any"]))
    return {key: draw(st.lists(rule(columns, depth + 1), min_size=1, max_size=3))}


@st.composite
def profiles(draw) -> dict:
    extra = [draw(extra_column(i)) for i in range(draw(st.integers(0, 5)))]
    data = copy.deepcopy({k: v for k, v in BASE.items() if k not in ("columns", "indicators")})
    data["columns"] = [*copy.deepcopy(BASE["columns"][:6]), *extra]
    data["slug"] = draw(st.from_regex(r"[a-z][a-z0-9_]{1,39}", fullmatch=True))
    data["version"] = draw(st.integers(1, 10**6))
    data["indicators"] = []
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["proportion", "measure"]))
        indicator = {
            "slug": f"i{i}-{draw(st.from_regex(r'[a-z0-9_-]{0,8}', fullmatch=True))}",
            "name_da": draw(TEXT),
            "name_en": draw(TEXT),
            "kind": kind,
            "population": draw(rule(extra)),
            "missing": draw(rule(extra)),
            "better": draw(st.sampled_from(["lower", "higher"])),
        }
        if kind == "proportion":
            indicator["event"] = draw(rule(extra))
            if draw(st.booleans()):
                indicator["target"] = draw(st.floats(0, 1))
        else:
            indicator["measure"] = {"days": ["dato", "slut"]}
        data["indicators"].append(indicator)
    return data


def places(data: dict):
    """Every table of a profile where a key could be added, with its place."""
    yield data, ""
    for i, column in enumerate(data["columns"]):
        yield column, f"columns[{i}]"
    for i, indicator in enumerate(data["indicators"]):
        yield indicator, f"indicators[{i}]"
        for name in ("population", "missing", "event", "measure"):
            if name in indicator:
                yield from rule_places(indicator[name], f"indicators[{i}].{name}")


def rule_places(node: dict, path: str):
    yield node, path
    for key in ("all", "any"):
        for i, child in enumerate(node.get(key, ())):
            yield from rule_places(child, f"{path}.{key}[{i}]")
    if "not" in node:
        yield from rule_places(node["not"], f"{path}.not")


QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(profiles())
def test_random_valid_profiles_load(data):
    spec = load_profile(to_toml(data))
    assert [c.name for c in spec.columns] == [c["name"] for c in data["columns"]]
    again = load_profile_data(json.loads(json.dumps(spec.as_dict())))
    assert again == spec and again.digest == spec.digest


@QUICK
@given(profiles(), st.data())
def test_a_random_mutation_is_refused_with_its_place(data, draw):
    mutation = draw.draw(st.sampled_from(["unknown key", "column kind", "indicator kind"]))
    if mutation == "indicator kind" and not data["indicators"]:
        mutation = "column kind"
    if mutation == "unknown key":
        table, path = draw.draw(st.sampled_from(list(places(data))))
        table["zz_unknown"] = 1
        place = f"{path}.zz_unknown" if path else "zz_unknown"
    else:
        tables = "columns" if mutation == "column kind" else "indicators"
        i = draw.draw(st.integers(0, len(data[tables]) - 1))
        data[tables][i]["kind"] = draw.draw(st.sampled_from(["string", "ratio", "", "Date"]))
        place = f"{tables}[{i}].kind"
    with pytest.raises(ProfileRefused) as refused:
        load_profile(to_toml(data))
    assert place in [e.path for e in refused.value.errors]
    assert all(e.da and e.en and e.da != e.en for e in refused.value.errors)
