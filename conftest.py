"""Fixtures shared by the whole suite.

The tests run against the real PostgreSQL and Redis. Under CI (CI=true) a test that needs a
service that is missing fails; on a laptop it is skipped with the reason, so `pytest` still runs.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip on a laptop, fail in CI: a missing service must never pass silently there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


AUDIT_TRUNCATE_TRIGGER = "departments_auditevent_no_truncate"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # A transactional test (and live_server) ends with one TRUNCATE of every table, which
    # migration departments/0005 refuses for the audit log, as production must. The guard is
    # off in the test database only; test_audit.py turns it on to test it.
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [AUDIT_TRUNCATE_TRIGGER])
        if cursor.fetchone():  # not there with --no-migrations
            cursor.execute(
                f"ALTER TABLE departments_auditevent DISABLE TRIGGER {AUDIT_TRUNCATE_TRIGGER}"
            )


@pytest.fixture
def postgres(db):
    from django.db import connection

    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL=postgres://…)")
    return connection


@pytest.fixture(scope="session")
def redis_url() -> str:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    require(bool(url) and url.startswith("redis://"), "needs Redis (set CELERY_BROKER_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require(False, f"Redis at {url} does not answer: {exc}")
    return url


@pytest.fixture(autouse=True)
def _test_settings(request):
    # The pure modules (stats, synthetic) are also tested without Django (`-p no:django`).
    if not request.config.pluginmanager.hasplugin("django"):
        return
    settings = request.getfixturevalue("settings")
    # Production redirects to HTTPS; the test client speaks plain HTTP unless a test says not.
    settings.SECURE_SSL_REDIRECT = False
    # Production serves hashed files from `collectstatic`; tests render pages without running it
    # (test_static.py runs the real collectstatic once).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process, for tests whose subject is not the task machinery."""
    from qualityportal.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
