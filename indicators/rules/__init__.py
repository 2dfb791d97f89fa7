"""Indicator rules: structured data that picks rows, never code.

A rule is a JSON tree of nodes:

- ``{"all": [node, ...]}``: every child holds (an empty list holds for every row);
- ``{"any": [node, ...]}``: at least one child holds (an empty list holds for no row);
- ``{"not": node}``: the child does not hold;
- ``{"field": F, "op": OP, "value": V}``: a condition on one field of the row;
- ``{"days": [A, B], "op": OP, "value": N}``: whole days from date A to date B (``B - A``)
  compared with the number N.

Fields are the canonical ``OperationRow`` fields a registry profile offers
(:func:`fields_for_profile`); which operators and values a field takes depends on its kind:

========  ==========================================================  ======================
kind      operators                                                   value
========  ==========================================================  ======================
choice    eq, ne, in, not_in, blank, not_blank                        canonical choice(s)
boolean   eq, ne, blank, not_blank                                    true / false
text      eq, ne, in, not_in, startswith, blank, not_blank            text (list for in, …)
integer   eq, ne, in, not_in, lt, le, gt, ge, blank, not_blank        number(s)
number    eq, ne, in, not_in, lt, le, gt, ge, blank, not_blank        number(s)
date      blank, not_blank (compare dates with a ``days`` condition)  none
days      eq, ne, lt, le, gt, ge                                      number
========  ==========================================================  ======================

A condition on a blank value is false, except ``blank`` itself: ``ne`` and ``not_in`` are false
on a blank value too, and a ``days`` condition is false when either date is blank. ``{"not": C}``
is the plain negation, so it does hold on a blank value. A measure is ``{"days": [A, B]}``.

Rules are validated (:func:`validate_rule`, :func:`validate_measure`) with messages in Danish
and English (``schema``), and evaluated (:func:`evaluate`) as numpy masks over a frame prepared
by :func:`prepare_frame` (``frame``). Nothing is ever ``eval``-ed, and nothing here imports
Django.
"""

from indicators.rules.frame import evaluate, measure_values, prepare_frame
from indicators.rules.schema import (
    EVERY_ROW,
    NO_ROW,
    FieldSpec,
    RuleError,
    RuleInvalid,
    check_rule,
    describe_fields,
    fields_for_profile,
    rule_fields,
    validate_measure,
    validate_rule,
)

__all__ = [
    "EVERY_ROW",
    "NO_ROW",
    "FieldSpec",
    "RuleError",
    "RuleInvalid",
    "check_rule",
    "describe_fields",
    "evaluate",
    "fields_for_profile",
    "measure_values",
    "prepare_frame",
    "rule_fields",
    "validate_measure",
    "validate_rule",
]
