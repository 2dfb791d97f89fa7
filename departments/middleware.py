"""Two-factor authentication for the roles that see patient rows, when a setting requires it."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from departments.access import needs_second_factor

# Pages a person must reach to set up TOTP (or to leave): the MFA pages, re-authentication
# (which activating TOTP asks for), logging out, the language switch, health and static files.
_EXEMPT_NAMES = ("mfa_index", "account_reauthenticate", "account_logout", "set_language", "healthz")
# The machine clients' delivery API knows no session (dashboards/views/feeds.py): it answers a
# request with a session cookie as an anonymous one, in JSON, never with a redirect to a page.
_FEED_API = "/api/v1/registries/"


class RequireMFAForPatientRoles:
    """With ``MFA_REQUIRED_FOR_PATIENT_ROLES`` on, a clinician or coordinator without a TOTP
    authenticator is sent to the TOTP set-up page from every other page."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._exempt: tuple[str, ...] | None = None

    def _exempt_prefixes(self) -> tuple[str, ...]:
        if self._exempt is None:
            self._exempt = (
                *(reverse(name) for name in _EXEMPT_NAMES),
                settings.STATIC_URL,
                _FEED_API,
            )
            self._exempt = tuple(p if p.startswith("/") else "/" + p for p in self._exempt)
        return self._exempt

    def __call__(self, request):
        if self._must_set_up(request):
            messages.info(
                request,
                _(
                    "Du ser patientdata og skal derfor bruge tofaktorgodkendelse. "
                    "Opsæt en godkendelsesapp for at fortsætte."
                ),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    def _must_set_up(self, request) -> bool:
        if not getattr(settings, "MFA_REQUIRED_FOR_PATIENT_ROLES", False):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if request.path.startswith(self._exempt_prefixes()):
            return False
        return needs_second_factor(user) and not is_mfa_enabled(
            user, types=[Authenticator.Type.TOTP]
        )
