"""``/healthz``: does the portal reach its database and its broker? And, for the operator, how
fresh each registry's data is (``registries``; late data does not make the portal unhealthy)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the reason is for the operator
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "in-process"}
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            # Opening a channel makes the transport talk to the server, not just build a client.
            conn.default_channel  # noqa: B018
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "mode": "broker"}


def registries() -> list[dict] | None:
    """Each registry's newest extract, its age, the expected interval and whether it is late
    (indicators.services.deliveries): one query. None when it cannot be read."""
    from indicators.services.deliveries import deliveries

    try:
        return [delivery.as_health() for delivery in deliveries()]
    except Exception as exc:
        logger.warning("healthz: registries not read (%s)", type(exc).__name__)
        return None


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    ok = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ok else "unavailable", **checks}
    body["registries"] = registries() if checks["database"]["ok"] else None
    return JsonResponse(body, status=200 if ok else 503)
