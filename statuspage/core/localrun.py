"""Local checkout mode: commands typed next to `make run` work without extra environment.

`make run` writes a marker file under the var folder. While it exists, and neither
``SECRET_KEY`` nor ``DATABASE_URL`` is set, ``DEBUG`` defaults to true, so
``manage.py seed_demo`` and friends reach the same embedded database with the same
generated key. Production sets ``SECRET_KEY`` (and usually ``DATABASE_URL``), never has
the marker (the var folder is not part of the image), and still refuses a missing key.

Imported by the settings module: nothing here may import Django.
"""

from collections.abc import Mapping
from pathlib import Path

MARKER_NAME = "local-checkout"
MARKER_TEXT = (
    "Written by `make run`: manage.py commands in this checkout default to DEBUG=true\n"
    "while SECRET_KEY and DATABASE_URL are unset. Delete this file to turn that off.\n"
)


def marker_path(var_dir: Path) -> Path:
    return var_dir / MARKER_NAME


def local_checkout(var_dir: Path, environ: Mapping[str, str]) -> bool:
    """Should DEBUG default to true? Only in a checkout `make run` has marked."""
    if environ.get("SECRET_KEY") or environ.get("DATABASE_URL"):
        return False
    return marker_path(var_dir).is_file()


def local_checkout_mark(var_dir: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    path = marker_path(var_dir)
    if not path.is_file():
        path.write_text(MARKER_TEXT)
