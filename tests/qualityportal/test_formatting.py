"""qualityportal.formatting: exact texts in both languages, and no ad-hoc copies elsewhere."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import numpy as np
import pytest
from django.utils import translation

from qualityportal import formatting as f

NAN = float("nan")
MARCH = dt.date(2022, 3, 1)

# (call, Danish, English): each call gets the language and runs with it active.
CASES = [
    (lambda lang: f.current_language(), "da", "en"),
    (lambda lang: f.is_danish(lang), True, False),
    (lambda lang: f.is_absent(NAN) and f.is_absent(None) and not f.is_absent(0.0), True, True),
    (lambda lang: f.percent_sign(lang), " %", "%"),
    (lambda lang: f.number(1234.567, 1, lang), "1.234,6", "1.234,6"),
    (lambda lang: f.number(-0.05, 2, lang), "-0,05", "-0,05"),
    (lambda lang: f.number(1234567, 0, lang), "1.234.567", "1.234.567"),
    (lambda lang: f.number(None, 1, lang) + f.number(NAN, 1, lang), "––", "––"),
    (lambda lang: f.count_text(12345, lang), "12.345", "12.345"),
    (lambda lang: f.count_text("<5", lang), "<5", "<5"),
    (lambda lang: f.count_text(None, lang), "–", "–"),
    (lambda lang: f.percent(0.125, 1, lang), "12,5 %", "12,5%"),
    (lambda lang: f.percent(0.5, 0, lang), "50 %", "50%"),
    (lambda lang: f.percent(NAN, 1, lang), "–", "–"),
    (lambda lang: f.value_text(0.125, "proportion", lang), "12,5 %", "12,5%"),
    (lambda lang: f.value_text(6.0, "measure", lang), "6,0 dage", "6,0 days"),
    (lambda lang: f.value_text(6.0, None, lang), "6,0", "6,0"),
    (lambda lang: f.value_text(None, "measure", lang), "–", "–"),
    (lambda lang: f.range_text(0.091, 0.152, "proportion", lang), "9,1–15,2 %", "9,1–15,2%"),
    (lambda lang: f.range_text(2, 5.5, "measure", lang), "2,0–5,5 dage", "2,0–5,5 days"),
    (lambda lang: f.range_text(2, 5.5, None, lang), "2,0–5,5", "2,0–5,5"),
    (lambda lang: f.range_text(None, 0.2, "proportion", lang), "", ""),
    (lambda lang: f.ci_label(lang), "95 % KI", "95% CI"),
    (
        lambda lang: f.interval_text(0.1, 0.2, "proportion", lang),
        "95 % KI 10,0–20,0 %",
        "95% CI 10,0–20,0%",
    ),
    (
        lambda lang: f.interval_text(2, 3, "measure", lang),
        "95 % KI 2,0–3,0 dage",
        "95% CI 2,0–3,0 days",
    ),
    (lambda lang: f.interval_text(0.1, NAN, "proportion", lang), "", ""),
    (lambda lang: f.month_label(MARCH, lang), "marts 2022", "March 2022"),
    (lambda lang: f.month_label(MARCH, lang, short=True), "mar 2022", "Mar 2022"),
    (lambda lang: f.period_label(MARCH, "month", lang), "marts 2022", "March 2022"),
    (lambda lang: f.period_label(dt.date(2022, 4, 1), "quarter", lang), "2. kvt. 2022", "Q2 2022"),
    (lambda lang: f.period_label(MARCH, "year", lang), "2022", "2022"),
    (
        lambda lang: f.window_label(dt.date(2025, 12, 1), dt.date(2026, 11, 1), lang),
        "dec 2025 – nov 2026",
        "Dec 2025 – Nov 2026",
    ),
    (
        lambda lang: f.window_label(dt.date(2024, 1, 1), dt.date(2024, 12, 1), lang),
        "jan – dec 2024",
        "Jan – Dec 2024",
    ),
    (
        lambda lang: f.window_label(dt.date(2019, 1, 1), dt.date(2022, 2, 1), lang, short=False),
        "januar 2019 – februar 2022",
        "January 2019 – February 2022",
    ),
    (lambda lang: f.date_label(dt.date(2022, 3, 5), lang), "05-03-2022", "05-03-2022"),
    (lambda lang: f.input_number(2.5, 2, lang), "2,5", "2.5"),
    (lambda lang: f.input_number(6.0, 2, lang), "6", "6"),
    (lambda lang: f.input_number(1 / 3, 2, lang), "0,33", "0.33"),
    (lambda lang: f.input_number(None, 2, lang), "", ""),
    (lambda lang: f.parse_number("2,5 %") == f.parse_number("2.5") == 2.5, True, True),
    (lambda lang: f.parse_number("  "), None, None),
    (lambda lang: f.plain_number(1234.5, lang), "1.234,5", "1,234.5"),
    (lambda lang: f.plain_number(30.0, lang), "30", "30"),
    (lambda lang: f.plain_number(-0.5, lang), "-0,5", "-0.5"),
    (lambda lang: f.csv_cell(1 / 3, lang), "0,3333333333333333", "0.3333333333333333"),
    (lambda lang: f.csv_cell(12, lang), "12", "12"),
    (lambda lang: f.csv_cell(2.0, lang), "2,0", "2.0"),
    (lambda lang: f.csv_cell(np.float64(0.5), lang), "0,5", "0.5"),
    (lambda lang: f.csv_cell(MARCH, lang), "2022-03-01", "2022-03-01"),
    (lambda lang: f.csv_cell("<5", lang), "<5", "<5"),
    (lambda lang: f.csv_cell(None, lang) + f.csv_cell(NAN, lang), "", ""),
]


@pytest.mark.parametrize(("call", "danish", "english"), CASES)
def test_each_function_gives_the_exact_text_in_both_languages(call, danish, english):
    for lang, expected in (("da", danish), ("en", english)):
        with translation.override(lang):
            assert call(lang) == expected, lang


def test_parse_number_refuses_what_is_not_a_number():
    for text in ("1.000,5", "abc", "2,5,0"):
        with pytest.raises(ValueError):
            f.parse_number(text)


ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "tests", "migrations", "locale", "node_modules", ".git"}
AD_HOC = re.compile(r"""\.replace\(\s*(['"])\.\1\s*,\s*(['"]),\2\s*\)""")


def test_no_decimal_comma_is_made_outside_the_formatting_module():
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED and not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if path.suffix not in (".py", ".html", ".js") or path == Path(f.__file__).resolve():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if AD_HOC.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "use qualityportal.formatting instead:\n" + "\n".join(found)
