"""The outbox: events and their notifications, written in the caller's transaction.

A state change and the rows that announce it commit together or not at all, so a crash can
neither announce a change that was rolled back nor lose the announcement of one that
committed. Delivery is queued only after the commit (`transaction.on_commit`); a queued task
that is lost is made up for by the periodic sweep (statuspage.alerts.delivery).
"""

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from statuspage.alerts.models import Channel, Event, Notification

logger = logging.getLogger(__name__)


def event_record(
    *,
    kind: str,
    key: str,
    occurred_at: dt.datetime,
    context: dict[str, Any],
    service=None,
    check=None,
    incident=None,
    maintenance=None,
    deployment=None,
) -> Event | None:
    """Record an event unless one with `key` exists; None then (it was handled already).

    Call it inside the transaction of the change it announces. The insert ignores a
    conflicting key, so two workers racing on the same change record it once, and the
    loser learns so without an error that would abort the transaction.
    (`check` is stored as `Event.check_ref`: a model field may not be called `check`.)
    """
    event = Event(
        kind=kind,
        key=key,
        occurred_at=occurred_at,
        context=context,
        service=service,
        check_ref=check,
        incident=incident,
        maintenance=maintenance,
        deployment=deployment,
    )
    try:
        # A savepoint, so that a conflict leaves the caller's transaction usable.
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        if Event.objects.filter(key=key).exists():
            return None
        raise
    return event


def outbox_enqueue(*, event: Event, channels: Iterable[Channel]) -> int:
    """One pending notification per channel (existing ones are kept); delivery is queued
    after the commit. Returns how many rows were inserted."""
    channel_ids = sorted({channel.pk for channel in channels})
    if not channel_ids:
        return 0
    rows = [Notification(event=event, channel_id=channel_id) for channel_id in channel_ids]
    before = Notification.objects.filter(event=event, channel_id__in=channel_ids).count()
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    inserted = Notification.objects.filter(event=event, channel_id__in=channel_ids).count() - before
    deliveries_queue(channel_ids)
    return inserted


class _AfterCommit:
    """The channels touched in one transaction, queued once each after it commits."""

    def __init__(self) -> None:
        self.channel_ids: set[int] = set()

    def __call__(self) -> None:
        from statuspage.alerts.tasks import deliver_channel

        countdown = settings.ALERTS_GROUP_WINDOW_S or None
        try:
            for channel_id in sorted(self.channel_ids):
                deliver_channel.apply_async((channel_id,), countdown=countdown)
        except Exception as exc:
            # The change is committed whatever the broker does; the periodic sweep finds
            # the notifications no task was queued for.
            logger.warning(
                "event=alert.queue_failed channels=%d error=%s",
                len(self.channel_ids),
                type(exc).__name__,
            )


def deliveries_queue(channel_ids: list[int]) -> None:
    """Queue one delivery round per channel once the caller's transaction commits."""
    # A storm records hundreds of events in one transaction: one task per channel, not
    # one per event. The collector is reused only while it is still registered with this
    # transaction (a rolled-back transaction discards it).
    connection = connections[DEFAULT_DB_ALIAS]
    pending = getattr(connection, "_alerts_after_commit", None)
    registered = pending is not None and any(
        func is pending for _, func, _ in connection.run_on_commit
    )
    if registered:
        pending.channel_ids.update(channel_ids)
        return
    pending = _AfterCommit()
    pending.channel_ids.update(channel_ids)  # before: outside a transaction it runs at once
    connection._alerts_after_commit = pending
    transaction.on_commit(pending)
