"""Synthetic history for new demo checks, so every chart, bar and verdict has something
to show from the first second.

Deterministic (no randomness): the same history on every machine, relative to now.

- the last few hours as raw results, fed through the engine's own ``results_record`` so
  states and transitions are real, then rolled up by the engine's rollup code;
- hourly rollups before that, back to the start of the hourly retention;
- daily rollups for the rest of the 90 days;
- a deployment of the checkout API whose results improved, judged by the engine;
- a resolved, published incident on the day of a short blip in that history.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from checks.deploys import deployment_judge
from checks.heartbeats import PingInput, ping_record
from checks.histogram import BUCKETS, bucket_of
from checks.models import HISTOGRAM_FIELDS, Check, Kind, Outcome, PingKind, Rollup
from checks.rollups import (
    day_start,
    hour_start,
    rollup_day_compute,
    rollup_hour_compute,
    service_rollups_sql,
)
from checks.scheduling import slot_at_or_before
from checks.services import Observation, results_record
from statuspage.catalog.demo import DEMO_SERVICES
from statuspage.catalog.models import DeploymentSource, Service
from statuspage.catalog.services import deployment_record
from statuspage.core.days import day_of
from statuspage.core.days import day_start as days_start
from statuspage.core.sql import id_in
from statuspage.incidents.models import ComponentStatus, Impact, Incident, IncidentStatus
from statuspage.incidents.services import incident_open

CURATED_SLUGS = frozenset(spec.slug for spec in DEMO_SERVICES)
HISTORY_DAYS = 90
HOURLY_DAYS = 35
RAW_HOURS = 2
# Spread of one hour's latencies around its typical value (fixed, no randomness).
SPREAD = (0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.1, 1.2, 1.35, 1.8)
BLIP_DAYS_AGO = 12
BLIP_HOUR = 10
DEPLOY_SERVICE = "checkout-api"
DEPLOY_VERSION = "2026.12-demo"
DEPLOY_AGO = timedelta(minutes=75)
INCIDENT_TITLE = "Checkout slow for some customers"


@dataclass(frozen=True)
class Shape:
    """How a check behaves in the synthetic history."""

    latency_ms: float
    outcome: int = Outcome.UP
    status_code: int | None = 200


def shape_of(check: Check) -> Shape | None:
    """None: no synthetic history (heartbeats, the endpoint that always fails, and the
    fillers of `--services N`, which would make a large catalog slow to create)."""
    if check.kind == Kind.HEARTBEAT or "failing" in check.name:
        return None
    if check.service.slug not in CURATED_SLUGS:
        return None
    if check.kind == Kind.TCP:
        return Shape(1.5, status_code=None)
    if "slow" in check.name:
        return Shape(620.0, Outcome.DEGRADED)
    if "sign-in" in check.name:
        return Shape(60.0)
    return Shape(80.0 if check.service.slug == DEPLOY_SERVICE else 12.0)


def _wave(check_id: int, hour_index: int) -> float:
    """A slow daily rhythm plus a per-check phase: busier afternoons, quiet nights."""
    return 1.0 + 0.2 * math.sin((hour_index % 24) / 24 * 2 * math.pi + check_id)


def _is_blip(check: Check, start: datetime, now: datetime) -> bool:
    blip = day_start(now) - timedelta(days=BLIP_DAYS_AGO) + timedelta(hours=BLIP_HOUR)
    return check.service.slug == DEPLOY_SERVICE and start == blip


def hour_counts(check: Check, shape: Shape, start: datetime, now: datetime) -> dict:
    """One hour of a check's rollup: counts by outcome and the latency histogram."""
    per_hour = max(1, 3600 // check.interval_s)
    index = int(start.timestamp() // 3600)
    typical = shape.latency_ms * _wave(check.id, index)
    histogram = [0] * BUCKETS
    latencies = [typical * SPREAD[i % len(SPREAD)] for i in range(per_hour)]
    down = degraded = 0
    if _is_blip(check, start, now):
        degraded, down = per_hour // 3, per_hour // 12
        latencies = [value * 8 for value in latencies]
    for value in latencies:
        histogram[bucket_of(value)] += 1
    up = per_hour - degraded - down
    values = {"up": up, "degraded": degraded, "down": down, "maintenance": 0}
    if shape.outcome == Outcome.DEGRADED:
        values.update(up=0, degraded=up + degraded)
    values.update(latency_sum_ms=sum(latencies), latency_count=len(latencies))
    values.update(zip(HISTOGRAM_FIELDS, histogram, strict=True))
    return values


def _summed(rows: list[dict]) -> dict:
    return {key: sum(row[key] for row in rows) for key in rows[0]}


def rollups_write(checks: list[tuple[Check, Shape]], now: datetime) -> None:
    """Hourly rollups for the hourly-retention days, daily ones before them."""
    today = day_of(now)
    hourly_from = hour_start(days_start(today - timedelta(days=HOURLY_DAYS - 1)))
    raw_from = hour_start(now) - timedelta(hours=RAW_HOURS)
    rows = []
    for check, shape in checks:
        hour = hourly_from
        while hour < raw_from:
            values = hour_counts(check, shape, hour, now)
            rows.append(Rollup(check_ref=check, period=Rollup.Period.HOUR, start=hour, **values))
            hour += timedelta(hours=1)
        for days_ago in range(HOURLY_DAYS, HISTORY_DAYS):
            day = days_start(today - timedelta(days=days_ago))
            hours = [hour_counts(check, shape, day + timedelta(hours=h), now) for h in range(24)]
            rows.append(
                Rollup(check_ref=check, period=Rollup.Period.DAY, start=day, **_summed(hours))
            )
    Rollup.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    ids = [check.id for check, _ in checks]
    which, params = id_in("r.check_id", ids)
    with connection.cursor() as cursor:
        cursor.execute(service_rollups_sql(which), params)
    # Days inside the hourly range are summed from their hours by the engine's own code.
    for days_ago in range(HOURLY_DAYS):
        rollup_day_compute(start=days_start(today - timedelta(days=days_ago)))


def raw_results_write(checks: list[tuple[Check, Shape]], now: datetime) -> None:
    """The last hours as real results, through the engine (states and transitions too)."""
    raw_from = hour_start(now) - timedelta(hours=RAW_HOURS)
    deployed_at = now - DEPLOY_AGO
    observations = []
    for check, shape in checks:
        last = slot_at_or_before(check_id=check.id, interval_s=check.interval_s, t=now.timestamp())
        slot = last - check.interval_s  # the current slot is the engine's to probe
        step = 0
        while slot >= raw_from.timestamp():
            latency = shape.latency_ms * SPREAD[step % len(SPREAD)]
            if check.service.slug == DEPLOY_SERVICE and slot >= deployed_at.timestamp():
                latency *= 0.5  # the demo deployment made the checkout faster
            observations.append(
                Observation(check.id, slot, float(slot), shape.outcome, latency, shape.status_code)
            )
            slot -= check.interval_s
            step += 1
    observations.sort(key=lambda o: o.slot)
    results_record(observations=observations)
    hour = raw_from
    while hour <= now:
        rollup_hour_compute(start=hour)
        hour += timedelta(hours=1)
    for day in sorted({day_start(raw_from), day_start(now)}):
        rollup_day_compute(start=day)


def heartbeat_ping(check: Check, now: datetime) -> None:
    """The nightly job's last finished run: a start and a success ping, 25 minutes apart.
    While today's run would still be going (02:00-02:25 UTC), that is yesterday's."""
    if not check.cron:
        return
    run_time = timedelta(minutes=25)
    last_run = day_start(now) + timedelta(hours=2)
    if last_run + run_time > now:
        last_run -= timedelta(days=1)
    for kind, at in ((PingKind.START, last_run), (PingKind.SUCCESS, last_run + run_time)):
        ping = PingInput(kind, None, "demo", "POST", "127.0.0.1", "demo", "")
        ping_record(ping_uuid=check.ping_uuid, ping=ping, now=at)


def deployment_seed(service: Service, now: datetime) -> None:
    deployment = deployment_record(
        service=service,
        version=DEPLOY_VERSION,
        ref="d3m0c0d",
        deployed_at=now - DEPLOY_AGO,
        deployed_by="ci-pipeline",
        reason="Cache product lookups",
        files_touched="app/cache.py",
        command="make deploy",
        expected_metric="p95 latency down",
        source=DeploymentSource.COMMAND,
    )
    deployment_judge(deployment_id=deployment.pk, now=now)


def incident_seed(service: Service, now: datetime) -> None:
    """A short, resolved incident on the day of the history's blip."""
    started = day_start(now) - timedelta(days=BLIP_DAYS_AGO) + timedelta(hours=BLIP_HOUR)
    incident = incident_open(
        title=INCIDENT_TITLE,
        impact=Impact.MINOR,
        affected={service: ComponentStatus.DEGRADED_PERFORMANCE},
        body="Checkout answers slowly for some customers. We are looking into it.",
        status=IncidentStatus.RESOLVED,
        publish=True,
        by=None,
        started_at=started,
    )
    resolved = started + timedelta(minutes=40)
    Incident.objects.filter(pk=incident.pk).update(
        published_at=started + timedelta(minutes=5), resolved_at=resolved, updated_at=resolved
    )
    incident.updates.update(
        created_at=resolved,
        body="A slow database query was rolled back at 10:35 UTC; checkout is fast again.",
    )


def demo_history_seed(*, checks: list[Check], now: datetime | None = None) -> int:
    """Give newly created demo checks their history. Returns how many checks got one."""
    now = now or timezone.now()
    shaped = [(check, shape) for check in checks if (shape := shape_of(check)) is not None]
    with transaction.atomic():
        if shaped:
            rollups_write(shaped, now)
    if shaped:
        raw_results_write(shaped, now)
    for check in checks:
        if check.kind == Kind.HEARTBEAT:
            heartbeat_ping(check, now)
    services = {check.service.slug: check.service for check, _ in shaped}
    if DEPLOY_SERVICE in services:
        deployment_seed(services[DEPLOY_SERVICE], now)
        if not Incident.objects.filter(title=INCIDENT_TITLE).exists():
            incident_seed(services[DEPLOY_SERVICE], now)
    return len(shaped)
