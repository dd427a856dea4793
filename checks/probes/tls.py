"""TLS probe: handshake with host:port and judge the days left on the server certificate."""

import asyncio
import math
import ssl
import time
from datetime import UTC, datetime

from cryptography import x509

from checks.probes.base import (
    ProbeResult,
    TlsTarget,
    elapsed_ms,
    ssl_context,
    ssl_failure_detail,
    timed_out,
    with_latency,
)
from checks.probes.tcp import connect_failure_detail, connect_screened
from checks.screening import Allowlist, TargetRefused


async def probe(
    target: TlsTarget,
    *,
    timeout: float,
    session: object = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    """One handshake; never raises for network or certificate failures (they are "down").

    With verify=False the certificate is read without being trusted, so a self-signed or
    expired certificate is still measured (expiry is judged from its notAfter date).
    """
    try:
        context = ssl_context(verify=target.verify, ca_file=target.ca_file)
    except OSError as exc:
        return ProbeResult.down(f"cannot load CA file {target.ca_file}: {exc.strerror or exc}")
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            der, latency_ms = await _handshake(target, context, started, allow_private)
    except TimeoutError:
        return ProbeResult.down(timed_out(timeout))
    except ssl.SSLError as exc:
        return ProbeResult.down(ssl_failure_detail(exc), elapsed_ms(started))
    except (TargetRefused, OSError) as exc:
        return ProbeResult.down(connect_failure_detail(exc, target.host))
    if not der:
        return ProbeResult.down("server sent no certificate", latency_ms)
    return judge_certificate(target, x509.load_der_x509_certificate(der), latency_ms)


async def _handshake(
    target: TlsTarget, context: ssl.SSLContext, started: float, allow_private: Allowlist | bool
) -> tuple[bytes | None, float]:
    _, writer, _ = await connect_screened(
        target.host,
        target.port,
        allow_private=allow_private,
        ssl_context=context,
        server_name=target.sni,
    )
    latency_ms = elapsed_ms(started)
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    # No close_notify exchange: a probe has nothing to flush, and waiting for a peer's
    # shutdown could turn a good handshake into a timeout.
    writer.transport.abort()
    return der, latency_ms


def judge_certificate(
    target: TlsTarget, certificate: x509.Certificate, latency_ms: float
) -> ProbeResult:
    now = datetime.now(UTC)
    expires = certificate.not_valid_after_utc
    days = (expires - now).total_seconds() / 86400
    # Whole days, toward zero: "expired 2 days ago" is -2, "expires in 3 days" is 3.
    days_left = math.trunc(days)
    if certificate.not_valid_before_utc > now:
        starts = certificate.not_valid_before_utc.date().isoformat()
        detail = f"certificate not valid before {starts}"
        return ProbeResult.down(detail, latency_ms, cert_days_left=days_left)
    if days < 0:
        detail = f"certificate expired on {expires.date().isoformat()}"
        return ProbeResult.down(detail, latency_ms, cert_days_left=days_left)
    detail = f"certificate expires in {_days(days_left)} ({expires.date().isoformat()})"
    if days < target.critical_days:
        return ProbeResult.down(detail, latency_ms, cert_days_left=days_left)
    if days < target.warn_days:
        return ProbeResult("degraded", latency_ms, detail, cert_days_left=days_left)
    return with_latency(latency_ms, detail, target.degraded_ms, cert_days_left=days_left)


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"
