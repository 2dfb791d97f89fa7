"""Which region a hospital is in: data/hospitals.csv, loaded at migrate, edited in the admin."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from departments.hospitals import HospitalFileError, load_hospitals, read_hospitals
from departments.models import Hospital, Region, Role
from departments.services import DepartmentRecord, upsert_departments
from tests.departments.people import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def write(tmp_path, *lines: str):
    path = tmp_path / "hospitals.csv"
    path.write_text("\n".join(["sygehus_kode;sygehus_navn;region", *lines]) + "\n", "utf-8")
    return path


def region_of(code: str) -> str | None:
    region = Hospital.objects.get(code=code).region
    return region and region.name


def test_migrate_loads_every_hospital_in_the_file_with_its_region():
    in_file = {h.code: h for h in read_hospitals()}
    assert len(in_file) == 21
    koege = Hospital.objects.get(code="4202")
    assert (koege.name, koege.region.name) == (
        "Sjællands Universitetshospital, Køge",
        "Region Sjælland",
    )
    loaded = Hospital.objects.filter(code__in=in_file).select_related("region")
    assert {h.code: h.region.name for h in loaded} == {c: h.region for c, h in in_file.items()}


def test_a_later_migrate_adds_a_hospital_missing_from_the_database():
    Hospital.objects.filter(code="8002").delete()
    call_command("migrate", verbosity=0, interactive=False)
    assert region_of("8002") == "Region Nordjylland"


def test_an_administrators_edit_survives_loading_the_file_again(client, admin):
    koege = Hospital.objects.get(code="4202")
    hovedstaden = Region.objects.get(name="Region Hovedstaden")
    response = client.post(
        f"/admin/departments/hospital/{koege.pk}/change/",
        {"code": "4202", "name": "SUH Køge", "region": hovedstaden.pk},
    )
    assert response.status_code == 302
    assert load_hospitals() == 0
    call_command("migrate", verbosity=0, interactive=False)
    koege.refresh_from_db()
    assert (koege.name, koege.region) == ("SUH Køge", hovedstaden)


def test_the_admin_lists_hospitals_by_region(client, admin):
    sjaelland = Region.objects.get(name="Region Sjælland")
    html = client.get(
        f"/admin/departments/hospital/?region__id__exact={sjaelland.pk}"
    ).content.decode()
    assert "Slagelse Sygehus" in html and "Rigshospitalet" not in html


def test_a_file_naming_an_unknown_region_is_refused_and_changes_nothing(tmp_path):
    before = list(Hospital.objects.order_by("code").values_list("code", "name", "region"))
    path = write(
        tmp_path,
        "9001;Nyt Sygehus;Region Hovedstaden",
        "9002;Fynsk Sygehus;Region Fyn",
    )
    with pytest.raises(HospitalFileError) as refused:
        load_hospitals(path)
    message = str(refused.value)
    assert "unknown region 'Region Fyn' (line 3, hospital 9002)" in message
    assert "Region Syddanmark" in message  # the names that would do
    assert list(Hospital.objects.order_by("code").values_list("code", "name", "region")) == before


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["9001;Nyt Sygehus"], "line 2: 2 fields, expected 3"),
        (["9001;A;", "9001;B;"], "hospital 9001 is already on line 2"),
        (["12345678901;For lang kode;"], "is not 1-10 characters"),
    ],
)
def test_a_malformed_file_is_refused_with_its_line(tmp_path, lines, problem):
    with pytest.raises(HospitalFileError, match=problem):
        load_hospitals(write(tmp_path, *lines))
    assert not Hospital.objects.filter(code__startswith="9001").exists()


def test_a_file_with_another_header_is_refused(tmp_path):
    path = tmp_path / "hospitals.csv"
    path.write_text("kode;navn;region\n9001;Nyt Sygehus;Region Hovedstaden\n", "utf-8")
    with pytest.raises(HospitalFileError, match="the first line must be"):
        load_hospitals(path)


def test_a_hospital_first_seen_in_an_extract_gets_its_region_from_the_table():
    departments = upsert_departments(
        [DepartmentRecord("7005", "Aarhus Universitetshospital", "7005330", "Mave- og Tarmkirurgi")]
    )
    assert departments["7005330"].hospital.region.name == "Region Midtjylland"


def test_a_region_an_administrator_set_places_the_hospitals_new_departments():
    nordjylland = Region.objects.get(name="Region Nordjylland")
    Hospital.objects.filter(code="7601").update(region=nordjylland)
    departments = upsert_departments(
        [DepartmentRecord("7601", "Regionshospitalet Gødstrup", "7601160", "Kirurgi, Gødstrup")]
    )
    assert departments["7601160"].hospital.region == nordjylland


def test_a_hospital_the_table_lacks_is_added_with_the_extracts_name_and_no_region():
    upsert_departments([DepartmentRecord("9100", "Privathospitalet", "9100010", "Kirurgi")])
    hospital = Hospital.objects.get(code="9100")
    assert (hospital.name, hospital.region) == ("Privathospitalet", None)
    # Loading the file again leaves it for an administrator to place.
    load_hospitals()
    assert region_of("9100") is None
