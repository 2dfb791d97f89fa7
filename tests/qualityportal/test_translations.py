"""Both languages are complete: every Danish text of the portal has its English translation."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"


def po_entries() -> dict[str, str]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""\n"Project' not in block:
            entries[f"FUZZY: {block}"] = ""
        match = re.search(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', block + "\n", re.M)
        if not match:
            continue
        msgid, msgstr = (
            "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', part)) for part in match.groups()
        )
        if msgid:
            entries[msgid] = msgstr
    return entries


def test_every_text_has_an_english_translation():
    untranslated = [msgid for msgid, msgstr in po_entries().items() if not msgstr]
    assert untranslated == []


def test_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = [
        msgid
        for msgid, msgstr in po_entries().items()
        if "\\" not in msgid and catalogue.gettext(msgid) != msgstr
    ]
    assert stale == [], "run `make messages` to recompile locale/"


def test_allauths_pages_speak_the_portals_danish():
    """allauth's own Danish says "password" and "email"; the portal says adgangskode, e-mail."""
    from django.utils import translation

    danish = Path(__file__).resolve().parents[2] / "locale" / "da" / "LC_MESSAGES"
    assert (danish / "django.mo").exists(), "run `make messages` to compile locale/da"
    ours = {
        "Change Password": "Skift adgangskode",
        "Email Addresses": "E-mailadresser",
        "Two-Factor Authentication": "Tofaktorgodkendelse",
    }
    with translation.override("da"):
        assert {text: translation.gettext(text) for text in ours} == ours
