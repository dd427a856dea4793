"""Reads of engine history. Uptime and latency come from rollups, never raw results."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import QuerySet

from checks.histogram import percentile
from checks.models import HISTOGRAM_FIELDS, Check, Rollup, State
from statuspage.core.days import day_of, day_start
from statuspage.core.dbtime import db_datetime
from statuspage.core.sql import id_in, sums

# Window name -> (rollup period it reads, length). Short windows read hours, long days.
WINDOWS: dict[str, tuple[str, timedelta]] = {
    "24h": (Rollup.Period.HOUR, timedelta(hours=24)),
    "7d": (Rollup.Period.HOUR, timedelta(days=7)),
    "30d": (Rollup.Period.DAY, timedelta(days=30)),
    "90d": (Rollup.Period.DAY, timedelta(days=90)),
    "365d": (Rollup.Period.DAY, timedelta(days=365)),
}
# The result counts Availability is read from, in the order of its fields.
AVAILABILITY_COUNTS = ("up", "degraded", "down", "maintenance")


@dataclass(frozen=True)
class Availability:
    up: int
    degraded: int
    down: int
    maintenance: int
    histogram: tuple[int, ...]

    @property
    def counted(self) -> int:
        """Results that count for uptime (maintenance is shown but not counted)."""
        return self.up + self.degraded + self.down

    @property
    def uptime_pct(self) -> float | None:
        """Share of counted results that were available (up or degraded); None: no data."""
        if not self.counted:
            return None
        return 100.0 * (self.up + self.degraded) / self.counted

    def latency_ms(self, q: float) -> float | None:
        return percentile(self.histogram, q)


def window_start(window: str, now: datetime) -> datetime:
    """Where ``window`` begins: at a whole hour for windows read from hourly rollups, at the
    start of a day (statuspage.core.days) for those read from daily rollups, so that every
    rollup counted lies wholly inside the window."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}: use one of {', '.join(WINDOWS)}")
    period, length = WINDOWS[window]
    start = now - length
    if period == Rollup.Period.DAY:
        return day_start(day_of(start) + timedelta(days=1))
    return start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def availability_by(
    *, group: str, window: str, now: datetime, ids: list[int] | None = None
) -> dict[int, Availability]:
    """Counts and merged latency histogram per service or per check over a window.

    ``group`` is "service" or "check"; ``ids`` limits to those services or checks.
    One aggregate query over the rollup index, whatever the number of services.
    """
    start = window_start(window, now)
    period = WINDOWS[window][0]
    # Per-service questions read the per-service rollups: one row per service and period.
    table, key = {
        "service": ("checks_servicerollup", "r.service_id"),
        "check": ("checks_rollup", "r.check_id"),
    }[group]
    where = "r.period = %s AND r.start >= %s"
    params: list = [period, db_datetime(start)]
    if ids is not None:
        if not ids:
            return {}
        ids_sql, ids_params = id_in(key, ids)
        where += f" AND {ids_sql}"
        params += ids_params
    columns = f"{sums(AVAILABILITY_COUNTS, 'r.')}, {sums(HISTOGRAM_FIELDS, 'r.')}"
    sql = f"SELECT {key}, {columns} FROM {table} r WHERE {where} GROUP BY {key}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        row[0]: Availability(
            up=int(row[1]),
            degraded=int(row[2]),
            down=int(row[3]),
            maintenance=int(row[4]),
            histogram=tuple(int(v) for v in row[5:]),
        )
        for row in rows
    }


def check_states_by_service(
    *, service_ids: list[int] | QuerySet | None = None
) -> dict[int, list[str]]:
    """The states of each service's enabled checks, in one query. ``service_ids`` may be a
    subquery of ids: the database then joins and no ids travel back and forth."""
    rows = Check.objects.filter(is_enabled=True)
    if service_ids is not None:
        rows = rows.filter(service_id__in=service_ids)
    states: dict[int, list[str]] = {}
    for service_id, state, paused in rows.values_list("service_id", "state", "is_paused"):
        states.setdefault(service_id, []).append(State.PAUSED if paused else state)
    return states
