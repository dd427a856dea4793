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
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from psycopg import pq

from checks.heartbeats import PingInput, pings_apply
from checks.models import Kind, Ping

COMMAND_OK = pq.ExecStatus.COMMAND_OK
TUPLES_OK = pq.ExecStatus.TUPLES_OK
SQLSTATE = pq.DiagnosticField.SQLSTATE

# The statement's name on each connection (one of PostgreSQL's named prepared statements).
_NAME = b"statuspage_ping_insert"
_COLUMNS = (
    "INSERT INTO checks_ping (check_id, kind, exit_status, received_at, rid, duration_ms, "
    "method, remote_addr, user_agent, body, pending) "
    "SELECT c.id, $1, $2::smallint, $3::timestamptz, $4, NULL, $5, $6::inet, $7, $8, TRUE "
    "FROM checks_check AS c"
)
_MATCH = " WHERE c.ping_uuid = $9 AND c.kind = $10 RETURNING check_id"
# The row is committed without waiting for the WAL to reach the disk unless
# PING_SYNCHRONOUS_COMMIT: set_config(..., true) changes synchronous_commit for this
# statement's own transaction only, and adds no round trip; $11 is 'off', or NULL to keep
# the session's setting. PostgreSQL stays consistent; only its own crash can lose such a
# commit, and only one made in the last moments before it (at most about three
# wal_writer_delay).
_INSERT = (
    _COLUMNS + " CROSS JOIN (SELECT set_config('synchronous_commit', "
    "coalesce($11, current_setting('synchronous_commit')), true)) AS a" + _MATCH
)
# psycopg connections whose session has the statement prepared.
_prepared: weakref.WeakSet = weakref.WeakSet()


def _text(value) -> bytes | None:
    return None if value is None else str(value).encode()


def _result(pgconn: pq.PGconn, result: pq.PGresult, expected: pq.ExecStatus) -> pq.PGresult:
    """``result`` if it has the expected status, else its error as psycopg raises it: an
    error without SQLSTATE comes from the client (the connection lost), an operational
    error like psycopg's own, which Django's outage answer recognises."""
    if result.status == expected:
        return result
    if pgconn.status == pq.ConnStatus.BAD or not result.error_field(SQLSTATE):
        raise psycopg.OperationalError(result.get_error_message() or "the connection is lost")
    raise psycopg.errors.error_from_result(result, encoding="utf-8")


def _insert(ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> int | None:
    """The row's check id, or None when no heartbeat check has this uuid.

    In autocommit the statement commits by itself (no BEGIN/COMMIT round trips); inside
    a caller's transaction a savepoint keeps a refused row from breaking it.

    The statement is prepared once per pooled connection under its own name and then run
    through libpq directly, its values sent as text: PostgreSQL neither parses nor plans
    it again, and the client skips the general cursor's per-call work. Django's own
    queries are not prepared (its connections run with prepare_threshold None).
    """
    # libpq sends text values as C strings: a NUL would cut one short. The query string and
    # the body never carry one here (refused, or replaced like any undecodable byte).
    agent = ping.user_agent[:200].replace("\x00", "\ufffd")
    values = [
        ping.kind.encode(), _text(ping.exit_status), now.isoformat().encode(),
        ping.rid[:64].encode(), ping.method[:8].encode(), _text(ping.remote_addr),
        agent.encode(), ping.body.encode(), str(ping_uuid).encode(), Kind.HEARTBEAT.value.encode(),
        None if settings.PING_SYNCHRONOUS_COMMIT else b"off",
    ]  # fmt: skip
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        connection.ensure_connection()
        raw = connection.connection
        pgconn = raw.pgconn
        with connection.wrap_database_errors:
            if raw not in _prepared:
                _result(pgconn, pgconn.prepare(_NAME, _INSERT.encode()), COMMAND_OK)
                _prepared.add(raw)
            found = _result(pgconn, pgconn.exec_prepared(_NAME, values), TUPLES_OK)
    return int(found.get_value(0, 0)) if found.ntuples else None


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
