"""The production shape, started by the fault suite: gunicorn, a Celery worker and beat, on a
private PostgreSQL cluster and a private Redis, probing a local target.

Everything runs in a temp folder on free ports, so the machine's shared servers are never
touched; the tests stop and restart these private ones.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from checks.scheduling import slot_after
from tests.private_servers import PostgresServer, RedisServer, free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "faults"
CHECKS = 100
INTERVAL_S = 10
# Short lateness and sweep so gaps are recorded within the suite's time.
MAX_LATENESS_S = 8
GAP_SWEEP_S = 3


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.25, quiet=False):
    """Poll until ``predicate()`` is true; fail (or with ``quiet``, return) at the timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    if not quiet:
        raise AssertionError(f"{what}: not reached in {timeout:.0f}s (last: {last!r})")
    return last


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> None:
        handle = self.log.open("a")
        self.popen = subprocess.Popen(
            self.args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            return

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        self.kill_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group(signal.SIGKILL)
            self.popen.wait()

    def children(self) -> list[int]:
        pid = self.popen.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Stack:
    folder: Path
    pg: PostgresServer = field(init=False)
    redis: RedisServer = field(init=False)
    env: dict[str, str] = field(init=False)
    processes: dict[str, Process] = field(default_factory=dict)
    web_port: int = 0
    target_port: int = 0
    started_at: float = 0.0

    def __post_init__(self) -> None:
        self.pg = PostgresServer(self.folder / "pg")
        (self.folder / "redis").mkdir()
        self.redis = RedisServer(self.folder / "redis")
        self.web_port = free_port()
        self.target_port = free_port()
        var = self.folder / "var"
        var.mkdir()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.pg.url(DATABASE),
            "REDIS_URL": self.redis.url,
            "STATUSPAGE_VAR_DIR": str(var),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PROBE_MAX_LATENESS_S": str(MAX_LATENESS_S),
            "GAP_SWEEP_S": str(GAP_SWEEP_S),
            "DISPATCH_TICK_S": "1",
            "HEARTBEAT_INTERVAL_S": "5",
            # The target listens on loopback: allowed here, under both names of the setting.
            "CHECK_PRIVATE_TARGETS": "private,loopback",
            "WHITENOISE_USE_FINDERS": "true",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "statuspage.settings",
        }
        self.env.pop("DEBUG", None)

    def _process(self, name: str, args: list[str]) -> Process:
        process = Process(name, args, self.folder / f"{name}.log")
        self.processes[name] = process
        return process

    def _python(self, *args: str) -> list[str]:
        return [sys.executable, *args]

    def start(self) -> None:
        self.redis.start()
        target = self._process("target", self._python("tests/faults/target.py",
                                                      str(self.target_port)))  # fmt: skip
        target.start(self.env)
        self.pg.init()
        self.pg.start()
        with psycopg.connect(self.pg.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        subprocess.run(
            self._python("tests/faults/seed.py", str(self.target_port), str(CHECKS),
                         str(INTERVAL_S)),
            cwd=ROOT, env={**self.env, "PYTHONPATH": str(ROOT)}, check=True,
        )  # fmt: skip
        self.start_worker()
        self.start_beat("beat")
        web = self._process("web", self._python(
            "-m", "gunicorn", "statuspage.wsgi", "-b", f"127.0.0.1:{self.web_port}",
            "-w", "2", "--timeout", "30",
        ))  # fmt: skip
        web.start(self.env)
        wait_port(self.target_port, up=True)
        wait_port(self.web_port, up=True, timeout=60)
        wait_until(lambda: "ready." in self.processes["worker"].text(), timeout=60,
                   what="worker ready")  # fmt: skip
        self.started_at = time.time()

    def start_worker(self) -> None:
        worker = self.processes.get("worker") or self._process("worker", self._python(
            "-m", "celery", "-A", "statuspage", "worker", "-l", "INFO", "-c", "2",
            "--without-gossip", "--without-mingle", "-n", f"faults-{self.web_port}@%h",
        ))  # fmt: skip
        worker.start(self.env)

    def start_beat(self, name: str) -> Process:
        beat = self.processes.get(name) or self._process(name, self._python(
            "-m", "celery", "-A", "statuspage", "beat", "-l", "INFO",
            "-s", str(self.folder / f"{name}-schedule"),
        ))  # fmt: skip
        beat.start(self.env)
        return beat

    def stop(self) -> None:
        # All at once: a warm worker shutdown need not wait for the web server's.
        for process in self.processes.values():
            if process.alive():
                process.kill_group(signal.SIGTERM)
        for process in self.processes.values():
            process.stop(timeout=10)
        self.redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.pg.stop()

    # --- reading the outcome -------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.pg.url(DATABASE), autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def measured_since(self, slot: float) -> int:
        """How many checks have a measured (not skipped) result at a slot after ``slot``."""
        rows = self.query(
            "SELECT COUNT(DISTINCT check_id) FROM checks_result WHERE slot > %s AND outcome <> 4",
            (int(slot),),
        )
        return rows[0][0]

    def wait_recovered(self, since: float, *, timeout: float = 60.0) -> None:
        """Every check measured again after ``since``: the engine runs without a human."""
        wait_until(lambda: self.measured_since(since) >= CHECKS, timeout=timeout,
                   what=f"all {CHECKS} checks measured after the fault")  # fmt: skip

    def missing_slots(self, start: float, end: float) -> list[tuple[int, int]]:
        """Slots in [start, end) of every check with no result at all (measured or gap)."""
        start, end = int(start), int(end)
        checks = self.query("SELECT id, interval_s FROM checks_check ORDER BY id")
        stored = set(self.query(
            "SELECT check_id, slot FROM checks_result WHERE slot >= %s AND slot < %s",
            (start, end),
        ))  # fmt: skip
        missing = []
        for check_id, interval_s in checks:
            slot = slot_after(check_id=check_id, interval_s=interval_s, t=start - 1)
            while slot < end:
                if (check_id, slot) not in stored:
                    missing.append((check_id, slot))
                slot += interval_s
        return missing

    def duplicates(self) -> dict[str, int]:
        """Rows that break "once per slot": results, transitions (each must be 0)."""
        results = self.query(
            "SELECT COUNT(*) - COUNT(DISTINCT (check_id, slot)) FROM checks_result"
        )[0][0]
        transitions = self.query(
            "SELECT COUNT(*) - COUNT(DISTINCT (check_id, slot)) FROM checks_transition"
        )[0][0]
        return {"results": results, "transitions": transitions}

    def web_get(self, path: str) -> tuple[int, dict]:
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, {}

    def target_hits(self) -> int:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.target_port}/hits", timeout=5
        ) as response:
            return sum(json.loads(response.read()).values())


BATCH_LINE = re.compile(r"task=checks\.probe_batch .*duplicates=(\d+)")


def batch_duplicates(log_text: str) -> list[int]:
    return [int(m.group(1)) for m in BATCH_LINE.finditer(log_text)]
