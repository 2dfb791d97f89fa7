"""allauth adapters: no open sign-up; single sign-on may create accounts and sets their roles.

Roles arrive in one claim of the OpenID Connect ID token (or the userinfo answer), by default
``roles`` (``OIDC_ROLES_CLAIM``), as a list of strings (a single string is read as a list;
Entra ID's app roles arrive this way):

- ``clinician:<department code>``, ``coordinator:<department code>``
- ``leadership`` (the whole country), ``leadership:region:<region code>``,
  ``leadership:hospital:<hospital code>``
- ``admin``

Anything else is ignored (and logged), so an identity provider may send roles of other
applications in the same claim. At every single sign-on login the user's SSO roles are made to
match the claim; roles given in the portal stay. See docs/accounts.md.
"""

from __future__ import annotations

import logging
import smtplib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings

from departments.models import Role
from departments.services import RoleGrant, sync_sso_roles

logger = logging.getLogger(__name__)

DEPARTMENT_ROLES = {Role.CLINICIAN.value, Role.COORDINATOR.value}


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message; the failure is logged."""


def _mail_failure(exc: OSError) -> str:
    """What went wrong, without the server's text: it may quote the recipient's address."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPException):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc.strerror or 'no detail'}"


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by an administrator or by invitation, never by open sign-up."""

    def is_open_for_signup(self, request) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        try:
            super().send_mail(template_prefix, email, context)
        except OSError as exc:  # smtplib's errors are OSErrors too
            # Never the address in the log: who asked for a password reset is nobody's business.
            logger.error("e-mail %s not sent: %s", template_prefix, _mail_failure(exc))
            raise MailNotSent from None


def parse_role(value: str) -> RoleGrant | None:
    """One claim value as a role at a place, or None if it is not one of ours."""
    parts = [part.strip() for part in str(value).strip().split(":")]
    role = parts[0].lower()
    if role in DEPARTMENT_ROLES and len(parts) == 2 and parts[1]:
        return RoleGrant(role, department=parts[1])
    if role == Role.LEADERSHIP:
        if len(parts) == 1:
            return RoleGrant(role)
        if len(parts) == 3 and parts[2] and parts[1].lower() in ("region", "hospital"):
            return RoleGrant(role, **{parts[1].lower(): parts[2]})
    if role == Role.ADMIN and len(parts) == 1:
        return RoleGrant(role)
    return None


def roles_from_claims(claims: dict, claim: str | None = None) -> list[RoleGrant]:
    """The portal roles named in ``claims[claim]``; values that are not roles are skipped."""
    claim = claim or getattr(settings, "OIDC_ROLES_CLAIM", "roles")
    raw = claims.get(claim) or []
    if isinstance(raw, str):
        raw = [raw]
    grants = []
    for value in raw:
        grant = parse_role(value)
        if grant is None:
            logger.info("single sign-on: %r in claim %r is not a portal role", value, claim)
        else:
            grants.append(grant)
    return grants


def claims_of(sociallogin) -> dict:
    """The identity provider's claims: the ID token's, with userinfo filling gaps.

    Entra ID puts app roles in the ID token only; allauth keeps both under ``extra_data``.
    """
    data = sociallogin.account.extra_data or {}
    if "id_token" in data or "userinfo" in data:
        return {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}
    return data


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: sign-up only for a person the claim gives a portal role; roles synced."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return bool(roles_from_claims(claims_of(sociallogin)))

    def pre_social_login(self, request, sociallogin) -> None:
        # Called after the account lookup: an existing user's roles follow the claim before the
        # login completes, so a role withdrawn in the identity provider is gone at once.
        if sociallogin.is_existing:
            self._sync(request, sociallogin)

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        self._sync(request, sociallogin)
        return user

    def _sync(self, request, sociallogin) -> None:
        outcome = sync_sso_roles(
            sociallogin.user, roles_from_claims(claims_of(sociallogin)), request=request
        )
        if outcome["unknown"]:
            logger.warning(
                "single sign-on for %s names places the portal does not know: %s",
                sociallogin.user.email,
                outcome["unknown"],
            )
