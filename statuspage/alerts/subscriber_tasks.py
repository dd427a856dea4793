"""Celery tasks sending public subscribers' mail: thin, one log line per run."""

import logging
import time

from celery import shared_task
from django.core.mail import mailers
from django.utils import timezone

from statuspage.alerts import subscriber_mail
from statuspage.alerts.subscriptions import mails_queue

logger = logging.getLogger(__name__)


@shared_task(
    name="alerts.subscriber_mails_send", ignore_result=True, soft_time_limit=120, time_limit=150
)
def subscriber_mails_send(mail_ids: list[int]) -> dict[str, int]:
    """Send these mails over one SMTP connection. Safe to run twice: a mail already sent,
    or claimed by another worker, is skipped."""
    counts: dict[str, int] = {}
    with mailers.default as connection:
        for mail_id in mail_ids:
            outcome = subscriber_mail.mail_send(mail_id, connection=connection)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@shared_task(
    name="alerts.subscriber_mails_sweep", ignore_result=True, soft_time_limit=25, time_limit=40
)
def subscriber_mails_sweep() -> int:
    """Queue the mails that are due: retries, and mails whose task was lost or whose sender
    died (its lease ended)."""
    started = time.monotonic()
    mail_ids = subscriber_mail.due_mail_ids(now=timezone.now())
    mails_queue(mail_ids)
    logger.info(
        "task=alerts.subscriber_mails_sweep queued=%d ms=%.1f",
        len(mail_ids),
        (time.monotonic() - started) * 1000,
    )
    return len(mail_ids)
