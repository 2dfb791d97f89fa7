"""CPR numbers where they do not belong: found in any cell, refused, and never stored.

A value is *CPR-shaped* when it holds six digits that are a real date (DDMMYY, 29 February in
any year divisible by four, as the century is unknown) followed by four digits, with or without
a dash, and no digit right before or after. Only the ``cpr`` column may hold one: there it is
pseudonymised; anywhere else (codes, names, extra columns) the row is refused with a reason that
names the column, never the value, and the value is kept nowhere.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SHAPE = re.compile(r"(?<![0-9])([0-9]{2})([0-9]{2})([0-9]{2})-?[0-9]{4}(?![0-9])")
# Arrow's (RE2) first pass: six digits, a dash or not, four digits. Few cells get that far.
_CANDIDATE = r"[0-9]{6}-?[0-9]{4}"
_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MARK = "[CPR]"


def _real(day: str, month: str, year: str) -> bool:
    d, m, y = int(day), int(month), int(year)
    if not 1 <= m <= 12:
        return False
    last = 28 if m == 2 and y % 4 else _DAYS[m]
    return 1 <= d <= last


def _matches(text: str):
    for found in SHAPE.finditer(text):
        if _real(*found.groups()):
            yield found


def has_cpr(text: str | None) -> bool:
    return bool(text) and next(_matches(str(text)), None) is not None


def scrub(text: str) -> str:
    """``text`` with every CPR-shaped part replaced by "[CPR]"."""
    if not text or not has_cpr(text):
        return text
    parts, last = [], 0
    for found in _matches(text):
        parts += [text[last : found.start()], MARK]
        last = found.end()
    return "".join([*parts, text[last:]])


# In a file name a CPR number may be cut up by any separator, and a name is no cell to be exact
# about: every run of six digits, a separator or none, and four digits is masked.
_NAME_SHAPE = re.compile(r"(?<![0-9])[0-9]{6}[-_ .]?[0-9]{4}(?![0-9])")


def scrub_name(name: str, limit: int = 255) -> str:
    """A file name fit to keep and show: cut to ``limit`` characters first, then every
    CPR-like part (six digits, a separator or not, four digits) replaced by "[CPR]"."""
    return _NAME_SHAPE.sub(MARK, (name or "")[:limit])


def cpr_values(values: pa.Array) -> np.ndarray:
    """Per value of a string array: is it CPR-shaped somewhere?"""
    flags = np.zeros(len(values), dtype=bool)
    if not len(values):
        return flags
    candidate = pc.match_substring_regex(values.cast(pa.string()), _CANDIDATE)
    for i in np.flatnonzero(candidate.fill_null(False).to_numpy(zero_copy_only=False)):
        flags[i] = has_cpr(values[int(i)].as_py())
    return flags
