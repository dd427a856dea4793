"""The ``checks:`` section of each service in a ``sync_catalog`` file.

The catalog must not import the engine, so this section plugs into the catalog's import:
``ChecksConfig.ready`` registers ``ChecksSection`` with
``statuspage.catalog.sync_sections.register_service_section``, which makes ``checks`` a
field of every service and has the command call ``validate``, ``plan`` and ``apply`` here.

A check is written flat: the check's own fields and its kind's settings side by side::

    checks:
      - name: health
        kind: http
        url: https://checkout.internal.example/health
        conditions: ["ok == true"]
        interval: 30

The settings are those of the check's kind in the registry (``checks.kinds``), written
under their ``Setting.written`` key: a DNS check's ``name`` setting (the name to resolve)
is written ``domain``, since ``name`` names the check. ``kind`` is required: it decides
which settings apply.

Checks are found by (service, name). As in the rest of the file, a key left out keeps the
check's current value (a new check gets the model default); an empty setting
(``method:``) removes it, so the probe's default applies. Changing the kind drops the
settings the new kind does not take. Checks the file does not name are left alone.

Validation is ``checks.definitions.definition_errors``, the rule set of the admin and the
API, applied to each definition as it will be after the import (the current values or
defaults under the file's), with each message moved to the line of the key it is about.
Writes go through ``checks.services.check_upsert``, inside the command's transaction.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from checks.conditions import ConditionSyntaxError, parse_condition
from checks.definitions import FIELD_NAMES, definition_errors
from checks.kinds import KINDS, Setting
from checks.models import Check
from checks.sealing import config_masked
from checks.services import check_upsert
from statuspage.catalog.models import Service
from statuspage.catalog.sync_schema import (
    CatalogError,
    Field,
    Problem,
    Record,
    Ref,
    Schema,
    duplicates,
    int_range,
    join,
    text_field,
)
from statuspage.catalog.sync_sections import Change, Section, SectionPlan

# Column ranges of PostgreSQL's integer and smallint (PositiveIntegerField and
# PositiveSmallIntegerField), which SQLite would not enforce.
_INT = int_range(0, 2_147_483_647)
_SMALL = int_range(0, 32_767)


def _own(key: str, kind: str, **limits: Any) -> Field:
    """A field of the check itself, under the name the API gives it too."""
    return Field(kind, attr=FIELD_NAMES[key], **limits)


CHECK_SCHEMA: Schema = {
    "name": text_field(Check, "name", required=True),
    # No choices here: definition_errors reports an unknown kind, as it does in the admin.
    "kind": _own("kind", "text", required=True),
    "interval": _own("interval", "int", check=_INT),
    "timeout": _own("timeout", "number"),
    "degraded_ms": _own("degraded_ms", "int", nullable=True, check=_INT),
    "failures_before_down": _own("failures_before_down", "int", check=_SMALL),
    "successes_before_up": _own("successes_before_up", "int", check=_SMALL),
    "enabled": _own("enabled", "bool"),
    "paused": _own("paused", "bool"),
    "grace": _own("grace", "int", check=_INT),
    "cron": text_field(Check, "cron"),
    "locations": _own("locations", "list", nullable=True, item=Field("text")),
    "quorum": _own("quorum", "int", nullable=True, check=_SMALL),
}
_COLUMN_KEYS = {spec.attr: key for key, spec in CHECK_SCHEMA.items() if spec.attr}
_COLUMNS = [attr for attr in _COLUMN_KEYS if attr != "name"]


def _yaml_field(setting: Setting) -> Field:
    """How a kind's setting is read from the file; empty always means "remove it"."""
    items = {
        "int_list": Field("int", check=_INT),
        "text_list": Field("text"),
        "lines": Field("text", required=True),
    }
    if setting.type in items:
        return Field("list", attr=setting.key, nullable=True, item=items[setting.type])
    if setting.type == "map":
        return Field("map", attr=setting.key, nullable=True, item=Field("text"))
    kind = "text" if setting.type == "choice" else setting.type
    return Field(kind, attr=setting.key, nullable=True)


def setting_schema() -> Schema:
    """Every kind's settings: YAML key -> Field whose attr is the key in Check.config.

    Built when asked, from the registry, so the file always takes exactly its kinds.
    """
    schema: Schema = {}
    for kind in KINDS.values():
        for setting in kind.settings:
            schema.setdefault(setting.written, _yaml_field(setting))
    return schema


def _setting_keys() -> dict[str, str]:
    return {spec.attr: key for key, spec in setting_schema().items() if spec.attr}


class ChecksSection:
    """The handler ``sync_catalog`` calls for ``checks:`` (see statuspage.catalog.sync_sections)."""

    key = "checks"
    noun = "check"

    @property
    def field(self) -> Field:
        return Field("list", item=Field("record", schema={**CHECK_SCHEMA, **setting_schema()}))

    def validate(self, sections: list[Section]) -> list[Problem]:
        current = _current({section.service.value for section in sections if section.service})
        problems: list[Problem] = []
        for section, spec in _specs(sections):
            problems += spec.problems(current.get(spec.key(section)))
        for section in sections:
            names = [ref.value.ref("name") for ref in section.value]
            problems += duplicates([name for name in names if name])
        return problems

    def plan(self, sections: list[Section]) -> SectionPlan:
        current = _current({section.service.value for section in sections if section.service})
        changes = [
            spec.change(section, current.get(spec.key(section)))
            for section, spec in _specs(sections)
        ]
        named = sum(1 for change in changes if change.action != "create")
        return SectionPlan(changes=changes, unmentioned=Check.objects.count() - named)

    def apply(self, *, service: Service, value: list[Ref], reason: str) -> list[str]:
        current = _current({service.slug})
        actions = []
        for ref in value:
            spec = CheckSpec(ref.value)
            before = current.get((service.slug, spec.name))
            try:
                _, outcome = check_upsert(
                    service=service, name=spec.name, values=spec.values(before), reason=reason
                )
            except ValidationError as error:
                problem = Problem(spec.record.line, spec.record.path, " ".join(error.messages))
                raise CatalogError([problem]) from None
            actions.append({"created": "create", "updated": "update"}.get(outcome, "unchanged"))
        return actions


def _current(slugs: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(service slug, check name) -> the columns the file manages, of those services' checks."""
    rows = Check.objects.filter(service__slug__in=slugs).values(
        "service__slug", "name", "config", *_COLUMNS
    )
    return {(row.pop("service__slug"), row["name"]): row for row in rows}


def _specs(sections: list[Section]) -> Iterator[tuple[Section, "CheckSpec"]]:
    for section in sections:
        for ref in section.value:
            yield section, CheckSpec(ref.value)


@dataclass(frozen=True)
class CheckSpec:
    """One check as the file writes it."""

    record: Record

    @property
    def name(self) -> str:
        return self.record.values.get("name", "")

    @property
    def kind(self) -> str:
        return self.record.values.get("kind", "")

    def key(self, section: Section) -> tuple[str, str] | None:
        return (section.service.value, self.name) if section.service else None

    def columns(self) -> dict[str, Any]:
        """Model attribute -> value of the check's own fields the file sets, name included."""
        columns = self.record.attrs(CHECK_SCHEMA)
        if "locations" in columns:  # a list of Refs; empty or null: the default location
            columns["locations"] = [ref.value for ref in columns["locations"] or []]
        return columns

    def settings(self) -> dict[str, Any]:
        """Config key -> value the file sets (None: remove it), for the check's kind."""
        allowed = _allowed(self.kind)
        settings = {}
        for key, spec in setting_schema().items():
            if key in self.record.values and spec.attr in allowed:
                value = self.record.values[key]
                settings[spec.attr] = (
                    [ref.value for ref in value]
                    if spec.kind == "list" and value is not None
                    else value
                )
        return settings

    def values(self, before: dict[str, Any] | None) -> dict[str, Any]:
        """The model attributes after the import: the file's over the current ones."""
        config = dict(before["config"]) if before else {}
        if before and before["kind"] != self.kind:
            config = {k: v for k, v in config.items() if k in _allowed(self.kind)}
        for key, value in self.settings().items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        values = {attr: before[attr] for attr in _COLUMNS} if before else _defaults()
        values.update(self.columns())
        values.pop("name", None)
        return {**values, "config": config}

    # ------------------------------------------------------------ validation

    def problems(self, before: dict[str, Any] | None) -> list[Problem]:
        if self.kind not in KINDS:
            if "kind" not in self.record.values:
                return []  # already reported: a check needs its kind
            errors = definition_errors(kind=self.kind, config={}, interval_s=None, timeout_s=None)
            return [self._at("kind", message) for message in errors["kind"]]
        problems = self._foreign_settings()
        unread = self.record.lines.keys() - self.record.values.keys()
        if unread & (CHECK_SCHEMA.keys() | setting_schema().keys()):
            return problems  # a value was reported unreadable; judging without it would mislead
        after = self.values(before)
        errors = definition_errors(
            kind=self.kind,
            config=after["config"],
            interval_s=after["interval_s"],
            timeout_s=after["timeout_s"],
            degraded_ms=after["degraded_ms"],
            cron=after["cron"],
            failures_before_down=after["failures_before_down"],
            successes_before_up=after["successes_before_up"],
            locations=after["locations"],
            quorum=after["quorum"],
        )
        for attr, messages in errors.items():
            if attr == "config":
                for message in messages:
                    problems += self._config_problems(message)
            else:
                problems += [self._at(_COLUMN_KEYS.get(attr, attr), m) for m in messages]
        return problems

    def _foreign_settings(self) -> list[Problem]:
        allowed = _allowed(self.kind)
        schema = setting_schema()
        takes = ", ".join(key for key, spec in schema.items() if spec.attr in allowed)
        message = f"not a setting of {self.kind} checks; " + (
            f"they take {takes}" if takes else "they take none"
        )
        return [
            Problem(self.record.lines[key], join(self.record.path, key), message)
            for key, spec in schema.items()
            if key in self.record.lines and spec.attr not in allowed
        ]

    def _at(self, key: str, message: str) -> Problem:
        """A problem at a key's line, or at the check's line for a value the file left out."""
        line = self.record.lines.get(key, self.record.line)
        return Problem(line, join(self.record.path, key), message)

    def _config_problems(self, message: str) -> list[Problem]:
        """definition_errors puts settings' messages under "config"; find the setting meant."""
        if message.startswith("conditions: "):
            return [self._condition_problem(message.removeprefix("conditions: "))]
        if message.startswith("required setting(s) missing: "):
            missing = re.split(r", | and ", message.split(": ", 1)[1])
            keys = [_setting_keys().get(attr, attr) for attr in missing]
            return [self._at(key, "required field is missing") for key in keys]
        if message.startswith("target refused: "):
            return [self._at(_setting_keys()[KINDS[self.kind].target_setting], message)]
        named = _setting_named(message, _allowed(self.kind))
        if named is None:
            return [Problem(self.record.line, self.record.path, message)]
        return [self._at(_setting_keys()[named], message)]

    def _condition_problem(self, message: str) -> Problem:
        # The message does not say which condition failed: parse the file's conditions
        # again, with the same parser, to point at the line of the first bad one.
        for ref in self.record.values.get("conditions") or []:
            try:
                parse_condition(ref.value)
            except ConditionSyntaxError as error:
                return Problem(ref.line, ref.path, str(error))
        return self._at("conditions", message)

    # ------------------------------------------------------------ the plan

    def change(self, section: Section, before: dict[str, Any] | None) -> Change:
        slug = f"{section.service.value if section.service else '?'}/{self.name}"
        after = self.values(before)
        if before is None:
            fields = {
                _COLUMN_KEYS[attr]: (None, value)
                for attr, value in self.columns().items()
                if attr != "name"
            }
            fields.update(
                {
                    _setting_keys()[attr]: (None, _shown(attr, value))
                    for attr, value in self.settings().items()
                    if value is not None
                }
            )
            return Change("check", slug, "create", fields)
        fields = {
            _COLUMN_KEYS[attr]: (before[attr], after[attr])
            for attr in _COLUMNS
            if before[attr] != after[attr]
        }
        old, new = before["config"], after["config"]
        for attr, key in _setting_keys().items():
            if old.get(attr) != new.get(attr):
                fields[key] = (_shown(attr, old.get(attr)), _shown(attr, new.get(attr)))
        return Change("check", slug, "update" if fields else "unchanged", fields)


def _shown(attr: str, value: Any) -> Any:
    """A value as the plan prints it: header values and URL passwords never are."""
    if attr in ("headers", "url") and value is not None:
        return config_masked({attr: value})[attr]
    return value


def _defaults() -> dict[str, Any]:
    return {attr: Check._meta.get_field(attr).get_default() for attr in _COLUMNS}


def _allowed(kind: str) -> frozenset[str]:
    check_kind = KINDS.get(kind)
    return check_kind.keys if check_kind else frozenset()


def _setting_named(message: str, keys: frozenset[str]) -> str | None:
    """The setting a message speaks of first ("expected statuses must be ..."), if any."""
    found = []
    for key in keys:
        pattern = r"\b" + key.replace("_", "[_ ]") + r"\b"
        match = re.search(pattern, message, flags=re.IGNORECASE)
        if match:
            found.append((match.start(), key))
    return min(found)[1] if found else None
