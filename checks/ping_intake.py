"""Ping intake on PostgreSQL: the request stores the ping, a drain applies it in bulk.

What a 200 promises: the ping is committed to the database (a row of the inbox,
``checks_pinginbox``) before the answer is sent, so it survives the web process, the
worker or the whole machine dying right after. Its effect on the check (result, state,
notifications, ``last_ping_at``) follows when ``checks.drain_pings`` applies it, every
``PING_DRAIN_S`` while a worker runs; pings that wait longer (no worker) are applied in
order when one is back. On SQLite pings are applied during the request (``ping_record``).

The request path is one statement: it finds the heartbeat check by its ping uuid and
inserts the inbox row in the same ``INSERT ... SELECT``, committing on its own, outside
any transaction, on a connection the web thread keeps for pings. It is a prepared
statement of that connection, so PostgreSQL parses and plans it once per connection, not
once per ping. The inbox has no foreign key and no index but its key: a ping costs the
request one small row. The drain moves rows from the inbox to ``checks_ping`` many at a
time, where the indexes and the check's foreign key are paid in bulk.
"""

import os
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import connection, transaction
from psycopg import pq

from checks.heartbeats import AcceptedPing, PingInput, pings_apply
from checks.models import Kind

COMMAND_OK = pq.ExecStatus.COMMAND_OK
TUPLES_OK = pq.ExecStatus.TUPLES_OK
SQLSTATE = pq.DiagnosticField.SQLSTATE

# The statement's name on each connection (one of PostgreSQL's named prepared statements).
_NAME = b"statuspage_ping_insert"
_COLUMNS = (
    "INSERT INTO checks_pinginbox (check_id, kind, exit_status, received_at, rid, method, "
    "remote_addr, user_agent, body) "
    "SELECT c.id, $1, $2::smallint, $3::timestamptz, $4, $5, $6::inet, $7, $8 "
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

    In a request (no transaction) it runs on this thread's held connection
    (``_held_connection``) and commits by itself (no BEGIN/COMMIT round trips); inside a
    caller's transaction it runs on Django's connection, in a savepoint that keeps a
    refused row from breaking the transaction.

    The statement is prepared once per connection under its own name and then run
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
    if connection.in_atomic_block:
        with transaction.atomic():
            connection.ensure_connection()
            found = _run(connection.connection, values)
    else:
        # A connection the server dropped is replaced by the next call of _held_connection.
        found = _run(_held_connection(), values)
    return int(found.get_value(0, 0)) if found.ntuples else None


def _run(raw: psycopg.Connection, values: list) -> pq.PGresult:
    pgconn = raw.pgconn
    with connection.wrap_database_errors:
        if raw not in _prepared:
            _result(pgconn, pgconn.prepare(_NAME, _INSERT.encode()), COMMAND_OK)
            _prepared.add(raw)
        return _result(pgconn, pgconn.exec_prepared(_NAME, values), TUPLES_OK)


class _Held(threading.local):
    raw = None
    pid = 0


_held = _Held()
# Every thread's held connection, so that held_close_all can close them.
_all_held: weakref.WeakSet = weakref.WeakSet()


def _held_connection() -> psycopg.Connection:
    """This thread's own connection for pings, opened at its first ping and kept.

    A request otherwise takes a connection from the pool and gives it back (Django's
    per-request connect and close), which costs a ping as much as its statement. The held
    connection is outside the pool, in autocommit, and opened under the same fail-fast
    rule (``statuspage.core.pgbackend``); one that the server dropped is replaced at the
    next ping.
    """
    raw = _held.raw
    if raw is not None and _held.pid == os.getpid() and raw.pgconn.status == pq.ConnStatus.OK:
        return raw
    _held_drop()
    with connection.wrap_database_errors:
        raw = connection.direct_connection()
    _held.raw, _held.pid = raw, os.getpid()
    _all_held.add(raw)
    return raw


def _held_drop() -> None:
    raw, _held.raw = _held.raw, None
    if raw is not None and _held.pid == os.getpid():
        raw.close()


def held_close_all() -> None:
    """Close every thread's held ping connection (before the database is dropped, in tests)."""
    for raw in list(_all_held):
        raw.close()


def ping_accept(*, ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> int | None:
    """Store a ping for the drain; return its check's id, or None: no such heartbeat check.

    Outside a transaction (as in a request) the ping is committed once this returns.
    """
    return _insert(ping_uuid, ping, now)


@dataclass(frozen=True)
class DrainSummary:
    pings: int
    inserted: int
    transitions: int


# One drain at a time, whichever worker runs it: a second finds this lock taken and leaves
# the inbox to the first, which drains it all. Two advisory lock keys (int4, int4).
_DRAIN_LOCK = (0x73747573, 0x7069_6E67)

# Moves the oldest rows of the inbox to checks_ping, under the same ids, in one statement;
# rows of a check deleted since their request are dropped. The first column is how many
# rows left the inbox (on every row, and on a row of its own when none was kept); the
# others are what pings_apply reads of each kept ping.
_MOVE = (
    "WITH moved AS (DELETE FROM checks_pinginbox WHERE id IN "
    "(SELECT id FROM checks_pinginbox ORDER BY id LIMIT %s) "
    "RETURNING id, check_id, kind, exit_status, received_at, rid, method, remote_addr, "
    "user_agent, body), "
    "kept AS (INSERT INTO checks_ping (id, check_id, kind, exit_status, received_at, rid, "
    "method, remote_addr, user_agent, body) "
    "SELECT m.id, m.check_id, m.kind, m.exit_status, m.received_at, m.rid, m.method, "
    "m.remote_addr, m.user_agent, m.body FROM moved AS m "
    "WHERE EXISTS (SELECT 1 FROM checks_check AS c WHERE c.id = m.check_id) "
    "RETURNING id, check_id, kind, exit_status, received_at, rid) "
    "SELECT t.n, kept.* FROM (SELECT count(*) AS n FROM moved) AS t LEFT JOIN kept ON TRUE"
)


def pings_drain(*, batch: int = 5000, budget_s: float = 20.0) -> DrainSummary:
    """Apply the inbox's pings, oldest first, in batches of one transaction each.

    A batch moves its rows from the inbox to ``checks_ping`` and applies them in the same
    transaction, so a drain killed mid-batch rolls back and its pings wait in the inbox
    for the next. Only one drain works at a time (an advisory lock); another returns at
    once. Stops when the inbox is empty or after ``budget_s``.
    """
    if connection.vendor != "postgresql":
        return DrainSummary(0, 0, 0)  # SQLite applies each ping in its request
    started = time.monotonic()
    pings = inserted = transitions = 0
    while time.monotonic() - started < budget_s:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", _DRAIN_LOCK)
                if not cursor.fetchone()[0]:
                    break
                cursor.execute(_MOVE, [batch])
                fetched = cursor.fetchall()
            moved = fetched[0][0]
            rows = [AcceptedPing(*row[1:]) for row in fetched if row[1] is not None]
            summary = pings_apply(rows)
        pings += len(rows)
        inserted += summary.inserted
        transitions += summary.transitions
        if moved < batch:
            break
    return DrainSummary(pings, inserted, transitions)
