"""PostgreSQL backend that fails fast while the server is unreachable.

Django's backend connects (or waits for a pool connection) on every request; with the
server gone, each request then waits for the pool timeout or the connect timeout, and a
few sync web workers are all busy waiting. Here a failed connect marks the server down
for ``DATABASE_RETRY_S``: until then every connect raises ``OperationalError`` at once,
without touching the network. The first connect after that window first tries one direct
connection (a stopped server refuses it at once); if the server answers, the process goes
on as before, so it recovers by itself when the server is back.

A pool timeout counts only when a direct connect fails too (a busy pool times out as
well). With the pool, a failed connect also closes the pool: its background reconnect attempts
back off exponentially, which would delay recovery well past the server's return, and its
idle connections are dead anyway. The next connect after the window opens a fresh pool.
Only failures to reach the server count (no SQLSTATE, or classes 08 and 57P such as
"the database system is starting up"); a wrong password or a missing database is a
configuration error and stays loud. ``direct_connection`` opens a connection outside
the pool under the same rule, for the ping intake, which keeps one per web thread.
"""

import logging
import threading
import time

from django.conf import settings
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from psycopg_pool import PoolTimeout

logger = logging.getLogger("statuspage.database")

_lock = threading.Lock()
# (host, port) -> monotonic time before which connects fail at once.
_down_until: dict[tuple[str, str], float] = {}


def _unreachable(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def server_down_for(host: str, port: str) -> float:
    """Seconds left in the fail-fast window of this server (0 when it is not marked)."""
    with _lock:
        return max(0.0, _down_until.get((host, port), 0.0) - time.monotonic())


def reset() -> None:
    """Forget every server marked down (after a test, or an operator's restart)."""
    with _lock:
        _down_until.clear()


class DatabaseWrapper(PostgresWrapper):
    def _server(self) -> tuple[str, str]:
        return (
            str(self.settings_dict.get("HOST") or ""),
            str(self.settings_dict.get("PORT") or ""),
        )

    def get_new_connection(self, conn_params):
        return self._connect(
            conn_params, lambda: super(DatabaseWrapper, self).get_new_connection(conn_params)
        )

    def direct_connection(self):
        """A connection of its own, outside the pool and in autocommit, under the same
        fail-fast rule: for a caller that keeps it across requests (the ping intake)."""
        params = self.get_connection_params()
        return self._connect(params, lambda: self.Database.connect(**params, autocommit=True))

    def _connect(self, conn_params, connect):
        server = self._server()
        with _lock:
            marked = server in _down_until
        if marked:
            left = server_down_for(*server)
            if left > 0:
                raise self.Database.OperationalError(
                    f"database server marked unreachable for another {left:.1f}s"
                )
            # The window is over: one direct connect says whether the server is back
            # (a refused connect fails at once) before a fresh pool is opened.
            if not self._server_answers(conn_params):
                self._mark_down(server, None)
                raise self.Database.OperationalError("database server still unreachable")
            with _lock:
                _down_until.pop(server, None)
            logger.info("event=database.reachable host=%s port=%s", *server)
        try:
            return connect()
        except PoolTimeout as exc:
            # A busy pool times out too: only a server that refuses a connection of its
            # own is marked down.
            if not self._server_answers(conn_params):
                self._mark_down(server, exc)
            raise
        except self.Database.Error as exc:
            if _unreachable(exc):
                self._mark_down(server, exc)
            raise

    def _server_answers(self, conn_params) -> bool:
        try:
            self.Database.connect(**conn_params).close()
        except self.Database.Error as exc:
            return not _unreachable(exc)
        return True

    def _mark_down(self, server: tuple[str, str], exc: BaseException | None) -> None:
        retry_s = float(getattr(settings, "DATABASE_RETRY_S", 2.0))
        with _lock:
            _down_until[server] = time.monotonic() + retry_s
        logger.warning(
            "event=database.unreachable host=%s port=%s retry_s=%s error=%s",
            server[0] or "-",
            server[1] or "-",
            retry_s,
            type(exc).__name__ if exc else "still_unreachable",
        )
        pool = self._connection_pools.pop(self.alias, None)
        if pool is not None:
            # Not waiting for its workers: one may be inside a connect attempt.
            pool.close(timeout=0)
