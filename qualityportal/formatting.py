"""Numbers, intervals and labels as the portal shows and exports them: pages, figures and CSV.

Shown numbers keep the Danish notation ("1.234,5") in both languages, as the portal's number
formats do (qualityportal/formats); only words and the percent sign's space follow the language.
Input fields, rule texts and CSV files follow the language's own decimal mark instead.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from django.utils import formats, translation
from django.utils.translation import gettext as _

MONTHS_DA = [
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
]  # fmt: skip
MONTHS_DA_SHORT = [
    "jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
]  # fmt: skip
MONTHS_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
MONTHS_EN_SHORT = [m[:3] for m in MONTHS_EN]
ABSENT = "–"  # an en dash where there is no value
_DANISH_MARKS = str.maketrans(",.", ".,")


def current_language() -> str:
    """The active language as the portal names it: "en" or "da"."""
    return "en" if (translation.get_language() or "da").startswith("en") else "da"


def is_danish(language: str | None) -> bool:
    return not language or language.lower().startswith("da")


def is_absent(value) -> bool:
    """None or NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent_sign(language: str | None = "da") -> str:
    """What follows a percentage: " %" in Danish, "%" in English."""
    return " %" if is_danish(language) else "%"


def _marks(text: str, language: str | None) -> str:
    """Python's "1,234.5" in the language's notation ("1.234,5" in Danish)."""
    return text.translate(_DANISH_MARKS) if is_danish(language) else text


def number(value: float | int | None, decimals: int = 1, language: str | None = "da") -> str:
    """ "1.234,5": Danish notation in both languages; absent (None, NaN) is an en dash."""
    if is_absent(value):
        return ABSENT
    return _marks(f"{value:,.{decimals}f}", "da")


def count_text(value, language: str | None = "da") -> str:
    """A count with a thousands mark ("1.234"); a suppressed "<5" stays as it is."""
    if value is None:
        return ABSENT
    return value if isinstance(value, str) else number(value, 0, language)


def percent(value: float | None, decimals: int = 1, language: str | None = "da") -> str:
    """A proportion (0-1) as a percentage: "12,3 %" in Danish, "12,3%" in English."""
    if is_absent(value):
        return ABSENT
    return number(value * 100, decimals, language) + percent_sign(language)


def _unit(kind: str | None, language: str | None) -> tuple[float, str]:
    """(scale, suffix) of a kind: per cent for a proportion, days for a measure, else none."""
    if kind == "proportion":
        return 100, percent_sign(language)
    return 1, (" " + _("dage") if kind == "measure" else "")


def value_text(
    value: float | None, kind: str | None = "proportion", language: str | None = "da", decimals=1
) -> str:
    """ "12,3 %" for a proportion, "6,0 dage" for a measure, "6,0" for no kind."""
    if is_absent(value):
        return ABSENT
    scale, unit = _unit(kind, language)
    return number(value * scale, decimals, language) + unit


def range_text(
    low: float | None, high: float | None, kind: str | None = "proportion", language="da"
) -> str:
    """ "9,1–15,2 %" (the unit as :func:`value_text`); empty when a bound is missing."""
    if is_absent(low) or is_absent(high):
        return ""
    scale, unit = _unit(kind, language)
    return f"{number(low * scale, 1, language)}–{number(high * scale, 1, language)}{unit}"


def ci_label(language: str | None = "da") -> str:
    """ "95 % KI" / "95% CI": the name of the 95 % confidence interval."""
    return _("%(level)s KI") % {"level": "95" + percent_sign(language)}


def interval_text(
    low: float | None, high: float | None, kind: str | None = "proportion", language="da"
) -> str:
    """ "95 % KI 9,1–15,2 %"; empty when there is no interval."""
    span = range_text(low, high, kind, language)
    return f"{ci_label(language)} {span}" if span else ""


def month_label(day: dt.date, language: str | None = "da", *, short: bool = False) -> str:
    """ "marts 2022" / "March 2022" (short: "mar 2022" / "Mar 2022")."""
    if is_danish(language):
        names = MONTHS_DA_SHORT if short else MONTHS_DA
    else:
        names = MONTHS_EN_SHORT if short else MONTHS_EN
    return f"{names[day.month - 1]} {day.year}"


def period_label(
    start: dt.date, period_type: str = "month", language: str | None = "da", *, short=False
) -> str:
    """A period by its start: "marts 2022", "1. kvt. 2022" / "Q1 2022", "2022"."""
    if period_type == "year":
        return str(start.year)
    if period_type == "quarter":
        quarter = (start.month - 1) // 3 + 1
        name = f"{quarter}. kvt." if is_danish(language) else f"Q{quarter}"
        return f"{name} {start.year}"
    return month_label(start, language, short=short)


def window_label(
    first: dt.date, last: dt.date, language: str | None = "da", *, short: bool = True
) -> str:
    """ "dec 2025 – nov 2026", "jan – nov 2026" (the year once when it is the same)."""
    start = month_label(first, language, short=short)
    if first.year == last.year:
        start = start.rsplit(" ", 1)[0]
    return f"{start} – {month_label(last, language, short=short)}"


def date_label(day: dt.date, language: str | None = "da") -> str:
    """ "05-03-2022": the portal's SHORT_DATE_FORMAT (the same in both languages)."""
    with translation.override("da" if is_danish(language) else "en"):
        return formats.date_format(day, "SHORT_DATE_FORMAT")


def input_number(value: float | None, decimals: int = 2, language: str | None = "da") -> str:
    """A number for an input field: no trailing zeros, the language's decimal mark ("2,5")."""
    if is_absent(value):
        return ""
    return _marks(f"{value:.{decimals}f}".rstrip("0").rstrip("."), language)


def parse_number(text: str) -> float | None:
    """A number as typed in either language ("2,5", "2.5", "2,5 %"); None when blank.

    Raises ``ValueError`` otherwise; no thousands mark ("1.000" is ambiguous between languages).
    """
    cleaned = (text or "").strip().removesuffix("%").strip().replace("\u00a0", "")
    if not cleaned:
        return None
    if not re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", cleaned):
        raise ValueError(text)
    return float(cleaned.replace(",", "."))


def plain_number(value: float | int, language: str | None = "da") -> str:
    """A number in words at full precision in the language's notation: "1.234,5" / "1,234.5"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _marks(f"{value:,}", language)


def csv_cell(value, language: str | None = "en") -> str:
    """A CSV cell: empty for none, ISO dates, floats at full precision (repr) with the
    language's decimal mark, text as it is."""
    if is_absent(value):
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return _marks(repr(float(value)) if isinstance(value, float) else str(value), language)
