from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from departments.models import Department, Hospital, Region, RoleAssignment, User

pytestmark = pytest.mark.django_db


def load_demo(**kwargs) -> str:
    from io import StringIO

    out = StringIO()
    call_command("load_demo", rows=2000, stdout=out, **kwargs)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Region, Hospital, Department, User, RoleAssignment)
    }


def test_demo_loads_departments_in_every_region_and_a_user_per_role(settings):
    settings.DEBUG = True
    output = load_demo()
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


def test_demo_loaded_twice_duplicates_nothing(settings):
    settings.DEBUG = True
    load_demo()
    first = counts()
    load_demo()
    assert counts() == first


def test_demo_refuses_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        load_demo()
    assert User.objects.count() == 0
