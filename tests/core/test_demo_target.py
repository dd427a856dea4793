"""The demo target `make run` starts: real sockets, the endpoints the demo checks watch."""

import http.client
import json
import threading
import time

import pytest

from statuspage.core import demo_target


@pytest.fixture
def target():
    server = demo_target.serve(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def get(port: int, path: str) -> tuple[int, dict, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    started = time.monotonic()
    conn.request("GET", path)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body, time.monotonic() - started


def test_health_and_queue_answer_like_a_healthy_service(target):
    assert get(target, "/health")[:2] == (200, {"ok": True})
    status, body, _ = get(target, "/queue")
    assert status == 200
    assert body["depth"] < 100


def test_the_failing_endpoint_fails_on_purpose(target):
    status, body, _ = get(target, "/deliberately-failing")
    assert status == 503
    assert body["ok"] is False


def test_the_slow_endpoint_waits_before_answering(target):
    status, _, took = get(target, "/deliberately-slow")
    assert status == 200
    assert took >= demo_target.SLOW_S


def test_unknown_paths_are_404(target):
    assert get(target, "/nope")[0] == 404
