"""One stack for the whole fault suite: starting it is the slowest part."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.faults.stack import Stack


@pytest.fixture(scope="session")
def stack():
    # Not under pytest's own temp folder: that one is private to root, and the private
    # PostgreSQL runs as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="statuspage-faults-"))
    os.chmod(folder, 0o755)  # noqa: S103 (readable by the postgres user)
    running = Stack(folder)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if os.environ.get("KEEP_FAULT_LOGS"):
            print(f"fault stack logs: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
