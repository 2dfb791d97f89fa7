"""The audit log: what is recorded, from where, and that nobody can change it."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.test import Client, RequestFactory

from departments import audit
from departments.models import AuditAction, AuditEvent, Role, RoleAssignment
from tests.departments.people import PASSWORD, A, department, person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth counts failed logins in the cache; a test must not inherit another's count.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def admin(client):
    user = person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def request_from(ip="10.1.2.3", forwarded=None, user=None, agent="Firefox/140"):
    meta = {"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    request.user = user or AnonymousUser()
    return request


def test_a_record_says_who_when_what_which_department_and_from_where():
    user = person("karen@example.dk", Role.CLINICIAN, department(A))
    event = audit.record(
        request_from(user=user),
        "patients_viewed",
        department=department(A),
        target="major_complication",
        detail={"period": "2023-03"},
    )
    event.refresh_from_db()
    assert (event.user, event.user_email, event.action) == (
        user,
        "karen@example.dk",
        "patients_viewed",
    )
    assert (event.department.code, event.department_code) == (A, A)
    assert (event.target, event.detail) == ("major_complication", {"period": "2023-03"})
    assert (event.ip_address, event.user_agent) == ("10.1.2.3", "Firefox/140")
    assert event.created_at is not None


def test_an_unknown_action_is_a_bug_and_is_refused():
    with pytest.raises(ValueError):
        audit.record(request_from(), "looked_around")


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(settings):
    request = request_from(ip="10.0.0.1", forwarded="6.6.6.6, 192.0.2.44")
    assert audit.client_ip(request) == "10.0.0.1"
    settings.AUDIT_TRUST_X_FORWARDED_FOR = True
    # Only the last entry is the trusted proxy's; the first could be made up by the client.
    assert audit.client_ip(request) == "192.0.2.44"
    assert audit.client_ip(request_from(ip="not-an-ip")) is None


def test_work_outside_a_request_is_recorded_without_an_address():
    event = audit.record(None, AuditAction.EXPORT, target="results.csv", detail={"via": "cli"})
    assert (event.user, event.ip_address, event.user_agent) == (None, None, "")


def test_a_login_and_a_failed_login_through_the_login_page_are_recorded(client):
    person("karen@example.dk")
    client.post(
        "/accounts/login/",
        {"login": "karen@example.dk", "password": "wrong"},
        REMOTE_ADDR="10.9.8.7",
        HTTP_USER_AGENT="Edge/1",
    )
    failed = AuditEvent.objects.get(action="login_failed")
    assert (failed.user, failed.user_email, failed.target) == (
        None,
        "karen@example.dk",
        "karen@example.dk",
    )
    assert (failed.ip_address, failed.user_agent) == ("10.9.8.7", "Edge/1")
    assert "wrong" not in str(failed.detail)

    client.post("/accounts/login/", {"login": "karen@example.dk", "password": PASSWORD})
    login = AuditEvent.objects.get(action="login")
    assert login.user.email == "karen@example.dk"
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(action="logout", user_email="karen@example.dk").exists()


def test_failed_logins_are_rate_limited(client):
    person("karen@example.dk")
    for _ in range(5):
        client.post("/accounts/login/", {"login": "karen@example.dk", "password": "wrong"})
    response = client.post("/accounts/login/", {"login": "karen@example.dk", "password": PASSWORD})
    # Five wrong passwords for one address: even the right one is refused for a while.
    assert "_auth_user_id" not in client.session
    assert "for mange mislykkede logonforsøg" in response.content.decode()


PROXY = "10.0.0.1"  # the TLS proxy: every request reaches the portal from its address


def log_in_behind_the_proxy(client_ip: str, email: str, password: str = "wrong"):  # noqa: S107
    client = Client()
    response = client.post(
        "/accounts/login/",
        urlencode({"login": email, "password": password}),  # as a browser sends the form
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR=PROXY,
        # What the client sent itself comes first; the proxy appends the address it saw.
        HTTP_X_FORWARDED_FOR=f"192.0.2.99, {client_ip}",
    )
    return client, response


def test_behind_the_proxy_one_clients_failed_logins_do_not_lock_out_another():
    karen = person("karen@example.dk")
    for i in range(10):
        log_in_behind_the_proxy("198.51.100.7", f"guess{i}@example.dk")
    # The guessing client is blocked, even with a right password...
    client, response = log_in_behind_the_proxy("198.51.100.7", "karen@example.dk", PASSWORD)
    assert "_auth_user_id" not in client.session
    assert "for mange mislykkede logonforsøg" in response.content.decode()
    # ...but Karen, at another address behind the same proxy, logs in.
    client, response = log_in_behind_the_proxy("203.0.113.5", "karen@example.dk", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(karen.pk)


def test_wrong_passwords_for_one_account_from_many_addresses_still_lock_it():
    person("karen@example.dk")
    for i in range(5):
        log_in_behind_the_proxy(f"198.51.100.{i}", "karen@example.dk")
    client, response = log_in_behind_the_proxy("203.0.113.5", "karen@example.dk", PASSWORD)
    assert "_auth_user_id" not in client.session
    assert "for mange mislykkede logonforsøg" in response.content.decode()


# Append-only ------------------------------------------------------------------------------


def test_postgresql_refuses_to_update_or_delete_a_record(postgres):
    event = audit.record(request_from(), AuditAction.LOGIN_FAILED, email="x@example.dk")
    event.target = "tampered"
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        event.save()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(user_email="someone-else@example.dk")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        postgres.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM departments_auditevent")
    event.refresh_from_db()
    assert (event.target, event.user_email) == ("", "x@example.dk")


def test_postgresql_refuses_to_truncate_the_log(postgres):
    from conftest import AUDIT_TRUNCATE_TRIGGER

    audit.record(request_from(), AuditAction.LOGIN_FAILED, email="x@example.dk")
    with (
        pytest.raises(IntegrityError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        postgres.cursor() as cursor,
    ):
        # The test database keeps the guard off for the flush after transactional tests.
        cursor.execute(
            f"ALTER TABLE departments_auditevent ENABLE TRIGGER {AUDIT_TRUNCATE_TRIGGER}"
        )
        cursor.execute("TRUNCATE departments_auditevent")
    assert AuditEvent.objects.filter(user_email="x@example.dk").count() == 1


def test_deleting_a_user_keeps_their_records(postgres):
    user = person("leaver@example.dk")
    user_id = user.pk
    audit.record(request_from(user=user), AuditAction.EXPORT, target="results.csv")
    user.delete()
    event = AuditEvent.objects.get(action="export")
    assert (event.user_id, event.user_email) == (user_id, "leaver@example.dk")


def test_the_django_admin_shows_records_but_cannot_add_change_or_delete_them(client, admin):
    event = audit.record(request_from(), AuditAction.LOGIN_FAILED, email="x@example.dk")
    base = "/admin/departments/auditevent/"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}{event.pk}/change/").status_code == 200  # a read-only view
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{event.pk}/change/", {"target": "x"}).status_code == 403
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        base, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    event.refresh_from_db()
    assert AuditEvent.objects.filter(pk=event.pk, user_email="x@example.dk").exists()


def test_the_portal_offers_no_way_to_change_the_log(client, admin):
    audit.record(request_from(), AuditAction.LOGIN_FAILED, email="x@example.dk")
    assert client.post("/audit/", {"action": "delete"}).status_code == 405
    assert client.post("/audit/export.csv").status_code == 405
    assert AuditEvent.objects.filter(action="login_failed").count() == 1


# The admins' pages ---------------------------------------------------------------------


def test_the_audit_page_is_for_administrators_only(client):
    assert client.get("/audit/").status_code == 302
    for user in (
        person("karen@example.dk", Role.CLINICIAN, department(A)),
        person("lene@example.dk", Role.LEADERSHIP),
        person("it@example.dk", is_staff=True),
    ):
        client.force_login(user)
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/export.csv").status_code == 403


def test_admins_filter_the_log_by_user_action_department_and_date(client, admin):
    karen = person("karen@example.dk", Role.CLINICIAN, department(A))
    audit.record(request_from(user=karen), "patients_viewed", department=department(A))
    audit.record(request_from(user=karen), "export", department=department("6630220"))
    audit.record(request_from(), "login_failed", email="mallory@example.dk")

    def rows(**query):
        response = client.get("/audit/", query)
        assert response.status_code == 200
        return [(e.user_email, e.action) for e in response.context["page"]]

    assert rows(user="karen") == [
        ("karen@example.dk", "export"),
        ("karen@example.dk", "patients_viewed"),
    ]
    assert rows(action="patients_viewed") == [("karen@example.dk", "patients_viewed")]
    assert rows(department="6630220") == [("karen@example.dk", "export")]
    assert rows(date_from="2000-01-01", date_to="2000-01-02") == []
    html = client.get("/audit/", {"action": "login_failed"}).content.decode()
    assert "mallory@example.dk" in html and "Mislykket log ind" in html


def test_the_audit_page_reads_as_text_and_its_table_scrolls_in_its_box(client, admin):
    karen = person("karen@example.dk", Role.CLINICIAN, department(A))
    detail = {"indicator": "major_complication", "period": "2024-11", "events": 2, "site": ""}
    audit.record(
        request_from(user=karen), "patients_viewed", department=department(A), detail=detail
    )
    html = client.get("/audit/").content.decode()
    assert '<div class="table-scroll">\n<table class="data audit">' in html
    assert "indicator:</span> major_complication" in html
    assert "events:</span> 2" in html
    assert "site:" not in html  # an empty value says nothing
    assert '{"events"' not in html and "&quot;events&quot;" not in html  # no raw JSON
    top = html[html.index('<header class="topbar">') : html.index("</header>")]
    assert ">Adgangslog</a>" in top and "Revisionslog" not in html


def test_the_detail_of_a_role_change_is_one_line_per_key():
    from departments.views import detail_lines

    detail = {
        "granted": [{"department": "4202200", "hospital": "", "role": "clinician"}],
        "via": "",
    }
    assert detail_lines(detail) == [("granted", "department: 4202200, role: clinician")]
    assert detail_lines(None) == []


def test_the_audit_page_is_paginated_keeping_the_filter(client, admin):
    for _ in range(55):
        audit.record(request_from(), "login_failed", email="mallory@example.dk")
    html = client.get("/audit/", {"action": "login_failed"}).content.decode()
    assert "Side 1 af 2" in html
    assert "?action=login_failed&amp;page=2" in html


def test_the_export_is_a_csv_of_the_filtered_log_and_is_itself_audited(client, admin):
    audit.record(request_from(agent="=cmd|' /C calc'!A0"), "login_failed", email="m@example.dk")
    audit.record(request_from(), "rollback", target="extract:7")
    response = client.get("/audit/export.csv", {"action": "login_failed"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.splitlines()
    assert response["Content-Disposition"].startswith('attachment; filename="adgangslog-')
    assert lines[0].startswith("id;created_at;user_email;action;department_code")
    assert len(lines) == 2 and "m@example.dk;login_failed" in lines[1]
    assert ";'=cmd" in lines[1]  # a spreadsheet will not run it as a formula
    export = AuditEvent.objects.get(action="export")
    assert (export.user, export.target) == (admin, "audit.csv")
    assert export.detail["action"] == "login_failed"


def test_the_export_writes_formulas_as_text_and_numbers_as_numbers(client, admin):
    audit.record(request_from(agent="-3"), "export", target='=HYPERLINK("http://x")')
    response = client.get("/audit/export.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    (row,) = [r for r in csv.reader(io.StringIO(body), delimiter=";") if "HYPERLINK" in r[5]]
    assert row[5] == '\'=HYPERLINK("http://x")'  # a spreadsheet shows it, never follows it
    assert row[8] == "-3"  # a number is left a number


# Role changes ---------------------------------------------------------------------------


def test_role_changes_in_the_django_admin_are_recorded(client, admin):
    karen = person("karen@example.dk")
    a = department(A)
    prefix = "roles"
    form = {
        "email": karen.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-role": "clinician",
        f"{prefix}-0-department": str(a.pk),
        f"{prefix}-0-user": str(karen.pk),
    }
    response = client.post(f"/admin/departments/user/{karen.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert RoleAssignment.objects.filter(user=karen, role="clinician", department=a).exists()
    event = AuditEvent.objects.get(action="role_changed", target="karen@example.dk")
    assert event.user == admin
    assert event.detail["granted"] == [
        {"role": "clinician", "department": A, "hospital": "", "region": "", "source": "portal"}
    ]
    assert event.detail["via"] == "admin"


def test_granting_a_role_in_code_is_recorded_once():
    from departments.services import grant_role

    karen = person("karen@example.dk")
    grant_role(karen, Role.CLINICIAN, department=department(A), via="test")
    grant_role(karen, Role.CLINICIAN, department=department(A), via="test")
    (event,) = AuditEvent.objects.filter(action="role_changed")
    assert event.detail["via"] == "test" and event.department_code == A
