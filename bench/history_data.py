"""Generated history for bench/history.py: a team, its checks, raw results and rollups.

The database writes the rows itself (INSERT ... SELECT ... FROM generate_series) on a
dedicated connection whose random stream is seeded with setseed(), so the same arguments
give the same history for the same end minute. Only rows of the ``bench-history`` team
are written or deleted (VACUUM and ANALYZE aside): other benchmarks share the database.

Raw results are loaded in chunks of whole days across all raw checks rather than check by
check, in slot order, as production writes them: into the day partitions of
checks_result, whose (check_id, slot, location) keys then grow as production's do, and
the closed days are compacted as the partitions task compacts them. Each chunk's INSERT also
returns its rows to an aggregate, which gives the hourly totals of exactly those rows; the
daily rollups are the sums of the hours, as rollup_day_compute makes them, so raw data,
hourly and daily rollups agree.
"""

import contextlib
import itertools
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.db import connection

from checks.histogram import BUCKET_BOUNDS_MS, bucket_sql
from checks.models import HISTOGRAM_FIELDS, Check, Kind, ServiceRollup, State
from checks.partitions import partition_of, partitions_compact, partitions_create
from checks.rollups import HOURLY_RETENTION_DAYS, day_start, hour_start, service_rollups_sql
from checks.scheduling import as_datetime, slot_after, slot_at_or_before, slot_offset
from statuspage.catalog.models import Service, Team, Tier

TEAM = "bench-history"
CHECK_NAMES = ("health", "ready", "api", "login", "search")
SEED = 0.42
CHUNK_DAYS = 2
PARKED_AT = 4_000_000_000  # epoch seconds in 2096: no scheduler picks these checks up
TIMEOUT_MS = 10_000
WEIGHTS = [f"w{index:02d}" for index in range(len(HISTOGRAM_FIELDS))]
TOTALS = ["up", "degraded", "down", "latency_sum_ms", "latency_count", *HISTOGRAM_FIELDS]


@dataclass(frozen=True)
class Profile:
    """How one check behaves: its slot grid and its latency distribution."""

    interval_s: int
    median_ms: float
    sigma: float
    degraded_ms: int


@dataclass(frozen=True)
class Dataset:
    service_ids: list[int]
    check_ids: list[int]
    raw_ids: list[int]
    anchor: datetime  # the history ends here: the benchmark's "now"


def profiles_draw(*, count: int, raw: int) -> list[Profile]:
    """Per-check behaviour: medians from a few ms to a few hundred, degraded past ~2x p99."""
    rng = random.Random(42)
    profiles = []
    for index in range(count):
        interval = (30, 60)[index % 2] if index < raw else rng.choice((30, 60, 60, 60, 60))
        median = min(600.0, max(3.0, rng.lognormvariate(math.log(45), 0.8)))
        sigma = rng.uniform(0.3, 0.7)
        wanted = min(5000.0, max(100.0, 2 * median * math.exp(2.33 * sigma)))
        degraded = next(int(bound) for bound in BUCKET_BOUNDS_MS if bound >= wanted)
        profiles.append(Profile(interval, median, sigma, degraded))
    return profiles


def catalog_create(*, checks: int, raw: int) -> tuple[list[int], list[int], list[Profile]]:
    """The team, its services (five checks each) and its parked HTTP checks."""
    team, _ = Team.objects.get_or_create(slug=TEAM, defaults={"name": "Benchmark (history)"})
    tiers = list(Tier)
    services = Service.objects.bulk_create(
        Service(
            team=team,
            name=f"History {index:03d}",
            slug=f"{TEAM}-{index:03d}",
            tier=tiers[index % len(tiers)],
            position=index,
        )
        for index in range(math.ceil(checks / len(CHECK_NAMES)))
    )
    profiles = profiles_draw(count=checks, raw=raw)
    per_service = len(CHECK_NAMES)
    created = Check.objects.bulk_create(
        Check(
            service=services[index // per_service],
            name=CHECK_NAMES[index % per_service],
            kind=Kind.HTTP,
            config={
                "url": f"https://{services[index // per_service].slug}.bench.invalid/"
                f"{CHECK_NAMES[index % per_service]}"
            },
            interval_s=profile.interval_s,
            timeout_s=TIMEOUT_MS / 1000,
            degraded_ms=profile.degraded_ms,
            next_due_at=as_datetime(PARKED_AT),
            state=State.UP,
        )
        for index, profile in enumerate(profiles)
    )
    return [s.pk for s in services], [c.pk for c in created], profiles


def catalog_remove() -> None:
    """Delete the team's checks with their results and rollups, then its services."""
    ids = list(Check.objects.filter(service__team__slug=TEAM).values_list("id", flat=True))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM checks_rollup WHERE check_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM checks_result WHERE check_id = ANY(%s)", [ids])
            # Autovacuum may be off: without this the new history would not reuse the
            # space of the old one and the shared tables would grow with every run.
            cursor.execute("VACUUM checks_result")
            cursor.execute("VACUUM checks_rollup")
        Check.objects.filter(id__in=ids).delete()
    Service.objects.filter(team__slug=TEAM).delete()


def dataset_find(*, checks: int, raw: int, raw_rows: int, days: int) -> Dataset | str:
    """The stored history if it matches the arguments, else why it cannot be reused."""
    check_ids = list(
        Check.objects.filter(service__team__slug=TEAM).order_by("id").values_list("id", flat=True)
    )
    if len(check_ids) != checks:
        return f"{len(check_ids)} checks stored, {checks} wanted"
    raw_ids = check_ids[:raw]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM checks_result WHERE check_id = ANY(%s)", [check_ids])
        stored_raw = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM checks_rollup WHERE period = 'day' AND check_id = ANY(%s)",
            [check_ids],
        )
        stored_days = cursor.fetchone()[0]
        cursor.execute(
            "SELECT max(last.slot) FROM unnest(%s::bigint[]) AS ids(id), LATERAL (SELECT slot "
            "FROM checks_result WHERE check_id = ids.id ORDER BY slot DESC LIMIT 1) AS last",
            [raw_ids],
        )
        last_slot = cursor.fetchone()[0]
    # Generation rounds the raw span up to whole days: up to two days' worth more.
    per_day = sum(
        86400 // interval
        for interval in Check.objects.filter(id__in=raw_ids).values_list("interval_s", flat=True)
    )
    if not raw_rows <= stored_raw < raw_rows + 2 * per_day or last_slot is None:
        return f"{stored_raw:,} raw results stored, {raw_rows:,} wanted"
    if stored_days != checks * days:
        return f"{stored_days:,} daily rollups stored, {checks * days:,} wanted"
    # Histories generated before service rollups existed get them now.
    if not ServiceRollup.objects.filter(service__team__slug=TEAM).exists():
        service_rollups_fill()
    service_ids = sorted(
        set(Check.objects.filter(id__in=check_ids).values_list("service_id", flat=True))
    )
    anchor = as_datetime(math.ceil((last_slot + 1) / 60) * 60)
    return Dataset(service_ids, check_ids, raw_ids, anchor)


def raw_start(*, profiles: list[Profile], ids: list[int], rows: int, anchor_s: int) -> int:
    """The midnight (epoch s) from which the raw checks' slots add up to at least ``rows``."""
    today = anchor_s - anchor_s % 86400
    for back in range(0, 100_000):
        start = today - back * 86400
        total = sum(
            _slot_range(check_id, profile.interval_s, start, anchor_s)[2]
            for check_id, profile in zip(ids, profiles, strict=True)
        )
        if total >= rows:
            return start
    raise ValueError(f"cannot place {rows} raw results")


def _slot_range(
    check_id: int, interval_s: int, start_s: int, anchor_s: int
) -> tuple[int, int, int]:
    """First and last slot of a check in [start, anchor) and how many there are."""
    first = slot_after(check_id=check_id, interval_s=interval_s, t=start_s - 1)
    last = slot_at_or_before(check_id=check_id, interval_s=interval_s, t=anchor_s - 1)
    return first, last, max(0, (last - first) // interval_s + 1)


def _weights(profile: Profile, slow: bool) -> list[float]:
    """Share of a lognormal latency distribution falling in each histogram bucket."""
    median = profile.median_ms * (3 if slow else 1)
    # A little wider than the raw draws: the diurnal swing and spikes widen them too.
    sigma = profile.sigma * 1.15

    def below(bound: float) -> float:
        return 0.5 * (1 + math.erf((math.log(bound) - math.log(median)) / (sigma * math.sqrt(2))))

    cdf = [0.0, *(below(bound) for bound in BUCKET_BOUNDS_MS), 1.0]
    return [high - low for low, high in itertools.pairwise(cdf)]


def _mid_ms(index: int) -> float:
    low = BUCKET_BOUNDS_MS[index - 1] if index > 0 else 0.0
    high = BUCKET_BOUNDS_MS[index] if index < len(BUCKET_BOUNDS_MS) else low * 2
    return (low + high) / 2


def session_open(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET jit = off")
    # The check ids were just created: skipping the per-row foreign key checks (a third
    # of the load time) is safe, and only this session is affected. It needs superuser
    # rights; without them the rows are checked as usual.
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute("SET session_replication_role = replica")
    # One process draws the random stream in one order: the history is reproducible.
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute("SELECT setseed(%s)", [SEED])
    return conn


def _scratch_create(conn: psycopg.Connection, rows: list[tuple], weights: list[tuple]) -> None:
    """Session-local tables: check parameters, bucket weights and the hourly totals."""
    conn.execute(
        "CREATE TEMP TABLE bench_check (check_id bigint PRIMARY KEY, interval_s int, "
        "slot_offset int, median_ms float8, sigma float8, degraded_ms int, degraded_bucket int, "
        "first_slot bigint, last_slot bigint, raw_from timestamptz, derived_from timestamptz)"
    )
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_check VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows
        )
    columns = ", ".join(f"{name} float8" for name in WEIGHTS)
    conn.execute(f"CREATE TEMP TABLE bench_weight (check_id bigint, slow bool, {columns})")
    with conn.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO bench_weight VALUES (%s, %s, {', '.join(['%s'] * len(WEIGHTS))})",  # noqa: S608
            weights,
        )
    counts = ", ".join(f"{name} int" for name in HISTOGRAM_FIELDS)
    conn.execute(
        "CREATE TEMP TABLE bench_hour (check_id bigint, start timestamptz, up int, degraded int, "
        f"down int, latency_sum_ms float8, latency_count int, {counts})"
    )
    conn.execute("ANALYZE bench_check")
    conn.execute("ANALYZE bench_weight")


# Outages (runs of down results) and slow spells of the raw checks, one row per minute;
# where both overlap the outage wins ('down' sorts before 'slow').
EPISODES_SQL = """
CREATE TEMP TABLE bench_episode AS
SELECT DISTINCT ON (check_id, minute) check_id, minute, kind, factor
FROM (
    SELECT e.check_id, e.kind, e.factor, m AS minute
    FROM (
        SELECT c.check_id, k.kind,
               floor(c.first_slot / 60 + random() * ((c.last_slot - c.first_slot) / 60))::bigint
                   AS first_minute,
               floor(exp(random() * ln(k.longest)))::int AS minutes,
               k.factor_low + random() * k.factor_spread AS factor
        FROM bench_check c
        CROSS JOIN (VALUES ('down', 0.15, 120, 1.0, 0.0), ('slow', 0.5, 240, 2.0, 4.0))
            AS k(kind, per_day, longest, factor_low, factor_spread)
        CROSS JOIN LATERAL generate_series(
            1, ceil((c.last_slot - c.first_slot) / 86400.0 * k.per_day)::int) AS n
        WHERE c.first_slot IS NOT NULL
        OFFSET 0
    ) AS e
    CROSS JOIN LATERAL generate_series(e.first_minute, e.first_minute + e.minutes - 1) AS m
) AS spread
ORDER BY check_id, minute, kind
"""

# One chunk of raw results, [t0, t1) in epoch seconds, stored as the engine stores them
# (a plain success keeps no status code and no detail). Latency is lognormal around the
# check's median (Box-Muller), swings with the time of day, spikes now and then and is
# multiplied during slow spells; outages give timeouts and 503s, and rare lone failures
# appear anywhere. The probe starts within a second of its slot, so a result's hour is its
# slot's hour. Rows go in slot order, the order the engine writes them in. The inserted
# rows feed the hourly totals in the same statement.
RAW_SQL = f"""
WITH generated AS (
    SELECT c.check_id, s.slot, c.degraded_ms, e.kind AS episode,
           0.02 + 0.95 * random() AS lag_s, random() AS u_fail, random() AS u_kind,
           coalesce(e.factor, 1.0) * c.median_ms
               * exp(c.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
               * (1 + 0.25 * sin(2 * pi() * ((s.slot %% 86400) / 86400.0 - 0.375)))
               * CASE WHEN random() < 0.002 THEN 3 + 7 * random() ELSE 1 END AS latency
    FROM bench_check c
    CROSS JOIN LATERAL generate_series(
        greatest(c.first_slot, %(t0)s
                 + ((c.slot_offset - %(t0)s) %% c.interval_s + c.interval_s) %% c.interval_s),
        least(c.last_slot, %(t1)s - 1),
        c.interval_s) AS s(slot)
    LEFT JOIN bench_episode e ON e.check_id = c.check_id AND e.minute = s.slot / 60
    WHERE c.first_slot IS NOT NULL
), shaped AS (
    SELECT check_id, slot, lag_s, degraded_ms, latency,
           CASE WHEN episode = 'down' AND u_kind < 0.7 THEN 'timeout'
                WHEN episode = 'down' THEN 'http503'
                WHEN u_fail < 0.0005 THEN 'reset'
                WHEN latency >= {TIMEOUT_MS} THEN 'timeout'
                ELSE 'ok' END AS how
    FROM generated
), inserted AS (
    INSERT INTO checks_result (check_id, slot, checked_at, outcome, latency_ms, status_code,
                               detail)
    SELECT check_id, slot, to_timestamp(slot + lag_s),
           CASE WHEN how <> 'ok' THEN 3 WHEN latency > degraded_ms THEN 2 ELSE 1 END,
           CASE how WHEN 'ok' THEN latency WHEN 'http503' THEN 2 + latency * 0.1 END,
           CASE WHEN how = 'ok' AND latency > degraded_ms THEN 200
                WHEN how = 'http503' THEN 503 END,
           CASE WHEN how = 'timeout' THEN 'timeout after {TIMEOUT_MS / 1000}s'
                WHEN how = 'http503' THEN 'HTTP 503 Service Unavailable'
                WHEN how = 'reset' THEN 'connection reset by peer'
                WHEN latency > degraded_ms THEN 'HTTP 200 in ' || round(latency::numeric)
                    || ' ms (slower than ' || degraded_ms || ' ms)'
                ELSE '' END
    FROM shaped
    ORDER BY slot, check_id
    RETURNING check_id, checked_at, outcome, latency_ms
)
INSERT INTO bench_hour (check_id, start, {", ".join(TOTALS)})
SELECT check_id, date_trunc('hour', checked_at) AS start,
       count(*) FILTER (WHERE outcome = 1), count(*) FILTER (WHERE outcome = 2),
       count(*) FILTER (WHERE outcome = 3), coalesce(sum(latency_ms::float8), 0), count(latency_ms),
       {", ".join(f"count(latency_ms) FILTER (WHERE bucket = {k})" for k in range(len(WEIGHTS)))}
FROM (SELECT *, {bucket_sql("latency_ms")} AS bucket FROM inserted) AS bucketed
GROUP BY check_id, start
"""  # noqa: S608


def _synthetic_sql(*, step: str, length_s: int, where: str, slow_p: float, down_p: float,
                   longest_min: int) -> str:  # fmt: skip
    """Totals (check_id, start, TOTALS...) of made-up periods from %(first)s to %(last)s.

    A period is slow (a 3x slower distribution) with probability ``slow_p`` and has an
    outage of 1 to ``longest_min`` minutes with probability ``down_p``; the histogram is
    the check's bucket weights times its result count, each bucket with +-15% noise.
    """
    draws = ", ".join(
        f"floor(p.n_latency * w.{weight} * (0.85 + 0.3 * random()) + random())::int AS {name}"
        for weight, name in zip(WEIGHTS, HISTOGRAM_FIELDS, strict=True)
    )
    names = ", ".join(HISTOGRAM_FIELDS)
    degraded = " + ".join(
        f"CASE WHEN degraded_bucket <= {k} THEN {name} ELSE 0 END"
        for k, name in enumerate(HISTOGRAM_FIELDS)
    )
    latency_sum = " + ".join(f"{name} * {_mid_ms(k)}" for k, name in enumerate(HISTOGRAM_FIELDS))
    return f"""
SELECT check_id, start, latency_count - degraded AS up, degraded, down, latency_sum_ms,
       latency_count, {names}
FROM (
    SELECT check_id, start, down, {names}, {" + ".join(HISTOGRAM_FIELDS)} AS latency_count,
           {degraded} AS degraded, {latency_sum} AS latency_sum_ms
    FROM (
        SELECT p.check_id, p.start, p.down, c.degraded_bucket, {draws}
        FROM (
            SELECT check_id, start, slow, least(n, down) AS down,
                   greatest(n - down, 0) AS n_latency
            FROM (
                SELECT c.check_id, g.start,
                       floor(least(extract(epoch FROM %(anchor)s::timestamptz - g.start),
                                   {length_s}) / c.interval_s)::int AS n,
                       random() < {slow_p} AS slow,
                       CASE WHEN random() < {down_p}
                            THEN ceil(exp(random() * ln({longest_min})) * 60 / c.interval_s)::int
                            ELSE 0 END AS down
                FROM bench_check c
                CROSS JOIN LATERAL generate_series(%(first)s::timestamptz,
                    %(last)s::timestamptz, interval '{step}') AS g(start)
                WHERE {where}
                OFFSET 0
            ) AS drawn_period
        ) AS p
        JOIN bench_check c ON c.check_id = p.check_id
        JOIN bench_weight w ON w.check_id = p.check_id AND w.slow = p.slow
        OFFSET 0
    ) AS drawn
) AS summed"""  # noqa: S608


def _rollup_insert_sql(*, period: str, source: str, order: str = "start, check_id") -> str:
    columns = ", ".join(TOTALS)
    return (
        f"INSERT INTO checks_rollup (check_id, period, start, maintenance, {columns}) "  # noqa: S608
        f"SELECT check_id, '{period}', start, 0, {columns} FROM ({source}) AS totals "
        f"ORDER BY {order}"
    )


def _raw_load(conn: psycopg.Connection, *, start_s: int, anchor_s: int, expected: int) -> None:
    """Raw results chunk by chunk, with a progress line per chunk."""
    conn.execute(EPISODES_SQL)
    conn.execute("ANALYZE bench_episode")
    began, done = time.monotonic(), 0
    for t0 in range(start_s, anchor_s, CHUNK_DAYS * 86400):
        t1 = min(t0 + CHUNK_DAYS * 86400, anchor_s)
        chunk_began = time.monotonic()
        conn.execute(RAW_SQL, {"t0": t0, "t1": t1})
        rows = conn.execute(
            "SELECT coalesce(sum(up + degraded + down), 0) FROM bench_hour "
            "WHERE start >= to_timestamp(%s) AND start < to_timestamp(%s)",
            [t0, t1],
        ).fetchone()[0]
        done += rows
        spent = time.monotonic() - chunk_began
        print(
            f"  raw {as_datetime(t0):%Y-%m-%d}..{as_datetime(t1 - 1):%m-%d}: {rows:>9,} rows "
            f"in {spent:5.1f}s ({rows / spent:>9,.0f} rows/s)  total {done:,}/{expected:,} "
            f"({done / (time.monotonic() - began):,.0f} rows/s)",
            flush=True,
        )


def _rollups_load(conn: psycopg.Connection, *, anchor: datetime, days: int) -> None:
    """Hourly rollups for the last 35 days, daily ones for ``days`` days, all checks."""
    today = day_start(anchor)
    hourly_from = today - timedelta(days=HOURLY_RETENTION_DAYS)
    hours = _synthetic_sql(
        step="1 hour", length_s=3600, where="c.raw_from IS NULL OR g.start < c.raw_from",
        slow_p=0.01, down_p=0.004, longest_min=60,
    )  # fmt: skip
    _step(
        "  hourly totals of checks without raw results",
        lambda: conn.execute(
            f"INSERT INTO bench_hour (check_id, start, {', '.join(TOTALS)}) {hours}",
            {"anchor": anchor, "first": hourly_from, "last": hour_start(anchor)},
        ),
    )
    conn.execute("ANALYZE bench_hour")
    old_days = _synthetic_sql(
        step="1 day", length_s=86400, where="g.start < c.derived_from",
        slow_p=0.03, down_p=0.05, longest_min=240,
    )  # fmt: skip
    _step(
        "  daily rollups before the hourly window",
        lambda: conn.execute(
            _rollup_insert_sql(period="day", source=old_days),
            {"anchor": anchor, "first": today - timedelta(days=days - 1), "last": today},
        ),
    )
    sums = ", ".join(f"sum({name}) AS {name}" for name in TOTALS)
    by_day = (
        f"SELECT check_id, date_trunc('day', start) AS start, {sums} "  # noqa: S608
        "FROM bench_hour GROUP BY check_id, date_trunc('day', start)"
    )
    _step(
        "  daily rollups summed from the hours",
        lambda: conn.execute(_rollup_insert_sql(period="day", source=by_day)),
    )
    recent = (
        f"SELECT check_id, start, {', '.join(TOTALS)} FROM bench_hour "  # noqa: S608
        "WHERE start >= %(first)s"
    )
    _step(
        "  hourly rollups",
        lambda: conn.execute(
            _rollup_insert_sql(period="hour", source=recent), {"first": hourly_from}
        ),
    )


def service_rollups_fill() -> int:
    """Sum the team's check rollups per service, as the rollup code does each period."""
    sql = service_rollups_sql(
        "c.service_id IN (SELECT s.id FROM catalog_service s "
        "JOIN catalog_team t ON t.id = s.team_id WHERE t.slug = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [TEAM])
        written = cursor.rowcount
        cursor.execute("ANALYZE checks_servicerollup")
    return written


def _step(label: str, action) -> None:
    began = time.monotonic()
    action()
    print(f"  {label}: {time.monotonic() - began:.1f}s", flush=True)


def _marks_clear(days: list) -> None:
    names = [partition_of(day).name for day in days]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i "
            "WHERE i.indisprimary AND i.indrelid::regclass::text = ANY(%s)",
            [names],
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f"COMMENT ON INDEX {index} IS NULL")


def dataset_generate(*, url: str, checks: int, raw: int, raw_rows: int, days: int) -> Dataset:
    """Replace the team's history with a freshly generated one (steps printed as they go)."""
    _step("removed previous bench-history rows", catalog_remove)
    anchor_s = int(time.time()) // 60 * 60
    anchor = as_datetime(anchor_s)
    service_ids, check_ids, profiles = catalog_create(checks=checks, raw=raw)
    raw_ids = check_ids[:raw]
    start_s = raw_start(profiles=profiles[:raw], ids=raw_ids, rows=raw_rows, anchor_s=anchor_s)
    raw_days = (anchor_s - start_s) / 86400
    if raw_days > days:
        raise SystemExit(f"{raw_rows:,} raw results need {raw_days:.0f} days: raise --days")
    hourly_from = day_start(anchor) - timedelta(days=HOURLY_RETENTION_DAYS)
    rows, weights, expected = [], [], 0
    for index, (check_id, profile) in enumerate(zip(check_ids, profiles, strict=True)):
        first = last = raw_from = None
        if index < raw:
            first, last, count = _slot_range(check_id, profile.interval_s, start_s, anchor_s)
            raw_from, expected = as_datetime(start_s), expected + count
        offset = slot_offset(check_id=check_id, interval_s=profile.interval_s)
        bucket = BUCKET_BOUNDS_MS.index(profile.degraded_ms) + 1
        derived_from = min(hourly_from, raw_from) if raw_from else hourly_from
        rows.append((check_id, profile.interval_s, offset, profile.median_ms, profile.sigma,
                     profile.degraded_ms, bucket, first, last, raw_from, derived_from))  # fmt: skip
        weights += [(check_id, slow, *_weights(profile, slow)) for slow in (False, True)]
    print(
        f"  {len(service_ids)} services, {checks} checks; {raw} raw checks from "
        f"{as_datetime(start_s):%Y-%m-%d} ({raw_days:.1f} days): {expected:,} raw results",
        flush=True,
    )
    first_day, last_day = as_datetime(start_s).date(), anchor.date()
    days_covered = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    _step(
        "day partitions of the raw window (checks.partitions)",
        lambda: partitions_create(days_covered),
    )
    with session_open(url) as conn:
        _scratch_create(conn, rows, weights)
        _step(
            "raw results",
            lambda: _raw_load(conn, start_s=start_s, anchor_s=anchor_s, expected=expected),
        )
        _step("rollups", lambda: _rollups_load(conn, anchor=anchor, days=days))
    _step("service rollups summed from the check rollups", service_rollups_fill)
    # What the partitions task does to each day once it is closed (checks.partitions). The
    # days were just written again: their marks from an earlier history no longer hold.
    _step("compaction marks of the rewritten days cleared", lambda: _marks_clear(days_covered))
    _step(
        "primary keys of the closed days rebuilt (partitions_compact)",
        lambda: partitions_compact(now=anchor, limit=len(days_covered)),
    )
    with session_open(url) as conn:
        # Visibility map and statistics as autovacuum leaves them: the plans are production's.
        _step(
            "VACUUM (ANALYZE) checks_result", lambda: conn.execute("VACUUM (ANALYZE) checks_result")
        )
        _step(
            "VACUUM (ANALYZE) checks_rollup", lambda: conn.execute("VACUUM (ANALYZE) checks_rollup")
        )
    return Dataset(service_ids, check_ids, raw_ids, anchor)
