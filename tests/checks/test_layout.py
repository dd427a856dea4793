"""The engine's layout: no import cycle inside checks/, and check kinds only in their registry.

Both are read from the source with ``ast``, so a cycle hidden in a function-level import
counts as much as one at the top of a module.
"""

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from checks.kinds import KINDS, CheckKind
from checks.models import Check

ROOT = Path(__file__).resolve().parents[2]
KINDS_DIR = ROOT / "checks" / "kinds"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(*packages: str) -> Iterator[Path]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that the file imports, wherever in the file it does."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            # "from checks.probes import http" imports the module checks.probes.http.
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module in known and module != name}


def import_graph(package: str) -> dict[str, set[str]]:
    paths = list(sources(package))
    known = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, known) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path of modules (first == last), or [] when there is none."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(module: str) -> list[str]:
        if module in stack:
            return [*stack[stack.index(module) :], module]
        if module in done:
            return []
        stack.append(module)
        for target in sorted(graph[module]):
            cycle = visit(target)
            if cycle:
                return cycle
        stack.pop()
        done.add(module)
        return []

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return []


def test_checks_has_no_import_cycle() -> None:
    graph = import_graph("checks")
    assert graph["checks.models"], "the import graph was not read"

    assert find_cycle(graph) == [], " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}

    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_every_kind_module_is_in_the_registry() -> None:
    registered = {type(kind).__module__ for kind in KINDS.values()}
    assert registered == {"checks.kinds.base"}
    modules = {kind_module(kind) for kind in KINDS.values()}
    for path in sorted(KINDS_DIR.glob("*.py")):
        if path.stem in ("__init__", "base"):
            continue
        module = importlib.import_module(module_name(path))
        assert isinstance(getattr(module, "KIND", None), CheckKind), f"{path.name} has no KIND"
        assert module.__name__ in modules, f"{path.name} is not registered in checks/kinds"


def kind_module(kind: CheckKind) -> str:
    for path in KINDS_DIR.glob("*.py"):
        module = importlib.import_module(module_name(path))
        if getattr(module, "KIND", None) is kind:
            return module.__name__
    return ""


def test_every_kind_name_fits_the_column_and_names_its_module() -> None:
    limit = Check._meta.get_field("kind").max_length
    for name, kind in KINDS.items():
        assert name == kind.name
        assert len(name) <= limit, f"kind {name!r} is longer than {limit} characters"
        assert kind_module(kind) == f"checks.kinds.{name}"


def kind_keyed(node: ast.AST) -> list[str]:
    """Kind names used as the keys of a mapping, or the values of a Literal."""
    if isinstance(node, ast.Dict):
        keys = node.keys
    elif isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "Literal":
        keys = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    elif isinstance(node, ast.ClassDef):
        # A class of constants named after the kinds (Kind.HTTP = "http").
        keys = [t for item in node.body if isinstance(item, ast.Assign) for t in item.targets]
    else:
        return []
    names = []
    for key in keys:
        if isinstance(key, ast.Constant) and key.value in KINDS:
            names.append(key.value)
        elif isinstance(key, ast.Attribute) and key.attr.lower() in KINDS:
            names.append(key.attr.lower())
        elif isinstance(key, ast.Name) and key.id.lower() in KINDS:
            names.append(key.id.lower())
    return names


def test_no_mapping_keyed_by_kind_names_outside_the_registry() -> None:
    found = []
    for path in sources("checks", "statuspage"):
        if path.is_relative_to(KINDS_DIR):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = kind_keyed(node)
            if len(set(names)) >= 2:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.append(f"{where}: keyed by kinds {', '.join(names)}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "CheckKind":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: a CheckKind made here")

    assert found == [], "kinds belong in checks/kinds:\n" + "\n".join(found)


def test_the_mapping_finder_finds_kind_keys() -> None:
    tree = ast.parse(
        'A = {"http": 1, "tcp": 2}\nB = {Kind.DNS: 1, Kind.TLS: 2}\n'
        'C: Literal["http", "heartbeat"]\nclass K:\n    HTTP = 1\n    TCP = 2\n'
        'D = {"url": 1, "http": 2}\n'
    )
    keyed = [kind_keyed(node) for node in ast.walk(tree)]

    assert sorted(names for names in keyed if len(set(names)) >= 2) == [
        ["dns", "tls"],
        ["http", "heartbeat"],
        ["http", "tcp"],
        ["http", "tcp"],
    ]
