"""Faults the portal must survive, against the real PostgreSQL, Redis and Celery workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from indicators.models import Computation, Extract, OperationRow, Result
from indicators.registry import importer
from indicators.registry.importer import import_path, queue_upload
from indicators.services import computations
from indicators.services.maintenance import requeue_stale
from tests.indicators.extract_files import SAMPLE, csv_text

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db(transaction=True)


def result_values(computation: Computation) -> set[tuple]:
    return set(
        Result.objects.filter(computation=computation).values_list(
            "definition__slug", "department_id", "period_type", "period_start",
            "numerator", "denominator", "missing", "value",
        )
    )  # fmt: skip


def libpq_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def wait_for(condition, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def test_a_connection_cut_during_an_import_fails_cleanly_and_the_file_imports_afterwards(
    tmp_path, monkeypatch, postgres
):
    first = import_path(SAMPLE).extract
    real_load = importer.load_rows
    path = tmp_path / "new.csv"
    path.write_text(csv_text(), encoding="utf-8")

    def load_then_cut(table, profile, extract_id, validated, department_ids):
        # rows are in, not committed
        written = real_load(table, profile, extract_id, validated, department_ids)
        pid = connection.connection.info.backend_pid
        with psycopg.connect(libpq_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The next statement of the import finds its connection gone.
        OperationRow.objects.filter(extract_id=extract_id).count()
        return written

    monkeypatch.setattr(importer, "load_rows", load_then_cut)
    failed = import_path(path).extract
    assert failed.status == "failed"
    assert "afbrudt" in failed.message_da and "try again" in failed.message_en
    assert not OperationRow.objects.filter(extract=failed).exists()
    first.refresh_from_db()
    assert first.is_current

    monkeypatch.setattr(importer, "load_rows", real_load)
    again = import_path(path, force=True).extract  # 3 rows where A and B had many: forced
    assert again.status == "done" and again.is_current and again.rows_imported == 3


def test_the_same_import_delivered_twice_changes_nothing(tmp_path, settings, eager_tasks):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("x.csv", csv_text().encode())
    with transaction.atomic():
        extract = queue_upload(upload).extract  # runs on commit, in-process
    extract.refresh_from_db()
    assert extract.status == "done"
    rows = OperationRow.objects.count()
    outcome = importer.run_import(extract.pk)
    assert outcome.extract.status == "done" and OperationRow.objects.count() == rows


def test_an_upload_made_while_the_broker_was_down_is_processed_when_it_returns(
    tmp_path, settings, eager_tasks
):
    settings.MEDIA_ROOT = tmp_path
    eager_tasks.conf.task_always_eager = False
    old_url = eager_tasks.conf.broker_url
    eager_tasks.conf.broker_url = "redis://127.0.0.1:1/0"  # the broker is down
    eager_tasks.conf.broker_connection_retry = False
    eager_tasks.conf.broker_connection_max_retries = 0
    try:
        with transaction.atomic():
            extract = queue_upload(SimpleUploadedFile("x.csv", csv_text().encode())).extract
    finally:
        eager_tasks.conf.broker_url = old_url
        eager_tasks.conf.task_always_eager = True
    extract.refresh_from_db()
    assert extract.status == "queued"  # kept, not lost
    assert Path(extract.upload.path).is_file()
    requeued = requeue_stale(queued_for=timedelta(0))
    assert extract.pk in requeued.extracts
    extract.refresh_from_db()
    assert extract.status == "done" and extract.is_current


def test_two_recomputes_racing_equal_one_clean_run(postgres):
    registry = import_path(SAMPLE).extract.registry
    clean = computations.recompute(registry, reason="clean")
    expected = result_values(clean)
    done: list[Computation] = []

    def run():
        try:
            done.append(computations.recompute(registry, reason="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(c.status for c in done) == ["done", "done"]
    current = Computation.objects.get(is_current=True)
    assert current.pk in {c.pk for c in done}
    assert result_values(current) == expected


@pytest.mark.worker
def test_a_worker_killed_mid_recompute_leaves_the_previous_results_current(
    postgres, redis_url, tmp_path
):
    registry = import_path(SAMPLE).extract.registry
    before = computations.recompute(registry, reason="before")
    expected = result_values(before)
    queue = f"faults-{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": libpq_url().replace("postgresql://", "postgres://"),
        "CELERY_BROKER_URL": redis_url,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "qualityportal", "worker", "-P", "solo",
        "-Q", queue, "--without-gossip", "--without-mingle", "--loglevel=WARNING",
    ]  # fmt: skip
    from indicators.tasks import recompute_task

    worker = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        doomed = computations.create_computation(registry, reason="doomed")
        # Hold the registry's lock so the worker stops right before it writes its results.
        with psycopg.connect(libpq_url()) as blocker:
            blocker.execute("SET lock_timeout = '30s'")
            blocker.execute(
                "SELECT 1 FROM indicators_registry WHERE id = %s FOR NO KEY UPDATE", [registry.pk]
            )
            recompute_task.apply_async(args=[doomed.pk], queue=queue)
            wait_for(
                lambda: Computation.objects.filter(pk=doomed.pk, progress=70).exists(), timeout=30
            )
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            # PostgreSQL notices a dead client only when it next talks to it; a backend waiting
            # on a lock never does. End the dead worker's backends as a restart would.
            blocker.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
                [connection.connection.info.backend_pid],
            )
            blocker.rollback()
        doomed.refresh_from_db()
        assert doomed.status == "running" and not doomed.is_current
        assert Computation.objects.get(is_current=True) == before
        assert result_values(before) == expected
        assert not Result.objects.filter(computation=doomed).exists()

        # The stale computation goes back to the queue and a new worker finishes it.
        worker = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        from qualityportal.celery import app

        old = app.conf.task_default_queue
        app.conf.task_default_queue = queue
        try:
            recompute_task._exec_options = None  # routing is cached per task
            requeued = requeue_stale(queued_for=timedelta(0), running_for=timedelta(0))
        finally:
            app.conf.task_default_queue = old
            recompute_task._exec_options = None
        assert doomed.pk in requeued.computations
        wait_for(
            lambda: not Computation.objects.filter(status__in=["queued", "running"]).exists(),
            timeout=90,
        )
        doomed.refresh_from_db()
        assert doomed.status == "done"
        assert result_values(Computation.objects.get(is_current=True)) == expected
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        import redis

        redis.Redis.from_url(redis_url).delete(queue)


def test_the_server_shutting_down_mid_copy_ends_the_import_as_failed_not_loading(
    tmp_path, monkeypatch, postgres
):
    """psycopg's AdminShutdown raised inside the binary COPY (not wrapped by Django) used to
    leave the extract "loading" at 60 % for ever."""
    from indicators.registry import load

    first = import_path(SAMPLE).extract
    real_encoder = load._binary_encoder

    class CutAfterHeader:
        def __init__(self, encoder):
            self.encoder = encoder

        def write_header(self):
            return self.encoder.write_header()

        def write_batch(self, batch):
            pid = connection.connection.info.backend_pid
            with psycopg.connect(libpq_url(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            time.sleep(0.2)  # the backend is gone before the next bytes are sent
            return self.encoder.write_batch(batch)

        def finish(self):
            return self.encoder.finish()

    monkeypatch.setattr(
        load, "_binary_encoder", lambda schema: CutAfterHeader(real_encoder(schema))
    )
    path = tmp_path / "cut.csv"
    path.write_text(csv_text(), encoding="utf-8")
    failed = import_path(path).extract
    assert failed.status == "failed" and failed.progress == 100
    assert "afbrudt" in failed.message_da
    first.refresh_from_db()
    assert first.is_current
    assert not OperationRow.objects.filter(extract=failed).exists()


def test_an_import_stuck_under_way_is_ended_by_beat(tmp_path, postgres, settings):
    from datetime import timedelta

    from django.utils import timezone

    from indicators.services.maintenance import requeue_stale

    import_path(SAMPLE)
    stuck = Extract.objects.create(
        registry=Extract.objects.get().registry,
        file_name="stuck.csv",
        sha256="0" * 64,
        status="loading",
        progress=60,
        started_at=timezone.now() - timedelta(hours=3),
    )
    requeue_stale()
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "afbrudt" in stuck.message_da
