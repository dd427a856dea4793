"""``manage.py sync_catalog FILE.yaml [--dry-run]``: teams, services and owner notes as code.

Parsing and checking live in ``statuspage.catalog.sync``, planning in ``sync_plan``; this
command reads the file, runs them in one transaction, writes through the catalog services
and reports. Sections of a service that other apps own (its ``checks:``) are written by the
handlers those apps registered (``sync_sections``); this command only calls them.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from statuspage.catalog import selectors
from statuspage.catalog.models import Team
from statuspage.catalog.services import (
    owner_note_update,
    service_upsert,
    team_members_set,
    team_upsert,
)
from statuspage.catalog.sync import Catalog, ServiceSpec, load_catalog
from statuspage.catalog.sync_plan import Plan, plan_catalog
from statuspage.catalog.sync_schema import CatalogError, Problem, Ref
from statuspage.catalog.sync_sections import SERVICE_SECTIONS, TEAM_SECTIONS, Change

# The services answer "created", "updated" or "same"; the plan speaks of actions.
_ACTIONS = {"created": "create", "updated": "update", "same": "unchanged"}


class Command(BaseCommand):
    help = (
        "Create or update teams, services, owner notes and the sections registered by other "
        "apps (such as checks) from a YAML file. Deletes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the catalog file, e.g. examples/catalog.yaml")
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would change and write nothing"
        )

    def handle(self, *args: Any, file: str, dry_run: bool, **options: Any) -> None:
        text = _read_text(file)
        # History rows keep the reason; its column holds 100 characters, so no full path.
        reason = f"sync_catalog {Path(file).name}"[:100]
        try:
            # One transaction around everything: any error rolls the whole run back.
            with transaction.atomic():
                catalog = load_catalog(text)
                plan = plan_catalog(catalog)
                tally = _tally(plan.changes) if dry_run else _apply(catalog, reason=reason)
        except CatalogError as error:
            raise CommandError(_problems(file, error)) from None
        if dry_run:
            for change in plan.changes:
                if change.action != "unchanged":
                    self.stdout.write(f"  {_describe(change)}")
        self.stdout.write(_summary(file, tally, plan, dry_run=dry_run))


def _read_text(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{file}: cannot be read: {error}") from None


def _problems(file: str, error: CatalogError) -> str:
    lines = [problem.format(file) for problem in error.problems]
    lines.append(f"{_count(len(error.problems), 'problem')} in {file}; nothing written")
    return "\n".join(lines)


def _apply(catalog: Catalog, *, reason: str) -> Counter[tuple[str, str]]:
    """Write the file through the services; returns what they did, counted like a plan."""
    tally: Counter[tuple[str, str]] = Counter()
    teams = _apply_teams(catalog, reason=reason, tally=tally)
    # Services may belong to teams that exist but that the file does not declare.
    elsewhere = {spec.team.value for spec in catalog.services} - set(teams)
    teams.update(selectors.teams_by_slug(elsewhere))
    for spec in catalog.services:
        with _problem_at(spec.slug):
            _apply_service(spec, team=teams[spec.team.value], reason=reason, tally=tally)
    return tally


def _apply_teams(
    catalog: Catalog, *, reason: str, tally: Counter[tuple[str, str]]
) -> dict[str, Team]:
    users = selectors.users_by_username(
        {ref.value for team in catalog.teams for ref in team.members or []}
    )
    teams: dict[str, Team] = {}
    for spec in catalog.teams:
        with _problem_at(spec.slug):
            team, outcome = team_upsert(slug=spec.slug.value, values=spec.values, reason=reason)
        if spec.members is not None:
            members = [users[ref.value] for ref in spec.members]
            if team_members_set(team=team, users=members) and outcome == "same":
                outcome = "updated"
        tally["team", _ACTIONS[outcome]] += 1
        teams[team.slug] = team
        for key, value in spec.sections.items():
            handler = TEAM_SECTIONS[key]
            for action in handler.apply(team=team, value=value, reason=reason):
                tally[handler.noun, action] += 1
    return teams


def _apply_service(
    spec: ServiceSpec, *, team: Team, reason: str, tally: Counter[tuple[str, str]]
) -> None:
    """The service, then its owner notes, then the sections other apps registered."""
    service, outcome = service_upsert(
        slug=spec.slug.value, team=team, values=spec.values, reason=reason
    )
    tally["service", _ACTIONS[outcome]] += 1
    if spec.note is not None:
        _, changed = owner_note_update(
            service=service, editor=None, values=spec.note, reason=reason
        )
        action = ("create" if outcome == "created" else "update") if changed else "unchanged"
        tally["owner notes", action] += 1
    for key, value in spec.sections.items():
        handler = SERVICE_SECTIONS[key]
        for action in handler.apply(service=service, value=value, reason=reason):
            tally[handler.noun, action] += 1


@contextmanager
def _problem_at(slug: Ref) -> Iterator[None]:
    """A model rule the file checks did not foresee becomes a problem at the object's line.

    Raised inside the transaction, so everything written before it is rolled back.
    """
    try:
        yield
    except ValidationError as error:
        problem = Problem(slug.line, slug.owner, " ".join(error.messages))
        raise CatalogError([problem]) from None


def _tally(changes: list[Change]) -> Counter[tuple[str, str]]:
    return Counter((change.kind, change.action) for change in changes)


def _describe(change: Change) -> str:
    """One plan line: "update service search-api: tier 'normal' -> 'high'"."""
    if change.action == "create":
        return f"create {change.kind} {change.slug}: {', '.join(change.fields)}"
    parts = []
    for name, (before, after) in change.fields.items():
        if isinstance(after, set):
            moves = [f"+{username}" for username in sorted(after - before)]
            moves += [f"-{username}" for username in sorted(before - after)]
            parts.append(f"members {' '.join(moves)}")
        else:
            parts.append(f"{name} {_short(before)} -> {_short(after)}")
    return f"update {change.kind} {change.slug}: {'; '.join(parts)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}...{text[-1]}"


def _summary(file: str, tally: Counter[tuple[str, str]], plan: Plan, *, dry_run: bool) -> str:
    others = [_count(number, f"other {noun}") for noun, number in plan.left_alone if number]
    left_alone = f"; {' and '.join(others)} not in the file left alone" if others else ""
    if not any(action != "unchanged" for _, action in tally):
        counts = ", ".join(_count(tally[kind, "unchanged"], kind) for kind, _ in plan.kinds)
        return f"No changes: {counts} already match {file}{left_alone}"
    created, updated = ("to create", "to update") if dry_run else ("created", "updated")
    parts = [
        f"{plural} {tally[kind, 'create']} {created}, {tally[kind, 'update']} {updated}, "
        f"{tally[kind, 'unchanged']} unchanged"
        for kind, plural in plan.kinds
    ]
    notes = tally["owner notes", "create"] + tally["owner notes", "update"]
    # Owner notes belong to the services; the sections' objects follow them.
    parts.insert(2, f"owner notes {notes} {updated}")
    head = f"Dry run of {file}, nothing written" if dry_run else f"Synced {file}"
    return f"{head}: {'; '.join(parts)}{left_alone}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
