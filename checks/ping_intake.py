"""Ping intake on PostgreSQL: the request stores the ping, a drain applies it in bulk.

What a 200 promises: the ping is committed to the database (``checks_ping``, marked
pending) before the answer is sent, so it survives the web process, the worker or the
whole machine dying right after. Its effect on the check (result, state, notifications,
``last_ping_at``) follows when ``checks.drain_pings`` applies it, every ``PING_DRAIN_S``
while a worker runs; pings that wait longer (no worker) are applied in order when one
is back. On SQLite pings are applied during the request (``ping_record``).

The request path is one lookup and one INSERT: check ids by ping uuid are kept in this
process for ``PING_UUID_CACHE_S`` (a new check is looked up on its first ping; a deleted
one is refused by the INSERT's foreign key and forgotten), and the INSERT commits on its
own, outside any transaction.
"""

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from checks.heartbeats import PingInput, pings_apply
from checks.models import Check, Kind, Ping
from statuspage.core.dbtime import db_datetime

# Past this many cached uuids, expired ones are dropped on the next miss.
CACHE_PRUNE_AT = 100_000

_lock = threading.Lock()
_check_ids: dict[uuid.UUID, tuple[int, float]] = {}  # ping uuid -> (check id, expires)


def _check_id(ping_uuid: uuid.UUID, *, fresh: bool = False) -> int | None:
    now = time.monotonic()
    cached = None if fresh else _check_ids.get(ping_uuid)
    if cached is not None and cached[1] > now:
        return cached[0]
    check_id = (
        Check.objects.filter(ping_uuid=ping_uuid, kind=Kind.HEARTBEAT)
        .values_list("id", flat=True)
        .first()
    )
    with _lock:
        if check_id is None:
            _check_ids.pop(ping_uuid, None)
            return None
        if len(_check_ids) > CACHE_PRUNE_AT:
            for stale in [k for k, (_, ends) in _check_ids.items() if ends <= now]:
                del _check_ids[stale]
        _check_ids[ping_uuid] = (check_id, now + settings.PING_UUID_CACHE_S)
    return check_id


def check_ids_forget() -> None:
    """Forget every cached check id (tests; a process that must see deletions at once)."""
    with _lock:
        _check_ids.clear()


_INSERT = (
    "INSERT INTO checks_ping (check_id, kind, exit_status, received_at, rid, duration_ms, "
    "method, remote_addr, user_agent, body, pending) "
    "VALUES (%s, %s, %s, %s, %s, NULL, %s, %s, %s, %s, TRUE)"
)
# The same row, committed without waiting for the WAL to reach the disk: set_config(...,
# true) changes synchronous_commit for this statement's own transaction only, and adds no
# round trip. PostgreSQL stays consistent; only its own crash can lose such a commit, and
# only one made in the last moments before it (at most about three wal_writer_delay).
_INSERT_ASYNC = (
    "INSERT INTO checks_ping (check_id, kind, exit_status, received_at, rid, duration_ms, "
    "method, remote_addr, user_agent, body, pending) "
    "SELECT %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s, TRUE "
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
)


def _insert(check_id: int, ping: PingInput, now: datetime) -> None:
    """One statement. In autocommit it commits by itself (no BEGIN/COMMIT round trips);
    inside a caller's transaction a savepoint keeps a refused row from breaking it."""
    row = (
        check_id, ping.kind, ping.exit_status, db_datetime(now), ping.rid[:64],
        ping.method[:8], ping.remote_addr, ping.user_agent[:200], ping.body,
    )  # fmt: skip
    sql = _INSERT if settings.PING_SYNCHRONOUS_COMMIT else _INSERT_ASYNC
    if connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, row)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, row)


def ping_accept(*, ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> int | None:
    """Store a ping for the drain; return its check's id, or None: no such heartbeat check.

    Outside a transaction (as in a request) the ping is committed once this returns.
    """
    check_id = _check_id(ping_uuid)
    if check_id is None:
        return None
    try:
        _insert(check_id, ping, now)
    except IntegrityError:
        # The cached check was deleted: ask the database again.
        check_id = _check_id(ping_uuid, fresh=True)
        if check_id is None:
            return None
        _insert(check_id, ping, now)
    return check_id


@dataclass(frozen=True)
class DrainSummary:
    pings: int
    inserted: int
    transitions: int


def pings_drain(*, batch: int = 5000, budget_s: float = 20.0) -> DrainSummary:
    """Apply pending pings, oldest first, in batches of one transaction each.

    Each batch claims its rows with ``FOR UPDATE SKIP LOCKED``, so two drains running at
    once share the work instead of applying a ping twice; a drain killed mid-batch rolls
    back and its pings stay pending for the next. Stops when none are left or after
    ``budget_s``.
    """
    started = time.monotonic()
    pings = inserted = transitions = 0
    while time.monotonic() - started < budget_s:
        with transaction.atomic():
            rows = list(
                Ping.objects.filter(pending=True)
                .order_by("id")
                .select_for_update(skip_locked=True, of=("self",))
                .only("id", "check_ref_id", "kind", "exit_status", "received_at", "rid")[:batch]
            )
            if not rows:
                break
            summary = pings_apply(rows)
        pings += len(rows)
        inserted += summary.inserted
        transitions += summary.transitions
        if len(rows) < batch:
            break
    return DrainSummary(pings, inserted, transitions)
