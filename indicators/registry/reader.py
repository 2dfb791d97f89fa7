"""Read an extract file into a table of text cells, each row with its physical line number.

CSV is parsed by pandas' C parser. pandas alone is too forgiving for a contract that must account
for every row (a row with a missing or an extra field is padded, shifted or dropped), so a
vectorised scan of the raw bytes first finds each record's physical line and field count; rows
whose field count is wrong are refused with their line, and only well-formed rows reach pandas.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.registry.errors import FileRefused, reason
from indicators.registry.profiles import Profile

XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class RawTable:
    header: list[str]
    cells: pd.DataFrame  # one str column per header name, well-formed rows only
    lines: np.ndarray  # physical line of each row of ``cells``
    refused: list[tuple[int, str | None, object]]  # (line, column, Reason) of malformed rows
    rows_read: int  # every data row of the file, well-formed or not


def read_extract(data: bytes, profile: Profile) -> RawTable:
    if not data or not data.strip():
        raise FileRefused("empty_file")
    if data.startswith(XLSX_MAGIC):
        header, cells, lines = _read_xlsx(data)
        table = RawTable(header, cells, lines, [], len(cells))
    else:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        table = _read_csv(data, _decode(data), profile)
    _check_header(table.header, profile)
    if table.rows_read == 0:
        raise FileRefused("header_only")
    return table


def _decode(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise FileRefused("not_text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Danish systems often export Windows-1252. Its unmapped bytes (0x81, 0x8d, …) mean the
        # file is binary rather than text in another encoding.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileRefused("not_text") from None
    # A stray control character may be a typing slip in one cell; many of them mean binary.
    head = text[:65536]
    if sum(ch < " " and ch not in "\t\r\n" for ch in head) > max(2, len(head) // 200):
        raise FileRefused("not_text")
    return text


def _record_structure(data: bytes, delimiter: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start line, field count and blankness of each record, honouring quoted fields.

    A delimiter or a newline inside quotes belongs to a field. Whether a byte is inside quotes is
    the parity of the quote characters before it (an escaped quote "" adds two), which numpy
    computes for the whole file at once. It reads the raw bytes: the delimiter, the quote and the
    newline are ASCII, which neither UTF-8 nor Windows-1252 uses inside another character.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    is_quote = raw == ord('"')
    newline = np.flatnonzero(raw == ord("\n"))
    delims = np.flatnonzero(raw == ord(delimiter))
    if is_quote.any():
        # uint8 wraps at 256, which keeps the parity: no int64 array of the file's length.
        inside = (np.cumsum(is_quote, dtype=np.uint8) & 1).astype(bool)
        embedded = newline[inside[newline]]
        newline = newline[~inside[newline]]
        delims = delims[~inside[delims]]
    else:
        embedded = newline[:0]
    ends = newline
    if len(ends) == 0 or ends[-1] != len(raw) - 1:
        ends = np.append(ends, len(raw))  # the last record need not end with a newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    # Record k starts on physical line k + 1, plus the quoted newlines of the records before it.
    start_lines = np.arange(1, len(starts) + 1) + np.searchsorted(embedded, starts)
    fields = np.diff(np.searchsorted(delims, ends), prepend=0) + 1
    last_byte = raw[np.clip(ends - 1, 0, max(len(raw) - 1, 0))]
    content = ends - starts - (last_byte == ord("\r"))
    return start_lines, fields, content <= 0


def _read_csv(data: bytes, text: str, profile: Profile) -> RawTable:
    delimiter = profile.delimiter
    first_newline = text.find("\n")
    header_text = (text if first_newline < 0 else text[:first_newline]).rstrip("\r")
    header = _parse_header(header_text, delimiter)
    if not any(header):
        raise FileRefused("empty_file")
    if not _quotes_are_regular(data, delimiter):
        return _read_csv_slowly(text, delimiter, header)

    start_lines, fields, blank = _record_structure(data, delimiter)
    # A trailing empty record (the file ends with a newline) is not a row.
    if len(blank) > 1 and blank[-1] and data.endswith(b"\n"):
        start_lines, fields, blank = start_lines[:-1], fields[:-1], blank[:-1]
    expected = len(header)
    lines, fields, blank = start_lines[1:], fields[1:], blank[1:]
    good = (fields == expected) & ~blank

    try:
        with warnings.catch_warnings():
            # Rows of the wrong length are expected here; the scan above has accounted for them.
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            cells = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                skiprows=1,
                names=list(range(expected)),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=True,
                index_col=False,
                on_bad_lines="skip",
                engine="c",
                quotechar='"',
                doublequote=True,
            )
    except (pd.errors.ParserError, ValueError):
        return _read_csv_slowly(text, delimiter, header)
    # pandas skips blank records and those with too many fields, and pads those with too few.
    parsed_by_pandas = ~blank & (fields <= expected)
    if len(cells) != int(parsed_by_pandas.sum()):
        # pandas read the records differently from the scan: take the exact, slower road.
        return _read_csv_slowly(text, delimiter, header)
    cells.columns = header
    if not good.all():
        cells = cells[good[parsed_by_pandas]].reset_index(drop=True)

    refused = [(int(line), None, reason("blank_line")) for line in lines[blank]]
    for line, found in zip(lines[~good & ~blank], fields[~good & ~blank], strict=True):
        refused.append((int(line), None, reason("field_count", found=found, expected=expected)))
    return RawTable(header, cells, lines[good], sorted(refused, key=_first), len(lines))


def _first(item: tuple) -> int:
    return item[0]


def _quotes_are_regular(data: bytes, delimiter: str) -> bool:
    """Every quote opens a field, closes one, or is a doubled quote inside one (RFC 4180).

    The byte scan below is only right for such files; a quote in the middle of an unquoted
    field (``Afd. "Syd"``) is read literally by CSV readers but would flip the scan's parity.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    if len(quotes) == 0:
        return True
    boundary = np.frombuffer(f"{delimiter}\r\n".encode(), dtype=np.uint8)
    before = np.where(quotes > 0, raw[np.maximum(quotes - 1, 0)], ord("\n"))
    after = np.where(quotes < len(raw) - 1, raw[np.minimum(quotes + 1, len(raw) - 1)], ord("\n"))
    regular = np.isin(before, boundary) | np.isin(after, boundary)
    regular |= (before == ord('"')) | (after == ord('"'))
    return bool(regular.all())


def _read_csv_slowly(text: str, delimiter: str, header: list[str]) -> RawTable:
    """Python's csv reader, record by record: exact line numbers for any file pandas balks at."""
    import csv

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    expected = len(header)
    records, lines, refused = [], [], []
    try:
        next(reader)
        previous_end = reader.line_num
        for row in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not row:
                refused.append((line, None, reason("blank_line")))
            elif len(row) != expected:
                found = len(row)
                refused.append((line, None, reason("field_count", found=found, expected=expected)))
            else:
                records.append(row)
                lines.append(line)
    except csv.Error as exc:
        raise FileRefused("unreadable", detail=str(exc)) from None
    cells = pd.DataFrame(records, columns=header, dtype=str)
    rows_read = len(records) + len(refused)
    return RawTable(header, cells, np.array(lines, dtype=np.int64), refused, rows_read)


def _parse_header(header_text: str, delimiter: str) -> list[str]:
    import csv

    try:
        header = next(csv.reader([header_text], delimiter=delimiter), [])
    except csv.Error as exc:
        raise FileRefused("unreadable", detail=str(exc)) from None
    return [name.strip().lower() for name in header]


def _check_header(header: list[str], profile: Profile) -> None:
    if len(header) == 1 and profile.delimiter not in header[0]:
        for other in (",", "\t", "|"):
            if other in header[0]:
                raise FileRefused("wrong_delimiter", found=repr(other))
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            raise FileRefused("duplicate_columns", columns=name)
        seen.add(name)
    missing = [name for name in profile.required_columns if name not in seen]
    if missing:
        if len(header) == 1:
            raise FileRefused("wrong_delimiter", found=repr(header[0][:60]))
        raise FileRefused("missing_columns", columns=", ".join(missing))


def _read_xlsx(data: bytes) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        workbook.close()
    except Exception as exc:  # openpyxl raises whatever its zip and XML layers raise
        raise FileRefused("broken_workbook", detail=type(exc).__name__) from None
    if not rows or all(cell is None for cell in rows[0]):
        raise FileRefused("empty_file")
    header = [("" if cell is None else str(cell)).strip().lower() for cell in rows[0]]
    width = len(header)
    body = []
    lines = []
    # Excel keeps formatting on empty rows below the data; those are not rows of the extract.
    last = len(rows)
    while last > 1 and all(cell is None or str(cell).strip() == "" for cell in rows[last - 1]):
        last -= 1
    for number, row in enumerate(rows[1:last], start=2):
        cells = [_xlsx_text(cell) for cell in row[:width]]
        cells += [""] * (width - len(cells))
        body.append(cells)
        lines.append(number)
    return header, pd.DataFrame(body, columns=header, dtype=str), np.array(lines, dtype=np.int64)


def _xlsx_text(cell: object) -> str:
    """A cell as the CSV export would have written it (dates DD-MM-YYYY, decimal comma)."""
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime | dt.date):
        return cell.strftime("%d-%m-%Y")
    if isinstance(cell, bool):
        return "1" if cell else "0"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell).replace(".", ",")
    return str(cell)
