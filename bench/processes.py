"""Child servers of a bench stage (gunicorn, Celery workers): started in their own process group,
logged to a file, and always stopped, group and all, when the stage ends or fails."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """One child process group whose output goes to a log file (shown when something breaks)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.terminated = False
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
        with self.log.open("wb") as out:
            # A session of its own: the group is the server and every child it forks.
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> None:
        """SIGTERM to the leader, once: gunicorn and Celery then stop their own children (a
        running task finishes first)."""
        if not self.terminated:
            self.terminated = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)

    def stop(self, grace: float = 20.0) -> None:
        """Terminate, then SIGKILL whatever is left of the group after ``grace`` seconds."""
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.unlink(missing_ok=True)


@contextlib.contextmanager
def servers() -> Iterator[list[Server]]:
    """A list to append servers to; every one is stopped on the way out, also on failure. On
    failure their logs' tails go to stderr first."""
    started: list[Server] = []
    try:
        yield started
    except BaseException:
        for server in started:
            print(f"--- {server.name} log (tail) ---\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        for server in started:  # all at once: they shut down side by side
            server.terminate()
        for server in started:
            server.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
