"""Shared pieces of the benchmarks: environment, database creation, processes, memory."""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/statuspage_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdef"


def bench_environment() -> dict[str, str]:
    """The environment every benchmark process shares (PostgreSQL and Redis by default)."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    env.setdefault("SECURE_SSL_REDIRECT", "false")
    env.setdefault("CHECK_PRIVATE_TARGETS", "private,loopback")  # targets run on this host
    env.setdefault("LOG_LEVEL", "INFO")
    env.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    env["PYTHONPATH"] = str(ROOT)
    os.environ.update(env)
    return env


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it does not exist yet."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


def wait_for_log(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{text!r} did not appear in {path} within {timeout}s")


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total_kb = 0
    for current in _descendants(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants.

    Each live process adds its own time and that of its children already reaped, so a
    child that exits between two readings is still counted (in its parent's figure)."""
    ticks = 0
    for current in _descendants(pid):
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start at "state" (field 3);
        # utime, stime, cutime, cstime are fields 14-17.
        fields = stat.rsplit(")", 1)[1].split()
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / _TICKS_PER_S


def postmaster_pid(database_url: str) -> int:
    """The PostgreSQL server's main process (the parent of this connection's backend), or 0
    when the database is not PostgreSQL."""
    if not database_url.startswith("postgres"):
        return 0
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stat = Path(f"/proc/{backend}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def redis_cpu_s(url: str) -> float:
    """CPU seconds used so far by the Redis server at ``url`` (0 for another broker)."""
    if not url.startswith("redis"):
        return 0.0
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    # used_cpu_{sys,user}[_children]; the *_main_thread figures are part of those.
    return sum(float(v) for k, v in info.items() if k.startswith("used_cpu_") and "main" not in k)


def servers_cpu_s(env: dict[str, str], postmaster: int) -> dict[str, float]:
    """CPU seconds used so far by every process of the PostgreSQL server and by Redis."""
    return {
        "postgres": tree_cpu_s(postmaster) if postmaster else 0.0,
        "redis": redis_cpu_s(env["REDIS_URL"]),
    }


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def http_checks_replace(
    *, team: str, team_name: str, prefix: str, count: int, interval: int, port: int
) -> list[int]:
    """Replace the team's bench checks with ``count`` HTTP checks of the local target on
    ``port``, parked far in the future until ``checks_schedule_from`` puts them on their grid.

    Stops with a message when other teams' checks are enabled in the database: the stack
    would probe or sweep them too, and that work would count in the bench's figures."""
    from django.db.models import Count

    from checks.models import Check, Kind
    from checks.scheduling import as_datetime
    from statuspage.catalog.models import Service, Team

    others = (
        Check.objects.filter(is_enabled=True, is_paused=False, service__is_paused=False)
        .exclude(service__team__slug=team)
        .values("service__team__slug")
        .annotate(n=Count("id"))
    )
    if others:
        found = ", ".join(f"{row['service__team__slug']}: {row['n']}" for row in others)
        raise SystemExit(
            f"the database holds enabled checks of other teams ({found}); they would be "
            "probed or swept during the bench and count in its figures: disable them "
            "(bench_checks_park in bench/common.py) or give the bench a DATABASE_URL of its own"
        )
    Check.objects.filter(service__team__slug=team).delete()
    Service.objects.filter(team__slug=team).delete()
    owner, _ = Team.objects.get_or_create(slug=team, defaults={"name": team_name})
    service = Service.objects.create(slug=f"{team}-target", name="Bench target", team=owner)
    parked = as_datetime(4_000_000_000)
    checks = Check.objects.bulk_create(
        (
            Check(
                service=service,
                name=f"{prefix}-{i:05d}",
                kind=Kind.HTTP,
                config={"url": f"http://127.0.0.1:{port}/health/{i}"},
                interval_s=interval,
                timeout_s=5,
                next_due_at=parked,
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    return [c.pk for c in checks]


def bench_checks_park(team: str) -> int:
    """Disable a bench's checks once it is done, so that a later bench on the same
    database does not run them (their results stay); returns how many."""
    from checks.models import Check

    return Check.objects.filter(service__team__slug=team).update(is_enabled=False)


@contextmanager
def team_checks_enabled(team: str) -> Iterator[None]:
    """A bench's own checks enabled while it measures, parked afterwards. The page and
    metrics benches' checks are never probed (their next slot is decades away), but left
    enabled an engine bench on the same database would refuse to start beside them, and
    the gap sweep of any stack run there would record their slots."""
    from checks.models import Check

    Check.objects.filter(service__team__slug=team).update(is_enabled=True)
    try:
        yield
    finally:
        bench_checks_park(team)


def checks_schedule_from(check_ids: list[int], interval: int, first_after: float) -> dict[int, int]:
    """Put every check on its slot grid, its first slot at or after ``first_after``; returns
    each check's first slot.

    The checks start there: their gap sweep mark is set to the slot before, so the slots
    between their creation and the first one are not theirs to run and are not recorded as
    gaps while the bench measures (catching up after a stop is bench/restart.py's subject).
    """
    from django.db import connection, transaction

    from checks.scheduling import as_datetime, slot_after

    first = {
        pk: slot_after(check_id=pk, interval_s=interval, t=first_after - 1) for pk in check_ids
    }
    rows = [(as_datetime(slot), slot - interval, pk) for pk, slot in first.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE checks_check SET next_due_at = %s, gaps_swept_to = %s WHERE id = %s", rows
        )
    return first


def wrk(
    url: str, *, seconds: int, connections: int, args: tuple[str, ...] = ()
) -> dict[str, float]:
    """One wrk run: requests/s (``rps``), requests answered (``total``) and non-2xx/3xx
    answers (``bad``). ``args`` go to wrk before the URL (a header, a script)."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", *args, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "total": int(re.search(r"(\d+) requests in", out).group(1)),
        "bad": int(bad.group(1)) if bad else 0,
    }


# What autovacuum reads to decide, per table: dead rows, rows inserted and rows changed
# since the last vacuum / analyze (pg_stat_user_tables), and the table's row estimate.
_TABLE_COUNTS = (
    "SELECT s.relid::regclass::text, s.n_dead_tup, s.n_ins_since_vacuum, "
    "s.n_mod_since_analyze, greatest(c.reltuples, 0) "
    "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE c.relkind = 'r'"
)
_AUTOVACUUM_SETTINGS = (
    "autovacuum_naptime",
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
)


class AutovacuumStandIn:
    """Do what autovacuum would, on a server where it is off.

    A server with ``autovacuum = off`` (as CI machines may run) never vacuums nor analyzes:
    a table updated thousands of times a second bloats many times over within minutes and
    its statistics describe the table as it was created, so plans and costs are nothing
    like a production server's. When autovacuum is off, this runs its rules from a thread
    instead: every ``autovacuum_naptime``, each table whose dead rows, inserted rows or
    changed rows pass the server's autovacuum thresholds (base + scale factor * rows) is
    vacuumed or analyzed, on a connection of its own. That work runs in PostgreSQL backends,
    so a bench counting the server's CPU counts it, as it would count autovacuum's. When
    autovacuum is on, this does nothing.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("postgres://", "postgresql://", 1)
        self.passes = 0
        self.vacuums = 0
        self.analyzes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._settings: dict[str, float] = {}

    def start(self) -> None:
        if not self.url.startswith("postgresql"):
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
                return
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                [list(_AUTOVACUUM_SETTINGS)],
            ).fetchall()
        self._settings = {name: float(value) for name, value in rows}
        self.run_pass()
        self._thread = threading.Thread(target=self._loop, name="autovacuum-stand-in")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._settings["autovacuum_naptime"]):
            self.run_pass()

    def run_pass(self) -> None:
        """One round of autovacuum's decisions over every table of the database."""
        import psycopg

        s = self._settings
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table, dead, inserted, changed, rows in conn.execute(_TABLE_COUNTS).fetchall():
                vacuum = dead > (
                    s["autovacuum_vacuum_threshold"] + s["autovacuum_vacuum_scale_factor"] * rows
                ) or (
                    s["autovacuum_vacuum_insert_threshold"] >= 0
                    and inserted
                    > s["autovacuum_vacuum_insert_threshold"]
                    + s["autovacuum_vacuum_insert_scale_factor"] * rows
                )
                analyze = changed > (
                    s["autovacuum_analyze_threshold"] + s["autovacuum_analyze_scale_factor"] * rows
                )
                if vacuum or analyze:
                    what = (
                        "VACUUM (ANALYZE)"
                        if vacuum and analyze
                        else "VACUUM"
                        if vacuum
                        else "ANALYZE"
                    )
                    conn.execute(f"{what} {table}")
                    self.vacuums += vacuum
                    self.analyzes += analyze
        self.passes += 1
