"""CSV that a spreadsheet opens as data: no cell runs as a formula (CSV injection).

Excel and LibreOffice read a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula, and ``=HYPERLINK(...)`` or ``=cmd|...`` in a user agent,
a department name or a rule's slug would run on the reader's machine. Such a cell gets a leading
``'``, which the spreadsheet shows as text. Numbers stay numbers: ``-3`` and ``-0,5`` are left
alone so the columns still add up. Every CSV the portal writes goes through :func:`writer`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number, decimal point or comma, optional exponent (repr of a float): "-3", "-0,5",
# "-1e-05". Nothing may follow it, or "-1+cmd|..." would pass.
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?")


def cell(value: Any) -> Any:
    """``value`` as a cell no spreadsheet will evaluate; numbers and None pass unchanged."""
    if value is None or isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`cell` first."""

    def __init__(self, file, **fmtparams):
        self._writer = csv.writer(file, **fmtparams)

    def writerow(self, row: Iterable[Any]):
        # The underlying writer's answer is passed on: a streamed response yields it.
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file, **fmtparams) -> SafeWriter:
    """A drop-in for ``csv.writer(file, **fmtparams)`` that neutralises formulas."""
    return SafeWriter(file, **fmtparams)
