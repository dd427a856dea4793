"""CHECK_PRIVATE_TARGETS: its defaults per mode and the older boolean, read in a fresh
interpreter so the test run's own environment cannot hide a default."""

import pytest

from tests.core.worlds import PRODUCTION_ENV, python_runner, settings_in_fresh_process

POSTGRES = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused"}


@pytest.fixture
def python(tmp_path):
    return python_runner(tmp_path / "var")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (POSTGRES, ["private"]),
        ({}, ["private", "loopback"]),
        ({**POSTGRES, "DEBUG": "true"}, ["private", "loopback"]),
        ({**POSTGRES, "CHECK_ALLOW_PRIVATE_TARGETS": "true"}, ["private", "loopback"]),
        ({**POSTGRES, "CHECK_ALLOW_PRIVATE_TARGETS": "false"}, []),
        (
            {**POSTGRES, "CHECK_PRIVATE_TARGETS": "10.1.0.0/16, loopback"},
            ["10.1.0.0/16", "loopback"],
        ),
        ({"CHECK_PRIVATE_TARGETS": "", "CHECK_ALLOW_PRIVATE_TARGETS": "true"}, []),
    ],
    ids=["production", "embedded", "debug", "old-true", "old-false", "listed", "new-wins"],
)
def test_private_targets_default_by_mode_and_read_the_older_setting(python, env, expected):
    found = settings_in_fresh_process(python, ["CHECK_PRIVATE_TARGETS"], **PRODUCTION_ENV, **env)

    assert found["CHECK_PRIVATE_TARGETS"] == expected


def test_a_mistyped_allowlist_stops_the_process_at_start(python):
    result = python(
        "-c", "import django; django.setup()", **PRODUCTION_ENV, CHECK_PRIVATE_TARGETS="privat"
    )

    assert result.returncode != 0
    assert "CHECK_PRIVATE_TARGETS: 'privat' is neither 'private', 'loopback' nor a CIDR" in (
        result.stderr
    )
