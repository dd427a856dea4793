"""Heartbeat checks: jobs ping us; a job that stops pinging is marked down by the sweep.

Ping URLs follow the common heartbeat conventions so existing cron wrappers work:
``/ping/<uuid>`` (success), ``/start``, ``/fail`` and ``/<exit status>`` (0 is success).
A heartbeat check's period is its ``interval_s`` (or its ``cron`` expression) and it is
late after period + ``grace_s``.

A ping is first a stored ``Ping`` row; ``pings_apply`` then turns stored pings into
results, run durations, ``last_ping_at`` and the next deadline (``late_at``), in bulk.
On PostgreSQL the request only stores the row (``checks.ping_intake``) and a drain task
applies it; on SQLite ``ping_record`` does both at once.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from checks.cron import cron_next
from checks.models import Check, Kind, Outcome, Ping, PingInbox, PingKind
from checks.services import LastPing, Observation, RecordSummary, results_record
from statuspage.core.dbtime import db_datetime
from statuspage.core.sql import id_in, in_ids

MAX_RUN_PAIRING = timedelta(hours=24)
# Fields of a check that pings_apply reads (deadline_after reads a row of these too).
_APPLY_FIELDS = (
    "id", "kind", "is_enabled", "is_paused", "interval_s", "grace_s", "cron", "last_ping_at",
)  # fmt: skip
# Fields of a check that the deadline and the sweep read.
DEADLINE_FIELDS = (
    "id", "interval_s", "grace_s", "cron", "last_ping_at", "created_at", "last_slot", "late_at",
)  # fmt: skip


@dataclass(frozen=True)
class PingInput:
    kind: str  # PingKind
    exit_status: int | None
    rid: str
    method: str
    remote_addr: str | None
    user_agent: str
    body: str


@dataclass(frozen=True)
class AcceptedPing:
    """A ping moved out of the inbox (``checks.ping_intake``): what ``pings_apply``
    reads of a ``Ping``."""

    pk: int
    check_ref_id: int
    kind: str
    exit_status: int | None
    received_at: datetime
    rid: str


def ping_row(*, check_id: int, ping: PingInput, now: datetime) -> Ping:
    """The Ping row of a request, its text fields cut to their columns."""
    return Ping(
        check_ref_id=check_id,
        kind=ping.kind,
        exit_status=ping.exit_status,
        received_at=now,
        rid=ping.rid[:64],
        method=ping.method[:8],
        remote_addr=ping.remote_addr,
        user_agent=ping.user_agent[:200],
        body=ping.body,
    )


def _outcome(ping: Ping) -> int | None:
    if ping.kind == PingKind.START:
        return None
    if ping.kind == PingKind.FAIL or (ping.kind == PingKind.EXIT and ping.exit_status):
        return Outcome.DOWN
    return Outcome.UP


def _run_duration_ms(ping: Ping) -> float | None:
    """Pair a finishing ping with its start: same run id if given, else the latest start
    that no other finish (received before this one) has taken."""
    now = ping.received_at
    starts = Ping.objects.filter(
        check_ref_id=ping.check_ref_id, kind=PingKind.START, received_at__gte=now - MAX_RUN_PAIRING
    ).filter(Q(received_at__lt=now) | Q(received_at=now, id__lt=ping.pk))
    if ping.rid:
        starts = starts.filter(rid=ping.rid)
    start = starts.order_by("-received_at").values_list("received_at", flat=True).first()
    if start is None:
        return None
    if not ping.rid:
        finished_since = (
            Ping.objects.filter(check_ref_id=ping.check_ref_id, received_at__gt=start)
            .filter(Q(received_at__lt=now) | Q(received_at=now, id__lt=ping.pk))
            .exclude(kind=PingKind.START)
        )
        if finished_since.exists():
            return None  # that start was already paired with an earlier finish
    return (now - start).total_seconds() * 1000


def _ping_detail(ping: Ping, duration_ms: float | None) -> str:
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
    """Store a ping and apply it to the check's state at once. None: no such check."""
    check = Check.objects.filter(ping_uuid=ping_uuid, kind=Kind.HEARTBEAT).first()
    if check is None:
        return None
    with transaction.atomic():
        row = ping_row(check_id=check.pk, ping=ping, now=now)
        row.save(force_insert=True)
        pings_apply([row])
    return check


def _with_starts(pings: list[Ping]) -> set[int]:
    """Checks among ``pings`` that had a start recently: only their finishes need pairing."""
    finishing = sorted({p.check_ref_id for p in pings if p.kind != PingKind.START})
    if not finishing:
        return set()
    oldest = min(p.received_at for p in pings) - MAX_RUN_PAIRING
    among, params = id_in("check_id", finishing)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT check_id FROM checks_ping "  # noqa: S608
            f"WHERE kind = %s AND received_at >= %s AND {among}",
            [PingKind.START.value, db_datetime(oldest), *params],
        )
        return {row[0] for row in cursor.fetchall()}


def pings_apply(pings: Sequence[Ping | AcceptedPing]) -> RecordSummary:
    """Apply stored pings (of any checks) to their checks, inside the caller's transaction.

    The pings are rows of ``checks_ping`` already, each applied once: ``ping_record``
    stores and applies its ping in one transaction, the drain moves its pings out of the
    inbox in the transaction that applies them.

    1. Pair each finish with its start (only for checks with a recent start) and keep
       the run's duration on the ping.
    2. Move each check's ``last_ping_at`` forward to its newest ping, and its next
       deadline (``late_at``) with it (saved by ``results_record`` with the check's
       state: one write of each check row).
    3. Each finishing ping becomes a result (slot = the ping's second) driving the state
       machine; a start only records that the run began. A paused or disabled check, or
       one that is no longer a heartbeat, keeps the ping but does not change state.
    """
    if not pings:
        return RecordSummary(0, 0, 0)
    pings = sorted(pings, key=lambda p: (p.received_at, p.pk))
    paired = _with_starts(pings)
    durations = {
        p.pk: d
        for p in pings
        if p.check_ref_id in paired
        and _outcome(p) is not None
        and (d := _run_duration_ms(p)) is not None
    }
    if durations:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE checks_ping SET duration_ms = %s WHERE id = %s",
                [(ms, pk) for pk, ms in durations.items()],
            )
    # Plain rows, not model instances: a drain reads thousands of checks.
    checks = {
        c.id: c
        for c in Check.objects.filter(
            in_ids("pk", sorted({p.check_ref_id for p in pings}))
        ).values_list(*_APPLY_FIELDS, named=True)
    }
    newest: dict[int, datetime] = {}
    observations = []
    for p in pings:
        check = checks.get(p.check_ref_id)
        if check is None:
            continue
        newest[check.id] = max(p.received_at, newest.get(check.id, p.received_at))
        outcome = _outcome(p)
        if outcome is None or check.kind != Kind.HEARTBEAT:
            continue
        if not check.is_enabled or check.is_paused:
            continue
        duration = durations.get(p.pk)
        observations.append(
            Observation(
                check_id=check.id,
                slot=int(p.received_at.timestamp()),
                checked_at=p.received_at.timestamp(),
                outcome=outcome,
                latency_ms=duration,
                detail=_ping_detail(p, duration),
            )
        )
    return results_record(observations=observations, last_pings=_last_pings(checks, newest))


def _last_pings(checks: dict, newest: dict[int, datetime]) -> dict[int, LastPing]:
    """Each check's newest ping where it moves ``last_ping_at`` forward (never back:
    drains may overlap), with the deadline that follows it."""
    moves = {}
    for check_id, at in newest.items():
        check = checks[check_id]
        if check.last_ping_at is not None and check.last_ping_at >= at:
            continue
        moves[check_id] = LastPing(at, deadline_after(check, since=at))
    return moves


def deadline_after(check: Check, *, since: datetime) -> datetime:
    """The first deadline after a ping (or the check's creation) at ``since``."""
    grace = timedelta(seconds=check.grace_s)
    if check.cron:
        return cron_next(check.cron, after=since) + grace
    return since + timedelta(seconds=check.interval_s) + grace


def _following(check: Check, deadline: datetime) -> datetime:
    """The deadline after ``deadline``: one period later."""
    if check.cron:
        grace = timedelta(seconds=check.grace_s)
        return cron_next(check.cron, after=deadline - grace) + grace
    return deadline + timedelta(seconds=check.interval_s)


def late_deadline(check: Check, *, now: datetime) -> datetime | None:
    """The latest deadline the check has missed as of ``now``, or None if it is on time.

    Each missed period is its own deadline, so ``failures_before_down`` counts periods.
    """
    first = deadline_after(check, since=check.last_ping_at or check.created_at)
    if first > now:
        return None
    if check.cron:
        deadline = first
        while (following := _following(check, deadline)) <= now:
            deadline = following
        return deadline
    period = timedelta(seconds=check.interval_s)
    return first + math.floor((now - first) / period) * period


def deadline_next(check: Check, *, now: datetime) -> datetime:
    """The deadline the sweep should look at next: the missed one not yet recorded, else
    the next one to come."""
    missed = late_deadline(check, now=now)
    if missed is None:
        return deadline_after(check, since=check.last_ping_at or check.created_at)
    if check.last_slot is not None and int(missed.timestamp()) <= check.last_slot:
        return _following(check, missed)
    return missed


def _late_at_save(rows: list[tuple[int, datetime | None, datetime]]) -> None:
    """Store next deadlines (check id, deadline read, new deadline) where the deadline is
    still the one read: a ping applied meanwhile set a later one, which stands."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE checks_check SET late_at = %s "
            "WHERE id = %s AND (late_at = %s OR (late_at IS NULL AND %s IS NULL))",
            [
                (db_datetime(new), check_id, db_datetime(old), db_datetime(old))
                for check_id, old, new in rows
            ],
        )


def _due() -> QuerySet[Check]:
    """Active heartbeat checks whose stored deadline has passed or is not known yet; the
    partial index ``check_heartbeat_late`` holds exactly these checks' deadlines.

    A check with a ping stored but not yet applied is left for a later sweep: that ping
    may be what keeps it on time (the drain moves its deadline once it applies it).
    """
    return (
        Check.objects.filter(kind=Kind.HEARTBEAT, is_enabled=True, is_paused=False)
        .exclude(service__is_paused=True)
        .exclude(pk__in=PingInbox.objects.values("check_id"))
    )


def heartbeats_due(*, now: datetime) -> list[int]:
    """Ids of the heartbeat checks the sweep should look at, oldest deadline first."""
    return list(
        _due()
        .filter(Q(late_at__lte=now) | Q(late_at__isnull=True))
        .order_by(F("late_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)
    )


def heartbeats_sweep(*, now: datetime, check_ids: list[int] | None = None) -> RecordSummary:
    """Record a "late" failure for every heartbeat check past its deadline (or for those
    of ``check_ids`` that are).

    1. Read only the checks whose stored deadline has passed or is not known yet, so a
       frequent sweep stays cheap.
    2. Recompute each one's deadline from its current definition and last ping: the
       latest missed deadline becomes a failure whose slot is that deadline, so sweeping
       twice (or two sweeps at once) records it once.
    3. Record them all in one ``results_record`` and store each check's next deadline,
       in the same transaction.
    """
    due = _due().filter(Q(late_at__lte=now) | Q(late_at__isnull=True))
    if check_ids is not None:
        due = due.filter(id__in=check_ids)
    observations = []
    deadlines = []
    for check in due.only(*DEADLINE_FIELDS):
        missed = late_deadline(check, now=now)
        if missed is None or (
            check.last_slot is not None and int(missed.timestamp()) <= check.last_slot
        ):
            deadlines.append((check.pk, check.late_at, deadline_next(check, now=now)))
            continue
        since = check.last_ping_at.isoformat(timespec="seconds") if check.last_ping_at else None
        observations.append(
            Observation(
                check_id=check.pk,
                slot=int(missed.timestamp()),
                checked_at=missed.timestamp(),
                outcome=Outcome.DOWN,
                detail=f"late: no ping since {since}" if since else "late: never pinged",
            )
        )
        deadlines.append((check.pk, check.late_at, _following(check, missed)))
    with transaction.atomic():
        summary = results_record(observations=observations)
        _late_at_save(deadlines)
    return summary


def heartbeat_deadlines_refresh(*, now: datetime) -> int:
    """Recompute every active heartbeat check's next deadline; return how many changed.

    The sweep reads only checks whose stored deadline has passed, so a deadline made
    earlier by an edit (a shorter period or grace, another cron) is found here.
    """
    checks = Check.objects.filter(kind=Kind.HEARTBEAT, is_enabled=True, is_paused=False).only(
        *DEADLINE_FIELDS
    )
    changed = []
    for check in checks.iterator(chunk_size=2000):
        deadline = deadline_next(check, now=now)
        if deadline != check.late_at:
            changed.append((check.pk, check.late_at, deadline))
    with transaction.atomic():
        _late_at_save(changed)
    return len(changed)
