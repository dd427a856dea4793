"""Celery beat scheduler that records the scheduler's heartbeat on each tick."""

import logging
import time

from celery.beat import PersistentScheduler

from statuspage.core.heartbeat import heartbeat_record

logger = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    heartbeat_every_s = 5.0
    _last_heartbeat = 0.0

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
