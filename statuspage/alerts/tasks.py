"""Celery tasks of notifications: thin wrappers that log one line per run.

Both are safe to run twice or concurrently: a channel's claim locks its row, and every
delivery is sent only by the worker that marked it "sending" (see delivery.py).
"""

import logging
import time

from celery import shared_task
from django.conf import settings

from statuspage.alerts.delivery import channel_deliver, channels_due

# The tasks of public subscribers' mail, registered with the worker from here.
from statuspage.alerts.subscriber_tasks import subscriber_mails_send, subscriber_mails_sweep  # noqa: F401

logger = logging.getLogger(__name__)


def _again(channel_id: int, wait_s: float) -> None:
    # A countdown longer than the broker's visibility timeout would be redelivered early;
    # the periodic sweep picks such channels up instead.
    if wait_s < settings.CELERY_VISIBILITY_TIMEOUT / 2:
        deliver_channel.apply_async((channel_id,), countdown=max(0.05, wait_s))


@shared_task(
    name="alerts.deliver_channel",
    ignore_result=True,
    soft_time_limit=120,
    time_limit=150,
    # A worker killed mid-round: the task is redelivered (acks_late, reject_on_worker_lost)
    # and finds the round's deliveries "sending" until their lease ends.
)
def deliver_channel(channel_id: int) -> int:
    started = time.monotonic()
    report = channel_deliver(channel_id=channel_id)
    if report.wait_s is not None:
        _again(channel_id, report.wait_s)
    logger.info(
        "task=alerts.deliver_channel channel=%d claimed=%d sent=%d retrying=%d dead=%d "
        "again_s=%s ms=%.1f",
        channel_id,
        report.claimed,
        report.sent,
        report.retrying,
        report.dead,
        "-" if report.wait_s is None else f"{report.wait_s:.1f}",
        (time.monotonic() - started) * 1000,
    )
    return report.sent


@shared_task(name="alerts.sweep", ignore_result=True, soft_time_limit=30, time_limit=60)
def sweep() -> int:
    """Queue the channels whose work no queued task is going to do (see channels_due)."""
    started = time.monotonic()
    channel_ids = channels_due()
    for channel_id in channel_ids:
        deliver_channel.delay(channel_id)
    logger.info(
        "task=alerts.sweep channels=%d ms=%.1f",
        len(channel_ids),
        (time.monotonic() - started) * 1000,
    )
    return len(channel_ids)


@shared_task(name="alerts.remind", ignore_result=True, soft_time_limit=50, time_limit=60)
def remind() -> int:
    """Reminders, escalation, settled flaps, incidents and maintenance (alerts_sweep logs
    its own line). Safe twice: every event it records is keyed by what it tells."""
    from statuspage.alerts.reminders import alerts_sweep

    return sum(alerts_sweep().values())
