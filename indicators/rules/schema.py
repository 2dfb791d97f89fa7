"""The rule schema: which fields a profile offers, and validation with Danish/English messages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EVERY_ROW: dict = {"all": []}
NO_ROW: dict = {"any": []}

FIELD_OPS = {
    "choice": ("eq", "ne", "in", "not_in", "blank", "not_blank"),
    "boolean": ("eq", "ne", "blank", "not_blank"),
    "text": ("eq", "ne", "in", "not_in", "startswith", "blank", "not_blank"),
    "integer": ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "blank", "not_blank"),
    "number": ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "blank", "not_blank"),
    "date": ("blank", "not_blank"),
}
DAYS_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
_NO_VALUE = ("blank", "not_blank")
_LIST_OPS = ("in", "not_in")
_MAX_DEPTH = 12
_MAX_NODES = 200
_KIND_OF_COLUMN = {"date": "date", "int": "integer", "decimal": "number", "code": "text"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # choice | boolean | text | integer | number | date
    label_da: str = ""
    label_en: str = ""
    choices: tuple = ()


@dataclass(frozen=True)
class RuleError:
    path: str
    da: str
    en: str

    def __str__(self) -> str:
        return f"{self.path}: {self.en}"


class RuleInvalid(ValueError):
    """A rule that does not fit the schema or the profile's fields."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def messages(self, language: str = "da") -> list[str]:
        return [f"{e.path}: {e.en if language == 'en' else e.da}" for e in self.errors]


def fields_for_profile(profile: Any) -> dict[str, FieldSpec]:
    """The fields a rule may use: the profile's columns less who and where (CPR, codes, names)."""
    where = {
        profile.hospital_code,
        profile.hospital_name,
        profile.department_code,
        profile.department_name,
    }
    fields: dict[str, FieldSpec] = {}
    for column in profile.columns:
        if column.kind == "cpr" or column.name in where:
            continue
        if column.kind == "choice":
            choices = tuple(dict.fromkeys(column.choices.values()))
            kind = "choice"
            if all(isinstance(c, bool) for c in choices):
                kind, choices = "boolean", (True, False)
        else:
            kind, choices = _KIND_OF_COLUMN.get(column.kind, "text"), ()
        fields[column.field] = FieldSpec(
            column.field, kind, column.label_da, column.label_en, choices
        )
    return fields


def describe_fields(fields: Mapping[str, FieldSpec]) -> list[dict]:
    """The fields with their kinds, operators and choices, for a rule editor."""
    return [
        {
            "field": f.name,
            "kind": f.kind,
            "label_da": f.label_da,
            "label_en": f.label_en,
            "ops": list(FIELD_OPS[f.kind]),
            "choices": list(f.choices),
        }
        for f in fields.values()
    ]


def rule_fields(node: Any) -> set[str]:
    """The fields a (valid) rule or measure reads."""
    if not isinstance(node, dict):
        return set()
    if "field" in node:
        return {node["field"]}
    if "days" in node:
        return set(node["days"])
    found: set[str] = set()
    for key in ("all", "any"):
        for child in node.get(key, ()):
            found |= rule_fields(child)
    if "not" in node:
        found |= rule_fields(node["not"])
    return found


# --- validation -------------------------------------------------------------------------------


class _Errors(list):
    def add(self, path: str, da: str, en: str) -> None:
        self.append(RuleError(path, da, en))


def validate_rule(
    node: Any, fields: Mapping[str, FieldSpec], path: str = "rule"
) -> list[RuleError]:
    """Every problem with a rule, each with a path and a message in Danish and English."""
    errors = _Errors()
    _validate(node, fields, path, 0, errors, [0])
    return list(errors)


def check_rule(node: Any, fields: Mapping[str, FieldSpec], path: str = "rule") -> None:
    errors = validate_rule(node, fields, path)
    if errors:
        raise RuleInvalid(errors)


def validate_measure(
    spec: Any, fields: Mapping[str, FieldSpec], path: str = "measure"
) -> list[RuleError]:
    """Problems with a measure, which is ``{"days": [A, B]}`` with A and B date fields."""
    errors = _Errors()
    if not isinstance(spec, dict) or set(spec) != {"days"}:
        errors.add(
            path,
            'Et mål skal have formen {"days": [dato A, dato B]}.',
            'A measure must have the form {"days": [date A, date B]}.',
        )
    else:
        _check_days_pair(spec["days"], fields, f"{path}.days", errors)
    return list(errors)


def _validate(node: Any, fields, path: str, depth: int, errors: _Errors, count: list) -> None:
    count[0] += 1
    if depth > _MAX_DEPTH:
        da, en = f"dybere end {_MAX_DEPTH} niveauer", f"nested deeper than {_MAX_DEPTH} levels"
        errors.add(path, f"Reglen er {da}.", f"The rule is {en}.")
        return
    if count[0] > _MAX_NODES:
        if count[0] == _MAX_NODES + 1:
            da, en = f"flere end {_MAX_NODES} dele", f"more than {_MAX_NODES} parts"
            errors.add(path, f"Reglen har {da}.", f"The rule has {en}.")
        return
    if not isinstance(node, dict):
        errors.add(
            path,
            "Hver del af en regel skal være et objekt ({...}).",
            "Each part of a rule must be an object ({...}).",
        )
        return
    keys = set(node)
    if keys in ({"all"}, {"any"}):
        (key,) = keys
        if not isinstance(node[key], list):
            da, en = f'"{key}" skal være en liste af regler.', f'"{key}" must be a list of rules.'
            errors.add(f"{path}.{key}", da, en)
            return
        for i, child in enumerate(node[key]):
            _validate(child, fields, f"{path}.{key}[{i}]", depth + 1, errors, count)
    elif keys == {"not"}:
        _validate(node["not"], fields, f"{path}.not", depth + 1, errors, count)
    elif "days" in keys:
        _validate_days(node, fields, path, errors)
    elif "field" in keys:
        _validate_field(node, fields, path, errors)
    else:
        errors.add(
            path,
            'Ukendt regeldel; brug "all", "any", "not", "field" eller "days".',
            'Unknown rule part; use "all", "any", "not", "field" or "days".',
        )


def _check_keys(node: dict, allowed: set, path: str, errors: _Errors) -> bool:
    extra = set(node) - allowed
    if extra:
        names = ", ".join(sorted(map(str, extra)))
        errors.add(path, f"Ukendte nøgler: {names}.", f"Unknown keys: {names}.")
    return not extra


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_days_pair(pair: Any, fields, path: str, errors: _Errors) -> None:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        errors.add(
            path,
            '"days" skal være to datofelter: [fra, til].',
            '"days" must be two date fields: [from, to].',
        )
        return
    for name in pair:
        spec = fields.get(name)
        if spec is None:
            _unknown_field(name, fields, path, errors)
        elif spec.kind != "date":
            errors.add(path, f"'{name}' er ikke et datofelt.", f"'{name}' is not a date field.")
    if pair[0] == pair[1]:
        errors.add(
            path,
            "Dagene skal tælles mellem to forskellige datoer.",
            "Days must be counted between two different dates.",
        )


def _validate_days(node: dict, fields, path: str, errors: _Errors) -> None:
    if not _check_keys(node, {"days", "op", "value"}, path, errors):
        return
    _check_days_pair(node.get("days"), fields, f"{path}.days", errors)
    if node.get("op") not in DAYS_OPS:
        _bad_op(node.get("op"), DAYS_OPS, "dage", "days", path, errors)
    if not _is_number(node.get("value")):
        da, en = "Antal dage skal være et tal.", "The number of days must be a number."
        errors.add(f"{path}.value", da, en)


def _validate_field(node: dict, fields, path: str, errors: _Errors) -> None:
    if not _check_keys(node, {"field", "op", "value"}, path, errors):
        return
    name, op = node.get("field"), node.get("op")
    spec = fields.get(name) if isinstance(name, str) else None
    if spec is None:
        _unknown_field(name, fields, f"{path}.field", errors)
        return
    allowed = FIELD_OPS[spec.kind]
    if op not in allowed:
        _bad_op(op, allowed, spec.label_da or name, spec.label_en or name, path, errors)
        return
    vpath = f"{path}.value"
    if op in _NO_VALUE:
        if "value" in node:
            errors.add(vpath, f"'{op}' tager ingen værdi.", f"'{op}' takes no value.")
        return
    if "value" not in node:
        errors.add(vpath, "Værdien mangler.", "The value is missing.")
        return
    value = node["value"]
    if op in _LIST_OPS or (op == "startswith" and isinstance(value, list)):
        if not isinstance(value, list) or not value:
            da, en = "kræver en ikke-tom liste af værdier", "needs a non-empty list of values"
            errors.add(vpath, f"'{op}' {da}.", f"'{op}' {en}.")
            return
        values = value
    else:
        values = [value]
    for v in values:
        _check_value(spec, v, vpath, errors)


def _check_value(spec: FieldSpec, value: Any, path: str, errors: _Errors) -> None:
    label_da, label_en = spec.label_da or spec.name, spec.label_en or spec.name
    if spec.kind in ("choice", "boolean"):
        # type() too: True == 1 in Python, but 1 is not a valid answer to a yes/no field.
        if not any(type(value) is type(c) and value == c for c in spec.choices):
            shown = ", ".join(_show(c) for c in spec.choices)
            errors.add(
                path,
                f"{_show(value)} er ikke en gyldig værdi for {label_da}; brug én af: {shown}.",
                f"{_show(value)} is not a valid value for {label_en}; use one of: {shown}.",
            )
    elif spec.kind == "text":
        if not (isinstance(value, str) and value.strip()):
            da, en = "sammenlignes med en ikke-tom tekst", "is compared with a non-empty text"
            errors.add(path, f"{label_da} {da}.", f"{label_en} {en}.")
    elif not _is_number(value):
        errors.add(
            path,
            f"{label_da} sammenlignes med et tal, ikke {_show(value)}.",
            f"{label_en} is compared with a number, not {_show(value)}.",
        )


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _unknown_field(name: Any, fields, path: str, errors: _Errors) -> None:
    known = ", ".join(sorted(fields))
    errors.add(
        path,
        f"Ukendt felt {_show(name)}; kendte felter: {known}.",
        f"Unknown field {_show(name)}; known fields: {known}.",
    )


def _bad_op(op: Any, allowed, label_da: str, label_en: str, path: str, errors: _Errors) -> None:
    shown = ", ".join(allowed)
    errors.add(
        f"{path}.op",
        f"Operatoren {_show(op)} kan ikke bruges på {label_da}; brug én af: {shown}.",
        f"The operator {_show(op)} cannot be used on {label_en}; use one of: {shown}.",
    )
