"""Importing extracts into the database: one transaction, nothing lost, no CPR number kept."""

from __future__ import annotations

import json
import logging
import threading
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import ProtectedError

from departments.models import AuditEvent, Department, Hospital
from indicators.models import Extract, OperationRow, RefusedRow
from indicators.registry.errors import FileRefused
from indicators.registry.importer import import_path, make_current
from indicators.registry.profile_file import shipped
from indicators.registry.synthetic import REGION_OF_HOSPITAL
from tests.indicators.extract_files import CPRS, HEADER, ROWS, SAMPLE, csv_text, with_change

pytestmark = pytest.mark.django_db


def write(tmp_path, text: str | bytes, name: str = "udtraek.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def run_command(*args: str) -> dict:
    out = StringIO()
    call_command("import_extract", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_import_makes_the_extract_current_with_every_valid_row(tmp_path):
    result = run_command(str(SAMPLE))
    assert (result["rows"], result["imported"], result["rejected"]) == (300, 300, 0)
    assert result["errors"] == []
    extract = Extract.objects.get(pk=result["extract"])
    assert extract.is_current and extract.status == "done" and extract.progress == 100
    assert OperationRow.objects.filter(extract=extract).count() == 300
    assert extract.sha256 and extract.file_name == "sample-extract.csv"
    assert str(extract.period_start) == "2023-01-01" or extract.period_start.year == 2023


def test_json_lists_every_refused_row_with_line_column_and_message(tmp_path):
    rows = [*ROWS, dict(ROWS[0], cpr="999"), dict(ROWS[1], opr_dato="x")]
    result = run_command(str(write(tmp_path, csv_text(rows))))
    assert (result["rows"], result["imported"], result["rejected"]) == (5, 3, 2)
    assert [(e["line"], e["column"]) for e in result["errors"]] == [(5, "cpr"), (6, "opr_dato")]
    assert "opr_dato" in result["errors"][1]["message"]
    stored = RefusedRow.objects.filter(extract_id=result["extract"]).order_by("line")
    assert [(r.line, r.column, r.code) for r in stored] == [
        (5, "cpr", "cpr_format"),
        (6, "opr_dato", "date_format"),
    ]


def test_hospitals_and_departments_come_from_the_extract_with_their_regions():
    import_path(SAMPLE)
    assert Department.objects.count() == 14
    koege = Department.objects.get(code="4202200")
    assert koege.name == "Kirurgisk Afdeling; Køge"
    assert koege.hospital.name == "Sjællands Universitetshospital, Køge"
    assert koege.hospital.region.name == "Region Sjælland"
    assert not Hospital.objects.filter(region__isnull=True).exists()


def test_every_demo_hospital_has_its_region_in_the_hospital_table():
    known = Hospital.objects.filter(code__in=REGION_OF_HOSPITAL).select_related("region")
    assert {h.code: h.region.name for h in known} == REGION_OF_HOSPITAL


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        ((HEADER + "\n").encode(), "only a header"),
        (HEADER.replace(";", ",").encode() + b"\n1,2\n", "semicolons"),
        (HEADER.replace("opr_dato;", "").encode() + b"\n", "opr_dato"),
        (bytes(range(256)) * 4, "neither a text file"),
        (b"PK\x03\x04broken", "Excel file cannot be read"),
    ],
)
def test_a_refused_file_changes_nothing_and_says_why(tmp_path, content, message):
    import_path(SAMPLE)
    before = table_counts()
    path = write(tmp_path, content)
    with pytest.raises(CommandError, match=message):
        call_command("import_extract", str(path), "--json", stdout=StringIO())
    assert table_counts() == before
    assert Extract.objects.get(is_current=True).file_name == "sample-extract.csv"


def test_the_command_exits_1_with_one_message_on_stderr(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, timeout=300
    )
    path = write(tmp_path, HEADER + "\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "import_extract", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "overskriftslinje" in result.stderr and "header line" in result.stderr
    assert "Traceback" not in result.stderr


def test_importing_the_same_file_again_changes_nothing_and_says_so():
    first = run_command(str(SAMPLE))
    before = table_counts()
    again = run_command(str(SAMPLE))
    assert again["already_imported"] is True
    assert again["extract"] == first["extract"]
    # Nothing changed but the audit log, which records the attempt.
    after = table_counts()
    assert after.pop("departments.AuditEvent") == before.pop("departments.AuditEvent") + 1
    assert after == before
    assert AuditEvent.objects.latest("pk").detail["already_imported"] is True
    out = StringIO()
    call_command("import_extract", str(SAMPLE), stdout=out)
    assert "allerede indlæst" in out.getvalue()


def test_a_new_extract_replaces_the_current_and_an_old_one_can_be_made_current(tmp_path):
    old = import_path(SAMPLE).extract
    # Far fewer rows of A and B than the sample: forced.
    new = import_path(write(tmp_path, csv_text()), force=True).extract
    old.refresh_from_db()
    assert new.is_current and not old.is_current  # the newest current extract
    assert Extract.objects.filter(is_current=True).count() == 1
    # Earlier extracts keep their rows, so rolling back is instant and exact.
    assert OperationRow.objects.filter(extract=old).count() == 300
    make_current(old, confirmed=True)
    new.refresh_from_db()
    old.refresh_from_db()
    assert old.is_current and not new.is_current


def test_a_failed_load_leaves_the_previous_extract_current(tmp_path, monkeypatch):
    from indicators.registry import importer

    old = import_path(SAMPLE).extract
    before_rows = OperationRow.objects.count()

    def broken_load(*args, **kwargs):
        OperationRow.objects.filter(extract=old).delete()  # part of the work done, then…
        raise importer.DatabaseError("connection lost")

    monkeypatch.setattr(importer, "load_rows", broken_load)
    outcome = import_path(write(tmp_path, csv_text()))
    assert outcome.extract.status == "failed"
    assert "afbrudt" in outcome.extract.message_da and "interrupted" in outcome.extract.message_en
    old.refresh_from_db()
    assert old.is_current
    assert OperationRow.objects.count() == before_rows
    assert not OperationRow.objects.filter(extract=outcome.extract).exists()


def test_no_cpr_number_reaches_any_table_or_log(tmp_path, caplog, postgres):
    caplog.set_level(logging.DEBUG)
    rows = [*ROWS, dict(ROWS[0], cpr="051045-2973", asa="9")]  # a refused row too
    import_path(write(tmp_path, csv_text(rows)))
    import_path(SAMPLE)
    dashed = [f"{c[:6]}-{c[6:]}" for c in CPRS]
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608
            dump = "\n".join(row[0] for row in cursor.fetchall())
            for cpr in CPRS + dashed:
                assert cpr not in dump, f"{cpr} found in {table}"
    for record in caplog.records:
        for cpr in CPRS + dashed:
            assert cpr not in record.getMessage()


def test_sample_cpr_numbers_are_nowhere_in_the_database(postgres):
    import csv

    with SAMPLE.open(encoding="utf-8") as handle:
        cprs = [row["cpr"] for row in csv.DictReader(handle, delimiter=";")]
    import_path(SAMPLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {OperationRow._meta.db_table} t")  # noqa: S608
        dump = "\n".join(row[0] for row in cursor.fetchall())
    assert not [cpr for cpr in cprs if cpr in dump or cpr.replace("-", "") in dump]


def test_the_same_patient_keeps_the_same_pseudonym_across_extracts(tmp_path):
    first = import_path(write(tmp_path, csv_text(), "a.csv")).extract
    second = import_path(write(tmp_path, csv_text(with_change(0, bmi="30,1")), "b.csv")).extract
    pseudonyms = {
        extract.pk: set(
            OperationRow.objects.filter(extract=extract).values_list("pseudonym", flat=True)
        )
        for extract in (first, second)
    }
    assert pseudonyms[first.pk] == pseudonyms[second.pk]


def test_xlsx_extract_imports(tmp_path):
    from indicators.registry import synthetic

    frame = synthetic.generate_frame(200, seed=3)
    synthetic.write_extract(frame, tmp_path / "x.xlsx", fmt="xlsx")
    result = run_command(str(tmp_path / "x.xlsx"))
    assert result["rows"] == 200 and result["imported"] == 200


@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_are_serialised_and_both_accounted_for(tmp_path, postgres):
    files = [
        write(tmp_path, csv_text(), "a.csv"),
        write(tmp_path, csv_text(with_change(0, bmi="31,0")), "b.csv"),
    ]
    outcomes: list = []
    errors: list = []

    def run(path):
        try:
            outcomes.append(import_path(path))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(path,)) for path in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(o.extract.status for o in outcomes) == ["done", "done"]
    assert Extract.objects.filter(is_current=True).count() == 1
    for outcome in outcomes:
        assert OperationRow.objects.filter(extract=outcome.extract).count() == 3


def test_refused_file_error_has_both_languages():
    with pytest.raises(FileRefused) as refused:
        DCCG = shipped("dccg").profile()
        from indicators.registry.reader import read_extract

        read_extract(b"", DCCG)
    assert refused.value.reason.da == "Filen er tom."
    assert refused.value.reason.en == "The file is empty."


def test_a_new_current_extract_is_recomputed_once_it_has_committed(
    tmp_path, eager_tasks, django_capture_on_commit_callbacks
):
    from indicators.models import Computation, Result

    with django_capture_on_commit_callbacks(execute=True):
        extract = import_path(SAMPLE).extract
    computation = Computation.objects.get(extract=extract)
    assert computation.status == "done" and computation.is_current
    assert Result.objects.filter(computation=computation, department__isnull=True).exists()

    newer = import_path(write(tmp_path, csv_text()), force=True).extract
    with django_capture_on_commit_callbacks(execute=True):
        make_current(extract, confirmed=True)
    latest = Computation.objects.filter(extract=extract).latest("pk")
    assert latest.pk != computation.pk and latest.is_current
    assert not Computation.objects.filter(extract=newer, is_current=True).exists()


def _table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s", [name])
        return cursor.fetchone() is not None


def test_an_extracts_rows_are_its_own_partition_and_go_with_it(tmp_path, postgres):
    from indicators.registry.storage import partition_name

    first = import_path(SAMPLE).extract
    second = import_path(write(tmp_path, csv_text())).extract  # held: a few rows of A and B
    first_table = partition_name("registry_dccg", first.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), min(extract_id), max(extract_id) FROM {first_table}")  # noqa: S608
        assert cursor.fetchone() == (first.rows_imported, first.pk, first.pk)
        cursor.execute(
            "SELECT relispartition FROM pg_class WHERE relname = %s",
            [partition_name("registry_dccg", second.pk)],
        )
        assert cursor.fetchone() == (True,)
    # A row's id is its extract and its line.
    for pk, line in OperationRow.objects.filter(extract=second).values_list("pk", "line"):
        assert pk == (second.pk << 32) | line
    # An extract holding no department's current rows can go, and its rows with it.
    second_table = partition_name("registry_dccg", second.pk)
    second.delete()
    assert not _table_exists(second_table)
    assert OperationRow.objects.filter(extract=first).count() == first.rows_imported
    with pytest.raises(ProtectedError):  # not one that holds current rows
        first.delete()


def test_an_import_that_fails_after_loading_leaves_no_table_behind(tmp_path, monkeypatch, postgres):
    from indicators.registry import importer
    from indicators.registry.storage import partition_name

    real_load = importer.load_rows

    def load_then_fail(table, profile, extract_id, validated, department_ids):
        real_load(table, profile, extract_id, validated, department_ids)
        raise importer.DatabaseError("connection lost")

    monkeypatch.setattr(importer, "load_rows", load_then_fail)
    failed = import_path(write(tmp_path, csv_text())).extract
    assert failed.status == "failed"
    assert not _table_exists(partition_name("registry_dccg", failed.pk))
    assert not OperationRow.objects.filter(extract=failed).exists()


def test_rows_are_stored_as_read_extra_columns_with_commas_and_quotes_included(tmp_path):
    from tests.indicators.extract_files import COLUMNS

    note = 'Afd. "Syd", genopereret; se notat'
    rows = [dict(row, kommentar=note if i == 0 else "") for i, row in enumerate(ROWS)]
    extract = import_path(write(tmp_path, csv_text(rows, columns=[*COLUMNS, "kommentar"]))).extract
    stored = list(OperationRow.objects.filter(extract=extract).order_by("line"))
    assert [row.extra for row in stored] == [{"kommentar": note}, None, None]
    first = stored[0]
    assert (first.line, first.department.code, first.procedure_code) == (
        2,
        ROWS[0]["afdeling_kode"],
        ROWS[0]["procedurekode"].upper(),
    )
    assert len(first.pseudonym) == 32 and first.pseudonym not in CPRS
    # And without extra columns (nothing quoted on the way to PostgreSQL) the same values arrive.
    again = import_path(write(tmp_path, csv_text(), "uden.csv")).extract
    plain = OperationRow.objects.filter(extract=again).order_by("line")
    keys = ("line", "pseudonym", "operation_date", "asa", "bmi", "anastomosis", "site")
    assert [tuple(getattr(r, k) for k in keys) for r in plain] == [
        tuple(getattr(r, k) for k in keys) for r in stored
    ]
