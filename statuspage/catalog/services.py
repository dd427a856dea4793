"""Every write to the catalog. The admin, management commands and the API call these.

A service's saves and deletes bump the status version: the public page reads services, and
one made private must leave it at once.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from statuspage.catalog.models import (
    Deployment,
    DeploymentSource,
    OwnerNote,
    Service,
    Team,
)
from statuspage.catalog.permissions import can_edit_owner_note
from statuspage.core.status_version import status_version_bump

security_log = logging.getLogger("statuspage.security")

OWNER_NOTE_FIELDS = ("expected_result", "rollback_note", "runbook", "links")


def _apply(instance: Any, values: dict[str, Any]) -> list[str]:
    """Set changed attributes; return the names of the fields that changed."""
    changed = []
    for field, value in values.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.append(field)
    return changed


def team_upsert(*, slug: str, values: dict[str, Any], reason: str = "") -> tuple[Team, str]:
    """Create or update a team by slug. Returns the team and 'created', 'updated' or 'same'."""
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        return team_save(team=Team(slug=slug, **values), reason=reason), "created"
    if not _apply(team, values):
        return team, "same"
    return team_save(team=team, reason=reason), "updated"


def team_save(*, team: Team, reason: str | None = None) -> Team:
    """Validate and store a new or edited team whose fields are already set.

    ``reason`` goes to the team's history; None leaves the history's reason empty.
    """
    if reason is not None:
        team._change_reason = reason
    team.full_clean()
    team.save()
    return team


def team_delete(*, team: Team) -> None:
    """Delete a team; its services protect it, so only a team without services goes."""
    team.delete()


def team_members_set(*, team: Team, users: list[AbstractBaseUser]) -> bool:
    """Make ``users`` exactly the team's members; returns whether membership changed.

    Membership grants editing of the team's owner notes, and the team's history does not
    record it (members are excluded there), so every change is written to the security log.
    """
    wanted = {user.pk for user in users}
    current = set(team.members.values_list("pk", flat=True))
    if wanted == current:
        return False
    team.members.set(users)
    security_log.info(
        "event=team.members_changed team=%s added=%s removed=%s",
        team.slug,
        ",".join(str(pk) for pk in sorted(wanted - current)) or "-",
        ",".join(str(pk) for pk in sorted(current - wanted)) or "-",
    )
    return True


def service_upsert(
    *, slug: str, team: Team, values: dict[str, Any], reason: str = ""
) -> tuple[Service, str]:
    """Create or update a service by slug; a new service gets empty owner notes."""
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        service = Service(slug=slug, team=team, **values)
        return service_save(service=service, reason=reason), "created"
    if not _apply(service, {"team_id": team.pk, **values}):
        return service, "same"
    return service_save(service=service, reason=reason), "updated"


@transaction.atomic
def service_save(*, service: Service, reason: str | None = None) -> Service:
    """Validate and store a new or edited service whose fields are already set.

    1. Validate the whole row (the admin's form has, sync_catalog's values have not).
    2. Save, with ``reason`` in the service's history (None leaves it empty).
    3. A new service gets empty owner notes, so every service has its note row.
    4. Bump the status version once the transaction commits.
    """
    created = service._state.adding
    if reason is not None:
        service._change_reason = reason
    service.full_clean()
    service.save()
    if created:
        OwnerNote.objects.create(service=service)
    status_version_bump()
    return service


@transaction.atomic
def service_delete(*, services: Iterable[Service]) -> int:
    """Delete services with their checks, notes and history of results; returns how many."""
    deleted = 0
    for service in services:
        service.delete()
        deleted += 1
    if deleted:
        status_version_bump()
    return deleted


@transaction.atomic
def owner_note_update(
    *,
    service: Service,
    editor: AbstractBaseUser | None,
    values: dict[str, str],
    reason: str = "",
) -> tuple[OwnerNote, list[str]]:
    """Change a service's owner notes; returns the note and the fields that changed.

    1. Check that ``editor`` may edit this service's notes (None: a trusted system
       caller such as ``sync_catalog``).
    2. Apply only the fields that differ; an unchanged note writes no history row.
    3. Save with the editor and reason recorded in the note's history, in one transaction
       with the history row, so no edit is kept without its who/when.
    4. Log the edit (who, which service, which fields, never the text).
    """
    if editor is not None and not can_edit_owner_note(editor, service):
        security_log.warning(
            "event=owner_note.denied user_id=%s service=%s", editor.pk, service.slug
        )
        raise PermissionDenied("you may only edit the owner notes of your own team's services")
    unknown = set(values) - set(OWNER_NOTE_FIELDS)
    if unknown:
        raise ValueError(f"unknown owner note fields: {sorted(unknown)}")
    note, _ = OwnerNote.objects.get_or_create(service=service)
    changed = _apply(note, values)
    if not changed:
        return note, []
    note.updated_by = editor
    note._history_user = editor
    note._change_reason = reason
    note.full_clean()
    note.save()
    security_log.info(
        "event=owner_note.updated user_id=%s service=%s fields=%s",
        editor.pk if editor else "-",
        service.slug,
        ",".join(changed),
    )
    return note, changed


@transaction.atomic
def deployment_record(
    *,
    service: Service,
    version: str,
    deployed_by: str,
    ref: str = "",
    deployed_at: datetime | None = None,
    reason: str = "",
    files_touched: str = "",
    command: str = "",
    expected_metric: str = "",
    source: str = DeploymentSource.ADMIN,
) -> Deployment:
    """Record a deployment (change record) of a service."""
    deployment = Deployment(
        service=service,
        version=version,
        ref=ref,
        deployed_at=deployed_at or timezone.now(),
        deployed_by=deployed_by,
        reason=reason,
        files_touched=files_touched,
        command=command,
        expected_metric=expected_metric,
        source=source,
    )
    return deployment_save(deployment=deployment)


def deployment_save(*, deployment: Deployment) -> Deployment:
    """Validate and store a new or corrected change record whose fields are already set."""
    deployment.full_clean()
    deployment.save()
    return deployment
