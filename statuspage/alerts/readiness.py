"""The outbox as /ready shows it to staff: what waits to be sent, and the dead letters.

It never makes /ready fail: a backlog or a dead letter is news for the operators, not a
reason for a load balancer to stop sending traffic. Only the counts are shown.
"""

import datetime as dt

from django.db.models import Count, Min
from django.utils import timezone

from statuspage.alerts.delivery import UNSENT
from statuspage.alerts.models import Delivery, DeliveryState, Notification, NotificationState
from statuspage.core.readiness import PartStatus


def outbox_detail(*, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    waiting = Notification.objects.filter(
        state=NotificationState.PENDING, delivery__isnull=True
    ).aggregate(count=Count("id"), oldest=Min("created_at"))
    # Filtered on the states the partial indexes cover: sent rows are never scanned.
    deliveries = dict.fromkeys(DeliveryState.values, 0)
    rows = Delivery.objects.filter(state__in=UNSENT).values("state").annotate(n=Count("id"))
    deliveries.update({row["state"]: row["n"] for row in rows})
    deliveries["dead"] = Delivery.objects.filter(state=DeliveryState.DEAD).count()
    oldest = waiting["oldest"]
    age = f"{(now - oldest).total_seconds():.0f}s" if oldest else "-"
    return (
        f"pending={waiting['count']} oldest_pending={age} queued={deliveries['queued']} "
        f"sending={deliveries['sending']} retrying={deliveries['retrying']} "
        f"dead={deliveries['dead']}"
    )


def outbox_part() -> PartStatus:
    """/ready's "outbox" part: always ok (see the module doc), the counts as its detail."""
    try:
        return PartStatus(True, outbox_detail())
    except Exception as exc:
        return PartStatus(True, f"outbox unreadable: {type(exc).__name__}")
