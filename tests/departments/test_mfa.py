"""Two-factor authentication: optional, and required for patient roles when a setting says so."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from departments.models import Role
from tests.departments.people import A, department, person

pytestmark = pytest.mark.django_db

SETUP = "/accounts/2fa/totp/activate/"


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED_FOR_PATIENT_ROLES = True


def with_totp(user):
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


def test_when_required_a_clinician_without_totp_is_sent_to_set_it_up(client, required):
    client.force_login(person("karen@example.dk", Role.CLINICIAN, department(A)))
    response = client.get("/")
    assert response.status_code == 302 and response.url == SETUP
    response = client.get("/extracts/", follow=True)
    assert "tofaktorgodkendelse" in response.content.decode()


def test_when_required_a_coordinator_with_totp_goes_where_they_asked(client, required):
    client.force_login(with_totp(person("kasper@example.dk", Role.COORDINATOR, department(A))))
    assert client.get("/extracts/").status_code == 200


def test_the_setup_page_logout_and_language_switch_stay_reachable(client, required):
    client.force_login(person("karen@example.dk", Role.CLINICIAN, department(A)))
    for path in ("/accounts/2fa/", SETUP, "/healthz"):
        response = client.get(path)
        assert not (response.status_code == 302 and response.url == SETUP), path
    assert client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    assert client.post("/accounts/logout/").url == "/"


def test_leadership_and_admins_are_not_asked(client, required):
    for user in (
        person("lene@example.dk", Role.LEADERSHIP),
        person("anders@example.dk", Role.ADMIN, is_staff=True, is_superuser=True),
    ):
        client.force_login(user)
        response = client.get("/", follow=True)
        assert response.status_code == 200
        assert SETUP not in [url for url, _ in response.redirect_chain]


def test_without_the_setting_nobody_is_asked(client):
    client.force_login(person("karen@example.dk", Role.CLINICIAN, department(A)))
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(f"/departments/{A}/", 302)]


def test_anyone_may_set_up_totp_on_their_own(client):
    client.force_login(person("lene@example.dk", Role.LEADERSHIP))
    assert client.get("/accounts/2fa/").status_code == 200


def test_an_admin_sees_that_someone_has_a_second_factor_but_never_its_secret(client):
    karen = person("karen@example.dk", Role.CLINICIAN, department(A))
    totp = Authenticator.objects.create(
        user=karen, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    client.force_login(person("anders@example.dk", Role.ADMIN, is_staff=True, is_superuser=True))
    base = "/admin/mfa/authenticator/"
    assert "karen@example.dk" in client.get(base).content.decode()
    page = client.get(f"{base}{totp.pk}/change/")
    assert page.status_code == 200 and "JBSWY3DPEHPK3PXP" not in page.content.decode()
    assert client.post(f"{base}{totp.pk}/change/", {"data": "{}"}).status_code == 403
    # A lost phone: the admin removes the authenticator so the person can set up a new one.
    client.post(f"{base}{totp.pk}/delete/", {"post": "yes"})
    assert not Authenticator.objects.filter(user=karen).exists()


def test_a_wrong_second_factor_code_is_audited_as_a_failed_login(client):
    from departments.models import AuditAction, AuditEvent
    from tests.departments.people import PASSWORD

    karen = person("karen@example.dk", Role.CLINICIAN, department(A))
    secret = {"secret": "JBSWY3DPEHPK3PXP"}  # base32, as the authenticator app keeps it
    Authenticator.objects.create(user=karen, type=Authenticator.Type.TOTP, data=secret)
    answer = client.post("/accounts/login/", {"login": karen.email, "password": PASSWORD})
    assert answer.status_code == 302 and "/2fa/authenticate/" in answer["Location"]
    page = client.post(answer["Location"], {"code": "12345x"})  # never a valid code
    assert page.status_code == 200  # asked again, not let in
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, user=karen).get()
    assert failed.user_email == karen.email and failed.detail["second_factor"] == "totp"
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN, user=karen).exists()
