"""The plan of a catalog import: what would change, per object and field.

``plan_sync`` compares the file with a ``Snapshot`` of the database (pure) exactly as the
catalog services compare, so the dry run and the real run agree; ``plan_catalog`` adds the
plans of the registered service sections (see ``sync_sections``).
"""

from dataclasses import dataclass
from typing import Any

from statuspage.catalog import selectors
from statuspage.catalog.sync import (
    OWNER_NOTE_SCHEMA,
    SERVICE_SCHEMA,
    TEAM_SCHEMA,
    Catalog,
)
from statuspage.catalog.sync_schema import Schema
from statuspage.catalog.sync_sections import Change, section_handler


@dataclass(frozen=True)
class Snapshot:
    """The current state of the objects the file names, as plain values to compare with."""

    teams: dict[str, dict[str, Any]]  # slug -> attributes, and "members": set of usernames
    services: dict[str, dict[str, Any]]  # slug -> attributes, and "team": the team's slug
    notes: dict[str, dict[str, str]]  # service slug -> owner note fields
    unmentioned: int  # services that exist and the file does not name


def _attrs(schema: Schema) -> list[str]:
    return [spec.attr for spec in schema.values() if spec.attr]


def read_snapshot(catalog: Catalog) -> Snapshot:
    slugs = [service.slug.value for service in catalog.services]
    return Snapshot(
        teams=selectors.team_values(
            slugs=[team.slug.value for team in catalog.teams], attrs=_attrs(TEAM_SCHEMA)
        ),
        services=selectors.service_values(slugs=slugs, attrs=_attrs(SERVICE_SCHEMA)),
        notes=selectors.owner_note_values(slugs=slugs, fields=list(OWNER_NOTE_SCHEMA)),
        unmentioned=selectors.service_count_except(slugs=slugs),
    )


def plan_sync(catalog: Catalog, snapshot: Snapshot) -> list[Change]:
    """One Change per object the file declares, comparing exactly what the services compare."""
    changes = []
    for team in catalog.teams:
        after = dict(team.values)
        if team.members is not None:
            after["members"] = {ref.value for ref in team.members}
        changes.append(_change("team", team.slug.value, snapshot.teams.get(team.slug.value), after))
    empty_note = dict.fromkeys(OWNER_NOTE_SCHEMA, "")
    for service in catalog.services:
        slug = service.slug.value
        after = {**service.values, "team": service.team.value}
        changes.append(_change("service", slug, snapshot.services.get(slug), after))
        if service.note is not None:
            # A new service starts with empty notes, which the file then fills in.
            note = _change("owner notes", slug, snapshot.notes.get(slug, empty_note), service.note)
            if slug not in snapshot.services and note.fields:
                note = Change(note.kind, slug, "create", note.fields)
            changes.append(note)
    return changes


# Changes speak the file's language: "public", not the model's "is_public".
_FILE_KEYS = {
    spec.attr: key
    for schema in (TEAM_SCHEMA, SERVICE_SCHEMA, OWNER_NOTE_SCHEMA)
    for key, spec in schema.items()
    if spec.attr
}


def _change(kind: str, slug: str, before: dict[str, Any] | None, after: dict[str, Any]) -> Change:
    if before is None:
        fields = {_FILE_KEYS.get(attr, attr): (None, value) for attr, value in after.items()}
        return Change(kind, slug, "create", fields)
    fields = {
        _FILE_KEYS.get(attr, attr): (before[attr], value)
        for attr, value in after.items()
        if before[attr] != value
    }
    return Change(kind, slug, "update" if fields else "unchanged", fields)


@dataclass(frozen=True)
class Plan:
    changes: list[Change]  # the catalog's objects first, then each section's
    # What the summary counts, in order: (singular, plural) of every kind the file manages.
    kinds: list[tuple[str, str]]
    # (noun, how many) of each kind that exists in the database and the file does not name.
    left_alone: list[tuple[str, int]]


def plan_catalog(catalog: Catalog) -> Plan:
    """The whole plan: teams, services and owner notes, then the sections the file uses."""
    snapshot = read_snapshot(catalog)
    plan = Plan(
        changes=plan_sync(catalog, snapshot),
        kinds=[("team", "teams"), ("service", "services")],
        left_alone=[("service", snapshot.unmentioned)],
    )
    for key, sections in catalog.sections.items():
        if not sections:
            continue  # a file that never uses a section leaves it out of the summary
        handler = section_handler(key)
        section_plan = handler.plan(sections)
        plan.changes.extend(section_plan.changes)
        plan.kinds.append((handler.noun, f"{handler.noun}s"))
        plan.left_alone.append((handler.noun, section_plan.unmentioned))
    return plan
