"""The probe library: one async function per check kind, and a batch runner.

Every probe has the signature
    async def probe(target, *, timeout, session=None, allow_private=False) -> ProbeResult
and never raises for network failures: they come back as "down" results with a detail.
"""

import asyncio
import logging
from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any, NamedTuple, Protocol

import aiohttp

from checks.probes import dns, http, tcp, tls
from checks.probes.base import (
    DnsTarget,
    HttpTarget,
    ProbeResult,
    Target,
    TcpTarget,
    TlsTarget,
)
from checks.probes.http import make_http_session
from checks.screening import Allowlist

logger = logging.getLogger(__name__)

__all__ = [
    "PROBES",
    "TARGETS",
    "DnsTarget",
    "HttpTarget",
    "ProbeItem",
    "ProbeResult",
    "TcpTarget",
    "TlsTarget",
    "make_http_session",
    "run_batch",
    "run_one",
]


class Probe(Protocol):
    async def __call__(
        self,
        target: Any,
        *,
        timeout: float,
        session: Any = None,
        allow_private: Allowlist | bool = False,
    ) -> ProbeResult: ...


PROBES: dict[str, Probe] = {
    "http": http.probe,
    "tcp": tcp.probe,
    "tls": tls.probe,
    "dns": dns.probe,
}

# The target class of each kind; `TARGETS[kind](**check.config)` validates a stored config.
TARGETS: dict[str, type[Target]] = {
    "http": HttpTarget,
    "tcp": TcpTarget,
    "tls": TlsTarget,
    "dns": DnsTarget,
}


class ProbeItem(NamedTuple):
    kind: str
    target: Target
    timeout: float


async def run_one(
    kind: str,
    target: Target,
    *,
    timeout: float,
    session: aiohttp.ClientSession | None = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    """Run one probe. A bug in a probe becomes a "down" result (and a logged error), so
    one bad check cannot sink the rest of its batch."""
    probe = PROBES.get(kind)
    if probe is None:
        logger.error("probe.unknown_kind kind=%r", kind)
        return ProbeResult.down(f"unknown check kind {kind!r}")
    try:
        return await probe(target, timeout=timeout, session=session, allow_private=allow_private)
    except Exception as exc:
        # The target is not logged: its headers may carry credentials.
        logger.exception("probe.error kind=%s target_type=%s", kind, type(target).__name__)
        return ProbeResult.down(f"probe error: {type(exc).__name__}")


async def run_batch(
    items: Iterable[tuple[str, Target, float]],
    *,
    concurrency: int,
    allow_private: Allowlist | bool = False,
    session: aiohttp.ClientSession | None = None,
) -> list[ProbeResult]:
    """Run (kind, target, timeout) items with at most `concurrency` in flight.

    Results come back in the order of `items`. HTTP probes share one session (pooled
    connections, cached DNS): `session` if given, else one opened for this batch and sized
    to `concurrency`. Each item's timeout starts when its turn comes, not at batch start.
    """
    batch = [ProbeItem(*item) for item in items]
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    semaphore = asyncio.Semaphore(concurrency)
    async with AsyncExitStack() as stack:
        if session is None and any(item.kind == "http" for item in batch):
            session = await stack.enter_async_context(make_http_session(limit=concurrency))

        async def run(item: ProbeItem) -> ProbeResult:
            async with semaphore:
                return await run_one(
                    item.kind,
                    item.target,
                    timeout=item.timeout,
                    session=session,
                    allow_private=allow_private,
                )

        return list(await asyncio.gather(*(run(item) for item in batch)))
