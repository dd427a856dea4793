"""One JSON POST to a channel's URL, screened like a check target, judged by its status.

The connection goes through the probe engine's screening session (checks.probes.http), so
a channel URL can no more reach a metadata service or, without the allowlist, this host's
own loopback services than a check can. 2xx is delivered; a timeout, a connection error,
a 5xx or a 429 may succeed later (`Retryable`, with the receiver's Retry-After); any
other answer is `Permanent`. Reasons name the status or the failure, never the URL.
"""

import asyncio
import datetime as dt
import email.utils
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from django.conf import settings

from checks.definitions import allow_private_targets
from checks.probes import http as probe_http
from checks.screening import TargetRefused
from statuspage.alerts.senders.base import Permanent, Retryable

USER_AGENT = "statuspage-alerts/1"


def timeout_s() -> float:
    return float(getattr(settings, "ALERTS_HTTP_TIMEOUT_S", 10.0))


@asynccontextmanager
async def http_session(limit: int = 100) -> AsyncIterator[aiohttp.ClientSession]:
    """A pooled session whose every connection is screened against CHECK_PRIVATE_TARGETS."""
    async with probe_http.make_http_session(limit=limit) as session:
        yield session


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> None:
    """POST `body`; return on 2xx, raise Retryable/Permanent otherwise."""
    token = probe_http._allow_private.set(allow_private_targets())
    limit = timeout_s()
    try:
        async with asyncio.timeout(limit):
            async with session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
                after = retry_after(response.headers.get("Retry-After"))
    except TimeoutError:
        raise Retryable(f"no answer within {limit:g}s") from None
    except TargetRefused as exc:
        raise Permanent(f"target refused: {exc.message}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise Retryable(f"connection failed: {type(exc).__name__}") from None
    finally:
        probe_http._allow_private.reset(token)
    judge(status, after)


def judge(status: int, after: float | None) -> None:
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise Retryable(f"HTTP {status}", retry_after_s=after)
    raise Permanent(f"HTTP {status}")


def run(coro_factory) -> None:
    """Run one send from synchronous code (the admin's test button, a shell)."""

    async def main() -> None:
        async with http_session(limit=1) as session:
            await coro_factory(session)

    asyncio.run(main())
