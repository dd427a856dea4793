"""Slots and dispatch: which checks are due, claimed exactly once per slot.

A check with interval I has one slot every I seconds at ``k * I + offset`` (epoch
seconds), where the per-check offset spreads checks of one interval across it. A slot is
identified by its scheduled time in whole epoch seconds.
"""

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from checks.models import Check, Kind
from statuspage.core.dbtime import db_datetime

logger = logging.getLogger(__name__)

# Knuth's multiplicative hash spreads consecutive ids evenly over the interval.
SLOT_SPREAD = 2654435761


def slot_offset(*, check_id: int, interval_s: int) -> int:
    return (check_id * SLOT_SPREAD) % interval_s


def slot_at_or_before(*, check_id: int, interval_s: int, t: float) -> int:
    """The latest slot of the check scheduled at or before ``t``."""
    offset = slot_offset(check_id=check_id, interval_s=interval_s)
    return math.floor((t - offset) / interval_s) * interval_s + offset


def slot_after(*, check_id: int, interval_s: int, t: float) -> int:
    """The first slot of the check scheduled strictly after ``t``."""
    return slot_at_or_before(check_id=check_id, interval_s=interval_s, t=t) + interval_s


def as_datetime(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


@dataclass(frozen=True)
class Claim:
    check_id: int
    slot: int
    # The check's own locations (empty: the default location only); see checks.locations.
    locations: tuple[str, ...] = ()


def check_schedule_reset(*, check: Check, now: float | None = None) -> None:
    """Put a (new or edited) check on its slot grid: due at its next slot from now."""
    if check.kind == Kind.HEARTBEAT:
        check.next_due_at = None  # heartbeats are not probed; the sweep watches them
        return
    now = time.time() if now is None else now
    check.next_due_at = as_datetime(
        slot_after(check_id=check.pk, interval_s=check.interval_s, t=now - 1)
    )


def checks_claim_due(
    *, now: float | None = None, limit: int = 5000, lead_s: float = 0.0
) -> list[Claim]:
    """Claim every probed check whose slot is due within ``lead_s`` and move it on.

    1. Lock due rows (next slot at or before now + lead_s), skipping rows another
       dispatcher holds (FOR UPDATE SKIP LOCKED), so two schedulers running at once split
       the work instead of doubling it.
    2. A check whose slot is still ahead keeps that slot: claiming a little ahead lets its
       probe be queued and waiting at the worker when the slot comes (checks.runner), not
       a tick later. A check already late gets the latest slot at or before now: slots
       missed while nothing ran are skipped, never replayed as a storm.
    3. next_due_at moves to the slot after the claimed one, in the same transaction.
    The caller enqueues probes after commit; a probe that runs twice for one slot still
    stores one result (unique check+slot).
    """
    now = time.time() if now is None else now
    with transaction.atomic():
        prefer_ordered_index_scan()
        claimable = (
            # of=("self",): lock the check rows only, not the joined service rows.
            Check.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(is_enabled=True, is_paused=False, service__is_paused=False)
            .exclude(kind=Kind.HEARTBEAT)
            .values_list("id", "interval_s", "locations", "next_due_at")
        )
        # A new check (no next_due_at yet) is due at once.
        rows = list(claimable.filter(next_due_at__isnull=True).order_by("id")[:limit])
        rows += claimable.filter(next_due_at__lte=as_datetime(now + lead_s)).order_by(
            "next_due_at"
        )[: limit - len(rows)]
        if not rows:
            return []
        claims = []
        updates = []
        for check_id, interval_s, locations, due in rows:
            at = now if due is None else max(now, due.timestamp())
            slot = slot_at_or_before(check_id=check_id, interval_s=interval_s, t=at)
            claims.append(Claim(check_id=check_id, slot=slot, locations=tuple(locations or ())))
            updates.append((check_id, slot + interval_s))
        _next_due_save(updates)
    return claims


def prefer_ordered_index_scan() -> None:
    """Walk the due index in order for this transaction's claims (PostgreSQL).

    Every claim leaves a dead index entry behind (next_due_at moved on), and a due range
    takes in all of them until vacuum runs. An ordered index scan marks each dead entry on
    its first visit and steps over it afterwards; the bitmap or sequential scan the planner
    would otherwise pick for a range this size visits every dead row's table page on every
    tick.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")


def _next_due_save(rows: list[tuple[int, int]]) -> None:
    """Set next_due_at of many checks: (id, epoch seconds) pairs.

    PostgreSQL takes them as two arrays in one statement, whatever their number; the
    embedded SQLite default, with few checks, one statement per check.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE checks_check AS c SET next_due_at = to_timestamp(v.due) "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, due) WHERE c.id = v.id",
                [[r[0] for r in rows], [r[1] for r in rows]],
            )
        else:
            cursor.executemany(
                "UPDATE checks_check SET next_due_at = %s WHERE id = %s",
                [(db_datetime(as_datetime(due)), check_id) for check_id, due in rows],
            )
