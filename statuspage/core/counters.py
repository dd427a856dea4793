"""Counters behind rate limits and sign-in throttling: Redis first, this process if not.

Counts live in the shared cache (Redis in production), so every web process sees the same
numbers (the pings' limits with a short delay: each process adds its counts in batches,
``rates_exceeded``). A ping or a sign-in must not fail because Redis is away while
PostgreSQL is up, so when the cache raises, the count is kept in this process instead, and
Redis is left alone for ``RETRY_S`` so that an outage costs one short timeout per process,
not one per request. While Redis is away each process counts for itself, so a limit holds per
process (a client spread over N processes gets up to N times the limit); when Redis is
back, counting continues there.
"""

import hashlib
import logging
import math
import os
import threading
import time

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import NoScriptError, RedisError

log = logging.getLogger(__name__)

# How long the cache is left alone after it failed.
RETRY_S = 5.0
# Past this many local keys, expired ones are dropped on the next count.
LOCAL_PRUNE_AT = 10_000

_lock = threading.Lock()
_local: dict[str, tuple[int, float]] = {}  # key -> (count, expires at, epoch seconds)
_cache_down_until = 0.0


def _store():
    alias = "counters" if "counters" in settings.CACHES else "default"
    return caches[alias]


def _cache_usable() -> bool:
    return time.monotonic() >= _cache_down_until


def _cache_failed(exc: Exception) -> None:
    global _cache_down_until
    if _cache_usable():
        log.warning("event=counters.fallback error=%s retry_s=%s", type(exc).__name__, RETRY_S)
    _cache_down_until = time.monotonic() + RETRY_S


# --- in-process counts --------------------------------------------------------------


def _local_add(key: str, window_s: float, now: float) -> tuple[int, float]:
    with _lock:
        count, ends = _local.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_s
        _local[key] = (count + 1, ends)
        if len(_local) > LOCAL_PRUNE_AT:
            for stale in [k for k, (_, end) in _local.items() if end <= now]:
                del _local[stale]
        return count + 1, ends


def _local_get(key: str, now: float) -> int:
    with _lock:
        count, ends = _local.get(key, (0, 0.0))
    return count if ends > now else 0


def local_clear() -> None:
    """Forget every in-process count and retry the cache at once (tests, a restart)."""
    global _cache_down_until
    with _lock:
        _local.clear()
    _shared_clear()
    _cache_down_until = 0.0


# --- in the cache -------------------------------------------------------------------


def _cache_add(key: str, window_s: int, now: float) -> int:
    """One more under ``key``; the window runs from the first count.

    The count goes up with the cache's atomic incr, so concurrent requests all count. Not
    every cache keeps a key's expiry on incr (the file cache of the embedded default resets
    it to its default timeout), so the window's end is kept beside the count and the
    count's expiry is set from it again after each increment.
    """
    store = _store()
    if store.add(key, 1, timeout=window_s):
        store.set(f"{key}:ends", now + window_s, timeout=window_s)
        return 1
    try:
        count = store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=window_s)
        store.set(f"{key}:ends", now + window_s, timeout=window_s)
        return 1
    ends = store.get(f"{key}:ends") or now + window_s
    store.touch(key, max(1, math.ceil(ends - now)))
    return count


def _cache_hit(key: str, timeout: int) -> int:
    """One more under a key that names its own fixed window: its expiry is only cleanup."""
    store = _store()
    if store.add(key, 1, timeout=timeout):
        return 1
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=timeout)
        return 1


# --- the counters -------------------------------------------------------------------


def window_count(key: str, *, window_s: int) -> int:
    """Count one event under ``key`` and return the count in its window.

    The window starts at the key's first event and lasts ``window_s`` seconds.
    """
    now = time.time()
    if _cache_usable():
        try:
            return _cache_add(key, window_s, now)
        except (RedisError, OSError) as exc:
            _cache_failed(exc)
    return _local_add(key, window_s, now)[0]


def window_peek(key: str) -> int:
    """The count under ``key`` in its current window (0 if none), without counting."""
    now = time.time()
    if _cache_usable():
        try:
            return int(_store().get(key) or 0)
        except (RedisError, OSError) as exc:
            _cache_failed(exc)
    return _local_get(key, now)


def window_clear(key: str) -> None:
    """Forget the count under ``key`` (both in the cache and in this process)."""
    with _lock:
        _local.pop(key, None)
    if _cache_usable():
        try:
            _store().delete_many([key, f"{key}:ends"])
        except (RedisError, OSError) as exc:
            _cache_failed(exc)


def rate_exceeded(*, key: str, limit: int, window_s: int = 60) -> int | None:
    """Count one request under ``key``; return seconds to wait if over ``limit``, else None.

    Fixed windows aligned on the clock: the key of each window carries its number.
    """
    now = time.time()
    window = int(now // window_s)
    counter_key = f"rate:{key}:{window}"
    count = None
    if _cache_usable():
        try:
            count = _cache_hit(counter_key, window_s * 2)
        except (RedisError, OSError) as exc:
            _cache_failed(exc)
    if count is None:
        count = _local_add(counter_key, (window + 1) * window_s - now, now)[0]
    if count > limit:
        return window_s - int(now) % window_s
    return None


# Each key: start its window's count at 0 unless it exists (expiring after two windows,
# like _cache_hit's add), then add this process's count. One command for every key, run
# atomically by Redis; it returns each key's total.
_COUNT_SCRIPT = """
local totals = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
  totals[i] = redis.call('INCRBY', key, ARGV[i + 1])
end
return totals
"""

_COUNT_SHA = hashlib.sha1(_COUNT_SCRIPT.encode()).hexdigest().encode()  # noqa: S324 (Redis' name)


class _Held(threading.local):
    """Each thread's own connection to the counters' Redis, taken from the cache's pool
    once and kept: the call below is one request and one reply on it, without the pool
    and command layers of redis-py around each call."""

    connection = None
    store = None
    pid = 0


_held = _Held()


def _is_redis(store) -> bool:
    return callable(getattr(getattr(store, "_cache", None), "get_client", None))


def _redis_connection(store):
    """This thread's connection to the Redis cache ``store``."""
    if _held.connection is not None and _held.store is store and _held.pid == os.getpid():
        return _held.connection
    _redis_drop()
    _held.connection = store._cache.get_client(write=True).connection_pool.get_connection()
    _held.store, _held.pid = store, os.getpid()
    return _held.connection


def _redis_drop() -> None:
    """Forget this thread's connection (after an error: the next call takes a new one)."""
    held, _held.connection = _held.connection, None
    if held is not None:
        held.disconnect()


def _command(*parts: bytes) -> bytes:
    """One command in Redis' wire format."""
    return b"".join(
        [b"*%d\r\n" % len(parts), *(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)]
    )


def _redis_count(connection, counts: dict[str, int], ttl: int) -> list[int]:
    """Add ``counts`` to their keys with the counting script on ``connection``, by its
    digest, or by its text when this Redis does not know it yet (a restart empties its
    script cache); return the keys' totals."""
    tail = [
        str(len(counts)).encode(),
        *(key.encode() for key in counts),
        str(ttl).encode(),
        *(str(n).encode() for n in counts.values()),
    ]
    try:
        connection.send_packed_command([_command(b"EVALSHA", _COUNT_SHA, *tail)], False)
        return connection.read_response()
    except NoScriptError:
        connection.send_packed_command([_command(b"EVAL", _COUNT_SCRIPT.encode(), *tail)], False)
        return connection.read_response()


# --- rate limits counted here, shared through Redis in batches ------------------------
#
# Pings come at machine rate, and a Redis round trip for each would cost a ping about as
# much CPU as the rest of its request. So ``rates_exceeded`` counts in this process and
# adds its counts to Redis at most every PING_RATE_SHARE_S seconds, in one script call
# that returns the totals. In between, a process decides on the totals it last got plus
# its own counts since: a client spread over N web processes can pass a limit by what it
# sends within one such interval. PING_RATE_SHARE_S = 0 shares on every call.

_unshared: dict[str, int] = {}  # stored key -> counted here, not yet added in Redis
_totals: dict[str, tuple[int, int]] = {}  # stored key -> (window, its total at the last share)
_shared_at = -math.inf  # monotonic; never yet: the first call shares
_sharing = False


def _shared_clear() -> None:
    global _shared_at, _sharing
    with _lock:
        _unshared.clear()
        _totals.clear()
        _shared_at, _sharing = -math.inf, False


def _share(store, window: int, ttl: int) -> None:
    """Add this process's counts to Redis and keep the totals it returns (one call)."""
    global _shared_at, _sharing
    with _lock:
        batch = dict(_unshared)
        _unshared.clear()
    try:
        totals = _redis_count(_redis_connection(store), batch, ttl) if batch else []
    except (RedisError, OSError) as exc:
        # The batch is dropped: counting goes on in this process until Redis is back.
        _redis_drop()
        _cache_failed(exc)
        return
    finally:
        _sharing = False
    with _lock:
        for key, total in zip(batch, totals, strict=True):
            _totals[key] = (window, int(total))
        for key in [k for k, (w, _) in _totals.items() if w < window]:
            del _totals[key]
        _shared_at = time.monotonic()


def _count(key: str) -> int:
    """The count under a stored key (its window in its name): its last total plus what
    this process counted since. Called with the lock held."""
    return _totals.get(key, (0, 0))[1] + _unshared.get(key, 0)


def rates_exceeded(*, limits: list[tuple[str, int]], window_s: int = 60) -> int | None:
    """``rate_exceeded`` for several keys at once: seconds to wait if any key is over its
    limit, else None. With the counters in Redis, counts are shared in batches (above).

    Every key is counted, even after one is found over its limit (they travel together).
    """
    store = _store()
    if not _cache_usable() or not _is_redis(store):
        waits = [rate_exceeded(key=key, limit=limit, window_s=window_s) for key, limit in limits]
        return next((wait for wait in waits if wait is not None), None)
    now = time.time()
    window = int(now // window_s)
    keys = [f"rate:{key}:{window}" for key, _ in limits]
    # The same stored keys as _cache_hit's: a fixed window's count, whichever path.
    stored = [store.make_and_validate_key(key) for key in keys]
    global _sharing
    with _lock:
        for key in stored:
            _unshared[key] = _unshared.get(key, 0) + 1
        share = not _sharing and (time.monotonic() - _shared_at >= settings.PING_RATE_SHARE_S)
        _sharing = _sharing or share
    if share:
        _share(store, window, window_s * 2)
    if not _cache_usable():
        # Redis just failed: this call's counts go on in this process.
        counts = [_local_add(key, (window + 1) * window_s - now, now)[0] for key in keys]
    else:
        with _lock:
            counts = [_count(key) for key in stored]
    if any(count > limit for count, (_, limit) in zip(counts, limits, strict=True)):
        return window_s - int(now) % window_s
    return None
