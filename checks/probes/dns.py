"""DNS probe: does a name resolve (through the system resolver or a given nameserver),
and are the expected values among the answers."""

import asyncio
import ipaddress
import time
from functools import lru_cache

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdata
import dns.resolver

from checks import screening
from checks.probes.base import DnsTarget, ProbeResult, elapsed_ms, timed_out, with_latency
from checks.screening import Allowlist, TargetRefused


async def probe(
    target: DnsTarget,
    *,
    timeout: float,
    session: object = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    """One query; never raises for DNS or network failures (they are "down")."""
    try:
        if target.nameserver is not None:
            screening.screen_address(target.nameserver, allow_private=allow_private)
        resolver = _resolver(target.nameserver, target.port)
    except TargetRefused as exc:
        return ProbeResult.down(f"nameserver refused: {exc.message}")
    except dns.resolver.NoResolverConfiguration:
        return ProbeResult.down("no system DNS configuration; set a nameserver")
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            answer = await resolver.resolve(
                target.name, target.record_type, search=False, lifetime=timeout
            )
    except (TimeoutError, dns.exception.Timeout):
        return ProbeResult.down(timed_out(timeout))
    except dns.exception.DNSException as exc:
        return ProbeResult.down(_failure_detail(exc, target), elapsed_ms(started))
    latency_ms = elapsed_ms(started)
    # Sorted: answer order varies between queries, and the detail should not.
    answers = sorted((answer_value(rdata) for rdata in answer), key=lambda pair: pair[0])
    return _judge(target, answers, latency_ms)


def _judge(
    target: DnsTarget, answers: list[tuple[str, set[str]]], latency_ms: float
) -> ProbeResult:
    shown = ", ".join(text for text, _ in answers)
    found = set().union(*(keys for _, keys in answers))
    missing = [
        value for value in target.expected if _normalise(value, target.record_type) not in found
    ]
    if missing:
        detail = f"expected {', '.join(target.expected)}, got {shown}"
        return ProbeResult.down(_truncate(detail), latency_ms)
    return with_latency(latency_ms, _truncate(f"{target.record_type} {shown}"), target.degraded_ms)


def answer_value(rdata: dns.rdata.Rdata) -> tuple[str, set[str]]:
    """How an answer is shown, and the normalised forms an expected value may match."""
    if hasattr(rdata, "address"):
        text = str(ipaddress.ip_address(rdata.address))
        return text, {text}
    if hasattr(rdata, "exchange"):
        exchange = _name(rdata.exchange)
        return f"{rdata.preference} {exchange}", {exchange, f"{rdata.preference} {exchange}"}
    if hasattr(rdata, "strings"):
        text = b"".join(rdata.strings).decode("utf-8", errors="replace")
        return text, {text}
    if hasattr(rdata, "target"):
        name = _name(rdata.target)
        return name, {name}
    text = rdata.to_text()
    return text, {text}


def _name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _normalise(value: str, record_type: str) -> str:
    value = value.strip()
    if record_type == "TXT":
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value.rstrip(".").lower()


def _failure_detail(exc: dns.exception.DNSException, target: DnsTarget) -> str:
    match exc:
        case dns.resolver.NXDOMAIN():
            return f"NXDOMAIN: {target.name} does not exist"
        case dns.resolver.NoAnswer():
            return f"no {target.record_type} records for {target.name}"
        case dns.resolver.NoNameservers():
            return f"no nameserver answered for {target.name} (SERVFAIL or refused)"
    return _truncate(f"DNS error: {exc}")


@lru_cache(maxsize=256)
def _resolver(nameserver: str | None, port: int) -> dns.asyncresolver.Resolver:
    """One resolver per nameserver; the system one reads /etc/resolv.conf once per process."""
    if nameserver is None:
        return dns.asyncresolver.Resolver()
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [nameserver]
    resolver.port = port
    return resolver


def _truncate(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
