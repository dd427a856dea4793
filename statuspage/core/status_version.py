"""One number that changes whenever anything the public status page shows may have changed.

Writers (check transitions, incidents, maintenance, the services that save and delete
services and checks) call ``status_version_bump``; it bumps after their transaction
commits. Cached public pages include the version in their key, so a bump makes every
cached copy stale at once without knowing the keys.
Kept here, below every app, so the engine can signal without importing the web layer.
"""

import logging
import time

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger("statuspage.cache")

# Redis unreachable (redis-py's errors), or the file cache of the embedded default failing.
CACHE_DOWN = (RedisError, OSError)

KEY = "status:version"


def status_version() -> int:
    value = cache.get(KEY)
    if value is None:
        # A fresh cache starts from the clock, never from a number used before a flush.
        value = time.time_ns()
        cache.add(KEY, value, timeout=None)
        value = cache.get(KEY, value)
    return int(value)


def _bump() -> None:
    # Runs after the writer's commit: a cache that cannot be reached must not turn a
    # stored change into an error. Cached public copies then live out their short timeout.
    try:
        try:
            cache.incr(KEY)
        except ValueError:
            cache.set(KEY, time.time_ns(), timeout=None)
    except CACHE_DOWN as exc:
        logger.warning("event=status_version.bump_failed error=%s", type(exc).__name__)


def status_version_bump() -> None:
    """Bump the version once the current transaction commits (at once outside one)."""
    transaction.on_commit(_bump)
