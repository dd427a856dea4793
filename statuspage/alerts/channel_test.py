""" "Send a test message": a test event for one channel, through the same outbox."""

import uuid
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from statuspage.alerts.models import Channel, Event, EventKind
from statuspage.alerts.outbox import event_record, outbox_enqueue


def channel_test_send(*, channel: Channel, by: AbstractBaseUser, now: datetime) -> Event:
    """Record a test event and its one notification; the delivery task sends it after the
    commit, with retries and dead letters like any other message."""
    team = channel.team
    with transaction.atomic():
        event = event_record(
            kind=EventKind.TEST,
            key=f"test:{channel.pk}:{uuid.uuid4().hex}",
            occurred_at=now,
            context={
                "team": {"name": team.name, "slug": team.slug},
                "test": {"channel": channel.name, "requested_by": by.get_username()},
            },
        )
        outbox_enqueue(event=event, channels=[channel])
    return event
