import asyncio
import contextlib
import datetime as dt
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.probes import tls
from checks.probes.base import ProbeResult, TlsTarget
from tests.checks.probe_servers import LocalCA, server_context, serving_streams

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


async def close_after_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        await reader.read(1)
    writer.close()


async def never_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        await reader.read()
    writer.close()


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA()


@pytest.fixture(scope="module")
def ca_file(ca: LocalCA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(ca.cert_pem)
    return str(path)


@pytest.fixture(scope="module")
def tls_port(ca: LocalCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One TLS server; the SNI name picks the certificate:
    valid.test (90 days left), soon.test (3 days left), expired.test (expired 2 days ago)."""
    directory = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    validity = {
        "valid.test": (now - DAY, now + 90 * DAY + HOUR),
        "soon.test": (now - 60 * DAY, now + 3 * DAY + HOUR),
        "expired.test": (now - 60 * DAY, now - 2 * DAY),
    }
    contexts = {
        name: _context(ca, name, start, end, directory) for name, (start, end) in validity.items()
    }
    default = contexts["valid.test"]

    def choose(ssl_object: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        ssl_object.context = contexts.get(server_name or "", default)

    default.sni_callback = choose
    with serving_streams(close_after_handshake, ssl_context=default) as port:
        yield port


def _context(
    ca: LocalCA, name: str, start: dt.datetime, end: dt.datetime, directory: Path
) -> ssl.SSLContext:
    return server_context(ca.issue([name], valid_from=start, valid_to=end), directory, name)


@pytest.fixture(scope="module")
def plain_port() -> Iterator[int]:
    with serving_streams(never_handshake) as port:
        yield port


def probe(target: TlsTarget, *, timeout: float = 5.0) -> ProbeResult:
    return asyncio.run(tls.probe(target, timeout=timeout, allow_private=True))


def target(port: int, name: str, **options: object) -> TlsTarget:
    return TlsTarget("127.0.0.1", port, server_name=name, **options)  # type: ignore[arg-type]


def test_certificate_valid_for_months_is_up_with_days_left(tls_port: int, ca_file: str) -> None:
    result = probe(target(tls_port, "valid.test", ca_file=ca_file))

    assert result.outcome == "up"
    assert result.cert_days_left == 90
    assert result.detail.startswith("certificate expires in 90 days (")
    assert result.latency_ms is not None and result.latency_ms > 0


def test_certificate_expiring_before_the_warning_is_degraded(tls_port: int, ca_file: str) -> None:
    options = {"ca_file": ca_file, "warn_days": 14, "critical_days": 2}

    result = probe(target(tls_port, "soon.test", **options))

    assert result.outcome == "degraded"
    assert result.cert_days_left == 3
    assert result.detail.startswith("certificate expires in 3 days")


def test_certificate_expiring_before_the_critical_limit_is_down(
    tls_port: int, ca_file: str
) -> None:
    options = {"ca_file": ca_file, "warn_days": 30, "critical_days": 7}

    result = probe(target(tls_port, "soon.test", **options))

    assert result.outcome == "down"
    assert result.detail.startswith("certificate expires in 3 days")


def test_expired_certificate_read_without_verification_is_down(tls_port: int) -> None:
    result = probe(target(tls_port, "expired.test", verify=False))

    assert result.outcome == "down"
    assert result.detail.startswith("certificate expired on ")
    assert result.cert_days_left == -2


def test_expired_certificate_fails_verification(tls_port: int, ca_file: str) -> None:
    result = probe(target(tls_port, "expired.test", ca_file=ca_file))

    assert result.outcome == "down"
    assert result.detail == "certificate verify failed: certificate has expired"


def test_certificate_from_an_untrusted_ca_fails_verification(tls_port: int) -> None:
    result = probe(target(tls_port, "valid.test"))

    assert result.outcome == "down"
    assert result.detail.startswith("certificate verify failed: ")


def test_untrusted_certificate_is_still_measured_without_verification(tls_port: int) -> None:
    result = probe(target(tls_port, "valid.test", verify=False))

    assert result.outcome == "up"
    assert result.cert_days_left == 90


def test_certificate_for_another_name_fails_verification(tls_port: int, ca_file: str) -> None:
    result = probe(target(tls_port, "other.test", ca_file=ca_file))

    assert result.outcome == "down"
    assert "Hostname mismatch" in result.detail


def test_server_that_never_answers_the_handshake_is_down_timed_out(plain_port: int) -> None:
    started = time.perf_counter()

    result = probe(target(plain_port, "valid.test", verify=False), timeout=0.3)

    assert result.detail == "timed out after 0.3s"
    assert time.perf_counter() - started < 2


def test_missing_ca_file_is_down_with_the_reason(tls_port: int, tmp_path: Path) -> None:
    result = probe(target(tls_port, "valid.test", ca_file=str(tmp_path / "nope.pem")))

    assert result.outcome == "down"
    assert result.detail.startswith("cannot load CA file ")


def test_critical_days_above_warning_days_is_rejected() -> None:
    with pytest.raises(ValueError, match="critical_days"):
        TlsTarget("example.test", warn_days=3, critical_days=7)
