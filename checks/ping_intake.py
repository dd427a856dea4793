"""Ping intake on PostgreSQL: the request stores the ping, a drain applies it in bulk.

What a 200 promises: the ping is committed to the database (``checks_ping``, marked
pending) before the answer is sent, so it survives the web process, the worker or the
whole machine dying right after. Its effect on the check (result, state, notifications,
``last_ping_at``) follows when ``checks.drain_pings`` applies it, every ``PING_DRAIN_S``
while a worker runs; pings that wait longer (no worker) are applied in order when one
is back. On SQLite pings are applied during the request (``ping_record``).

The request path is one statement: it finds the heartbeat check by its ping uuid and
inserts the row in the same ``INSERT ... SELECT``, committing on its own, outside any
transaction. It is a prepared statement of the pooled connection, so PostgreSQL parses
and plans it once per connection, not once per ping.
"""

import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from checks.heartbeats import PingInput, pings_apply
from checks.models import Kind, Ping

# Any threshold but None lets psycopg prepare; prepare=True then prepares at once.
_PREPARE_NOW = 0
_COLUMNS = (
    "INSERT INTO checks_ping (check_id, kind, exit_status, received_at, rid, duration_ms, "
    "method, remote_addr, user_agent, body, pending) "
    "SELECT c.id, %s, %s, %s, %s, NULL, %s, %s, %s, %s, TRUE FROM checks_check AS c"
)
_MATCH = " WHERE c.ping_uuid = %s AND c.kind = %s RETURNING check_id"
_INSERT = _COLUMNS + _MATCH
# The same row, committed without waiting for the WAL to reach the disk: set_config(...,
# true) changes synchronous_commit for this statement's own transaction only, and adds no
# round trip. PostgreSQL stays consistent; only its own crash can lose such a commit, and
# only one made in the last moments before it (at most about three wal_writer_delay).
_INSERT_ASYNC = (
    _COLUMNS + " CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS a" + _MATCH
)


def _insert(ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> int | None:
    """The row's check id, or None when no heartbeat check has this uuid.

    In autocommit the statement commits by itself (no BEGIN/COMMIT round trips); inside
    a caller's transaction a savepoint keeps a refused row from breaking it. A server-side
    binding cursor on Django's own connection: the values travel apart from the text,
    which PostgreSQL then keeps prepared.
    """
    row = (
        ping.kind, ping.exit_status, now, ping.rid[:64], ping.method[:8],
        ping.remote_addr, ping.user_agent[:200], ping.body, ping_uuid, Kind.HEARTBEAT.value,
    )  # fmt: skip
    sql = _INSERT if settings.PING_SYNCHRONOUS_COMMIT else _INSERT_ASYNC
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        connection.ensure_connection()
        raw = connection.connection
        with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
            # Django turns psycopg's prepared statements off for the whole connection
            # (prepare_threshold None); they are allowed for this one statement only, and
            # psycopg remembers the name it prepared under for the connection's next ping.
            raw.prepare_threshold = _PREPARE_NOW
            try:
                cursor.execute(sql, row, prepare=True)
            finally:
                raw.prepare_threshold = None
            found = cursor.fetchone()
    return found[0] if found else None


def ping_accept(*, ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> int | None:
    """Store a ping for the drain; return its check's id, or None: no such heartbeat check.

    Outside a transaction (as in a request) the ping is committed once this returns.
    """
    try:
        return _insert(ping_uuid, ping, now)
    except IntegrityError:
        # The check was deleted between the lookup and the row's foreign key check.
        return None


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
