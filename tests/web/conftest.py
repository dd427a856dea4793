"""Fixtures of the web tests."""

import pytest
from django.db import connections

from tests.web.public_worlds import closed_port


@pytest.fixture
def break_database(transactional_db):
    """break_database() points the default connection at a PostgreSQL port where nothing
    listens, through the connection pool as in production (with a one-second pool timeout
    instead of ten). The original settings come back before the test database is flushed.
    (SQLite's in-memory test database cannot be made unreachable: closing destroys it.)
    """
    connection = connections["default"]
    saved = {**connection.settings_dict, "OPTIONS": {**connection.settings_dict["OPTIONS"]}}

    def _close() -> None:
        connection.close()
        connection.close_pool()

    def _break() -> None:
        _close()
        connection.settings_dict["PORT"] = str(closed_port())
        pool = connection.settings_dict["OPTIONS"].get("pool")
        if isinstance(pool, dict):
            connection.settings_dict["OPTIONS"]["pool"] = {**pool, "timeout": 1}

    yield _break
    _close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)
