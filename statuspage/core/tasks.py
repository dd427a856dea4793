import logging
import time

from celery import shared_task

from statuspage.core.heartbeat import heartbeat_record

logger = logging.getLogger(__name__)


@shared_task(name="core.heartbeat", ignore_result=True, soft_time_limit=10, time_limit=20)
def heartbeat() -> None:
    """Record that a worker is consuming tasks. Safe to run any number of times."""
    started = time.monotonic()
    heartbeat_record(part="worker")
    logger.info("task=core.heartbeat ok=1 ms=%.1f", (time.monotonic() - started) * 1000)
