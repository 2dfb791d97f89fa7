"""NCSP procedure codes in words: the shipped code table and its look-up."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from indicators.registry import ncsp, synthetic
from indicators.registry.ncsp import procedure_label, procedure_text

ROOT = Path(__file__).resolve().parents[2]


def table() -> list[dict[str, str]]:
    with ncsp.DATA.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        assert reader.fieldnames == ["code", "text_da", "text_en"]
        return list(reader)


def test_the_table_is_well_formed() -> None:
    rows = table()
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)) >= 15
    for row in rows:
        # An NCSP code, K + three letters + two digits, or a Danish sub-code with a letter more.
        assert re.fullmatch(r"K[A-Z]{3}\d{2}[A-Z]?", row["code"]), row
        for language in ("text_da", "text_en"):
            text = row[language]
            assert text and text == text.strip() and text[0].isupper(), row
    assert "æ" in procedure_text("KJFB20", "da")  # read as UTF-8, not garbled
    assert ncsp.DATA.is_relative_to(ROOT / "indicators")  # shipped inside the source tree


def test_every_code_the_generator_produces_has_a_text_in_both_languages() -> None:
    produced = set(synthetic._PROCEDURES)
    produced |= set(synthetic.generate_frame(5_000, seed=3)["procedurekode"])
    for code in produced:
        da, en = procedure_text(code, "da"), procedure_text(code, "en")
        assert da and en and da != en, code


@pytest.mark.parametrize(
    ("code", "language", "text"),
    [
        ("KJFB30", "da", "Højresidig hemikolektomi"),
        ("KJFB30", "en", "Right hemicolectomy"),
        ("KJFB20", "da", "Ileocækal resektion"),
        ("KJFB43", "en", "Left hemicolectomy"),
        ("KJFB46", "da", "Resektion af colon sigmoideum"),
        ("KJGB00", "da", "Resektion af endetarm"),
        ("KJGB10", "da", "Resektion af endetarm med kolostomi"),
        ("KJFB30A", "da", "Udvidet højresidig hemikolektomi"),
        ("kjfb30", "da", "Højresidig hemikolektomi"),  # any case
        (" KJFB30 ", "en", "Right hemicolectomy"),  # surrounding spaces
        ("KJFB30", "en-gb", "Right hemicolectomy"),
        ("KJFB30", "", "Højresidig hemikolektomi"),  # Danish unless English is asked for
    ],
)
def test_known_codes(code: str, language: str, text: str) -> None:
    assert procedure_text(code, language) == text


@pytest.mark.parametrize("code", ["KJFB99", "KJGB30", "KJFB3", "KJFB30B", "ABC", "", None])
def test_an_unknown_code_has_no_text(code: str | None) -> None:
    assert procedure_text(code, "da") is None
    assert procedure_text(code, "en") is None


def test_a_label_is_the_code_and_its_text_or_the_code_alone() -> None:
    assert procedure_label("KJFB30", "da") == "KJFB30 Højresidig hemikolektomi"
    assert procedure_label("KJFB30", "en") == "KJFB30 Right hemicolectomy"
    assert procedure_label("KJGB30", "da") == "KJGB30"
    assert procedure_label(None, "da") == ""


def test_the_look_up_needs_no_django() -> None:
    code = "import sys, indicators.registry.ncsp as n; n.procedure_text('KJFB20'); "
    code += "assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
