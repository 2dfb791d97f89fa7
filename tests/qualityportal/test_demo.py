from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max, Min
from django.utils import timezone

from departments.models import Department, Hospital, Region, RoleAssignment, User
from indicators.models import ChangeMarker, Extract, OperationRow
from indicators.registry import storage, synthetic
from indicators.services.definitions import add_change_marker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_settings(settings, tmp_path):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path


def load_demo(**kwargs) -> str:
    from io import StringIO

    out = StringIO()
    call_command("load_demo", rows=2000, stdout=out, **kwargs)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Region,
            Hospital,
            Department,
            User,
            RoleAssignment,
            Extract,
            OperationRow,
            ChangeMarker,
        )
    }


def test_demo_loads_an_extract_departments_in_every_region_and_a_user_per_role():
    output = load_demo()
    extract = Extract.objects.get(is_current=True, registry__slug="dccg")
    assert extract.rows_imported + extract.rows_rejected == 2000
    assert OperationRow.objects.count() == extract.rows_imported
    # A second registry, so the first day shows registries side by side: the same departments'
    # cancer pathways, every generated row valid.
    pathways = Extract.objects.get(is_current=True, registry__slug="kraeftpakke")
    assert (pathways.rows_imported, pathways.rows_rejected) == (2000, 0)
    assert storage.count_rows("registry_kraeftpakke", pathways.pk) == 2000
    assert Region.objects.filter(hospitals__isnull=False).distinct().count() == 5
    assert Hospital.objects.filter(region__isnull=True).count() == 0
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == {
        "clinician",
        "coordinator",
        "leadership",
        "admin",
    }
    for user in User.objects.all():
        assert user.email in output
    assert "adgangskode" in output


def test_demo_loaded_twice_duplicates_nothing():
    load_demo()
    first = counts()
    load_demo()
    assert counts() == first


def test_demo_runs_up_to_this_month_with_nothing_in_the_future():
    load_demo()
    today = timezone.localdate()
    period = synthetic.demo_period(today)
    rows = OperationRow.objects.filter(extract__is_current=True)
    span = rows.aggregate(first=Min("operation_date"), last=Max("operation_date"))
    first_of_month = today.replace(day=1)
    assert period.start <= span["first"] < period.start + dt.timedelta(days=31)
    last_full_month = (first_of_month - dt.timedelta(days=1)).replace(day=1)
    assert last_full_month <= span["last"] < first_of_month
    assert (first_of_month - period.start).days > 3 * 365 - 5
    for field in ("discharge_date", "reoperation_date", "readmission_date", "death_date"):
        assert not rows.filter(**{f"{field}__gt": today}).exists(), field
    koege = Department.objects.get(code=synthetic.CHANGE_DEPARTMENT)
    assert koege.name == "Kirurgisk Afdeling, Køge"
    assert not Department.objects.filter(name__contains=";").exists()
    marker = ChangeMarker.objects.get()
    assert (marker.department, marker.date) == (koege, period.change_date)
    assert span["first"] < marker.date < span["last"]


def test_a_later_demo_moves_its_change_marker_with_its_window():
    load_demo()
    koege = Department.objects.get(code=synthetic.CHANGE_DEPARTMENT)
    # As a demo loaded in an earlier month left it.
    add_change_marker(koege, date=dt.date(2022, 3, 1), label=synthetic.CHANGE_LABEL)
    mine = add_change_marker(koege, date=dt.date(2022, 3, 1), label="Ny robot")
    load_demo()
    period = synthetic.demo_period(timezone.localdate())
    dates = set(ChangeMarker.objects.values_list("label", "date"))
    assert dates == {(synthetic.CHANGE_LABEL, period.change_date), (mine.label, mine.date)}


def test_demo_refuses_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        load_demo()
    assert User.objects.count() == 0
