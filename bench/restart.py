"""Restart benchmark: the whole stack stopped for a while, then started again.

    python bench/restart.py --checks 10000 --downtime 600

Uses DATABASE_URL / REDIS_URL (default: a `statuspage_bench` PostgreSQL database and Redis
database 9). Starts a local HTTP target, creates the checks under a `bench-restart` team,
runs gunicorn (with the root gunicorn.conf.py), `celery worker` and `celery beat` until every
check was probed once, stops all three for ``--downtime`` seconds, starts them again and
watches long enough for the gap sweep to cover the whole stop. Then it reads the stored rows:

- replayed: real probes (up, degraded, down) stored for slots inside the stop;
- gaps / gaps_expected: slots inside the stop recorded as skipped, and how many there were;
- first_full_interval_s: from the restart (processes launched) until every check had its
  first slot after the restart probed; at most one interval (plus the start-up) means the
  schedule was whole again within one interval;
- missing_after: slots from then to the end of the watch without a real probe;
- went_down: transitions to down after the stop; uptime_pct: from the hourly rollups of the
  bench's checks, which count real probes only (counted= must equal probes=).

The last line is key=value pairs.
"""

import argparse
import math
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_checks_park,
    bench_environment,
    checks_schedule_from,
    ensure_database,
    free_port,
    http_checks_replace,
    python,
    start,
    stop,
    wait_for_log,
    wait_for_port,
)

TEAM = "bench-restart"
# Outcomes of a real probe (checks.models.Outcome): up, degraded, down; 4 is a skipped slot.
REAL = (1, 2, 3)
SKIPPED = 4


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from checks.models import Outcome

    assert (*REAL, SKIPPED) == (Outcome.UP, Outcome.DEGRADED, Outcome.DOWN, Outcome.SKIPPED)


def checks_create(count: int, interval: int, port: int, first_after: float) -> list[int]:
    """Replace the benchmark's checks with ``count`` new ones whose first slot is at or
    after ``first_after``."""
    ids = http_checks_replace(
        team=TEAM, team_name="Benchmark (restart)", prefix="restart", count=count,
        interval=interval, port=port,
    )  # fmt: skip
    # The sweep starts at the first slot: nothing before it is a gap.
    checks_schedule_from(ids, interval, first_after)
    return ids


def stack_start(env: dict[str, str], work: Path, web_port: int, round_: int) -> list:
    celery = ["-m", "celery", "-A", "statuspage"]
    web = start(
        python("-m", "gunicorn", "statuspage.wsgi", "-c", "gunicorn.conf.py",
               "-b", f"127.0.0.1:{web_port}"),
        env, work / f"web-{round_}.log",
    )  # fmt: skip
    worker = start(
        python(*celery, "worker", "-l", "INFO", "-c", "2", "--without-gossip",
               "--without-mingle", "-n", f"bench-restart-{web_port}@%h"),
        env, work / f"worker-{round_}.log",
    )  # fmt: skip
    beat = start(
        python(*celery, "beat", "-l", "INFO", "-s", str(work / "celerybeat-schedule")),
        env,
        work / f"beat-{round_}.log",
    )
    return [web, worker, beat]


def web_answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
        return response.status == 200


def rows_of(sql: str, params: list) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


JOIN = (
    "FROM checks_result r JOIN checks_check c ON c.id = r.check_id "
    "JOIN catalog_service s ON s.id = c.service_id JOIN catalog_team t ON t.id = s.team_id "
    "WHERE t.slug = %s AND r.location = ''"
)


def slots_between(check_ids: list[int], interval: int, after: float, before: float) -> int:
    """Slots of the checks scheduled in [after, before)."""
    from checks.scheduling import slot_after

    total = 0
    for check_id in check_ids:
        first = slot_after(check_id=check_id, interval_s=interval, t=after - 1)
        if first < before:
            total += math.floor((before - 1 - first) / interval) + 1
    return total


def first_full_interval(restart_t: float, check_ids: list[int]) -> tuple[float, float]:
    """(seconds from the restart until every check had a slot after it probed, that moment)."""
    rows = rows_of(
        "SELECT r.check_id, MIN(r.slot) "
        f"{JOIN} AND r.slot >= %s AND r.outcome IN (%s, %s, %s) GROUP BY r.check_id",
        [TEAM, math.ceil(restart_t), *REAL],
    )
    if len(rows) < len(check_ids):
        return float("inf"), float("inf")
    whole_at = max(slot for _, slot in rows)
    return whole_at - restart_t, whole_at


def uptime(start_t: float, end_t: float) -> tuple[float | None, int]:
    """Uptime over the hourly rollups of the bench's checks, and the results they counted."""
    from datetime import timedelta

    from checks.rollups import hour_start, rollups_recompute
    from checks.scheduling import as_datetime
    from statuspage.core.dbtime import db_datetime

    hours, hour = [], hour_start(as_datetime(start_t))
    while hour <= as_datetime(end_t):
        hours.append(hour)
        hour += timedelta(hours=1)
    rollups_recompute(hours=hours)
    (up, degraded, down), = rows_of(
        "SELECT COALESCE(SUM(r.up), 0), COALESCE(SUM(r.degraded), 0), COALESCE(SUM(r.down), 0) "
        "FROM checks_rollup r JOIN checks_check c ON c.id = r.check_id "
        "JOIN catalog_service s ON s.id = c.service_id JOIN catalog_team t ON t.id = s.team_id "
        "WHERE t.slug = %s AND r.period = 'hour' AND r.start >= %s",
        [TEAM, db_datetime(hours[0])],
    )  # fmt: skip
    counted = int(up + degraded + down)
    return (round(100.0 * (up + degraded) / counted, 3) if counted else None), counted


def watch(seconds: float, label: str) -> None:
    end = time.time() + seconds
    next_report = time.time() + 30
    while time.time() < end:
        if time.time() >= next_report:
            print(f"  {label}: {end - time.time():4.0f}s left", flush=True)
            next_report += 30
        time.sleep(min(1.0, max(0.0, end - time.time())))


def run(args: argparse.Namespace) -> dict[str, object]:
    env = bench_environment()
    ensure_database(env["DATABASE_URL"])
    setup_django()
    from django.conf import settings

    work = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    env["STATUSPAGE_VAR_DIR"] = str(work)
    port, web_port = free_port(), free_port()
    target = start(python("bench/target.py", str(port)), env, work / "target.log")
    wait_for_port(port)
    from statuspage.celery import app

    app.control.purge()
    # The first slots come once the stack had time to start: its start-up is not measured.
    first_t = math.ceil(time.time() + 20 + args.checks / 2000)
    check_ids = checks_create(args.checks, args.interval, port, first_t)
    processes = stack_start(env, work, web_port, 1)
    try:
        wait_for_log(work / "worker-1.log", " ready.", timeout=120)
        wait_for_log(work / "beat-1.log", "task=checks.dispatch_due", timeout=120)
        # One whole interval of slots, and time for its last batches to be written.
        watch(first_t + args.interval + 10 - time.time(), "before the stop")
        for process in processes:
            stop(process)
        stopped_t = time.time()
        before = rows_of(
            f"SELECT COUNT(*) {JOIN} AND r.outcome IN (%s, %s, %s)",
            [TEAM, *REAL],
        )[0][0]
        print(f"stopped web, worker and beat after {before} probes", flush=True)
        watch(args.downtime, "stopped")
        restart_t = time.time()
        processes = stack_start(env, work, web_port, 2)
        wait_for_port(web_port, timeout=60)
        web_ok = web_answers(web_port)
        wait_for_log(work / "worker-2.log", " ready.", timeout=120)
        wait_for_log(work / "beat-2.log", "task=checks.dispatch_due", timeout=120)
        startup_s = time.time() - restart_t
        # Long enough for two whole intervals and for the sweep to reach the restart.
        horizon_wait = 2 * settings.PROBE_MAX_LATENESS_S + settings.GAP_SWEEP_S + 15
        watch(max(2 * args.interval + 10, horizon_wait) - startup_s, "after the restart")
        end_t = int(time.time()) - 10  # slots this close to the end may still be in flight
    finally:
        for process in (*processes, target):
            stop(process)
    down_from, down_to = math.ceil(stopped_t), math.ceil(restart_t)
    # Slots inside the stop: real probes there were replayed after the restart.
    replayed, gaps = rows_of(
        "SELECT COUNT(*) FILTER (WHERE r.outcome IN (%s, %s, %s)), "
        f"COUNT(*) FILTER (WHERE r.outcome = %s) {JOIN} AND r.slot >= %s AND r.slot < %s",
        [*REAL, SKIPPED, TEAM, down_from, down_to],
    )[0]
    full_s, whole_at = first_full_interval(restart_t, check_ids)
    probed_after = 0
    missing_after = slots_between(check_ids, args.interval, math.ceil(restart_t), end_t)
    if math.isfinite(whole_at):
        probed_after = rows_of(
            f"SELECT COUNT(DISTINCT (r.check_id, r.slot)) {JOIN} "
            "AND r.slot >= %s AND r.slot < %s AND r.outcome IN (%s, %s, %s)",
            [TEAM, whole_at, end_t, *REAL],
        )[0][0]
        missing_after = slots_between(check_ids, args.interval, whole_at, end_t) - probed_after
    went_down = rows_of(
        "SELECT COUNT(*) FROM checks_transition x JOIN checks_check c ON c.id = x.check_id "
        "JOIN catalog_service s ON s.id = c.service_id JOIN catalog_team t ON t.id = s.team_id "
        "WHERE t.slug = %s AND x.to_state = 'down' AND x.at >= to_timestamp(%s)",
        [TEAM, stopped_t],
    )[0][0]  # fmt: skip
    states = dict(
        rows_of(
            "SELECT c.state, COUNT(*) FROM checks_check c "
            "JOIN catalog_service s ON s.id = c.service_id "
            "JOIN catalog_team t ON t.id = s.team_id WHERE t.slug = %s GROUP BY c.state",
            [TEAM],
        )
    )
    probes = rows_of(f"SELECT COUNT(*) {JOIN} AND r.outcome IN (%s, %s, %s)", [TEAM, *REAL])[0][0]
    uptime_pct, counted = uptime(first_t, time.time())
    bench_checks_park(TEAM)
    print(f"logs: {work}")
    print(f"web_ok={web_ok} states={states}")
    return {
        "checks": args.checks,
        "interval_s": args.interval,
        "downtime_s": round(restart_t - stopped_t, 1),
        "startup_s": round(startup_s, 1),
        "first_full_interval_s": round(full_s, 1),
        "replayed": replayed,
        "missing_after": missing_after,
        "gaps": gaps,
        "gaps_expected": slots_between(check_ids, args.interval, down_from, down_to),
        "went_down": went_down,
        "up_at_end": states.get("up", 0),
        "uptime_pct": uptime_pct,
        "counted": counted,
        "probes": probes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--downtime", type=int, default=600, help="seconds stopped")
    parser.add_argument("--interval", type=int, default=60)
    args = parser.parse_args()
    if args.checks < 1 or args.downtime <= args.interval or args.interval < 10:
        parser.error("--checks must be positive, --interval >= 10, --downtime > --interval")
    figures = run(args)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
