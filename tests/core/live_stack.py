"""Real servers for the outage tests: a private PostgreSQL cluster and gunicorn.

The cluster lives in a temporary folder on a free port, so stopping it touches nothing
else on the machine. initdb refuses to run as root, hence ``runuser -u postgres`` then.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from tests.checks.worker import process_stop

PG_BIN = Path("/usr/lib/postgresql/15/bin")
BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg(tool: str, *args: str, check: bool = True) -> None:
    cmd = [str(PG_BIN / tool), *args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if check and done.returncode:
        raise AssertionError(f"{tool} failed: {done.stderr}")


class PrivatePostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = str(folder / "data")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/statuspage"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        _pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _pg("pg_ctl", "-D", self.data, "-o", options, "-l", f"{self.folder}/log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        _pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=mode == "fast")


@contextmanager
def private_postgres():
    # Its own folder under /tmp: the postgres user cannot enter pytest's root-only ones.
    folder = Path(tempfile.mkdtemp(prefix="statuspage-pg-"))
    server = PrivatePostgres(folder)
    try:
        server.init()
        server.start()
        _pg("createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "statuspage")
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(folder, ignore_errors=True)


def stack_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The production settings (DEBUG off) against ``database_url``."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STATUSPAGE_VAR_DIR": str(var_dir),
        "STATUS_SNAPSHOT_DIR": str(var_dir / "snapshots"),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CACHE_KEY_PREFIX": f"live-{os.getpid()}",
        **extra,
    }
    env.pop("DEBUG", None)
    env.pop("DATABASE_TEST_NAME", None)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def http(method: str, url: str, *, headers=None, body: bytes | None = None, timeout=10.0):
    """(status, headers, body, seconds) of one request; error statuses are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, got, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, got, content = exc.code, exc.headers, exc.read()
    return status, got, content, time.monotonic() - started


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 2):
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "statuspage.wsgi", "-w", str(workers)]
    cmd += ["-b", f"127.0.0.1:{port}", "--timeout", "60"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", f"{base}/health", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process_stop(process, timeout=10)


def load_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])
