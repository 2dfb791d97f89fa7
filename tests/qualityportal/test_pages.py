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
