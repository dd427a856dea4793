"""Hourly and daily rollups, recomputed from their sources, and retention pruning.

Recomputing (rather than incrementing) makes every run idempotent: an hour is rebuilt
from the raw results it contains, a day from its hours. Pages read rollups only.
"""

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from checks.histogram import bucket_sql
from checks.models import HISTOGRAM_FIELDS, Outcome, Ping, Rollup, ServiceRollup
from checks.partitions import default_rows_delete, partitions_drop
from statuspage.core import days
from statuspage.core.dbtime import db_datetime
from statuspage.core.sql import sums

OUTCOME_FIELDS = {Outcome.UP: "up", Outcome.DEGRADED: "degraded", Outcome.DOWN: "down"}
COUNT_FIELDS = ["up", "degraded", "down", "maintenance", "latency_sum_ms", "latency_count"]
SUMMED_FIELDS = [*COUNT_FIELDS, *HISTOGRAM_FIELDS]
HOURLY_RETENTION_DAYS = 35
SLOT_MARGIN_S = 300
# Results are measured at most PROBE_MAX_LATENESS_S after their slot; an hour bounds it.
SLOT_LAG_S = 3600


def hour_start(moment: datetime) -> datetime:
    """The whole UTC hour holding ``moment``: in a zone with a half-hour offset the local
    hour would start half-way through a UTC one."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_start(moment: datetime) -> datetime:
    """Where the daily rollup holding ``moment`` starts (``statuspage.core.days``)."""
    return days.day_start(days.day_of(moment))


def _summed(prefix: str = "") -> tuple[str, str, str]:
    """The summed columns, their SUM()s and the ON CONFLICT assignments, for upserts."""
    columns = ", ".join(SUMMED_FIELDS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in SUMMED_FIELDS)
    return columns, sums(SUMMED_FIELDS, prefix), updates


def _hour_upsert_sql() -> str:
    """One statement that aggregates the raw results of one hour per check, in the database,
    and writes them as that hour's check rollups.

    A result taken while its service was inside a maintenance window counts as
    ``maintenance`` instead of up/degraded/down (its latency still counts). The windows
    overlapping the hour are gathered once per check in a small materialized CTE (usually
    empty), so the per-result test is cheap, and EXISTS (not a join) keeps a result counted
    once when two windows overlap. The results are first grouped by check, outcome and
    latency bucket (a few groups per check), then folded into one row per check, so the
    bucket of each result is worked out once. A rollup whose counts did not change is not
    written again.
    """
    windows = (
        "SELECT c.id AS check_id, mw.starts_at, mw.ends_at FROM checks_maintenancewindow mw "
        "JOIN checks_check c ON c.service_id = mw.service_id "
        "WHERE mw.starts_at < %(end)s AND (mw.ends_at IS NULL OR mw.ends_at > %(start)s)"
    )
    # 0 stands for "inside a window"; outcomes are 1..3. The IN test is a hashed lookup
    # done once per query, so only results of checks that have a window run the EXISTS.
    counted = (
        "CASE WHEN r.check_id IN (SELECT check_id FROM w) AND EXISTS (SELECT 1 FROM w "
        "WHERE w.check_id = r.check_id "
        "AND w.starts_at <= r.checked_at AND (w.ends_at IS NULL OR w.ends_at > r.checked_at)) "
        "THEN 0 ELSE r.outcome END"
    )
    groups = (
        f"SELECT r.check_id, {counted} AS counted, {bucket_sql('r.latency_ms')} AS bucket, "  # noqa: S608
        "COUNT(*) AS n, SUM(CAST(r.latency_ms AS double precision)) AS latency_sum, "
        "COUNT(r.latency_ms) AS latency_count "
        "FROM checks_result r "
        # Gaps (skipped slots) are neither up nor down: they are left out of every count.
        # Each location's own result is not counted: its slot's outcome is (checks.quorum).
        # A slot is at most a few minutes after its result's checked_at, and a result is
        # stored well within SLOT_LAG_S of its slot (later ones are gaps, checked at their
        # slot): the slot bounds change no answer and let PostgreSQL read only the day
        # partitions around the hour.
        "WHERE r.checked_at >= %(start)s AND r.checked_at < %(end)s "
        "AND r.slot >= %(slot_from)s AND r.slot < %(slot_to)s "
        f"AND r.outcome <> {Outcome.SKIPPED:d} "
        "AND r.location = '' "
        "GROUP BY r.check_id, counted, bucket"
    )
    folded = {
        **{
            name: f"SUM(CASE WHEN g.counted = {outcome:d} THEN g.n ELSE 0 END)"
            for outcome, name in OUTCOME_FIELDS.items()
        },
        "maintenance": "SUM(CASE WHEN g.counted = 0 THEN g.n ELSE 0 END)",
        "latency_sum_ms": "COALESCE(SUM(g.latency_sum), 0)",
        "latency_count": "SUM(g.latency_count)",
        **{
            name: f"SUM(CASE WHEN g.bucket = {index} THEN g.latency_count ELSE 0 END)"
            for index, name in enumerate(HISTOGRAM_FIELDS)
        },
    }
    columns, _, updates = _summed()
    old = ", ".join(f"checks_rollup.{name}" for name in SUMMED_FIELDS)
    new = ", ".join(f"excluded.{name}" for name in SUMMED_FIELDS)
    return (
        # The CTEs belong to the SELECT: SQLite reports no row count for a statement that
        # starts with WITH.
        f"INSERT INTO checks_rollup (check_id, period, start, {columns}) "  # noqa: S608
        f"WITH w AS MATERIALIZED ({windows}), g AS ({groups}) "
        "SELECT g.check_id, %(period)s, %(start)s, "
        f"{', '.join(folded[name] for name in SUMMED_FIELDS)} "
        # WHERE true: SQLite would otherwise read the ON CONFLICT below as a join's ON.
        "FROM g WHERE true GROUP BY g.check_id "
        f"ON CONFLICT (check_id, period, start) DO UPDATE SET {updates} "
        f"WHERE ({old}) <> ({new})"
    )


_HOUR_UPSERT_SQL = _hour_upsert_sql()


@transaction.atomic
def rollup_hour_compute(*, start: datetime) -> int:
    """Rebuild the hourly rollups of the hour starting at ``start``. Returns the check
    rollups written (new or changed)."""
    start = hour_start(start)
    end = start + timedelta(hours=1)
    with connection.cursor() as cursor:
        cursor.execute(
            _HOUR_UPSERT_SQL,
            {
                "start": db_datetime(start),
                "end": db_datetime(end),
                "slot_from": int(start.timestamp()) - SLOT_LAG_S,
                "slot_to": int(end.timestamp()) + SLOT_MARGIN_S,
                "period": Rollup.Period.HOUR,
            },
        )
        written = cursor.rowcount
    _service_rollups_compute(Rollup.Period.HOUR, start)
    return written


def service_rollups_sql(where: str) -> str:
    """An upsert summing the check rollups matching ``where`` (on ``r``, the check rollup,
    and ``c``, its check) into per-service rollups of the same period and start."""
    columns, summed, updates = _summed("r.")
    return (
        f"INSERT INTO checks_servicerollup (service_id, period, start, {columns}) "  # noqa: S608
        f"SELECT c.service_id, r.period, r.start, {summed} FROM checks_rollup r "
        f"JOIN checks_check c ON c.id = r.check_id WHERE {where} "
        "GROUP BY c.service_id, r.period, r.start "
        f"ON CONFLICT (service_id, period, start) DO UPDATE SET {updates}"
    )


def _service_rollups_compute(period: str, start: datetime) -> None:
    """Sum one period's check rollups per service into the service rollups."""
    with connection.cursor() as cursor:
        cursor.execute(
            service_rollups_sql("r.period = %s AND r.start = %s"), [period, db_datetime(start)]
        )


@transaction.atomic
def rollup_day_compute(*, start: datetime) -> int:
    """Rebuild the daily rollups of the day holding ``start`` from its hourly rollups, in
    one statement. The day is the page's (``statuspage.core.days``)."""
    day = day_start(start)
    end = days.day_end(days.day_of(day))
    columns, summed, updates = _summed()
    sql = (
        f"INSERT INTO checks_rollup (check_id, period, start, {columns}) "  # noqa: S608
        f"SELECT check_id, %s, %s, {summed} FROM checks_rollup "
        "WHERE period = %s AND start >= %s AND start < %s GROUP BY check_id "
        f"ON CONFLICT (check_id, period, start) DO UPDATE SET {updates}"
    )
    params = [
        Rollup.Period.DAY,
        db_datetime(day),
        Rollup.Period.HOUR,
        db_datetime(day),
        db_datetime(end),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.rowcount
    _service_rollups_compute(Rollup.Period.DAY, day)
    return written


def rollups_days_rebuild(*, now: datetime) -> int:
    """Rebuild the daily rollups on the current day boundary, from the hourly rollups still
    kept: what a change of the page's time zone needs. Returns the days rebuilt.

    1. The first day the hourly rollups cover whole (one that began before the hourly
       retention may have lost hours: it keeps the rollup it had), and the last.
    2. Delete the daily rollups (per check and per service) that read as those days: a
       reader puts a rollup on the day whose midnight is nearest its start, so a rollup
       left on the old boundary would count twice.
    3. Recompute each day from its hours.
    """
    hours = Rollup.objects.filter(period=Rollup.Period.HOUR).order_by("start")
    first_hour = hours.values_list("start", flat=True).first()
    last_hour = hours.reverse().values_list("start", flat=True).first()
    if first_hour is None:
        return 0
    first = days.day_of(first_hour)
    if days.day_start(first) < now - timedelta(days=HOURLY_RETENTION_DAYS):
        first += timedelta(days=1)
    last = days.day_of(last_hour)
    if first > last:
        return 0
    since = days.day_start(first) - timedelta(hours=12)
    with transaction.atomic():
        for model in (Rollup, ServiceRollup):
            model.objects.filter(period=Rollup.Period.DAY, start__gte=since).delete()
        day = first
        while day <= last:
            rollup_day_compute(start=days.day_start(day))
            day += timedelta(days=1)
    return (last - first).days + 1


def rollups_refresh(*, now: datetime, late_minutes: int = 10) -> tuple[int, int]:
    """Recompute the current hour and day (and the previous ones just after they end).

    Results can arrive a little after their hour ends (a slow batch), so the previous
    hour is rebuilt once more during the first ``late_minutes`` of the next one.
    """
    hours = [hour_start(now)]
    if now - hours[0] < timedelta(minutes=late_minutes):
        hours.insert(0, hours[0] - timedelta(hours=1))
    hourly = sum(rollup_hour_compute(start=h) for h in hours)
    days = sorted({day_start(h) for h in hours})
    daily = sum(rollup_day_compute(start=d) for d in days)
    return hourly, daily


def rollups_recompute(*, hours: Iterable[datetime]) -> tuple[int, int]:
    """Recompute the hourly rollups of ``hours``, then the daily rollups of their days.
    Recomputing is idempotent, so a task that runs twice writes the same rows."""
    starts = sorted(set(hours))
    hourly = sum(rollup_hour_compute(start=hour) for hour in starts)
    daily = sum(rollup_day_compute(start=day) for day in sorted({day_start(h) for h in starts}))
    return hourly, daily


def prune_batch(model, *, field_name: str, before: datetime, batch: int):
    """The primary keys of the next batch to prune: the oldest rows before ``before``.

    Oldest first along the time index: without an order the planner may pick a sequential
    scan that re-reads the already-deleted prefix on every batch.
    """
    old = model.objects.filter(**{f"{field_name}__lt": before}).order_by(field_name)
    return old.values_list("pk", flat=True)[:batch]


def history_prune(
    *,
    now: datetime,
    batch: int = 10_000,
    budget_s: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """Remove raw results and pings past retention, and rollups past theirs.

    1. On PostgreSQL, drop the day partitions of results that ended before the retention
       cutoff (``checks.partitions``): whole days at once, whatever their size.
    2. Delete the rest in batches: results in the default partition (or, on SQLite, the
       whole results table), pings and rollups. One budget covers them all and the tables
       take turns a batch at a time, so a backlog in one (results after an outage of the
       pruner) cannot starve the others; the run ends when the budget is spent, and rows
       left over go at the next run.

    ``results`` counts rows deleted one by one; ``result_partitions`` the day partitions
    dropped and ``result_partition_rows`` their rows as the statistics estimate them.
    """
    deadline = clock() + budget_s
    raw_before = now - timedelta(days=settings.RESULT_RETENTION_DAYS)
    hourly_before = now - timedelta(days=HOURLY_RETENTION_DAYS)
    daily_before = now - timedelta(days=settings.ROLLUP_RETENTION_DAYS)
    dropped, estimate = partitions_drop(before_slot=int(raw_before.timestamp()), now=now)
    tables = {
        "pings": (Ping.objects.filter(received_at__lt=raw_before), "received_at"),
        "hourly": (
            Rollup.objects.filter(period=Rollup.Period.HOUR, start__lt=hourly_before),
            "start",
        ),
        "daily": (Rollup.objects.filter(period=Rollup.Period.DAY, start__lt=daily_before), "start"),
        "service_hourly": (
            ServiceRollup.objects.filter(period=Rollup.Period.HOUR, start__lt=hourly_before),
            "start",
        ),
        "service_daily": (
            ServiceRollup.objects.filter(period=Rollup.Period.DAY, start__lt=daily_before),
            "start",
        ),
    }
    deleted = {"results": 0, **dict.fromkeys(tables, 0)}
    pending = list(deleted)
    while pending and clock() < deadline:
        for name in list(pending):
            if clock() >= deadline:
                break
            if name == "results":
                removed = default_rows_delete(before=raw_before, batch=batch)
            else:
                old, field_name = tables[name]
                # Oldest first along the time index, as prune_batch explains.
                ids = list(old.order_by(field_name).values_list("id", flat=True)[:batch])
                removed = old.model.objects.filter(id__in=ids).delete()[0] if ids else 0
            if not removed:
                pending.remove(name)
            deleted[name] += removed
    return deleted | {"result_partitions": len(dropped), "result_partition_rows": estimate}
