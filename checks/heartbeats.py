"""Heartbeat checks: jobs ping us; a job that stops pinging is marked down by the sweep.

Ping URLs follow the common heartbeat conventions so existing cron wrappers work:
``/ping/<uuid>`` (success), ``/start``, ``/fail`` and ``/<exit status>`` (0 is success).
A heartbeat check's period is its ``interval_s`` (or its ``cron`` expression) and it is
late after period + ``grace_s``.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from checks.cron import cron_next
from checks.models import Check, Kind, Outcome, Ping, PingKind
from checks.services import Observation, RecordSummary, results_record

MAX_RUN_PAIRING = timedelta(hours=24)


@dataclass(frozen=True)
class PingInput:
    kind: str  # PingKind
    exit_status: int | None
    rid: str
    method: str
    remote_addr: str | None
    user_agent: str
    body: str


def _outcome(ping: PingInput) -> int | None:
    if ping.kind == PingKind.START:
        return None
    if ping.kind == PingKind.FAIL or (ping.kind == PingKind.EXIT and ping.exit_status):
        return Outcome.DOWN
    return Outcome.UP


def _run_duration_ms(check: Check, ping: PingInput, now: datetime) -> float | None:
    """Pair a finishing ping with its start: same run id if given, else the latest start."""
    starts = Ping.objects.filter(
        check_ref=check, kind=PingKind.START, received_at__gte=now - MAX_RUN_PAIRING
    )
    if ping.rid:
        starts = starts.filter(rid=ping.rid)
    start = starts.order_by("-received_at").values_list("received_at", flat=True).first()
    if start is None:
        return None
    finished_since = Ping.objects.filter(
        check_ref=check, received_at__gt=start, received_at__lte=now
    ).exclude(kind=PingKind.START)
    if not ping.rid and finished_since.exists():
        return None  # that start was already paired with an earlier finish
    return (now - start).total_seconds() * 1000


def _ping_detail(ping: PingInput, duration_ms: float | None) -> str:
    if ping.kind == PingKind.FAIL:
        detail = "job reported failure"
    elif ping.kind == PingKind.EXIT and ping.exit_status:
        detail = f"job exited with status {ping.exit_status}"
    else:
        detail = "job reported success"
    if duration_ms is not None:
        detail += f" after {duration_ms / 1000:.1f}s"
    return detail


def ping_record(*, ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> Check | None:
    """Store a ping and feed its outcome to the check's state. None: no such check.

    1. Find the heartbeat check by its ping uuid.
    2. Store the ping (with the run's duration when it finishes a started run).
    3. A finishing ping becomes a result (slot = the ping's second) driving the state
       machine; a start only records that the run began. A paused check keeps the ping
       but does not change state.
    """
    check = Check.objects.filter(ping_uuid=ping_uuid, kind=Kind.HEARTBEAT).first()
    if check is None:
        return None
    outcome = _outcome(ping)
    with transaction.atomic():
        duration = _run_duration_ms(check, ping, now) if outcome is not None else None
        Ping.objects.create(
            check_ref=check,
            kind=ping.kind,
            exit_status=ping.exit_status,
            received_at=now,
            rid=ping.rid[:64],
            duration_ms=duration,
            method=ping.method[:8],
            remote_addr=ping.remote_addr,
            user_agent=ping.user_agent[:200],
            body=ping.body,
        )
        Check.objects.filter(pk=check.pk).update(last_ping_at=now)
        if outcome is not None and check.is_enabled and not check.is_paused:
            results_record(
                observations=[
                    Observation(
                        check_id=check.pk,
                        slot=int(now.timestamp()),
                        checked_at=now.timestamp(),
                        outcome=outcome,
                        latency_ms=duration,
                        detail=_ping_detail(ping, duration),
                    )
                ]
            )
    return check


def late_deadline(check: Check, *, now: datetime) -> datetime | None:
    """The latest deadline the check has missed as of ``now``, or None if it is on time.

    Each missed period is its own deadline, so ``failures_before_down`` counts periods.
    """
    since = check.last_ping_at or check.created_at
    grace = timedelta(seconds=check.grace_s)
    if check.cron:
        deadline = cron_next(check.cron, after=since) + grace
        if deadline > now:
            return None
        while (following := cron_next(check.cron, after=deadline - grace) + grace) <= now:
            deadline = following
        return deadline
    period = timedelta(seconds=check.interval_s)
    first = since + period + grace
    if first > now:
        return None
    missed = math.floor((now - first) / period)
    return first + missed * period


def heartbeats_sweep(*, now: datetime) -> RecordSummary:
    """Record a "late" failure for every heartbeat check past its deadline.

    The result's slot is the missed deadline, so sweeping twice records it once.
    """
    checks = Check.objects.filter(
        kind=Kind.HEARTBEAT, is_enabled=True, is_paused=False, service__is_paused=False
    ).only(
        "id", "interval_s", "grace_s", "cron", "last_ping_at", "created_at", "state", "last_slot"
    )
    observations = []
    for check in checks.iterator(chunk_size=2000):
        deadline = late_deadline(check, now=now)
        if deadline is None:
            continue
        slot = int(deadline.timestamp())
        if check.last_slot is not None and slot <= check.last_slot:
            continue
        since = check.last_ping_at.isoformat(timespec="seconds") if check.last_ping_at else None
        observations.append(
            Observation(
                check_id=check.pk,
                slot=slot,
                checked_at=deadline.timestamp(),
                outcome=Outcome.DOWN,
                detail=f"late: no ping since {since}" if since else "late: never pinged",
            )
        )
    return results_record(observations=observations)
