"""Prometheus metrics: what processes count, what a scrape reads, and who may scrape.

Two kinds of figures, kept apart on purpose:

- Events counted where they happen (probe schedule lag in the worker, ping intake in the
  web workers) are prometheus_client metrics in multiprocess mode: each process writes
  memory mapped files in one folder (statuspage/core/metrics_files.py) and a scrape adds
  them up, whichever gunicorn worker answers it.
- State that lives in the database or the broker (every check's state, queue depth) is
  read at scrape time by collectors, one query each, instead of being mirrored into a
  gauge per check and per process.

The per-check block is most of a scrape at many checks. Each process keeps it for up to
METRICS_CACHE_S, keyed by the status version (bumped by every state change and check
edit), so a state change shows at once and only latencies may be that many seconds old.
A client that accepts gzip (Prometheus does) gets the body compressed, the cached
block's deflated segment reused.

``/metrics`` answers only a bearer token (METRICS_TOKEN) or a client address in
METRICS_ALLOW; with neither set it is a 404, except to loopback clients in DEBUG.
"""

import hmac
import ipaddress
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from statuspage.core.client import _networks, client_address, parse_address
from statuspage.core.metrics_files import metrics_dir_prepare, process_identifier
from statuspage.core.status_version import CACHE_DOWN, status_version

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Files carry the host name too, so folders shared between hosts never mix two writers.
settings.METRICS_DIR.mkdir(parents=True, exist_ok=True)
values.ValueClass = values.MultiProcessValue(process_identifier)


# Created on first use: a process that never observes one writes no file for it.
@cache
def _schedule_lag() -> Histogram:
    return Histogram(
        "statuspage_schedule_lag_seconds",
        "Time from a check's slot to the start of its probe.",
        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        registry=None,
    )


@cache
def _pings() -> Counter:
    return Counter(
        "statuspage_pings",
        "Heartbeat pings received, by kind and HTTP status answered.",
        ["kind", "code"],
        registry=None,
    )


def schedule_lag_observe(lags_s: Iterable[float]) -> None:
    histogram = _schedule_lag()
    for lag in lags_s:
        # A probe may start a hair before its slot when clocks of two hosts disagree.
        histogram.observe(max(0.0, lag))


def ping_count(*, kind: str, code: int) -> None:
    _pings().labels(kind=kind, code=str(code)).inc()


class QueueCollector:
    """Messages waiting in each Celery queue, read from the broker at scrape time.

    Redis: the length of each queue's lists. Embedded filesystem broker: the message
    files waiting in its folder. ``statuspage_broker_up`` is 0 when the broker did not
    answer, and then no depth is reported.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("statuspage_broker_up", "1 when the broker answered the scrape.")
        depth = GaugeMetricFamily(
            "statuspage_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        try:
            sizes = queue_sizes()
        except Exception as exc:
            logger.warning("metrics.broker_unreachable error=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for name, size in sizes.items():
            depth.add_metric([name], size)
        yield up
        yield depth


class _Broker(threading.local):
    """One broker connection per web thread, kept between scrapes; dropped on any error
    so the next scrape connects afresh (after a broker restart, say)."""

    connection: Connection | None = None
    url: str = ""


_broker = _Broker()


def queue_sizes(names: Iterable[str] | None = None) -> dict[str, int]:
    """Messages waiting in each queue of ``names`` (default: CELERY_TASK_QUEUES), as the
    broker counts them; raises when the broker does not answer."""
    if names is None:
        names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    url = settings.CELERY_BROKER_URL
    if _broker.connection is not None and _broker.url != url:
        _broker.connection.release()
        _broker.connection = None
    if _broker.connection is None:
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        _broker.connection = Connection(url, transport_options=options, connect_timeout=1)
        _broker.url = url
    try:
        channel = _broker.connection.default_channel
        # _size is what each kombu virtual transport uses for its own queue length.
        return {name: int(channel._size(name)) for name in names}
    except Exception:
        _broker.connection.release()
        _broker.connection = None
        raise


def refusal(request: HttpRequest) -> int | None:
    """The status to refuse a scrape with, or None to serve it.

    1. A client address in METRICS_ALLOW is served (through the trusted proxy rules).
    2. A matching ``Authorization: Bearer`` METRICS_TOKEN is served; a missing or wrong
       one is a 401 when a token is configured, a 403 when only the allowlist is.
    3. Neither configured: 404, as if there were no such page, except to a loopback
       client in DEBUG (``make run``).
    """
    token, allow = settings.METRICS_TOKEN, settings.METRICS_ALLOW
    address = parse_address(client_address(request) or "")
    if not token and not allow:
        return None if settings.DEBUG and address and address.is_loopback else 404
    if allow and address and _allowed(address, tuple(allow)):
        return None
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        sent_ok = hmac.compare_digest(sent.strip().encode(), token.encode())
        if scheme.lower() == "bearer" and sent_ok:
            return None
        return 401
    return 403


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow: tuple) -> bool:
    return any(address.version == net.version and address in net for net in _networks(allow))


Exposition = Callable[[], bytes]


@dataclass
class _Block:
    """One cached exposition of this process, and its deflated segment once asked for."""

    version: int | None
    expires_at: float
    text: bytes
    deflated: bytes | None = None


_blocks: dict[Exposition, _Block] = {}


def _cached(source: Exposition) -> _Block:
    """``source``'s text, from this process's copy while the status version is unchanged
    and the copy younger than METRICS_CACHE_S; read afresh otherwise.

    The version is read before the rows, so a copy is never older than its version: a
    change that commits during the read bumps the version past the one stored with it.
    Without a reachable cache server nothing is kept: every scrape reads afresh.
    """
    ttl = settings.METRICS_CACHE_S
    now = time.monotonic()
    try:
        version = status_version() if ttl > 0 else None
    except CACHE_DOWN as exc:
        logger.warning("metrics.cache_unavailable error=%s", type(exc).__name__)
        version = None
    block = _blocks.get(source)
    if block is not None and block.version == version and block.expires_at > now:
        return block
    block = _Block(version=version, expires_at=now + ttl, text=source())
    if version is not None:
        _blocks[source] = block
    return block


# A gzip member header: deflate, no name, no time, unknown OS (RFC 1952).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflate(data: bytes, mode: int) -> bytes:
    """Raw deflate of ``data`` at the fastest level (a scrape's text compresses about
    tenfold even so). Every segment starts its own compressor, so none refers back past
    its own start and segments made apart join into one stream."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(mode)


def gzip_join(blocks: list[_Block], rest: bytes) -> bytes:
    """One gzip member holding the blocks' texts then ``rest``.

    A block's segment ends with a sync flush (byte-aligned, not final) and is kept with
    the block, so a cached block is compressed once; only ``rest`` is compressed per
    scrape, and its segment ends the stream. The checksum covers the whole text.
    """
    crc, size, parts = 0, 0, [GZIP_HEADER]
    for block in blocks:
        if block.deflated is None:
            block.deflated = _deflate(block.text, zlib.Z_SYNC_FLUSH)
        parts.append(block.deflated)
        crc, size = zlib.crc32(block.text, crc), size + len(block.text)
    parts.append(_deflate(rest, zlib.Z_FINISH))
    crc, size = zlib.crc32(rest, crc), size + len(rest)
    parts.append(crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))
    return b"".join(parts)


def accepts_gzip(header: str) -> bool:
    """``Accept-Encoding`` names gzip with a non-zero quality."""
    for item in header.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() != "gzip":
            continue
        name, _, value = params.strip().partition("=")
        try:
            return name.strip().lower() != "q" or float(value) > 0
        except ValueError:
            return False
    return False


def metrics_view(*, cached: Iterable[Exposition], live: Iterable[Exposition]) -> Callable:
    """The /metrics view: the ``cached`` expositions (each kept per process, see
    ``_cached``), then the process files, the queues and each ``live`` exposition, read
    on every scrape. An exposition returns families already in the text format."""
    cached, live = list(cached), list(live)

    @never_cache
    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        status = refusal(request)
        if status is not None:
            response = HttpResponse(status=status)
            if status == 401:
                response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        blocks = [_cached(source) for source in cached]
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(settings.METRICS_DIR))
        registry.register(QueueCollector())
        rest = b"".join([generate_latest(registry), *(source() for source in live)])
        if accepts_gzip(request.headers.get("Accept-Encoding", "")):
            response = HttpResponse(gzip_join(blocks, rest), content_type=CONTENT_TYPE)
            response["Content-Encoding"] = "gzip"
        else:
            body = b"".join([*(block.text for block in blocks), rest])
            response = HttpResponse(body, content_type=CONTENT_TYPE)
        patch_vary_headers(response, ["Accept-Encoding"])
        return response

    return view


def metrics_dir_ready() -> None:
    """At the start of a process tree: the folder exists, dead processes' files are gone."""
    removed = metrics_dir_prepare(settings.METRICS_DIR)
    if removed:
        logger.info("metrics.files_removed count=%d", len(removed))
