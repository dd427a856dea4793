"""Reads of incidents and maintenance for the team site and the status pages."""

from datetime import datetime

from statuspage.incidents.models import Maintenance, MaintenanceStatus


def services_under_maintenance(*, now: datetime) -> set[int]:
    """Ids of the services inside a maintenance window that is running now, in one query.

    A window runs from its start (or manual start) until it is completed; a window whose
    end has passed counts until the periodic task or a person completes it.
    """
    active = Maintenance.objects.filter(
        status__in=[MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING]
    ) | Maintenance.objects.filter(
        status=MaintenanceStatus.SCHEDULED,
        auto_start=True,
        scheduled_for__lte=now,
        scheduled_until__gt=now,
    )
    return set(
        Maintenance.services.through.objects.filter(maintenance__in=active).values_list(
            "service_id", flat=True
        )
    )
