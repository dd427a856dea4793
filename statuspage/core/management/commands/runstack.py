"""`make run`: migrate, seed the demo catalog once, then run web + worker + beat and the
demo target (statuspage/core/demo_target.py, on PORT + 1) that demo checks watch.

Quiet unless LOG_LEVEL is set: one line per part started, then the URL and the login.

Web, worker, beat and the demo target run as child processes (statuspage/core/stack.py
starts and stops them). If one part dies on its own, the others are stopped and the
command fails naming it.
"""

import io
import os
import signal
import socket
import threading
import time
from functools import partial
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
from statuspage.core.stack import (
    HOST,
    Child,
    answers_ok,
    child_specs,
    die_with_parent_hook,
    http_get,
    log_level,
    say,
    stop_all,
    wait_for,
)

WEB_START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0
SHOW_HINT = ".venv/bin/python manage.py admin_password"
RESET_HINT = f"{SHOW_HINT} --reset"


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


def heartbeats_since(started: float) -> bool:
    """Worker and scheduler heartbeats both came from this run, not from an earlier one."""
    now = time.time()
    try:
        ages = [heartbeat_age(part=part, now=now) for part in PARTS]
    except Exception:
        return False
    return all(age is not None and age <= now - started for age in ages)


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
        preexec = die_with_parent_hook()
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


def describe_mail() -> str:
    """Where alert and subscriber mail goes: a folder of files, or the SMTP server."""
    mailer = settings.MAILERS["default"]
    options = mailer.get("OPTIONS", {})
    if "file_path" in options:
        return f"written as files to {options['file_path']}/ (set EMAIL_HOST to send)"
    return f"SMTP {options.get('host', 'localhost')}:{options.get('port', 25)}"


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
        f"  Mail              {describe_mail()}",
        f"  More output       LOG_LEVEL=INFO make run   (now {log_level()})",
        "  Stop              Ctrl-C",
        rule,
    ]
