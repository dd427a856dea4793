"""Writes of the engine: results, state changes. Tasks and commands call these."""

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction

from checks.listeners import transitions_written
from checks.models import Check, Outcome, Transition
from checks.observations import Observation
from checks.quorum import slot_outcomes_decide
from checks.scheduling import as_datetime, check_schedule_reset
from checks.state import CheckState, state_step
from statuspage.catalog.models import Service
from statuspage.core.dbtime import db_datetime
from statuspage.core.sql import array_cursor, in_ids
from statuspage.core.status_version import status_version_bump

logger = logging.getLogger(__name__)

_INSERT_CHUNK = 500


class LastPing(NamedTuple):
    """A heartbeat check's newest ping and the deadline after it (checks.heartbeats)."""

    at: datetime
    late: datetime


@dataclass(frozen=True)
class RecordSummary:
    received: int
    inserted: int
    transitions: int

    @property
    def duplicates(self) -> int:
        return self.received - self.inserted


def _insert_results(observations: list[Observation]) -> set[tuple[int, int, str]]:
    """Insert results, ignoring slots already stored; return the (check, slot, location)
    inserted."""
    if connection.vendor == "postgresql":
        return _insert_results_arrays(observations)
    inserted: set[tuple[int, int, str]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(observations), _INSERT_CHUNK):
            chunk = observations[start : start + _INSERT_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params: list = []
            for o in chunk:
                params += [
                    o.check_id,
                    o.slot,
                    o.location,
                    db_datetime(as_datetime(o.checked_at)),
                    o.outcome,
                    o.latency_ms,
                    _stored_status_code(o),
                    _stored_detail(o),
                ]
            # Only placeholders are interpolated; every value travels as a parameter.
            sql = (
                "INSERT INTO checks_result "  # noqa: S608
                "(check_id, slot, location, checked_at, outcome, latency_ms, status_code, "
                f"detail) VALUES {values} ON CONFLICT (check_id, slot, location) DO NOTHING "
                "RETURNING check_id, slot, location"
            )
            cursor.execute(sql, params)
            inserted.update((row[0], row[1], row[2]) for row in cursor.fetchall())
    return inserted


def _insert_results_arrays(observations: list[Observation]) -> set[tuple[int, int, str]]:
    """PostgreSQL: every result in one statement, one array parameter per column (sent in
    binary), so the cost of sending and planning it does not grow with the number of rows."""
    columns = [
        [o.check_id for o in observations],
        [o.slot for o in observations],
        [o.location for o in observations],
        [float(o.checked_at) for o in observations],
        [int(o.outcome) for o in observations],
        [_float(o.latency_ms) for o in observations],
        [_stored_status_code(o) for o in observations],
        [_stored_detail(o) for o in observations],
    ]
    with array_cursor() as cursor:
        cursor.execute(
            "INSERT INTO checks_result (check_id, slot, location, checked_at, outcome, "
            "latency_ms, status_code, detail) SELECT v.check_id, v.slot, v.location, "
            "to_timestamp(v.checked_at), v.outcome, v.latency_ms, v.status_code, v.detail "
            "FROM unnest(%b::bigint[], %b::bigint[], %b::varchar[], %b::float8[], "
            "%b::smallint[], %b::float8[], %b::smallint[], %b::varchar[]) AS v(check_id, slot, "
            "location, checked_at, outcome, latency_ms, status_code, detail) "
            "ON CONFLICT (check_id, slot, location) DO NOTHING "
            "RETURNING check_id, slot, location",
            columns,
        )
        return {(row[0], row[1], row[2]) for row in cursor.fetchall()}


def _float(value: float | None) -> float | None:
    # An array parameter takes one Python type: an int among floats would not be dumped.
    return None if value is None else float(value)


def _stored_status_code(o: Observation) -> int | None:
    # Results are the largest table: the status code and detail of a plain success are not
    # kept per row (the check's last_detail still shows them).
    return o.status_code if o.outcome != Outcome.UP else None


def _stored_detail(o: Observation) -> str:
    return o.detail[:500] if o.outcome != Outcome.UP else ""


def results_record(
    *, observations: list[Observation], last_pings: dict[int, LastPing] | None = None
) -> RecordSummary:
    """Store observations and move check states, exactly once per (check, slot).

    1. Insert all results with ON CONFLICT DO NOTHING; only rows really inserted go on,
       so a batch delivered twice or raced by a second worker changes nothing the
       second time. A location's result of a check with several locations goes on only
       through the slot outcome it decides, itself stored once (``_slot_outcomes``).
    2. Lock the affected checks in id order (no deadlocks between concurrent batches)
       and feed the new results, oldest slot first, through the state machine. A result
       older than the check's last applied slot is stored but does not move the state.
    3. Save each check's counters and last result, and a Transition row per change
       (itself unique per check and slot).

    ``last_pings`` (from the ping drain) moves heartbeat checks' last ping and deadline
    forward: on PostgreSQL in the same UPDATE as the check's state, so that each check
    row is written once; for checks without a new state (and on SQLite) on their own.
    """
    if not observations and not last_pings:
        return RecordSummary(0, 0, 0)
    unsaved = dict(last_pings or {})
    with transaction.atomic():
        inserted = _insert_results(observations) if observations else set()
        fresh = _slot_outcomes(
            [o for o in observations if (o.check_id, o.slot, o.location) in inserted]
        )
        # A gap (skipped slot) is stored but says nothing about the target: no state move.
        fresh = [o for o in fresh if o.outcome != Outcome.SKIPPED]
        transitions = _apply_states(fresh, unsaved) if fresh else 0
        _last_pings_save(unsaved)
        if transitions:
            status_version_bump()
    return RecordSummary(len(observations), len(inserted), transitions)


def _slot_outcomes(fresh: list[Observation]) -> list[Observation]:
    """The slots' outcomes among fresh results: a location's own result is not one, but it
    may decide its slot (checks.quorum); a decided outcome is stored once like any result."""
    located = [o for o in fresh if o.location]
    if not located:
        return fresh
    decided = slot_outcomes_decide(located)
    stored = _insert_results(decided) if decided else set()
    return [
        *(o for o in fresh if not o.location),
        *(o for o in decided if (o.check_id, o.slot, o.location) in stored),
    ]


def _apply_states(fresh: list[Observation], last_pings: dict[int, LastPing]) -> int:
    """Move the states; the last pings saved with them leave ``last_pings``."""
    by_check: dict[int, list[Observation]] = defaultdict(list)
    for o in fresh:
        by_check[o.check_id].append(o)
    # Plain rows rather than model instances: this runs for every result.
    rows = (
        Check.objects.select_for_update()
        .filter(in_ids("id", sorted(by_check)))
        .order_by("id")
        .values_list(
            "id",
            "state",
            "consecutive_failures",
            "consecutive_successes",
            "failures_before_down",
            "successes_before_up",
            "last_slot",
            "state_changed_at",
        )
    )
    updates = []
    transitions = []
    for check_id, state, failures, successes, before_down, before_up, last_slot, changed in rows:
        current = CheckState(
            state=state,
            consecutive_failures=failures,
            consecutive_successes=successes,
            failures_before_down=before_down,
            successes_before_up=before_up,
        )
        last = None
        for o in sorted(by_check[check_id], key=lambda o: o.slot):
            if last_slot is not None and o.slot <= last_slot:
                continue
            step = state_step(current, o.outcome, o.detail)
            if step.reason is not None:
                changed = as_datetime(o.checked_at)
                transitions.append(
                    Transition(
                        check_ref_id=check_id,
                        from_state=current.state,
                        to_state=step.after.state,
                        at=changed,
                        slot=o.slot,
                        reason=step.reason,
                    )
                )
            current, last = step.after, o
        if last is not None:
            updates.append(_CheckUpdate(check_id, current, changed, last))
    _save_check_updates(updates, last_pings)
    if transitions:
        _insert_transitions(transitions)
        transitions_written(transitions)
    return len(transitions)


def _insert_transitions(transitions: list[Transition]) -> None:
    """Store the transitions, ignoring slots stored already (a batch processed twice).
    PostgreSQL takes them in one statement, one binary array per column (as results)."""
    if connection.vendor != "postgresql":
        Transition.objects.bulk_create(transitions, ignore_conflicts=True)
        return
    columns = [
        [t.check_ref_id for t in transitions],
        [t.from_state for t in transitions],
        [t.to_state for t in transitions],
        [t.at for t in transitions],
        [t.slot for t in transitions],
        [t.reason[:500] for t in transitions],
    ]
    with array_cursor() as cursor:
        cursor.execute(
            "INSERT INTO checks_transition (check_id, from_state, to_state, at, slot, reason) "
            "SELECT * FROM unnest(%b::bigint[], %b::varchar[], %b::varchar[], "
            "%b::timestamptz[], %b::bigint[], %b::varchar[]) ON CONFLICT DO NOTHING",
            columns,
        )


@dataclass(frozen=True)
class _CheckUpdate:
    check_id: int
    state: CheckState
    state_changed_at: datetime | None
    last: Observation


# Every check's state in one statement, one array per column.
_STATE_SET = (
    "UPDATE checks_check AS c SET state = v.state, state_changed_at = v.state_changed_at, "
    "consecutive_failures = v.failures, consecutive_successes = v.successes, "
    "last_slot = v.slot, last_checked_at = to_timestamp(v.checked_at), "
    "last_outcome = v.outcome, last_latency_ms = v.latency_ms, last_detail = v.detail"
)
_STATE_ARRAYS = (
    "%b::bigint[], %b::varchar[], %b::timestamptz[], %b::integer[], %b::integer[], "
    "%b::bigint[], %b::float8[], %b::smallint[], %b::float8[], %b::varchar[]"
)
_STATE_NAMES = (
    "id, state, state_changed_at, failures, successes, slot, checked_at, outcome, "
    "latency_ms, detail"
)
_STATE_UPDATE = f"{_STATE_SET} FROM unnest({_STATE_ARRAYS}) AS v({_STATE_NAMES}) WHERE c.id = v.id"
# The same, also moving a heartbeat check's last ping and deadline forward where the drain
# has a newer ping (NULL elsewhere: left as they are). Every expression reads the row as
# it was, so both CASEs compare with the old last ping.
_STATE_UPDATE_PINGED = (
    f"{_STATE_SET}, "
    "last_ping_at = CASE WHEN v.ping_at > coalesce(c.last_ping_at, '-infinity') "
    "THEN v.ping_at ELSE c.last_ping_at END, "
    "late_at = CASE WHEN v.ping_at > coalesce(c.last_ping_at, '-infinity') "
    "THEN v.late ELSE c.late_at END "
    f"FROM unnest({_STATE_ARRAYS}, %b::timestamptz[], %b::timestamptz[]) "
    f"AS v({_STATE_NAMES}, ping_at, late) WHERE c.id = v.id"
)


def _save_check_updates(updates: list[_CheckUpdate], last_pings: dict[int, LastPing]) -> None:
    """Store each check's state and last result.

    PostgreSQL takes every check in one statement, as one array per column, whatever their
    number; the embedded SQLite default, with few checks, one statement per check. On
    PostgreSQL the checks' entries of ``last_pings`` go in the same statement and leave it.
    """
    if not updates:
        return
    if connection.vendor == "postgresql":
        columns = [
            [u.check_id for u in updates],
            [u.state.state for u in updates],
            [u.state_changed_at for u in updates],
            [u.state.consecutive_failures for u in updates],
            [u.state.consecutive_successes for u in updates],
            [u.last.slot for u in updates],
            [float(u.last.checked_at) for u in updates],
            [int(u.last.outcome) for u in updates],
            [_float(u.last.latency_ms) for u in updates],
            [u.last.detail[:500] for u in updates],
        ]
        sql = _STATE_UPDATE
        pinged = [last_pings.pop(u.check_id, None) for u in updates]
        if any(pinged):
            columns += [[p and p.at for p in pinged], [p and p.late for p in pinged]]
            sql = _STATE_UPDATE_PINGED
        with array_cursor() as cursor:
            cursor.execute(sql, columns)
        return
    rows = [
        (
            u.state.state,
            db_datetime(u.state_changed_at),
            u.state.consecutive_failures,
            u.state.consecutive_successes,
            u.last.slot,
            db_datetime(as_datetime(u.last.checked_at)),
            u.last.outcome,
            u.last.latency_ms,
            u.last.detail[:500],
            u.check_id,
        )
        for u in updates
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE checks_check SET state = %s, state_changed_at = %s, "
            "consecutive_failures = %s, consecutive_successes = %s, last_slot = %s, "
            "last_checked_at = %s, last_outcome = %s, last_latency_ms = %s, last_detail = %s "
            "WHERE id = %s",
            rows,
        )


def _last_pings_save(last_pings: dict[int, LastPing]) -> None:
    """Move ``last_ping_at`` forward (never back: drains may overlap) and the deadline."""
    if not last_pings:
        return
    rows = [(check_id, p.at, p.late) for check_id, p in last_pings.items()]
    if connection.vendor == "postgresql":
        # One statement for the whole drain, its rows as three array parameters.
        ids, ats, lates = zip(*rows, strict=True)
        with array_cursor() as cursor:
            cursor.execute(
                "UPDATE checks_check AS c SET last_ping_at = v.at, late_at = v.late "
                "FROM unnest(%b::bigint[], %b::timestamptz[], %b::timestamptz[]) "
                "AS v(id, at, late) "
                "WHERE c.id = v.id AND (c.last_ping_at IS NULL OR c.last_ping_at < v.at)",
                [list(ids), list(ats), list(lates)],
            )
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE checks_check SET last_ping_at = %s, late_at = %s "
            "WHERE id = %s AND (last_ping_at IS NULL OR last_ping_at < %s)",
            [(db_datetime(at), db_datetime(late), i, db_datetime(at)) for i, at, late in rows],
        )


def check_upsert(
    *, service: Service, name: str, values: dict[str, Any], reason: str = ""
) -> tuple[Check, str]:
    """Create or update a service's check by name; returns it and 'created', 'updated' or 'same'."""
    with transaction.atomic():
        check = Check.objects.filter(service=service, name=name).first()
        if check is None:
            check, outcome, changed = Check(service=service, name=name), "created", list(values)
        else:
            outcome = "updated"
            changed = [field for field, value in values.items() if getattr(check, field) != value]
            if not changed:
                return check, "same"
        for field in changed:
            setattr(check, field, values[field])
        check_save(check=check, changed=changed, reason=reason)
    return check, outcome


def check_save(*, check: Check, changed: Collection[str], reason: str = "") -> Check:
    """Validate and store a new or edited check whose fields are already set.

    ``changed`` names the fields that differ from the stored row.
    1. ``full_clean`` applies the definition rules (Check.clean).
    2. A new check, or one whose kind or interval changed, is put on its slot grid again.
    3. Bump the status version once the transaction commits: a paused check stops
       counting on the public page at once.
    """
    created = check._state.adding
    with transaction.atomic():
        check.full_clean()
        if created:
            check.save()  # the slot grid is spread by the check's id, so it needs one
        if created or {"kind", "interval_s"} & set(changed):
            check_schedule_reset(check=check)
        check.save()
        status_version_bump()
    logger.info(
        "event=check.%s check=%s service=%s reason=%r",
        "created" if created else "updated",
        check.pk,
        check.service.slug,
        reason,
    )
    return check


def check_delete(*, checks: Iterable[Check], reason: str = "") -> int:
    """Delete checks with their results and rollups; returns how many."""
    deleted = []
    with transaction.atomic():
        for check in checks:
            deleted.append(check.pk)
            check.delete()
        if deleted:
            status_version_bump()
    if deleted:
        shown = ",".join(str(pk) for pk in deleted)
        logger.info("event=check.deleted checks=%s reason=%r", shown, reason)
    return len(deleted)
