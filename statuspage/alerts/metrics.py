"""The notification outbox for Prometheus, read at scrape time (two counting queries)."""

from django.db.models import Count

from statuspage.alerts.models import Delivery, DeliveryState, Notification, NotificationState

WAITING = [DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.RETRYING]


def outbox_exposition() -> bytes:
    """Backlog: notifications not yet in a message, and messages not yet delivered (by
    state). Dead letters: messages given up after their last retry, still kept."""
    unclaimed = Notification.objects.filter(
        state=NotificationState.PENDING, delivery__isnull=True
    ).count()
    by_state = dict(
        Delivery.objects.filter(state__in=[*WAITING, DeliveryState.DEAD])
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    lines = [
        "# HELP statuspage_outbox_backlog Notifications and messages waiting to be delivered.\n",
        "# TYPE statuspage_outbox_backlog gauge\n",
        f'statuspage_outbox_backlog{{stage="notification"}} {unclaimed}\n',
        *(
            f'statuspage_outbox_backlog{{stage="{state}"}} {by_state.get(state, 0)}\n'
            for state in WAITING
        ),
        "# HELP statuspage_outbox_dead_letters Messages given up after their retries.\n",
        "# TYPE statuspage_outbox_dead_letters gauge\n",
        f"statuspage_outbox_dead_letters {by_state.get(DeliveryState.DEAD, 0)}\n",
    ]
    return "".join(lines).encode()
