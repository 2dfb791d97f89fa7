"""A real Celery worker, the real Redis broker and the real PostgreSQL: a recompute queued on
commit runs in the worker and its results land in the database; a second delivery does nothing.
"""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from indicators.models import Computation, Result
from indicators.registry.importer import import_path
from indicators.tasks import recompute_task
from qualityportal.celery import app
from tests.indicators.indicator_rows import HAND_ROWS, ensure_standard_definitions, write_csv

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(condition, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the worker")


@pytest.fixture
def worker(redis_url, postgres, monkeypatch):
    """A worker thread on a queue of its own, so no other test's worker takes our tasks."""
    queue = f"test-recompute-{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(recompute_task, "queue", queue, raising=False)
    # A task caches its routing options the first time it is sent (eagerly, in other tests).
    monkeypatch.setattr(recompute_task, "_exec_options", None, raising=False)
    finished: dict[str, object] = {}

    def on_postrun(task_id=None, retval=None, **kwargs):
        finished[task_id] = retval
        connections.close_all()  # the worker thread's own connection; the test DB is dropped later

    task_postrun.connect(on_postrun, weak=False)
    selected, eager = app.amqp.queues._consume_from, app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            yield finished
    finally:
        task_postrun.disconnect(on_postrun)
        app.amqp.queues._consume_from, app.conf.task_always_eager = selected, eager
        redis.Redis.from_url(redis_url).delete(queue)


def test_the_worker_recomputes_on_commit_and_the_results_land_in_postgres(tmp_path, worker):
    ensure_standard_definitions()
    # The import makes the extract current and, once that has committed, queues the recompute.
    extract = import_path(write_csv(tmp_path, HAND_ROWS)).extract
    queued = Computation.objects.get(extract=extract)
    done = wait_for(
        lambda: Computation.objects.filter(pk=queued.pk, status__in=["done", "failed"]).first()
    )
    assert done.status == "done", done.error_en
    assert done.is_current and done.extract_id == extract.pk and done.progress == 100
    assert Result.objects.filter(computation=done).count() == done.result_count > 0
    ids = set(Result.objects.filter(computation=done).values_list("pk", flat=True))

    # The broker delivers the same task again (acks_late, a lost worker): nothing changes.
    again = recompute_task.apply_async(args=[queued.pk])
    assert wait_for(lambda: worker.get(again.id)) == {"computation": queued.pk, "status": "done"}
    assert set(Result.objects.filter(computation=done).values_list("pk", flat=True)) == ids
    assert Computation.objects.get(pk=queued.pk).finished_at == done.finished_at
    assert Computation.objects.count() == 1
