"""Database and cache settings read in a fresh process, as a server would load them."""

import json
import os
import subprocess
import sys

from django.conf import settings as django_settings


def settings_in_a_fresh_process(**env: str) -> dict:
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps({'db': settings.DATABASES['default'], "
        "'cache': settings.CACHES['default'].get('OPTIONS', {})}, default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "statuspage.settings", **env},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
