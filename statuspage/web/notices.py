"""Open incidents and maintenance for the top of the team and service pages: whatever is
going on shows above the rows, with a link to it (one query for each)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, IntegerField, Value, When

from statuspage.incidents.models import (
    Impact,
    Incident,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
)
from statuspage.incidents.rules import CLOSED_STATUSES, IMPACT_SEVERITY, RUNNING_STATUSES

LIMIT = 10
# Worst first: a critical incident is never listed under a minor one.


@dataclass(frozen=True)
class IncidentNotice:
    id: int
    title: str
    impact: str
    status: str
    is_published: bool
    started_at: datetime

    @property
    def impact_label(self) -> str:
        return Impact(self.impact).label

    @property
    def status_label(self) -> str:
        return IncidentStatus(self.status).label


@dataclass(frozen=True)
class MaintenanceNotice:
    id: int
    title: str
    status: str
    is_published: bool
    scheduled_for: datetime
    scheduled_until: datetime

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def status_label(self) -> str:
        return MaintenanceStatus(self.status).label


@dataclass(frozen=True)
class Notices:
    incidents: list[IncidentNotice]
    maintenance: list[MaintenanceNotice]

    def __bool__(self) -> bool:
        return bool(self.incidents or self.maintenance)


def open_notices(*, service_id: int | None = None) -> Notices:
    """Unresolved incidents (drafts included: the team site is for the people handling
    them) and maintenance not completed yet; only those touching ``service_id`` if given.
    A service is listed at most once per incident or maintenance, so the joins add no rows."""
    rank = Case(
        *(When(impact=impact, then=Value(-n)) for impact, n in IMPACT_SEVERITY.items()),
        default=Value(9),
        output_field=IntegerField(),
    )
    incidents = Incident.objects.exclude(status__in=CLOSED_STATUSES)
    maintenance = Maintenance.objects.exclude(status=MaintenanceStatus.COMPLETED)
    if service_id is not None:
        incidents = incidents.filter(affected__service_id=service_id)
        maintenance = maintenance.filter(services=service_id)
    incident_rows = (
        incidents.annotate(rank=rank)
        .order_by("rank", "-started_at", "-pk")
        .values_list("id", "title", "impact", "status", "is_published", "started_at")[:LIMIT]
    )
    maintenance_rows = maintenance.order_by("scheduled_for", "pk").values_list(
        "id", "title", "status", "is_published", "scheduled_for", "scheduled_until"
    )[:LIMIT]
    return Notices(
        incidents=[IncidentNotice(*row) for row in incident_rows],
        maintenance=[MaintenanceNotice(*row) for row in maintenance_rows],
    )
