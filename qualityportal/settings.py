"""Kvalitetsportal settings: one module, read from the environment.

The defaults run on a laptop with nothing else installed (SQLite under ``var/``, Celery tasks
run in-process). Production sets ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``SECRET_KEY``,
``PSEUDONYM_KEY`` and ``ALLOWED_HOSTS``; see README.md (and docs/accounts.md for single sign-on,
two-factor authentication and the audit log).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from qualityportal.env import (
    database_from_url,
    env_bool,
    env_int,
    env_int_map,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)

# Without DEBUG this is production: refuse to start on made-up secrets rather than run with
# a guessable session key or a pseudonym key that would make CPR pseudonyms reversible.
_DEV_SECRET = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
_DEV_PSEUDONYM = "development-only-pseudonym-key"
SECRET_KEY = env_str("SECRET_KEY") or (_DEV_SECRET if DEBUG else None)
PSEUDONYM_KEY = env_str("PSEUDONYM_KEY") or (_DEV_PSEUDONYM if DEBUG else None)
_missing = [
    name
    for name, value in (("SECRET_KEY", SECRET_KEY), ("PSEUDONYM_KEY", PSEUDONYM_KEY))
    if not value
]
if _missing:
    raise ImproperlyConfigured(
        "Kvalitetsportal will not start in production without "
        + " and ".join(_missing)
        + ". Set them in the environment (or as *_FILE pointing at a file holding the value), "
        "or set DEBUG=1 for a development server."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "csp",
    "qualityportal",
    "departments",
    "indicators",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "departments.middleware.RequireMFAForPatientRoles",
]

ROOT_URLCONF = "qualityportal.urls"
WSGI_APPLICATION = "qualityportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "qualityportal.context_processors.portal",
                "departments.context_processors.portal_access",
                "indicators.context_processors.late_deliveries",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}", BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "departments.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: e-mail login, no open sign-up (accounts are made by an administrator, by
# invitation or by single sign-on). See docs/accounts.md.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "departments.adapters.NoSignupAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's rate limits are on by default; spelled out so that nobody turns them off by
# accident. They count in the cache: set CACHE_URL so that every web worker shares the count.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # Per client address and per account: 10 failures a minute from one address block that
    # address only; 5 wrong passwords for one account, from anywhere, block it for 5 minutes.
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
# Behind the TLS proxy every request comes from the proxy's address, so per address would mean
# one client's failed logins lock out everyone. allauth then takes the client's address from
# X-Forwarded-For, counting this many proxies back from the end (each proxy appends the address
# it saw; what the client sent itself comes earlier and is ignored). 0: REMOTE_ADDR is the client.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0 if DEBUG else 1)

# Two-factor authentication (TOTP, with recovery codes). Optional for everyone; with
# MFA_REQUIRED_FOR_PATIENT_ROLES clinicians and coordinators (who see patient rows) must set it
# up before they can open any other page.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Kvalitetsportal"
MFA_REQUIRED_FOR_PATIENT_ROLES = env_bool("MFA_REQUIRED_FOR_PATIENT_ROLES", default=False)

# Single sign-on through OpenID Connect (e.g. a region's Entra ID), only when configured.
SOCIALACCOUNT_ADAPTER = "departments.adapters.PortalSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
# Connect an SSO login to an existing account with the same e-mail address only if the identity
# provider's addresses are trusted (an organisation's own tenant).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = env_bool("OIDC_TRUST_EMAIL", default=False)
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = SOCIALACCOUNT_EMAIL_AUTHENTICATION
OIDC_ROLES_CLAIM = env_str("OIDC_ROLES_CLAIM") or "roles"
OIDC_PROVIDER_ID = env_str("OIDC_PROVIDER_ID") or "sso"
_oidc = {
    "client_id": env_str("OIDC_CLIENT_ID"),
    "secret": env_str("OIDC_CLIENT_SECRET"),
    "server_url": env_str("OIDC_SERVER_URL"),
}
OIDC_ENABLED = all(_oidc.values())
SOCIALACCOUNT_PROVIDERS: dict = {}
if OIDC_ENABLED:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": env_str("OIDC_PROVIDER_NAME") or "Regionens log-in",
                "client_id": _oidc["client_id"],
                "secret": _oidc["secret"],
                "settings": {
                    "server_url": _oidc["server_url"],
                    "token_auth_method": env_str("OIDC_TOKEN_AUTH_METHOD") or "client_secret_post",
                    "oauth_pkce_enabled": True,
                    # The e-mail claim is a verified work address only if the tenant says so.
                    "verified_email": SOCIALACCOUNT_EMAIL_AUTHENTICATION,
                },
            }
        ],
    }
elif any(_oidc.values()):
    raise ImproperlyConfigured(
        "Single sign-on needs all of OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_SERVER_URL; "
        "missing: " + ", ".join(f"OIDC_{k.upper()}" for k, v in _oidc.items() if not v)
    )

# The audit log records REMOTE_ADDR; behind one trusted proxy that sets X-Forwarded-For, set
# this to record the address the proxy saw instead.
AUDIT_TRUST_X_FORWARDED_FOR = env_bool("AUDIT_TRUST_X_FORWARDED_FOR", default=False)

# Internationalisation: Danish first, English second. Numbers are shown the Danish way in both.
LANGUAGE_CODE = "da"
LANGUAGES = [("da", _("Dansk")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["qualityportal.formats"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "qualityportal.staticfinders.PlotlyJsFinder",
]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "media/"
# Uploaded extracts are large; stream them to disk rather than hold them in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Raw extracts waiting for the worker hold CPR numbers: readable by the portal's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 512 * 1024 * 1024)
# The inbox: one folder per registry (INBOX_DIR/<slug>/) that a delivering machine writes
# extracts into; poll_inbox (and Celery beat, every INBOX_POLL_SECONDS) takes every complete
# file (indicators/services/inbox.py). A claimed file left this long by a killed poller is
# taken again.
INBOX_DIR = Path(env_str("INBOX_DIR") or VAR_DIR / "inbox")
INBOX_POLL_SECONDS = env_int("INBOX_POLL_SECONDS", 60)
INBOX_STALE_SECONDS = env_int("INBOX_STALE_SECONDS", 15 * 60)
# Checked while the body streams (qualityportal.uploads); partial files only ever in one folder,
# swept of leftovers when the portal starts.
FILE_UPLOAD_HANDLERS = [
    "qualityportal.uploads.GuardedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = str(Path(env_str("FILE_UPLOAD_TEMP_DIR") or VAR_DIR / "uploads-tmp"))
# Counts from 1 to this less one are hidden from viewers outside the department's scope
# (indicators.disclosure, docs/privacy.md).
SMALL_NUMBER_THRESHOLD = env_int("SMALL_NUMBER_THRESHOLD", 5)

# Celery: without a broker, tasks run in-process so `make run` needs nothing else.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or None
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 60)
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_TIMEZONE = TIME_ZONE

_cache_url = env_str("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Security. Behind a TLS-terminating proxy in production; all of this passes check --deploy.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# In production cookies travel over HTTPS only, even with SECURE_SSL_REDIRECT off (a proxy that
# redirects by itself): a session cookie sent once over plain HTTP is a stolen session. The
# browser tests, which talk plain HTTP to a local server, turn this off in their fixture.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the age above is then an idle timeout

# Content security policy: nothing from other hosts, no inline scripts (pages hand data over
# with json_script and load their JS from static/). plotly.js injects <style> elements, hence
# 'unsafe-inline' for styles only. A form may post to the identity provider (SSO redirect).
_form_action = ["'self'"]
if OIDC_ENABLED:
    from urllib.parse import urlsplit

    _idp = urlsplit(_oidc["server_url"])
    _form_action.append(f"{_idp.scheme}://{_idp.netloc}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": _form_action,
    }
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
# Seconds: a mail server that does not answer must not hold a web worker (password reset).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kvalitetsportal@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "filters": {"one_line_denials": {"()": "qualityportal.logs.OneLineDenials"}},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["one_line_denials"]},
    },
}

# How often each registry's extract is expected, in days, over what its profile says
# (``expected_every_days``): DELIVERY_EXPECTED_EVERY_DAYS="dccg=7,kraeftpakke=1"; 0 turns the
# watch off for that registry. Older data is late: coordinators are told (docs/deliveries.md).
DELIVERY_EXPECTED_EVERY_DAYS = env_int_map("DELIVERY_EXPECTED_EVERY_DAYS", {})

# Celery beat: send again work that waited too long for a worker (the broker was down, or a
# worker died mid-task); see indicators/services/maintenance.py. And look for late deliveries
# (indicators/services/deliveries.py).
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-work": {"task": "indicators.tasks.requeue_stale_task", "schedule": 120.0},
    "poll-inbox": {
        "task": "indicators.tasks.poll_inbox_task",
        "schedule": float(INBOX_POLL_SECONDS),
    },
    "check-late-deliveries": {
        "task": "indicators.tasks.check_deliveries_task",
        "schedule": 15 * 60.0,
    },
}
