"""Rules as readable sentences in Danish and English, for coordinators reading an indicator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from indicators.registry.profiles import get_profile
from indicators.rules.schema import DAYS_OPS, EVERY_ROW, NO_ROW, fields_for_profile
from qualityportal.formatting import plain_number

_WORDS = {
    "da": {
        "every": "alle operationer",
        "none": "ingen",
        "where": "alle operationer hvor",
        "all": "og",
        "any": "eller",
        "not": "ikke",
        True: "ja",
        False: "nej",
        "days": "dage",
        "count": "antal dage {interval}",
        "from": "fra {a} til {b}",
        "lines": ("Population", "Manglende", "Hændelse", "Mål", "Retning"),
        "lower": "Lavere er bedre",
        "higher": "Højere er bedre",
    },
    "en": {
        "every": "all operations",
        "none": "none",
        "where": "all operations where",
        "all": "and",
        "any": "or",
        "not": "not",
        True: "yes",
        False: "no",
        "days": "days",
        "count": "the number of days {interval}",
        "from": "from {a} to {b}",
        "lines": ("Population", "Missing", "Event", "Measure", "Direction"),
        "lower": "Lower is better",
        "higher": "Higher is better",
    },
}
_FIELD_OPS = {
    "da": {
        "eq": "{f} er {v}",
        "ne": "{f} er ikke {v}",
        "in": "{f} er en af {v}",
        "not_in": "{f} er ikke en af {v}",
        "startswith": "{f} begynder med {v}",
        "startswith_any": "{f} begynder med en af {v}",
        "lt": "{f} er mindre end {v}",
        "le": "{f} er højst {v}",
        "gt": "{f} er større end {v}",
        "ge": "{f} er mindst {v}",
        "blank": "{f} er uoplyst",
        "not_blank": "{f} er oplyst",
    },
    "en": {
        "eq": "{f} is {v}",
        "ne": "{f} is not {v}",
        "in": "{f} is one of {v}",
        "not_in": "{f} is not one of {v}",
        "startswith": "{f} starts with {v}",
        "startswith_any": "{f} starts with one of {v}",
        "lt": "{f} is less than {v}",
        "le": "{f} is at most {v}",
        "gt": "{f} is greater than {v}",
        "ge": "{f} is at least {v}",
        "blank": "{f} is not recorded",
        "not_blank": "{f} is recorded",
    },
}


def _lang(language: str) -> str:
    return "en" if str(language or "").lower().startswith("en") else "da"


def _spec(name: Any, fields: Mapping) -> Any:
    return fields.get(name) if isinstance(name, str) else None


def _label(name: Any, fields: Mapping, lang: str) -> str:
    label = str(getattr(_spec(name, fields), f"label_{lang}", "") or name)
    # "Operationsdato" reads "operationsdato" mid-sentence; "BMI" and "Clavien-Dindo" stay.
    if label[:1].isupper() and not any(c.isupper() for c in label[1:]):
        return label[0].lower() + label[1:]
    return label


def _value(value: Any, kind: str | None, lang: str) -> str:
    if isinstance(value, bool):
        return _WORDS[lang][value]
    if isinstance(value, int | float):
        return plain_number(value, lang)
    return f'"{value}"' if kind == "text" else str(value)


def _interval(pair: list, fields: Mapping, lang: str) -> str:
    a, b = (_label(name, fields, lang) for name in pair)
    return _WORDS[lang]["from"].format(a=a, b=b)


def _raw(node: Any) -> str:
    return json.dumps(node, ensure_ascii=False, default=str)


def describe_rule(rule: Any, fields: Mapping, language: str) -> str:
    """One phrase for a rule, e.g. "lokalisation er rektum og prioritet er akut"."""
    return _phrase(rule, fields or {}, _lang(language), top=True)


def _phrase(node: Any, fields: Mapping, lang: str, top: bool = False) -> str:
    words = _WORDS[lang]
    if not isinstance(node, dict):
        return _raw(node)
    for key, empty in (("all", "every"), ("any", "none")):
        if set(node) == {key} and isinstance(node[key], list):
            children = node[key]
            if not children:
                return words[empty]
            if len(children) == 1:
                return _phrase(children[0], fields, lang, top)
            text = f" {words[key]} ".join(_phrase(c, fields, lang) for c in children)
            return text if top else f"({text})"
    if set(node) == {"not"}:
        return f"{words['not']} ({_phrase(node['not'], fields, lang, top=True)})"
    if "days" in node:
        return _days_condition(node, fields, lang)
    if "field" in node:
        return _field_condition(node, fields, lang)
    return _raw(node)


def _days_condition(node: dict, fields: Mapping, lang: str) -> str:
    pair, op, value = node["days"], node.get("op"), node.get("value")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if op not in DAYS_OPS or not number or not (isinstance(pair, list) and len(pair) == 2):
        return _raw(node)
    count = _WORDS[lang]["count"].format(interval=_interval(pair, fields, lang))
    return _FIELD_OPS[lang][op].format(f=count, v=plain_number(value, lang))


def _field_condition(node: dict, fields: Mapping, lang: str) -> str:
    name, op, value = node["field"], node.get("op"), node.get("value")
    if op == "startswith" and isinstance(value, list):
        op = "startswith_any"
    template = _FIELD_OPS[lang].get(op) if isinstance(op, str) else None
    if template is None or not isinstance(name, str):
        return _raw(node)
    kind = getattr(_spec(name, fields), "kind", None)
    values = value if isinstance(value, list) else [value]
    shown = ", ".join(_value(v, kind, lang) for v in values)
    return template.format(f=_label(name, fields, lang), v=shown)


def describe_measure(measure: Any, fields: Mapping, language: str) -> str:
    """A measure, e.g. "dage fra operationsdato til udskrivelsesdato"."""
    lang = _lang(language)
    pair = measure.get("days") if isinstance(measure, dict) else None
    if not (isinstance(pair, list) and len(pair) == 2):
        return _raw(measure)
    return f"{_WORDS[lang]['days']} {_interval(pair, fields or {}, lang)}"


def _get(definition: Any, name: str) -> Any:
    if isinstance(definition, Mapping):
        return definition.get(name)
    return getattr(definition, name, None)


def describe_definition(definition: Any, language: str) -> list[tuple[str, str]]:
    """Labelled lines: population, missing, event (or measure) and direction."""
    lang = _lang(language)
    words = _WORDS[lang]
    try:
        fields = fields_for_profile(get_profile(_get(definition, "profile") or "dccg"))
    except KeyError:
        fields = {}
    population_label, missing_label, event_label, measure_label, direction_label = words["lines"]
    population, missing = _get(definition, "population"), _get(definition, "missing")
    population = describe_rule(EVERY_ROW if population is None else population, fields, lang)
    if population not in (words["every"], words["none"]):
        population = f"{words['where']} {population}"
    lines = [
        (population_label, population),
        (missing_label, describe_rule(NO_ROW if missing is None else missing, fields, lang)),
    ]
    if _get(definition, "kind") == "measure":
        lines.append((measure_label, describe_measure(_get(definition, "measure"), fields, lang)))
    else:
        lines.append((event_label, describe_rule(_get(definition, "event"), fields, lang)))
    direction = "higher" if _get(definition, "direction") == "higher" else "lower"
    lines.append((direction_label, words[direction]))
    return lines
