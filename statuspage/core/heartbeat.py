"""Process heartbeats that /ready reads.

The scheduler records its own heartbeat on every tick; the worker's is recorded by the
periodic ``core.heartbeat`` task, so it proves the whole path beat -> broker -> worker.
Heartbeats live in the cache, which every process shares (Redis, or the file cache of the
embedded default).
"""

import time

from django.core.cache import cache

PARTS = ("worker", "scheduler")


def _key(part: str) -> str:
    return f"heartbeat:{part}"


def heartbeat_record(*, part: str, now: float | None = None) -> None:
    if part not in PARTS:
        raise ValueError(f"unknown heartbeat part {part!r}")
    cache.set(_key(part), now if now is not None else time.time(), timeout=24 * 3600)


def heartbeat_age(*, part: str, now: float | None = None) -> float | None:
    """Seconds since the part's last heartbeat, or None if it never sent one."""
    seen = cache.get(_key(part))
    if seen is None:
        return None
    return max(0.0, (now if now is not None else time.time()) - float(seen))
