"""No CPR number is kept anywhere but as a pseudonym, whatever column it arrives in; refused rows
stay with the department they name."""

from __future__ import annotations

import csv
import io

import pytest
from django.apps import apps
from django.db import connection

from departments.models import Role
from indicators.models import Extract, OperationRow, RefusedRow
from indicators.registry.cpr import has_cpr, scrub
from indicators.registry.importer import import_path
from tests.departments.people import A, B, department, person
from tests.indicators.extract_files import COLUMNS, ROWS, csv_text

pytestmark = pytest.mark.django_db

# Made-up numbers of the shape: a real DDMMYY date and four digits.
SMUGGLED = ["2212851234", "010203-4567", "3112999876", "290288-1111"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("0510452973", True),
        ("051045-2973", True),
        ("Partner 0510452973 ringede", True),
        ("290288-1111", True),  # 29 February in a year divisible by four
        ("290289-1111", False),  # ... and not otherwise
        ("3213451234", False),  # no 32nd day
        ("0113451234", False),  # no 13th month
        ("05104529731", False),  # eleven digits: not a CPR number
        ("KJGB10", False),
        ("21-03-2023", False),
        ("", False),
        (None, False),
    ],
)
def test_what_counts_as_cpr_shaped(text, found):
    assert has_cpr(text) is found


def test_scrub_takes_out_every_cpr_shaped_part_and_keeps_the_rest():
    assert scrub("a 0510452973 b 170836-4725 c 12") == "a [CPR] b [CPR] c 12"
    assert scrub("KJGB10") == "KJGB10"


def smuggling_file(tmp_path):
    rows = [
        # an extra column with the partner's CPR number in every row that has one
        dict(ROWS[0], cpr_partner=SMUGGLED[0], note="ok"),
        # a CPR number as the procedure code (B's row)
        dict(ROWS[1], afdeling_kode=B, sygehus_kode="6630", procedurekode=SMUGGLED[1]),
        # a CPR number in the department's name (A's row)
        dict(ROWS[2], afdeling_navn=f"Kirurgi {SMUGGLED[2]}"),
        # a refused row for another reason, with a CPR number in a column it reports the value of
        dict(
            ROWS[0],
            opr_dato="xx",
            alder="abc",
            note=SMUGGLED[3],
            cpr="0104588508",
            sygehus_navn='=HYPERLINK("http://x.example","klik")',
        ),
        # a clean row, whose harmless extra columns are kept
        dict(ROWS[0], cpr="1111111118", note="kontrol", cpr_partner=""),
    ]
    path = tmp_path / f"udtraek-{SMUGGLED[0]}.csv"  # even the file's name
    path.write_text(csv_text(rows, columns=[*COLUMNS, "cpr_partner", "note"]), encoding="utf-8")
    return path


def dump_everything() -> str:
    """Every row of every table the portal keeps: Django's and every registry's row table."""
    with connection.cursor() as cursor:
        tables = {model._meta.db_table for model in apps.get_models()}
        tables |= {
            t for t in connection.introspection.table_names(cursor) if t.startswith("registry_")
        }
        found = []
        for table in sorted(tables):
            cursor.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608
            found += [row[0] for row in cursor.fetchall()]
    return "\n".join(found)


def test_a_second_registry_keeps_no_cpr_number_either(tmp_path, postgres):
    header = (
        "cpr;sygehus_kode;sygehus_navn;afdeling_kode;afdeling_navn;kommune_kode;pakke;"
        "henvisning_dato;foerste_fremmoede_dato;beslutning_dato;behandling_start_dato;"
        "behandling;alder;paaroerende"
    )
    place = "6630;Vejle;6630220;Kirurgi"
    lines = [
        # a CPR number in an extra column
        f"0101501234;{place};0630;Brystkræft;02-01-2024;;;;operation;60;{SMUGGLED[0]}",
        # a CPR number as the municipality code, and as the package
        f"0201501234;{place};{SMUGGLED[1]};Brystkræft;03-01-2024;;;;;61;",
        f"0301501234;{place};0630;{SMUGGLED[2]};04-01-2024;;;;;62;",
        # a clean row
        f"0401501234;{place};0630;Lungekræft;05-01-2024;;;;kirurgi;63;ok",
    ]
    path = tmp_path / "kp.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    extract = import_path(path, profile_slug="kraeftpakke").extract
    assert extract.status == "done", extract.message_en
    assert (extract.rows_imported, extract.rows_rejected) == (1, 3)
    codes = set(RefusedRow.objects.filter(extract=extract).values_list("code", flat=True))
    assert codes == {"cpr_elsewhere"}
    dump = dump_everything()
    for number in [*SMUGGLED[:3], "0101501234", "0401501234"]:
        assert number not in dump and number.replace("-", "") not in dump, number


def test_a_smuggled_cpr_number_is_refused_by_column_and_stored_nowhere(tmp_path, postgres):
    extract = import_path(smuggling_file(tmp_path)).extract
    assert extract.status == "done"
    assert (extract.rows_imported, extract.rows_rejected) == (1, 4)
    refused = {r.line: r for r in RefusedRow.objects.filter(extract=extract)}
    assert refused[2].column == "cpr_partner" and refused[2].code == "cpr_elsewhere"
    assert refused[3].column == "procedurekode" and refused[3].code == "cpr_elsewhere"
    assert refused[4].column == "afdeling_navn"
    assert "afdeling_navn indeholder et CPR-nummer" in refused[4].message_da
    assert "afdeling_navn holds a CPR number" in refused[4].message_en
    assert refused[5].values["note"] == "[CPR]"
    # The clean row keeps its extra columns.
    (kept,) = OperationRow.objects.filter(extract=extract)
    assert kept.extra == {"note": "kontrol"}
    assert extract.file_name == "udtraek-[CPR].csv"
    dump = dump_everything()
    for number in [*SMUGGLED, "0510452973", "0104588508"]:
        assert number not in dump and number.replace("-", "") not in dump, number


def test_refused_rows_are_read_only_by_their_departments_coordinators_and_admins(
    client, tmp_path, postgres
):
    extract = import_path(smuggling_file(tmp_path)).extract
    coordinator_a = person("koord-a@example.dk", Role.COORDINATOR, department(A))
    coordinator_b = person("koord-b@example.dk", Role.COORDINATOR, department(B))
    admin = person("admin@example.dk", Role.ADMIN)
    clinician = person("kliniker@example.dk", Role.CLINICIAN, department(A))

    def lines(user) -> set[int]:
        client.force_login(user)
        text = client.get(f"/extracts/{extract.pk}/refused.csv").content.decode("utf-8-sig")
        return {int(line.split(";")[0]) for line in text.splitlines()[1:]}

    by_department = dict(
        RefusedRow.objects.filter(extract=extract).values_list("line", "department_code")
    )
    assert lines(coordinator_a) == {n for n, code in by_department.items() if code == A}
    assert (
        lines(coordinator_b) == {n for n, code in by_department.items() if code == B} == {2, 3, 5}
    )
    assert lines(admin) == set(by_department)
    # A cell a spreadsheet would run as a formula is written as text.
    client.force_login(admin)
    text = client.get(f"/extracts/{extract.pk}/refused.csv").content.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]
    assert '\'=HYPERLINK("http://x.example","klik")' in cells
    assert not any(cell.startswith("=") for cell in cells)
    client.force_login(coordinator_b)
    page = client.get(f"/extracts/{extract.pk}/").content.decode()
    assert "1 afvist række hører til en afdeling, du ikke er koordinator for" in page
    client.force_login(clinician)
    assert client.get(f"/extracts/{extract.pk}/refused.csv").status_code == 403
    assert Extract.objects.filter(pk=extract.pk).exists()
