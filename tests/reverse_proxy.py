"""A small reverse proxy for tests, in front of a real gunicorn, as nginx would be.

It appends the address of its peer to ``X-Forwarded-For`` (what nginx's
``$proxy_add_x_forwarded_for`` does) and connects upstream from its own source address,
so the app sees the proxy as its TCP peer. Test clients connect from distinct loopback
addresses (127.0.0.2, 127.0.0.3, ...: all of 127.0.0.0/8 is local on Linux) to be
distinct clients.
"""

import asyncio
import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "content-length",
}  # fmt: skip


@dataclass
class ReverseProxy:
    upstream: str
    source: str
    port: int = 0
    forwarded: list[str] = field(default_factory=list)


def _app(proxy: ReverseProxy, session_box: dict) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        peer = request.remote or ""
        sent = request.headers.get("X-Forwarded-For", "")
        chain = f"{sent}, {peer}" if sent else peer
        proxy.forwarded.append(chain)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = chain
        async with session_box["session"].request(
            request.method,
            proxy.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            response = web.Response(status=upstream.status, body=body)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


@contextmanager
def reverse_proxy(upstream: str, *, source: str = "127.0.0.10") -> Iterator[ReverseProxy]:
    """Run the proxy on a thread of its own; yields it once it listens."""
    proxy = ReverseProxy(upstream=upstream.rstrip("/"), source=source)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    session_box: dict = {}
    runner_box: dict = {}

    async def start() -> None:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        session_box["session"] = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        runner = web.AppRunner(_app(proxy, session_box), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy.port = site._server.sockets[0].getsockname()[1]
        runner_box["runner"] = runner

    async def stop() -> None:
        await runner_box["runner"].cleanup()
        await session_box["session"].close()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(stop())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the reverse proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def cookies(self) -> dict[str, str]:
        pairs = [v.split(";", 1)[0] for k, v in self.headers if k.lower() == "set-cookie"]
        return dict(pair.split("=", 1) for pair in pairs)


def call(
    port: int,
    method: str,
    path: str,
    *,
    source: str = "127.0.0.1",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    """One HTTP request to 127.0.0.1:``port`` from the local address ``source``."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        connection.close()
