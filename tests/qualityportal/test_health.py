from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_and_broker_answer(client, postgres, redis_url, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/healthz", secure=True)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"] == {"ok": True, "mode": "broker"}


def test_healthz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Nothing listens on port 1: the connection is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz", secure=True)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


def test_healthz_needs_no_login_and_tells_no_secrets(client):
    response = client.get("/healthz", secure=True)
    assert response.status_code in (200, 503)
    assert "password" not in response.content.decode().lower()
