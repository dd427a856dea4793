"""Database and cache settings read in a fresh process, as a server would load them."""

from tests.core.worlds import settings_in_a_fresh_process


def test_database_pool_false_with_a_plain_url_loads_without_a_pool():
    loaded = settings_in_a_fresh_process(
        DATABASE_URL="postgres://u@db.example:5432/app", DATABASE_POOL="false"
    )
    assert loaded["db"]["ENGINE"] == "statuspage.core.pgbackend"
    assert "pool" not in loaded["db"]["OPTIONS"]
    assert loaded["db"]["OPTIONS"]["connect_timeout"] == 2


def test_timeouts_come_from_the_environment():
    loaded = settings_in_a_fresh_process(
        DATABASE_URL="postgres://u@db.example:5432/app",
        DATABASE_POOL_TIMEOUT="0.25",
        DATABASE_CONNECT_TIMEOUT="3",
        REDIS_URL="redis://127.0.0.1:6379/0",
        REDIS_TIMEOUT_S="0.75",
    )
    assert loaded["db"]["OPTIONS"]["pool"]["timeout"] == 0.25
    assert loaded["db"]["OPTIONS"]["connect_timeout"] == 3
    assert loaded["cache"] == {"socket_connect_timeout": 0.75, "socket_timeout": 0.75}
