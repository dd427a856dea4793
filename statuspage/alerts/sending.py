"""Sending one round of a channel's messages concurrently, in order per service.

HTTP kinds (webhook, Slack) share one screened aiohttp session in one event loop; mail and
Apprise, whose libraries block, run from a small thread pool. No database work happens
here: the caller claims before and records after.

Messages about the same service go out in the order their deliveries were created (a
"down" before its "up"): a round is cut into waves holding at most one message per
service, sent one wave after the other, and a service whose message failed has its later
messages held back for the next round.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from statuspage.alerts.senders import http
from statuspage.alerts.senders.base import DeliveryError, Permanent
from statuspage.alerts.senders.registry import ASYNC_SENDERS, SYNC_SENDERS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    key: str
    attempt: int
    services: frozenset[int]
    message: object | None  # None: it could not be rendered (`render_error` says why)
    render_error: str = ""


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    ms: float
    error: DeliveryError | None = None
    held: bool = False  # not attempted: an earlier message of one of its services failed

    @property
    def sent(self) -> bool:
        return self.error is None and not self.held


def waves(items: Sequence[Outgoing]) -> list[list[Outgoing]]:
    """Cut `items` (oldest first) into waves with at most one item per service each."""
    depth: dict[int, int] = {}
    result: list[list[Outgoing]] = []
    for item in items:
        index = max((depth.get(service, 0) for service in item.services), default=0)
        for service in item.services:
            depth[service] = index + 1
        while len(result) <= index:
            result.append([])
        result[index].append(item)
    return result


def send_round(channel, items: Sequence[Outgoing]) -> list[Outcome]:
    return asyncio.run(_send_round(channel, items))


async def _send_round(channel, items: Sequence[Outgoing]) -> list[Outcome]:
    limit = int(getattr(settings, "ALERTS_SEND_CONCURRENCY", 100))
    if channel.kind not in ASYNC_SENDERS:
        limit = min(limit, int(getattr(settings, "ALERTS_SEND_THREADS", 8)))
    gate = asyncio.Semaphore(limit)
    failed: set[int] = set()
    outcomes: list[Outcome] = []
    async with http.http_session(limit=limit) as session:
        for wave in waves(items):
            ready = [item for item in wave if not item.services & failed]
            held = [item for item in wave if item not in ready]
            outcomes += [Outcome(item.delivery_id, 0.0, held=True) for item in held]
            done = await asyncio.gather(
                *(_send_one(channel, item, session, gate) for item in ready)
            )
            for item, outcome in zip(ready, done, strict=True):
                if not outcome.sent:
                    failed |= item.services
            outcomes += done
    return outcomes


async def _send_one(channel, item: Outgoing, session, gate: asyncio.Semaphore) -> Outcome:
    async with gate:
        started = time.perf_counter()
        error: DeliveryError | None = None
        try:
            if item.message is None:
                raise Permanent(item.render_error or "the message could not be rendered")
            if channel.kind in ASYNC_SENDERS:
                await ASYNC_SENDERS[channel.kind](
                    channel, item.message, key=item.key, session=session
                )
            else:
                await asyncio.to_thread(
                    SYNC_SENDERS[channel.kind], channel, item.message, key=item.key
                )
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a sender bug must not take the round's other messages down
            # Only the type: an exception's text may quote the target URL.
            logger.error(
                "event=alert.sender_error channel_kind=%s error=%s",
                channel.kind,
                type(exc).__name__,
            )
            error = Permanent(f"sender failed: {type(exc).__name__}")
        ms = (time.perf_counter() - started) * 1000
    return Outcome(item.delivery_id, ms, error)
