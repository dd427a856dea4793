"""Every write of scheduled maintenance: views, the admin and the periodic tick call these.

The lifecycle rules are written in statuspage.incidents.rules. Every change syncs the
engine's maintenance windows and bumps the status version once its transaction commits; a
call that changes nothing does neither.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from checks.maintenance import maintenance_windows_sync
from statuspage.catalog.models import Service
from statuspage.core.status_version import status_version_bump
from statuspage.incidents.models import Maintenance, MaintenanceStatus, MaintenanceUpdate
from statuspage.incidents.rules import (
    MAX_BODY,
    RUNNING_STATUSES,
    maintenance_transition_error,
    raise_errors,
    text_error,
    window_errors,
)
from statuspage.incidents.services import fields_copy, row_locked

MAINTENANCE_STARTED = "Maintenance started."
MAINTENANCE_COMPLETED = "Maintenance completed."


def _window(maintenance: Maintenance) -> tuple[datetime | None, datetime | None]:
    """The span in which the maintenance's services count as under maintenance."""
    if maintenance.status == MaintenanceStatus.SCHEDULED:
        if maintenance.auto_start:
            return maintenance.scheduled_for, maintenance.scheduled_until
        return None, None
    if maintenance.status == MaintenanceStatus.COMPLETED:
        return maintenance.started_at, maintenance.completed_at
    return maintenance.started_at, None


def _windows_sync(maintenance: Maintenance, *, now: datetime) -> None:
    starts_at, ends_at = _window(maintenance)
    maintenance_windows_sync(
        source_id=maintenance.pk,
        service_ids=maintenance.services.values_list("pk", flat=True),
        starts_at=starts_at,
        ends_at=ends_at,
        now=now,
    )


def _maintenance_move(
    maintenance: Maintenance,
    *,
    status: str,
    body: str,
    by: AbstractBaseUser | None,
    at: datetime,
    now: datetime,
    noted_at: datetime | None = None,
) -> MaintenanceUpdate:
    """Move a locked maintenance to ``status`` at ``at``, note it, and sync its windows.

    The note is dated ``noted_at`` (default ``at``): a maintenance scheduled to have begun
    already starts at its planned time, but its note must not predate the announcement.
    """
    fields = ["status", "updated_at"]
    if status in RUNNING_STATUSES and maintenance.started_at is None:
        maintenance.started_at = at
        fields.append("started_at")
    if status == MaintenanceStatus.COMPLETED and maintenance.status != status:
        # Never before its start: a window is never negative.
        maintenance.completed_at = max(at, maintenance.started_at or at)
        fields.append("completed_at")
    maintenance.status = status
    maintenance.save(update_fields=fields)
    update = MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status=status,
        body=body,
        created_at=noted_at or at,
        created_by=by,
    )
    _windows_sync(maintenance, now=now)
    status_version_bump()
    return update


def maintenance_schedule(
    *,
    title: str,
    services: Iterable[Service],
    scheduled_for: datetime,
    scheduled_until: datetime,
    body: str,
    by: AbstractBaseUser | None,
    publish: bool = True,
    auto_start: bool = True,
    auto_complete: bool = True,
) -> Maintenance:
    """Announce a maintenance window with its first update.

    A window that has already begun, with auto_start, starts at once (stamped with its
    planned start) rather than waiting up to one tick.
    """
    services = list(services)
    now = timezone.now()
    raise_errors(
        {
            "title": text_error(title, label="The title", max_length=200),
            "services": None if services else "Choose at least one affected service.",
            "body": text_error(body, label="The update", max_length=MAX_BODY),
            **window_errors(scheduled_for=scheduled_for, scheduled_until=scheduled_until, now=now),
        }
    )
    with transaction.atomic():
        maintenance = Maintenance.objects.create(
            title=title.strip(),
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_until,
            is_published=publish,
            auto_start=auto_start,
            auto_complete=auto_complete,
            created_by=by,
        )
        maintenance.services.set(services)
        MaintenanceUpdate.objects.create(
            maintenance=maintenance,
            status=MaintenanceStatus.SCHEDULED,
            body=body,
            created_at=now,
            created_by=by,
        )
        if auto_start and scheduled_for <= now:
            _maintenance_move(
                maintenance,
                status=MaintenanceStatus.IN_PROGRESS,
                body=MAINTENANCE_STARTED,
                by=None,
                at=scheduled_for,
                now=now,
                noted_at=now,
            )
        else:
            _windows_sync(maintenance, now=now)
            status_version_bump()
    return maintenance


def maintenance_update_post(
    *, maintenance: Maintenance, status: str, body: str, by: AbstractBaseUser | None
) -> MaintenanceUpdate:
    """Post an update by hand and move the maintenance to its status (see rules)."""
    raise_errors({"body": text_error(body, label="The update", max_length=MAX_BODY)})
    now = timezone.now()
    with transaction.atomic():
        locked = row_locked(Maintenance, maintenance.pk)
        raise_errors(
            {"status": maintenance_transition_error(maintenance=locked, new=status, now=now)}
        )
        update = _maintenance_move(locked, status=status, body=body, by=by, at=now, now=now)
    fields_copy(maintenance, locked, ["status", "started_at", "completed_at", "updated_at"])
    return update


def maintenance_edit(
    *,
    maintenance: Maintenance,
    title: str,
    services: Iterable[Service],
    scheduled_for: datetime,
    scheduled_until: datetime,
    is_published: bool,
    auto_start: bool,
    auto_complete: bool,
    by: AbstractBaseUser | None,
) -> bool:
    """Change a maintenance's announcement or plan (the admin's form). True if it changed."""
    services = list(services)
    now = timezone.now()
    new = {
        "title": title.strip(),
        "scheduled_for": scheduled_for,
        "scheduled_until": scheduled_until,
        "is_published": is_published,
        "auto_start": auto_start,
        "auto_complete": auto_complete,
    }
    with transaction.atomic():
        locked = row_locked(Maintenance, maintenance.pk)
        plan_errors: dict[str, str | None] = {}
        moved = (scheduled_for, scheduled_until) != (locked.scheduled_for, locked.scheduled_until)
        if moved and locked.status == MaintenanceStatus.SCHEDULED:
            # A plan not yet begun must end in the future, as when it was scheduled.
            plan_errors = window_errors(
                scheduled_for=scheduled_for, scheduled_until=scheduled_until, now=now
            )
        elif scheduled_until <= scheduled_for:
            plan_errors = {"scheduled_until": "The window must end after it starts."}
        raise_errors(
            {
                "title": text_error(title, label="The title", max_length=200),
                "services": None if services else "Choose at least one affected service.",
                **plan_errors,
            }
        )
        changed = [field for field, value in new.items() if getattr(locked, field) != value]
        for field in changed:
            setattr(locked, field, new[field])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        wanted_ids = {service.pk for service in services}
        services_changed = set(locked.services.values_list("pk", flat=True)) != wanted_ids
        if services_changed:
            locked.services.set(services)
        if changed or services_changed:
            _windows_sync(locked, now=now)
            status_version_bump()
    fields_copy(maintenance, locked, [*new, "updated_at"])
    return bool(changed or services_changed)


def maintenance_delete(*, maintenance: Maintenance, by: AbstractBaseUser | None) -> None:
    """Delete a maintenance and its engine windows (its past results count again)."""
    with transaction.atomic():
        maintenance_windows_sync(
            source_id=maintenance.pk, service_ids=[], starts_at=None, ends_at=None
        )
        maintenance.delete()
        status_version_bump()


# ---------------------------------------------------------------- the periodic tick


class TickCounts(NamedTuple):
    started: int
    completed: int


def _auto_move(pk: int, *, now: datetime, start: bool) -> bool:
    """Start (or complete) one due maintenance. False if it is gone, locked or not due.

    The row is locked skipping rows another tick or a person holds, and re-checked under
    the lock: two ticks racing, or a tick racing a manual update, move it once.
    """
    if start:
        due = {"status": MaintenanceStatus.SCHEDULED, "auto_start": True}
        due["scheduled_for__lte"] = now
    else:
        due = {"status__in": RUNNING_STATUSES}
        due |= {"auto_complete": True, "scheduled_until__lte": now}
    with transaction.atomic():
        maintenance = (
            Maintenance.objects.select_for_update(skip_locked=True).filter(pk=pk, **due).first()
        )
        if maintenance is None:
            return False
        if start:
            status, body = MaintenanceStatus.IN_PROGRESS, MAINTENANCE_STARTED
            at = maintenance.scheduled_for
        else:
            status, body = MaintenanceStatus.COMPLETED, MAINTENANCE_COMPLETED
            at = maintenance.scheduled_until
        _maintenance_move(maintenance, status=status, body=body, by=None, at=at, now=now)
    return True


def maintenance_tick(*, now: datetime) -> TickCounts:
    """Start the maintenance due to start and complete the maintenance due to end.

    1. List the due ids without locks (cheap, usually none).
    2. Move each in its own short transaction (``_auto_move``), starts first, so a window
       missed entirely (the scheduler was down) is started and completed in one tick.
    Running twice changes nothing more: a moved row no longer matches the re-check.
    """
    to_start = Maintenance.objects.filter(
        status=MaintenanceStatus.SCHEDULED, auto_start=True, scheduled_for__lte=now
    ).values_list("pk", flat=True)
    started = sum(_auto_move(pk, now=now, start=True) for pk in list(to_start))
    to_complete = Maintenance.objects.filter(
        status__in=RUNNING_STATUSES,
        auto_complete=True,
        scheduled_until__lte=now,
    ).values_list("pk", flat=True)
    completed = sum(_auto_move(pk, now=now, start=False) for pk in list(to_complete))
    return TickCounts(started=started, completed=completed)
