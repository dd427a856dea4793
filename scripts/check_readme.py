#!/usr/bin/env python3
"""Run the README's own command lines against a fresh clone, so the README cannot drift.

The README marks each runnable block with ``<!-- readme-check: runnable -->`` on the line
before its ```sh fence. Every command of those blocks (a line, with its backslash
continuations) runs exactly as written, from the clone's root, with bash:

  1. beside a running ``make run`` (started on a free port, waited for until it says
     the stack is ready);
  2. again after that ``make run`` was stopped, in a fresh shell.

The clone reuses an installed virtualenv (``VENV``, default: this checkout's ``.venv``)
through a symlink, so nothing is installed; the clone's lock files are dated back so make
sees that virtualenv as up to date. The first failing line is named, with its output, and
the exit status is 1.

    python3 scripts/check_readme.py [--readme README.md] [--keep]
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- readme-check: runnable -->"
READY_TIMEOUT_S = 150
COMMAND_TIMEOUT_S = 120
STOP_TIMEOUT_S = 40


def runnable_lines(text: str) -> list[tuple[int, str]]:
    """(README line number, command) of every command in the marked ```sh blocks."""
    lines = text.splitlines()
    found: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != MARK:
            index += 1
            continue
        if index + 1 >= len(lines) or not lines[index + 1].startswith("```sh"):
            raise SystemExit(f"README:{index + 1}: {MARK} must be followed by a ```sh fence")
        index += 2
        pending, first = "", 0
        while index < len(lines) and not lines[index].startswith("```"):
            line = lines[index]
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                index += 1
                continue
            first = first or index + 1
            pending += line + "\n"
            if not line.rstrip().endswith("\\"):
                found.append((first, pending.rstrip("\n")))
                pending, first = "", 0
            index += 1
        index += 1
    return found


def free_port() -> int:
    """A free port whose next port is free too (the demo target listens there)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise SystemExit("no two free neighbouring ports")


def clone(into: Path, venv: Path) -> Path:
    """A fresh clone of the committed tree, with the installed virtualenv linked in."""
    target = into / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    (target / ".venv").symlink_to(venv)
    # The clone's files are newer than the virtualenv's install stamp; date the locks back
    # so `make run` reuses the virtualenv instead of installing into it.
    for lock in (target / "requirements").glob("*.txt"):
        os.utime(lock, (0, 0))
    return target


def clean_env(port: int) -> dict[str, str]:
    """What a new terminal has: no DEBUG, no SECRET_KEY, no database or broker settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "STATUSPAGE_VAR_DIR",
            "STATIC_ROOT",
            "LOG_LEVEL",
            "VIRTUAL_ENV",
        }
    }
    env["PORT"] = str(port)
    return env


def start_run(repo: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    run = subprocess.Popen(
        ["make", "run"],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Login " in text and "==> ready after" in text:
            return run
        if run.poll() is not None:
            break
        time.sleep(1)
    stop_run(run)
    print(log.read_text(errors="replace")[-4000:])
    raise SystemExit(f"check_readme: `make run` did not get ready within {READY_TIMEOUT_S}s")


def stop_run(run: subprocess.Popen) -> None:
    """Ctrl-C as a terminal sends it: SIGINT to the whole process group."""
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def run_lines(repo: Path, env: dict[str, str], lines: list[tuple[int, str]], when: str) -> bool:
    for number, command in lines:
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        took = time.monotonic() - started
        shown = command.splitlines()[0] + (" ..." if "\n" in command else "")
        if result.returncode != 0:
            print(f"FAIL README.md:{number} ({when}, exit {result.returncode}): {shown}")
            print((result.stdout + result.stderr)[-3000:])
            return False
        print(f"ok   README.md:{number} ({when}, {took:.1f}s): {shown}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the README's commands on a fresh clone.")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary clone.")
    args = parser.parse_args()
    lines = runnable_lines(args.readme.read_text())
    if not lines:
        print(f"check_readme: no runnable lines in {args.readme} (marked with {MARK})")
        return 1
    venv = Path(os.environ.get("VENV") or ROOT / ".venv").resolve()
    if not (venv / "bin" / "python").exists():
        print(f"check_readme: no virtualenv at {venv}: run `make install` or set VENV")
        return 1
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="readme-check-"))
    ok = False
    try:
        repo = clone(workdir, venv)
        env = clean_env(free_port())
        print(f"check_readme: {len(lines)} commands, fresh clone in {repo}, PORT={env['PORT']}")
        run = start_run(repo, env, workdir / "make-run.log")
        try:
            ok = run_lines(repo, env, lines, "beside make run")
        finally:
            stop_run(run)
        ok = ok and run_lines(repo, env, lines, "after make run stopped")
    finally:
        if args.keep or not ok:
            print(f"check_readme: the clone is kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"check_readme: {'PASS' if ok else 'FAIL'} in {time.monotonic() - started:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
