"""History benchmark: uptime and p95 latency over 24 h to 365 days, read from rollups.

    python bench/history.py --raw-rows 10000000 --checks-raw 100 --checks-rollup 500 \\
        --days 400 [--reuse]

Uses DATABASE_URL (default: the `statuspage_bench` PostgreSQL database). Generates a
`bench-history` team (services of five parked HTTP checks), raw results for the first
--checks-raw checks and hourly (35 days) and daily (--days) rollups for all of them, then
recomputes a few hours and a day with the engine's own rollup code, times the queries the
pages use (availability_by, latest results, a raw count) and prints their EXPLAIN (ANALYZE,
BUFFERS) plans with a PASS/FAIL line: no plan may scan checks_result sequentially.
--reuse keeps a matching stored history. The last line is key=value pairs.
"""

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_environment, ensure_database, quantile

WARMUP = 5
# Server settings that move these figures (autovacuum off leaves statistics stale).
SERVER_SETTINGS = (
    "autovacuum", "shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit",
)  # fmt: skip
PLAN_INDENT = "    "
TARGET_MS = 10  # DESIGN.md: 90-day uptime for any service from rollups


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(action: Callable[[], object], *, repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls after a warm-up."""
    for _ in range(WARMUP):
        action()
    spent = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def statements_of(action: Callable[[], object]) -> list[tuple[str, object]]:
    """The SQL statements (and their parameters) that ``action`` sends."""
    from django.db import connection

    seen: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        action()
    return seen


def explain(sql: str, params: object) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def table_rows(tables: set[str]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)",
            [sorted(tables)],
        )
        return dict(cursor.fetchall())


def page_queries(data) -> dict[str, Callable[[], object]]:
    """The reads the pages make, by name, bound to the benchmark's services and checks."""
    from checks.models import Result
    from checks.selectors import availability_by

    def availability(window: str, ids: list[int]) -> Callable[[], object]:
        return lambda: availability_by(group="service", window=window, now=data.anchor, ids=ids)

    one, every, check_id = [data.service_ids[0]], data.service_ids, data.raw_ids[0]
    until = int(data.anchor.timestamp())
    queries = {f"one_service_{w}": availability(w, one) for w in ("24h", "7d", "90d", "365d")}
    queries |= {f"all_services_{w}": availability(w, every) for w in ("24h", "90d", "365d")}
    queries["latest_results"] = lambda: list(
        Result.objects.filter(check_ref_id=check_id).order_by("-slot")[:100]
    )
    queries["raw_count_24h"] = lambda: Result.objects.filter(
        check_ref_id=check_id, slot__gte=until - 86400, slot__lt=until
    ).count()
    return queries


def answer_of(value: object) -> str:
    """What a query answered, in words: uptime and p95 latency, or a row count."""
    if isinstance(value, dict):
        found = [a for a in value.values() if a.uptime_pct is not None]
        if not found:
            return f"{len(value)} services, no data"
        uptimes = sorted(a.uptime_pct for a in found)
        p95s = sorted(a.latency_ms(0.95) or 0.0 for a in found)
        if len(found) == 1:
            return f"uptime {uptimes[0]:.3f}%, p95 {p95s[0]:.0f} ms, {found[0].counted:,} results"
        return (
            f"{len(found)} services: uptime min {uptimes[0]:.3f}% median "
            f"{statistics.median(uptimes):.3f}%, p95 median {statistics.median(p95s):.0f} ms "
            f"max {p95s[-1]:.0f} ms"
        )
    if isinstance(value, list):
        return f"{len(value)} rows"
    return f"count {value:,}"


def queries_time(data, *, repeat: int) -> tuple[dict[str, dict], dict[str, list]]:
    """Median and p95 of each page query, and the statements each one sends."""
    figures, statements = {}, {}
    print(f"\n== page queries: {repeat} runs each after {WARMUP} warm-up runs (ms) ==")
    for name, action in page_queries(data).items():
        spent = timed(action, repeat=repeat)
        figures[name] = {"p50": statistics.median(spent), "p95": quantile(spent, 0.95)}
        statements[name] = statements_of(action)
        print(
            f"  {name:<18} p50 {figures[name]['p50']:7.2f}  p95 {figures[name]['p95']:7.2f}  "
            f"min {min(spent):7.2f}   {answer_of(action())}"
        )
    return figures, statements


def _query_one(sql: str, params: list) -> object:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def clean_periods(data, *, period: str, count: int) -> list[datetime]:
    """Recent complete hours (days) whose sources hold rows of this benchmark's checks only.

    rollup_hour_compute rebuilds every check that has results in the hour, and
    rollup_day_compute every check that has hourly rollups in the day: other teams' rows in
    the same database must stay untouched.
    """
    from checks.rollups import day_start, hour_start

    if period == "hour":
        step, latest, backs = timedelta(hours=1), hour_start(data.anchor), range(2, 24 * 7)
        sql = (
            "SELECT EXISTS (SELECT 1 FROM checks_result WHERE checked_at >= %s "
            "AND checked_at < %s AND NOT check_id = ANY(%s))"
        )
    else:
        step, latest, backs = timedelta(days=1), day_start(data.anchor), range(1, 35)
        sql = (
            "SELECT EXISTS (SELECT 1 FROM checks_rollup WHERE period = 'hour' AND start >= %s "
            "AND start < %s AND NOT check_id = ANY(%s))"
        )
    found = []
    for back in backs:
        start = latest - back * step
        if not _query_one(sql, [start, start + step, data.check_ids]):
            found.append(start)
        if len(found) == count:
            break
    return found


def snapshot(*, period: str, start: datetime, ids: list[int]) -> dict[int, tuple]:
    from django.db import connection

    from checks.models import HISTOGRAM_FIELDS

    columns = ["up", "degraded", "down", "maintenance", "latency_count", *HISTOGRAM_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT check_id, latency_sum_ms, {', '.join(columns)} FROM checks_rollup "  # noqa: S608
            "WHERE period = %s AND start = %s AND check_id = ANY(%s)",
            [period, start, ids],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def same_rows(before: dict[int, tuple], after: dict[int, tuple]) -> int:
    """How many checks kept identical counts (and latency sums up to float rounding)."""
    return sum(
        1
        for check_id, old in before.items()
        if (new := after.get(check_id)) is not None
        and old[1:] == new[1:]
        and abs(old[0] - new[0]) <= 1e-6 * max(1.0, abs(old[0]))
    )


def rollups_prove(data) -> tuple[dict[str, float], list]:
    """Recompute a few hours and a day with the engine's code; time them, compare rows."""
    from checks.rollups import rollup_day_compute, rollup_hour_compute

    print("\n== rollup code path (checks.rollups) on the generated history ==")
    hour_ms, statements = [], []
    for start in clean_periods(data, period="hour", count=3):
        before = snapshot(period="hour", start=start, ids=data.raw_ids)
        began = time.perf_counter()
        seen = statements_of(lambda start=start: rollup_hour_compute(start=start))
        hour_ms.append((time.perf_counter() - began) * 1000)
        statements = statements or [s for s in seen if is_read(s[0])]
        after = snapshot(period="hour", start=start, ids=data.raw_ids)
        print(
            f"  rollup_hour_compute {start:%Y-%m-%d %H:%M}: {len(after)} checks in "
            f"{hour_ms[-1]:.1f} ms; identical to the generated rollups: "
            f"{same_rows(before, after)}/{len(before)}"
        )
    figures = {"hour_recompute_ms": statistics.median(hour_ms) if hour_ms else float("nan")}
    for start in clean_periods(data, period="day", count=1):
        before = snapshot(period="day", start=start, ids=data.check_ids)
        began = time.perf_counter()
        written = rollup_day_compute(start=start)
        figures["day_recompute_ms"] = (time.perf_counter() - began) * 1000
        after = snapshot(period="day", start=start, ids=data.check_ids)
        print(
            f"  rollup_day_compute  {start:%Y-%m-%d}: {written} checks in "
            f"{figures['day_recompute_ms']:.1f} ms; identical to the generated rollups: "
            f"{same_rows(before, after)}/{len(before)}"
        )
    return figures, statements


def prune_statements(data) -> list:
    """The batch select history_prune runs on raw results that no partition drop removes
    (only read: nothing is deleted)."""
    from django.conf import settings

    from checks.partitions import oldest_rows_sql
    from statuspage.core.dbtime import db_datetime

    before = data.anchor - timedelta(days=settings.RESULT_RETENTION_DAYS)
    return [(oldest_rows_sql(), [db_datetime(before), 10_000])]


# A table and its day partitions hold the same rows: a sequential scan of one partition
# is one of the results table (the default partition is judged by its size, like others).
PARTITION = re.compile(r"^(checks_result)_p\d{8}$")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


def is_read(sql: str) -> bool:
    """A statement EXPLAIN ANALYZE may run: it only reads."""
    return bool(READ.match(sql)) and not WRITE.search(sql)


def plans_print(title: str, statements: dict[str, list]) -> dict[str, list[str]]:
    """Print each statement's EXPLAIN (ANALYZE, BUFFERS); return the seq scans per query."""
    print(f"\n== {title}: EXPLAIN (ANALYZE, BUFFERS) ==")
    scans = {}
    for name, seen in statements.items():
        scans[name] = []
        for sql, params in seen:
            if not is_read(sql):
                continue
            plan = explain(sql, params)
            server = EXECUTION.search(plan)
            print(f"-- {name} (server {server.group(1) if server else '?'} ms)")
            print(PLAN_INDENT + plan.replace("\n", "\n" + PLAN_INDENT))
            scans[name] += [PARTITION.sub(r"\1", t) for t in SEQ_SCAN.findall(plan)]
    return scans


def scans_judge(label: str, scans: dict[str, list[str]]) -> int:
    """Print PASS/FAIL on sequential scans of checks_result; name the other seq scans."""
    on_results = [name for name, tables in scans.items() if "checks_result" in tables]
    others = {table for tables in scans.values() for table in tables} - {"checks_result"}
    sizes = table_rows(others)
    for table in sorted(others):
        users = ", ".join(name for name, tables in scans.items() if table in tables)
        rows = sizes.get(table, 0)
        verdict = (
            "a small table: fine"
            if rows < 100_000
            else "not small: the query reads a large share of it, see the plan"
        )
        print(f"  note: Seq Scan on {table} (~{rows:,} rows, {verdict}) in {users}")
    if on_results:
        print(f"FAIL {label}: Seq Scan on checks_result in {', '.join(on_results)}")
    else:
        print(f"PASS {label}: no plan scans checks_result sequentially ({len(scans)} queries)")
    return len(on_results)


def statistics_refresh() -> None:
    """ANALYZE the tables the queries read: without autovacuum their statistics go stale."""
    from django.db import connection

    began = time.monotonic()
    with connection.cursor() as cursor:
        for table in ("catalog_service", "checks_check", "checks_rollup", "checks_result"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
            [list(SERVER_SETTINGS)],
        )
        settings = " ".join(f"{name}={value}" for name, value in cursor)
        sizes = ", ".join(
            f"{name} {size / 2**20:,.1f} MB"
            for name, size in (
                ("checks_result", relation_bytes("checks_result")),
                ("checks_rollup", relation_bytes("checks_rollup")),
            )
        )
    print(f"ANALYZE of the tables read: {time.monotonic() - began:.1f}s")
    print(f"server: {settings}; with indexes: {sizes}")


def relation_bytes(table: str) -> int:
    """Heap, indexes and TOAST of a table, its partitions included."""
    return _query_one(
        "SELECT coalesce(sum(pg_total_relation_size(relid)), pg_total_relation_size(%s))::bigint "
        "FROM pg_partition_tree(%s::regclass)",
        [table, table],
    )


def history_size(data) -> dict[str, float]:
    """Bytes per check-year at a 1-minute interval, extrapolated from the stored sample.

    Measured: bytes per row of the results table (all its partitions, heap and indexes)
    and of the two rollup tables. Extrapolated: a check at 1 minute keeps its raw window
    of RESULT_RETENTION_DAYS plus the day partition being dropped (whole days go, so up
    to a day more), its hourly rollups for HOURLY_RETENTION_DAYS and its daily ones for
    ROLLUP_RETENTION_DAYS, and its share of its service's rollups (the sample's checks per
    service). The tables hold only this benchmark's rows in its own database.
    """
    from django.conf import settings

    from checks.rollups import HOURLY_RETENTION_DAYS

    rows = {
        table: _query_one(f"SELECT count(*) FROM {table}", [])  # noqa: S608
        for table in ("checks_result", "checks_rollup", "checks_servicerollup")
    }
    per_row = {table: relation_bytes(table) / max(1, count) for table, count in rows.items()}
    raw_rows = (settings.RESULT_RETENTION_DAYS + 1) * 1440
    rollup_rows = HOURLY_RETENTION_DAYS * 24 + settings.ROLLUP_RETENTION_DAYS
    checks_per_service = len(data.check_ids) / len(data.service_ids)
    raw = per_row["checks_result"] * raw_rows
    rollups = per_row["checks_rollup"] * rollup_rows
    service = per_row["checks_servicerollup"] * rollup_rows / checks_per_service
    print("\n== size per check-year at a 1-minute interval ==")
    print(
        f"  results: {per_row['checks_result']:.1f} bytes/row (of {rows['checks_result']:,}) x "
        f"{raw_rows:,} rows ({settings.RESULT_RETENTION_DAYS}+1 days) = {raw / 1e6:.2f} MB"
    )
    print(
        f"  rollups: {per_row['checks_rollup']:.1f} bytes/row x {rollup_rows:,} rows = "
        f"{rollups / 1e6:.2f} MB; service rollups: {per_row['checks_servicerollup']:.1f} "
        f"bytes/row x {rollup_rows:,} / {checks_per_service:.0f} checks = {service / 1e6:.2f} MB"
    )
    total = raw + rollups + service
    print(
        f"  total {total / 1e6:.2f} MB per check-year. A check with k locations stores k+1 "
        f"rows per slot (one per location and the decided outcome): its raw part is "
        f"(k+1) x {raw / 1e6:.2f} MB, e.g. {(4 * raw + rollups + service) / 1e6:.2f} MB at k=3"
    )
    return {
        "bytes_per_result_row": round(per_row["checks_result"], 1),
        "bytes_per_check_year": round(total),
    }


def stored_counts(data) -> tuple[int, int]:
    ids = data.check_ids
    return (
        _query_one("SELECT count(*) FROM checks_result WHERE check_id = ANY(%s)", [ids]),
        _query_one("SELECT count(*) FROM checks_rollup WHERE check_id = ANY(%s)", [ids]),
    )


def dataset_ready(args: argparse.Namespace, url: str) -> tuple[object, float | None]:
    """The stored history (with --reuse, if it matches) or a new one, and how long it took."""
    from bench import history_data

    sizes = {"checks": args.checks_rollup, "raw": args.checks_raw, "days": args.days}
    if args.reuse:
        found = history_data.dataset_find(raw_rows=args.raw_rows, **sizes)
        if not isinstance(found, str):
            print(f"reusing the stored history (ends {found.anchor:%Y-%m-%d %H:%M} UTC)")
            return found, None
        print(f"cannot reuse the stored history: {found}")
    print(
        f"generating: {args.raw_rows:,} raw results, {args.checks_rollup} checks, {args.days} days"
    )
    began = time.monotonic()
    data = history_data.dataset_generate(url=url, raw_rows=args.raw_rows, **sizes)
    spent = time.monotonic() - began
    print(f"generation took {spent:.1f}s")
    return data, spent


def run(args: argparse.Namespace) -> dict[str, object]:
    env = bench_environment()
    url = env["DATABASE_URL"]
    if not urlsplit(url).scheme.startswith("postgres"):
        raise SystemExit(
            f"bench/history.py needs PostgreSQL (DATABASE_URL={url!r}): the history sizes and "
            "the EXPLAIN checks are PostgreSQL's. Unset DATABASE_URL to use the bench default."
        )
    ensure_database(url)
    setup_django()
    data, generation_s = dataset_ready(args, url)
    statistics_refresh()
    raw_rows, rollup_rows = stored_counts(data)
    print(
        f"history: {raw_rows:,} raw results, {rollup_rows:,} rollups, {len(data.service_ids)} "
        f"services, now={data.anchor:%Y-%m-%d %H:%M} UTC, load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    recompute, hour_statements = rollups_prove(data)
    timings, statements = queries_time(data, repeat=args.repeat)
    page_scans = plans_print("page queries", statements)
    maintenance = {"rollup_hour_totals": hour_statements, "prune_batch": prune_statements(data)}
    maintenance_scans = plans_print("engine maintenance queries", maintenance)
    print("\n== verdict ==")
    seq_scans = scans_judge("page queries", page_scans)
    maintenance_seq = scans_judge("maintenance queries", maintenance_scans)
    target = timings["one_service_90d"]
    print(
        f"{'PASS' if target['p95'] < TARGET_MS else 'FAIL'} target: 90-day uptime of one "
        f"service from rollups under {TARGET_MS} ms (p50 {target['p50']:.2f} ms, p95 "
        f"{target['p95']:.2f} ms)"
    )
    figures: dict[str, object] = {"raw_rows": raw_rows, "rollup_rows": rollup_rows}
    figures["generation_s"] = round(generation_s, 1) if generation_s is not None else "reused"
    for name, values in timings.items():
        figures[f"{name}_ms_p50"] = round(values["p50"], 2)
        figures[f"{name}_ms_p95"] = round(values["p95"], 2)
    figures |= {key: round(value, 1) for key, value in recompute.items()}
    figures |= history_size(data)
    figures["seq_scans_on_results"] = seq_scans
    figures["maintenance_seq_scans_on_results"] = maintenance_seq
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raw-rows", type=int, default=10_000_000)
    parser.add_argument("--checks-raw", type=int, default=100)
    parser.add_argument("--checks-rollup", type=int, default=500)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per query")
    parser.add_argument("--reuse", action="store_true", help="keep a matching stored history")
    args = parser.parse_args()
    if not 0 < args.checks_raw <= args.checks_rollup or args.raw_rows < args.checks_raw:
        parser.error("need 0 < --checks-raw <= --checks-rollup and --raw-rows >= --checks-raw")
    if args.days < 2 or args.repeat < 1:
        parser.error("--days must be at least 2 and --repeat at least 1")
    figures = run(args)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
