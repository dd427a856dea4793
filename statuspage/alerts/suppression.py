"""Maintenance and pauses keep alerts quiet.

- A paused service or check says nothing.
- A down, degraded or heartbeat-late change of a service inside one of its maintenance
  windows (checks.MaintenanceWindow, kept in step with scheduled maintenance by the
  incidents app) is not announced. Its recovery is announced only if its outage was, so
  a channel never hears "up" without having heard "down".
- A check that went down inside a window and is still down when the window ends is
  announced then, by the periodic sweep (``after_maintenance_alerts``).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q

from checks.models import MaintenanceWindow

# How far back the sweep looks for windows that ended: far more than its period, so a
# sweep that could not run for a while still catches up; event keys make repeats harmless.
ENDED_LOOKBACK = timedelta(hours=6)


def services_in_maintenance(service_ids: Iterable[int], *, at: datetime) -> set[int]:
    """The services among ``service_ids`` inside a maintenance window at ``at``."""
    ids = set(service_ids)
    if not ids:
        return set()
    return set(
        MaintenanceWindow.objects.filter(service_id__in=ids, starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .values_list("service_id", flat=True)
    )


def windows_ended(*, now: datetime) -> list[MaintenanceWindow]:
    """Windows that ended recently, oldest end first."""
    return list(
        MaintenanceWindow.objects.filter(
            ends_at__lte=now, ends_at__gt=now - ENDED_LOOKBACK
        ).order_by("ends_at", "pk")
    )
