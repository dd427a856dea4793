"""Celery tasks of the engine: thin wrappers that log one line per run.

Every task is safe to run twice: claims advance ``next_due_at`` under row locks, results
are unique per (check, slot), rollups are recomputed, pruning deletes what is old.
"""

import datetime as dt
import logging
import time
from collections import defaultdict

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checks.locations import DECIDED, check_locations, location_queue, locations_configured
from checks.scheduling import Claim, checks_claim_due

logger = logging.getLogger(__name__)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def probe_batches(claims: list[Claim]) -> list[tuple[str, str, list[Claim]]]:
    """The batches to send: (queue, location to record, claims), each claim once per
    location of its check. A check with one location records its results as the slot's
    outcome (empty location); one with several records each location's own (checks.quorum)."""
    groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for claim in claims:
        names = check_locations(claim.locations)
        for name in names:
            groups[location_queue(name), name if len(names) > 1 else DECIDED].append(claim)
    size = settings.PROBE_BATCH_SIZE
    return [
        (queue, location, group[i : i + size])
        for (queue, location), group in groups.items()
        for i in range(0, len(group), size)
    ]


def probe_batches_send(batches: list[tuple[str, str, list[Claim]]]) -> None:
    queued_at = round(time.time(), 3)
    for queue, location, batch in batches:
        probe_batch.apply_async(
            ([[c.check_id, c.slot] for c in batch],),
            {"queued_at": queued_at, **({"location": location} if location else {})},
            queue=queue,
        )


def probe_queues_full() -> set[str] | None:
    """The probe queues (one per location) holding more than DISPATCH_MAX_QUEUED_BATCHES
    batches; None when the broker did not answer."""
    from statuspage.core.metrics import queue_sizes

    try:
        sizes = queue_sizes(location_queue(name) for name in locations_configured())
    except Exception as exc:
        logger.warning("event=dispatch.broker_unreachable error=%s", type(exc).__name__)
        return None
    return {queue for queue, size in sizes.items() if size > settings.DISPATCH_MAX_QUEUED_BATCHES}


@shared_task(name="checks.dispatch_due", ignore_result=True, soft_time_limit=30, time_limit=60)
def dispatch_due() -> int:
    """Claim due checks and queue their probes in batches, after the claim committed.
    Checks that missed whole slots (the stack was stopped) first move on to their next
    slot: the missed ones become gaps, none is probed late.

    Nothing is claimed while the broker does not answer: the batches could not be queued,
    and the checks stay due for the next tick. A probe queue holding more than
    DISPATCH_MAX_QUEUED_BATCHES batches (no worker of its location takes them) gets no
    more until it drains: its claims are dropped, and their slots become gaps."""
    from checks.gaps import missed_slots_skip

    started = time.monotonic()
    now = time.time()
    resumed = missed_slots_skip(now=now)
    full = probe_queues_full()
    claims = [] if full is None else checks_claim_due(now=now, lead_s=settings.DISPATCH_LEAD_S)
    batches = probe_batches(claims)
    sent = [batch for batch in batches if batch[0] not in (full or ())]
    transaction.on_commit(lambda: probe_batches_send(sent))
    logger.info(
        "task=checks.dispatch_due claimed=%d batches=%d resumed=%d dropped=%d ms=%.1f",
        len(claims),
        len(sent),
        resumed,
        len(batches) - len(sent),
        _ms(started),
    )
    return len(claims)


@shared_task(
    name="checks.probe_batch",
    ignore_result=True,
    soft_time_limit=120,
    time_limit=150,
    # A batch whose worker died is redelivered (acks_late + reject_on_worker_lost);
    # results already stored for its slots are ignored on the second run.
)
def probe_batch(claims: list[list[int]], location: str = "", queued_at: float | None = None) -> int:
    """Probe claimed slots; ``location`` names the location whose result this is, for
    checks with several (empty: the result is the slot's outcome); ``queued_at`` is when
    the dispatcher queued the batch (checks.runner.STARTUP_GRACE_S)."""
    from checks.runner import probe_batch_run

    started = time.monotonic()
    report = probe_batch_run(
        claims=[Claim(check_id=c, slot=s) for c, s in claims],
        location=location,
        at_slots=True,
        queued_at=queued_at,
    )
    logger.info(
        "task=checks.probe_batch location=%s claims=%d probed=%d failed=%d skipped=%d "
        "inserted=%d duplicates=%d transitions=%d ms=%.1f",
        location or "-",
        len(claims),
        report.probed,
        report.failed,
        report.skipped,
        report.recorded.inserted,
        report.recorded.duplicates,
        report.recorded.transitions,
        _ms(started),
    )
    return report.recorded.inserted


# Overdue heartbeats one sweep records itself; more are shared out in tasks of this many, so
# that every worker process takes part when many jobs are late at once.
SWEEP_CHUNK = 500


@shared_task(name="checks.sweep_heartbeats", ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_heartbeats() -> int:
    """Mark heartbeat checks past their deadline late (one failure per missed period)."""
    from checks.heartbeats import heartbeats_due, heartbeats_sweep

    started = time.monotonic()
    now = timezone.now()
    due = heartbeats_due(now=now)
    for begin in range(SWEEP_CHUNK, len(due), SWEEP_CHUNK):
        sweep_heartbeats_chunk.delay(due[begin : begin + SWEEP_CHUNK], now.timestamp())
    summary = heartbeats_sweep(now=now, check_ids=due[:SWEEP_CHUNK])
    logger.info(
        "task=checks.sweep_heartbeats due=%d late=%d transitions=%d ms=%.1f",
        len(due),
        summary.inserted,
        summary.transitions,
        _ms(started),
    )
    return summary.inserted


@shared_task(name="checks.record_gaps", ignore_result=True, soft_time_limit=100, time_limit=120)
def record_gaps() -> int:
    """Record slots that were never measured (nothing ran them) as gaps."""
    from checks.gaps import gaps_record

    started = time.monotonic()
    summary = gaps_record(now=time.time())
    logger.info(
        "task=checks.record_gaps checks=%d gaps=%d ms=%.1f",
        summary.checks,
        summary.gaps,
        _ms(started),
    )
    return summary.gaps


@shared_task(name="checks.rollup_recent", ignore_result=True, soft_time_limit=100, time_limit=120)
def rollup_recent() -> int:
    from checks.rollups import rollups_refresh

    started = time.monotonic()
    hourly, daily = rollups_refresh(now=timezone.now())
    logger.info("task=checks.rollup_recent hourly=%d daily=%d ms=%.1f", hourly, daily, _ms(started))
    return hourly


@shared_task(
    name="checks.rollups_recompute", ignore_result=True, soft_time_limit=200, time_limit=240
)
def rollups_recompute(hours: list[int]) -> int:
    """Recompute the rollups of past hours (epoch seconds of hour starts), e.g. after a
    maintenance window was recorded, moved or removed after the fact."""
    from checks.rollups import rollups_recompute as recompute

    started = time.monotonic()
    starts = [dt.datetime.fromtimestamp(hour, dt.UTC) for hour in hours]
    hourly, daily = recompute(hours=starts)
    logger.info(
        "task=checks.rollups_recompute hours=%d hourly=%d daily=%d ms=%.1f",
        len(starts),
        hourly,
        daily,
        _ms(started),
    )
    return hourly


# One budget for every table pruned, below the soft limit so a run ends on its own, with
# room for the batch in flight when the budget runs out.
PRUNE_SOFT_LIMIT_S = 200
PRUNE_BUDGET_S = 150


@shared_task(
    name="checks.prune_results",
    ignore_result=True,
    soft_time_limit=PRUNE_SOFT_LIMIT_S,
    time_limit=PRUNE_SOFT_LIMIT_S + 40,
)
def prune_results() -> dict:
    from checks.rollups import history_prune

    started = time.monotonic()
    deleted = history_prune(now=timezone.now(), budget_s=PRUNE_BUDGET_S)
    logger.info(
        "task=checks.prune_results %s ms=%.1f",
        " ".join(f"{k}={v}" for k, v in deleted.items()),
        _ms(started),
    )
    return deleted


@shared_task(
    name="checks.deployment_verdicts", ignore_result=True, soft_time_limit=100, time_limit=120
)
def deployment_verdicts(deployment_ids: list[int] | None = None) -> int:
    """Judge the deployments whose comparison window has passed and that have no verdict.

    With ``deployment_ids``, judge those again (replacing their verdicts); ids of deleted
    or not yet due deployments are skipped. Safe twice: a judged deployment is not due.
    """
    from checks.deploys import deployment_ids_due, deployments_judge

    started = time.monotonic()
    now = timezone.now()
    replace = deployment_ids is not None
    ids = list(deployment_ids) if replace else deployment_ids_due(now=now)
    summary = deployments_judge(deployment_ids=ids, now=now, replace=replace)
    logger.info(
        "task=checks.deployment_verdicts judged=%d regressed=%d skipped=%d ms=%.1f",
        summary.judged,
        summary.regressed,
        summary.skipped,
        _ms(started),
    )
    return summary.judged


@shared_task(name="checks.drain_pings", ignore_result=True, soft_time_limit=30, time_limit=60)
def drain_pings() -> int:
    """Apply the pings that requests stored (results, state, last ping) in bulk. Two runs
    at once: the second finds the first at work (an advisory lock) and leaves the inbox
    to it; an applied ping is never applied again."""
    from checks.ping_intake import pings_drain

    started = time.monotonic()
    summary = pings_drain()
    logger.info(
        "task=checks.drain_pings pings=%d inserted=%d transitions=%d ms=%.1f",
        summary.pings,
        summary.inserted,
        summary.transitions,
        _ms(started),
    )
    return summary.pings


@shared_task(
    name="checks.refresh_heartbeat_deadlines",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def refresh_heartbeat_deadlines() -> int:
    """Recompute every heartbeat check's next deadline (periods edited since)."""
    from checks.heartbeats import heartbeat_deadlines_refresh

    started = time.monotonic()
    changed = heartbeat_deadlines_refresh(now=timezone.now())
    logger.info("task=checks.refresh_heartbeat_deadlines changed=%d ms=%.1f", changed, _ms(started))
    return changed


@shared_task(
    name="checks.sweep_heartbeats_chunk", ignore_result=True, soft_time_limit=60, time_limit=90
)
def sweep_heartbeats_chunk(check_ids: list[int], now: float) -> int:
    """Part of a sweep with many overdue checks: those of ``check_ids`` still overdue at
    ``now`` (epoch seconds). Checks deleted or already recorded since are skipped."""
    from checks.heartbeats import heartbeats_sweep

    started = time.monotonic()
    summary = heartbeats_sweep(now=dt.datetime.fromtimestamp(now, dt.UTC), check_ids=check_ids)
    logger.info(
        "task=checks.sweep_heartbeats_chunk checks=%d late=%d transitions=%d ms=%.1f",
        len(check_ids),
        summary.inserted,
        summary.transitions,
        _ms(started),
    )
    return summary.inserted


@shared_task(
    name="checks.partitions_maintain", ignore_result=True, soft_time_limit=200, time_limit=240
)
def partitions_maintain() -> int:
    """Create the results' day partitions ahead and compact one closed day (PostgreSQL;
    nothing on SQLite). Safe twice: existing partitions and compacted days are skipped."""
    from checks.partitions import partitions_compact, partitions_ensure

    started = time.monotonic()
    now = timezone.now()
    created = partitions_ensure(now=now, ahead_days=settings.RESULT_PARTITIONS_AHEAD_DAYS)
    compacted = partitions_compact(now=now)
    logger.info(
        "task=checks.partitions_maintain created=%d compacted=%d ms=%.1f",
        len(created),
        len(compacted),
        _ms(started),
    )
    return len(created)
