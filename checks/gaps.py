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
from checks.locations import DECIDED
from checks.models import Check, Kind, Result
from checks.quorum import slots_settle
from checks.runner import gap_observation
from checks.scheduling import (
    SLOT_SPREAD,
    as_datetime,
    prefer_ordered_index_scan,
    slot_after,
    slot_at_or_before,
)
from checks.services import results_record
from statuspage.core.dbtime import db_datetime

logger = logging.getLogger(__name__)

# Never look further back than this when a check was not swept for a long time (a stack that
# was off for days): older slots are outside any window the pages show in detail.
MAX_LOOKBACK_S = 86400
# Checks whose slots one query looks up, and marks one statement moves. Moving a mark locks
# its check until the statement commits: a dispatch tick skips locked checks (they are
# claimed a tick later) and a batch writing their results waits, so each statement holds
# few rows for a moment.
_SWEEP_CHUNK = 20_000
_MARK_CHUNK = 1_000


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
        # Every entry of this range is one a claim left dead (live ones are ahead of now):
        # the ordered index scan marks them on first visit, where the planner's bitmap scan
        # would visit each one's table page again on every tick until vacuum runs.
        prefer_ordered_index_scan()
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


@dataclass(frozen=True)
class _Due:
    """A check whose sweep mark is behind the horizon's slot."""

    check_id: int
    interval_s: int
    first: int  # its first slot after the previous mark (or its creation, or the lookback)
    mark: int  # its last slot at or before the horizon: where its mark moves
    runs: bool  # enabled, not paused, service not paused: only these get gaps
    several: bool  # more than one location: unmeasured slots may settle (checks.quorum)


def gap_horizon(now: float) -> float:
    """Slots at or before this can no longer be measured: a batch holding one records it
    as skipped (it is past PROBE_MAX_LATENESS_S), and twice that leaves time for a probe
    that started just in time to finish and store its result first."""
    return now - 2 * settings.PROBE_MAX_LATENESS_S


def gaps_record(*, now: float) -> GapSummary:
    """Record every unmeasured slot up to the horizon as a gap.

    1. Read the probed checks whose mark (``gaps_swept_to``) is behind the horizon's slot.
    2. Checks that are not meant to run (disabled, paused, service paused) only move their
       mark: a paused check has no gaps, it is paused.
    3. For the others, find which slots after the mark (or after the check's creation, at
       most MAX_LOOKBACK_S back) up to the horizon have no outcome stored, set-based: only
       those are offered as SKIPPED results (or settled from their locations' reports).
       A result stored meanwhile by a late batch wins (ON CONFLICT DO NOTHING).
    4. The marks move to the horizon's slot once the gaps are stored: a sweep stopped in
       between only looks at the same slots again next time, and finds them filled.
    """
    until = gap_horizon(now)
    floor = now - MAX_LOOKBACK_S
    total, due = _due_checks(until=until, floor=floor)
    running = [d for d in due if d.runs and d.first <= d.mark]
    several = {d.check_id for d in running if d.several}
    gaps = 0
    for start in range(0, len(running), _SWEEP_CHUNK):
        missing = _missing_slots(running[start : start + _SWEEP_CHUNK])
        observations = [
            gap_observation(check_id=check_id, slot=slot, detail="skipped: never ran")
            for check_id, slot in missing
        ]
        if observations:
            settled = slots_settle(observations, several=several)
            gaps += results_record(observations=settled).inserted
    for start in range(0, len(due), _MARK_CHUNK):
        _marks_move(due[start : start + _MARK_CHUNK])
    if gaps:
        logger.info("event=gaps.recorded checks=%d gaps=%d", len(running), gaps)
    return GapSummary(total, gaps)


def _due_checks(*, until: float, floor: float) -> tuple[int, list[_Due]]:
    """(probed checks, those whose mark is behind the horizon's slot), by id."""
    if connection.vendor == "postgresql":
        return _due_checks_sql(until=until, floor=floor)
    rows = (
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
    total = 0
    due = []
    for check_id, step, swept_to, created_at, enabled, paused, service_paused, places in rows:
        total += 1
        mark = slot_at_or_before(check_id=check_id, interval_s=step, t=until)
        if swept_to is not None and mark <= swept_to:
            continue
        after = max(swept_to if swept_to is not None else created_at.timestamp(), floor)
        due.append(
            _Due(
                check_id=check_id,
                interval_s=step,
                first=slot_after(check_id=check_id, interval_s=step, t=after),
                mark=mark,
                runs=enabled and not paused and not service_paused,
                several=len(places or ()) > 1,
            )
        )
    return total, due


def _slot_at_or_before_sql(t: str) -> str:
    """checks.scheduling.slot_at_or_before in SQL, for check ``c`` at time expression ``t``
    (the first slot after ``t`` is this plus the interval)."""
    offset = f"((c.id * {SLOT_SPREAD}) %% c.interval_s)"
    return f"(floor(({t} - {offset}) / c.interval_s)::bigint * c.interval_s + {offset})"


_SWEPT_FROM_SQL = (
    "GREATEST(COALESCE(c.gaps_swept_to::float8, EXTRACT(EPOCH FROM c.created_at)::float8), "
    "%(floor)s::float8)"
)
_DUE_SQL = (
    "SELECT c.id, c.interval_s, c.gaps_swept_to, "  # noqa: S608
    f"{_slot_at_or_before_sql('%(until)s::float8')} AS mark, "
    f"{_slot_at_or_before_sql(_SWEPT_FROM_SQL)} + c.interval_s AS first, "
    "c.is_enabled AND NOT c.is_paused AND NOT s.is_paused AS runs, "
    "jsonb_typeof(c.locations) = 'array' AND jsonb_array_length(c.locations) > 1 AS several "
    "FROM checks_check c JOIN catalog_service s ON s.id = c.service_id "
    "WHERE c.kind <> %(heartbeat)s ORDER BY c.id"
)


def _due_checks_sql(*, until: float, floor: float) -> tuple[int, list[_Due]]:
    """PostgreSQL: the marks and first slots computed in the query, one row per check."""
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, {"until": until, "floor": floor, "heartbeat": str(Kind.HEARTBEAT)})
        rows = cursor.fetchall()
    due = [
        _Due(check_id, step, first, mark, runs, bool(several))
        for check_id, step, swept_to, mark, first, runs, several in rows
        if swept_to is None or mark > swept_to
    ]
    return len(rows), due


def _missing_slots(due: list[_Due]) -> list[tuple[int, int]]:
    """(check, slot) of every slot from each check's first to its mark that has no outcome
    stored (a row of the empty location), in check and slot order."""
    lo, hi = min(d.first for d in due), max(d.mark for d in due)
    if connection.vendor == "postgresql":
        return _missing_slots_sql(due, lo=lo, hi=hi)
    stored = set(
        Result.objects.filter(
            check_ref_id__in=[d.check_id for d in due],
            slot__gte=lo,
            slot__lte=hi,
            location=DECIDED,
        ).values_list("check_ref_id", "slot")
    )
    return [
        (d.check_id, slot)
        for d in due
        for slot in range(d.first, d.mark + 1, d.interval_s)
        if (d.check_id, slot) not in stored
    ]


def _missing_slots_sql(due: list[_Due], *, lo: int, hi: int) -> list[tuple[int, int]]:
    """PostgreSQL: the expected slots are generated in the query and each is looked up on
    the results' key. OFFSET 0 keeps the NOT EXISTS a lookup per slot: turned into a join,
    the planner may read every row of the swept range once per slot. The constant slot
    bounds keep the lookups to the day partitions of the swept range."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.id, e.slot FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], "
            "%s::bigint[]) AS d(id, first, mark, step) "
            "CROSS JOIN LATERAL generate_series(d.first, d.mark, d.step) AS e(slot) "
            "WHERE NOT EXISTS (SELECT FROM checks_result r WHERE r.check_id = d.id "
            "AND r.slot = e.slot AND r.location = %s AND r.slot >= %s AND r.slot <= %s "
            "OFFSET 0) ORDER BY d.id, e.slot",
            [
                [d.check_id for d in due],
                [d.first for d in due],
                [d.mark for d in due],
                [d.interval_s for d in due],
                DECIDED,
                lo,
                hi,
            ],
        )
        return cursor.fetchall()


def _marks_move(due: list[_Due]) -> None:
    """Move the marks to each check's horizon slot: one statement on PostgreSQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE checks_check AS c SET gaps_swept_to = v.mark "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, mark) WHERE c.id = v.id",
                [[d.check_id for d in due], [d.mark for d in due]],
            )
        else:
            cursor.executemany(
                "UPDATE checks_check SET gaps_swept_to = %s WHERE id = %s",
                [(d.mark, d.check_id) for d in due],
            )
