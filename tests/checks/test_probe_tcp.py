import asyncio
import socket
import sys
import time
from collections.abc import Iterator

import pytest

from checks.probes import tcp
from checks.probes.base import ProbeResult, TcpTarget
from checks.screening import Allowlist
from tests.checks.probe_servers import serving_streams


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.fixture(scope="module")
def open_port() -> Iterator[int]:
    with serving_streams(close_at_once) as port:
        yield port


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A listener whose accept queue is full, so a new connection is never completed.

    Linux drops the SYN of a connection that would overflow the queue (with
    tcp_abort_on_overflow off, the default), and the client keeps waiting.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
            time.sleep(0.05)
            if not _connected(filler):
                break
        else:
            pytest.skip("could not fill the accept queue on this system")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(
    target: TcpTarget, *, timeout: float = 5.0, allow_private: Allowlist | bool = True
) -> ProbeResult:
    return asyncio.run(tcp.probe(target, timeout=timeout, allow_private=allow_private))


def test_open_port_is_up_with_the_connect_time(open_port: int) -> None:
    result = probe(TcpTarget("127.0.0.1", open_port))

    assert result.outcome == "up"
    assert result.detail == f"connected to 127.0.0.1:{open_port}"
    assert result.latency_ms is not None and result.latency_ms > 0


def test_host_name_is_resolved_and_connected(open_port: int) -> None:
    result = probe(TcpTarget("localhost", open_port))

    assert result.outcome == "up"


def test_closed_port_is_down_connection_refused() -> None:
    result = probe(TcpTarget("127.0.0.1", free_port()))

    assert result.outcome == "down"
    assert result.detail == "connection refused"


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux accept-queue overflow")
def test_connection_that_never_completes_is_down_timed_out(unaccepting_port: int) -> None:
    started = time.perf_counter()

    result = probe(TcpTarget("127.0.0.1", unaccepting_port), timeout=0.3)

    assert result.outcome == "down"
    assert result.detail == "timed out after 0.3s"
    assert time.perf_counter() - started < 2


def test_slow_connect_over_the_threshold_is_degraded(open_port: int) -> None:
    # Any real connect takes more than a millionth of a millisecond.
    result = probe(TcpTarget("127.0.0.1", open_port, degraded_ms=0.000001))

    assert result.outcome == "degraded"


def test_loopback_is_refused_unless_private_targets_are_allowed(open_port: int) -> None:
    result = probe(TcpTarget("127.0.0.1", open_port), allow_private=False)

    assert result.outcome == "down"
    assert result.detail == "target refused: 127.0.0.1 is a loopback address"


def test_name_resolving_to_loopback_is_refused_unless_allowed(open_port: int) -> None:
    result = probe(TcpTarget("localhost", open_port), allow_private=False)

    assert result.detail.startswith("target refused: localhost resolves to ")


def test_metadata_address_is_refused_even_when_private_targets_are_allowed() -> None:
    result = probe(TcpTarget("169.254.169.254", 80), allow_private=True)

    assert result.detail == "target refused: 169.254.169.254 is a cloud metadata address"


@pytest.mark.parametrize(
    "host", ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::", "::169.254.169.254", "2852039166"]
)
def test_metadata_carried_in_another_form_is_refused_before_connecting(host: str) -> None:
    result = probe(TcpTarget(host, 80), allow_private=True)

    assert result.detail.startswith("target refused: ")
    assert result.detail.endswith("(169.254.169.254) is a cloud metadata address")


def test_short_spelling_of_loopback_connects_to_the_address_it_is(open_port: int) -> None:
    refused = probe(TcpTarget("0x7f.1", open_port), allow_private=Allowlist.parse(["private"]))
    allowed = probe(TcpTarget("0x7f.1", open_port), allow_private=Allowlist.parse(["loopback"]))

    assert refused.detail == "target refused: 0x7f.1 (127.0.0.1) is a loopback address"
    assert allowed.outcome == "up"
    assert allowed.detail == f"connected to 127.0.0.1:{open_port}"


@pytest.mark.parametrize("port", [0, 65536, True])
def test_port_outside_the_valid_range_is_rejected(port: int) -> None:
    with pytest.raises(ValueError, match="port must be between 1 and 65535"):
        TcpTarget("db.internal", port)
