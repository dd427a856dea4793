"""The 90-day uptime bars of the public page: a cell per service and day, read from the
daily rollups.

Cells with the same content are one object, compared by identity: a page has far fewer
distinct cells than cells, which keeps building them, and the HTML made of them
(``statuspage.web.public_views``), cheap. ``statuspage.web.public_cache`` keeps the past
days per process and reads today's on every render. Days are the page's
(``statuspage.core.days``).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from checks.models import Rollup
from statuspage.core.days import day_end, day_start
from statuspage.core.dbtime import db_datetime
from statuspage.core.sql import id_in
from statuspage.web.uptime import DayCell

UPTIME_DAYS = 90


@dataclass(frozen=True)
class DayCells:
    """Cells of the public services, one per day for UPTIME_DAYS days from ``first_day``;
    ``nothing`` (cells without results) for a service with no rollup in the days read.
    ``totals``: a service's (available, counted) results over all its cells."""

    first_day: date
    bars: dict[int, list[DayCell]]
    nothing: list[DayCell]
    totals: dict[int, tuple[int, int]]

    def of(self, service_id: int) -> list[DayCell]:
        return self.bars.get(service_id, self.nothing)

    def uptime(self, service_id: int) -> float | None:
        available, counted = self.totals.get(service_id, (0, 0))
        return 100.0 * available / counted if counted else None

    def with_last_day_of(self, other: "DayCells") -> "DayCells":
        """These cells with the last day taken from ``other`` (read later)."""
        last = UPTIME_DAYS - 1
        bars, totals = {}, {}
        for service_id in self.bars.keys() | other.bars.keys():
            cells = self.of(service_id).copy()
            dropped, cells[last] = cells[last], other.of(service_id)[last]
            available, counted = self.totals.get(service_id, (0, 0))
            totals[service_id] = (
                available - dropped.available + cells[last].available,
                counted - dropped.counted + cells[last].counted,
            )
            bars[service_id] = cells
        return DayCells(self.first_day, bars, self.nothing, totals)

    def moved_to(self, first_day: date, newest: "DayCells") -> "DayCells":
        """These past cells (every day but the last) moved on to start at ``first_day``:
        the days still in the window kept, the days after them taken from ``newest``
        (read for those days only). What a new day needs instead of 89 days read again."""
        shift = (first_day - self.first_day).days
        kept = UPTIME_DAYS - 1 - shift  # past days that stay past days
        last = UPTIME_DAYS - 1
        bars, totals = {}, {}
        for service_id in self.bars.keys() | newest.bars.keys():
            old, new = self.of(service_id), newest.of(service_id)
            bars[service_id] = [*old[shift:last], *new[kept:last], newest.nothing[last]]
            available, counted = self.totals.get(service_id, (0, 0))
            added = newest.totals.get(service_id, (0, 0))
            totals[service_id] = (
                available - sum(c.available for c in old[:shift]) + added[0],
                counted - sum(c.counted for c in old[:shift]) + added[1],
            )
        return DayCells(first_day, bars, newest.nothing, totals)


def day_cells(
    first_day: date, checks: dict[int, int], *, first: int = 0, last: int = UPTIME_DAYS - 1
) -> DayCells:
    """The cells of the days ``first`` to ``last`` (indices from ``first_day``) read from
    the daily rollups of ``checks`` (check id -> service id); the other days are left
    without results.

    Raw SQL by check id (the rollups' unique index) without GROUP BY: on a page's worth of
    rows the database's aggregation and the ORM's per-row datetime conversion each cost
    more than this loop, which also sums the checks of a service.
    Alike cells are one object (see DayCell).
    """
    days = [first_day + timedelta(days=n) for n in range(UPTIME_DAYS)]
    nothing = [DayCell(day, 0, 0, 0) for day in days]
    if not checks:
        return DayCells(first_day, {}, nothing, {})
    # A daily rollup starts at its day's midnight (statuspage.core.days): the day is the
    # one whose midnight is nearest, which holds across a DST change and puts a rollup
    # left on an earlier time zone's boundary on the day it overlaps most.
    if connection.vendor == "postgresql":
        nearest = "CAST(ROUND(EXTRACT(EPOCH FROM (r.start - %s::timestamptz)) / 86400) AS INTEGER)"
        index = f"LEAST(GREATEST({nearest}, %s), %s)"
    else:
        nearest = "CAST(ROUND(julianday(r.start) - julianday(%s)) AS INTEGER)"
        index = f"MIN(MAX({nearest}, %s), %s)"
    which, ids = id_in("r.check_id", list(checks))
    sql = (
        f"SELECT r.check_id, {index}, r.up + r.degraded, r.down, "  # noqa: S608
        f"r.maintenance FROM {Rollup._meta.db_table} r WHERE {which} "
        "AND r.period = %s AND r.start >= %s AND r.start < %s"
    )
    window = (day_start(days[first]), day_end(days[last]))
    params = [db_datetime(day_start(first_day)), first, last, *ids, Rollup.Period.DAY]
    params += [db_datetime(moment) for moment in window]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    bars: dict[int, list[DayCell]] = {}
    totals: dict[int, tuple[int, int]] = {}
    shared: dict[tuple[int, int, int, int], DayCell] = {}
    for check_id, index, available, down, maintenance in rows:
        service_id = checks[check_id]
        cells = bars.get(service_id)
        if cells is None:
            cells = bars[service_id] = nothing.copy()
            totals[service_id] = (0, 0)
        total_available, total_counted = totals[service_id]
        totals[service_id] = (total_available + available, total_counted + available + down)
        earlier = cells[index]
        if earlier is not nothing[index]:  # another check of the same service that day
            available += earlier.available
            down += earlier.counted - earlier.available
            maintenance += earlier.maintenance
        key = (index, available, down, maintenance)
        cell = shared.get(key)
        if cell is None:
            cell = shared[key] = DayCell(days[index], available, available + down, maintenance)
        cells[index] = cell
    return DayCells(first_day, bars, nothing, totals)


def read_day_cells(first_day: date, checks: dict[int, int]) -> DayCells:
    """``public_summary``'s default reader of the uptime cells: all days, every time."""
    return day_cells(first_day, checks)
