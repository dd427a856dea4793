"""What the team page's rows read beyond their services: each source is one query for all
the rows of the page, whatever their number (none without rows; the per-location results
none unless a check shown runs from several locations)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from checks.histogram import percentile
from checks.models import HISTOGRAM_FIELDS, Check, Rollup
from statuspage.core.days import day_of, day_start
from statuspage.core.dbtime import datetime_from_db, db_datetime
from statuspage.core.sql import id_in, sums
from statuspage.web.selectors_common import (
    CHECK_FIELDS,
    LOCATION_FIELDS,
    CheckLocations,
    checks_seen_from,
    headline_check,
)

SPARK_HOURS = 24
BASELINE_DAYS = 7


@dataclass(frozen=True)
class LastDeployment:
    """What the team page shows of a service's last deployment."""

    id: int
    version: str
    deployed_at: datetime
    verdict: str  # a checks.models.Verdict value, or "pending"
    before_p95_ms: float | None
    after_p95_ms: float | None


@dataclass(frozen=True)
class RowSources:
    """Everything the rows are built from, each read once for all services."""

    now: datetime
    deployments: dict[int, LastDeployment]
    checks: dict[int, list[dict]]  # service id -> its checks
    maintenance: set[int]
    headlines: dict[int, dict | None]  # service id -> the check that speaks for its latency
    baselines: dict[int, float | None]  # check id -> p50 over the last BASELINE_DAYS
    sparks: dict[int, list[float | None]]  # check id -> hourly points
    # check id -> its locations' results, for running checks with several locations
    seen_from: dict[int, CheckLocations]


def row_sources(shown: list[dict], maintenance: set[int], now: datetime) -> RowSources:
    """The checks, last deployments, baselines, sparkline points and per-location results
    of the rows shown."""
    if not shown:
        return RowSources(now, {}, {}, maintenance, {}, {}, {}, {})
    ids = [s["id"] for s in shown]
    checks = _checks_of(ids)
    headlines = {s["id"]: headline_check(checks.get(s["id"], [])) for s in shown}
    headline_ids = [c["id"] for c in headlines.values() if c is not None]
    return RowSources(
        now=now,
        deployments=_last_deployments(ids),
        checks=checks,
        maintenance=maintenance,
        headlines=headlines,
        baselines=_baselines(headline_ids, now),
        sparks=_sparkline_points(headline_ids, now),
        seen_from=checks_seen_from([c for row in checks.values() for c in row]),
    )


def _checks_of(service_ids: list[int]) -> dict[int, list[dict]]:
    """Every field the rows show of the checks of these services."""
    checks: dict[int, list[dict]] = {}
    rows = Check.objects.filter(service_id__in=service_ids).values(*CHECK_FIELDS, *LOCATION_FIELDS)
    for check in rows:
        checks.setdefault(check["service_id"], []).append(check)
    return checks


def _last_deployments(service_ids: list[int]) -> dict[int, LastDeployment]:
    """The last deployment of each service, by service id (services without one: absent)."""
    ids_sql, ids_params = id_in("s.id", service_ids)
    sql = (
        "SELECT d.service_id, d.id, d.version, d.deployed_at, i.verdict, i.before_p95_ms, "  # noqa: S608
        "i.after_p95_ms FROM catalog_deployment d "
        "LEFT JOIN checks_deploymentimpact i ON i.deployment_id = d.id "
        "WHERE d.id IN (SELECT (SELECT l.id FROM catalog_deployment l WHERE l.service_id = s.id "
        f"ORDER BY l.deployed_at DESC LIMIT 1) FROM catalog_service s WHERE {ids_sql})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids_params)
        rows = cursor.fetchall()
    return {
        row[0]: LastDeployment(
            row[1], row[2], datetime_from_db(row[3]), row[4] or "pending", *row[5:]
        )
        for row in rows
    }


def _sparkline_points(check_ids: list[int], now: datetime) -> dict[int, list[float | None]]:
    """Mean latency of each check per hour over the last SPARK_HOURS (this hour included).

    One query over the hourly rollups. The mean (latency_sum_ms / latency_count) rather
    than the p50: the p50 needs every histogram column of every hour of every row, and
    transferring that many values alone would cost the page its time budget.
    """
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=SPARK_HOURS - 1)
    points: dict[int, list[float | None]] = {}
    if not check_ids:
        return points
    # The hour of day (UTC) names the slot: consecutive hours up to a day each have their own.
    hour_sql, hour_params = connection.ops.datetime_extract_sql("hour", "start", (), "UTC")
    checks_sql, checks_params = id_in("check_id", check_ids)
    sql = (
        f"SELECT check_id, CAST({hour_sql} AS INTEGER), latency_sum_ms / latency_count "  # noqa: S608
        "FROM checks_rollup WHERE period = %s AND start >= %s AND latency_count > 0 "
        f"AND {checks_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*hour_params, Rollup.Period.HOUR, db_datetime(first), *checks_params])
        rows = cursor.fetchall()
    for check_id, hour, mean_ms in rows:
        line = points.get(check_id)
        if line is None:
            line = points[check_id] = [None] * SPARK_HOURS
        line[(hour - first.hour) % SPARK_HOURS] = mean_ms
    return points


def _baselines(check_ids: list[int], now: datetime) -> dict[int, float | None]:
    """The p50 latency of each check over its last BASELINE_DAYS (today so far included).

    Read from the daily rollups: a day's histogram is the sum of its hours', so the p50 is
    the one the hourly rows would give, from a row per day instead of one per hour.
    """
    if not check_ids:
        return {}
    since = day_start(day_of(now) - timedelta(days=BASELINE_DAYS - 1))
    checks_sql, checks_params = id_in("check_id", check_ids)
    sql = (
        f"SELECT check_id, {sums(HISTOGRAM_FIELDS)} FROM checks_rollup "  # noqa: S608
        f"WHERE period = %s AND start >= %s AND {checks_sql} GROUP BY check_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Rollup.Period.DAY, db_datetime(since), *checks_params])
        rows = cursor.fetchall()
    return {row[0]: percentile([int(v) for v in row[1:]], 0.5) for row in rows}
