import os

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from tests.factories import make_service, make_team, make_user


def pytest_configure(config):
    """The fault suite (tests/faults, `make test-faults`) starts its own stack and takes
    minutes: a plain run leaves it out unless a marker expression is given."""
    config.addinivalue_line("markers", "faults: starts a private stack and injects faults")
    if not config.option.markexpr:
        config.option.markexpr = "not faults"


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only and Redis-only tests are skipped, with the reason, elsewhere.

    Browser tests run last: Playwright keeps an event loop running in the main thread for
    the rest of the session, and the probe tests start event loops of their own.
    """
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql"))
    on_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)"))
        if "redis" in item.keywords and not on_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis (REDIS_URL)"))


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Hashing test users' passwords at full strength costs about half a second each."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _held_ping_connections():
    """Ping requests outside a transaction keep a connection per thread: closed after each
    test, so none is left open on a test database that is about to be dropped."""
    yield
    from checks.ping_intake import held_close_all

    held_close_all()


@pytest.fixture(autouse=True)
def _clean_cache(tmp_path):
    """Each test starts with an empty cache (a dedicated Redis database in `make test`),
    no public page copies, past days or rate counts in this process, and a snapshot folder
    of its own. Not through the ``settings`` fixture: a test's own settings (a cache server
    made unreachable) must be undone before the cache is cleared."""
    from statuspage.core import counters
    from statuspage.web.public_cache import local_clear

    with override_settings(STATUS_SNAPSHOT_DIR=tmp_path / "snapshots"):
        cache.clear()
        local_clear()
        counters.local_clear()
        yield
        cache.clear()
        local_clear()
        counters.local_clear()


@pytest.fixture
def db_vendor(db) -> str:
    return connection.vendor


@pytest.fixture
def team(db):
    return make_team("payments")


@pytest.fixture
def other_team(db):
    return make_team("search")


@pytest.fixture
def service(team):
    return make_service("checkout-api", team=team)


@pytest.fixture
def other_service(other_team):
    return make_service("search-api", team=other_team)


@pytest.fixture
def admin_user(db):
    return make_user("root-admin", superuser=True)


@pytest.fixture
def editor(team):
    user = make_user("erin", role="Editors")
    team.members.add(user)
    return user


@pytest.fixture
def viewer(db):
    return make_user("vic")
