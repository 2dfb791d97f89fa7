"""The access selectors: who sees which department at which level."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from departments import access
from departments.models import Department, Hospital, Region, Role, User
from tests.departments.people import A, B, department, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def places():
    return department(A), department(B)


def codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


def test_a_clinician_sees_their_own_departments_data_and_patients_but_cannot_coordinate(places):
    karen = person("karen@example.dk", Role.CLINICIAN, places[0])
    assert codes(access.departments_for(karen, "aggregate")) == {A}
    assert codes(access.departments_for(karen, "patients")) == {A}
    assert codes(access.departments_for(karen, "coordinate")) == set()


def test_a_coordinator_may_do_all_a_clinician_may_and_coordinate(places):
    kasper = person("kasper@example.dk", Role.COORDINATOR, *places)
    for need in access.NEEDS:
        assert codes(access.departments_for(kasper, need)) == {A, B}


def test_several_roles_add_up(places):
    user = person("both@example.dk", Role.CLINICIAN, places[0])
    from departments.services import grant_role

    grant_role(user, Role.COORDINATOR, department=places[1])
    assert codes(access.departments_for(user, "patients")) == {A, B}
    assert codes(access.departments_for(user, "coordinate")) == {B}


def test_nationwide_leadership_sees_every_departments_aggregates_and_never_patients(places):
    lene = person("lene@example.dk", Role.LEADERSHIP)
    assert codes(access.departments_for(lene, "aggregate")) == {A, B}
    assert codes(access.leadership_scope(lene)) == {A, B}
    assert not access.departments_for(lene, "patients").exists()
    assert not access.departments_for(lene, "coordinate").exists()


def test_leadership_limited_to_a_region_or_a_hospital(places):
    region = Region.objects.get(code="1085")  # Sjælland: Køge
    by_region = person("region@example.dk", Role.LEADERSHIP, region)
    by_hospital = person("hospital@example.dk", Role.LEADERSHIP, Hospital.objects.get(code="6630"))
    assert codes(access.departments_for(by_region, "aggregate")) == {A}
    assert codes(access.departments_for(by_hospital, "aggregate")) == {B}


def test_admins_and_staff_see_no_department_data(places):
    admin = person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True)
    staff = person("it@example.dk", is_staff=True)
    for user in (admin, staff):
        for need in access.NEEDS:
            assert not access.departments_for(user, need).exists()
    assert access.is_admin(admin) and not access.is_admin(staff)


def test_a_superuser_without_the_role_is_an_admin():
    root = User.objects.create_superuser("root@example.dk", "x")
    assert access.is_admin(root)
    assert not access.departments_for(root, "aggregate").exists()


def test_anonymous_and_inactive_users_see_nothing(places):
    gone = person("gone@example.dk", Role.COORDINATOR, places[0], is_active=False)
    for user in (AnonymousUser(), gone, None):
        for need in access.NEEDS:
            assert not access.departments_for(user, need).exists()
        assert not access.is_admin(user)
        assert not access.can(user, "aggregate")


def test_get_department_for_answers_404_outside_every_scope_and_403_below_the_level(places):
    karen = person("karen@example.dk", Role.CLINICIAN, places[0])
    lene = person("lene@example.dk", Role.LEADERSHIP)
    assert access.get_department_for(karen, A, "patients") == places[0]
    with pytest.raises(PermissionDenied):
        access.get_department_for(karen, A, "coordinate")
    with pytest.raises(Http404):  # another department: not even its existence is confirmed
        access.get_department_for(karen, B, "aggregate")
    with pytest.raises(Http404):  # a department that does not exist answers the same
        access.get_department_for(karen, "9999999", "aggregate")
    assert access.get_department_for(lene, B, "aggregate") == places[1]
    with pytest.raises(PermissionDenied):
        access.get_department_for(lene, B, "patients")


def test_can_asks_about_one_department_or_any(places):
    kasper = person("kasper@example.dk", Role.COORDINATOR, places[0])
    assert access.can(kasper, "coordinate")
    assert access.can(kasper, "coordinate", places[0])
    assert not access.can(kasper, "coordinate", places[1])


def test_restrict_scopes_any_queryset_with_a_department_field(places):
    from departments.models import RoleAssignment

    karen = person("karen@example.dk", Role.CLINICIAN, places[0])
    person("other@example.dk", Role.CLINICIAN, places[1])
    visible = access.restrict(RoleAssignment.objects.all(), karen, "patients")
    assert {r.department.code for r in visible} == {A}
    departments = access.restrict(Department.objects.all(), karen, "aggregate", field="pk")
    assert codes(departments) == {A}


def test_an_unknown_need_is_a_bug():
    with pytest.raises(ValueError, match="unknown need"):
        access.departments_for(AnonymousUser(), "everything")


def test_the_overview_is_for_leadership(places):
    assert access.sees_overview(person("lene@example.dk", Role.LEADERSHIP))
    assert not access.sees_overview(person("karen@example.dk", Role.CLINICIAN, places[0]))


def test_the_selectors_cost_one_query(places, django_assert_num_queries):
    karen = person("karen@example.dk", Role.CLINICIAN, places[0])
    with django_assert_num_queries(1):
        list(access.departments_for(karen, "aggregate"))
    with django_assert_num_queries(1):
        access.can(karen, "patients", places[0])
