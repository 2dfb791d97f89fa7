"""Keeping background work moving when a broker or a worker let it down.

Work is recorded in the database before it is sent (an extract or a computation with status
"queued"), so nothing is lost when the broker is down or a worker dies: this sends again what
has waited too long, and hands a computation whose worker died back to the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from indicators.models import Computation, Extract

logger = logging.getLogger(__name__)


@dataclass
class Requeued:
    extracts: list[int]
    computations: list[int]


UNDER_WAY = (Extract.Status.READING, Extract.Status.VALIDATING, Extract.Status.LOADING)


def _end_stuck_imports(before) -> None:
    """An import under way since ``before`` lost its worker (killed, or its connection cut where
    nothing could catch it); its transaction was rolled back. With its upload still on disk it
    starts over; without, it ends as failed with a message, never stays "loading" forever."""
    from indicators.registry.errors import reason
    from indicators.registry.importer import discard_upload, fail_import

    stuck = Extract.objects.filter(status__in=UNDER_WAY, started_at__lt=before)
    for extract in stuck:
        if extract.upload and extract.upload.storage.exists(extract.upload.name):
            Extract.objects.filter(pk=extract.pk, status=extract.status).update(
                status=Extract.Status.QUEUED, progress=0
            )
            continue
        fail_import(extract.pk, reason("interrupted", detail="timeout"), status=extract.status)
        discard_upload(extract.pk)
        logger.warning("import of extract %s ended as failed: no worker for too long", extract.pk)


def requeue_stale(
    *, queued_for: timedelta = timedelta(minutes=2), running_for: timedelta | None = None
) -> Requeued:
    """Send again the uploads and computations that have waited ``queued_for`` without a worker
    taking them, and put back computations ``running_for`` longer than any task may run."""
    from indicators.tasks import import_extract_task, recompute_task, send

    now = timezone.now()
    if running_for is None:
        running_for = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    # A worker killed mid-computation leaves "running" behind; its transaction was rolled back,
    # so the computation can start over from the beginning.
    Computation.objects.filter(
        status=Computation.Status.RUNNING, started_at__lt=now - running_for
    ).update(status=Computation.Status.QUEUED, progress=0)
    _end_stuck_imports(now - running_for)
    extracts = list(
        Extract.objects.filter(
            status=Extract.Status.QUEUED, uploaded_at__lt=now - queued_for
        ).values_list("pk", flat=True)
    )
    computations = list(
        Computation.objects.filter(
            status=Computation.Status.QUEUED, created_at__lt=now - queued_for
        ).values_list("pk", flat=True)
    )
    sent_extracts = [pk for pk in extracts if send(import_extract_task, pk)]
    sent_computations = [pk for pk in computations if send(recompute_task, pk)]
    if sent_extracts or sent_computations:
        logger.info("requeued extracts %s, computations %s", sent_extracts, sent_computations)
    return Requeued(sent_extracts, sent_computations)
