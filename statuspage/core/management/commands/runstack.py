"""`make run`: migrate, seed the demo catalog once, then run web + worker + beat and the
demo target (statuspage/core/demo_target.py, on PORT + 1) that demo checks watch.

Quiet unless LOG_LEVEL is set: one line per part started, then the URL and the login.

The three parts run as child processes, each in its own process group, so a Ctrl-C in
the terminal reaches only this process, which then stops them: SIGTERM to each, up to
STOP_TIMEOUT_S to finish, then SIGKILL to whatever is left of each group. If one part
dies on its own, the others are stopped and the command fails naming it.
"""

import contextlib
import ctypes
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

from statuspage.core.heartbeat import PARTS, heartbeat_age
from statuspage.core.localrun import local_checkout_mark
from statuspage.core.management.commands.admin_password import (
    ADMIN_USERNAME,
    password_file,
    password_keep,
    password_new,
)

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 10.0
WEB_START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0
SHOW_HINT = ".venv/bin/python manage.py admin_password"
RESET_HINT = f"{SHOW_HINT} --reset"
QUIET_LOG_LEVEL = "WARNING"
PR_SET_PDEATHSIG = 1

_print_lock = threading.Lock()


def say(line: str) -> None:
    """Whole lines only: the children's output is printed from several threads."""
    with _print_lock, contextlib.suppress(BrokenPipeError):
        # A closed terminal or pipe must not stop the shutdown of the children.
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, children get SIGTERM if this process is killed before it can stop them."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    if prctl is None:
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[str] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def spawn(self, env: dict[str, str], preexec: Callable[[], None] | None) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 (argv is built from fixed parts)
            self.argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Own process group: a terminal Ctrl-C is not delivered to it a second time.
            process_group=0,
            # Set before any reader thread starts: nothing can hold a lock at fork time.
            preexec_fn=preexec,
        )

    def pump_output(self) -> None:
        self.reader = threading.Thread(target=self._pump, name=f"out-{self.name}", daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            say(f"{self.name:<6} | {line.rstrip()}")

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()


def bin_path(name: str) -> str:
    """gunicorn and celery from this interpreter's environment, never from the PATH."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise CommandError(f"{path} is missing: run `make install` first")
    return str(path)


def log_level() -> str:
    """LOG_LEVEL when set; otherwise warnings only, so the login stays on screen."""
    return (os.environ.get("LOG_LEVEL") or QUIET_LOG_LEVEL).upper()


def child_specs(port: int, level: str) -> list[Child]:
    quiet = level not in ("DEBUG", "INFO")
    celery = [bin_path("celery"), "-A", "statuspage", *(["--quiet"] if quiet else [])]
    web = [bin_path("gunicorn"), "statuspage.wsgi", f"--bind={HOST}:{port}", "--workers=2"]
    worker = ["worker", "--loglevel", level, "--concurrency", "2"]
    return [
        # No control socket: its default path is per user, shared by every checkout.
        Child(
            "web",
            [*web, "--graceful-timeout=5", "--timeout=60", "--no-control-socket",
             f"--log-level={level.lower()}"],
        ),
        Child("worker", [*celery, *worker, "--without-gossip", "--without-mingle"]),
        Child("beat", [*celery, "beat", "--loglevel", level]),
        Child("demo", [sys.executable, "-m", "statuspage.core.demo_target", f"--port={port + 1}"]),
    ]  # fmt: skip


def read_port() -> int:
    raw = os.environ.get("PORT") or "8000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"PORT={raw!r} is not a port number")
    return int(raw)


def ensure_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            raise CommandError(
                f"{HOST}:{port} is already in use: stop what runs there or set PORT=..."
            ) from None


def describe_database() -> str:
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"SQLite ({db['NAME']})"
    where = f"{db.get('HOST') or 'local socket'}{':' + str(db['PORT']) if db.get('PORT') else ''}"
    return f"PostgreSQL ({where}/{db['NAME']}, from DATABASE_URL)"


def describe_broker() -> str:
    url = urlsplit(settings.CELERY_BROKER_URL)
    if url.scheme in ("filesystem", "safefs"):
        return f"filesystem broker ({settings.BROKER_DIR})"
    # Host, port and database only: the URL may carry a password.
    name = "Redis" if url.scheme.startswith("redis") else url.scheme
    return f"{name} ({url.hostname}:{url.port or 6379}{url.path})"


def http_get(port: int, path: str) -> tuple[int, bytes]:
    """(status, body) of a local GET; status 0 when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=3)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def answers_ok(port: int, path: str) -> bool:
    return http_get(port, path)[0] == 200


def heartbeats_since(started: float) -> bool:
    """Worker and scheduler heartbeats both came from this run, not from an earlier one."""
    now = time.time()
    try:
        ages = [heartbeat_age(part=part, now=now) for part in PARTS]
    except Exception:
        return False
    return all(age is not None and age <= now - started for age in ages)


def wait_for(
    condition: Callable[[], bool], *, timeout_s: float, every_s: float, stop: threading.Event
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set():
        if condition():
            return True
        stop.wait(every_s)
    return False


def stop_all(children: list[Child], hurry: Callable[[], bool]) -> list[str]:
    """SIGTERM to each child, wait up to STOP_TIMEOUT_S (less on a second signal), then kill.

    Returns the names of the children that had to be killed.
    """
    for child in children:
        if child.exited() is None:
            child.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and not hurry():
        if all(child.exited() is not None for child in children):
            break
        time.sleep(0.1)
    return [child.name for child in children if kill_group(child)]


def kill_group(child: Child) -> bool:
    """SIGKILL whatever is left in the child's process group, reap the child; was it alive?"""
    alive = child.exited() is None
    if alive:
        say(f"==> {child.name} did not stop in time: killing it")
    # The group id is the child's pid; the group outlives it while any member lives.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.proc.wait()  # type: ignore[union-attr]
    if child.reader is not None:
        child.reader.join(timeout=2)
    return alive


class Command(BaseCommand):
    help = "Run the dashboard locally: migrate, seed demo data once, start web + worker + beat."

    def handle(self, *args: object, **options: object) -> None:
        port = read_port()
        ensure_port_free(port)
        ensure_port_free(port + 1)
        if settings.DEBUG:
            local_checkout_mark(settings.VAR_DIR)
        try:
            self.migrate()
            self.seed_demo()
            password = self.ensure_admin()
        except KeyboardInterrupt:
            raise CommandError("interrupted before the processes started") from None
        connections.close_all()
        self.stop_requested = threading.Event()
        self.signals_seen = 0
        self.run_children(port, password)

    # --- setup ---------------------------------------------------------------------

    def migrate(self) -> None:
        executor = MigrationExecutor(connection)
        pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        if not pending:
            say(f"==> database up to date: {describe_database()}")
            return
        say(f"==> applying {pending} migrations to {describe_database()} ...")
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        say(f"    done in {time.monotonic() - started:.1f}s")

    def seed_demo(self) -> None:
        """Every start: seed_demo is idempotent and points the demo checks at this PORT."""
        started = time.monotonic()
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        summary = out.getvalue().strip().splitlines()[-1:] or [""]
        say(f"==> demo data: {summary[0]} ({time.monotonic() - started:.1f}s)")

    def ensure_admin(self) -> str | None:
        """The admin's password while it is the one generated here, else None."""
        users = get_user_model().objects
        user = users.filter(username=ADMIN_USERNAME).first()
        if user is None:
            password = password_new()
            users.create_superuser(username=ADMIN_USERNAME, email="", password=password)
            password_keep(password)
            return password
        path = password_file()
        kept = path.read_text().strip() if path.is_file() else ""
        return kept if kept and user.check_password(kept) else None

    # --- children ------------------------------------------------------------------

    def run_children(self, port: int, password: str | None) -> None:
        level = log_level()
        children = child_specs(port, level)
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": level}
        if level not in ("DEBUG", "INFO"):
            # Celery's warning about running as root, repeated on every start of a container
            # or a CI machine: left out of the quiet output only.
            env.setdefault("PYTHONWARNINGS", "ignore:You're running the worker with superuser")
        preexec = _die_with_parent_hook()
        started_at = time.time()
        for child in children:
            child.spawn(env, preexec)
        for child in children:
            child.pump_output()
            say(f"==> started {child.name:<6} (pid {child.pid}){started_line(child.name, port)}")
        threading.Thread(
            target=self.announce, args=(port, password, started_at), name="announce", daemon=True
        ).start()
        dead = self.watch(children)
        started = time.monotonic()
        killed = stop_all(children, hurry=lambda: self.signals_seen > 1)
        if dead is not None:
            raise CommandError(
                f"{dead.name} exited unexpectedly with status {dead.exited()}; "
                "stopped the others (its output is above)"
            )
        took = time.monotonic() - started
        if killed:
            say(f"==> stopped in {took:.1f}s; killed: {', '.join(killed)}")
        else:
            say(f"==> web, worker, beat and demo stopped cleanly in {took:.1f}s")

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals_seen += 1
        if self.signals_seen == 1:
            say(f"==> {signal.Signals(signum).name}: stopping web, worker, beat and demo ...")
        else:
            say("==> second signal: killing what is still running")
        self.stop_requested.set()

    def watch(self, children: list[Child]) -> Child | None:
        """Block until a stop is requested (None) or a child dies on its own (that child)."""
        while not self.stop_requested.wait(0.5):
            for child in children:
                if child.exited() is not None:
                    return child
        return None

    def announce(self, port: int, password: str | None, started: float) -> None:
        """Once web answers and /ready says everything runs: the URL and the login, last."""
        health = partial(answers_ok, port, "/health")
        stop = self.stop_requested
        if not wait_for(health, timeout_s=WEB_START_TIMEOUT_S, every_s=0.25, stop=stop):
            if not stop.is_set():
                say(f"==> web did not answer /health within {WEB_START_TIMEOUT_S:.0f}s")
            return
        if not self.announce_ready(port, started):
            return
        for line in banner(port, password):
            say(line)

    def announce_ready(self, port: int, started: float) -> bool:
        """Wait for /ready; False when a stop was asked for meanwhile."""

        # Heartbeats first: a failing /ready is logged as an error by the web process.
        def ready() -> bool:
            return heartbeats_since(started) and answers_ok(port, "/ready")

        if wait_for(ready, timeout_s=READY_TIMEOUT_S, every_s=1, stop=self.stop_requested):
            took = time.time() - started
            say(f"==> ready after {took:.0f}s: worker and scheduler heartbeats arrived (/ready)")
            return True
        if self.stop_requested.is_set():
            return False
        body = http_get(port, "/ready")[1].decode(errors="replace")
        say(f"==> /ready still failing after {READY_TIMEOUT_S:.0f}s: {body}")
        return True


def started_line(name: str, port: int) -> str:
    if name == "web":
        return f": http://{HOST}:{port}"
    if name == "demo":
        return f": demo target http://{HOST}:{port + 1} (fast, slow and failing endpoints)"
    return ""


def banner(port: int, password: str | None) -> list[str]:
    url = f"http://{HOST}:{port}"
    if password:
        login = f"{ADMIN_USERNAME} / {password}   (again: {SHOW_HINT})"
    else:
        login = f"{ADMIN_USERNAME}   (password changed; new one: {RESET_HINT})"
    rule = "=" * 78
    return [
        rule,
        f"  Status dashboard  {url}    admin: {url}/admin/",
        f"  Login             {login}",
        f"  Database          {describe_database()}",
        f"  Broker            {describe_broker()}",
        f"  More output       LOG_LEVEL=INFO make run   (now {log_level()})",
        "  Stop              Ctrl-C",
        rule,
    ]
