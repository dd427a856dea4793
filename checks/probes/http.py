"""HTTP(S) probe: status, body text, JSON conditions and latency of one request.

Screening happens where the connection is made, so it covers every redirect hop (at most
MAX_REDIRECTS) and every pooled connection of a shared session:
- `ScreeningConnector.connect` refuses an IP-literal host (any spelling) before connecting,
  and after connecting checks the peer address the socket really reached before any byte
  is sent;
- `ScreeningConnector._resolve_host` screens each DNS answer, cached or fresh, against the
  probe's allowlist before any address is tried;
- `ScreeningResolver` refuses names that resolve to always-refused addresses (metadata,
  link-local...) before their answer enters the connector's cache.
The per-call allowlist travels in a context variable: each probe runs in its own task.
"""

import asyncio
import json
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.resolver import DefaultResolver
from aiohttp.tracing import Trace

from checks import screening
from checks.conditions import parse_condition
from checks.probes.base import (
    HttpTarget,
    ProbeResult,
    elapsed_ms,
    ssl_context,
    ssl_failure_detail,
    timed_out,
    with_latency,
)
from checks.screening import Allowlist, TargetRefused

USER_AGENT: Final = "statuspage-probe/1"
# Failure details are stored and shown to every viewer of the check, so they name what went
# wrong in our words and never quote what the peer sent (a banner, a header, a body).
INVALID_RESPONSE: Final = "invalid HTTP response: the server did not answer in HTTP"
INVALID_BODY: Final = "invalid HTTP response: the body was malformed or cut short"
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_REDIRECTS: Final = 3
# Python 3.13.0 leaks aborted TLS transports (cpython#118960, fixed in 3.13.1); aiohttp's
# cleanup task works around it there and warns if asked for it on a fixed version.
_NEEDS_CLEANUP_CLOSED: Final = sys.version_info < (3, 13, 1)

_allow_private: ContextVar[Allowlist | bool] = ContextVar("probe_allow_private", default=False)


class ScreeningResolver(AbstractResolver):
    """The default resolver, refusing names that resolve to always-refused addresses."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        addresses = [result["host"] for result in results]
        screening.screen_resolved(host, addresses, allow_private=True)
        return results

    async def close(self) -> None:
        await self._inner.close()


class ScreeningConnector(aiohttp.TCPConnector):
    """A TCPConnector that refuses connections to screened addresses (see module doc)."""

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        addresses = [result["host"] for result in results]
        screening.screen_resolved(host, addresses, allow_private=_allow_private.get())
        return results

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        allow_private = _allow_private.get()
        screening.screen_literal(req.url.raw_host or "", allow_private=allow_private)
        connection = await super().connect(req, traces, timeout)
        transport = connection.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        try:
            if not peer:
                raise TargetRefused(f"no peer address for {req.url.host}")
            screening.screen_address(str(peer[0]), allow_private=allow_private)
        except TargetRefused as exc:
            connection.close()
            host = req.url.host
            raise TargetRefused(f"{host} connected to {peer[0] if peer else '?'}: {exc}") from exc
        return connection


def make_http_session(
    limit: int = 100, *, trace_configs: list[aiohttp.TraceConfig] | None = None
) -> aiohttp.ClientSession:
    """A session for many probes to many hosts; call it inside the running event loop.

    Connections are pooled (keep-alive) and DNS answers cached briefly, so a batch that
    checks one host many times pays for one connection per concurrent request. Cookies are
    never kept: checks of different owners must not share state through the session.
    """
    connector = ScreeningConnector(
        limit=limit,
        limit_per_host=0,
        ttl_dns_cache=60,
        resolver=ScreeningResolver(),
        enable_cleanup_closed=_NEEDS_CLEANUP_CLOSED,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # The probe's own asyncio.timeout is the only deadline.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        trace_configs=trace_configs,
    )


async def probe(
    target: HttpTarget,
    *,
    timeout: float,
    session: aiohttp.ClientSession | None = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    """One request to `target`; never raises for network failures (they are "down")."""
    if session is None:
        async with make_http_session(limit=1) as own_session:
            return await probe(
                target, timeout=timeout, session=own_session, allow_private=allow_private
            )
    if not isinstance(session.connector, ScreeningConnector):
        raise TypeError("HTTP probes need a session from make_http_session (target screening)")
    token = _allow_private.set(allow_private)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            return await _request(session, target, started)
    except TimeoutError:
        return ProbeResult.down(timed_out(timeout))
    except TargetRefused as exc:
        return ProbeResult.down(f"target refused: {exc.message}")
    except (aiohttp.ClientError, OSError) as exc:
        return ProbeResult.down(_failure_detail(exc, target))
    finally:
        _allow_private.reset(token)


async def _request(
    session: aiohttp.ClientSession, target: HttpTarget, started: float
) -> ProbeResult:
    async with session.request(
        target.method,
        target.url,
        headers=dict(target.headers),
        allow_redirects=target.follow_redirects,
        # aiohttp stops when the count of redirect responses reaches its limit.
        max_redirects=MAX_REDIRECTS + 1,
        ssl=_ssl_setting(target.verify_tls, target.ca_file),
    ) as response:
        body, complete = await _read_capped(response)
        latency_ms = elapsed_ms(started)
        status = response.status
        failure = _judge(target, status, body, complete, response.charset)
    if failure is not None:
        return ProbeResult.down(failure, latency_ms, status_code=status)
    return with_latency(latency_ms, f"HTTP {status}", target.degraded_ms, status_code=status)


async def _read_capped(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """The body up to MAX_BODY_BYTES, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:MAX_BODY_BYTES], False


def _judge(
    target: HttpTarget, status: int, body: bytes, complete: bool, charset: str | None
) -> str | None:
    """Why the response fails the target, or None when it passes."""
    if not target.status_expected(status):
        expected = ", ".join(map(str, target.expected_statuses)) or "2xx/3xx"
        return f"HTTP {status} (expected {expected})"
    if (target.body_contains is not None or target.conditions) and not complete:
        return f"body is larger than {MAX_BODY_BYTES // 1024} KiB"
    if target.body_contains is not None:
        text = body.decode(charset or "utf-8", errors="replace")
        if target.body_contains not in text:
            return f"body lacks {target.body_contains!r}"
    if target.conditions:
        return _check_conditions(target.conditions, body)
    return None


def _check_conditions(conditions: tuple[str, ...], body: bytes) -> str | None:
    try:
        document: Any = json.loads(body)
    except ValueError:
        return "body is not valid JSON"
    for text in conditions:
        failure = parse_condition(text).check(document)
        if failure is not None:
            return failure
    return None


def _failure_detail(exc: BaseException, target: HttpTarget) -> str:
    match exc:
        case aiohttp.ClientConnectorCertificateError():
            return ssl_failure_detail(exc.certificate_error)
        case aiohttp.ClientConnectorSSLError():
            return ssl_failure_detail(exc.os_error)
        case aiohttp.ClientConnectorDNSError():
            return f"DNS lookup failed for {target.host}"
        case aiohttp.ClientConnectorError() if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        case aiohttp.ClientConnectorError():
            return f"connection failed: {exc.os_error.strerror or exc.os_error}"
        case aiohttp.TooManyRedirects():
            return f"more than {MAX_REDIRECTS} redirects"
        case aiohttp.NonHttpUrlRedirectClientError() | aiohttp.InvalidUrlRedirectClientError():
            return "redirect to an invalid or non-HTTP URL"
        case aiohttp.InvalidURL():
            return "invalid URL"
        case aiohttp.ServerDisconnectedError():
            return "server closed the connection without a response"
        case aiohttp.ClientPayloadError():
            return INVALID_BODY
        case aiohttp.ClientResponseError():
            return INVALID_RESPONSE
    return f"request failed ({type(exc).__name__})"


def _ssl_setting(verify: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    if not verify:
        return False
    if ca_file:
        return ssl_context(verify=True, ca_file=ca_file)
    return True
