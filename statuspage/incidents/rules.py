"""The lifecycle rules of incidents and maintenance, and the validation of their input.

Pure functions: services.py applies them under row locks; forms show their messages.

Incident lifecycle
------------------
1. An incident opens as investigating, identified, monitoring or resolved (a record made
   after the fact), never as postmortem.
2. While unresolved, any of investigating / identified / monitoring / resolved may follow
   any other: a fix that did not hold goes back to investigating.
3. A resolved incident takes further "resolved" notes (resolved_at stays), a postmortem, or
   an explicit reopen (``reopen=True``) to investigating / identified / monitoring, which
   clears resolved_at.
4. A postmortem follows only a resolved incident; after it come more postmortem notes or an
   explicit reopen.
5. Entering monitoring stamps monitoring_at, entering resolved stamps resolved_at.
6. Drafts take updates like published incidents; publishing shows the whole timeline. It is
   stamped once: publishing again changes nothing.
7. Affected services keep the component status the incident gave them after it resolves
   (history); only unresolved incidents put a service in that status.

Maintenance lifecycle
---------------------
1. scheduled -> in_progress -> verifying -> completed. A status may repeat (a note), move
   forward (skipping steps), or go back from verifying to in_progress (verification failed).
   Completed is final; completing a maintenance that never started cancels it.
2. Entering in_progress or verifying stamps started_at once; completed stamps completed_at.
3. The tick starts a scheduled maintenance with auto_start at scheduled_for and completes an
   in_progress or verifying one with auto_complete at scheduled_until. Automatic moves are
   stamped with the planned time, not with the moment the tick ran, so a late tick still
   records the window that was announced.
4. A window is scheduled ahead: it must end after it starts and after now (it may have
   begun already; with auto_start it then starts at once). With auto_complete on, a
   maintenance whose end has passed cannot be set running by hand (the tick would complete
   it at once): move its end or turn auto_complete off first.
5. The engine's maintenance windows follow every change: a scheduled maintenance with
   auto_start covers [scheduled_for, scheduled_until); a running one [started_at, open);
   a completed one [started_at, completed_at); one completed without starting, nothing.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.core.exceptions import ValidationError

from statuspage.catalog.models import Service
from statuspage.incidents.models import (
    ComponentStatus,
    Impact,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
)

MAX_BODY = 20_000
OPEN_STATUSES = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)
CLOSED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)
MAINTENANCE_ORDER = list(MaintenanceStatus)
# A maintenance in one of these is under way: its services show as under maintenance.
RUNNING_STATUSES = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
# How bad an impact is, least first: sorting and "the worst of a day" compare these.
IMPACT_SEVERITY = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}


def text_error(value: str, *, label: str, max_length: int) -> str | None:
    if not (value or "").strip():
        return f"{label} cannot be empty."
    if len(value) > max_length:
        return f"{label} is too long ({len(value)} characters; at most {max_length})."
    return None


def raise_errors(errors: dict[str, str | None]) -> None:
    found = {field: message for field, message in errors.items() if message}
    if found:
        raise ValidationError(found)


def choice_error(value: str, choices: Iterable[str], *, label: str) -> str | None:
    allowed = list(choices)
    if value not in allowed:
        return f"Unknown {label} {value!r}: use one of {', '.join(allowed)}."
    return None


def affected_error(affected: Mapping[Service, str] | None) -> str | None:
    for service, status in (affected or {}).items():
        if status not in ComponentStatus.values:
            return f"Unknown component status {status!r} for {service}."
    return None


def incident_transition_error(*, current: str, new: str, reopen: bool = False) -> str | None:
    """Why an update with status ``new`` may not follow ``current``; None when it may."""
    if new not in IncidentStatus.values:
        return choice_error(new, IncidentStatus.values, label="status")
    if current in OPEN_STATUSES:
        if new == IncidentStatus.POSTMORTEM:
            return "A postmortem can only follow a resolved incident."
        return None
    if new in CLOSED_STATUSES:
        if current == IncidentStatus.POSTMORTEM and new == IncidentStatus.RESOLVED:
            return "This incident has a postmortem: post a postmortem note or reopen it."
        return None
    if not reopen:
        return (
            f"This incident is {current}: to set it back to {new}, reopen it explicitly "
            "(tick “Reopen”)."
        )
    return None


def maintenance_transition_error(
    *, maintenance: Maintenance, new: str, now: datetime
) -> str | None:
    """Why a manual update with status ``new`` may not follow the maintenance's status."""
    if new not in MaintenanceStatus.values:
        return choice_error(new, MaintenanceStatus.values, label="status")
    current = maintenance.status
    if current == MaintenanceStatus.COMPLETED and new != current:
        return "This maintenance is completed: schedule a new one instead."
    back_to_work = current == MaintenanceStatus.VERIFYING and new == MaintenanceStatus.IN_PROGRESS
    if MAINTENANCE_ORDER.index(new) < MAINTENANCE_ORDER.index(current) and not back_to_work:
        was, to = MaintenanceStatus(current).label.lower(), MaintenanceStatus(new).label.lower()
        return f"A maintenance that is {was} cannot go back to {to}."
    if new in RUNNING_STATUSES and maintenance.auto_complete and maintenance.scheduled_until <= now:
        return (
            "The window has ended and this maintenance completes by itself: move its end "
            "or turn off automatic completion first."
        )
    return None


def window_errors(
    *, scheduled_for: datetime | None, scheduled_until: datetime | None, now: datetime
) -> dict[str, str | None]:
    if scheduled_for is None or scheduled_until is None:
        return {"scheduled_until": "Both the start and the end of the window are required."}
    if scheduled_until <= scheduled_for:
        return {"scheduled_until": "The window must end after it starts."}
    if scheduled_until <= now:
        return {"scheduled_until": "The window has already ended: schedule one that ends later."}
    return {}
