"""Ping bodies through a real gunicorn, including chunked ones (no Content-Length), which
Django alone would read as empty."""

import socket
import threading

import pytest
from django.db import connection

from checks.models import Kind, Ping
from checks.ping_intake import pings_drain
from tests.checks.factories import make_check
from tests.core.live_stack import gunicorn, stack_env

pytestmark = pytest.mark.postgres


def live_database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def send_chunked(base: str, path: str, body: bytes, chunk: int = 64 * 1024) -> tuple[int, bytes]:
    """POST ``body`` in chunks while reading the answer, as curl does: a server may answer
    before the whole body is sent."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    answer = bytearray()

    def read() -> None:
        try:
            while data := sock.recv(65536):
                answer.extend(data)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    try:
        sock.sendall(head.encode())
        for start in range(0, len(body), chunk):
            part = body[start : start + chunk]
            sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed before the rest was sent
    reader.join(timeout=10)
    sock.close()
    status_line, _, rest = bytes(answer).partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
def live(transactional_db, tmp_path):
    env = stack_env(live_database_url(), tmp_path / "var")
    with gunicorn(env, tmp_path / "gunicorn.log", workers=1) as base:
        yield base


def test_a_chunked_ping_body_is_stored_and_an_oversized_one_is_a_413(live, service):
    job = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={})
    path = f"/ping/{job.ping_uuid}"

    assert send_chunked(live, path, b"rows=12\x00done") == (200, b"OK\n")
    pings_drain()  # on PostgreSQL the ping waits in the inbox until then
    assert Ping.objects.get().body == "rows=12\ufffddone"

    status, text = send_chunked(live, path, b"x" * 3_000_000)
    assert status == 413
    assert b"body too large" in text
    pings_drain()
    assert Ping.objects.count() == 1
