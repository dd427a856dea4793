"""Schema tables for config-as-code files, and reading YAML nodes against them.

A schema table maps each YAML key of a mapping to a ``Field``: its kind, the model
attribute it sets, its limits and a check. ``read_record`` reads a composed node
(``yaml.compose``) against a table and records every problem with its line and path, so a
file is checked in full before anything is written. The catalog's own tables live in
``statuspage.catalog.sync``; other apps describe their service sections with the same
parts (see ``statuspage.catalog.sync_sections``).
"""

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from django.core.exceptions import ValidationError
from django.db import models
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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


# ---------------------------------------------------------------- fields


Check = Callable[[Any], str | None]  # returns a problem message, or None when fine


def django_check(validate: Callable[[str], None], problem: str) -> Check:
    """A check from a Django validator; ``problem`` is formatted with the value's repr."""

    def check(value: str) -> str | None:
        try:
            validate(value)
        except ValidationError:
            return problem.format(repr(value))
        return None

    return check


def int_range(low: int, high: int) -> Check:
    """A check that a number fits its column (PostgreSQL enforces it; SQLite would not)."""

    def check(value: int) -> str | None:
        return None if low <= value <= high else f"{value} is not between {low} and {high}"

    return check


@dataclass(frozen=True)
class Field:
    kind: Literal["text", "bool", "int", "number", "record", "list", "map"]
    attr: str | None = None  # the model attribute set from this key; None: the builder's job
    required: bool = False
    # An empty value ("key:" with nothing after it) reads as None instead of a problem.
    nullable: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    check: Check | None = None
    schema: dict[str, "Field"] | None = None  # the keys of a "record"
    item: "Field | None" = None  # the items of a "list", the values of a "map"


Schema = dict[str, Field]


def text_field(
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


# ---------------------------------------------------------------- read values


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
    lines: dict[str, int] = field(default_factory=dict)  # every key written, valid or not

    def ref(self, key: str) -> Ref | None:
        if key not in self.values:
            return None
        return Ref(self.values[key], self.lines[key], join(self.path, key))

    def attrs(self, schema: Schema) -> dict[str, Any]:
        """The model attributes this record sets, by the schema's ``attr`` names.

        The slug is left out: it finds the object and is never changed by the file.
        """
        return {
            spec.attr: self.values[key]
            for key, spec in schema.items()
            if spec.attr and spec.attr != "slug" and key in self.values
        }


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def duplicates(refs: list[Ref]) -> list[Problem]:
    """A problem for each value already used by an earlier one in ``refs``."""
    first_seen: dict[Any, Ref] = {}
    problems = []
    for ref in refs:
        first = first_seen.setdefault(ref.value, ref)
        if first is not ref:
            used = f"is already used by {first.owner} (line {first.line})"
            problems.append(Problem(ref.line, ref.path, f"{ref.value!r} {used}"))
    return problems


# ---------------------------------------------------------------- reading nodes


INVALID = object()  # what a reader returns for a value it reported as a problem
_TAG = "tag:yaml.org,2002:"
_NULL = _TAG + "null"
_SCALAR_TAGS = {
    "text": {_TAG + "str"},
    "bool": {_TAG + "bool"},
    "int": {_TAG + "int"},
    "number": {_TAG + "int", _TAG + "float"},
}
_EXPECTED = {
    "text": "text",
    "bool": "true or false",
    "int": "a whole number",
    "number": "a number",
}
_NAMES = {"str": "the text", "int": "the number", "float": "the number", "bool": "the boolean"}


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _describe(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if node.tag == _NULL:
        return "an empty value"
    kind = node.tag.removeprefix(_TAG)
    if kind == "str":
        return f"the text {node.value!r}"
    return f"{_NAMES.get(kind, kind)} {node.value}"


def read(node: Node, spec: Field, path: str, problems: list[Problem]) -> Any:
    """Read one value against its field; returns INVALID after recording the problem."""
    if spec.nullable and node.tag == _NULL:
        return None
    if spec.kind == "record":
        return read_record(node, spec.schema or {}, path, problems) or INVALID
    if spec.kind == "map":
        return _read_map(node, spec.item or Field("text"), path, problems)
    if spec.kind == "list":
        if node.tag == _NULL:
            return []  # "key:" with nothing after it: an explicit empty list
        if not isinstance(node, SequenceNode):
            problems.append(Problem(_line(node), path, f"expected a list, got {_describe(node)}"))
            return INVALID
        items = []
        for index, item_node in enumerate(node.value):
            item_path = f"{path}[{index}]"
            value = read(item_node, spec.item or Field("text"), item_path, problems)
            if value is not INVALID:
                items.append(Ref(value, _line(item_node), item_path))
        return items
    return _read_scalar(node, spec, path, problems)


def _read_scalar(node: Node, spec: Field, path: str, problems: list[Problem]) -> Any:
    if spec.kind == "text" and node.tag == _NULL:
        value: Any = ""  # "key:" with nothing after it: an explicit empty text
    elif isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS[spec.kind]:
        value = yaml.constructor.SafeConstructor().construct_object(node)
        if spec.kind == "number":
            value = float(value)
    else:
        expected = _EXPECTED[spec.kind]
        problems.append(Problem(_line(node), path, f"expected {expected}, got {_describe(node)}"))
        return INVALID
    if isinstance(value, str):
        # The admin's forms strip text too, so a value edited there still matches the file.
        value = value.strip()
    message = _scalar_problem(value, spec)
    if message:
        problems.append(Problem(_line(node), path, message))
        return INVALID
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


def _entries(
    node: MappingNode, path: str, problems: list[Problem]
) -> list[tuple[str, ScalarNode, Node]]:
    """The (key, key node, value node) pairs of a mapping; bad and repeated keys reported."""
    entries: list[tuple[str, ScalarNode, Node]] = []
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not (isinstance(key_node, ScalarNode) and key_node.tag == _TAG + "str"):
            merge = key_node.tag == _TAG + "merge"
            message = "merge keys (<<) are not supported" if merge else "keys must be text"
            problems.append(Problem(_line(key_node), path, message))
            continue
        key = key_node.value
        if key in seen:
            first = f"first at line {seen[key]}"
            problems.append(Problem(_line(key_node), join(path, key), f"duplicate key ({first})"))
            continue
        seen[key] = _line(value_node)
        entries.append((key, key_node, value_node))
    return entries


def read_record(node: Node, schema: Schema, path: str, problems: list[Problem]) -> Record | None:
    if not isinstance(node, MappingNode):
        problems.append(Problem(_line(node), path, f"expected a mapping, got {_describe(node)}"))
        return None
    record = Record(path=path, line=_line(node))
    for key, key_node, value_node in _entries(node, path, problems):
        record.lines[key] = _line(value_node)
        if key not in schema:
            problems.append(Problem(_line(key_node), join(path, key), unknown_key(key, schema)))
            continue
        value = read(value_node, schema[key], join(path, key), problems)
        if value is not INVALID:
            record.values[key] = value
    for key, spec in schema.items():
        if spec.required and key not in record.lines:
            problems.append(Problem(record.line, join(path, key), "required field is missing"))
    return record


def _read_map(node: Node, item: Field, path: str, problems: list[Problem]) -> Any:
    """A mapping with keys of the user's choosing (HTTP headers), each value read as ``item``."""
    if node.tag == _NULL:
        return {}
    if not isinstance(node, MappingNode):
        problems.append(Problem(_line(node), path, f"expected a mapping, got {_describe(node)}"))
        return INVALID
    values = {}
    for key, _, value_node in _entries(node, path, problems):
        value = read(value_node, item, join(path, key), problems)
        if value is not INVALID:
            values[key] = value
    return values


def unknown_key(key: str, schema: Schema) -> str:
    close = difflib.get_close_matches(key, list(schema), n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field; expected one of {', '.join(schema)}"
