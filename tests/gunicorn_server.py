"""A real gunicorn serving the app on the test database, for tests across real sockets."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.checks.worker import _database_url, process_stop
from tests.private_redis import free_port
from tests.reverse_proxy import call

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Gunicorn:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gunicorn(folder: Path, *, workers: int = 1, **env: str) -> Iterator[Gunicorn]:
    """gunicorn on a free port, with the test database and ``env`` over this environment."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = Gunicorn(port=port, log=folder / "gunicorn.log")
    environment = {**os.environ, "DATABASE_URL": _database_url(), **env}
    with server.log.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "statuspage.wsgi", f"--bind=127.0.0.1:{port}",
             f"--workers={workers}", "--no-control-socket", "--graceful-timeout=5"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if call(port, "GET", "/health").status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("gunicorn did not start:\n" + server.log.read_text()[-3000:])
            time.sleep(0.1)
        yield server
    finally:
        process_stop(process, timeout=15)
