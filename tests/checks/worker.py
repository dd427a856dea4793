"""A real Celery worker process for integration tests, on the test database and Redis."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from statuspage.celery import app

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(text in line for line in self.lines) >= count:
                return
            if self.process.poll() is not None:
                raise AssertionError("worker exited:\n" + "".join(self.lines[-40:]))
            time.sleep(0.05)
        raise AssertionError(f"{text!r} x{count} not seen in:\n" + "".join(self.lines[-40:]))

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]


def process_stop(process: subprocess.Popen, *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _database_url() -> str:
    """The URL of the test database pytest-django created (not the configured one)."""
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


@contextmanager
def celery_worker(
    *,
    concurrency: int = 2,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    name: str = "test",
) -> Iterator[WorkerProcess]:
    """A worker on the test database; ``args`` and ``env`` add to its command and
    environment (a location worker: ``--location``, ``CHECK_LOCATIONS``)."""
    app.control.purge()
    env = {**os.environ, **(env or {}), "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "statuspage", "worker", "-l", "INFO",
         "-c", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{name}-{os.getpid()}@%h", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker = WorkerProcess(process)

    def read() -> None:
        for line in process.stdout:
            worker.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        worker.wait_for("ready.", timeout=60)
        yield worker
    finally:
        process_stop(process, timeout=20)
        app.control.purge()


@contextmanager
def celery_beat(var_dir: Path, *, env: Mapping[str, str] | None = None) -> Iterator[Path]:
    """Celery beat on the test database, its state and log (``beat.log``, returned) in
    ``var_dir``; ``env`` adds to its environment."""
    env = {**os.environ, **(env or {}), "DATABASE_URL": _database_url(),
           "STATUSPAGE_VAR_DIR": str(var_dir)}  # fmt: skip
    path = var_dir / "beat.log"
    log = path.open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "statuspage", "beat", "-l", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield path
    finally:
        process_stop(process, timeout=20)
        log.close()


def wait_until(predicate, timeout: float, what: str):
    """``predicate``'s first true value, polled every 0.25 s; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what}: not reached in {timeout:.0f}s")
