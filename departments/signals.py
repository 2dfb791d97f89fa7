"""Audit of logins, failed logins and logouts, from Django's and allauth's authentication signals.

Django sends these for every way in (the login page, single sign-on, the Django admin), so the
audit cannot miss one. They only record; no other behaviour hangs on them.
"""

from __future__ import annotations

from allauth.mfa.signals import authentication_failed
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from departments import audit
from departments.models import AuditAction


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    audit.record(
        request, AuditAction.LOGIN, user=user, detail={"backend": getattr(user, "backend", "")}
    )


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password; the identifier tried is what is worth keeping.
    tried = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit.record(request, AuditAction.LOGIN_FAILED, user=None, email=tried, target=tried)


@receiver(authentication_failed, dispatch_uid="audit_second_factor_failed")
def audit_second_factor_failed(sender, request, user, authenticator, **kwargs) -> None:
    """A right password with a wrong code from the authenticator app is a failed login too."""
    audit.record(
        request,
        AuditAction.LOGIN_FAILED,
        user=user,
        target=user.email,
        detail={
            "second_factor": authenticator.type,
            "reauthentication": bool(kwargs.get("reauthentication")),
        },
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(request, AuditAction.LOGOUT, user=user)
