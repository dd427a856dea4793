import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from checks.kinds import KINDS
from checks.models import Outcome
from checks.probes.base import DnsTarget, HttpTarget, TcpTarget
from checks.runner import Job, observations_collect, runner_close
from checks.scheduling import Claim
from checks.services import Observation
from tests.checks.probe_servers import serving_app, serving_dns


@dataclass
class Load:
    in_flight: int = 0
    most_in_flight: int = 0
    requests: int = 0
    connections: set[object] = field(default_factory=set)


def build_app(load: Load) -> web.Application:
    async def code(request: web.Request) -> web.Response:
        load.requests += 1
        load.in_flight += 1
        load.most_in_flight = max(load.most_in_flight, load.in_flight)
        load.connections.add(request.transport)
        try:
            await asyncio.sleep(0)
            number = int(request.match_info["number"])
            return web.Response(status=200 + number % 4, text=f"<{number}>")
        finally:
            load.in_flight -= 1

    app = web.Application()
    app.router.add_get("/code/{number}", code)
    return app


@pytest.fixture
def server() -> Iterator[tuple[int, Load]]:
    load = Load()
    with serving_app(build_app(load)) as port:
        yield port, load


@pytest.fixture(autouse=True)
def private_targets_allowed(settings) -> Iterator[None]:
    # The probed servers listen on this host.
    settings.CHECK_PRIVATE_TARGETS = ["private", "loopback"]
    yield
    runner_close()


def job(number: int, kind: str, target: object, timeout: float = 5.0) -> Job:
    return Job(Claim(check_id=number, slot=number), kind, target, timeout)


def http_items(port: int, count: int) -> list[Job]:
    return [
        job(
            number,
            "http",
            HttpTarget(f"http://127.0.0.1:{port}/code/{number}", body_contains=f"<{number}>"),
        )
        for number in range(count)
    ]


def run(items: list[Job], concurrency: int) -> list[Observation]:
    return observations_collect(items, concurrency=concurrency)


def test_500_http_probes_at_concurrency_50_are_all_up_in_order(
    server: tuple[int, Load],
) -> None:
    port, load = server
    items = http_items(port, 500)

    started = time.perf_counter()
    results = run(items, concurrency=50)
    seconds = time.perf_counter() - started

    assert [result.outcome for result in results] == [Outcome.UP] * 500
    assert [result.status_code for result in results] == [200 + n % 4 for n in range(500)]
    assert load.requests == 500
    assert load.most_in_flight <= 50
    # Keep-alive: far fewer connections than requests.
    assert len(load.connections) <= 50
    print(
        f"\nobservations_collect: 500 HTTP probes at concurrency 50 in {seconds:.3f}s "
        f"= {500 / seconds:.0f} probes/s over {len(load.connections)} connections"
    )


def test_batch_mixes_kinds_and_keeps_their_order(server: tuple[int, Load]) -> None:
    port, _ = server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with serving_dns({("app.test.", "A"): ["127.0.0.10"]}, silent=set()) as dns_port:
        items = [
            job(0, "tcp", TcpTarget("127.0.0.1", port)),
            job(1, "http", HttpTarget(f"http://127.0.0.1:{port}/code/1")),
            job(2, "dns", DnsTarget("app.test", nameserver="127.0.0.1", port=dns_port)),
            job(3, "tcp", TcpTarget("127.0.0.1", closed_port)),
            job(4, "http", HttpTarget(f"http://127.0.0.1:{port}/code/2")),
        ]
        results = run(items, concurrency=2)

    assert [result.detail for result in results] == [
        f"connected to 127.0.0.1:{port}",
        "HTTP 201",
        "A 127.0.0.10",
        "connection refused",
        "HTTP 202",
    ]


def test_unknown_kind_or_broken_item_is_a_down_result_not_a_failed_batch(
    server: tuple[int, Load],
) -> None:
    port, _ = server
    items = [
        job(0, "gopher", TcpTarget("127.0.0.1", port), 1.0),
        job(1, "tcp", HttpTarget(f"http://127.0.0.1:{port}/code/0"), 1.0),
        job(2, "http", HttpTarget(f"http://127.0.0.1:{port}/code/0"), 1.0),
    ]

    results = run(items, concurrency=3)

    assert results[0].detail == "unknown check kind 'gopher'"
    assert results[1].outcome == Outcome.DOWN
    assert results[1].detail.startswith("probe error: ")
    assert results[2].outcome == Outcome.UP


def test_batch_refuses_private_targets_unless_allowed(server: tuple[int, Load], settings) -> None:
    port, load = server
    items = http_items(port, 3)
    settings.CHECK_PRIVATE_TARGETS = []

    results = run(items, concurrency=3)

    assert {result.detail for result in results} == {
        "target refused: 127.0.0.1 is a loopback address"
    }
    assert load.requests == 0


def test_empty_batch_returns_no_results() -> None:
    assert run([], concurrency=10) == []


def test_every_probed_kind_has_a_probe_and_a_target_type() -> None:
    probed = {name for name, kind in KINDS.items() if kind.probe}
    assert probed == {name for name, kind in KINDS.items() if kind.target}
    assert probed == {"http", "tcp", "tls", "dns"}
