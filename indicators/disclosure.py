"""Small numbers outside a department's own staff: counts of 1 to 4 shown as "<5".

Pure Python and pandas, no Django: the pages, the API and the exports call it on whatever rows
they are about to show anyone who is not the department's own staff (leadership pages, the
overview, answers and files covering more than one department).

Per row, with the default field names and ``threshold=5``:

- ``numerator`` 1-4: shown as "<5"; ``value``, ``ci_low`` and ``ci_high`` hidden (None), since a
  proportion and its denominator give the numerator back.
- ``denominator`` 1-4: shown as "<5"; the numerator is shown as "<5" too (it is at most the
  denominator, and with the denominator known to be small any exact numerator, even 0, says too
  much), and ``value``/``ci_low``/``ci_high`` hidden.
- ``missing`` 1-4: shown as "<5" only; it is counted apart from the denominator, so it hides
  nothing else.
- 0 is shown as 0 (nobody can be singled out of nobody), and a count that is absent (None, NaN)
  stays absent.

Rows are not changed in place; a new list of dicts (or a new DataFrame) is returned. In a
DataFrame the fields touched become object columns holding "<5" strings and None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

import pandas as pd

COUNT_FIELDS = ("numerator", "denominator", "missing")
HIDE_FIELDS = ("value", "ci_low", "ci_high")


def small_label(threshold: int = 5) -> str:
    return f"<{threshold}"


def is_small(count: Any, threshold: int = 5) -> bool:
    """Is ``count`` a number from 1 to ``threshold - 1``? (Strings, None and NaN are not.)"""
    if isinstance(count, bool) or not isinstance(count, Real):
        return False
    if isinstance(count, float) and math.isnan(count):
        return False
    return 0 < count < threshold


def _suppress_row(
    row: dict,
    count_fields: Sequence[str],
    hide_fields: Sequence[str],
    threshold: int,
    numerator: str,
    denominator: str,
) -> tuple[dict, set[str]]:
    """The row as it may be shown, and the fields that changed."""
    out = dict(row)
    label = small_label(threshold)
    small = {field for field in count_fields if field in row and is_small(row[field], threshold)}
    changed = set(small)
    for field in small:
        out[field] = label
    if small & {numerator, denominator}:
        for field in hide_fields:
            if field in out and _present(out[field]):
                out[field] = None
                changed.add(field)
    if denominator in small and numerator in out and _present(out[numerator]):
        out[numerator] = label
        changed.add(numerator)
    return out, changed


def _present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def suppress_small(
    rows: Iterable[dict] | pd.DataFrame,
    *,
    count_fields: Sequence[str] = COUNT_FIELDS,
    hide_fields: Sequence[str] = HIDE_FIELDS,
    threshold: int = 5,
    numerator: str = "numerator",
    denominator: str = "denominator",
) -> list[dict] | pd.DataFrame:
    """``rows`` with counts from 1 to ``threshold - 1`` shown as "<threshold" and the fields
    that would reveal them hidden (see the module's docstring for the rules).

    ``numerator``/``denominator`` name the two counts that a proportion is made of; any other
    count field (``missing``) is only labelled. For a continuous indicator pass its ``n`` as
    ``denominator`` and its summaries (median, quartiles, mean) in ``hide_fields``.
    """
    args = (tuple(count_fields), tuple(hide_fields), threshold, numerator, denominator)
    if isinstance(rows, pd.DataFrame):
        frame = rows.copy()
        results = [_suppress_row(row, *args) for row in rows.to_dict("records")]
        changed = set().union(*(fields for _row, fields in results)) if results else set()
        for column in changed:
            # An object column, so "<5" and None stay as they are (pandas would make None NaN).
            frame[column] = pd.Series(
                [row[column] for row, _fields in results], index=rows.index, dtype=object
            )
        return frame
    return [_suppress_row(row, *args)[0] for row in rows]
