"""Rules as readable sentences: exact Danish and English wording for every part of a rule."""

from __future__ import annotations

import importlib
import json

import pytest

from indicators import rules
from indicators.models import IndicatorDefinition
from indicators.registry.profile_file import shipped
from indicators.rules.words import describe_definition, describe_measure, describe_rule

STANDARD = importlib.import_module("indicators.migrations.0003_standard_definitions").STANDARD
FIELDS = rules.fields_for_profile(shipped("dccg").profile())
# Words name the fields of the installed profile (the database holds it).
pytestmark = pytest.mark.django_db


def words(rule) -> tuple[str, str]:
    return describe_rule(rule, FIELDS, "da"), describe_rule(rule, FIELDS, "en")


# --- the seven standard indicators ---------------------------------------------------------------

EVERY = ("Population", "alle operationer"), ("Population", "all operations")
NONE_MISSING = ("Manglende", "ingen"), ("Missing", "none")
DISCHARGE_MISSING = (
    ("Manglende", "udskrivelsesdato er uoplyst"),
    ("Missing", "discharge date is not recorded"),
)
LOWER = ("Retning", "Lavere er bedre"), ("Direction", "Lower is better")

STANDARD_WORDS = {
    "major_complication": (
        EVERY,
        (("Manglende", "Clavien-Dindo er uoplyst"), ("Missing", "Clavien-Dindo is not recorded")),
        (
            ("Hændelse", "Clavien-Dindo er en af IIIa, IIIb, IVa, IVb, V"),
            ("Event", "Clavien-Dindo is one of IIIa, IIIb, IVa, IVb, V"),
        ),
    ),
    "anastomotic_leak": (
        (
            ("Population", "alle operationer hvor anastomose er ja"),
            ("Population", "all operations where anastomosis is yes"),
        ),
        (
            ("Manglende", "anastomoselækage er uoplyst"),
            ("Missing", "anastomotic leak is not recorded"),
        ),
        (("Hændelse", "anastomoselækage er ja"), ("Event", "anastomotic leak is yes")),
    ),
    "reoperation_30d": (
        EVERY,
        NONE_MISSING,
        (
            ("Hændelse", "antal dage fra operationsdato til reoperationsdato er højst 30"),
            ("Event", "the number of days from operation date to reoperation date is at most 30"),
        ),
    ),
    "mortality_30d": (
        EVERY,
        NONE_MISSING,
        (
            ("Hændelse", "antal dage fra operationsdato til dødsdato er højst 30"),
            ("Event", "the number of days from operation date to date of death is at most 30"),
        ),
    ),
    "prolonged_stay": (
        EVERY,
        DISCHARGE_MISSING,
        (
            ("Hændelse", "antal dage fra operationsdato til udskrivelsesdato er større end 10"),
            (
                "Event",
                "the number of days from operation date to discharge date is greater than 10",
            ),
        ),
    ),
    "readmission_30d": (
        (
            (
                "Population",
                "alle operationer hvor dødsdato er uoplyst eller udskrivelsesdato er uoplyst "
                "eller antal dage fra udskrivelsesdato til dødsdato er større end 0",
            ),
            (
                "Population",
                "all operations where date of death is not recorded or discharge date is not "
                "recorded or the number of days from discharge date to date of death is "
                "greater than 0",
            ),
        ),
        DISCHARGE_MISSING,
        (
            ("Hændelse", "antal dage fra udskrivelsesdato til genindlæggelsesdato er højst 30"),
            (
                "Event",
                "the number of days from discharge date to readmission date is at most 30",
            ),
        ),
    ),
    "length_of_stay": (
        EVERY,
        DISCHARGE_MISSING,
        (
            ("Mål", "dage fra operationsdato til udskrivelsesdato"),
            ("Measure", "days from operation date to discharge date"),
        ),
    ),
}


def test_every_standard_indicator_has_its_expected_words():
    assert [spec["slug"] for spec in STANDARD] == list(STANDARD_WORDS)


@pytest.mark.parametrize("spec", STANDARD, ids=lambda spec: spec["slug"])
def test_standard_indicator_reads_in_danish_and_english(spec):
    definition = IndicatorDefinition(profile="dccg", direction="lower", **spec)
    expected = (*STANDARD_WORDS[spec["slug"]], LOWER)
    assert describe_definition(definition, "da") == [da for da, _ in expected]
    assert describe_definition(definition, "en") == [en for _, en in expected]


def test_an_own_indicator_with_higher_is_better():
    definition = IndicatorDefinition(
        profile="dccg",
        kind="proportion",
        population={
            "all": [
                {"field": "site", "op": "eq", "value": "rektum"},
                {"field": "priority", "op": "in", "value": ["elektiv", "akut"]},
            ]
        },
        event={"field": "clavien_dindo", "op": "in", "value": ["IIIa", "IIIb"]},
        direction="higher",
    )
    assert describe_definition(definition, "da") == [
        (
            "Population",
            "alle operationer hvor lokalisation er rektum og prioritet er en af elektiv, akut",
        ),
        ("Manglende", "ingen"),
        ("Hændelse", "Clavien-Dindo er en af IIIa, IIIb"),
        ("Retning", "Højere er bedre"),
    ]
    assert describe_definition(definition, "en") == [
        (
            "Population",
            "all operations where tumour site is rektum and urgency is one of elektiv, akut",
        ),
        ("Missing", "none"),
        ("Event", "Clavien-Dindo is one of IIIa, IIIb"),
        ("Direction", "Higher is better"),
    ]


def test_a_population_of_no_row_is_not_prefixed():
    definition = IndicatorDefinition(
        kind="measure",
        population={"any": []},
        measure={"days": ["admission_date", "operation_date"]},
    )
    assert describe_definition(definition, "en-gb")[0] == ("Population", "none")
    assert describe_definition(definition, "en-gb")[2] == (
        "Measure",
        "days from admission date to operation date",
    )


def test_an_unknown_profile_falls_back_to_field_names():
    definition = {
        "profile": "nope",
        "kind": "proportion",
        "population": {"field": "site", "op": "eq", "value": "kolon"},
        "missing": {"any": []},
        "event": {"field": "anastomosis", "op": "eq", "value": False},
    }
    assert describe_definition(definition, "da") == [
        ("Population", "alle operationer hvor site er kolon"),
        ("Manglende", "ingen"),
        ("Hændelse", "anastomosis er nej"),
        ("Retning", "Lavere er bedre"),
    ]


# --- each operator ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "da", "en"),
    [
        (
            {"field": "site", "op": "eq", "value": "kolon"},
            "lokalisation er kolon",
            "tumour site is kolon",
        ),
        (
            {"field": "site", "op": "ne", "value": "kolon"},
            "lokalisation er ikke kolon",
            "tumour site is not kolon",
        ),
        (
            {"field": "clavien_dindo", "op": "in", "value": ["0", "I", "II"]},
            "Clavien-Dindo er en af 0, I, II",
            "Clavien-Dindo is one of 0, I, II",
        ),
        (
            {"field": "sex", "op": "not_in", "value": ["M", "K"]},
            "køn er ikke en af M, K",
            "sex is not one of M, K",
        ),
        ({"field": "priority", "op": "blank"}, "prioritet er uoplyst", "urgency is not recorded"),
        ({"field": "priority", "op": "not_blank"}, "prioritet er oplyst", "urgency is recorded"),
        (
            {"field": "anastomosis", "op": "eq", "value": False},
            "anastomose er nej",
            "anastomosis is no",
        ),
        (
            {"field": "anastomosis", "op": "ne", "value": True},
            "anastomose er ikke ja",
            "anastomosis is not yes",
        ),
        (
            {"field": "anastomosis", "op": "blank"},
            "anastomose er uoplyst",
            "anastomosis is not recorded",
        ),
        (
            {"field": "procedure_code", "op": "eq", "value": "KJFH20"},
            'procedurekode er "KJFH20"',
            'procedure code is "KJFH20"',
        ),
        (
            {"field": "procedure_code", "op": "in", "value": ["KJFH20", "KJFH30"]},
            'procedurekode er en af "KJFH20", "KJFH30"',
            'procedure code is one of "KJFH20", "KJFH30"',
        ),
        (
            {"field": "procedure_code", "op": "not_in", "value": ["KJFH20"]},
            'procedurekode er ikke en af "KJFH20"',
            'procedure code is not one of "KJFH20"',
        ),
        (
            {"field": "procedure_code", "op": "startswith", "value": "KJF"},
            'procedurekode begynder med "KJF"',
            'procedure code starts with "KJF"',
        ),
        (
            {"field": "procedure_code", "op": "startswith", "value": ["KJF", "KJG"]},
            'procedurekode begynder med en af "KJF", "KJG"',
            'procedure code starts with one of "KJF", "KJG"',
        ),
        (
            {"field": "age", "op": "lt", "value": 70},
            "alder er mindre end 70",
            "age is less than 70",
        ),
        (
            {"field": "asa", "op": "le", "value": 2},
            "ASA-score er højst 2",
            "ASA score is at most 2",
        ),
        (
            {"field": "age", "op": "gt", "value": 80},
            "alder er større end 80",
            "age is greater than 80",
        ),
        (
            {"field": "asa", "op": "ge", "value": 3},
            "ASA-score er mindst 3",
            "ASA score is at least 3",
        ),
        (
            {"field": "asa", "op": "in", "value": [1, 2]},
            "ASA-score er en af 1, 2",
            "ASA score is one of 1, 2",
        ),
        ({"field": "bmi", "op": "ge", "value": 27.5}, "BMI er mindst 27,5", "BMI is at least 27.5"),
        (
            {"field": "bmi", "op": "lt", "value": 30.0},
            "BMI er mindre end 30",
            "BMI is less than 30",
        ),
        ({"field": "bmi", "op": "eq", "value": 1234.5}, "BMI er 1.234,5", "BMI is 1,234.5"),
        ({"field": "bmi", "op": "ne", "value": -0.5}, "BMI er ikke -0,5", "BMI is not -0.5"),
        (
            {"field": "death_date", "op": "not_blank"},
            "dødsdato er oplyst",
            "date of death is recorded",
        ),
    ],
)
def test_field_operators(rule, da, en):
    assert words(rule) == (da, en)


@pytest.mark.parametrize(
    ("op", "value", "da", "en"),
    [
        ("eq", 0, "er 0", "is 0"),
        ("ne", 1, "er ikke 1", "is not 1"),
        ("lt", 7, "er mindre end 7", "is less than 7"),
        ("le", 30, "er højst 30", "is at most 30"),
        ("gt", 10, "er større end 10", "is greater than 10"),
        ("ge", 1.5, "er mindst 1,5", "is at least 1.5"),
    ],
)
def test_interval_comparisons(op, value, da, en):
    rule = {"days": ["admission_date", "operation_date"], "op": op, "value": value}
    assert words(rule) == (
        f"antal dage fra indlæggelsesdato til operationsdato {da}",
        f"the number of days from admission date to operation date {en}",
    )


# --- groups and negation ------------------------------------------------------------------------

RECTUM = {"field": "site", "op": "eq", "value": "rektum"}
ACUTE = {"field": "priority", "op": "eq", "value": "akut"}
OLD = {"field": "age", "op": "ge", "value": 80}


def test_empty_groups_read_as_every_operation_and_none():
    assert words({"all": []}) == ("alle operationer", "all operations")
    assert words({"any": []}) == ("ingen", "none")


def test_a_group_of_one_reads_as_its_child():
    assert words({"all": [{"any": [RECTUM]}]}) == (
        "lokalisation er rektum",
        "tumour site is rektum",
    )


def test_top_level_groups_join_without_parentheses():
    assert words({"all": [RECTUM, ACUTE, OLD]}) == (
        "lokalisation er rektum og prioritet er akut og alder er mindst 80",
        "tumour site is rektum and urgency is akut and age is at least 80",
    )
    assert words({"any": [RECTUM, ACUTE]}) == (
        "lokalisation er rektum eller prioritet er akut",
        "tumour site is rektum or urgency is akut",
    )


def test_nested_groups_get_parentheses():
    rule = {
        "all": [RECTUM, {"any": [ACUTE, {"all": [OLD, {"field": "asa", "op": "ge", "value": 3}]}]}]
    }
    assert words(rule) == (
        "lokalisation er rektum og (prioritet er akut eller "
        "(alder er mindst 80 og ASA-score er mindst 3))",
        "tumour site is rektum and (urgency is akut or "
        "(age is at least 80 and ASA score is at least 3))",
    )


def test_negation():
    assert words({"not": RECTUM}) == (
        "ikke (lokalisation er rektum)",
        "not (tumour site is rektum)",
    )
    assert words({"not": {"any": [RECTUM, ACUTE]}}) == (
        "ikke (lokalisation er rektum eller prioritet er akut)",
        "not (tumour site is rektum or urgency is akut)",
    )
    assert words({"all": [OLD, {"not": {"field": "anastomosis", "op": "eq", "value": True}}]}) == (
        "alder er mindst 80 og ikke (anastomose er ja)",
        "age is at least 80 and not (anastomosis is yes)",
    )


# --- measures, languages and what is not known --------------------------------------------------


def test_describe_measure():
    measure = {"days": ["operation_date", "discharge_date"]}
    assert describe_measure(measure, FIELDS, "da") == "dage fra operationsdato til udskrivelsesdato"
    assert describe_measure(measure, FIELDS, "en") == "days from operation date to discharge date"


def test_language_codes():
    assert describe_rule(RECTUM, FIELDS, "en-us") == "tumour site is rektum"
    assert describe_rule(RECTUM, FIELDS, "da-dk") == "lokalisation er rektum"
    assert describe_rule(RECTUM, FIELDS, "") == "lokalisation er rektum"


def test_unknown_fields_fall_back_to_their_names():
    assert words({"field": "ward", "op": "eq", "value": "B4"}) == ("ward er B4", "ward is B4")
    assert describe_rule(RECTUM, {}, "en") == "site is rektum"
    assert describe_measure({"days": ["start", "end"]}, FIELDS, "da") == "dage fra start til end"
    assert words({"days": ["start", "operation_date"], "op": "le", "value": 2}) == (
        "antal dage fra start til operationsdato er højst 2",
        "the number of days from start to operation date is at most 2",
    )


@pytest.mark.parametrize(
    "rule",
    [
        None,
        [],
        {"field": "site", "op": "like", "value": "x"},
        {"field": "site", "op": ["eq"], "value": "x"},
        {"field": ["site"], "op": "eq", "value": "x"},
        {"days": ["operation_date", "discharge_date"], "op": "le", "value": "30"},
        {"days": "operation_date", "op": "le", "value": 30},
        {"what": 1},
    ],
)
def test_a_malformed_rule_is_shown_as_it_is_and_never_raises(rule):
    assert describe_rule(rule, FIELDS, "da") == json.dumps(rule, ensure_ascii=False)
