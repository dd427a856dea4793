"""Config as code for the catalog: read a YAML file of teams and services and check it.

The file is read node by node (``yaml.compose``), so every problem names its line. Each kind
of object is described by a small schema table (YAML key -> Field); a section of a service
that another app owns, such as its ``checks:``, is registered by that app and read with its
own table (see ``sync_sections``), so the catalog never imports the apps built on it.

A key the file leaves out is not managed by the file: an existing object keeps its value and
a new one gets the model default. Objects the file does not mention are left alone.

1. ``parse_catalog``: text -> Catalog and the problems found in the file itself (pure);
2. ``check_references``: the Catalog against facts read from the database (pure);
3. ``load_catalog``: both, plus each registered section's own validation;
4. ``sync_plan.plan_catalog``: what would change, per object and field.

The parts: ``sync_schema`` (fields, reading nodes, problems), this module (the catalog's
tables and the parsed file), ``sync_sections`` (the extension point), ``sync_plan`` (the
plan) and ``selectors`` (the reads). The ``sync_catalog`` command writes through the
catalog services and the registered sections.
"""

from dataclasses import dataclass
from typing import Any

import yaml
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import URLValidator, validate_email, validate_slug

from statuspage.catalog import selectors
from statuspage.catalog.models import OwnerNote, Service, Team
from statuspage.catalog.sync_schema import (
    CatalogError,
    Field,
    Problem,
    Record,
    Ref,
    Schema,
    django_check,
    duplicates,
    int_range,
    read_record,
    text_field,
)
from statuspage.catalog.sync_sections import (
    SERVICE_SECTIONS,
    TEAM_SECTIONS,
    Section,
    section_handler,
)

# ---------------------------------------------------------------- schema tables

_email = django_check(validate_email, "{} is not a valid email address")
_slug = django_check(
    validate_slug, "{} is not a valid slug (letters, numbers, hyphens, underscores)"
)
_url = django_check(URLValidator(schemes=["http", "https"]), "{} is not a valid http(s) URL")
# PositiveIntegerField: PostgreSQL's integer, which SQLite would not enforce.
_position = int_range(0, 2_147_483_647)


def _single_line(value: str) -> str | None:
    # A link is stored as one line "Title https://url"; a newline would split it.
    return "must be a single line" if "\n" in value else None


LINK_SCHEMA: Schema = {
    "title": Field("text", check=_single_line),
    "url": Field("text", required=True, check=_url),
}
OWNER_NOTE_SCHEMA: Schema = {
    "expected_result": text_field(OwnerNote, "expected_result"),
    "rollback_note": text_field(OwnerNote, "rollback_note"),
    "runbook": text_field(OwnerNote, "runbook"),
    "links": Field("list", item=Field("record", schema=LINK_SCHEMA)),
}
TEAM_SCHEMA: Schema = {
    "name": text_field(Team, "name", required=True),
    "slug": text_field(Team, "slug", required=True, check=_slug),
    "contact_email": text_field(Team, "contact_email", check=_email),
    "chat_channel": text_field(Team, "chat_channel"),
    "escalation_note": text_field(Team, "escalation_note"),
    "members": Field("list", item=Field("text", required=True)),
}
SERVICE_SCHEMA: Schema = {
    "name": text_field(Service, "name", required=True),
    "slug": text_field(Service, "slug", required=True, check=_slug),
    "description": text_field(Service, "description"),
    "team": Field("text", required=True),
    "tier": text_field(Service, "tier"),
    "component_group": text_field(Service, "component_group"),
    "public": Field("bool", attr="is_public"),
    "public_name": text_field(Service, "public_name"),
    "public_description": text_field(Service, "public_description"),
    "paused": Field("bool", attr="is_paused"),
    "position": Field("int", attr="position", check=_position),
    "owner_notes": Field("record", schema=OWNER_NOTE_SCHEMA),
}


def service_schema() -> Schema:
    """The service table followed by the sections other apps registered."""
    taken = SERVICE_SECTIONS.keys() & SERVICE_SCHEMA.keys()
    if taken:
        raise ImproperlyConfigured(f"service sections clash with service fields: {taken}")
    sections = {key: handler.field for key, handler in SERVICE_SECTIONS.items()}
    return {**SERVICE_SCHEMA, **sections}


def team_schema() -> Schema:
    """The team table followed by the sections other apps registered."""
    return {**TEAM_SCHEMA, **{key: handler.field for key, handler in TEAM_SECTIONS.items()}}


def file_schema() -> Schema:
    return {
        "teams": Field("list", item=Field("record", schema=team_schema())),
        "services": Field("list", item=Field("record", schema=service_schema())),
    }


# ---------------------------------------------------------------- the parsed file


@dataclass(frozen=True)
class TeamSpec:
    slug: Ref
    name: Ref | None
    values: dict[str, Any]  # the Team attributes the file sets
    members: list[Ref] | None  # usernames; None: the file leaves membership alone
    sections: dict[str, Any]  # registered team section key -> what was read


@dataclass(frozen=True)
class ServiceSpec:
    slug: Ref
    team: Ref  # a team slug, from the file or the database
    values: dict[str, Any]  # the Service attributes the file sets, the team aside
    note: dict[str, str] | None  # the owner note fields the file sets; None: left alone
    sections: dict[str, Any]  # registered section key -> what was read; absent: left alone


@dataclass(frozen=True)
class Catalog:
    teams: list[TeamSpec]
    services: list[ServiceSpec]
    # Every service's team reference, also of services too broken to build, so that a
    # wrong team is reported together with everything else.
    team_refs: list[Ref]
    # Registered section key -> that section under every service that has it, also under
    # services too broken to build, for the same reason.
    sections: dict[str, list[Section]]


def parse_catalog(text: str) -> tuple[Catalog, list[Problem]]:
    """Read the file; return what it declares and every problem found in the file itself.

    Raises CatalogError only when the text is not YAML at all (there is no tree to check).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise CatalogError([_syntax_problem(error)]) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        message = f"invalid YAML: character #x{error.character:04x}: {error.reason}"
        raise CatalogError([Problem(line, "", message)]) from None
    if root is None:
        raise CatalogError([Problem(1, "", "the file is empty; expected teams: and services:")])
    problems: list[Problem] = []
    record = read_record(root, file_schema(), "", problems) or Record("", 1)
    team_records = [item.value for item in record.values.get("teams", [])]
    teams = [spec for item in team_records if (spec := _team(item))]
    service_records = [item.value for item in record.values.get("services", [])]
    services = [spec for item in service_records if (spec := _service(item))]
    team_refs = [ref for item in service_records if (ref := item.ref("team"))]
    sections = {
        key: [
            Section(service=item.ref("slug"), value=item.values[key])
            for item in service_records
            if key in item.values
        ]
        for key in SERVICE_SECTIONS
    }
    sections.update({
        key: [Section(service=item.ref("slug"), value=item.values[key])
              for item in team_records if key in item.values]
        for key in TEAM_SECTIONS
    })  # fmt: skip
    problems += duplicates([team.slug for team in teams])
    problems += duplicates([team.name for team in teams if team.name])
    problems += duplicates([service.slug for service in services])
    catalog = Catalog(teams=teams, services=services, team_refs=team_refs, sections=sections)
    return catalog, problems


def _syntax_problem(error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    message = f"invalid YAML: {error.problem}"
    if error.context:
        started = f" started at line {error.context_mark.line + 1}" if error.context_mark else ""
        message += f" ({error.context}{started})"
    return Problem(mark.line + 1 if mark else 1, "", message)


def _team(record: Record) -> TeamSpec | None:
    slug = record.ref("slug")
    if slug is None:
        return None  # already reported: nothing to refer to it by
    return TeamSpec(
        slug=slug,
        name=record.ref("name"),
        values=record.attrs(TEAM_SCHEMA),
        members=record.values.get("members"),
        sections={key: record.values[key] for key in TEAM_SECTIONS if key in record.values},
    )


def _service(record: Record) -> ServiceSpec | None:
    slug, team = record.ref("slug"), record.ref("team")
    if slug is None or team is None:
        return None
    notes = record.values.get("owner_notes")
    return ServiceSpec(
        slug=slug,
        team=team,
        values=record.attrs(SERVICE_SCHEMA),
        note=_note_values(notes) if notes else None,
        sections={key: record.values[key] for key in SERVICE_SECTIONS if key in record.values},
    )


def _note_values(record: Record) -> dict[str, str]:
    values = record.attrs(OWNER_NOTE_SCHEMA)
    if "links" in record.values:
        # OwnerNote.links holds one "Title https://url" per line (see models.parse_links).
        lines = []
        for item in record.values["links"]:
            title, url = item.value.values.get("title", ""), item.value.values.get("url", "")
            lines.append(f"{title} {url}" if title else url)
        values["links"] = "\n".join(lines)
    return values


# ---------------------------------------------------------------- against the database


@dataclass(frozen=True)
class Facts:
    """What the database holds that the file refers to."""

    usernames: frozenset[str]  # the users named in the file that exist
    team_names: dict[str, str]  # slug -> name of every team


def read_facts(catalog: Catalog) -> Facts:
    wanted = {ref.value for team in catalog.teams for ref in team.members or []}
    return Facts(usernames=selectors.usernames_existing(wanted), team_names=selectors.team_names())


def check_references(catalog: Catalog, facts: Facts) -> list[Problem]:
    problems = []
    in_file = {team.slug.value for team in catalog.teams}
    # Team names are unique; a team the file also names may be renamed in the same run.
    taken = {name: slug for slug, name in facts.team_names.items() if slug not in in_file}
    for team in catalog.teams:
        for ref in team.members or []:
            if ref.value not in facts.usernames:
                problems.append(Problem(ref.line, ref.path, f"no user with username {ref.value!r}"))
        if team.name and team.name.value in taken:
            holder = taken[team.name.value]
            message = f"{team.name.value!r} is already the name of team {holder!r}"
            problems.append(Problem(team.name.line, team.name.path, message))
    for ref in catalog.team_refs:
        if ref.value not in in_file and ref.value not in facts.team_names:
            message = f"no team {ref.value!r} in the file or the database"
            problems.append(Problem(ref.line, ref.path, message))
    return problems


def load_catalog(text: str) -> Catalog:
    """Parse the file and check it against the database; raise CatalogError naming them all.

    Registered sections validate themselves here too, so one run reports every problem.
    """
    catalog, problems = parse_catalog(text)
    problems += check_references(catalog, read_facts(catalog))
    for key, sections in catalog.sections.items():
        if sections:
            problems += section_handler(key).validate(sections)
    if problems:
        raise CatalogError(problems)
    return catalog
