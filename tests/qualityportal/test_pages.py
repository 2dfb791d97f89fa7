from __future__ import annotations

import pytest

from departments.models import User

pytestmark = pytest.mark.django_db


def test_login_page_is_danish_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="da">' in html
    assert "Kvalitetsportal" in html


def test_home_sends_anonymous_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_user_logs_in_with_email_and_password(client):
    User.objects.create_user("karen@example.dk", "a-Good-passw0rd")
    response = client.post(
        "/accounts/login/",
        {"login": "karen@example.dk", "password": "a-Good-passw0rd"},
        follow=True,
    )
    assert response.status_code == 200
    assert "karen@example.dk" in response.content.decode()


def test_open_signup_is_closed(client):
    response = client.get("/accounts/signup/")
    html = response.content.decode()
    assert "Lukket for nye konti" in html
    assert 'name="password1"' not in html


def test_language_switch_to_english(client):
    user = User.objects.create_user("karen@example.dk", "a-Good-passw0rd")
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log out" in html


def test_a_refused_request_is_logged_in_one_line_without_a_traceback(client, caplog):
    import logging

    from departments.models import Role
    from tests.departments.people import department, person

    client.force_login(person("kliniker-log@example.dk", Role.CLINICIAN, department()))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/audit/").status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and "\n" not in record.getMessage()


def test_error_pages_sit_in_the_portals_frame_with_a_way_back(client):
    from django.template.loader import render_to_string

    from departments.models import Role
    from tests.departments.people import department, person

    client.force_login(person("kliniker-fejl@example.dk", Role.CLINICIAN, department()))
    missing = client.get("/departments/9999999/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert "Siden findes ikke" in html and 'class="topbar"' in html and "Til forsiden" in html
    denied = client.get("/audit/")
    assert denied.status_code == 403
    html = denied.content.decode()
    assert "Ingen adgang" in html and "No access" in html and 'href="/"' in html
    crashed = render_to_string("500.html")
    assert "Der skete en fejl" in crashed and "Something went wrong" in crashed
