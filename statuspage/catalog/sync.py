"""Config as code for the catalog: read a YAML file of teams and services, check it, plan it.

The file is read node by node (``yaml.compose``), so every problem names its line. Each kind
of object is described by a small schema table (YAML key -> Field); a new section, such as a
service's checks, is a new table plus one entry in its parent's table and its builder.

A key the file leaves out is not managed by the file: an existing object keeps its value and
a new one gets the model default. Objects the file does not mention are left alone.

1. ``parse_catalog``: text -> Catalog and the problems found in the file itself (pure);
2. ``check_references``: the Catalog against facts read from the database (pure);
3. ``plan_sync``: what would change, per object and field, against a ``Snapshot`` (pure);

The writes go through the catalog services; the ``sync_catalog`` command calls them.
"""

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import models
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from statuspage.catalog.models import OwnerNote, Service, Team

# ---------------------------------------------------------------- problems


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    path: str  # e.g. "services[2].tier"; empty for the file as a whole
    message: str

    def format(self, filename: str) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{filename}:{self.line}: {where}{self.message}"


class CatalogError(Exception):
    """The file cannot be imported; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the catalog file")


# ---------------------------------------------------------------- schema tables


Check = Callable[[Any], str | None]  # returns a problem message, or None when fine


def _django_check(validate: Callable[[str], None], problem: str) -> Check:
    """A check from a Django validator; ``problem`` is formatted with the value's repr."""

    def check(value: str) -> str | None:
        try:
            validate(value)
        except ValidationError:
            return problem.format(repr(value))
        return None

    return check


_email = _django_check(validate_email, "{} is not a valid email address")
_slug = _django_check(
    validate_slug, "{} is not a valid slug (letters, numbers, hyphens, underscores)"
)
_url = _django_check(URLValidator(schemes=["http", "https"]), "{} is not a valid http(s) URL")


def _single_line(value: str) -> str | None:
    # A link is stored as one line "Title https://url"; a newline would split it.
    return "must be a single line" if "\n" in value else None


def _position(value: int) -> str | None:
    # PositiveIntegerField: PostgreSQL's integer, which SQLite would not enforce.
    return None if 0 <= value <= 2_147_483_647 else f"{value} is not between 0 and 2147483647"


@dataclass(frozen=True)
class Field:
    kind: Literal["text", "bool", "int", "record", "list"]
    attr: str | None = None  # the model attribute set from this key; None: the builder's job
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    check: Check | None = None
    schema: dict[str, "Field"] | None = None  # the keys of a "record"
    item: "Field | None" = None  # the items of a "list"


Schema = dict[str, Field]


def _text(
    model: type[models.Model], attr: str, *, required: bool = False, check: Check | None = None
) -> Field:
    """A text field whose limits (length, choices) come from the model, so they never drift."""
    model_field = model._meta.get_field(attr)
    choices = tuple(value for value, _ in model_field.choices or ())
    return Field(
        "text",
        attr=attr,
        required=required,
        max_length=model_field.max_length,
        choices=choices,
        check=check,
    )


LINK_SCHEMA: Schema = {
    "title": Field("text", check=_single_line),
    "url": Field("text", required=True, check=_url),
}
OWNER_NOTE_SCHEMA: Schema = {
    "expected_result": _text(OwnerNote, "expected_result"),
    "rollback_note": _text(OwnerNote, "rollback_note"),
    "runbook": _text(OwnerNote, "runbook"),
    "links": Field("list", item=Field("record", schema=LINK_SCHEMA)),
}
TEAM_SCHEMA: Schema = {
    "name": _text(Team, "name", required=True),
    "slug": _text(Team, "slug", required=True, check=_slug),
    "contact_email": _text(Team, "contact_email", check=_email),
    "chat_channel": _text(Team, "chat_channel"),
    "escalation_note": _text(Team, "escalation_note"),
    "members": Field("list", item=Field("text", required=True)),
}
SERVICE_SCHEMA: Schema = {
    "name": _text(Service, "name", required=True),
    "slug": _text(Service, "slug", required=True, check=_slug),
    "description": _text(Service, "description"),
    "team": Field("text", required=True),
    "tier": _text(Service, "tier"),
    "component_group": _text(Service, "component_group"),
    "public": Field("bool", attr="is_public"),
    "public_name": _text(Service, "public_name"),
    "public_description": _text(Service, "public_description"),
    "paused": Field("bool", attr="is_paused"),
    "position": Field("int", attr="position", check=_position),
    "owner_notes": Field("record", schema=OWNER_NOTE_SCHEMA),
}
FILE_SCHEMA: Schema = {
    "teams": Field("list", item=Field("record", schema=TEAM_SCHEMA)),
    "services": Field("list", item=Field("record", schema=SERVICE_SCHEMA)),
}

# ---------------------------------------------------------------- reading nodes


@dataclass(frozen=True)
class Ref:
    """A value from the file and where it was written."""

    value: Any
    line: int
    path: str

    @property
    def owner(self) -> str:
        """The object the value belongs to: "services[1]" for "services[1].slug"."""
        return self.path.rsplit(".", 1)[0]


@dataclass
class Record:
    """A mapping read against its schema; holds only the keys that were valid."""

    path: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)  # a "list" holds a list of Refs
    lines: dict[str, int] = field(default_factory=dict)

    def ref(self, key: str) -> Ref | None:
        if key not in self.values:
            return None
        return Ref(self.values[key], self.lines[key], _join(self.path, key))

    def attrs(self, schema: Schema) -> dict[str, Any]:
        """The model attributes this record sets, by the schema's ``attr`` names.

        The slug is left out: it finds the object and is never changed by the file.
        """
        return {
            spec.attr: self.values[key]
            for key, spec in schema.items()
            if spec.attr and spec.attr != "slug" and key in self.values
        }


_INVALID = object()
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {"text": _TAG + "str", "bool": _TAG + "bool", "int": _TAG + "int"}
_EXPECTED = {"text": "text", "bool": "true or false", "int": "a whole number"}
_NAMES = {"str": "the text", "int": "the number", "float": "the number", "bool": "the boolean"}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _describe(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if node.tag == _TAG + "null":
        return "an empty value"
    kind = node.tag.removeprefix(_TAG)
    if kind == "str":
        return f"the text {node.value!r}"
    return f"{_NAMES.get(kind, kind)} {node.value}"


def _read(node: Node, spec: Field, path: str, problems: list[Problem]) -> Any:
    """Read one value against its field; returns _INVALID after recording the problem."""
    if spec.kind == "record":
        return _read_record(node, spec.schema or {}, path, problems) or _INVALID
    if spec.kind == "list":
        if node.tag == _TAG + "null":
            return []  # "key:" with nothing after it: an explicit empty list
        if not isinstance(node, SequenceNode):
            problems.append(Problem(_line(node), path, f"expected a list, got {_describe(node)}"))
            return _INVALID
        items = []
        for index, item_node in enumerate(node.value):
            item_path = f"{path}[{index}]"
            value = _read(item_node, spec.item, item_path, problems)
            if value is not _INVALID:
                items.append(Ref(value, _line(item_node), item_path))
        return items
    return _read_scalar(node, spec, path, problems)


def _read_scalar(node: Node, spec: Field, path: str, problems: list[Problem]) -> Any:
    if spec.kind == "text" and node.tag == _TAG + "null":
        value: Any = ""  # "key:" with nothing after it: an explicit empty text
    elif isinstance(node, ScalarNode) and node.tag == _SCALAR_TAGS[spec.kind]:
        value = yaml.constructor.SafeConstructor().construct_object(node)
    else:
        expected = _EXPECTED[spec.kind]
        problems.append(Problem(_line(node), path, f"expected {expected}, got {_describe(node)}"))
        return _INVALID
    if isinstance(value, str):
        # The admin's forms strip text too, so a value edited there still matches the file.
        value = value.strip()
    message = _scalar_problem(value, spec)
    if message:
        problems.append(Problem(_line(node), path, message))
        return _INVALID
    return value


def _scalar_problem(value: Any, spec: Field) -> str | None:
    if spec.required and value == "":
        return "must not be empty"
    if spec.max_length and len(value) > spec.max_length:
        return f"is {len(value)} characters long, at most {spec.max_length} allowed"
    if spec.choices and value not in spec.choices:
        return f"{value!r} is not one of {', '.join(spec.choices)}"
    if spec.check and value != "":
        return spec.check(value)
    return None


def _read_record(node: Node, schema: Schema, path: str, problems: list[Problem]) -> Record | None:
    if not isinstance(node, MappingNode):
        problems.append(Problem(_line(node), path, f"expected a mapping, got {_describe(node)}"))
        return None
    record = Record(path=path, line=_line(node))
    for key_node, value_node in node.value:
        if not (isinstance(key_node, ScalarNode) and key_node.tag == _SCALAR_TAGS["text"]):
            merge = key_node.tag == _TAG + "merge"
            message = "merge keys (<<) are not supported" if merge else "keys must be text"
            problems.append(Problem(_line(key_node), path, message))
            continue
        key, key_path = key_node.value, _join(path, key_node.value)
        if key in record.lines:
            first = f"first at line {record.lines[key]}"
            problems.append(Problem(_line(key_node), key_path, f"duplicate key ({first})"))
            continue
        record.lines[key] = _line(value_node)
        if key not in schema:
            problems.append(Problem(_line(key_node), key_path, _unknown_key(key, schema)))
            continue
        value = _read(value_node, schema[key], key_path, problems)
        if value is not _INVALID:
            record.values[key] = value
    for key, spec in schema.items():
        if spec.required and key not in record.lines:
            problems.append(Problem(record.line, _join(path, key), "required field is missing"))
    return record


def _unknown_key(key: str, schema: Schema) -> str:
    close = difflib.get_close_matches(key, list(schema), n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field; expected one of {', '.join(schema)}"


# ---------------------------------------------------------------- the parsed file


@dataclass(frozen=True)
class TeamSpec:
    slug: Ref
    name: Ref | None
    values: dict[str, Any]  # the Team attributes the file sets
    members: list[Ref] | None  # usernames; None: the file leaves membership alone


@dataclass(frozen=True)
class ServiceSpec:
    slug: Ref
    team: Ref  # a team slug, from the file or the database
    values: dict[str, Any]  # the Service attributes the file sets, the team aside
    note: dict[str, str] | None  # the owner note fields the file sets; None: left alone


@dataclass(frozen=True)
class Catalog:
    teams: list[TeamSpec]
    services: list[ServiceSpec]
    # Every service's team reference, also of services too broken to build, so that a
    # wrong team is reported together with everything else.
    team_refs: list[Ref]


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
    record = _read_record(root, FILE_SCHEMA, "", problems) or Record("", 1)
    teams = [spec for item in record.values.get("teams", []) if (spec := _team(item.value))]
    service_records = [item.value for item in record.values.get("services", [])]
    services = [spec for item in service_records if (spec := _service(item))]
    team_refs = [ref for item in service_records if (ref := item.ref("team"))]
    problems += _duplicates([team.slug for team in teams])
    problems += _duplicates([team.name for team in teams if team.name])
    problems += _duplicates([service.slug for service in services])
    return Catalog(teams=teams, services=services, team_refs=team_refs), problems


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


def _duplicates(refs: list[Ref]) -> list[Problem]:
    first_seen: dict[Any, Ref] = {}
    problems = []
    for ref in refs:
        first = first_seen.setdefault(ref.value, ref)
        if first is not ref:
            used = f"is already used by {first.owner} (line {first.line})"
            problems.append(Problem(ref.line, ref.path, f"{ref.value!r} {used}"))
    return problems


# ---------------------------------------------------------------- against the database


@dataclass(frozen=True)
class Facts:
    """What the database holds that the file refers to."""

    usernames: frozenset[str]  # the users named in the file that exist
    team_names: dict[str, str]  # slug -> name of every team


def read_facts(catalog: Catalog) -> Facts:
    wanted = {ref.value for team in catalog.teams for ref in team.members or []}
    users = get_user_model().objects.filter(username__in=wanted)
    return Facts(
        usernames=frozenset(users.values_list("username", flat=True)),
        team_names=dict(Team.objects.values_list("slug", "name")),
    )


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
    """Parse the file and check it against the database; raise CatalogError naming them all."""
    catalog, problems = parse_catalog(text)
    problems += check_references(catalog, read_facts(catalog))
    if problems:
        raise CatalogError(problems)
    return catalog


# ---------------------------------------------------------------- the plan


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
    team_slugs = [team.slug.value for team in catalog.teams]
    slugs = [service.slug.value for service in catalog.services]
    teams = {
        row["slug"]: {**row, "members": set()}
        for row in Team.objects.filter(slug__in=team_slugs).values("slug", *_attrs(TEAM_SCHEMA))
    }
    memberships = Team.members.through.objects.filter(team__slug__in=team_slugs)
    for team_slug, username in memberships.values_list("team__slug", "user__username"):
        teams[team_slug]["members"].add(username)
    services = Service.objects.filter(slug__in=slugs)
    notes = OwnerNote.objects.filter(service__slug__in=slugs)
    return Snapshot(
        teams=teams,
        services={
            row["slug"]: {**row, "team": row["team__slug"]}
            for row in services.values("slug", "team__slug", *_attrs(SERVICE_SCHEMA))
        },
        notes={
            row.pop("service__slug"): row
            for row in notes.values("service__slug", *OWNER_NOTE_SCHEMA)
        },
        unmentioned=Service.objects.exclude(slug__in=slugs).count(),
    )


@dataclass(frozen=True)
class Change:
    kind: str  # "team", "service" or "owner notes"
    slug: str
    action: str  # "create", "update" or "unchanged"
    fields: dict[str, tuple[Any, Any]]  # name -> (before, after); before is None on create


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
