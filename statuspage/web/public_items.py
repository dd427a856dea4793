"""Published incidents and maintenance windows as dataclasses: the rows of
``statuspage.web.public_rows`` (which decides what is public) shaped for the page, the
JSON and the feeds."""

from datetime import date, datetime, timedelta

from django.utils import timezone

from statuspage.core.days import day_of, day_start
from statuspage.incidents.models import IncidentStatus, MaintenanceStatus
from statuspage.web import public_rows
from statuspage.web.public_types import (
    Affected,
    Month,
    PublicIncident,
    PublicMaintenance,
    Update,
)

# ------------------------------------------------------------ incidents, maintenance


def _updates(rows: list[tuple]) -> tuple[Update, ...]:
    return tuple(Update(*row) for row in rows)


def _affected(rows: list[tuple]) -> tuple[Affected, ...]:
    return tuple(
        Affected(pk, public_name or name, status) for pk, name, public_name, status in rows
    )


def incident_of(row: dict) -> PublicIncident:
    return PublicIncident(
        id=row["id"],
        name=row["title"],
        status=row["status"],
        impact=row["impact"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        monitoring_at=row["monitoring_at"],
        resolved_at=row["resolved_at"],
        postmortem=row["postmortem"] if row["status"] == IncidentStatus.POSTMORTEM else "",
        updates=_updates(row["updates"]),
        affected=_affected(row["affected"]),
    )


def maintenance_status(row: dict, now: datetime) -> str:
    """The status a window has now: one past its start with auto_start runs already."""
    if (
        row["status"] == MaintenanceStatus.SCHEDULED
        and row["auto_start"]
        and row["scheduled_for"] <= now < row["scheduled_until"]
    ):
        return MaintenanceStatus.IN_PROGRESS
    return row["status"]


def maintenance_of(row: dict, now: datetime) -> PublicMaintenance:
    return PublicMaintenance(
        id=row["id"],
        name=row["title"],
        status=maintenance_status(row, now),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        scheduled_for=row["scheduled_for"],
        scheduled_until=row["scheduled_until"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        updates=_updates(row["updates"]),
        affected=_affected(row["affected"]),
    )


def open_maintenances(now: datetime) -> list[PublicMaintenance]:
    found = [maintenance_of(row, now) for row in public_rows.maintenances_open(now)]
    return sorted(found, key=lambda m: (m.scheduled_for, m.id))


# ------------------------------------------------------------ the other public reads


def public_incidents(*, limit: int = 50) -> list[PublicIncident]:
    """The most recent published incidents, newest first."""
    return [incident_of(row) for row in public_rows.incidents_recent(limit)]


def public_maintenances(*, limit: int = 50, now: datetime | None = None) -> list[PublicMaintenance]:
    """The most recently scheduled published maintenance windows, latest first."""
    now = now or timezone.now()
    return [maintenance_of(row, now) for row in public_rows.maintenances_recent(limit)]


def public_incident(pk: int) -> PublicIncident | None:
    row = public_rows.incident_by_id(pk)
    return incident_of(row) if row else None


def public_maintenance(pk: int, *, now: datetime | None = None) -> PublicMaintenance | None:
    row = public_rows.maintenance_by_id(pk)
    return maintenance_of(row, now or timezone.now()) if row else None


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def public_month(*, year: int, month: int, now: datetime | None = None) -> Month | None:
    """Published incidents and maintenance of one calendar month (page time zone).

    None for a month before the first published item or after the current month.
    """
    now = now or timezone.now()
    try:
        first = date(year, month, 1)
    except ValueError:
        return None
    current = _month_start(day_of(now))
    earliest = _earliest_month() or current
    if not earliest <= first <= current:
        return None
    start, end = day_start(first), day_start(_next_month(first))
    incidents = public_rows.incidents_started_between(start, end)
    maintenances = public_rows.maintenances_scheduled_between(start, end)
    previous = _month_start(first - timedelta(days=1))
    return Month(
        year=year,
        month=month,
        incidents=tuple(incident_of(row) for row in incidents),
        maintenances=tuple(maintenance_of(row, now) for row in maintenances),
        previous=previous if previous >= earliest else None,
        next=_next_month(first) if first < current else None,
    )


def _earliest_month() -> date | None:
    known = [day_of(moment) for moment in public_rows.earliest_published()]
    return _month_start(min(known)) if known else None
