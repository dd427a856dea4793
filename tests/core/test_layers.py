"""The one-way arrows between the apps, read from the source (docs/architecture.md).

Every module under statuspage/ and checks/ is parsed, never imported, so an import inside a
function or under TYPE_CHECKING counts as much as one at the top of the file.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("statuspage", "checks")

# Lower ranks sit underneath: an app may import only apps of a lower rank. Apps of equal
# rank are peers and do not import each other.
RANKS = {
    "core": 0,
    "accounts": 1,
    "catalog": 2,
    "checks": 3,
    "incidents": 4,
    "alerts": 5,
    "web": 6,
    "api": 6,
    "demo": 7,
    # settings, urls, the Celery app, wsgi/asgi: they wire every app together.
    "project": 8,
}

# (module file, imported app): imports that break the rule today, each with its reason.
ALLOWED = {
    ("statuspage/api/v2.py", "web"): (
        "the status-page JSON serves the public page's own selector and cache, which live "
        "in web, so that the page and the JSON cannot disagree on what is public"
    ),
}


def app_of(module: str) -> str | None:
    """The app a dotted module name belongs to; None outside the project."""
    parts = module.split(".")
    if parts[0] == "checks":
        return "checks"
    if parts[0] != "statuspage":
        return None
    if len(parts) > 1 and (ROOT / "statuspage" / parts[1]).is_dir():
        return parts[1]
    return "project"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in the source, relative ones made absolute."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - node.level + 1]
                found.append((node.lineno, ".".join([*base, node.module or ""]).rstrip(".")))
            else:
                found.append((node.lineno, node.module))
    return found


def upward_imports(path: Path, source: str) -> list[tuple[str, int, str, str]]:
    """(file, line, imported module, imported app) for each import that breaks the rule."""
    module = module_name(path)
    app = app_of(module)
    broken = []
    for line, name in imported_modules(source, module, path.name == "__init__.py"):
        target = app_of(name)
        if target is not None and target != app and RANKS[target] >= RANKS[app]:
            broken.append((str(path.relative_to(ROOT)), line, name, target))
    return broken


def project_modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_every_module_belongs_to_a_ranked_app():
    unranked = {
        str(path.relative_to(ROOT))
        for path in project_modules()
        if app_of(module_name(path)) not in RANKS
    }
    assert unranked == set(), "give the new app a rank in RANKS and in docs/architecture.md"


def test_no_app_imports_an_app_above_it_or_beside_it():
    broken = [
        f"{file}:{line} imports {name} ({target})"
        for path in project_modules()
        for file, line, name, target in upward_imports(path, path.read_text())
        if (file, target) not in ALLOWED
    ]
    assert broken == []


def test_every_allowed_exception_is_still_needed():
    seen = {
        (file, target)
        for path in project_modules()
        for file, _, _, target in upward_imports(path, path.read_text())
    }
    assert set(ALLOWED) - seen == set(), "remove the exceptions that no longer apply"


def test_an_upward_import_anywhere_in_a_module_is_found():
    source = (
        "from statuspage.core.sql import id_in\n"
        "def render():\n"
        "    from statuspage.web import public\n"
    )
    engine = ROOT / "checks" / "runner.py"
    assert upward_imports(engine, source) == [("checks/runner.py", 3, "statuspage.web", "web")]


def test_a_relative_import_is_resolved_before_it_is_judged():
    catalog = ROOT / "statuspage" / "catalog" / "services.py"
    assert upward_imports(catalog, "from ..incidents import services\n") == [
        ("statuspage/catalog/services.py", 1, "statuspage.incidents", "incidents")
    ]
    assert upward_imports(catalog, "from .models import Service\n") == []
