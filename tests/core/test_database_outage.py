"""PostgreSQL stopped under a real gunicorn: every endpoint answers within a second, then
everything recovers by itself when the server is back, with no restart.

A private PostgreSQL cluster (initdb + pg_ctl in a temporary folder, on a free port) is
stopped and started again; the machine's own server is never touched.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.core.live_stack import gunicorn, http, load_json, manage, private_postgres, stack_env

pytestmark = pytest.mark.postgres

BOUND_S = 1.0
RETRY_S = 2  # DATABASE_RETRY_S of the stack below

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from checks.models import Kind
from statuspage.api.services import api_token_create
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user

team = make_team("payments")
service = make_service("checkout-api", team=team)
job = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600,
                 grace_s=300, failures_before_down=1)
user = make_user("ops", superuser=True)
_, token = api_token_create(team=team, name="ci", scopes=["read"], created_by=user)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "statuspage.accounts.throttle.ThrottledModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"token": token, "ping": str(job.ping_uuid), "session": session.session_key}))
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outage")
    with private_postgres() as pg:
        env = stack_env(pg.url, folder / "var", DATABASE_RETRY_S=str(RETRY_S))
        manage(env, "migrate", "--noinput", "-v0")
        info = load_json(manage(env, "shell", "-c", SETUP))
        with gunicorn(env, folder / "gunicorn.log") as base:
            yield pg, base, info


def endpoints(base: str, info: dict) -> dict[str, tuple]:
    cookie = {"Cookie": f"sessionid={info['session']}"}
    bearer = {"Authorization": f"Bearer {info['token']}"}
    return {
        "api": ("GET", f"{base}/api/v1/services", bearer, None),
        "ping": ("POST", f"{base}/ping/{info['ping']}", {}, b"exit 0"),
        "team page": ("GET", f"{base}/", cookie, None),
        "admin": ("GET", f"{base}/admin/", cookie, None),
        "public page": ("GET", f"{base}/status/", {}, None),
        "summary.json": ("GET", f"{base}/api/v2/summary.json", {}, None),
        "health": ("GET", f"{base}/health", {}, None),
        "ready": ("GET", f"{base}/ready", {}, None),
    }


def call(spec: tuple):
    method, url, headers, body = spec
    return http(method, url, headers=headers, body=body)


def pings_stored(pg) -> int:
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=statuspage") as db:
        # Stored: waiting in the inbox, or already moved to the pings by a drain.
        query = (
            "SELECT (SELECT count(*) FROM checks_ping) + (SELECT count(*) FROM checks_pinginbox)"
        )
        return db.execute(query).fetchone()[0]


def assert_degraded(name: str, answer) -> None:
    status, headers, body, seconds = answer
    assert seconds < BOUND_S, f"{name} took {seconds:.2f}s"
    if name in ("api", "ping"):
        assert status == 503, (name, status, body[:200])
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["detail"] == "the database is unavailable; retry shortly"
        assert headers["Retry-After"] == "10"
    elif name in ("team page", "admin"):
        assert status == 503, (name, status, body[:200])
        assert headers["Content-Type"].startswith("text/html")
        assert b"cannot be reached right now" in body
        assert headers["Retry-After"] == "10"
    elif name in ("public page", "summary.json"):
        # From the cache while its copy lasts, then from the snapshot, marked stale.
        assert status == 200, (name, status, body[:200])
        assert headers.get("X-Status-Stale", "1") == "1"
    elif name == "health":
        assert status == 200
    else:
        assert status == 503
        assert "database" in json.loads(body)["failing"]


def test_every_endpoint_answers_within_a_second_while_postgres_is_down_then_recovers(stack):
    pg, base, info = stack
    specs = endpoints(base, info)
    for name, spec in specs.items():  # warm up: snapshots written, pool connections made
        status = call(spec)[0]
        assert status == normal(name), (name, status)
    assert pings_stored(pg) == 1

    pg.stop()
    slowest: dict[str, float] = {}
    for _ in range(3):
        for name, spec in specs.items():
            answer = call(spec)
            assert_degraded(name, answer)
            slowest[name] = max(slowest.get(name, 0.0), answer[3])
    # Many at once, as during an incident: sync workers must not queue behind waits.
    names = list(specs) * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda name: call(specs[name]), names))
    for name, answer in zip(names, answers, strict=True):
        assert_degraded(name, answer)
        slowest[name] = max(slowest.get(name, 0.0), answer[3])
    print("slowest answer while down:", {k: f"{v * 1000:.0f}ms" for k, v in slowest.items()})

    pg.start()
    started = time.monotonic()
    # Each gunicorn worker recovers on its own first connect after its retry window.
    accepted_pings = 0
    while True:
        statuses = {name: call(spec)[0] for name, spec in specs.items()}
        accepted_pings += statuses["ping"] == 200
        if all(status == normal(name) for name, status in statuses.items()):
            break
        assert time.monotonic() - started < 15, f"no recovery within 15 s: {statuses}"
        time.sleep(0.2)
    print(f"every endpoint normal {time.monotonic() - started:.2f}s after the server was back")
    # A worker whose last failed connect came just before the server returned keeps failing
    # fast until its retry window ends; past it, every worker must be back.
    time.sleep(max(0.0, started + RETRY_S + 0.5 - time.monotonic()))
    for _ in range(3):  # ...in every worker
        for name, spec in specs.items():
            status, headers, _, _ = call(spec)
            assert status == normal(name), (name, status)
            assert "X-Status-Stale" not in headers
    # Every ping answered 200 is stored: the warm-up's, the recovery's, the last three.
    assert pings_stored(pg) == 1 + accepted_pings + 3


def normal(name: str) -> int:
    return 503 if name == "ready" else 200  # /ready: no worker or beat runs here
