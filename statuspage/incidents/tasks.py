"""Celery tasks of incidents and maintenance: thin wrappers that log one line per run."""

import logging
import time

from celery import shared_task
from django.utils import timezone

from statuspage.incidents import services_maintenance

logger = logging.getLogger(__name__)


@shared_task(
    name="incidents.maintenance_tick", ignore_result=True, soft_time_limit=25, time_limit=40
)
def maintenance_tick() -> dict[str, int]:
    """Start and complete the maintenance that are due. Safe to run twice: a maintenance
    already moved no longer matches, and each move re-checks its row under a lock."""
    started = time.monotonic()
    counts = services_maintenance.maintenance_tick(now=timezone.now())
    logger.info(
        "task=incidents.maintenance_tick started=%d completed=%d ms=%.1f",
        counts.started,
        counts.completed,
        (time.monotonic() - started) * 1000,
    )
    return {"started": counts.started, "completed": counts.completed}
