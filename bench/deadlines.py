"""Deadline detection: N heartbeat checks become overdue in the same second.

    python bench/deadlines.py --checks 5000 [--lead 20] [--timeout 60]

Uses DATABASE_URL and REDIS_URL (default: the `statuspage_bench` PostgreSQL database and
Redis database 9). Writes a `bench-deadlines` team (replacing the one of an earlier run)
with --checks services of one heartbeat check each (period 60 s, no grace, down after one
failure), all up and last pinged so that every deadline falls in the same second, --lead
seconds after the stack started; and one webhook channel, answered by a local receiver,
so that each check going down writes its alert notification.

The production shape runs (a Celery worker and beat, PostgreSQL, Redis); nothing pings.
This process polls the database every 0.1 s and notes when each check is first seen down.

The last line is key=value pairs:
overdue= marked_down= notifications= p99_s= p50_s= max_s=
(times: first seen down minus the deadline, in seconds; polling adds up to 0.1 s).

On a server with autovacuum off, the bench does autovacuum's work (``AutovacuumStandIn``):
each run replaces the last one's team, and the deleted checks, events and notifications
would otherwise pile up as dead rows under stale statistics (p99 5.4 s in such a run,
2.9 s after a VACUUM ANALYZE).
"""

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    AutovacuumStandIn,
    bench_checks_park,
    bench_environment,
    ensure_database,
    python,
    quantile,
    start,
    stop,
    wait_for_log,
)

TEAM = "bench-deadlines"
PERIOD_S = 60
POLL_S = 0.1


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def catalog_create(checks: int, deadline: datetime, receiver_port: int) -> list[int]:
    from checks.models import Check, Kind, State
    from statuspage.alerts.models import Channel
    from statuspage.catalog.models import Service, Team

    Service.objects.filter(team__slug=TEAM).delete()
    Team.objects.filter(slug=TEAM).delete()
    team = Team.objects.create(slug=TEAM, name="Benchmark (deadlines)")
    services = Service.objects.bulk_create(
        (
            Service(slug=f"{TEAM}-{n:05d}", name=f"Bench deadline job {n:05d}", team=team)
            for n in range(checks)
        ),
        batch_size=2000,
    )
    pinged = deadline - timedelta(seconds=PERIOD_S)
    rows = Check.objects.bulk_create(
        (
            Check(
                service=service,
                name="job",
                kind=Kind.HEARTBEAT,
                config={},
                interval_s=PERIOD_S,
                grace_s=0,
                failures_before_down=1,
                state=State.UP,
                state_changed_at=pinged,
                last_ping_at=pinged,
            )
            for service in services
        ),
        batch_size=2000,
    )
    Channel.objects.create(
        team=team,
        name="bench-hook",
        kind="webhook",
        target=f"http://127.0.0.1:{receiver_port}/hook",
        signing_secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )
    return [c.pk for c in rows]


def watch(check_ids: list[int], until: float) -> dict[int, float]:
    """Poll until every check is down or ``until``: check id -> first seen down (epoch)."""
    from checks.models import Check, State

    seen: dict[int, float] = {}
    wanted = set(check_ids)
    while time.time() < until and len(seen) < len(wanted):
        began = time.time()
        down = Check.objects.filter(service__team__slug=TEAM, state=State.DOWN).values_list(
            "id", flat=True
        )
        for check_id in down:
            seen.setdefault(check_id, began)
        time.sleep(max(0.0, POLL_S - (time.time() - began)))
    return seen


def notifications() -> int:
    from statuspage.alerts.models import Notification

    return Notification.objects.filter(
        channel__team__slug=TEAM, event__kind__in=("down", "heartbeat_late")
    ).count()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--lead", type=float, default=20.0, help="seconds to the deadline")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds after it")
    args = parser.parse_args()

    env = bench_environment()
    env.pop("DEBUG", None)
    ensure_database(env["DATABASE_URL"])
    work = Path(tempfile.mkdtemp(prefix="bench-deadlines-"))
    env["STATUSPAGE_VAR_DIR"] = str(work)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    # Deadlines on a whole second, far enough ahead for the stack to start.
    deadline_ts = float(int(time.time() + args.lead))
    deadline = datetime.fromtimestamp(deadline_ts, UTC)
    began = time.perf_counter()
    check_ids = catalog_create(args.checks, deadline, receiver.server_address[1])
    print(f"created {args.checks} heartbeat checks in {time.perf_counter() - began:.1f}s")
    autovacuum = AutovacuumStandIn(env["DATABASE_URL"])
    autovacuum.start()

    from statuspage.celery import app

    app.control.purge()
    celery = ["-m", "celery", "-A", "statuspage"]
    worker = start(
        python(*celery, "worker", "-l", "INFO", "-c", "2", "--without-gossip",
               "--without-mingle", "-n", f"deadlines-{int(deadline_ts)}@%h"),
        env, work / "worker.log",
    )  # fmt: skip
    beat = start(python(*celery, "beat", "-l", "INFO"), env, work / "beat.log")
    try:
        wait_for_log(work / "worker.log", "ready.", timeout=60)
        if time.time() > deadline_ts:
            raise SystemExit(f"the stack started after the deadline: raise --lead ({args.lead})")
        print(f"deadline in {deadline_ts - time.time():.1f}s")
        seen = watch(check_ids, deadline_ts + args.timeout)
        time.sleep(1)  # notifications are written in the transaction of the change
        written = notifications()
    finally:
        autovacuum.stop()
        stop(beat)
        stop(worker)
        receiver.shutdown()
        # Down and overdue, they would be swept and reminded of in later benches' stacks.
        bench_checks_park(TEAM)
    delays = [at - deadline_ts for at in seen.values()]
    print(f"logs: {work}")
    print(
        f"overdue={len(check_ids)} marked_down={len(seen)} notifications={written} "
        f"p99_s={quantile(delays, 0.99):.2f} p50_s={quantile(delays, 0.5):.2f} "
        f"max_s={max(delays, default=float('nan')):.2f}"
    )


if __name__ == "__main__":
    main()
