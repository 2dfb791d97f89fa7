"""Rules: structured data validated against the profile, evaluated as masks, never code."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from indicators import rules
from indicators.models import IndicatorDefinition
from tests.indicators.indicator_rows import FIELDS, HAND_ROWS, STANDARD, frame

ROWS = frame(HAND_ROWS)


def holds(rule) -> list[int]:
    """Indices (0-based, as in HAND_ROWS) of the rows for which the rule holds."""
    assert rules.validate_rule(rule, FIELDS) == []
    return list(np.flatnonzero(rules.evaluate(rule, ROWS)))


def errors(rule) -> list[rules.RuleError]:
    return rules.validate_rule(rule, FIELDS)


# --- the fields a profile offers -----------------------------------------------------------------


def test_the_profile_offers_its_row_fields_but_not_who_or_where():
    assert FIELDS["site"].kind == "choice" and FIELDS["site"].choices == ("kolon", "rektum")
    assert FIELDS["anastomosis"].kind == "boolean"
    assert FIELDS["clavien_dindo"].choices == ("0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
    assert (FIELDS["asa"].kind, FIELDS["bmi"].kind, FIELDS["death_date"].kind) == (
        "integer",
        "number",
        "date",
    )
    assert FIELDS["procedure_code"].kind == "text"
    for hidden in ("pseudonym", "department_code", "hospital_code", "department_name"):
        assert hidden not in FIELDS
    editor = {f["field"]: f for f in rules.describe_fields(FIELDS)}
    assert editor["death_date"]["ops"] == ["blank", "not_blank"]
    assert editor["site"]["label_da"] == "Lokalisation"


# --- evaluation ---------------------------------------------------------------------------------


def test_empty_all_is_every_row_and_empty_any_is_none():
    assert holds(rules.EVERY_ROW) == list(range(9))
    assert holds(rules.NO_ROW) == []


def test_choice_operators_and_blank():
    assert holds({"field": "site", "op": "eq", "value": "rektum"}) == [1, 3, 6]
    assert holds({"field": "clavien_dindo", "op": "in", "value": ["IIIa", "V"]}) == [1, 4]
    assert holds({"field": "clavien_dindo", "op": "blank"}) == [3]
    assert holds({"field": "clavien_dindo", "op": "not_blank"}) == [0, 1, 2, 4, 5, 6, 7, 8]


def test_a_condition_on_a_blank_value_is_false_but_its_negation_is_true():
    assert 3 not in holds({"field": "clavien_dindo", "op": "ne", "value": "0"})
    assert 3 not in holds({"field": "clavien_dindo", "op": "not_in", "value": ["0"]})
    assert 3 in holds({"not": {"field": "clavien_dindo", "op": "eq", "value": "0"}})
    assert 8 not in holds({"field": "asa", "op": "lt", "value": 9})  # asa blank
    assert holds({"field": "asa", "op": "blank"}) == [8]


def test_booleans_numbers_and_text():
    assert holds({"field": "anastomotic_leak", "op": "eq", "value": True}) == [1]
    assert holds({"field": "anastomotic_leak", "op": "ne", "value": True}) == [0, 4, 6]
    assert holds({"field": "asa", "op": "ge", "value": 3}) == [1, 2, 3, 4, 7]
    assert holds({"field": "asa", "op": "in", "value": [1, 2]}) == [0, 5, 6]
    assert holds({"field": "asa", "op": "not_in", "value": [1, 2]}) == [1, 2, 3, 4, 7]


def test_days_between_two_dates_and_their_boundaries():
    reop = {"days": ["operation_date", "reoperation_date"], "op": "le", "value": 30}
    assert holds(reop) == [1]  # 30 days in; 31 days (row 2) out; blank never
    assert holds({**reop, "op": "lt"}) == []
    assert holds({**reop, "op": "gt"}) == [2]
    assert holds({**reop, "op": "eq", "value": 31}) == [2]
    stay = {"days": ["operation_date", "discharge_date"], "op": "ne", "value": 10}
    assert 3 not in holds(stay)  # blank discharge


def test_startswith_on_procedure_codes():
    data = rules.prepare_frame(
        pd.DataFrame({"procedure_code": ["KJFB20", "KJGB00", None, "KJFH10"]}), FIELDS
    )
    rule = {"field": "procedure_code", "op": "startswith", "value": ["KJFB", "KJFH"]}
    assert rules.validate_rule(rule, FIELDS) == []
    assert list(rules.evaluate(rule, data)) == [True, False, False, True]
    assert list(rules.evaluate({"field": "procedure_code", "op": "eq", "value": "X"}, data)) == [
        False,
        False,
        False,
        False,
    ]


def test_prepare_frame_accepts_dates_in_any_form_and_is_idempotent():
    raw = pd.DataFrame(
        {
            "operation_date": ["2023-01-02", "", None],
            "discharge_date": pd.to_datetime(["2023-01-05", None, "2023-01-09"]),
            "anastomosis": [True, None, False],
            "site": ["kolon", "", None],
        }
    )
    prepared = rules.prepare_frame(raw, FIELDS)
    day = (dt.date(2023, 1, 2) - dt.date(1970, 1, 1)).days
    assert prepared.operation_date.iloc[0] == day and prepared.operation_date.isna().sum() == 2
    assert list(prepared.anastomosis.fillna(-1)) == [1.0, -1, 0.0]
    assert list(prepared.site.cat.codes) == [0, -1, -1]
    again = rules.prepare_frame(prepared, FIELDS)
    pd.testing.assert_frame_equal(again, prepared)


# --- a coordinator's own indicators, from the same parts ---------------------------------------

LEAK_RECTUM = {
    "population": {
        "all": [
            {"field": "anastomosis", "op": "eq", "value": True},
            {"field": "site", "op": "eq", "value": "rektum"},
        ]
    },
    "missing": {"field": "anastomotic_leak", "op": "blank"},
    "event": {"field": "anastomotic_leak", "op": "eq", "value": True},
}
STAY_OVER_7_ELECTIVE = {
    "population": {"field": "priority", "op": "eq", "value": "elektiv"},
    "missing": {"field": "discharge_date", "op": "blank"},
    "event": {"days": ["operation_date", "discharge_date"], "op": "gt", "value": 7},
}
MAJOR_ASA_3 = {
    "population": {"field": "asa", "op": "ge", "value": 3},
    "missing": {"field": "clavien_dindo", "op": "blank"},
    "event": {"field": "clavien_dindo", "op": "in", "value": ["IIIa", "IIIb", "IVa", "IVb", "V"]},
}


@pytest.mark.parametrize(
    ("parts", "population", "missing", "events"),
    [
        (LEAK_RECTUM, [1, 3, 6], [3], [1]),
        (STAY_OVER_7_ELECTIVE, [0, 1, 5, 6, 7], [], [1, 7]),
        (MAJOR_ASA_3, [1, 2, 3, 4, 7], [3], [1, 4, 7]),
    ],
    ids=["leak-rectum-only", "stay-over-7-elective", "major-asa-3-plus"],
)
def test_department_indicators_built_from_rule_parts(parts, population, missing, events):
    in_population = holds(parts["population"])
    assert in_population == population
    assert [i for i in in_population if i in holds(parts["missing"])] == missing
    counted = [i for i in in_population if i not in missing]
    assert [i for i in counted if i in holds(parts["event"])] == events


# --- validation ---------------------------------------------------------------------------------


def test_every_standard_definition_is_valid():
    for spec in STANDARD:
        for name in ("population", "missing", "event"):
            if name in spec:
                assert rules.validate_rule(spec[name], FIELDS, name) == [], spec["slug"]
        if "measure" in spec:
            assert rules.validate_measure(spec["measure"], FIELDS) == []


@pytest.mark.parametrize(
    ("rule", "path", "english"),
    [
        ({"field": "colour", "op": "eq", "value": "x"}, "rule.field", "Unknown field 'colour'"),
        ({"field": "site", "op": "eq", "value": "colon"}, "rule.value", "'colon' is not a valid"),
        ({"field": "site", "op": "lt", "value": "kolon"}, "rule.op", "operator 'lt' cannot"),
        ({"field": "asa", "op": "ge", "value": "3"}, "rule.value", "compared with a number"),
        ({"field": "asa", "op": "ge", "value": True}, "rule.value", "compared with a number"),
        ({"field": "anastomosis", "op": "eq", "value": 1}, "rule.value", "use one of: true"),
        ({"field": "death_date", "op": "eq", "value": "2023-01-01"}, "rule.op", "cannot be used"),
        ({"field": "site", "op": "in", "value": []}, "rule.value", "non-empty list"),
        ({"field": "site", "op": "blank", "value": "x"}, "rule.value", "takes no value"),
        ({"field": "site", "op": "eq"}, "rule.value", "value is missing"),
        ({"field": "site", "op": "eq", "value": "kolon", "x": 1}, "rule", "Unknown keys: x"),
        ({"days": ["operation_date", "asa"], "op": "le", "value": 3}, "rule.days", "not a date"),
        ({"days": ["operation_date"], "op": "le", "value": 3}, "rule.days", "two date fields"),
        ({"days": ["death_date", "death_date"], "op": "le", "value": 3}, "rule.days", "different"),
        ({"days": ["operation_date", "death_date"], "op": "in", "value": 3}, "rule.op", "cannot"),
        (
            {"days": ["operation_date", "death_date"], "op": "le", "value": "30"},
            "rule.value",
            "must be a number",
        ),
        ({"all": {"field": "site"}}, "rule.all", "must be a list"),
        ({"everything": []}, "rule", "Unknown rule part"),
        ("asa >= 3", "rule", "must be an object"),
        ({"not": {"all": [{"field": "x", "op": "blank"}]}}, "rule.not.all[0].field", "Unknown"),
    ],
)
def test_invalid_rules_are_refused_with_a_path_and_both_languages(rule, path, english):
    found = errors(rule)
    assert found, rule
    assert found[0].path == path
    assert english in found[0].en
    assert found[0].da and found[0].da != found[0].en


def test_code_is_never_run():
    for text in ["__import__('os').system('true')", "df.query('asa > 2')", "1 + 1"]:
        assert errors(text) and errors({"field": text, "op": "blank"})
    with pytest.raises(rules.RuleInvalid) as refused:
        rules.check_rule({"field": "__class__", "op": "blank"}, FIELDS)
    assert refused.value.messages("da")[0].startswith("rule.field: Ukendt felt")


def test_deep_or_huge_rules_are_refused():
    deep: dict = {"field": "site", "op": "blank"}
    for _ in range(20):
        deep = {"not": deep}
    assert "deeper" in errors(deep)[0].en
    huge = {"any": [{"field": "site", "op": "blank"}] * 300}
    assert any("more than 200 parts" in e.en for e in errors(huge))


def test_a_measure_is_days_between_two_dates():
    assert rules.validate_measure({"days": ["operation_date", "discharge_date"]}, FIELDS) == []
    assert rules.validate_measure({"field": "asa"}, FIELDS)[0].path == "measure"


def test_rule_fields_lists_what_a_rule_reads():
    assert rules.rule_fields(LEAK_RECTUM["population"]) == {"anastomosis", "site"}
    assert rules.rule_fields({"not": STAY_OVER_7_ELECTIVE["event"]}) == {
        "operation_date",
        "discharge_date",
    }


# --- the model validates on clean(), in the active language -------------------------------------


def _definition(**kwargs) -> IndicatorDefinition:
    values = {
        "slug": "x",
        "name_da": "x",
        "name_en": "x",
        "kind": "proportion",
        **LEAK_RECTUM,
        **kwargs,
    }
    return IndicatorDefinition(**values)


def test_clean_accepts_a_valid_definition(db):
    _definition().clean()
    _definition(
        kind="measure", event=None, measure={"days": ["operation_date", "discharge_date"]}
    ).clean()


def test_clean_refuses_bad_rules_in_the_active_language(db):
    bad = _definition(event={"field": "site", "op": "eq", "value": "colon"})
    with translation.override("da"), pytest.raises(ValidationError) as refused:
        bad.clean()
    assert "ikke en gyldig værdi" in refused.value.message_dict["event"][0]
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        bad.clean()
    assert "is not a valid value" in refused.value.message_dict["event"][0]


def test_clean_checks_kind_measure_and_target(db):
    with pytest.raises(ValidationError) as refused:
        _definition(kind="measure", measure=None).clean()
    assert {"measure", "event"} <= set(refused.value.message_dict)
    with pytest.raises(ValidationError) as refused:
        _definition(default_target=5).clean()
    assert "default_target" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        _definition(profile="nope").clean()
    assert "profile" in refused.value.message_dict
