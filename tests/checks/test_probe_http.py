import asyncio
import datetime as dt
import socket
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from checks.conditions import ConditionSyntaxError
from checks.probes import http
from checks.probes.base import HttpTarget, ProbeResult
from checks.screening import Allowlist
from tests.checks.probe_servers import LocalCA, serving_app

HEALTH = {"ok": True, "db": {"status": "down"}, "queue": [1, 2, 3], "version": 3}


@dataclass
class Server:
    port: int
    hits: Counter[str]
    scheme: str = "http"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def build_app(hits: Counter[str]) -> web.Application:
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        hits[request.path] += 1
        return await handler(request)

    async def health(request: web.Request) -> web.Response:
        return web.json_response(HEALTH)

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="all systems go")

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>fine</html>", content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(int(request.query["ms"]) / 1000)
        return web.Response(text="late")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query.get("to", "/health"))

    async def hops(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left == 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/hops/{left - 1}")

    async def set_cookie(request: web.Request) -> web.Response:
        response = web.Response(text="cookie set")
        response.set_cookie("session", "secret-of-another-check")
        return response

    async def echo_cookie(request: web.Request) -> web.Response:
        return web.json_response({"cookie": request.headers.get("Cookie")})

    app = web.Application(middlewares=[web.middleware(count)])
    app.router.add_get("/health", health)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/text", text)
    app.router.add_get("/not-json", not_json)
    app.router.add_get("/slow", slow)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/hops/{left}", hops)
    app.router.add_get("/set-cookie", set_cookie)
    app.router.add_get("/echo-cookie", echo_cookie)
    app.router.add_get("/count-me", text)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    hits: Counter[str] = Counter()
    with serving_app(build_app(hits)) as port:
        yield Server(port, hits)


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA()


@pytest.fixture(scope="module")
def tls_server(ca: LocalCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("https")
    now = dt.datetime.now(dt.UTC)
    issued = ca.issue(
        ["localhost"], valid_from=now - dt.timedelta(days=1), valid_to=now + dt.timedelta(days=90)
    )
    (directory / "server.pem").write_bytes(issued.cert_pem + issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem")
    hits: Counter[str] = Counter()
    with serving_app(build_app(hits), ssl_context=context) as port:
        yield Server(port, hits, scheme="https")


@pytest.fixture(scope="module")
def ca_file(ca: LocalCA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(ca.cert_pem)
    return str(path)


def probe(
    target: HttpTarget, *, timeout: float = 5.0, allow_private: Allowlist | bool = True
) -> ProbeResult:
    async def run() -> ProbeResult:
        async with http.make_http_session(limit=4) as session:
            return await http.probe(
                target, timeout=timeout, session=session, allow_private=allow_private
            )

    return asyncio.run(run())


def connection_attempts(
    target: HttpTarget, *, allow_private: Allowlist | bool
) -> tuple[ProbeResult, int]:
    """Probe with a trace that counts connection attempts."""
    opened: list[None] = []

    async def on_create(session: Any, context: SimpleNamespace, params: Any) -> None:
        opened.append(None)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_start.append(on_create)

    async def run() -> ProbeResult:
        async with http.make_http_session(limit=4, trace_configs=[trace]) as session:
            return await http.probe(
                target, timeout=5.0, session=session, allow_private=allow_private
            )

    return asyncio.run(run()), len(opened)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthy_endpoint_is_up_with_status_and_latency(server: Server) -> None:
    result = probe(HttpTarget(server.url("/health"), expected_statuses=(200,)))

    assert result.outcome == "up"
    assert result.status_code == 200
    assert result.detail == "HTTP 200"
    assert result.latency_ms is not None and result.latency_ms > 0


def test_unexpected_status_is_down_and_names_the_expected_ones(server: Server) -> None:
    result = probe(HttpTarget(server.url("/status/503"), expected_statuses=(200, 204)))

    assert result.outcome == "down"
    assert result.status_code == 503
    assert result.detail == "HTTP 503 (expected 200, 204)"


def test_without_expected_statuses_any_2xx_passes_and_5xx_fails(server: Server) -> None:
    assert probe(HttpTarget(server.url("/status/204"))).outcome == "up"
    failed = probe(HttpTarget(server.url("/status/500")))
    assert failed.detail == "HTTP 500 (expected 2xx/3xx)"


def test_body_containing_the_text_is_up(server: Server) -> None:
    result = probe(HttpTarget(server.url("/text"), body_contains="systems go"))

    assert result.outcome == "up"


def test_body_lacking_the_text_is_down(server: Server) -> None:
    result = probe(HttpTarget(server.url("/text"), body_contains="ok"))

    assert result.outcome == "down"
    assert result.detail == "body lacks 'ok'"


def test_json_conditions_that_hold_are_up(server: Server) -> None:
    target = HttpTarget(
        server.url("/health"),
        conditions=(
            "ok == true",
            "len(queue) < 100",
            "version >= 2",
            'db.status in ["up", "down"]',
        ),
    )

    assert probe(target).outcome == "up"


def test_failed_json_condition_is_down_with_the_actual_value(server: Server) -> None:
    target = HttpTarget(server.url("/health"), conditions=("ok == true", 'db.status == "up"'))

    result = probe(target)

    assert result.outcome == "down"
    assert result.detail == 'condition failed: db.status == "up"'


def test_condition_on_a_missing_path_is_down(server: Server) -> None:
    result = probe(HttpTarget(server.url("/health"), conditions=("db.replica.lag < 5",)))

    assert result.outcome == "down"
    assert result.detail == "db.replica is missing"


def test_conditions_against_a_body_that_is_not_json_are_down(server: Server) -> None:
    result = probe(HttpTarget(server.url("/not-json"), conditions=("ok == true",)))

    assert result.outcome == "down"
    assert result.detail == "body is not valid JSON"


def test_response_slower_than_the_threshold_is_degraded(server: Server) -> None:
    result = probe(HttpTarget(server.url("/slow?ms=250"), degraded_ms=100))

    assert result.outcome == "degraded"
    assert result.latency_ms is not None and result.latency_ms >= 250
    assert result.detail.startswith("HTTP 200 in ")
    assert result.detail.endswith("(slower than 100 ms)")


def test_response_slower_than_the_timeout_is_down_timed_out(server: Server) -> None:
    started = time.perf_counter()

    result = probe(HttpTarget(server.url("/slow?ms=1500")), timeout=0.3)

    assert result.outcome == "down"
    assert result.detail == "timed out after 0.3s"
    assert time.perf_counter() - started < 2


def test_redirect_is_followed_by_default(server: Server) -> None:
    result = probe(HttpTarget(server.url("/redirect"), expected_statuses=(200,)))

    assert result.outcome == "up"
    assert result.status_code == 200


def test_redirect_not_followed_reports_the_redirect_status(server: Server) -> None:
    strict = HttpTarget(server.url("/redirect"), expected_statuses=(200,), follow_redirects=False)
    lenient = HttpTarget(server.url("/redirect"), follow_redirects=False)

    assert probe(strict).detail == "HTTP 302 (expected 200)"
    assert probe(lenient).outcome == "up"
    assert probe(lenient).status_code == 302


def test_port_with_nothing_listening_is_down_connection_refused() -> None:
    result = probe(HttpTarget(f"http://127.0.0.1:{free_port()}/health"))

    assert result.outcome == "down"
    assert result.detail == "connection refused"


def test_metadata_address_is_refused_before_connecting() -> None:
    target = HttpTarget("http://169.254.169.254/latest/meta-data/")

    result, attempts = connection_attempts(target, allow_private=True)

    assert result.outcome == "down"
    assert result.detail == "target refused: 169.254.169.254 is a cloud metadata address"
    assert attempts == 0


def test_metadata_host_name_is_refused_without_a_dns_lookup() -> None:
    result, attempts = connection_attempts(
        HttpTarget("http://metadata.google.internal/computeMetadata/v1/"), allow_private=True
    )

    assert result.detail == "target refused: metadata.google.internal is a cloud metadata host name"
    assert attempts == 0


@pytest.mark.parametrize(
    "host",
    [
        "0xa9.0xfe.0xa9.0xfe",
        "2852039166",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",
        "[::169.254.169.254]",
        "[2001:0:4136:e378:8000:63bf:5601:5601]",
    ],
)
def test_metadata_address_in_any_spelling_is_refused_before_connecting(host: str) -> None:
    target = HttpTarget(f"http://{host}/latest/meta-data/")

    result, attempts = connection_attempts(target, allow_private=True)

    assert result.outcome == "down"
    assert result.detail.startswith("target refused: ")
    assert result.detail.endswith(" (169.254.169.254) is a cloud metadata address")
    assert attempts == 0


def test_short_hex_spelling_of_loopback_needs_loopback_in_the_allowlist(server: Server) -> None:
    target = HttpTarget(server.url("/hops/0", host="0x7f.1"))
    before = server.hits["/hops/0"]

    refused = probe(target, allow_private=Allowlist.parse(["private"]))
    assert refused.detail == "target refused: 0x7f.1 (127.0.0.1) is a loopback address"
    assert server.hits["/hops/0"] == before

    allowed = probe(target, allow_private=Allowlist.parse(["private", "loopback"]))
    assert allowed.outcome == "up"
    assert server.hits["/hops/0"] == before + 1


def test_redirect_to_a_link_local_address_is_refused(server: Server) -> None:
    target = HttpTarget(server.url("/redirect?to=http://169.254.10.10/internal"))

    result, attempts = connection_attempts(target, allow_private=True)

    assert result.outcome == "down"
    assert result.detail == "target refused: 169.254.10.10 is a link-local address"
    assert attempts == 1  # the first hop only


def test_three_redirects_are_followed(server: Server) -> None:
    result = probe(HttpTarget(server.url("/hops/3")))

    assert result.outcome == "up"
    assert server.hits["/hops/0"] >= 1


def test_a_fourth_redirect_is_not_followed(server: Server) -> None:
    before = server.hits["/hops/0"]

    result = probe(HttpTarget(server.url("/hops/4")))

    assert result.outcome == "down"
    assert result.detail == "more than 3 redirects"
    assert server.hits["/hops/0"] == before


@pytest.fixture(scope="module")
def second_loopback_server() -> Iterator[Server]:
    """A server on 127.0.0.2: allowed by a CIDR, it stands for a permitted target whose
    redirect points somewhere the allowlist does not cover (127.0.0.1)."""
    hits: Counter[str] = Counter()
    with serving_app(build_app(hits), host="127.0.0.2") as port:
        yield Server(port, hits)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0x7f.1", "[::ffff:127.0.0.1]"])
def test_redirect_from_an_allowed_target_to_loopback_is_refused_at_connect_time(
    server: Server, second_loopback_server: Server, host: str
) -> None:
    before = server.hits["/text"]
    location = server.url("/text", host=host)
    target = HttpTarget(second_loopback_server.url(f"/redirect?to={location}", host="127.0.0.2"))

    result = probe(target, allow_private=Allowlist.parse(["127.0.0.2/32"]))

    assert result.outcome == "down"
    assert result.detail.startswith("target refused: ")
    assert result.detail.endswith("a loopback address")
    assert second_loopback_server.hits["/redirect"] >= 1
    assert server.hits["/text"] == before


def test_redirect_within_the_allowlist_is_followed(
    server: Server, second_loopback_server: Server
) -> None:
    location = server.url("/text")
    target = HttpTarget(second_loopback_server.url(f"/redirect?to={location}", host="127.0.0.2"))

    result = probe(target, allow_private=Allowlist.parse(["loopback"]))

    assert result.outcome == "up"


def test_loopback_address_is_refused_unless_private_targets_are_allowed(server: Server) -> None:
    result = probe(HttpTarget(server.url("/count-me")), allow_private=False)

    assert result.detail == "target refused: 127.0.0.1 is a loopback address"
    assert server.hits["/count-me"] == 0


def test_name_resolving_to_loopback_is_refused_before_the_request_is_sent(
    server: Server,
) -> None:
    result = probe(HttpTarget(server.url("/count-me", host="localhost")), allow_private=False)

    assert result.outcome == "down"
    assert result.detail.startswith("target refused: localhost resolves to ")
    assert result.detail.endswith(", a loopback address")
    assert server.hits["/count-me"] == 0


def test_pooled_connection_is_screened_again_for_a_stricter_probe(server: Server) -> None:
    target = HttpTarget(server.url("/health"))

    async def run() -> tuple[ProbeResult, ProbeResult]:
        async with http.make_http_session(limit=1) as session:
            allowed = await http.probe(target, timeout=5, session=session, allow_private=True)
            strict = await http.probe(target, timeout=5, session=session, allow_private=False)
            return allowed, strict

    allowed, strict = asyncio.run(run())

    assert allowed.outcome == "up"
    assert strict.outcome == "down"
    assert strict.detail.startswith("target refused:")


def test_cookies_from_one_probe_are_not_sent_by_the_next(server: Server) -> None:
    async def run() -> ProbeResult:
        async with http.make_http_session(limit=1) as session:
            await http.probe(
                HttpTarget(server.url("/set-cookie")),
                timeout=5,
                session=session,
                allow_private=True,
            )
            echo = HttpTarget(server.url("/echo-cookie"), conditions=("cookie == null",))
            return await http.probe(echo, timeout=5, session=session, allow_private=True)

    assert asyncio.run(run()).outcome == "up"


def test_https_with_the_test_ca_trusted_is_up(tls_server: Server, ca_file: str) -> None:
    target = HttpTarget(tls_server.url("/health", host="localhost"), ca_file=ca_file)

    assert probe(target).outcome == "up"


def test_https_with_an_untrusted_certificate_is_down(tls_server: Server) -> None:
    result = probe(HttpTarget(tls_server.url("/health", host="localhost")))

    assert result.outcome == "down"
    assert result.detail.startswith("certificate verify failed: ")


def test_https_without_verification_accepts_the_certificate(tls_server: Server) -> None:
    target = HttpTarget(tls_server.url("/health"), verify_tls=False)

    assert probe(target).outcome == "up"


def test_probe_without_a_session_opens_its_own(server: Server) -> None:
    target = HttpTarget(server.url("/health"))

    result = asyncio.run(http.probe(target, timeout=5, allow_private=True))

    assert result.outcome == "up"


def test_a_session_without_screening_is_rejected(server: Server) -> None:
    async def run() -> ProbeResult:
        async with aiohttp.ClientSession() as session:
            return await http.probe(HttpTarget(server.url("/health")), timeout=5, session=session)

    with pytest.raises(TypeError, match="make_http_session"):
        asyncio.run(run())


def test_target_accepts_a_json_config_and_normalises_it() -> None:
    config = {
        "url": "https://example.test/health",
        "method": "head",
        "expected_statuses": [200, 204],
        "conditions": ["ok == true"],
        "headers": {"Accept": "application/json"},
    }

    target = HttpTarget(**config)

    assert target.method == "HEAD"
    assert target.expected_statuses == (200, 204)
    assert target.conditions == ("ok == true",)
    assert dict(target.headers) == {"Accept": "application/json"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"url": "ftp://example.test/"}, "http:// or https://"),
        ({"url": "http:///path"}, "with a host"),
        ({"url": "http://example.test/", "method": "BREW"}, "unsupported HTTP method"),
        ({"url": "http://example.test/", "expected_statuses": [700]}, "between 100 and 599"),
        ({"url": "http://example.test/", "degraded_ms": 0}, "positive"),
    ],
)
def test_invalid_target_config_is_rejected_with_a_reason(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HttpTarget(**config)


def test_invalid_condition_is_rejected_when_the_target_is_built() -> None:
    with pytest.raises(ConditionSyntaxError, match="column 4"):
        HttpTarget("http://example.test/", conditions=("ok = true",))
