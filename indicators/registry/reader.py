"""Read an extract file into a table of text cells, each row with its physical line number.

CSV is parsed by Arrow's multithreaded C++ reader into Arrow string columns: no Python object per
cell, which on a million-row file is most of the time a reader spends. The contract must account
for every row, and a CSV reader quietly skips blank records and records with the wrong number of
fields, so unless the file is plainly regular (no quotes, no blank lines, no stray carriage
returns, every record the header's width), a vectorised scan of the raw bytes first finds each
record's physical line and field count: malformed rows are refused with their line, and the rows
the reader returns are matched to their lines. Files whose quoting the scan cannot follow are read
record by record with Python's csv module.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from indicators.registry.errors import FileRefused, reason
from indicators.registry.profiles import Profile
from qualityportal.formatting import csv_cell

XLSX_MAGIC = b"PK\x03\x04"
_NOT_WHITESPACE = re.compile(rb"\S")
_BLOCK = 4 << 20  # bytes per block of Arrow's CSV reader (blocks are parsed in parallel)


@dataclass
class RawTable:
    header: list[str]
    cells: pa.Table  # one string column per header name, well-formed rows only
    lines: np.ndarray  # physical line of each row of ``cells``
    refused: list[tuple[int, str | None, object]]  # (line, column, Reason) of malformed rows
    rows_read: int  # every data row of the file, well-formed or not

    def column(self, name: str) -> pa.Array:
        return self.cells.column(self.header.index(name)).combine_chunks()


def read_extract(data: bytes, profile: Profile) -> RawTable:
    if _NOT_WHITESPACE.search(data) is None:
        raise FileRefused("empty_file")
    if data.startswith(XLSX_MAGIC):
        header, cells, lines = _read_xlsx(data, profile.date_format)
        _check_header(header, profile)
        table = RawTable(header, cells, lines, [], len(lines))
    else:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        table = _read_csv(data, profile)
    if table.rows_read == 0:
        raise FileRefused("header_only")
    return table


def _check_not_binary(head: bytes) -> None:
    if b"\x00" in head:
        raise FileRefused("not_text")
    text = head.decode("utf-8", errors="ignore") or head.decode("cp1252", errors="ignore")
    # A stray control character may be a typing slip in one cell; many of them mean binary.
    if sum(ch < " " and ch not in "\t\r\n" for ch in text) > max(2, len(text) // 200):
        raise FileRefused("not_text")


def _as_utf8(data: bytes) -> bytes:
    """Windows-1252, as Danish systems often export, re-encoded; its unmapped bytes (0x81, 0x8d,
    …) mean the file is binary rather than text in another encoding."""
    try:
        return data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused("not_text") from None


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


def _read_csv(data: bytes, profile: Profile) -> RawTable:
    _check_not_binary(data[:65536])
    delimiter = profile.delimiter
    first_newline = data.find(b"\n")
    header_bytes = (data if first_newline < 0 else data[:first_newline]).rstrip(b"\r")
    try:
        header_text = header_bytes.decode("utf-8")
    except UnicodeDecodeError:
        # A file has one encoding: a header in Windows-1252 means the whole file is.
        data = _as_utf8(data)
        header_text = _as_utf8(header_bytes).decode("utf-8")
    header = _parse_header(header_text, delimiter)
    if not any(header):
        raise FileRefused("empty_file")
    _check_header(header, profile)
    if not _quotes_are_regular(data, delimiter):
        return _read_csv_slowly(data, delimiter, header)
    try:
        return _read_csv_fast(data, delimiter, header)
    except _NotUtf8:
        return _read_csv_fast(_as_utf8(data), delimiter, header)


class _NotUtf8(Exception):
    pass


def _arrow_csv(
    data: bytes, delimiter: str, width: int, *, quoted_newlines=False, skip_malformed=False
) -> pa.Table:
    """Every field as a string column named c0, c1, …; raises ArrowInvalid on a malformed row
    unless told to skip it. Without ``quoted_newlines`` the file is split into blocks at any
    newline, which is faster and right unless a quoted field holds a newline."""
    names = [f"c{i}" for i in range(width)]
    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=quoted_newlines,
            ignore_empty_lines=True,
            invalid_row_handler=_skip if skip_malformed else None,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _skip(row) -> str:
    return "skip"


def _one_record_per_line(data: bytes, rows: int) -> bool:
    """Whether data row k is on line k + 2: every line after the header gave one row.

    A lone carriage return may end a row, so it may not occur; then a blank line, which gives no
    row, or a quoted newline, which joins two lines into one row, leaves a line without a row.
    """
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return rows == lines - 1


def _read_csv_fast(data: bytes, delimiter: str, header: list[str]) -> RawTable:
    expected = len(header)
    try:
        cells = _arrow_csv(data, delimiter, expected)
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower():
            raise _NotUtf8 from None
        cells = None  # a malformed row: the scan below finds it
    if cells is not None and _one_record_per_line(data, cells.num_rows):
        lines = np.arange(2, cells.num_rows + 2, dtype=np.int64)
        return RawTable(header, cells.rename_columns(header), lines, [], cells.num_rows)

    try:
        data.decode("utf-8")  # the reader hands malformed rows over as text
    except UnicodeDecodeError:
        raise _NotUtf8 from None
    start_lines, fields, blank = _record_structure(data, delimiter)
    # A trailing empty record (the file ends with a newline) is not a row.
    if len(blank) > 1 and blank[-1] and data.endswith(b"\n"):
        start_lines, fields, blank = start_lines[:-1], fields[:-1], blank[:-1]
    lines, fields, blank = start_lines[1:], fields[1:], blank[1:]
    good = (fields == expected) & ~blank
    try:
        cells = _arrow_csv(data, delimiter, expected, quoted_newlines=True, skip_malformed=True)
    except pa.ArrowInvalid:
        return _read_csv_slowly(data, delimiter, header)
    if cells.num_rows != int(good.sum()):
        # The reader saw the records differently from the scan: take the exact, slower road.
        return _read_csv_slowly(data, delimiter, header)
    refused = [(int(line), None, reason("blank_line")) for line in lines[blank]]
    for line, found in zip(lines[~good & ~blank], fields[~good & ~blank], strict=True):
        refused.append((int(line), None, reason("field_count", found=found, expected=expected)))
    cells = cells.rename_columns(header)
    return RawTable(header, cells, lines[good], sorted(refused, key=_first), len(lines))


def _first(item: tuple) -> int:
    return item[0]


def _quotes_are_regular(data: bytes, delimiter: str) -> bool:
    """Every quoted field opens at the start of a field and closes at its end, and a quote
    inside it is doubled (RFC 4180).

    The byte scan counts quotes to know what is inside a field, which is only right for such
    files; a quote in the middle of an unquoted field (``Afd. "Syd"``) is read literally by CSV
    readers but would flip the count. Quote k (from 0) opens a field when k is even and closes
    it when k is odd; a doubled quote is a close directly followed by an open.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = _quote_positions(data, raw)
    if len(quotes) == 0:
        return True
    if len(quotes) % 2:
        return False  # a field opened and never closed
    boundary = np.frombuffer(f"{delimiter}\r\n".encode(), dtype=np.uint8)
    opens, closes = quotes[0::2], quotes[1::2]
    after_close = np.minimum(closes + 1, len(raw) - 1)
    closes_field = (closes == len(raw) - 1) | np.isin(raw[after_close], boundary)
    doubled = np.zeros(len(closes), dtype=bool)
    doubled[:-1] = opens[1:] == closes[:-1] + 1  # close k, then open k + 1 right after it
    opens_field = np.isin(raw[np.maximum(opens - 1, 0)], boundary) | (opens == 0)
    opens_field[1:] |= doubled[:-1]
    return bool((closes_field | doubled).all() and opens_field.all())


def _quote_positions(data: bytes, raw: np.ndarray) -> np.ndarray:
    """Where the quote characters are. Most extracts quote a few fields (a name with the
    delimiter in it): ``bytes.find`` jumps between them faster than numpy compares every byte,
    until there turn out to be many."""
    found: list[int] = []
    position = data.find(b'"')
    while position >= 0:
        found.append(position)
        if len(found) > 200_000:
            return np.flatnonzero(raw == ord('"'))
        position = data.find(b'"', position + 1)
    return np.array(found, dtype=np.int64)


def _read_csv_slowly(data: bytes, delimiter: str, header: list[str]) -> RawTable:
    """Python's csv reader, record by record: exact line numbers for any file Arrow balks at."""
    import csv

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _as_utf8(data).decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    expected = len(header)
    records, lines, refused = [], [], []
    # The empty last line of a file that ends with a blank line is not a row (as in the scan).
    last_line = len(text.splitlines()) if text.endswith(("\n\n", "\n\r\n")) else 0
    try:
        next(reader)
        previous_end = reader.line_num
        for row in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not row and line == last_line:
                continue
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
    rows_read = len(records) + len(refused)
    return RawTable(header, _string_table(header, records), np.array(lines, np.int64), refused,
                    rows_read)  # fmt: skip


def _string_table(header: list[str], records: list[list[str]]) -> pa.Table:
    columns = list(zip(*records, strict=True)) if records else [()] * len(header)
    arrays = [pa.array(column, type=pa.string()) for column in columns]
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(header))]).rename_columns(
        header
    )


def _parse_header(header_text: str, delimiter: str) -> list[str]:
    import csv

    try:
        header = next(csv.reader([header_text], delimiter=delimiter), [])
    except csv.Error as exc:
        raise FileRefused("unreadable", detail=str(exc)) from None
    return [name.strip().lower() for name in header]


def _check_header(header: list[str], profile: Profile) -> None:
    """Refuse a header the profile cannot read; name each column as the profile does.

    Headers are read case-insensitively (an export may write ``CPR`` for ``cpr``): a name that
    is a profile column's, whatever its case, becomes exactly that column's name (in place);
    any other is kept lower-cased, as extra data."""
    names = {column.name.lower(): column.name for column in profile.columns}
    header[:] = [names.get(name.lower(), name) for name in header]
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


# What Excel itself can write: longer cells or more rows are not a workbook Excel made.
XLSX_MAX_CELL = 32_767
XLSX_MAX_ROWS = 1_048_576
# A workbook's XML may be at most this many times the upload limit once unzipped: an extract of
# that size packs to well under the limit, and a zip bomb packs to far less.
XLSX_MAX_UNZIPPED_RATIO = 4
_CHUNK_ROWS = 50_000


def _upload_limit() -> int:
    from django.conf import settings

    return int(getattr(settings, "UPLOAD_MAX_BYTES", 512 * 1024 * 1024))


def _read_xlsx(
    data: bytes, date_format: str = "%d-%m-%Y"
) -> tuple[list[str], pa.Table, np.ndarray]:
    """The first worksheet, read as it streams (openpyxl's read-only mode) into Arrow in chunks:
    memory holds one chunk of Python values at a time, whatever the size of the file."""
    import zipfile

    import openpyxl

    try:
        unzipped = sum(item.file_size for item in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except Exception as exc:  # not a zip at all
        raise FileRefused("broken_workbook", detail=type(exc).__name__) from None
    if unzipped > XLSX_MAX_UNZIPPED_RATIO * _upload_limit():
        raise FileRefused("workbook_too_large", size=unzipped // (1024 * 1024))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return _stream_sheet(workbook.worksheets[0].iter_rows(values_only=True), date_format)
        finally:
            workbook.close()
    except FileRefused:
        raise
    except Exception as exc:  # openpyxl raises whatever its zip and XML layers raise
        raise FileRefused("broken_workbook", detail=type(exc).__name__) from None


def _stream_sheet(rows, date_format: str = "%d-%m-%Y") -> tuple[list[str], pa.Table, np.ndarray]:
    first = next(rows, None)
    if first is None or all(cell is None for cell in first):
        raise FileRefused("empty_file")
    header = [_xlsx_cell(cell).strip().lower() for cell in first]
    width = len(header)
    chunks: list[pa.Table] = []
    body: list[list[str]] = []
    lines: list[int] = []
    blank: list[tuple[int, list[str]]] = []  # empty rows, kept only if data follows them
    for number, row in enumerate(rows, start=2):
        if number > XLSX_MAX_ROWS:
            raise FileRefused("workbook_too_many_rows", limit=XLSX_MAX_ROWS)
        cells = [_xlsx_cell(cell, date_format) for cell in row[:width]]
        cells += [""] * (width - len(cells))
        if all(cell.strip() == "" for cell in cells):
            # Excel keeps formatting on empty rows below the data; those are not rows.
            blank.append((number, cells))
            continue
        for number_before, empty in blank:
            body.append(empty)
            lines.append(number_before)
        blank.clear()
        body.append(cells)
        lines.append(number)
        if len(body) >= _CHUNK_ROWS:
            chunks.append(_string_table(header, body))
            body = []
    chunks.append(_string_table(header, body))
    return header, pa.concat_tables(chunks), np.array(lines, dtype=np.int64)


def _xlsx_cell(cell: object, date_format: str = "%d-%m-%Y") -> str:
    text = _xlsx_text(cell, date_format)
    if len(text) > XLSX_MAX_CELL:
        raise FileRefused("workbook_cell_too_long", limit=XLSX_MAX_CELL)
    return text


def _xlsx_text(cell: object, date_format: str = "%d-%m-%Y") -> str:
    """A cell as the CSV export would have written it (dates as the profile writes them,
    decimal comma)."""
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime | dt.date):
        return cell.strftime(date_format)
    if isinstance(cell, bool):
        return "1" if cell else "0"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else csv_cell(cell, "da")
    return str(cell)
