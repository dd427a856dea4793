"""Engine benchmark: N HTTP checks at a fixed interval, the real scheduler and worker.

    python bench/engine.py --checks 10000 --seconds 300

Uses DATABASE_URL / REDIS_URL (default: a `statuspage_bench` PostgreSQL database and Redis
database 9). Starts a local HTTP target, creates the checks under a `bench-engine` team,
puts every check's first slot just after a warm-up (the slots before it are not the
checks' to run, nor gaps), runs `celery beat` (which claims the due checks itself), a probe
worker (`-Q probes`: probe batches, --concurrency processes) and a housekeeping worker
(`-Q celery`, one process: rollups, gap sweeps, heartbeats) for the measured window, and
reports from the stored results: results per second, schedule
lag (probe start minus slot time) p50/p99, duplicate and missing slots, the worker's
peak memory and the CPU the stack spent per stored result. The last line is key=value pairs.

Only probes count as results: a slot recorded as a gap (``skipped``, a batch that came too
late or a slot that never ran) is reported as ``skipped=`` and counts as missing, so a
stack that sheds load into gaps cannot look on time (a gap's time is its slot's, lag 0).

``cpu_ms_per_check`` is the CPU time (user + system) of every process of the stack over
the window, divided by the results stored for it: both workers' and beat's process trees, every
process of the PostgreSQL server (postmaster, backends, background writers) and the Redis
server (its own figure from INFO, children included). The bench's own HTTP target is not
part of the stack and is not counted. PostgreSQL and Redis are whole servers: take the
measured run alone on the machine (e.g. under ``quiet-run``) so other users add nothing.
A line before the last splits the figure by part.

A server with autovacuum off (as this machine's) is given autovacuum's work by the bench
(``AutovacuumStandIn``: its rules, once before the window and every naptime on): without it
the checks table, updated twice per check per minute, bloats many times over within the
run and its statistics describe it as it was created. Its VACUUM and ANALYZE run in
PostgreSQL backends, so their CPU is in ``postgres=``, as autovacuum's would be.
"""

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    AutovacuumStandIn,
    bench_checks_park,
    bench_environment,
    checks_schedule_from,
    ensure_database,
    free_port,
    http_checks_replace,
    postmaster_pid,
    python,
    quantile,
    servers_cpu_s,
    start,
    stop,
    tree_cpu_s,
    tree_rss_mb,
    wait_for_log,
    wait_for_port,
)

TEAM = "bench-engine"
WARMUP_S = 3


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def expected_slots(check_ids: list[int], interval: int, start_t: float, end_t: float) -> int:
    from checks.scheduling import slot_after

    total = 0
    for check_id in check_ids:
        first = slot_after(check_id=check_id, interval_s=interval, t=start_t - 1)
        if first < end_t:
            total += math.floor((end_t - 1 - first) / interval) + 1
    return total


def measured(
    check_ids: list[int], start_t: float, end_t: float
) -> tuple[int, int, list[float], int]:
    """(probes, distinct probed slots, lags, slots recorded as gaps) of the benchmark's
    checks for slots in the window."""
    from django.db import connection

    from checks.models import Outcome

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.check_id, r.slot, EXTRACT(EPOCH FROM r.checked_at) - r.slot, r.outcome "
            "FROM checks_result r JOIN checks_check c ON c.id = r.check_id "
            "JOIN catalog_service s ON s.id = c.service_id JOIN catalog_team t ON t.id = s.team_id "
            "WHERE t.slug = %s AND r.slot >= %s AND r.slot < %s",
            [TEAM, int(start_t), int(end_t)],
        )
        rows = cursor.fetchall()
    probes = [row for row in rows if row[3] != Outcome.SKIPPED]
    distinct = len({(row[0], row[1]) for row in probes})
    return len(probes), distinct, [float(row[2]) for row in probes], len(rows) - len(probes)


def stack_cpu(
    env: dict[str, str], workers: tuple[int, int], beat: int, postmaster: int
) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack."""
    return {
        "worker": tree_cpu_s(workers[0]),
        "housekeeping": tree_cpu_s(workers[1]),
        "beat": tree_cpu_s(beat),
        **servers_cpu_s(env, postmaster),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    env = bench_environment()
    ensure_database(env["DATABASE_URL"])
    setup_django()
    work = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    env["STATUSPAGE_VAR_DIR"] = str(work)
    port = free_port()
    target = start(python("bench/target.py", str(port)), env, work / "target.log")
    wait_for_port(port)
    check_ids = http_checks_replace(
        team=TEAM, team_name="Benchmark (engine)", prefix="bench", count=args.checks,
        interval=args.interval, port=port,
    )  # fmt: skip
    from statuspage.celery import app

    app.control.purge()
    celery = ["-m", "celery", "-A", "statuspage"]
    worker = start(
        python(*celery, "worker", "-l", "INFO", "-c", str(args.concurrency), "-Q", "probes",
               "--without-gossip", "--without-mingle", "-n", f"bench-{port}@%h"),
        env, work / "worker.log",
    )  # fmt: skip
    # Housekeeping (rollups, gap sweeps, heartbeats) in a worker of its own, as
    # docs/scaling.md sets a probe worker apart: its CPU counts like the rest of the stack.
    housekeeping = start(
        python(*celery, "worker", "-l", "INFO", "-c", "1", "-Q", "celery",
               "--without-gossip", "--without-mingle", "-n", f"bench-housekeeping-{port}@%h"),
        env, work / "housekeeping.log",
    )  # fmt: skip
    beat = start(python(*celery, "beat", "-l", "INFO"), env, work / "beat.log")
    peak_rss = 0.0
    postmaster = postmaster_pid(env["DATABASE_URL"])
    autovacuum = AutovacuumStandIn(env["DATABASE_URL"])
    try:
        # The window opens once the worker is ready and beat has run a dispatch tick:
        # start-up is not measured.
        wait_for_log(work / "worker.log", " ready.", timeout=120)
        wait_for_log(work / "beat.log", "task=checks.dispatch_due", timeout=120)
        autovacuum.start()
        start_t = math.ceil(time.time() + WARMUP_S + args.checks / 5000)
        checks_schedule_from(check_ids, args.interval, start_t)
        end_t = start_t + args.seconds
        print(f"window opens in {start_t - time.time():.1f}s", flush=True)
        time.sleep(max(0.0, start_t - time.time()))
        cpu_start = stack_cpu(env, (worker.pid, housekeeping.pid), beat.pid, postmaster)
        cpu_end = None
        next_report = time.time() + 10
        while time.time() < end_t + 3:
            peak_rss = max(peak_rss, tree_rss_mb(worker.pid))
            if cpu_end is None and time.time() >= end_t:
                cpu_end = stack_cpu(env, (worker.pid, housekeeping.pid), beat.pid, postmaster)
            if time.time() >= next_report:
                done = max(0, min(time.time(), end_t) - start_t)
                print(f"  {done:4.0f}/{args.seconds}s  worker {peak_rss:.0f} MB", flush=True)
                next_report += 10
            time.sleep(0.5)
        stop(beat)
        time.sleep(5)  # let the last batches finish writing
        peak_rss = max(peak_rss, tree_rss_mb(worker.pid))
    finally:
        autovacuum.stop()
        for process in (beat, worker, housekeeping, target):
            stop(process)
    bench_checks_park(TEAM)
    results, distinct, lags, skipped = measured(check_ids, start_t, end_t)
    expected = expected_slots(check_ids, args.interval, start_t, end_t)
    cpu_ms = {part: (cpu_end[part] - cpu_start[part]) * 1000 / max(results, 1) for part in cpu_end}
    print("cpu_ms_per_check by part: " + " ".join(f"{k}={v:.3f}" for k, v in cpu_ms.items()))
    if autovacuum.passes:
        print(
            f"autovacuum stand-in: {autovacuum.passes} passes, {autovacuum.vacuums} vacuums, "
            f"{autovacuum.analyzes} analyzes"
        )
    print(f"logs: {work}")
    return {
        "checks": args.checks,
        "seconds": args.seconds,
        "results": results,
        "sustained_per_s": round(results / args.seconds, 1),
        "lag_p50_s": round(quantile(lags, 0.50), 3),
        "lag_p99_s": round(quantile(lags, 0.99), 3),
        "duplicates": results - distinct,
        "missing": expected - distinct,
        "skipped": skipped,
        "worker_rss_mb": round(peak_rss, 1),
        "cpu_ms_per_check": round(sum(cpu_ms.values()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = parser.parse_args()
    if args.checks < 1 or args.seconds < args.interval:
        parser.error("--checks must be positive and --seconds at least one --interval")
    figures = run(args)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
