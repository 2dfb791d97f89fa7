"""In Chromium: logging in, the content security policy, MFA set-up and the audit log."""

from __future__ import annotations

import pytest

from departments.models import AuditEvent, Role
from tests.browser.conftest import log_in, screenshot
from tests.departments.people import PASSWORD, A, department, person
from tests.indicators.extract_files import ROWS, csv_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_coordinator_works_with_extracts_under_the_content_security_policy(
    page, eager_tasks, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    person("koordinator@example.dk", Role.COORDINATOR, department(A))
    log_in(page, "koordinator@example.dk", PASSWORD)
    path = tmp_path / "udtraek.csv"
    path.write_text(csv_text([*ROWS, dict(ROWS[0], asa="9")]), encoding="utf-8")
    page.goto(f"{page.base}/extracts/upload/")
    page.set_input_files("input[type=file]", str(path))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Afviste rækker")
    # The report page loads extract-progress.js from 'self'; Chromium reports any breach of the
    # policy (an inline script, a style or image from elsewhere) as a console error.
    assert page.inner_text("[data-field=imported]") == "3"
    assert page.console_errors == []
    assert AuditEvent.objects.filter(action="upload").exists()


def test_mfa_is_required_for_a_clinician_when_the_setting_is_on(page, settings):
    settings.MFA_REQUIRED_FOR_PATIENT_ROLES = True
    person("kliniker@example.dk", Role.CLINICIAN, department(A))
    page.goto(f"{page.base}/accounts/login/")
    page.fill("input[name=login]", "kliniker@example.dk")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    # Activating TOTP first asks for the password again, then shows the QR code (a data: image).
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state("networkidle")
    assert "/accounts/2fa/totp/activate/" in page.url
    screenshot(page, "mfa-activate")
    assert page.console_errors == []


def test_an_admin_reads_and_filters_the_audit_log(page):
    person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True)
    log_in(page, "admin@example.dk", PASSWORD)
    page.goto(f"{page.base}/audit/")
    page.select_option("select[name=action]", "login")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "action=login" in page.url
    assert "admin@example.dk" in page.inner_text("table")
    screenshot(page, "audit-log")
    assert page.console_errors == []


def test_the_django_admin_works_under_the_content_security_policy(page):
    person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True)
    karen = person("karen@example.dk", Role.CLINICIAN, department(A))
    log_in(page, "admin@example.dk", PASSWORD)
    for path in (
        "/admin/",
        f"/admin/departments/user/{karen.pk}/change/",
        "/admin/departments/auditevent/",
    ):
        page.goto(f"{page.base}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("#content").count() == 1, path
    # The admin's pages link no favicon, so Chromium's request for /favicon.ico is a 404; what
    # matters here is that nothing breaks the policy.
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []
