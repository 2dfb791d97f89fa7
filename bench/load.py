"""A bounded load test on loopback: gunicorn as production runs it, driven by wrk.

gunicorn (2 sync workers, production settings) listens on 127.0.0.1; wrk keeps a fixed number
of connections busy on one page at a time for a fixed time, each request carrying one of several
logged-in sessions and the ``X-Forwarded-Proto: https`` header the TLS-terminating proxy sets in
production, so the portal runs with its HTTPS settings (redirect, secure cookies) as deployed.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.processes import Server, free_port, servers

LUA = Path(__file__).with_name("wrk_report.lua")
WORKERS = 2
CONNECTIONS = 8
SESSIONS = 8  # logged-in sessions per page, taken in turn (SESSION_SAVE_EVERY_REQUEST writes)
TIMEOUT = "30s"  # wrk's own is 2 s; a slow answer is seen in p99, an error is a real failure
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
READY_SECONDS = 60.0


def session_cookies(user, count: int) -> list[str]:
    """``count`` fresh sessions of ``user``, as Cookie header values."""
    from django.conf import settings
    from django.test import Client

    cookies = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies.append(f"{name}={client.cookies[name].value}")
    return cookies


def start_gunicorn(port: int, started: list[Server]) -> Server:
    from django.conf import settings

    env = {
        "DEBUG": "0",
        # The production default (the Makefile turns it off for tests); requests carry the
        # proxy's header, so the portal sees HTTPS.
        "SECURE_SSL_REDIRECT": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        # A cache shared by the workers, in Redis as in production: the bench broker's database
        # unless CACHE_URL is set (Django's keys have a prefix of their own).
        "CACHE_URL": os.environ.get("CACHE_URL") or settings.CELERY_BROKER_URL,
    }
    argv = [sys.executable, "-m", "gunicorn", "qualityportal.wsgi:application", "--bind",
            f"127.0.0.1:{port}", "--workers", str(WORKERS), "--timeout", "120",
            "--access-logfile", "-", "--no-control-socket"]  # fmt: skip
    # No control socket: its default path is shared by every gunicorn of the user.
    server = Server("gunicorn", argv, env)
    started.append(server)
    deadline = time.monotonic() + READY_SECONDS
    while True:
        server.check_alive()
        try:
            if get(port, "/healthz")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn not answering /healthz after {READY_SECONDS:.0f} s")
        time.sleep(0.2)


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, str]:
    """(status, body) of one GET; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = dict(PROXY_HEADERS)
        if cookie:
            headers["Cookie"] = cookie
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


def check_page(port: int, name: str, path: str, cookies: list[str], marker: str) -> None:
    """Each session gets the real page (200 and its marker), not a redirect to the login page.
    Also warms both gunicorn workers."""
    for cookie in cookies or [None]:
        status, body = get(port, path, cookie)
        if status != 200 or marker not in body:
            raise AssertionError(f"{name} {path}: status {status}, {marker!r} not in the page")


def run_wrk(port: int, path: str, cookies: list[str], seconds: int) -> dict:
    header_args = [
        arg for name, value in PROXY_HEADERS.items() for arg in ("-H", f"{name}: {value}")
    ]
    url = f"http://127.0.0.1:{port}{path}"
    argv = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", f"--timeout={TIMEOUT}",
            *header_args, "-s", str(LUA), url, "--", *cookies]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"wrk printed no report:\n{out.stdout}\n{out.stderr}")
    result = json.loads(lines[-1])
    result["client_cpu_seconds"] = round(
        after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2
    )
    return result


def logged_errors(server: Server) -> int:
    """Lines of the server's log that report an error (a traceback, a worker timeout)."""
    text = server.log.read_text(encoding="utf-8", errors="replace")
    return sum(
        1
        for line in text.splitlines()
        if " ERROR " in line or "[ERROR]" in line or "[CRITICAL]" in line or "Traceback" in line
    )


def measure(seconds: int, department, clinician, leader) -> dict:
    """Each page under load for ``seconds``: the login page, the clinician's department
    dashboard, the leader's overview (Django is set up)."""
    from django.utils.html import escape

    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    pages = {
        "login": ("/accounts/login/", [], 'id="id_login"'),
        "dashboard": (
            f"/departments/{department.code}/",
            session_cookies(clinician, SESSIONS),
            f"<h1>{escape(department.name or department.code)}</h1>",
        ),
        "overview": ("/overview/", session_cookies(leader, SESSIONS), "<h1>Ledelsesoverblik</h1>"),
    }
    result: dict = {
        "gunicorn_workers": WORKERS,
        "connections": CONNECTIONS,
        "sessions": SESSIONS,
        "seconds": seconds,
        "wrk_timeout": TIMEOUT,
    }
    port = free_port()
    with servers() as started:
        server = start_gunicorn(port, started)
        for name, (path, cookies, marker) in pages.items():
            check_page(port, name, path, cookies, marker)
        for name, (path, cookies, marker) in pages.items():
            page = result[name] = run_wrk(port, path, cookies, seconds)
            page["path"] = path
            # 3xx is not an error to wrk, but every page here answers 200 unless, say, a
            # session was lost: counted apart, and judged with the errors.
            page["redirects"] = page["not_200"] - page["bad_status"]
            # Still the real page after the run: the sessions survived the load.
            check_page(port, name, path, cookies[:1], marker)
        server.check_alive()
        result["server_log_errors"] = logged_errors(server)
    result["errors"] = sum(result[name]["errors"] for name in pages)
    result["redirects"] = sum(result[name]["redirects"] for name in pages)
    return result
