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
from django.db.models import F, Q

from checks.models import Check, Kind
from statuspage.core.dbtime import db_datetime

logger = logging.getLogger(__name__)

# Knuth's multiplicative hash spreads consecutive ids evenly over the interval.
_SPREAD = 2654435761


def slot_offset(*, check_id: int, interval_s: int) -> int:
    return (check_id * _SPREAD) % interval_s


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


def checks_claim_due(*, now: float | None = None, limit: int = 5000) -> list[Claim]:
    """Claim every probed check whose slot is due and move it to its next slot.

    1. Lock due rows, skipping rows another dispatcher holds (FOR UPDATE SKIP LOCKED),
       so two schedulers running at once split the work instead of doubling it.
    2. Each claimed check gets the latest slot at or before now: slots missed while
       nothing ran are skipped, never replayed as a storm.
    3. next_due_at moves to the slot after that, past now, in the same transaction.
    The caller enqueues probes after commit; a probe that runs twice for one slot still
    stores one result (unique check+slot).
    """
    now = time.time() if now is None else now
    with transaction.atomic():
        rows = list(
            # of=("self",): lock the check rows only, not the joined service rows.
            Check.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                is_enabled=True,
                is_paused=False,
                service__is_paused=False,
            )
            # A new check (no next_due_at yet) is due at once.
            .filter(Q(next_due_at__lte=as_datetime(now)) | Q(next_due_at__isnull=True))
            .exclude(kind=Kind.HEARTBEAT)
            .order_by(F("next_due_at").asc(nulls_first=True))
            .values_list("id", "interval_s", "locations")[:limit]
        )
        if not rows:
            return []
        claims = []
        updates = []
        for check_id, interval_s, locations in rows:
            slot = slot_at_or_before(check_id=check_id, interval_s=interval_s, t=now)
            claims.append(Claim(check_id=check_id, slot=slot, locations=tuple(locations or ())))
            updates.append((db_datetime(as_datetime(slot + interval_s)), check_id))
        with connection.cursor() as cursor:
            cursor.executemany("UPDATE checks_check SET next_due_at = %s WHERE id = %s", updates)
    return claims
