from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from departments.models import Department, Hospital, Region, RoleAssignment, User
from indicators.models import ChangeMarker, Extract, OperationRow

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
    extract = Extract.objects.get(is_current=True)
    assert extract.rows_imported + extract.rows_rejected == 2000
    assert OperationRow.objects.count() == extract.rows_imported
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


def test_demo_refuses_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        load_demo()
    assert User.objects.count() == 0
