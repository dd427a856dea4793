"""TCP probe: can a connection be opened to host:port, and how long does it take."""

import asyncio
import socket
import ssl
import time

from checks import screening
from checks.probes.base import ProbeResult, TcpTarget, elapsed_ms, timed_out, with_latency
from checks.screening import Allowlist, TargetRefused

type Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def probe(
    target: TcpTarget,
    *,
    timeout: float,
    session: object = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    """Connect and close; never raises for network failures (they are "down")."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            _, writer, address = await connect_screened(
                target.host, target.port, allow_private=allow_private
            )
            writer.close()
            await writer.wait_closed()
    except TimeoutError:
        return ProbeResult.down(timed_out(timeout))
    except (TargetRefused, OSError) as exc:
        return ProbeResult.down(connect_failure_detail(exc, target.host))
    detail = f"connected to {_joined(address, target.port)}"
    return with_latency(elapsed_ms(started), detail, target.degraded_ms)


async def connect_screened(
    host: str,
    port: int,
    *,
    allow_private: Allowlist | bool,
    ssl_context: ssl.SSLContext | None = None,
    server_name: str | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """Open a connection to the first reachable screened address of `host`.

    Connects to the screened address itself, never to the name again, so a second DNS
    answer cannot slip in an address that was not screened. A TLS handshake failure is
    raised at once; a refused or unreachable address moves on to the next one.
    """
    addresses = await screening.resolve_screened(host, port, allow_private=allow_private)
    last_error: OSError = OSError(f"no address for {host}")
    for address in addresses:
        try:
            reader, writer = await asyncio.open_connection(
                address,
                port,
                ssl=ssl_context,
                server_hostname=(server_name or host) if ssl_context is not None else None,
            )
        except ssl.SSLError:
            raise
        except OSError as exc:
            last_error = exc
            continue
        return reader, writer, address
    raise last_error


def connect_failure_detail(exc: BaseException, host: str) -> str:
    match exc:
        case TargetRefused():
            return f"target refused: {exc.message}"
        case socket.gaierror():
            return f"DNS lookup failed for {host}"
        case ConnectionRefusedError():
            return "connection refused"
        case OSError():
            return f"connection failed: {exc.strerror or exc}"
    return f"connection failed: {exc}"


def _joined(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
