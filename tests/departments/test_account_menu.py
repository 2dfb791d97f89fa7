"""The account pages are one click away, and an account an administrator made can use them."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from departments.models import Role, User
from tests.departments.people import department, person

pytestmark = pytest.mark.django_db


def test_the_account_menu_leads_to_password_e_mail_and_two_factor(client):
    client.force_login(person("menu@example.dk", Role.CLINICIAN, department()))
    html = client.get("/departments/").content.decode()
    for url in ("/accounts/password/change/", "/accounts/email/", "/accounts/2fa/"):
        assert f'href="{url}"' in html


def test_an_account_an_administrator_made_can_set_up_two_factor(client):
    call_command("add_user", "ny@example.dk", "--role", "admin", "--no-password")
    user = User.objects.get(email="ny@example.dk")
    assert user.emailaddress_set.get().verified
    client.force_login(user)
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    assert "verify your email" not in page.content.decode().lower()
    assert "bekræft" not in page.content.decode().lower() or "e-mail" not in page.content.decode()


def test_the_login_message_is_the_portals_own_danish():
    from django.template.loader import render_to_string

    user = User(email="a@example.dk")
    assert render_to_string("account/messages/logged_in.txt", {"user": user}).strip() == (
        "Du er logget ind som a@example.dk."
    )


def test_every_message_allauth_can_show_is_the_portals_own_in_both_languages():
    from pathlib import Path

    import allauth
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils import translation

    ours = Path(settings.BASE_DIR) / "templates"
    theirs = Path(allauth.__file__).parent / "templates"
    context = {"email": "a@example.dk", "recipient": "a@example.dk", "phone": "+45 12345678"}
    for path in sorted(theirs.glob("*/messages/*.txt")):
        name = str(path.relative_to(theirs))
        assert (ours / name).exists(), f"{name} is allauth's, not the portal's"
        with translation.override("da"):
            danish = render_to_string(name, context).strip()
        with translation.override("en"):
            english = render_to_string(name, context).strip()
        assert danish and english and danish != english, name
        assert "succesfuldt" not in danish, name
