"""Workbooks are read as they stream, in bounded memory; one that Excel could not have written is
refused whole with one clear message, and nothing changes."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from indicators.models import Extract
from indicators.registry import reader
from indicators.registry.errors import FileRefused
from indicators.registry.profile_file import shipped
from tests.indicators.extract_files import COLUMNS, ROWS

pytestmark = pytest.mark.django_db


def workbook(rows: list[list], path=None) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    if path is not None:
        path.write_bytes(out.getvalue())
    return out.getvalue()


def stretched(data: bytes, placeholder: str, length: int) -> bytes:
    """The workbook with ``placeholder`` made ``length`` characters long in its XML: openpyxl
    cuts cells to Excel's limit when it writes, a hand-made file need not."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            content = content.replace(placeholder.encode(), b"z" * length)
            target.writestr(item, content)
    return out.getvalue()


def valid_rows() -> list[list]:
    return [COLUMNS] + [[row[c] for c in COLUMNS] for row in ROWS]


def test_a_streamed_workbook_reads_as_before():
    table = reader.read_extract(
        workbook(valid_rows() + [[None] * 3] * 5), shipped("dccg").profile()
    )
    assert table.rows_read == 3 and list(table.lines) == [2, 3, 4]


def test_a_cell_longer_than_excel_allows_refuses_the_whole_file(tmp_path):
    rows = valid_rows()
    rows[2] = list(rows[2])
    rows[2][4] = "PLADSHOLDER"  # afdeling_navn
    path = tmp_path / "lang.xlsx"
    path.write_bytes(stretched(workbook(rows), "PLADSHOLDER", 40_000))
    with pytest.raises(CommandError) as refused:
        call_command("import_extract", str(path))
    assert "flere end 32767 tegn" in str(refused.value)
    assert "longer than 32767 characters" in str(refused.value)
    assert not Extract.objects.exists()


def test_a_workbook_that_unpacks_far_beyond_the_upload_limit_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 200_000
    rows = valid_rows() + [["y" * 30_000] * 3 for _ in range(40)]  # packs small, unpacks big
    data = workbook(rows)
    assert len(data) < settings.UPLOAD_MAX_BYTES
    with pytest.raises(FileRefused) as refused:
        reader.read_extract(data, shipped("dccg").profile())
    assert refused.value.reason.code == "workbook_too_large"


def test_the_workbook_bomb_is_refused_under_a_memory_cap(tmp_path):
    """1.4 MB of 100 KB cells took the worker to 6.9 GB; now it is refused at the first cell, in
    a process whose peak memory stays far below 1 GiB."""
    path = tmp_path / "bomb.xlsx"
    bomb = valid_rows() + [[f"BOMBE{i}X" for i in range(21)] for _ in range(60)]
    data = workbook(bomb)
    for i in range(21):
        data = stretched(data, f"BOMBE{i}X", 100_000)
    path.write_bytes(data)
    assert len(data) < 2 * 1024 * 1024
    script = textwrap.dedent(
        f"""
        import resource, django, os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualityportal.settings")
        django.setup()
        from indicators.registry import reader
        from indicators.registry.errors import FileRefused
        from indicators.registry.profile_file import shipped
        data = open({str(path)!r}, "rb").read()
        try:
            reader.read_extract(data, shipped("dccg").profile())
            print("READ")
        except FileRefused as refused:
            print(refused.reason.code)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    code, peak_kib = done.stdout.split()
    assert code == "workbook_cell_too_long"
    assert int(peak_kib) < 1024 * 1024  # KiB: under 1 GiB
