"""NCSP procedure codes in words, for the patient lists and their exports.

``data/ncsp.csv`` (``code;text_da;text_en``, UTF-8) holds the colorectal resection codes the
DCCG registry asks for. The Danish texts are those of SKS, the Danish edition of NCSP, as RKKP's
code lists for DCCG give them; the English ones are translations of them. A letter after the six
characters is a Danish sub-code of the NCSP code (``KJFB30A``, an extended right
hemicolectomy). Only codes whose text has been checked are listed: any other code is shown as it
is, never with a guessed text.

Free of Django, like the rest of the registry package.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "ncsp.csv"


@cache
def _texts() -> dict[str, dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    return {
        row["code"].strip().upper(): {"da": row["text_da"].strip(), "en": row["text_en"].strip()}
        for row in rows
    }


def procedure_text(code: str | None, language: str = "da") -> str | None:
    """The text of an NCSP procedure code in ``language`` ("en", else Danish); None if unknown.

    The code is read case-insensitively, surrounding spaces ignored.
    """
    if not code:
        return None
    texts = _texts().get(code.strip().upper())
    if texts is None:
        return None
    return texts["en" if language.lower().startswith("en") else "da"]


def procedure_label(code: str | None, language: str = "da") -> str:
    """ "KJFB30 Højresidig hemikolektomi"; an unknown code alone, as it is."""
    code = (code or "").strip()
    text = procedure_text(code, language)
    return f"{code} {text}" if text else code
