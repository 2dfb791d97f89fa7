"""Single sign-on: the roles claim becomes portal roles; only SSO may create accounts.

The identity provider is the one thing not run for real: its three HTTP answers (discovery,
token, userinfo) are served by a stand-in, so allauth's own OpenID Connect flow runs unchanged.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from allauth.socialaccount.models import SocialAccount, SocialLogin

from departments import access
from departments.adapters import (
    PortalSocialAccountAdapter,
    claims_of,
    parse_role,
    roles_from_claims,
)
from departments.models import AuditEvent, Role, RoleAssignment, User
from departments.services import RoleGrant, grant_role, sync_sso_roles
from tests.departments.people import A, B, department, person

pytestmark = pytest.mark.django_db

IDP = "https://login.example.org/tenant/v2.0"


# The claim format ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "grant"),
    [
        ("clinician:4202200", RoleGrant("clinician", department="4202200")),
        (" Coordinator:6630220 ", RoleGrant("coordinator", department="6630220")),
        ("leadership", RoleGrant("leadership")),
        ("leadership:region:1085", RoleGrant("leadership", region="1085")),
        ("leadership:hospital:4202", RoleGrant("leadership", hospital="4202")),
        ("admin", RoleGrant("admin")),
        ("clinician", None),
        ("admin:4202200", None),
        ("leadership:ward:1", None),
        ("Mail.Read", None),
        ("", None),
    ],
)
def test_a_claim_value_is_read_as_a_role_at_a_place(value, grant):
    assert parse_role(value) == grant


def test_the_roles_claim_may_be_a_list_or_a_single_string_and_is_configurable(settings):
    assert roles_from_claims({"roles": "admin"}) == [RoleGrant("admin")]
    assert roles_from_claims({"roles": ["admin", "Other.App"]}) == [RoleGrant("admin")]
    settings.OIDC_ROLES_CLAIM = "groups"
    assert roles_from_claims({"roles": ["admin"], "groups": ["leadership"]}) == [
        RoleGrant("leadership")
    ]
    assert roles_from_claims({}) == []


def test_the_id_token_wins_over_userinfo_because_entra_puts_roles_only_there():
    login = SimpleNamespace(
        account=SimpleNamespace(
            extra_data={
                "userinfo": {"email": "k@example.dk", "roles": ["stale"]},
                "id_token": {"roles": ["admin"]},
            }
        )
    )
    assert claims_of(login) == {"email": "k@example.dk", "roles": ["admin"]}


# Syncing roles -------------------------------------------------------------------------


def test_sso_roles_follow_the_claim_and_portal_roles_stay():
    a, b = department(A), department(B)
    karen = person("karen@example.dk")
    grant_role(karen, Role.COORDINATOR, department=b)  # given in the portal
    outcome = sync_sso_roles(
        karen, [RoleGrant("clinician", department=A), RoleGrant("clinician", department="0000000")]
    )
    assert [g["department"] for g in outcome["granted"]] == [A]
    assert outcome["unknown"] == [RoleGrant("clinician", department="0000000")]
    assert RoleAssignment.objects.get(user=karen, department=a).source == "sso"

    outcome = sync_sso_roles(karen, [RoleGrant("leadership", region="1085")])
    assert [r["department"] for r in outcome["revoked"]] == [A]
    assert set(RoleAssignment.objects.filter(user=karen).values_list("role", "source")) == {
        ("coordinator", "portal"),
        ("leadership", "sso"),
    }
    assert {d.code for d in access.departments_for(karen, "aggregate")} == {A, B}
    changes = AuditEvent.objects.filter(action="role_changed", detail__via="sso")
    assert changes.count() == 2


def test_a_role_already_given_in_the_portal_is_not_duplicated_or_removed_by_sso():
    a = department(A)
    karen = person("karen@example.dk", Role.CLINICIAN, a)
    sync_sso_roles(karen, [RoleGrant("clinician", department=A)])
    sync_sso_roles(karen, [])
    assert RoleAssignment.objects.get(user=karen).source == "portal"


def test_signup_through_sso_is_open_only_to_a_person_the_claim_gives_a_role():
    adapter = PortalSocialAccountAdapter()

    def login(roles):
        return SimpleNamespace(account=SimpleNamespace(extra_data={"id_token": {"roles": roles}}))

    assert adapter.is_open_for_signup(None, login(["leadership"]))
    assert not adapter.is_open_for_signup(None, login(["Some.Other.App"]))
    assert not adapter.is_open_for_signup(None, login([]))


# The whole flow through allauth --------------------------------------------------------


class FakeResponse:
    def __init__(self, payload: dict):
        self.status_code = 200
        self.headers = {"content-type": "application/json"}
        self.text = json.dumps(payload)
        self.content = self.text.encode()

    def json(self):
        return json.loads(self.text)

    def raise_for_status(self):
        return None


class FakeIdentityProvider:
    """Discovery, token and userinfo answers of an OpenID Connect provider."""

    def __init__(self, claims: dict):
        self.claims = claims

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get(self, url, **kwargs):
        if url.endswith("/.well-known/openid-configuration"):
            return FakeResponse(
                {
                    "issuer": IDP,
                    "authorization_endpoint": f"{IDP}/authorize",
                    "token_endpoint": f"{IDP}/token",
                    "userinfo_endpoint": f"{IDP}/userinfo",
                    "jwks_uri": f"{IDP}/keys",
                }
            )
        if url == f"{IDP}/userinfo":
            return FakeResponse({"sub": self.claims["sub"], "email": self.claims["email"]})
        raise AssertionError(f"unexpected GET {url}")

    def request(self, method, url, **kwargs):
        assert (method, url) == ("POST", f"{IDP}/token")
        id_token = jwt.encode(
            {"iss": IDP, "aud": "portal-client", **self.claims}, "k" * 32, algorithm="HS256"
        )
        return FakeResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})


@pytest.fixture
def sso(settings, monkeypatch):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Regionens log-in",
                    "client_id": "portal-client",
                    "secret": "s3cret",
                    "settings": {"server_url": IDP, "token_auth_method": "client_secret_post"},
                }
            ],
        }
    }

    def log_in(client, claims: dict):
        monkeypatch.setattr(
            PortalSocialAccountAdapter,
            "get_requests_session",
            lambda self: FakeIdentityProvider(claims),
        )
        start = client.post("/accounts/oidc/sso/login/")
        assert start.status_code == 302 and start.url.startswith(f"{IDP}/authorize"), start
        state = parse_qs(urlsplit(start.url).query)["state"][0]
        return client.get("/accounts/oidc/sso/login/callback/", {"code": "c", "state": state})

    return log_in


def test_a_new_person_with_a_role_claim_gets_an_account_with_those_roles(client, sso):
    department(A)
    response = sso(
        client,
        {"sub": "u-1", "email": "karen@region.dk", "roles": ["clinician:4202200", "Other.App"]},
    )
    assert response.status_code == 302 and response.url == "/"
    user = User.objects.get(email="karen@region.dk")
    assert not user.has_usable_password()
    assert SocialAccount.objects.get(user=user).uid == "u-1"
    assert {d.code for d in access.departments_for(user, "patients")} == {A}
    assert client.get("/", follow=True).status_code == 200
    assert AuditEvent.objects.filter(action="login", user=user).exists()


def test_at_the_next_login_a_withdrawn_role_is_gone(client, sso):
    department(A), department(B)
    sso(client, {"sub": "u-1", "email": "karen@region.dk", "roles": ["clinician:4202200"]})
    client.logout()
    sso(client, {"sub": "u-1", "email": "karen@region.dk", "roles": ["clinician:6630220"]})
    user = User.objects.get(email="karen@region.dk")
    assert {d.code for d in access.departments_for(user, "patients")} == {B}


def test_a_person_without_a_portal_role_gets_no_account(client, sso):
    response = sso(client, {"sub": "u-2", "email": "visitor@region.dk", "roles": ["Mail.Read"]})
    assert response.status_code == 200
    assert "Lukket for nye konti" in response.content.decode()
    assert not User.objects.filter(email="visitor@region.dk").exists()


def test_the_login_page_offers_single_sign_on_when_configured(client, sso):
    html = client.get("/accounts/login/").content.decode()
    assert "Log ind med Regionens log-in" in html
    assert 'action="/accounts/oidc/sso/login/' in html


def test_a_sociallogin_object_is_what_the_adapter_reads():
    # The attribute path the adapter relies on, on allauth's real classes.
    login = SocialLogin(
        user=User(email="x@example.dk"),
        account=SocialAccount(provider="sso", extra_data={"id_token": {"roles": ["admin"]}}),
    )
    assert roles_from_claims(claims_of(login)) == [RoleGrant("admin")]
