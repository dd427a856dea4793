"""Redis unreachable or silent, seen from the API side: a state change is still stored and
answered, the status-version bump logs and carries on, and a silent server costs a
bounded wait instead of a hang."""

import logging
import socket
import threading
import uuid
from contextlib import contextmanager

import pytest
from django.core.cache import caches
from django.utils import timezone
from redis.exceptions import TimeoutError as RedisTimeout

from checks.heartbeats import PingInput, ping_record
from checks.models import Kind, Ping, PingKind, State, Transition
from statuspage.core.status_version import status_version_bump
from tests.checks.factories import make_check
from tests.core.worlds import settings_in_a_fresh_process


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_cache_at(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@contextmanager
def silent_server():
    """Accepts connections and never answers: a Redis that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.django_db(transaction=True)
def test_a_bump_with_the_cache_down_logs_and_does_not_raise(settings, caplog):
    settings.CACHES = redis_cache_at(_closed_port())
    with caplog.at_level(logging.WARNING, logger="statuspage.cache"):
        status_version_bump()  # outside a transaction: runs at once
    assert "event=status_version.bump_failed error=ConnectionError" in caplog.text


@pytest.mark.django_db
def test_a_ping_that_changes_state_is_stored_with_the_cache_down(
    service, settings, django_capture_on_commit_callbacks
):
    job = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, failures_before_down=1)
    settings.CACHES = redis_cache_at(_closed_port())
    ping = PingInput(
        kind=PingKind.FAIL,
        exit_status=None,
        rid="",
        method="POST",
        remote_addr="127.0.0.1",
        user_agent="curl/8",
        body="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert ping_record(ping_uuid=job.ping_uuid, ping=ping, now=timezone.now()) is not None
    job.refresh_from_db()
    assert job.state == State.DOWN
    assert Ping.objects.filter(check_ref=job).count() == 1
    assert Transition.objects.filter(check_ref=job).count() == 1


def test_a_silent_redis_raises_a_timeout_instead_of_hanging(settings):
    # The options the settings give a Redis cache by default.
    options = settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:6379/0")["cache"]
    with silent_server() as port:
        settings.CACHES = {"default": {**redis_cache_at(port)["default"], "OPTIONS": options}}
        with pytest.raises(RedisTimeout):
            caches["default"].get(f"probe-{uuid.uuid4().hex}")
