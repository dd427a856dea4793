"""The settings the test suite runs with: the product's own, read from the environment.

Under pytest-xdist (``make test`` runs several test processes side by side) each process
gets, before the product's settings read the environment, a Redis database and a var/
folder of its own, so that one process clearing its cache, purging its queues or writing
its metrics files never touches another's. pytest-django gives each process its own test
database. Processes the tests start (a Celery worker, gunicorn) inherit the same
environment and so the same Redis database and folder.

    REDIS_URL=redis://127.0.0.1:6379/10 -> gw0: .../10, gw1: .../11, ...
    STATUSPAGE_VAR_DIR=<var>            -> gw0: <var>/xdist-gw0, ...
    PROMETHEUS_MULTIPROC_DIR=<dir>      -> gw0: <dir>/xdist-gw0, ...

Without xdist nothing changes.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
WORKER_ENV = "STATUSPAGE_TEST_WORKER"


def worker_number(worker: str) -> int:
    """'gw3' -> 3."""
    return int(worker.removeprefix("gw"))


def redis_url_for_worker(url: str, number: int) -> str:
    """The same server, the configured database number plus the worker's number."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + number
    if database > 15:
        raise RuntimeError(f"{url}: too few Redis databases for test process gw{number}")
    return urlunsplit(parts._replace(path=f"/{database}"))


def worker_environment(environ: dict[str, str], worker: str) -> dict[str, str]:
    """The variables that differ for test process ``worker`` (e.g. 'gw1')."""
    number = worker_number(worker)
    var_dir = Path(environ.get("STATUSPAGE_VAR_DIR") or BASE_DIR / "var")
    changed = {WORKER_ENV: worker, "STATUSPAGE_VAR_DIR": str(var_dir / f"xdist-{worker}")}
    # Set by the product's settings in the process that started the test processes (or by
    # hand): a subfolder each, else the settings derive it from the var/ folder above.
    if environ.get("PROMETHEUS_MULTIPROC_DIR"):
        changed["PROMETHEUS_MULTIPROC_DIR"] = str(
            Path(environ["PROMETHEUS_MULTIPROC_DIR"]) / f"xdist-{worker}"
        )
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if urlsplit(environ.get(name, "")).scheme in {"redis", "rediss"}:
            changed[name] = redis_url_for_worker(environ[name], number)
    return changed


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get(WORKER_ENV) != _worker:
    os.environ.update(worker_environment(dict(os.environ), _worker))
# Processes the tests start read the product's settings module, with the environment above.
os.environ["DJANGO_SETTINGS_MODULE"] = "statuspage.settings"

from statuspage.settings import *  # noqa: E402, F403
