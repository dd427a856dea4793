"""Heartbeat ping intake beside a bare view, and whether every accepted ping was kept.

    python bench/pings.py --checks 5000 [--seconds 10] [--rounds 3] [--workers 2]
        [--connections 32]

Needs `wrk` (apt-get install -y wrk). Uses DATABASE_URL and REDIS_URL (default: the
`statuspage_bench` PostgreSQL database and Redis database 9). Writes --checks heartbeat
checks (period one hour, so the sweep leaves them alone) under a `bench-pings` team,
replacing the ones of an earlier run; nothing else is written (the tables it writes are
vacuumed first, as autovacuum would keep them).

Then it starts the production shape: gunicorn as shipped (the root gunicorn.conf.py,
--workers sync workers, DEBUG off), a Celery worker and beat (which drains the pings). In
turn, --rounds times, `wrk` sends GET /ping/<uuid> over every check's uuid (each
connection walks the list from its own offset) and the same script requests /health.
Both go through one Lua script, so the client costs the same for both. Every process of
the stack shares the two cores with wrk.

Afterwards it waits for the drain, and counts: pings answered 200 (wrk's requests minus
its non-2xx answers), pings stored and applied (moved out of the inbox, and the
check's last_ping_at at or after them), and lost = answered 200 but not stored and
applied.
The per-client cap is raised for the run (every request comes from 127.0.0.1); the
per-check limit stays as shipped, so --checks must be large enough (the run says so).

It also prints where the CPU went in each kind of round: milliseconds of CPU per request
answered, for the web server, the Celery worker and beat, every PostgreSQL process, Redis
and wrk, and how busy the cores were (CPU used / cores x seconds).

The last line is key=value pairs:
checks= ping_rps= bare_rps= ratio= sent_ok= stored= lost=
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_checks_park,
    bench_environment,
    ensure_database,
    free_port,
    postmaster_pid,
    python,
    servers_cpu_s,
    start,
    stop,
    tree_cpu_s,
    wait_for_log,
    wait_for_port,
    wrk,
)

TEAM = "bench-pings"

LUA = """
local paths = {}
for line in io.lines("%(uuids)s") do paths[#paths + 1] = "%(prefix)s" .. line end
local counter = 0
local step = 7919
setup = function(thread)
  counter = counter + 1
  thread:set("offset", counter * 104729)
end
init = function(args)
  position = offset %% #paths
end
request = function()
  position = (position + step) %% #paths
  return wrk.format("GET", %(path)s)
end
"""


def setup_django(env: dict[str, str]) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def catalog_create(checks: int) -> list[str]:
    """A fresh team, one service, --checks heartbeat checks; returns their ping uuids."""
    from checks.models import Check, Kind
    from statuspage.catalog.models import Service, Team

    Service.objects.filter(team__slug=TEAM).delete()
    Team.objects.filter(slug=TEAM).delete()
    team = Team.objects.create(slug=TEAM, name="Benchmark (pings)")
    service = Service.objects.create(slug=TEAM, name="Bench pings", team=team)
    rows = Check.objects.bulk_create(
        (
            Check(
                service=service,
                name=f"job-{n:06d}",
                kind=Kind.HEARTBEAT,
                config={},
                interval_s=3600,
                grace_s=3600,
                failures_before_down=1,
            )
            for n in range(checks)
        ),
        batch_size=2000,
    )
    return [str(c.ping_uuid) for c in rows]


def tables_vacuum() -> None:
    """VACUUM (ANALYZE) the tables a run writes, leaving them as autovacuum keeps them in
    production: this machine's PostgreSQL may run without it, and earlier runs' dead rows
    would otherwise make every run slower than the one before."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("checks_check", "checks_ping", "checks_pinginbox", "checks_result"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def scripts(folder: Path, uuids: list[str]) -> dict[str, Path]:
    listing = folder / "uuids.txt"
    listing.write_text("\n".join(uuids) + "\n")
    made = {}
    for name, path in (("ping", "paths[position + 1]"), ("bare", '"/health"')):
        made[name] = folder / f"{name}.lua"
        made[name].write_text(LUA % {"uuids": listing, "prefix": "/ping/", "path": path})
    return made


def _inbox():
    """The bench team's pings answered and not yet applied."""
    from checks.models import Check, PingInbox

    team_checks = Check.objects.filter(service__team__slug=TEAM).values("id")
    return PingInbox.objects.filter(check_id__in=team_checks)


def drained(timeout: float) -> int:
    """Wait until no bench ping waits in the inbox; return how many still do."""
    deadline = time.monotonic() + timeout
    while True:
        pending = _inbox().count()
        if pending == 0 or time.monotonic() > deadline:
            return pending
        time.sleep(0.5)


def stored_and_applied() -> tuple[int, int]:
    """(pings stored and applied to their check, pings stored at all) of the bench team."""
    from django.db.models import F

    from checks.models import Ping

    pings = Ping.objects.filter(check_ref__service__team__slug=TEAM)
    applied = pings.filter(check_ref__last_ping_at__gte=F("received_at")).count()
    return applied, pings.count() + _inbox().count()


def stack_cpu(env: dict[str, str], web: int, celery: tuple[int, int], postmaster: int):
    """CPU seconds used so far by each part of the stack and by wrk (reaped children)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "web": tree_cpu_s(web),
        "celery": sum(tree_cpu_s(pid) for pid in celery),
        **servers_cpu_s(env, postmaster),
        "wrk": children.ru_utime + children.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per URL (median taken)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    env = bench_environment()
    env.pop("DEBUG", None)
    env.update(
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        # Every request comes from 127.0.0.1: the per-client cap would stop the run.
        PING_CLIENT_RATE_PER_MINUTE=str(10**9),
        WEB_CONCURRENCY=str(args.workers),
    )
    ensure_database(env["DATABASE_URL"])
    work = Path(tempfile.mkdtemp(prefix="bench-pings-"))
    env["STATUSPAGE_VAR_DIR"] = str(work)
    setup_django(env)
    uuids = catalog_create(args.checks)
    tables_vacuum()
    made = scripts(work, uuids)

    from django.conf import settings

    from statuspage.celery import app

    app.control.purge()
    port = free_port()
    celery = ["-m", "celery", "-A", "statuspage"]
    worker = start(
        python(*celery, "worker", "-l", "INFO", "-c", "2", "--without-gossip",
               "--without-mingle", "-n", f"pings-{port}@%h"),
        {**env, "LOG_LEVEL": "INFO"}, work / "worker.log",
    )  # fmt: skip
    beat = start(python(*celery, "beat", "-l", "INFO"), env, work / "beat.log")
    web = start(
        python("-m", "gunicorn", "statuspage.wsgi", "-b", f"127.0.0.1:{port}"),
        env,
        work / "web.log",
    )
    runs: dict[str, list[float]] = {"ping": [], "bare": []}
    cpu: dict[str, dict[str, float]] = {"ping": {}, "bare": {}}
    answered: dict[str, int] = {"ping": 0, "bare": 0}
    postmaster = postmaster_pid(env["DATABASE_URL"])
    sent_ok = refused = 0
    try:
        wait_for_port(port, timeout=60)
        wait_for_log(work / "worker.log", "ready.", timeout=60)
        base = f"http://127.0.0.1:{port}"
        # Warm-up: both workers import everything and open their connections.
        for name in ("bare", "ping"):
            wrk(base, seconds=2, connections=args.connections, args=("-s", str(made[name])))
        drained(60)
        before = stored_and_applied()[1]
        for _ in range(args.rounds):
            for name in ("bare", "ping"):
                before_cpu = stack_cpu(env, web.pid, (worker.pid, beat.pid), postmaster)
                run = wrk(
                    base, seconds=args.seconds, connections=args.connections,
                    args=("-s", str(made[name])),
                )  # fmt: skip
                after_cpu = stack_cpu(env, web.pid, (worker.pid, beat.pid), postmaster)
                for part, used in after_cpu.items():
                    cpu[name][part] = cpu[name].get(part, 0.0) + used - before_cpu[part]
                answered[name] += run["total"]
                runs[name].append(run["rps"])
                if name == "ping":
                    sent_ok += run["total"] - run["bad"]
                    refused += run["bad"]
        pending = drained(120)
    finally:
        for process in (web, beat, worker):
            stop(process)
        # Their deadlines pass: later benches' stacks would sweep them.
        bench_checks_park(TEAM)
    applied, stored = stored_and_applied()
    # The warm-up's pings were applied before the rounds began: counted out again.
    applied -= before
    stored -= before
    per_check = max(runs["ping"]) * 60 / args.checks
    for name, values in runs.items():
        print(f"{name:5} req/s per round: " + ", ".join(f"{v:,.0f}" for v in values))
    print(
        f"refused={refused} stored_total={stored} still_pending={pending} "
        f"pings_per_check_per_minute~{per_check:.0f} (limit {settings.PING_RATE_PER_MINUTE})"
    )
    cores = os.cpu_count() or 1
    for name, parts in cpu.items():
        used = sum(parts.values())
        busy = used / (cores * args.seconds * args.rounds)
        shares = " ".join(f"{part}={1000 * s / answered[name]:.3f}" for part, s in parts.items())
        print(
            f"{name:5} cpu ms/request: {shares} total={1000 * used / answered[name]:.3f} "
            f"busy={busy:.0%}"
        )
    print(f"logs: {work}")
    ratios = [p / b for p, b in zip(runs["ping"], runs["bare"], strict=True)]
    print(
        f"checks={args.checks} ping_rps={statistics.median(runs['ping']):.0f} "
        f"bare_rps={statistics.median(runs['bare']):.0f} ratio={statistics.median(ratios):.2f} "
        f"sent_ok={sent_ok} stored={applied} lost={max(0, sent_ok - applied)}"
    )


if __name__ == "__main__":
    main()
