"""The child processes of `make run` (statuspage/core/management/commands/runstack.py).

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only the
parent, which then stops them: SIGTERM to each, up to STOP_TIMEOUT_S to finish, then
SIGKILL to whatever is left of each group.
"""

import contextlib
import ctypes
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 10.0
QUIET_LOG_LEVEL = "WARNING"
PR_SET_PDEATHSIG = 1

_print_lock = threading.Lock()


def say(line: str) -> None:
    """Whole lines only: the children's output is printed from several threads."""
    with _print_lock, contextlib.suppress(BrokenPipeError):
        # A closed terminal or pipe must not stop the shutdown of the children.
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def die_with_parent_hook() -> Callable[[], None] | None:
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
