"""From drop to current: extract files are put in the inbox as a delivering machine does (written
as ``.part``, then renamed) while Celery beat and a real worker run as in production; each drop
is timed until a computation of its extract is current. And the cost of a poll of an empty
inbox, the work beat asks for every minute."""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.processes import Server, servers
from bench.workers import wait_ready

DROP_SECONDS = 300.0
EMPTY_POLLS = 200


def measure(paths: list[str]) -> dict:
    """(Django is set up.)"""
    from django.conf import settings
    from django.utils import timezone

    from indicators.models import Computation, Extract
    from indicators.registry import catalog
    from indicators.services import inbox
    from qualityportal.celery import app

    assert not app.conf.task_always_eager, "the inbox stage needs CELERY_BROKER_URL"
    app.control.purge()  # tasks earlier stages left in the bench broker
    work = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
    box = work / "inbox"
    for slug in catalog.slugs():
        (box / slug).mkdir(parents=True)
    settings.INBOX_DIR = box
    env = {"INBOX_DIR": str(box)}
    result: dict = {"poll_every_seconds": settings.INBOX_POLL_SECONDS, "drops": []}
    with servers() as started:
        worker = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "qualityportal",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "-n",
            "inbox@127.0.0.1",
            "-l",
            "WARNING",
        ]
        beat = [sys.executable, "-m", "celery", "-A", "qualityportal", "beat", "-s",
                str(work / "beat-schedule"), "-l", "WARNING"]  # fmt: skip
        started.append(Server("inbox@127.0.0.1", worker, env))
        wait_ready(app, started)
        started.append(Server("beat", beat, env))

        # An empty poll, as beat asks for it every minute (here in this process).
        inbox.poll()
        times = []
        for _ in range(EMPTY_POLLS):
            begin = time.perf_counter()
            inbox.poll()
            times.append(time.perf_counter() - begin)
        times.sort()
        result["empty_poll_ms_median"] = statistics.median(times) * 1000
        result["empty_poll_ms_p95"] = times[int(0.95 * (len(times) - 1))] * 1000

        # A delivery arrives at any moment of beat's minute: each drop waits a random part of it
        # first (a drop right after the previous one became current would always land just
        # after a poll, the worst case).
        phases = random.Random(12).sample(range(settings.INBOX_POLL_SECONDS), len(paths))
        for number, source in enumerate(paths):
            name = f"levering-{number}.csv"
            part = box / "dccg" / f"{name}.part"
            part.write_bytes(Path(source).read_bytes())
            time.sleep(phases[number])
            begin = time.perf_counter()
            dropped = timezone.now()
            part.rename(box / "dccg" / name)  # the drop: complete from now on
            deadline = time.monotonic() + DROP_SECONDS
            while True:
                for server in started:
                    server.check_alive()
                extract = Extract.objects.filter(file_name=name).first()
                if extract is not None and extract.uploaded_at < dropped:
                    raise RuntimeError(f"{name} is a repeat of extract {extract.pk}: reset first")
                if extract is not None and extract.status == "failed":
                    raise RuntimeError(f"{name}: {extract.message_en}")
                if (
                    extract is not None
                    and Computation.objects.filter(extract=extract, is_current=True).exists()
                ):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not current after {DROP_SECONDS:.0f} s")
                time.sleep(0.1)
            seconds = time.perf_counter() - begin
            waited = (extract.uploaded_at - dropped).total_seconds()
            left = [p for p in (box / "dccg").rglob("*") if p.is_file()]
            result["drops"].append(
                {"seconds": seconds, "rows": extract.rows_imported, "via": extract.via,
                 "waited_for_poll": waited, "import_and_recompute": seconds - waited,
                 "files_left": len(left)}
            )  # fmt: skip
    result["drop_to_current_median"] = statistics.median(d["seconds"] for d in result["drops"])
    assert not any(d["files_left"] for d in result["drops"]), result["drops"]
    return result
