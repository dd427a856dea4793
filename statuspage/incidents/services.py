"""Every write of incidents: views, the admin and the API call these.

Scheduled maintenance has its own writes in statuspage.incidents.services_maintenance. The
lifecycle rules are written in statuspage.incidents.rules. Every change bumps the status
version once its transaction commits; a call that changes nothing does not.
"""

from collections.abc import Mapping
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from statuspage.catalog.models import Service
from statuspage.core.status_version import status_version_bump
from statuspage.incidents.models import (
    Impact,
    Incident,
    IncidentService,
    IncidentStatus,
    IncidentUpdate,
)
from statuspage.incidents.rules import (
    CLOSED_STATUSES,
    MAX_BODY,
    OPEN_STATUSES,
    affected_error,
    choice_error,
    incident_transition_error,
    raise_errors,
    text_error,
)


def row_locked(model, pk: int):
    """The row, re-read under a row lock (a concurrent writer waits for us, then re-checks)."""
    return model.objects.select_for_update().get(pk=pk)


def _affected_set(*, incident: Incident, affected: Mapping[Service, str]) -> bool:
    """Make the incident's affected services exactly ``affected``. True if anything changed."""
    current = {row.service_id: row for row in incident.affected.all()}
    wanted = {service.pk: status for service, status in affected.items()}
    changed = False
    stale = [row.pk for service_id, row in current.items() if service_id not in wanted]
    if stale:
        IncidentService.objects.filter(pk__in=stale).delete()
        changed = True
    for service_id, status in wanted.items():
        row = current.get(service_id)
        if row is None:
            IncidentService.objects.create(
                incident=incident, service_id=service_id, component_status=status
            )
            changed = True
        elif row.component_status != status:
            row.component_status = status
            row.save(update_fields=["component_status"])
            changed = True
    return changed


def incident_open(
    *,
    title: str,
    impact: str,
    affected: Mapping[Service, str],
    body: str,
    status: str = IncidentStatus.INVESTIGATING,
    publish: bool,
    by: AbstractBaseUser | None,
    started_at: datetime | None = None,
) -> Incident:
    """Open an incident with its first update (a draft unless ``publish``)."""
    now = timezone.now()
    started_at = started_at or now
    raise_errors(
        {
            "title": text_error(title, label="The title", max_length=200),
            "impact": choice_error(impact, Impact.values, label="impact"),
            "status": choice_error(
                status, [*OPEN_STATUSES, IncidentStatus.RESOLVED], label="status"
            ),
            "body": text_error(body, label="The update", max_length=MAX_BODY),
            "affected": affected_error(affected),
            "started_at": "The start cannot be in the future." if started_at > now else None,
        }
    )
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title.strip(),
            impact=impact,
            status=status,
            is_published=publish,
            published_at=now if publish else None,
            started_at=started_at,
            monitoring_at=now if status == IncidentStatus.MONITORING else None,
            resolved_at=now if status == IncidentStatus.RESOLVED else None,
            created_by=by,
        )
        _affected_set(incident=incident, affected=affected)
        IncidentUpdate.objects.create(
            incident=incident, status=status, body=body, created_at=now, created_by=by
        )
        status_version_bump()
    return incident


def incident_update_post(
    *,
    incident: Incident,
    status: str,
    body: str,
    by: AbstractBaseUser | None,
    affected: Mapping[Service, str] | None = None,
    reopen: bool = False,
) -> IncidentUpdate:
    """Add an update to the timeline and move the incident to its status.

    1. Lock the incident and check the move against its current status (rules above), so
       two people posting at once are checked one after the other.
    2. Stamp monitoring_at / resolved_at on entering those statuses; a reopen clears
       resolved_at.
    3. Replace the affected services when ``affected`` is given.
    """
    raise_errors(
        {
            "body": text_error(body, label="The update", max_length=MAX_BODY),
            "affected": affected_error(affected),
        }
    )
    now = timezone.now()
    with transaction.atomic():
        locked = row_locked(Incident, incident.pk)
        raise_errors(
            {"status": incident_transition_error(current=locked.status, new=status, reopen=reopen)}
        )
        fields = ["status", "updated_at"]
        if status == IncidentStatus.MONITORING and locked.status != status:
            locked.monitoring_at = now
            fields.append("monitoring_at")
        if status == IncidentStatus.RESOLVED and locked.status in OPEN_STATUSES:
            locked.resolved_at = now
            fields.append("resolved_at")
        if status in OPEN_STATUSES and locked.resolved_at is not None:
            locked.resolved_at = None
            fields.append("resolved_at")
        locked.status = status
        locked.save(update_fields=fields)
        if affected is not None:
            _affected_set(incident=locked, affected=affected)
        update = IncidentUpdate.objects.create(
            incident=locked, status=status, body=body, created_at=now, created_by=by
        )
        status_version_bump()
    fields_copy(incident, locked, fields)
    return update


def fields_copy(instance, source, fields: list[str]) -> None:
    """Copy what a service saved on its locked copy back onto the caller's instance."""
    for field in fields:
        setattr(instance, field, getattr(source, field))


def incident_publish(*, incident: Incident, by: AbstractBaseUser | None) -> bool:
    """Show a draft on the public page, with its whole timeline. False if already shown."""
    with transaction.atomic():
        locked = row_locked(Incident, incident.pk)
        if locked.is_published:
            return False
        locked.is_published = True
        locked.published_at = timezone.now()
        locked.save(update_fields=["is_published", "published_at", "updated_at"])
        status_version_bump()
    fields_copy(incident, locked, ["is_published", "published_at", "updated_at"])
    return True


def incident_postmortem_set(
    *, incident: Incident, body: str, by: AbstractBaseUser | None
) -> Incident:
    """Write (or rewrite) the postmortem of a resolved incident, noted on its timeline."""
    raise_errors({"body": text_error(body, label="The postmortem", max_length=MAX_BODY * 5)})
    now = timezone.now()
    with transaction.atomic():
        locked = row_locked(Incident, incident.pk)
        if locked.status not in CLOSED_STATUSES:
            raise_errors({"body": "Resolve the incident before writing its postmortem."})
        if locked.postmortem == body and locked.status == IncidentStatus.POSTMORTEM:
            return incident
        note = "The postmortem was updated." if locked.postmortem else "Postmortem published."
        locked.postmortem = body
        locked.status = IncidentStatus.POSTMORTEM
        locked.save(update_fields=["postmortem", "status", "updated_at"])
        IncidentUpdate.objects.create(
            incident=locked,
            status=IncidentStatus.POSTMORTEM,
            body=note,
            created_at=now,
            created_by=by,
        )
        status_version_bump()
    fields_copy(incident, locked, ["postmortem", "status", "updated_at"])
    return incident


def incident_edit(
    *,
    incident: Incident,
    title: str,
    impact: str,
    started_at: datetime,
    by: AbstractBaseUser | None,
    affected: Mapping[Service, str] | None = None,
) -> bool:
    """Correct an incident's title, impact, start or affected services (the admin's form)."""
    raise_errors(
        {
            "title": text_error(title, label="The title", max_length=200),
            "impact": choice_error(impact, Impact.values, label="impact"),
            "started_at": "The start cannot be in the future."
            if started_at > timezone.now()
            else None,
            "affected": affected_error(affected),
        }
    )
    fields = ["title", "impact", "started_at"]
    with transaction.atomic():
        locked = row_locked(Incident, incident.pk)
        new = {"title": title.strip(), "impact": impact, "started_at": started_at}
        changed = [f for f in fields if getattr(locked, f) != new[f]]
        for field in changed:
            setattr(locked, field, new[field])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        affected_changed = affected is not None and _affected_set(
            incident=locked, affected=affected
        )
        if changed or affected_changed:
            status_version_bump()
    fields_copy(incident, locked, [*fields, "updated_at"])
    return bool(changed or affected_changed)


def incident_delete(*, incident: Incident) -> None:
    """Delete an incident with its timeline; a published one leaves the public page."""
    with transaction.atomic():
        incident.delete()
        status_version_bump()
