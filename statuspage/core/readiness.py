"""What /ready checks: each part answers (ok, detail) on its own, with a short timeout."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

from statuspage.core.heartbeat import heartbeat_age


@dataclass(frozen=True)
class PartStatus:
    ok: bool
    detail: str


def _database() -> PartStatus:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return PartStatus(False, f"database unreachable: {type(exc).__name__}")
    return PartStatus(True, connection.vendor)


def _cache() -> PartStatus:
    probe = uuid.uuid4().hex
    try:
        cache.set("ready:probe", probe, timeout=30)
        if cache.get("ready:probe") != probe:
            return PartStatus(False, "cache did not return what was written")
    except Exception as exc:
        return PartStatus(False, f"cache unreachable: {type(exc).__name__}")
    return PartStatus(True, settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])


def _broker() -> PartStatus:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("filesystem", "safefs")):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir():
            return PartStatus(False, f"broker folder missing: {folder.name}")
        return PartStatus(True, "filesystem")
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return PartStatus(False, f"broker unreachable: {type(exc).__name__}")
    return PartStatus(True, url.split(":", 1)[0])


def _heartbeat(part: str) -> PartStatus:
    limit = settings.READY_HEARTBEAT_MAX_AGE_S
    try:
        age = heartbeat_age(part=part)
    except Exception as exc:
        return PartStatus(False, f"heartbeat unreadable: {type(exc).__name__}")
    if age is None:
        return PartStatus(False, f"no {part} heartbeat yet")
    if age > limit:
        return PartStatus(False, f"last {part} heartbeat {age:.0f}s ago (limit {limit}s)")
    return PartStatus(True, f"last heartbeat {age:.0f}s ago")


# Parts that apps built on this one add (the notification outbox), by name; each is
# registered in its app's AppConfig.ready, since this module cannot import them.
EXTRA_PARTS: dict[str, Callable[[], PartStatus]] = {}


def readiness_report() -> dict[str, PartStatus]:
    report = {
        "database": _database(),
        "cache": _cache(),
        "broker": _broker(),
        "worker": _heartbeat("worker"),
        "scheduler": _heartbeat("scheduler"),
    }
    for name, part in EXTRA_PARTS.items():
        report[name] = part()
    return report
