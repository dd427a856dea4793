"""Fixed-window request counting in the shared cache (Redis in production)."""

import time

from django.core.cache import cache


def rate_exceeded(*, key: str, limit: int, window_s: int = 60) -> int | None:
    """Count one request under ``key``; return seconds to wait if over ``limit``, else None."""
    window = int(time.time() // window_s)
    cache_key = f"rate:{key}:{window}"
    if cache.add(cache_key, 1, timeout=window_s * 2):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the key expired between add and incr
            cache.set(cache_key, 1, timeout=window_s * 2)
            count = 1
    if count > limit:
        return window_s - int(time.time()) % window_s
    return None
