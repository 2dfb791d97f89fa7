"""Celery tasks: thin, they take ids and call a service; each is safe to run twice."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from indicators.models import Computation, Registry
from indicators.registry.importer import run_import
from indicators.services.computations import create_computation, run_computation

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def import_extract_task(extract_id: int) -> dict:
    outcome = run_import(extract_id)
    return {"extract": outcome.extract.pk, "status": outcome.extract.status}


@shared_task(acks_late=True)
def recompute_task(computation_id: int) -> dict:
    computation = run_computation(computation_id)
    return {"computation": computation.pk, "status": computation.status}


def queue_recompute(
    registry_id: int,
    *,
    reason: str,
    department_ids: Iterable[int] | None = None,
    definition_ids: Iterable[int] | None = None,
) -> Computation:
    """Queue a recompute of the registry's current extract, sent once this transaction commits.

    Everything, or only the results of the given departments and/or definitions (the others
    are copied from the current computation). Without a broker the task runs at once.
    """
    computation = create_computation(
        Registry.objects.get(pk=registry_id),
        reason=reason,
        departments=department_ids,
        definitions=definition_ids,
    )
    transaction.on_commit(lambda: send(recompute_task, computation.pk))
    return computation


def send(task, object_id: int) -> bool:
    """Hand a task to the broker; when the broker is down the work stays queued in the database
    (its status says so) and ``requeue_stale`` sends it again later."""
    try:
        task.delay(object_id)
    except OperationalError:
        logger.warning("broker unavailable; %s(%s) stays queued", task.name, object_id)
        return False
    return True


@shared_task
def requeue_stale_task() -> dict:
    """Run by Celery beat every few minutes (CELERY_BEAT_SCHEDULE)."""
    from indicators.services.maintenance import requeue_stale

    requeued = requeue_stale()
    return {"extracts": requeued.extracts, "computations": requeued.computations}


@shared_task
def check_deliveries_task() -> dict:
    """Run by Celery beat every 15 minutes (CELERY_BEAT_SCHEDULE): tell coordinators of a late
    registry, once per late episode (indicators.services.deliveries)."""
    from indicators.services.deliveries import check_late

    checked = check_late()
    return {"late": checked.late, "notified": checked.notified, "failed": checked.failed}


@shared_task
def poll_inbox_task() -> dict:
    """Run by Celery beat every minute (CELERY_BEAT_SCHEDULE): take the inbox's complete files."""
    from indicators.services.inbox import poll

    result = poll()
    return {
        "taken": len(result.taken),
        "waiting": result.waiting,
        "unknown": result.unknown,
        "skipped": result.skipped,
    }
