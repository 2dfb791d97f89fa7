"""Per-department currency: an extract replaces the current rows of exactly the departments it
holds; an extract with no valid row never becomes current; a large drop and every roll-back wait
for a confirmation (``--force`` on the command line)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from departments.models import AuditEvent, Department, Role
from indicators.models import CurrentRows, Extract, Result
from indicators.registry.importer import ConfirmationNeeded, import_path, make_current
from indicators.services import computations
from tests.departments.people import A, B, person
from tests.indicators.extract_files import ROWS, csv_text

pytestmark = pytest.mark.django_db


def rows_of(code: str, n: int, *, month: int = 3, first: int = 0) -> list[dict]:
    """``n`` valid operations of department ``code`` (A: Køge, B: Vejle), distinct patients."""
    template = ROWS[1] if code == A else ROWS[0]
    return [
        dict(
            template,
            cpr=f"{(i % 28) + 1:02d}0190{first + i:04d}",
            indl_dato=f"02-{month:02d}-2023",
            opr_dato=f"03-{month:02d}-2023",
            udskr_dato=f"09-{month:02d}-2023",
            reoperation_dato="",
            genindl_dato="",
        )
        for i in range(n)
    ]


def write(tmp_path, name: str, rows: list[dict]):
    path = tmp_path / name
    path.write_text(csv_text(rows), encoding="utf-8")
    return path


def current() -> dict[str, tuple[int, int]]:
    return {
        c.department.code: (c.extract_id, c.rows)
        for c in CurrentRows.objects.select_related("department")
    }


def results_of(code: str) -> set[tuple]:
    return set(
        Result.objects.filter(computation__is_current=True, department__code=code).values_list(
            "definition__slug", "period_type", "period_start", "numerator", "denominator"
        )
    )


@pytest.fixture
def both(tmp_path):
    """A full extract of A (10 rows) and B (8 rows), current and computed."""
    extract = import_path(write(tmp_path, "full.csv", rows_of(A, 10) + rows_of(B, 8))).extract
    assert extract.is_current
    computations.recompute(extract.registry, reason="test")
    return extract


def test_an_extract_of_one_department_leaves_the_others_as_they_were(tmp_path, both):
    b_before = results_of(B)
    assert b_before
    one = import_path(write(tmp_path, "a.csv", rows_of(A, 12, month=4))).extract
    assert one.is_current
    assert current() == {A: (one.pk, 12), B: (both.pk, 8)}
    computations.recompute(one.registry, reason="test")
    assert results_of(B) == b_before  # B keeps its numbers
    a_months = {r[2].month for r in results_of(A) if r[1] == "month"}
    assert a_months == {4}  # A's are the new extract's


def test_an_extract_with_no_valid_row_never_becomes_current(tmp_path, both):
    invalid = [dict(r, opr_dato="31-02-2023") for r in rows_of(A, 5)]
    extract = import_path(write(tmp_path, "bad.csv", invalid)).extract
    assert extract.status == "done" and extract.rows_imported == 0
    assert not extract.is_current
    assert "Ingen gyldige rækker" in extract.message_da and "No valid rows" in extract.message_en
    assert current() == {A: (both.pk, 10), B: (both.pk, 8)}
    with pytest.raises(ValueError):
        make_current(extract, confirmed=True)


def test_a_file_that_would_halve_a_department_waits_for_confirmation(tmp_path, both):
    small = write(tmp_path, "small.csv", rows_of(A, 4, month=5))
    with pytest.raises(CommandError) as refused:
        call_command("import_extract", str(small))
    message = str(refused.value)
    assert "mere end halvdelen" in message and f"{A}: 10 -> 4" in message
    held = Extract.objects.get(file_name="small.csv")
    assert held.awaiting_confirmation and not held.is_current
    assert current() == {A: (both.pk, 10), B: (both.pk, 8)}  # nothing changed
    # The same file again with --force: the held extract is confirmed, not loaded twice.
    call_command("import_extract", str(small), "--force")
    assert Extract.objects.filter(file_name="small.csv").count() == 1
    held.refresh_from_db()
    assert held.is_current and not held.awaiting_confirmation
    assert current() == {A: (held.pk, 4), B: (both.pk, 8)}


def test_every_roll_back_shows_what_changes_and_needs_a_confirmation(client, tmp_path, both):
    newer = import_path(write(tmp_path, "new.csv", rows_of(A, 9, month=6))).extract
    coordinator = person("koord@example.dk", Role.COORDINATOR, Department.objects.get(code=A))
    client.force_login(coordinator)
    with pytest.raises(ConfirmationNeeded) as needed:
        make_current(both)
    changes = {c.department.code: (c.before, c.after) for c in needed.value.changes}
    assert changes == {A: (9, 10), B: (8, 8)}
    page = client.post(f"/extracts/{both.pk}/make-current/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Rækker nu" in html and "Ja, gør udtrækket aktuelt" in html
    assert current()[A] == (newer.pk, 9)  # not yet
    client.post(f"/extracts/{both.pk}/make-current/", {"confirm": "1"})
    assert current() == {A: (both.pk, 10), B: (both.pk, 8)}
    event = AuditEvent.objects.filter(action="rollback").latest("pk")
    assert event.user_email == "koord@example.dk"
    assert {"department": A, "before": 9, "after": 10, "before_extract": newer.pk} in event.detail[
        "departments"
    ]


def test_an_import_from_the_command_line_is_audited(tmp_path, both):
    call_command("import_extract", str(write(tmp_path, "more.csv", rows_of(B, 8, month=7))))
    event = AuditEvent.objects.filter(action="upload").latest("pk")
    assert event.detail["via"] == "cli" and event.detail["file_name"] == "more.csv"
    assert event.detail["current"] is True


def test_a_department_without_current_rows_drops_out_of_the_lists(client, tmp_path):
    import_path(write(tmp_path, "a-only.csv", rows_of(A, 6)))
    koege, vejle = Department.objects.get(code=A), _department(B)
    client.force_login(person("begge@example.dk", Role.CLINICIAN, koege, vejle))
    html = client.get("/departments/").content.decode()
    assert koege.name in html and vejle.name not in html


def test_each_department_page_names_the_extract_its_numbers_come_from(client, tmp_path, both):
    one = import_path(write(tmp_path, "b.csv", rows_of(B, 8, month=8))).extract
    client.force_login(
        person("led@example.dk", Role.LEADERSHIP)  # the whole country
    )
    page_a = client.get(f"/departments/{A}/").content.decode()
    page_b = client.get(f"/departments/{B}/").content.decode()
    assert f"udtræk nr. {both.pk} (full.csv)" in page_a
    assert f"udtræk nr. {one.pk} (b.csv)" in page_b


def _department(code: str) -> Department:
    from tests.departments.people import department

    return department(code)
