"""A checkout marked by `make run` defaults to DEBUG; production still needs SECRET_KEY."""

import pytest

from statuspage.core.localrun import local_checkout, local_checkout_mark, marker_path
from tests.core.worlds import STRONG_KEY, settings_in_fresh_process


@pytest.fixture
def marked(tmp_path):
    local_checkout_mark(tmp_path / "var")
    return tmp_path / "var"


def test_marked_checkout_defaults_to_debug_with_a_generated_key(run_python, marked):
    values = settings_in_fresh_process(run_python, ["DEBUG", "SECRET_KEY"])
    assert values["DEBUG"] is True
    assert values["SECRET_KEY"] == (marked / "dev-secret-key").read_text().strip()


def test_manage_py_commands_run_in_a_marked_checkout_without_environment(run_python, marked):
    result = run_python("manage.py", "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_unmarked_checkout_still_refuses_a_missing_secret_key(run_python):
    result = run_python("manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_secret_key_turns_the_marker_off(run_python, marked):
    values = settings_in_fresh_process(run_python, ["DEBUG"], SECRET_KEY=STRONG_KEY)
    assert values["DEBUG"] is False


def test_a_database_url_turns_the_marker_off_and_the_key_is_required(run_python, marked):
    result = run_python(
        "manage.py", "check", DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_explicit_debug_false_wins_over_the_marker(run_python, marked):
    result = run_python("manage.py", "check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_marker_is_written_once_and_read_only_as_a_file(tmp_path):
    var = tmp_path / "var"
    assert not local_checkout(var, {})
    local_checkout_mark(var)
    local_checkout_mark(var)
    assert marker_path(var).is_file()
    assert local_checkout(var, {})
    assert not local_checkout(var, {"SECRET_KEY": "x"})
    assert not local_checkout(var, {"DATABASE_URL": "sqlite:///x"})
