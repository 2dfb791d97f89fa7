"""Worker throughput: the same bursts of queued recomputes drained by 1 and then by 2 real Celery
workers on the bench broker, timed from the first task queued until every computation is done.

Two bursts: one recompute per department (the scope a change marker or a department's new
targets queues) and full recomputes of the current extract (what an import queues).
"""

from __future__ import annotations

import sys
import time

from bench.processes import Server, servers

READY_SECONDS = 90.0
STANDBY_QUEUE = "bench-standby"
DRAIN_SECONDS = 900.0


def start_worker(name: str, queue: str, started: list[Server]) -> None:
    """A worker as production runs it (prefork, here one child so that the number of workers is
    the number of tasks at a time) consuming ``queue``."""
    argv = [sys.executable, "-m", "celery", "-A", "qualityportal", "worker", "--pool", "prefork",
            "--concurrency", "1", "-Q", queue, "-n", name, "-l", "WARNING"]  # fmt: skip
    started.append(Server(name, argv))


def wait_ready(app, started: list[Server]) -> None:
    """Until every worker answers a ping."""
    deadline = time.monotonic() + READY_SECONDS
    waiting = {server.name for server in started}
    while waiting:
        for server in started:
            server.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not ready after {READY_SECONDS:.0f} s: {sorted(waiting)}")
        for reply in app.control.ping(destination=sorted(waiting), timeout=0.5):
            waiting -= set(reply)


def wait_idle(app, started: list[Server]) -> None:
    """Until no worker runs a task (a computation is done before it prunes old results)."""
    names = [server.name for server in started]
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        active = app.control.inspect(destination=names, timeout=0.5).active() or {}
        if len(active) == len(names) and not any(active.values()):
            return
        for server in started:
            server.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers still busy after {DRAIN_SECONDS:.0f} s: {active}")
        time.sleep(0.05)


def tasks_by_worker(app, started: list[Server]) -> dict[str, int]:
    names = [server.name for server in started]
    stats = app.control.inspect(destination=names, timeout=2.0).stats() or {}
    return {name: sum(stats.get(name, {}).get("total", {}).values()) for name in names}


def drain(registry, scopes: list[list[int] | None], started: list[Server]) -> dict:
    """Queue one recompute per scope (a department's id, or None: everything), each in its own
    transaction and sent on commit as the portal does, and wait until all are done."""
    from indicators.tasks import queue_recompute

    begin = time.perf_counter()
    ids = [
        queue_recompute(registry.pk, reason="benchmark: workers", department_ids=scope).pk
        for scope in scopes
    ]
    wait_done(ids, started)
    seconds = time.perf_counter() - begin
    return {"seconds": seconds, "tasks_per_minute": len(ids) * 60 / seconds}


def warm_up(registry, department_id: int, queues: list[str], started: list[Server]) -> None:
    """A one-department recompute through each worker first (a worker's first task opens its
    database connection and fills its caches), so that neither run pays a cold start."""
    from indicators.services.computations import create_computation
    from indicators.tasks import recompute_task

    ids = []
    for queue in queues:
        computation = create_computation(
            registry, reason="benchmark: warm-up", departments=[department_id]
        )
        recompute_task.apply_async((computation.pk,), queue=queue)
        ids.append(computation.pk)
    wait_done(ids, started)


def wait_done(ids: list[int], started: list[Server]) -> None:
    """Until none of the computations is queued or running; each must be done."""
    from indicators.models import Computation

    S = Computation.Status
    pending = Computation.objects.filter(pk__in=ids, status__in=[S.QUEUED, S.RUNNING])
    deadline = time.monotonic() + DRAIN_SECONDS
    while pending.exists():
        for server in started:
            server.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending.count()} computations not done after {DRAIN_SECONDS} s")
        time.sleep(0.02)
    failed = Computation.objects.filter(pk__in=ids).exclude(status=S.DONE)
    assert not failed.exists(), [(c.pk, c.status, c.error_en) for c in failed]


def check_current(registry) -> int:
    """The current computation still holds every result it claims (nothing pruned under it)."""
    from indicators.models import Computation, Result

    current = Computation.objects.get(registry=registry, is_current=True)
    held = Result.objects.filter(computation=current).count()
    assert held == current.result_count, (current.pk, held, current.result_count)
    return held


def measure(department_tasks: int, full_tasks: int) -> dict:
    """Both bursts with 1 worker, then with 2 (Django is set up)."""
    from indicators.models import Extract, OperationRow, Registry
    from qualityportal.celery import app

    assert not app.conf.task_always_eager, "the workers stage needs CELERY_BROKER_URL"
    registry = Registry.objects.get(slug="dccg")
    extract = Extract.objects.get(registry=registry, is_current=True)
    departments = list(
        OperationRow.objects.filter(extract=extract)
        .values_list("department_id", flat=True)
        .distinct()
        .order_by("department_id")
    )
    bursts = {
        "department": [[departments[i % len(departments)]] for i in range(department_tasks)],
        "full": [None] * full_tasks,
    }
    result: dict = {name: {"tasks": len(scopes)} for name, scopes in bursts.items()} | {
        "rows": extract.rows_imported
    }
    app.control.purge()  # tasks earlier stages left in the bench broker
    queue = app.conf.task_default_queue
    with servers() as started:
        # Both start side by side (a worker takes seconds to import the project); the second
        # stands by on a queue of its own until it is told to consume the real one.
        start_worker("bench1@127.0.0.1", queue, started)
        start_worker("bench2@127.0.0.1", STANDBY_QUEUE, started)
        wait_ready(app, started)
        warm_up(registry, departments[0], [queue, STANDBY_QUEUE], started)
        before = tasks_by_worker(app, started)
        for count in (1, 2):
            if count == 2:
                replies = app.control.add_consumer(
                    queue, destination=[started[1].name], reply=True, timeout=5.0
                )
                assert replies and "ok" in next(iter(replies[0].values())), replies
            for name, scopes in bursts.items():
                wait_idle(app, started)
                result[name][f"workers_{count}"] = drain(registry, scopes, started)
        after = tasks_by_worker(app, started)
        result["tasks_by_worker"] = {name: after[name] - before[name] for name in after}
        # Otherwise "2 workers" was one worker twice.
        assert all(result["tasks_by_worker"].values()), result["tasks_by_worker"]
    for name in bursts:
        one, two = result[name]["workers_1"], result[name]["workers_2"]
        result[name]["speedup"] = two["tasks_per_minute"] / one["tasks_per_minute"]
    result["results_held"] = check_current(registry)
    return result
