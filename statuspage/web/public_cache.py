"""Cache keys, timeouts, ETags and last-good snapshots of the public pages and JSON.

Every public response goes through ``serve``:

1. Read ``status_version()``. Every key below includes it, so a bump after any status,
   incident or maintenance change makes all cached copies unreachable at once; nothing
   needs to know which keys exist. Each process reads it at most every
   ``VERSION_TTL_S`` (a change reaches every process within that time, well inside the
   responses' own max-age): a cache hit then costs no network round trip at all, which
   matters because Django's Redis cache builds a new client for every operation.
2. Look in this process's memory, then in the shared cache. A hit touches no database.
3. On a miss, render (the only step that queries), then store the bytes, a gzipped copy
   and the ETag in both layers for ``CACHE_TIMEOUT_S`` (uptime figures move without a
   bump, so entries also age out). The status page and summary.json are also written to
   ``STATUS_SNAPSHOT_DIR`` atomically: the last good copy.
4. If rendering fails because the database is unreachable, answer with that snapshot,
   marked stale (a notice in the page, ``"stale": true`` in the JSON, ``X-Status-Stale``
   and ``Warning`` headers), or with a 503 for responses that keep no snapshot. If the
   cache server is unreachable instead, every request renders (nothing is cached).

The uptime cells of past days (``past_day_cells``) are kept apart, per process: a status
change does not change yesterday's uptime, so a render after a bump reads today's rollups
only. Past days change when late results or maintenance accounting recompute a rollup, so
they are read again once ``PAST_DAYS_TTL_S`` has passed: after the response that found
them due has been sent (``past_days_refresh``, on request_finished), so no visitor waits
for 89 days of rollups. On a new day the days kept move on and only the day that became
past is read. Only a process's first render and a change in the public services or their
checks read all of them before answering.

Responses carry ``Cache-Control: public`` (``private, no-cache`` and ``Vary: Cookie`` for
signed-in users, whose own changes must show at once), a weak ETag (the gzipped and plain bodies are
the same representation) and answer a matching ``If-None-Match`` with 304.
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from redis.exceptions import RedisError

from statuspage.core.status_version import status_version
from statuspage.web.public import page_url_from
from statuspage.web.public_days import UPTIME_DAYS, DayCells, day_cells
from statuspage.web.public_snapshots import CACHE_TIMEOUT_S as CACHE_TIMEOUT_S
from statuspage.web.public_snapshots import SNAPSHOT_PAGE as SNAPSHOT_PAGE
from statuspage.web.public_snapshots import SNAPSHOT_SUMMARY as SNAPSHOT_SUMMARY
from statuspage.web.public_snapshots import Entry, make_entry, snapshot_write
from statuspage.web.public_snapshots import snapshot_read as snapshot_read

logger = logging.getLogger(__name__)

# psycopg's pool timeout is an OperationalError too (Django wraps it on connect).
DATABASE_DOWN = (OperationalError, InterfaceError)
# Redis unreachable (redis-py's errors), or the file cache of the embedded default failing.
CACHE_DOWN = (RedisError, OSError)
VERSION_TTL_S = 0.5
PAST_DAYS_TTL_S = 300
MAX_AGE_S = 30
STALE_MAX_AGE_S = 10
LOCAL_ENTRIES = 64


_local: OrderedDict[str, Entry] = OrderedDict()
# The status version as last read by this process, and when (monotonic clock).
_version = {"value": 0, "read_at": float("-inf")}
# The uptime cells of every day but today: for which first day and services, and when.
_past: dict = {"key": None, "cells": None, "read_at": float("-inf"), "due": False}


def cache_key(name: str, version: int) -> str:
    return f"public:{version}:{name}"


def local_clear() -> None:
    """Forget this process's copies, its reading of the status version and past days."""
    _local.clear()
    _version["read_at"] = float("-inf")
    _past.update(key=None, cells=None, read_at=float("-inf"), due=False)


def _past_read(first_day: date, checks: dict[int, int]) -> None:
    past = day_cells(first_day, checks, last=UPTIME_DAYS - 2)
    _past.update(
        key=(first_day, frozenset(checks.items())), cells=past, read_at=time.monotonic(), due=False
    )


def past_day_cells(first_day: date, checks: dict[int, int]) -> DayCells:
    """The uptime cells for the status page: past days from this process's memory, today
    from the database. Past days are read here when the public services or their checks
    change; on a new day the kept ones move on and only the days that became past are
    read; after PAST_DAYS_TTL_S they are marked due and read again once the response is
    sent."""
    key = (first_day, frozenset(checks.items()))
    if _past["key"] != key:
        known_first, known_checks = _past["key"] or (None, None)
        shift = (first_day - known_first).days if known_first else 0
        if known_checks == key[1] and 0 < shift < UPTIME_DAYS - 1:
            newest = day_cells(
                first_day, checks, first=UPTIME_DAYS - 1 - shift, last=UPTIME_DAYS - 2
            )
            _past.update(key=key, cells=_past["cells"].moved_to(first_day, newest))
        else:
            _past_read(first_day, checks)
    elif time.monotonic() - _past["read_at"] >= PAST_DAYS_TTL_S:
        _past["due"] = True
    today = day_cells(first_day, checks, first=UPTIME_DAYS - 1)
    return _past["cells"].with_last_day_of(today)


def past_days_refresh(**kwargs) -> None:
    """request_finished receiver: read the past days again if a render found them due.

    Runs after the response has been sent (the WSGI server closes the response then). A
    failure is logged and tried again after another PAST_DAYS_TTL_S, not at the end of
    every request: with the database down, each try waits for the pool's timeout.
    """
    if not _past["due"]:
        return
    first_day, checks = _past["key"][0], dict(_past["key"][1])
    began = time.perf_counter()
    try:
        # The connection this opens is handed back by the next request's start, as Django
        # does with every connection (close_old_connections on request_started).
        _past_read(first_day, checks)
    except Exception:
        logger.exception("public_past_days_refresh_failed")
        _past.update(due=False, read_at=time.monotonic())
        return
    logger.info("public_past_days_refreshed ms=%.1f", (time.perf_counter() - began) * 1000)


def current_version(*, fresh: bool = False) -> int | None:
    """The status version, read at most every VERSION_TTL_S (always when ``fresh``); None
    while the cache server is unreachable (then nothing is cached: every request renders)."""
    now = time.monotonic()
    if fresh or now - _version["read_at"] >= VERSION_TTL_S:
        try:
            value = status_version()
        except CACHE_DOWN as exc:
            logger.warning("public_cache_unavailable error=%s", type(exc).__name__)
            return None
        _version.update(value=value, read_at=now)
    return _version["value"]


def _local_get(key: str) -> Entry | None:
    entry = _local.get(key)
    if entry is None or entry.expires_at <= time.time():
        return None
    _local.move_to_end(key)
    return entry


def _local_put(key: str, entry: Entry) -> None:
    _local[key] = entry
    _local.move_to_end(key)
    while len(_local) > LOCAL_ENTRIES:
        _local.popitem(last=False)


def serve(
    request: HttpRequest,
    name: str,
    render: Callable[[], bytes],
    *,
    content_type: str,
    snapshot: str | None = None,
) -> HttpResponse:
    """Answer from cache, else render and cache; from the snapshot if the database is down.

    ``name`` identifies the response (with its arguments, e.g. "incident:12"); ``render``
    returns the body and may raise Http404, which is not cached.
    """
    signed_in = is_signed_in(request)
    version = current_version(fresh=signed_in)
    key = cache_key(name, version) if version is not None else None
    entry = _cached(key) if key else None
    if entry is None:
        try:
            with page_url_from(request):
                body = render()
        except DATABASE_DOWN as exc:
            return _serve_stale(request, name, snapshot, exc)
        entry = make_entry(body, content_type, rendered_at=time.time())
        if key:
            _store(key, entry)
        if snapshot:
            snapshot_write(snapshot, entry)
    return respond(request, entry, max_age=MAX_AGE_S, signed_in=signed_in)


def is_signed_in(request: HttpRequest) -> bool:
    """Whether a signed-in user asks. Only a request carrying a session cookie is looked
    at: reading the session marks the response ``Vary: Cookie``, which anonymous visitors'
    copies must not carry (a CDN would then keep one copy per cookie, or none)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    try:
        return bool(getattr(request, "user", None) and request.user.is_authenticated)
    except DATABASE_DOWN:
        return False


def _cached(key: str) -> Entry | None:
    entry = _local_get(key)
    if entry is not None:
        return entry
    try:
        entry = cache.get(key)
    except CACHE_DOWN as exc:
        logger.warning("public_cache_unavailable error=%s", type(exc).__name__)
        return None
    if entry is None or entry.expires_at <= time.time():
        return None
    entry = entry.complete()
    _local_put(key, entry)
    return entry


def _store(key: str, entry: Entry) -> None:
    _local_put(key, entry)
    try:
        cache.set(key, entry.shared(), timeout=CACHE_TIMEOUT_S)
    except CACHE_DOWN as exc:
        logger.warning("public_cache_unavailable error=%s", type(exc).__name__)


def _serve_stale(request: HttpRequest, name: str, snapshot: str | None, exc: Exception):
    entry = snapshot_read(snapshot) if snapshot else None
    if entry is None:
        logger.warning("public_unavailable name=%s error=%s", name, type(exc).__name__)
        response = HttpResponse(
            "The status page is temporarily unavailable.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "30"
        return response
    age = time.time() - entry.rendered_at
    logger.warning("public_stale name=%s snapshot_age_s=%d error=%s", name, age, type(exc).__name__)
    # No user lookup while the database is down: a session cookie alone keeps the copy private.
    private = settings.SESSION_COOKIE_NAME in request.COOKIES
    response = respond(request, entry, max_age=STALE_MAX_AGE_S, signed_in=private)
    response["X-Status-Stale"] = "1"
    response["Warning"] = '110 - "Response is Stale"'
    return response


def respond(
    request: HttpRequest, entry: Entry, *, max_age: int, signed_in: bool = False
) -> HttpResponse:
    """The entry as a response (304 when the client holds it). Anonymous visitors and
    shared caches may keep it for ``max_age``; a signed-in user's browser must ask again
    each time (``private, no-cache``: a 304 when nothing changed), so an editor sees their
    own change at once, and no shared cache keeps their copy."""
    if _matches(request.headers.get("If-None-Match", ""), entry.etag):
        response = HttpResponseNotModified()
    else:
        wants_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        if wants_gzip and entry.gzipped is not None:
            response = HttpResponse(entry.gzipped, content_type=entry.content_type)
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(entry.body, content_type=entry.content_type)
    response["ETag"] = entry.etag
    if signed_in:
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ["Accept-Encoding", "Cookie"])
    else:
        response["Cache-Control"] = f"public, max-age={max_age}"
        patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2), as If-None-Match requires."""
    if not header:
        return False
    wanted = parse_etags(header)
    if "*" in wanted:
        return True
    return etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in wanted}
