"""Celery beat scheduler that records the scheduler's heartbeat on each tick, and runs the
dispatch tick itself.

The dispatch tick (``checks.dispatch_due``) is not queued: beat claims the due checks and
queues their probe batches in its own process. A queued tick would wait behind the batches
it queued a tick earlier, which hold the worker's processes until their slots (they are
claimed ``DISPATCH_LEAD_S`` ahead, ``checks.runner``); ticks then ran in pairs every other
second and the checks due in between were claimed after their slot. Two schedulers running
at once still claim each slot once (``FOR UPDATE SKIP LOCKED``, ``checks.scheduling``).
"""

import logging
import time

from celery.beat import PersistentScheduler
from django.db import close_old_connections

from statuspage.core.heartbeat import heartbeat_record

logger = logging.getLogger(__name__)

# Tasks beat runs in its own process instead of queueing.
INLINE_TASKS = frozenset({"checks.dispatch_due"})
# While a tick keeps failing (PostgreSQL or Redis away), its error is logged this often.
FAILURE_LOG_EVERY_S = 60.0


class HeartbeatScheduler(PersistentScheduler):
    heartbeat_every_s = 5.0
    _last_heartbeat = 0.0
    _failing_since: float | None = None
    _failure_logged: float | None = None

    def tick(self, *args, **kwargs):
        now = time.time()
        if now - self._last_heartbeat >= self.heartbeat_every_s:
            try:
                heartbeat_record(part="scheduler", now=now)
                self._last_heartbeat = now
            except Exception:
                # The cache being down must not stop scheduling; /ready reports it.
                logger.exception("event=heartbeat.failed part=scheduler")
        # Wake up often enough to keep the heartbeat fresh even with sparse schedules.
        return min(super().tick(*args, **kwargs), self.heartbeat_every_s)

    def apply_entry(self, entry, producer=None):
        if entry.task not in INLINE_TASKS:
            return super().apply_entry(entry, producer=producer)
        return self.run_inline(entry)

    def run_inline(self, entry) -> None:
        """Run the entry's task here; a failure is logged (at most once a minute while it
        lasts) and the next tick tries again, so beat outlives a database or broker restart."""
        # A connection broken by a database restart is dropped before it is used again.
        close_old_connections()
        try:
            self.app.tasks[entry.task](*entry.args, **entry.kwargs)
        except Exception as exc:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if self._failure_logged is None or now - self._failure_logged >= FAILURE_LOG_EVERY_S:
                self._failure_logged = now
                logger.error(
                    "event=inline_task.failed task=%s failing_for_s=%.0f error=%s: %s",
                    entry.task,
                    now - self._failing_since,
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                )
        else:
            if self._failing_since is not None:
                logger.warning(
                    "event=inline_task.recovered task=%s failed_for_s=%.0f",
                    entry.task,
                    time.monotonic() - self._failing_since,
                )
                self._failing_since = None
                self._failure_logged = None
        finally:
            close_old_connections()
