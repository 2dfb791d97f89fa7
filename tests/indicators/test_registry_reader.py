"""Reading and validating extracts, without the database: every row imported or refused."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from indicators.registry import reader, synthetic
from indicators.registry.errors import FileRefused
from indicators.registry.profile_file import shipped
from indicators.registry.pseudonym import pseudonymiser
from indicators.registry.reader import read_extract
from indicators.registry.validate import validate
from tests.indicators.extract_files import (
    COLUMNS,
    CPRS,
    HEADER,
    ROWS,
    SAMPLE,
    csv_text,
    with_change,
)

DCCG = shipped("dccg").profile()

PSEUDONYMS = pseudonymiser("test-key")


def check(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    table = read_extract(data, DCCG)
    result = validate(table, DCCG, PSEUDONYMS)
    assert table.rows_read == len(result.rows) + len(result.refused)
    return result


def only_refusal(result):
    assert len(result.refused) == 1, [r.reason for r in result.refused]
    return result.refused[0]


def test_the_sample_extract_is_read_whole():
    result = check(SAMPLE.read_bytes())
    assert len(result.rows) == 300
    assert result.refused == []
    assert result.rows["line"].tolist() == list(range(2, 302))


def test_a_valid_row_becomes_canonical_values():
    result = check(csv_text())
    first = result.rows.iloc[1]
    assert first["line"] == 3
    assert first["department_code"] == "4202200"
    assert first["department_name"] == "Kirurgisk Afdeling; Køge"
    assert str(first["operation_date"])[:10] == "2023-03-31"
    assert first["asa"] == 4 and first["age"] == 86 and first["bmi"] == 21.0
    assert first["anastomosis"] is True and first["anastomotic_leak"] is True
    assert first["clavien_dindo"] == "IIIb"
    assert first["site"] == "rektum" and first["priority"] == "akut" and first["sex"] == "M"
    blank = result.rows.iloc[2]
    assert pd.isna(blank["clavien_dindo"]) and pd.isna(blank["anastomotic_leak"])


# (column, bad value, reason code) — each a rule of extract-format.md.
INVALID = [
    ("cpr", "", "required"),
    ("cpr", "12345", "cpr_format"),
    ("cpr", "05104529731", "cpr_format"),
    ("cpr", "3102451234", "cpr_date"),
    ("cpr", "2902011234", "cpr_date"),  # 1901 and 2001 are not leap years
    ("cpr", "0013451234", "cpr_date"),
    ("sygehus_kode", "", "required"),
    ("sygehus_kode", "663", "code_format"),
    ("afdeling_kode", "", "required"),
    ("afdeling_kode", "66302201", "code_format"),
    ("indl_dato", "", "required"),
    ("indl_dato", "2023-03-21", "date_format"),
    ("opr_dato", "", "required"),
    ("opr_dato", "32-03-2023", "date_format"),
    ("opr_dato", "20-03-2023", "date_order"),  # before admission
    ("udskr_dato", "20-03-2023", "date_order"),  # before operation
    ("udskr_dato", "30-02-2023", "date_format"),
    ("procedurekode", "", "required"),
    ("procedurekode", "KJ GB10", "code_format"),
    ("lokalisation", "colon", "choice"),
    ("prioritet", "planlagt", "choice"),
    ("asa", "0", "integer_range"),
    ("asa", "6", "integer_range"),
    ("asa", "2,5", "integer_range"),
    ("alder", "121", "integer_range"),
    ("alder", "-1", "integer_range"),
    ("koen", "X", "choice"),
    ("bmi", "27,4,1", "decimal_format"),
    ("bmi", "tyk", "decimal_format"),
    ("anastomose", "måske", "choice"),
    ("anastomoselaekage", "2", "choice"),
    ("clavien_dindo", "VI", "choice"),
    ("reoperation_dato", "20-03-2023", "date_order"),
    ("genindl_dato", "26-03-2023", "date_order"),  # before discharge
    ("doed_dato", "01-01-2023", "date_order"),
]


@pytest.mark.parametrize(("column", "value", "code"), INVALID)
def test_each_rule_refuses_the_row_with_line_column_and_reason(column, value, code):
    result = check(csv_text(with_change(0, **{column: value})))
    refusal = only_refusal(result)
    assert (refusal.line, refusal.column, refusal.reason.code) == (2, column, code)
    assert column in refusal.reason.da and column in refusal.reason.en
    assert len(result.rows) == 2


# Values the contract allows, including blanks that mean "unknown".
VALID = [
    ("cpr", "051045-2973"),
    ("cpr", "2902001234"),  # 29 February 2000
    ("sygehus_navn", ""),
    ("afdeling_navn", ""),
    ("udskr_dato", ""),
    ("lokalisation", ""),
    ("prioritet", ""),
    ("asa", ""),
    ("asa", "5"),
    ("alder", "0"),
    ("alder", "120"),
    ("koen", "k"),
    ("bmi", "27"),
    ("anastomose", "1"),
    ("anastomoselaekage", "0"),
    ("clavien_dindo", "iiia"),
    ("reoperation_dato", "21-03-2023"),
    ("doed_dato", "21-03-2023"),
]


@pytest.mark.parametrize(("column", "value"), VALID)
def test_allowed_values_are_imported(column, value):
    result = check(csv_text(with_change(0, **{column: value})))
    assert result.refused == []
    assert len(result.rows) == 3


def test_a_row_with_several_faults_reports_the_first_and_keeps_all():
    result = check(csv_text(with_change(2, asa="9", koen="X", bmi="1,5,0")))
    refusal = only_refusal(result)
    assert refusal.column == "asa"
    assert [d["column"] for d in refusal.details] == ["asa", "koen", "bmi"]


def test_a_duplicate_key_is_refused_naming_the_first_line():
    rows = [*ROWS, dict(ROWS[0], cpr="051045-2973", udskr_dato="28-03-2023")]
    refusal = only_refusal(check(csv_text(rows)))
    assert refusal.line == 5
    assert refusal.reason.code == "duplicate_row"
    assert "linje 2" in refusal.reason.da and "line 2" in refusal.reason.en


def test_two_procedures_on_one_day_are_two_operations():
    rows = [*ROWS, dict(ROWS[0], procedurekode="KJFH10")]
    assert check(csv_text(rows)).refused == []


def test_refused_rows_keep_their_values_but_never_the_cpr_number():
    refusal = only_refusal(check(csv_text(with_change(1, asa="7"))))
    assert refusal.values["asa"] == "7"
    assert "cpr" not in refusal.values
    assert all(cpr not in str(refusal.values) for cpr in CPRS)


def test_pseudonyms_are_keyed_stable_and_never_the_number():
    result = check(csv_text())
    again = check(csv_text(list(reversed(ROWS))))
    assert set(result.rows["pseudonym"]) == set(again.rows["pseudonym"])
    assert all(len(p) == 32 and p not in CPRS for p in result.rows["pseudonym"])
    other_key = validate(read_extract(csv_text().encode(), DCCG), DCCG, pseudonymiser("other"))
    assert set(other_key.rows["pseudonym"]).isdisjoint(result.rows["pseudonym"])
    # The dash form is the same patient.
    dashed = check(csv_text(with_change(0, cpr="051045-2973")))
    assert dashed.rows["pseudonym"].iloc[0] == result.rows["pseudonym"].iloc[0]


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_and_line_endings_keep_danish_letters(encoding, line_ending):
    data = csv_text().replace("\n", line_ending).encode(encoding)
    result = check(data)
    assert result.refused == []
    names = set(result.rows["hospital_name"])
    assert "Sjællands Universitetshospital, Køge" in names
    assert "Sygehus Lillebælt, Vejle" in names
    assert set(result.rows["line"]) == {2, 3, 4}


def test_columns_may_come_in_any_order_and_extra_columns_are_kept():
    columns = [*reversed(COLUMNS), "kommentar"]
    rows = [dict(row, kommentar="OK" if i == 0 else "") for i, row in enumerate(ROWS)]
    result = check(csv_text(rows, columns=columns))
    assert result.refused == []
    assert result.extra_columns == ["kommentar"]
    assert result.rows["extra"].tolist() == [{"kommentar": "OK"}, None, None]


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines():
    rows = with_change(0, afdeling_navn="Kirurgisk\nAfdeling")
    text = csv_text(rows)
    lines = text.splitlines(keepends=True)
    # Insert a blank line after the first record (which spans lines 2-3) and break line 5.
    text = "".join([*lines[:3], "\n", *lines[3:]])
    text += "0510452973;6630;x;6630220\n"
    result = check(text)
    assert result.rows["line"].tolist() == [2, 5, 6]
    assert [(r.line, r.reason.code) for r in result.refused] == [
        (4, "blank_line"),
        (7, "field_count"),
    ]
    assert "4" in result.refused[1].reason.en and "21" in result.refused[1].reason.en


def test_a_quote_inside_an_unquoted_field_is_read_literally():
    text = csv_text(with_change(1, afdeling_navn='Afd. "Syd"'))
    text = text.replace('"Afd. ""Syd"""', 'Afd. "Syd"')
    result = check(text)
    assert result.refused == []
    assert 'Afd. "Syd"' in set(result.rows["department_name"])


WHOLE_FILE = [
    (b"", "empty_file"),
    (b"\n\n", "empty_file"),
    ((HEADER + "\n").encode(), "header_only"),
    (HEADER.replace(";", ",").encode() + b"\n1,2\n", "wrong_delimiter"),
    (HEADER.replace(";procedurekode", "").encode() + b"\n", "missing_columns"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not_text"),
    (b"PK\x03\x04" + b"this is no workbook" * 10, "broken_workbook"),
]


@pytest.mark.parametrize(("data", "code"), WHOLE_FILE)
def test_a_file_that_is_not_this_profile_is_refused_whole(data, code):
    with pytest.raises(FileRefused) as refused:
        read_extract(data, DCCG)
    assert refused.value.reason.code == code
    assert refused.value.reason.da and refused.value.reason.en


def test_missing_columns_are_named():
    data = HEADER.replace(";procedurekode", "").replace("opr_dato;", "").encode() + b"\n"
    with pytest.raises(FileRefused) as refused:
        read_extract(data, DCCG)
    assert "opr_dato, procedurekode" in refused.value.reason.en


def test_xlsx_with_date_cells_reads_like_the_csv(tmp_path):
    frame = synthetic.generate_frame(300, seed=7)
    synthetic.write_extract(frame, tmp_path / "x.xlsx", fmt="xlsx")
    synthetic.write_extract(frame, tmp_path / "x.csv")
    from_xlsx = check((tmp_path / "x.xlsx").read_bytes())
    from_csv = check((tmp_path / "x.csv").read_bytes())
    assert from_xlsx.refused == [] and from_csv.refused == []
    assert from_xlsx.rows.drop(columns="extra").equals(from_csv.rows.drop(columns="extra"))


def test_an_empty_workbook_is_refused(tmp_path):
    import openpyxl

    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(FileRefused) as refused:
        read_extract((tmp_path / "empty.xlsx").read_bytes(), DCCG)
    assert refused.value.reason.code == "empty_file"


def _zip_member_is_corrupt(tmp_path) -> bytes:
    frame = synthetic.generate_frame(5, seed=1)
    synthetic.write_extract(frame, tmp_path / "x.xlsx", fmt="xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(tmp_path / "x.xlsx") as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if "sheet1" in item.filename:
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return buffer.getvalue()


def test_a_workbook_with_a_broken_sheet_is_refused(tmp_path):
    with pytest.raises(FileRefused) as refused:
        read_extract(_zip_member_is_corrupt(tmp_path), DCCG)
    assert refused.value.reason.code == "broken_workbook"


# Fuzzing: whatever the bytes, the reader either refuses the file with a reason or accounts for
# every row; it never raises anything else.
VALID_BYTES = csv_text().encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_reader(data):
    try:
        check(data)
    except FileRefused as refused:
        assert refused.reason.code


def mutated_files(*pieces: bytes):
    """The valid file with up to eight places each replaced by one of ``pieces``."""
    edits = st.tuples(
        st.integers(0, len(VALID_BYTES) - 1), st.sampled_from(pieces), st.integers(0, 3)
    )
    return st.lists(edits, max_size=8).map(_apply_edits)


def _apply_edits(edits) -> bytes:
    data = bytearray(VALID_BYTES)
    for position, insert, delete in edits:
        position = min(position, len(data))
        data[position : position + delete] = insert
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files(b";", b'"', b"\n", b"\r\n", b"", b"x", b"\xe6", b"\x00", b"-"))
def test_mutated_valid_files_are_always_accounted_for(data):
    try:
        result = check(data)
    except FileRefused:
        return
    lines = [int(x) for x in result.rows["line"]] + [r.line for r in result.refused]
    assert len(lines) == len(set(lines)), "a line was counted twice"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(COLUMNS), st.text(max_size=12)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2),
)
def test_any_cell_value_is_either_imported_or_refused_with_its_column(changes, index):
    try:
        result = check(csv_text(with_change(index, **dict(changes))))
    except FileRefused as refused:
        # Only a file full of control characters is taken for binary as a whole.
        assert refused.reason.code == "not_text"
        return
    for refusal in result.refused:
        assert refusal.reason.da and refusal.reason.en
    assert np.all(result.rows["line"].to_numpy() >= 2)


@pytest.mark.parametrize("key", ["k", "test-key", "x" * 100])
def test_pseudonyms_are_standard_hmac_sha256(key):
    import hashlib
    import hmac

    expected = hmac.new(key.encode(), b"0510452973", hashlib.sha256).hexdigest()[:32]
    assert pseudonymiser(key)(np.array(["0510452973"], dtype=object))[0] == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files(b";", b'"', b'""', b"\n", b"\r\n", b"\n\n", b"", b"x", b"\xe6"))
def test_the_fast_reader_agrees_with_the_exact_record_by_record_reader(data):
    """Arrow's reader and the byte scan give the same rows, lines and refusals as Python's csv
    module reading record by record (the reference, and the road for irregular quoting)."""
    # A lone carriage return is a line break to the csv module but not to the scan; which one a
    # person would count is a matter of taste, so such files are left out here.
    assume(data.count(b"\r") == data.count(b"\r\n"))
    try:
        fast = read_extract(data, DCCG)
    except FileRefused:
        return
    exact = reader._read_csv_slowly(data, ";", fast.header)
    assert fast.lines.tolist() == exact.lines.tolist()
    assert [(line, r.code) for line, _, r in fast.refused] == [
        (line, r.code) for line, _, r in exact.refused
    ]
    assert fast.cells.to_pylist() == exact.cells.to_pylist()
    assert fast.rows_read == exact.rows_read


def test_a_million_numbers_and_one_number_get_the_same_pseudonym():
    numbers = ["0510452973", "1402551342", "0510452973", "3107523684"]
    digits = np.frombuffer("".join(numbers).encode(), dtype=np.uint8).reshape(-1, 10)
    assert PSEUDONYMS.of_digits(digits).to_pylist() == list(PSEUDONYMS(np.array(numbers)))
    assert PSEUDONYMS.of_digits(digits[:0]).to_pylist() == []


@pytest.mark.parametrize("quotes", [0, 3, 250_001])  # none, a few, and more than worth a loop
def test_quote_positions_are_found_however_many_there_are(quotes):
    data = b'a;"b";c\n' + b'x"' * quotes
    raw = np.frombuffer(data, dtype=np.uint8)
    expected = np.flatnonzero(raw == ord('"'))
    assert reader._quote_positions(data, raw).tolist() == expected.tolist()
