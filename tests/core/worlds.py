"""Helpers shared by the tests in tests/core: settings read in a fresh interpreter, and a
browser's sign-in against a real server."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

from tests.reverse_proxy import Reply, call

BASE_DIR = Path(__file__).resolve().parent.parent.parent
STRONG_KEY = "Qm7vR2xK9pLw4sTz8bNc3hYf6jUe1gDa5oViXq0rMk7nHs2PtW4c"
PRODUCTION_ENV = {"SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "status.example.com"}
PRINT_SETTINGS = (
    "import json, sys, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: getattr(settings, name) for name in sys.argv[1:]}, default=str))"
)
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# A server started by a test verifies passwords with its own (production) hashers.
REAL_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def python_runner(var_dir: Path):
    """Run the project's Python with only the given variables (plus a private var/ dir)."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        clean = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "statuspage.settings",
            "STATUSPAGE_VAR_DIR": str(var_dir),
            **env,
        }
        return subprocess.run(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def settings_in_fresh_process(run_python, names: list[str], **env: str) -> dict:
    """The named settings as a fresh interpreter with a clean environment loads them."""
    result = run_python("-c", PRINT_SETTINGS, *names, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def settings_in_a_fresh_process(**env: str) -> dict:
    """Database and cache settings as a server loads them: this environment plus `env`."""
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps({'db': settings.DATABASES['default'], "
        "'cache': settings.CACHES['default'].get('OPTIONS', {})}, default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "statuspage.settings", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sign_in(port: int, username: str, password: str, *, source: str, **headers: str) -> Reply:
    """A browser's sign-in: the form (for its CSRF token), then the post."""
    page = call(port, "GET", "/accounts/login/", source=source, headers=headers)
    token = CSRF_FIELD.search(page.body).group(1).decode()
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
    return call(
        port, "POST", "/accounts/login/", source=source, body=urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={page.cookies()['csrftoken']}",
            **headers,
        },
    )  # fmt: skip


def signed_in(reply: Reply) -> bool:
    return reply.status == 302 and "sessionid" in reply.cookies()
