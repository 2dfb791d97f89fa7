"""Account settings from the environment: single sign-on, two-factor, CSP, idle sessions."""

from __future__ import annotations

import json

import pytest

from tests.qualityportal.test_settings import PRODUCTION_ENV, run_manage

PRINT = (
    "from django.conf import settings; import json; print(json.dumps({"
    "'providers': settings.SOCIALACCOUNT_PROVIDERS, 'mfa': settings.MFA_REQUIRED_FOR_PATIENT_ROLES,"
    "'form_action': settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'],"
    "'idle': settings.SESSION_COOKIE_AGE, 'claim': settings.OIDC_ROLES_CLAIM,"
    "'rate': settings.ACCOUNT_RATE_LIMITS}))"
)
OIDC = {
    "OIDC_CLIENT_ID": "portal",
    "OIDC_CLIENT_SECRET": "s3cret",
    "OIDC_SERVER_URL": "https://login.microsoftonline.com/tenant-id/v2.0",
}


def settings_with(**env) -> dict:
    result = run_manage("shell", "-c", PRINT, env={**PRODUCTION_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_oidc_variables_there_is_no_single_sign_on_and_no_mfa_requirement():
    found = settings_with()
    assert found["providers"] == {}
    assert found["mfa"] is False
    assert found["form_action"] == ["'self'"]
    assert found["idle"] == 30 * 60
    assert found["rate"]["login_failed"]


def test_oidc_variables_configure_one_provider_and_let_forms_post_to_it():
    found = settings_with(
        **OIDC,
        OIDC_ROLES_CLAIM="groups",
        MFA_REQUIRED_FOR_PATIENT_ROLES="1",
        SESSION_IDLE_MINUTES="15",
    )
    (app,) = found["providers"]["openid_connect"]["APPS"]
    assert (app["provider_id"], app["client_id"], app["secret"]) == ("sso", "portal", "s3cret")
    assert app["settings"]["server_url"] == OIDC["OIDC_SERVER_URL"]
    assert found["form_action"] == ["'self'", "https://login.microsoftonline.com"]
    assert (found["claim"], found["mfa"], found["idle"]) == ("groups", True, 15 * 60)


def test_half_an_oidc_configuration_refuses_to_start():
    result = run_manage("check", env={**PRODUCTION_ENV, "OIDC_CLIENT_ID": "portal"})
    assert result.returncode != 0
    assert "OIDC_CLIENT_SECRET" in result.stderr and "OIDC_SERVER_URL" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_every_template_hands_data_over_without_inline_scripts():
    # json_script output (type="application/json") is data, not script: CSP allows it.
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline = []
    for template in root.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", template.read_text(encoding="utf-8")):
            if "src=" not in tag and "application/json" not in tag:
                inline.append(f"{template.relative_to(root)}: {tag}")
    assert inline == []
