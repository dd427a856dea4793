"""What a probe is given (a target per kind) and what it returns (a ProbeResult).

Targets validate themselves on construction and accept JSON-shaped values (lists become
tuples), so `HttpTarget(**config)` works for a check's stored configuration. They raise
ValueError (or ConditionSyntaxError, a ValueError) with a message fit for a form or API.
"""

import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Literal, Self
from urllib.parse import urlsplit

from checks.conditions import parse_condition
from checks.screening import normalise_address

type Outcome = Literal["up", "degraded", "down"]

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DNS_RECORD_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT"})


@dataclass(frozen=True, slots=True)
class ProbeResult:
    outcome: Outcome
    latency_ms: float | None
    detail: str
    status_code: int | None = None
    cert_days_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "down"

    @classmethod
    def down(cls, detail: str, latency_ms: float | None = None, **extra: int | None) -> Self:
        return cls(outcome="down", latency_ms=latency_ms, detail=detail, **extra)


@dataclass(frozen=True, slots=True)
class HttpTarget:
    url: str
    method: str = "GET"
    # Left out of repr: an Authorization header must not reach a log line.
    headers: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    # Empty means any 2xx or 3xx.
    expected_statuses: tuple[int, ...] = ()
    body_contains: str | None = None
    conditions: tuple[str, ...] = ()
    follow_redirects: bool = True
    verify_tls: bool = True
    ca_file: str | None = None
    degraded_ms: float | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"URL must be http:// or https:// with a host: {self.url!r}")
        method = self.method.upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"unsupported HTTP method {self.method!r}")
        statuses = _int_tuple(self.expected_statuses)
        if any(not 100 <= code <= 599 for code in statuses):
            raise ValueError(f"expected statuses must be between 100 and 599: {statuses}")
        conditions = tuple(str(text) for text in self.conditions)
        for text in conditions:
            parse_condition(text)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        object.__setattr__(self, "expected_statuses", statuses)
        object.__setattr__(self, "conditions", conditions)
        _check_threshold(self.degraded_ms)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def status_expected(self, status: int) -> bool:
        if self.expected_statuses:
            return status in self.expected_statuses
        return 200 <= status <= 399


@dataclass(frozen=True, slots=True)
class TcpTarget:
    host: str
    port: int
    degraded_ms: float | None = None

    def __post_init__(self) -> None:
        _check_host_port(self.host, self.port)
        _check_threshold(self.degraded_ms)


@dataclass(frozen=True, slots=True)
class TlsTarget:
    host: str
    port: int = 443
    # The name sent as SNI and checked against the certificate; defaults to host.
    server_name: str | None = None
    warn_days: int = 14
    critical_days: int = 3
    verify: bool = True
    # A PEM bundle of extra trusted CAs (a private CA); the system store otherwise.
    ca_file: str | None = None
    degraded_ms: float | None = None

    def __post_init__(self) -> None:
        _check_host_port(self.host, self.port)
        if not 0 <= self.critical_days <= self.warn_days:
            raise ValueError("critical_days must be between 0 and warn_days")
        _check_threshold(self.degraded_ms)

    @property
    def sni(self) -> str:
        return self.server_name or self.host


@dataclass(frozen=True, slots=True)
class DnsTarget:
    name: str
    record_type: str = "A"
    # Values that must all be among the answers (addresses, host names or TXT strings).
    expected: tuple[str, ...] = ()
    # An IP address to ask instead of the system resolver.
    nameserver: str | None = None
    port: int = 53
    degraded_ms: float | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("DNS name is required")
        record_type = self.record_type.upper()
        if record_type not in DNS_RECORD_TYPES:
            raise ValueError(f"record type must be one of {', '.join(sorted(DNS_RECORD_TYPES))}")
        object.__setattr__(self, "record_type", record_type)
        object.__setattr__(self, "expected", tuple(str(value) for value in self.expected))
        if self.nameserver is not None:
            address = normalise_address(self.nameserver)
            if address is None:
                raise ValueError(f"nameserver must be an IP address: {self.nameserver!r}")
            # The resolver is given the address screening judged, in its usual spelling.
            object.__setattr__(self, "nameserver", str(address))
        _check_host_port(self.nameserver or "-", self.port)
        _check_threshold(self.degraded_ms)


type Target = HttpTarget | TcpTarget | TlsTarget | DnsTarget


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a time.perf_counter() value), to 0.01 ms."""
    return round((time.perf_counter() - started) * 1000, 2)


def timed_out(timeout: float) -> str:
    return f"timed out after {float(timeout)}s"


def with_latency(
    latency_ms: float, detail: str, degraded_ms: float | None, **extra: int | None
) -> ProbeResult:
    """An up result, or degraded when slower than the target's threshold."""
    if degraded_ms is not None and latency_ms > degraded_ms:
        slow = f"{detail} in {latency_ms:.0f} ms (slower than {degraded_ms:g} ms)"
        return ProbeResult("degraded", latency_ms, slow, **extra)
    return ProbeResult("up", latency_ms, detail, **extra)


def ssl_failure_detail(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake failed: {error.reason or error}"
    return f"TLS error: {error}"


@lru_cache(maxsize=64)
def ssl_context(*, verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """A client context, one per setting: pooled HTTP connections are keyed by the object.

    A CA file is read once per process; a changed file needs a worker restart.
    """
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def _int_tuple(values: Iterable[int]) -> tuple[int, ...]:
    try:
        return tuple(int(value) for value in values)
    except (TypeError, ValueError):
        raise ValueError(f"expected statuses must be integers: {values!r}") from None


def _check_host_port(host: str, port: int) -> None:
    if not host or not host.strip():
        raise ValueError("host is required")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535: {port!r}")


def _check_threshold(degraded_ms: float | None) -> None:
    if degraded_ms is not None and degraded_ms <= 0:
        raise ValueError("degraded threshold must be a positive number of milliseconds")
