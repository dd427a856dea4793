"""Reads of engine history. Uptime and latency come from rollups, never raw results."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from checks.histogram import percentile
from checks.models import HISTOGRAM_FIELDS, Check, Rollup, State
from statuspage.core.dbtime import db_datetime

# Window name -> (rollup period it reads, length). Short windows read hours, long days.
WINDOWS: dict[str, tuple[str, timedelta]] = {
    "24h": (Rollup.Period.HOUR, timedelta(hours=24)),
    "7d": (Rollup.Period.HOUR, timedelta(days=7)),
    "30d": (Rollup.Period.DAY, timedelta(days=30)),
    "90d": (Rollup.Period.DAY, timedelta(days=90)),
    "365d": (Rollup.Period.DAY, timedelta(days=365)),
}


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


def _window_start(window: str, now: datetime) -> tuple[str, datetime]:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}: use one of {', '.join(WINDOWS)}")
    period, length = WINDOWS[window]
    start = now - length
    if period == Rollup.Period.DAY:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        start = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return period, start


def availability_by(
    *, group: str, window: str, now: datetime, ids: list[int] | None = None
) -> dict[int, Availability]:
    """Counts and merged latency histogram per service or per check over a window.

    ``group`` is "service" or "check"; ``ids`` limits to those services or checks.
    One aggregate query over the rollup index, whatever the number of services.
    """
    period, start = _window_start(window, now)
    # Per-service questions read the per-service rollups: one row per service and period.
    table, key = {
        "service": ("checks_servicerollup", "r.service_id"),
        "check": ("checks_rollup", "r.check_id"),
    }[group]
    sums = ", ".join(f"SUM(r.{name})" for name in ["up", "degraded", "down", "maintenance"])
    hist = ", ".join(f"SUM(r.{name})" for name in HISTOGRAM_FIELDS)
    where = "r.period = %s AND r.start >= %s"
    params: list = [period, db_datetime(start)]
    if ids is not None:
        if not ids:
            return {}
        where += f" AND {key} IN ({', '.join(['%s'] * len(ids))})"
        params += list(ids)
    sql = (
        f"SELECT {key}, {sums}, {hist} FROM {table} r "  # noqa: S608
        f"WHERE {where} GROUP BY {key}"
    )
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


def check_states_by_service(*, service_ids: list[int] | None = None) -> dict[int, list[str]]:
    """The states of each service's enabled checks, in one query."""
    rows = Check.objects.filter(is_enabled=True)
    if service_ids is not None:
        rows = rows.filter(service_id__in=service_ids)
    states: dict[int, list[str]] = {}
    for service_id, state, paused in rows.values_list("service_id", "state", "is_paused"):
        states.setdefault(service_id, []).append(State.PAUSED if paused else state)
    return states
