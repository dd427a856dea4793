import pytest

from tests.core.worlds import python_runner


@pytest.fixture
def run_python(tmp_path):
    """The project's Python in a fresh process with a clean environment and a private var/."""
    return python_runner(tmp_path / "var")
