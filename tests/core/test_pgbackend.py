"""The fail-fast PostgreSQL backend: an unreachable server is not asked again until the
retry window is over; a busy pool is not mistaken for an unreachable server."""

import socket

import pytest
from django.db import OperationalError, connection

from statuspage.core.pgbackend import base as pgbackend

pytestmark = pytest.mark.postgres


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrapper(alias: str, **changes) -> pgbackend.DatabaseWrapper:
    options = {**connection.settings_dict["OPTIONS"], **changes.pop("OPTIONS", {})}
    return pgbackend.DatabaseWrapper(
        {**connection.settings_dict, "OPTIONS": options, **changes}, alias=alias
    )


@pytest.fixture
def closed_server(settings):
    settings.DATABASE_RETRY_S = 30
    port = str(_closed_port())
    db = wrapper("unreachable", HOST="127.0.0.1", PORT=port)
    yield db, port
    db.close_pool()
    pgbackend.reset()


@pytest.mark.django_db
def test_an_unreachable_server_fails_at_once_until_the_window_ends(closed_server, settings):
    db, port = closed_server
    with pytest.raises(OperationalError):
        db.ensure_connection()
    assert pgbackend.server_down_for("127.0.0.1", port) > 25
    with pytest.raises(OperationalError, match="marked unreachable for another"):
        db.ensure_connection()

    settings.DATABASE_RETRY_S = 0
    pgbackend.reset()
    with pytest.raises(OperationalError) as tried_again:
        db.ensure_connection()
    assert "marked unreachable" not in str(tried_again.value)


@pytest.mark.django_db
def test_after_the_window_a_server_that_is_back_is_used(settings):
    settings.DATABASE_RETRY_S = 0
    host = str(connection.settings_dict["HOST"] or "")
    port = str(connection.settings_dict["PORT"] or "")
    db = wrapper("recovering")
    with pgbackend._lock:  # as if an earlier connect had failed and the window ended
        pgbackend._down_until[(host, port)] = 0.0
    try:
        db.ensure_connection()
        assert db.is_usable()
        assert (host, port) not in pgbackend._down_until
    finally:
        db.close()
        db.close_pool()
        pgbackend.reset()


@pytest.mark.django_db
def test_a_busy_pool_is_not_taken_for_an_unreachable_server():
    if not connection.settings_dict["OPTIONS"].get("pool"):
        pytest.fail("the PostgreSQL settings are expected to pool connections")
    pool = {"min_size": 1, "max_size": 1, "timeout": 0.2}
    holder, waiter = wrapper("busy", OPTIONS={"pool": pool}), wrapper("busy")
    waiter.settings_dict["OPTIONS"]["pool"] = pool
    try:
        holder.ensure_connection()
        with pytest.raises(OperationalError):
            waiter.ensure_connection()  # the only connection is taken
        host = str(connection.settings_dict["HOST"] or "")
        port = str(connection.settings_dict["PORT"] or "")
        assert pgbackend.server_down_for(host, port) == 0
    finally:
        holder.close()
        holder.close_pool()
        pgbackend.reset()
