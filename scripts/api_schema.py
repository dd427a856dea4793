"""Schemathesis against the live API v1: /api/v1/openapi.json of a real gunicorn.

1. Create a fresh database beside DATABASE_URL's (``<name>_apischema``), migrate it, and
   add a team, a service, a heartbeat check, an active staff user and that user's API
   token with every scope.
2. Start gunicorn with the production settings on a free port.
3. Run schemathesis with the token, a bounded number of examples per operation and a
   fixed seed; its exit status is this script's.
4. Stop gunicorn and drop the database.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)
SETUP = """
import json
from checks.models import Kind
from statuspage.api.services import api_token_create
from statuspage.accounts.models import User
from statuspage.catalog.models import Service, Team
from checks.models import Check

team = Team.objects.create(slug="payments", name="Payments", contact_email="p@example.com")
service = Service.objects.create(slug="checkout-api", name="Checkout API", team=team)
Check.objects.create(service=service, name="nightly", kind=Kind.HEARTBEAT, config={},
                     interval_s=3600)
owner = User.objects.create_user("schema-owner", is_staff=True, is_active=True)
_, raw = api_token_create(team=team, name="schemathesis",
                          scopes=["deployments:write", "checks:write", "read"], created_by=owner)
print(json.dumps({"token": raw}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(url: str, sql: str) -> None:
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"error: {url} did not answer within {seconds:.0f}s")


def app_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The production settings on this database, with a private var/ and cache prefix."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATUSPAGE_VAR_DIR": str(var_dir),
        "CACHE_KEY_PREFIX": f"apischema-{os.getpid()}",
        # Fuzzing sends far more pings and requests than any client would.
        "PING_RATE_PER_MINUTE": "1000000",
    }
    env.pop("DEBUG", None)
    return env


def schemathesis_argv(base: str, token: str, args: argparse.Namespace) -> list[str]:
    return [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--generation-database",
        "none",
        "--no-color",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    started = time.monotonic()
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/statuspage")
    name = f"{urlsplit(server_url).path.lstrip('/') or 'statuspage'}_apischema"
    admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(server_url, f'CREATE DATABASE "{name}"')
    var_dir = Path(tempfile.mkdtemp(prefix="statuspage-apischema-"))
    env = app_env(with_database(server_url, name), var_dir)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True)
    out = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=BASE_DIR, env=env, check=True, capture_output=True
    )
    token = json.loads(out.stdout.decode().strip().splitlines()[-1])["token"]
    port = free_port()
    log = (var_dir / "gunicorn.log").open("wb")
    gunicorn = [sys.executable, "-m", "gunicorn", "statuspage.wsgi", "-w", "2", "--timeout", "60"]
    server = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/health", 30)
        print(f"api-schema: database and server ready in {time.monotonic() - started:.1f}s")
        # From the temporary folder: schemathesis keeps a cache where it runs.
        command = schemathesis_argv(base, token, args)
        code = subprocess.run(command, cwd=var_dir, check=False).returncode
        if code:
            log.flush()
            print((var_dir / "gunicorn.log").read_text()[-5000:], file=sys.stderr)
        return code
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
