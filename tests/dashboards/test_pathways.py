"""Cancer pathway times for leadership (/overview/pathways/): counted by hand from a small
kræftpakke extract, shown only for groups wholly inside the leader's scope."""

from __future__ import annotations

import pytest

from departments.models import Hospital, Region, Role
from indicators.registry.importer import import_path
from tests.departments.people import person
from tests.factories import settle

pytestmark = pytest.mark.django_db

HEADER = (
    "cpr;sygehus_kode;sygehus_navn;afdeling_kode;afdeling_navn;kommune_kode;pakke;"
    "henvisning_dato;foerste_fremmoede_dato;beslutning_dato;behandling_start_dato;behandling;alder"
)
AALBORG = "8001;Aalborg Universitetshospital;8001241;Mave- og Tarmkirurgi, Aalborg"
HJOERRING = "8003;Regionshospital Nordjylland, Hjørring;8003130;Kirurgisk Afdeling, Hjørring"
VEJLE = "6630;Sygehus Lillebælt, Vejle;6630220;Kirurgisk Afdeling, Vejle"
ROWS = [
    # Brystkræft (standard: 25 days). Aalborg: 18 days (within), steps 3, 5, 10 days.
    f"0101701234;{AALBORG};0851;Brystkræft;02-01-2024;05-01-2024;10-01-2024;20-01-2024;operation;54",
    # Aalborg: 31 days (not within), steps 7, 10, 14 days.
    f"0201701234;{AALBORG};0851;Brystkræft;03-01-2024;10-01-2024;20-01-2024;03-02-2024;operation;55",
    # Hjørring: not treated yet (left out of the share), first step 4 days.
    f"0301701234;{HJOERRING};0860;Brystkræft;04-01-2024;08-01-2024;;;;56",
    # Vejle, another region: 10 days.
    f"0401701234;{VEJLE};0630;Brystkræft;05-01-2024;08-01-2024;10-01-2024;15-01-2024;operation;57",
    # A second quarter for Aalborg: 20 days (within).
    f"0501701234;{AALBORG};0851;Brystkræft;02-04-2024;05-04-2024;10-04-2024;22-04-2024;operation;58",
]


@pytest.fixture
def pathways(tmp_path):
    path = tmp_path / "kp.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    extract = import_path(path, profile_slug="kraeftpakke").extract
    assert extract.status == "done" and extract.rows_imported == 5, extract.message_en
    settle()
    return extract


def page(client, user, **params) -> str:
    client.force_login(user)
    answer = client.get("/overview/pathways/", params)
    assert answer.status_code == 200
    return answer.content.decode()


def test_a_regions_leader_sees_its_regions_pathway_times_counted_by_hand(client, pathways):
    leader = person(
        "nord@example.dk", Role.LEADERSHIP, Region.objects.get(name="Region Nordjylland")
    )
    html = page(client, leader)
    assert "Brystkræft" in html and "højst 25 dage" in html
    assert "Region Nordjylland" in html and "Region Syddanmark" not in html
    # 2024 Q1: three pathways, two treated, one of them within 25 days.
    assert "50,0 %" in html and "1/2 · 3 forløb" in html
    # 2024 Q2: one pathway, treated within.
    assert "100,0 %" in html and "1/1 · 1 forløb" in html
    # The latest quarter's steps (Q2, Aalborg only): 3, 5 and 12 days.
    assert "3 (3–3)" in html and "5 (5–5)" in html and "12 (12–12)" in html


def test_the_quartiles_of_a_quarter_with_several_pathways(client, pathways):
    from dashboards.selectors.pathways import pathway_times

    leader = person(
        "nord2@example.dk", Role.LEADERSHIP, Region.objects.get(name="Region Nordjylland")
    )
    from departments import access

    scope = list(access.departments_for(leader, "aggregate").select_related("hospital__region"))
    (package,) = pathway_times(scope, "region")
    import datetime as dt

    cell = package.cells[("Region Nordjylland", dt.date(2024, 1, 1))]
    assert (cell.pathways, cell.treated, cell.within) == (3, 2, 1)
    # Referral -> first attendance: 3, 7 and 4 days; first attendance -> decision: 5 and 10;
    # decision -> treatment: 10 and 14 (numpy's linear quartiles).
    assert cell.quartiles[0] == (3.5, 4.0, 5.5)
    assert cell.quartiles[1] == (6.25, 7.5, 8.75)
    assert cell.quartiles[2] == (11.0, 12.0, 13.0)
    assert round(cell.ci_low, 3) == 0.095 and round(cell.ci_high, 3) == 0.905  # Wilson, 1 of 2


def test_a_group_partly_outside_the_scope_is_not_shown(client, pathways):
    aalborg = Hospital.objects.get(code="8001")
    leader = person("aalborg@example.dk", Role.LEADERSHIP, aalborg)
    # By region: Region Nordjylland holds Hjørring too, which this leader does not see.
    html = page(client, leader)
    assert "Region Nordjylland" not in html and "ingen forløbstider" in html
    by_hospital = page(client, leader, group="hospital")
    assert "Aalborg Universitetshospital" in by_hospital and "Hjørring" not in by_hospital
    assert "Vejle" not in by_hospital


def test_pathway_times_are_for_leadership(client, pathways):
    from departments.models import Department

    clinician = person("k@example.dk", Role.CLINICIAN, Department.objects.get(code="8001241"))
    client.force_login(clinician)
    assert client.get("/overview/pathways/").status_code == 403


def test_the_pathway_times_export_as_csv_what_the_leader_sees(client, pathways):
    import csv
    import io

    from departments.models import AuditEvent

    leader = person(
        "nord-csv@example.dk", Role.LEADERSHIP, Region.objects.get(name="Region Nordjylland")
    )
    client.force_login(leader)
    answer = client.get("/overview/pathways/", {"format": "csv"})
    assert answer["Content-Type"].startswith("text/csv")
    assert 'filename="forloebstider-region.csv"' in answer["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:9] == [
        "pakke", "region", "kvartal", "standardforloebstid_dage", "forloeb", "behandlet",
        "inden_for", "andel", "interval",
    ]  # fmt: skip
    # Counted by hand as on the page: Q1 three pathways, two treated, one within 25 days.
    by_quarter = {r[2]: r for r in body}
    assert [r[1] for r in body] == ["Region Nordjylland", "Region Nordjylland"]
    q1, q2 = by_quarter["1. kvt. 2024"], by_quarter["2. kvt. 2024"]
    assert q1[3:8] == ["25", "3", "2", "1", "50,0 %"]
    assert q2[4:8] == ["1", "1", "1", "100,0 %"]
    # The steps' quartiles in Q1 (3, 7 and 4 days; 5 and 10; 10 and 14), one decimal.
    assert q1[9:] == ["3,5", "4,0", "5,5", "6,2", "7,5", "8,8", "11,0", "12,0", "13,0"]
    # Vejle's region is outside the scope: not in the file.
    assert "Syddanmark" not in answer.content.decode("utf-8-sig")
    assert AuditEvent.objects.filter(action="export", target="forloebstider-region.csv").exists()
