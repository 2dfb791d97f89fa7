"""``manage.py add_user``: set-up without single sign-on, and the tests' way to make people."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from departments import access
from departments.models import AuditEvent, Region, RoleAssignment, User
from tests.departments.people import PASSWORD, A, B, department

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv("PORTAL_PASSWORD", PASSWORD)
    return PASSWORD


def add_user(*args) -> str:
    out = StringIO()
    call_command("add_user", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_clinician_of_two_departments_who_can_log_in(client):
    department(A), department(B)
    output = add_user(
        "Karen@Example.dk", "--role", "clinician", "--department", A, "--department", B
    )
    user = User.objects.get(email="karen@example.dk")
    assert "karen@example.dk oprettet" in output
    assert {d.code for d in access.departments_for(user, "patients")} == {A, B}
    assert client.login(email="karen@example.dk", password=PASSWORD)


def test_running_it_again_adds_a_role_and_keeps_the_password_unless_given(monkeypatch):
    department(A)
    add_user("karen@example.dk", "--role", "clinician", "--department", A)
    monkeypatch.delenv("PORTAL_PASSWORD")
    output = add_user("karen@example.dk", "--role", "coordinator", "--department", A)
    user = User.objects.get()
    assert "opdateret" in output
    assert user.check_password(PASSWORD)
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == {
        "clinician",
        "coordinator",
    }


def test_a_new_password_from_the_environment_replaces_the_old(monkeypatch):
    add_user("lene@example.dk", "--role", "leadership")
    monkeypatch.setenv("PORTAL_PASSWORD", "Et-andet-kodeord-2027")
    add_user("lene@example.dk", "--role", "leadership")
    assert User.objects.get().check_password("Et-andet-kodeord-2027")
    assert RoleAssignment.objects.count() == 1


def test_leadership_for_the_country_a_region_or_a_hospital():
    department(A)
    add_user("nation@example.dk", "--role", "leadership")
    add_user("region@example.dk", "--role", "leadership", "--region", "1085")
    add_user("hospital@example.dk", "--role", "leadership", "--hospital", "4202")
    region_role = RoleAssignment.objects.get(user__email="region@example.dk")
    assert region_role.region == Region.objects.get(code="1085")
    assert RoleAssignment.objects.get(user__email="hospital@example.dk").hospital.code == "4202"
    nation = RoleAssignment.objects.get(user__email="nation@example.dk")
    assert (nation.department, nation.hospital, nation.region) == (None, None, None)


def test_an_admin_gets_the_django_admin_too():
    add_user("anders@example.dk", "--role", "admin")
    user = User.objects.get()
    assert user.is_staff and user.is_superuser and access.is_admin(user)


def test_every_role_it_grants_is_audited():
    department(A)
    add_user("karen@example.dk", "--role", "clinician", "--department", A)
    event = AuditEvent.objects.get(action="role_changed")
    assert (event.target, event.department_code, event.detail["via"]) == (
        "karen@example.dk",
        A,
        "add_user",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "clinician"], "needs one or more --department"),
        (["--role", "coordinator", "--department", "9999999"], "unknown department 9999999"),
        (["--role", "leadership", "--department", A], "not tied to a department"),
        (["--role", "leadership", "--region", "1085", "--hospital", "4202"], "not both"),
        (["--role", "leadership", "--region", "0000"], "unknown region"),
        (["--role", "admin", "--region", "1085"], "not tied to a place"),
    ],
)
def test_it_refuses_roles_that_do_not_fit_their_place(args, message):
    department(A)
    with pytest.raises(CommandError, match=message):
        add_user("x@example.dk", *args)
    assert not User.objects.exists()


def test_a_weak_password_is_refused(monkeypatch):
    monkeypatch.setenv("PORTAL_PASSWORD", "1234")
    with pytest.raises(CommandError, match=r"kort|short"):
        add_user("x@example.dk", "--role", "leadership")
    assert not User.objects.exists()


def test_without_a_password_or_a_terminal_a_new_user_is_refused(monkeypatch):
    monkeypatch.delenv("PORTAL_PASSWORD")
    monkeypatch.setattr("sys.stdin", StringIO(""))
    with pytest.raises(CommandError, match="PORTAL_PASSWORD"):
        add_user("x@example.dk", "--role", "leadership")
    add_user("sso@example.dk", "--role", "leadership", "--no-password")
    assert not User.objects.get().has_usable_password()


def test_it_asks_for_the_password_in_a_terminal(monkeypatch):
    monkeypatch.delenv("PORTAL_PASSWORD")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    add_user("x@example.dk", "--role", "leadership")
    assert User.objects.get().check_password(PASSWORD)
