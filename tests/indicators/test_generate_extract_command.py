"""The generate_extract management command: a thin wrapper around the synthetic generator."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from indicators.registry.synthetic import COLUMNS, generate_frame


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("generate_extract", *args, stdout=out)
    return out.getvalue()


def test_writes_csv_and_reports_in_danish(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "extract.csv"  # the parent directory is created
    output = _run("--rows", "1500", "--seed", "4", "--out", str(path))
    assert output.startswith(f"Skrev 1.500 rækker til {path} (")
    assert output.rstrip().endswith(" s)")
    written = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(written, generate_frame(1500, seed=4), check_dtype=False)


def test_writes_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "extract.xlsx"
    _run("--rows", "20", "--format", "xlsx", "--out", str(path))
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 21


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "0"], "mindst 1"),
        (["--rows", "-5"], "mindst 1"),
        (["--rows", "1048576", "--format", "xlsx"], "xlsx"),
    ],
)
def test_refuses_bad_row_counts(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "x"
    with pytest.raises(CommandError, match=message):
        _run(*args, "--out", str(path))
    assert not path.exists()


def test_rows_and_out_are_required(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        _run("--out", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError):
        _run("--rows", "10")


def test_start_and_end_choose_the_period(tmp_path: Path) -> None:
    path = tmp_path / "recent.csv"
    _run("--rows", "300", "--seed", "2", "--start", "2024-11-01", "--end", "2026-10-31",
         "--out", str(path))  # fmt: skip
    written = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    expected = generate_frame(300, seed=2, start=dt.date(2024, 11, 1), end=dt.date(2026, 10, 31))
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "1-11-2024"], "ikke en dato"),
        (["--end", "2024-02-30"], "ikke en dato"),
        (["--start", "2024-01-02", "--end", "2024-01-01"], "før --start"),
        (["--start", "2025-01-01"], "før --start"),  # after the default end
    ],
)
def test_refuses_bad_periods(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "x.csv"
    with pytest.raises(CommandError, match=message):
        _run("--rows", "5", *args, "--out", str(path))
    assert not path.exists()
