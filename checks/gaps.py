"""Gaps: slots that were never measured are recorded as such, never left silently missing.

A slot can go unmeasured when its batch was lost (a worker killed with it, a Redis restart
that emptied the queue) or when dispatch did not run at all (no beat, no worker). The sweep
walks each probed check's slot grid from where it last stopped (``gaps_swept_to``) up to a
horizon old enough that no batch can still record it, and inserts a SKIPPED result for every
slot without one. Slots with a result are left alone (ON CONFLICT DO NOTHING), so the sweep
is safe to run twice or alongside a batch.

After a stop longer than an interval (web, worker and beat all down), the dispatcher must
not probe the stretch it missed: ``missed_slots_skip`` moves every check that missed a whole
slot on to its next slot, so the schedule is whole again within one interval, the load after
a restart is spread over the interval as usual instead of arriving at once, and the missed
slots are left to the sweep, which records them as gaps (never as downtime).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from checks.definitions import MIN_INTERVAL_S
from checks.models import Check, Kind
from checks.quorum import slots_settle
from checks.runner import gap_observation
from checks.scheduling import as_datetime, slot_after, slot_at_or_before
from checks.services import Observation, results_record
from statuspage.core.dbtime import db_datetime

logger = logging.getLogger(__name__)

# Never look further back than this when a check was not swept for a long time (a stack that
# was off for days): older slots are outside any window the pages show in detail.
MAX_LOOKBACK_S = 86400
_CHUNK = 500


def missed_slots_skip(*, now: float) -> int:
    """Move checks that missed at least one whole slot on to their next slot; returns how many.

    A check is behind when its due slot is older than its interval: a slot came and went
    without any dispatch (the stack was stopped, or the dispatcher could not keep up). Its
    next due slot becomes the first one after ``now`` less a dispatch tick (a slot that is
    only a tick old is still on time), so nothing of the missed stretch is probed, not even
    its last slot. Runs before each claim; while the stack keeps up no row is behind, and the
    read is a range on the partial due index that returns nothing.
    """
    tick = settings.DISPATCH_TICK_S
    with transaction.atomic():
        rows = list(
            # Rows a dispatcher holds are its to claim this tick; the next run sees them.
            Check.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                is_enabled=True,
                is_paused=False,
                service__is_paused=False,
                next_due_at__lte=as_datetime(now - MIN_INTERVAL_S),
            )
            .exclude(kind=Kind.HEARTBEAT)
            .values_list("id", "interval_s", "next_due_at")
        )
        moves = []
        for check_id, interval_s, due in rows:
            if due.timestamp() + interval_s > now:
                continue  # late, but by less than its interval: its slot is claimed as usual
            resume = slot_after(check_id=check_id, interval_s=interval_s, t=now - tick)
            moves.append((db_datetime(as_datetime(resume)), check_id))
        if moves:
            with connection.cursor() as cursor:
                cursor.executemany("UPDATE checks_check SET next_due_at = %s WHERE id = %s", moves)
    return len(moves)


@dataclass(frozen=True)
class GapSummary:
    checks: int
    gaps: int


def gap_horizon(now: float) -> float:
    """Slots at or before this can no longer be measured: a batch holding one records it
    as skipped (it is past PROBE_MAX_LATENESS_S), and twice that leaves time for a probe
    that started just in time to finish and store its result first."""
    return now - 2 * settings.PROBE_MAX_LATENESS_S


def _expected_slots(check_id: int, interval_s: int, after: float, until: float) -> list[int]:
    slots = []
    slot = slot_after(check_id=check_id, interval_s=interval_s, t=after)
    while slot <= until:
        slots.append(slot)
        slot += interval_s
    return slots


def gaps_record(*, now: float) -> GapSummary:
    """Record every unmeasured slot up to the horizon as a gap, check by check.

    1. Read the probed checks with where their last sweep stopped.
    2. Checks that are not meant to run (disabled, paused, service paused) only move their
       mark: a paused check has no gaps, it is paused.
    3. For the others, every slot after the mark (or after the check's creation) up to the
       horizon is offered as a SKIPPED result; slots already measured keep their result.
    4. The marks move to the horizon's slot, in the same transaction as the inserts.
    """
    until = gap_horizon(now)
    floor = now - MAX_LOOKBACK_S
    rows = list(
        Check.objects.exclude(kind=Kind.HEARTBEAT)
        .values_list(
            "id",
            "interval_s",
            "gaps_swept_to",
            "created_at",
            "is_enabled",
            "is_paused",
            "service__is_paused",
            "locations",
        )
        .order_by("id")
    )
    gaps = 0
    for start in range(0, len(rows), _CHUNK):
        gaps += _sweep_chunk(rows[start : start + _CHUNK], until=until, floor=floor)
    return GapSummary(len(rows), gaps)


def _sweep_chunk(rows: list[tuple], *, until: float, floor: float) -> int:
    observations: list[Observation] = []
    marks = []
    for check_id, interval_s, swept_to, created_at, enabled, paused, service_paused, _ in rows:
        mark = slot_at_or_before(check_id=check_id, interval_s=interval_s, t=until)
        if swept_to is not None and mark <= swept_to:
            continue
        if enabled and not paused and not service_paused:
            after = max(swept_to if swept_to is not None else created_at.timestamp(), floor)
            observations += [
                gap_observation(check_id=check_id, slot=slot, detail="skipped: never ran")
                for slot in _expected_slots(check_id, interval_s, after, until)
            ]
        marks.append((mark, check_id))
    if not marks:
        return 0
    with transaction.atomic():
        several = {row[0] for row in rows if len(row[-1] or ()) > 1}
        recorded = results_record(observations=slots_settle(observations, several=several))
        with connection.cursor() as cursor:
            cursor.executemany("UPDATE checks_check SET gaps_swept_to = %s WHERE id = %s", marks)
    if recorded.inserted:
        logger.info("event=gaps.recorded checks=%d gaps=%d", len(marks), recorded.inserted)
    return recorded.inserted
