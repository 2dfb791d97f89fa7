"""Why a file or a row was refused, in words a quality coordinator understands, in both languages.

Messages are rendered in Danish and English when the import runs and both are stored, so a
report reads the same later whichever language the reader has chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

# code: (Danish, English); placeholders are filled with str.format.
REASONS: dict[str, tuple[str, str]] = {
    # Whole-file refusals.
    "empty_file": ("Filen er tom.", "The file is empty."),
    "header_only": (
        "Filen har kun en overskriftslinje og ingen rækker.",
        "The file has only a header line and no rows.",
    ),
    "not_text": (
        "Filen er hverken en tekstfil (CSV) eller en Excel-projektmappe (.xlsx).",
        "The file is neither a text file (CSV) nor an Excel workbook (.xlsx).",
    ),
    "broken_workbook": (
        "Excel-filen kan ikke læses: {detail}",
        "The Excel file cannot be read: {detail}",
    ),
    "workbook_too_large": (
        "Excel-filen fylder {size} MB udpakket: mere end en projektmappe med et udtræk kan. "
        "Den er ikke indlæst.",
        "The Excel file unpacks to {size} MB: more than a workbook with an extract can. It was "
        "not imported.",
    ),
    "workbook_too_many_rows": (
        "Excel-filen har flere end {limit} rækker, som Excel selv kan have. Den er ikke indlæst.",
        "The Excel file has more than {limit} rows, which Excel itself cannot hold. It was not "
        "imported.",
    ),
    "workbook_cell_too_long": (
        "Excel-filen har en celle med flere end {limit} tegn, som Excel selv kan have. Den er "
        "ikke indlæst.",
        "The Excel file has a cell longer than {limit} characters, which Excel itself cannot "
        "hold. It was not imported.",
    ),
    "wrong_delimiter": (
        "Overskriftslinjen er ikke adskilt med semikolon (;). Fandt: {found}",
        "The header line is not separated by semicolons (;). Found: {found}",
    ),
    "missing_columns": (
        "Filen mangler de påkrævede kolonner: {columns}",
        "The file lacks the required columns: {columns}",
    ),
    "duplicate_columns": (
        "Kolonnen {columns} står mere end én gang i overskriften.",
        "The column {columns} appears more than once in the header.",
    ),
    "unreadable": ("Filen kan ikke læses: {detail}", "The file cannot be read: {detail}"),
    "too_large": (
        "Filen er for stor ({size} byte; højst {limit}).",
        "The file is too large ({size} bytes; at most {limit}).",
    ),
    "interrupted": (
        "Indlæsningen blev afbrudt ({detail}); intet blev ændret. Prøv igen.",
        "The import was interrupted ({detail}); nothing was changed. Please try again.",
    ),
    "already_imported": (
        "Filen er allerede indlæst som udtræk nr. {extract}; intet blev ændret.",
        "The file was already imported as extract no. {extract}; nothing was changed.",
    ),
    "no_valid_rows": (
        "Ingen gyldige rækker: udtrækket er ikke gjort aktuelt, og alle afdelinger beholder deres "
        "tal.",
        "No valid rows: the extract was not made current, and every department keeps its numbers.",
    ),
    "held": (
        "Udtrækket ville fjerne mere end halvdelen af rækkerne for {departments}. Det er indlæst, "
        "men ikke gjort aktuelt: se ændringerne og bekræft.",
        "The extract would remove more than half of the rows of {departments}. It is loaded but "
        "not made current: review the changes and confirm.",
    ),
    # Row refusals.
    "field_count": (
        "Rækken har {found} felter, men overskriften har {expected}.",
        "The row has {found} fields but the header has {expected}.",
    ),
    "blank_line": ("Tom linje.", "Empty line."),
    "required": ("{column} skal udfyldes.", "{column} is required."),
    "cpr_format": (
        "{column} skal være 10 cifre (DDMMÅÅXXXX eller DDMMÅÅ-XXXX).",
        "{column} must be 10 digits (DDMMYYXXXX or DDMMYY-XXXX).",
    ),
    "cpr_date": (
        "{column}: de første seks cifre er ikke en gyldig dato (DDMMÅÅ).",
        "{column}: the first six digits are not a valid date (DDMMYY).",
    ),
    "code_format": (
        "{column} skal være {length} tegn (bogstaver og cifre), ikke «{value}».",
        "{column} must be {length} characters (letters and digits), not «{value}».",
    ),
    "date_format": (
        "{column} skal være en dato som DD-MM-ÅÅÅÅ, ikke «{value}».",
        "{column} must be a date as DD-MM-YYYY, not «{value}».",
    ),
    "date_order": (
        "{column} ({value}) ligger før {other} ({other_value}).",
        "{column} ({value}) is before {other} ({other_value}).",
    ),
    "choice": (
        "{column} skal være en af {choices}, ikke «{value}».",
        "{column} must be one of {choices}, not «{value}».",
    ),
    "integer_range": (
        "{column} skal være et helt tal fra {low} til {high}, ikke «{value}».",
        "{column} must be a whole number from {low} to {high}, not «{value}».",
    ),
    "integer_format": (
        "{column} skal være et helt tal, ikke «{value}».",
        "{column} must be a whole number, not «{value}».",
    ),
    "decimal_format": (
        "{column} skal være et tal med decimalkomma, fx 27,4, ikke «{value}».",
        "{column} must be a number with a decimal comma, e.g. 27,4, not «{value}».",
    ),
    "decimal_range": (
        "{column} skal være et tal fra {low} til {high}, ikke «{value}».",
        "{column} must be a number from {low} to {high}, not «{value}».",
    ),
    "text_too_long": (
        "{column} er længere end {length} tegn.",
        "{column} is longer than {length} characters.",
    ),
    "cpr_elsewhere": (
        "{column} indeholder et CPR-nummer. Kun kolonnen cpr må det; rækken er afvist, og "
        "værdien er ikke gemt.",
        "{column} holds a CPR number. Only the cpr column may; the row is refused and the value "
        "is not kept.",
    ),
    "duplicate_row": (
        "Samme {key_da} som linje {first_line} (rækkens nøgle).",
        "Same {key_en} as line {first_line} (the row's key).",
    ),
}


@dataclass(frozen=True)
class Reason:
    code: str
    da: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "da": self.da, "en": self.en}


def reason(code: str, **params: object) -> Reason:
    da, en = REASONS[code]
    return Reason(code, da.format(**params), en.format(**params))


class FileRefused(Exception):
    """The whole file cannot be read as the profile: nothing is imported."""

    def __init__(self, code: str, **params: object) -> None:
        self.reason = reason(code, **params)
        super().__init__(self.reason.en)
