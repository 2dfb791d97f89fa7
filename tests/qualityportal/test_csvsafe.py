"""Every CSV the portal writes opens in a spreadsheet as data: text never runs as a formula,
and negative numbers are still numbers."""

from __future__ import annotations

import csv
import io

import pytest

from qualityportal import csvsafe

HYPERLINK = '=HYPERLINK("http://x")'


def written(*row) -> list[str]:
    buffer = io.StringIO()
    csvsafe.writer(buffer, delimiter=";").writerow(row)
    return next(csv.reader(io.StringIO(buffer.getvalue()), delimiter=";"))


@pytest.mark.parametrize(
    "text",
    [HYPERLINK, "+1+1", "-1+cmd|' /C calc'!A0", "-2-1", "@SUM(A1:A9)", "\t=1", "\r=1", "-", "="],
)
def test_a_cell_a_spreadsheet_would_evaluate_is_written_as_text(text):
    assert written(text) == ["'" + text]


@pytest.mark.parametrize("number", ["-3", "-0,5", "-0.5", "-1e-05", "3", "0,25"])
def test_numbers_written_as_text_stay_numbers(number):
    assert written(number) == [number]


def test_numbers_none_and_plain_text_pass_unchanged():
    assert written(-3, -0.5, None, "Kirurgisk Afdeling, Køge", "a=b") == [
        "-3",
        "-0.5",
        "",
        "Kirurgisk Afdeling, Køge",
        "a=b",
    ]


def test_writerows_and_a_streamed_writer_are_safe_too():
    class Echo:
        def write(self, value):
            return value

    assert csvsafe.writer(Echo()).writerow([HYPERLINK, -1]) == '"\'=HYPERLINK(""http://x"")",-1\r\n'
    buffer = io.StringIO()
    csvsafe.writer(buffer).writerows([["@x"], ["-7"]])
    assert buffer.getvalue() == "'@x\r\n-7\r\n"
