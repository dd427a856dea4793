"""Pings through the WSGI application that gunicorn serves, whose ping requests take a
shorter middleware chain (statuspage/wsgi.py): every protection of the full chain holds.

The database outage answer of pings through that chain is tested under a real gunicorn
(tests/core/test_database_outage.py), and so is the client address behind a proxy
(tests/core/test_behind_proxy.py).
"""

import io
import sys
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from checks.models import Check, Kind, Ping
from checks.ping_intake import pings_drain
from statuspage.core import counters
from statuspage.wsgi import PingHandler, application, ping_middleware
from tests.checks.factories import make_check

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


@pytest.fixture(autouse=True)
def _served(settings):
    settings.ALLOWED_HOSTS = ["status.example.com"]
    counters.local_clear()


@pytest.fixture
def job(service) -> Check:
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        return make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600)


def serve(path: str, *, method: str = "GET", query: str = "", body: bytes = b"", **extra):
    """One request through the WSGI application: (status code, headers, body)."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "status.example.com", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "status.example.com", "REMOTE_ADDR": "203.0.113.9",
        "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)) if body else "",
        **extra,
    }  # fmt: skip
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    # As Django's test client does: the test's transaction keeps its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def test_the_ping_chain_is_the_full_chain_less_the_page_middleware_in_the_same_order():
    chain = ping_middleware(django_settings.MIDDLEWARE, django_settings.PING_MIDDLEWARE_SKIPPED)
    assert chain == [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
        "statuspage.core.middleware.HostileInputMiddleware",
        "statuspage.core.middleware.DatabaseOutageMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    # Building the ping handler leaves the site's chain as it was.
    PingHandler()
    assert "django.contrib.sessions.middleware.SessionMiddleware" in django_settings.MIDDLEWARE


@pytest.mark.django_db
def test_a_ping_is_stored_and_answered_with_the_headers_of_any_page(job):
    status, headers, content = serve(f"/ping/{job.ping_uuid}", HTTP_USER_AGENT="cron/1")
    assert (status, content) == (200, b"OK\n")
    _, page_headers, _ = serve("/health")
    for name in SECURITY_HEADERS:
        assert headers[name] == page_headers[name], name
    assert "Set-Cookie" not in headers
    pings_drain()  # on PostgreSQL the ping waits in the inbox until then
    stored = Ping.objects.get(check_ref=job)
    assert (stored.remote_addr, stored.user_agent) == ("203.0.113.9", "cron/1")


@pytest.mark.django_db
def test_a_ping_to_a_host_not_allowed_is_a_400(job):
    status, _, _ = serve(f"/ping/{job.ping_uuid}", HTTP_HOST="attacker.example")
    assert status == 400
    assert pings_drain().pings == 0
    assert Ping.objects.count() == 0


@pytest.mark.django_db
def test_a_nul_in_a_pings_query_string_is_a_400(job):
    status, _, content = serve(f"/ping/{job.ping_uuid}", query="rid=a%00b")
    assert status == 400
    assert b"NUL" in content
    assert pings_drain().pings == 0
    assert Ping.objects.count() == 0


@pytest.mark.django_db
def test_a_malformed_content_length_on_a_ping_is_a_400(job):
    status, _, _ = serve(f"/ping/{job.ping_uuid}", method="POST", CONTENT_LENGTH="12abc")
    assert status == 400
    assert pings_drain().pings == 0
    assert Ping.objects.count() == 0


@pytest.mark.django_db
def test_unknown_too_large_and_too_many_pings_answer_404_413_and_429(job, settings):
    assert serve(f"/ping/{uuid.UUID(int=7)}")[0] == 404
    assert serve("/ping/not-a-uuid")[0] == 404
    big = b"x" * 100_001
    assert serve(f"/ping/{job.ping_uuid}", method="POST", body=big)[0] == 413
    settings.PING_RATE_PER_MINUTE = 1
    with time_machine.travel(1_800_000_030, tick=False):
        assert serve(f"/ping/{job.ping_uuid}/start")[0] == 200
        status, headers, _ = serve(f"/ping/{job.ping_uuid}")
    assert (status, headers["Retry-After"]) == (429, "30")
    pings_drain()
    assert Ping.objects.filter(check_ref=job).count() == 1


@pytest.mark.django_db
def test_a_ping_body_and_exit_status_are_kept(job):
    status, _, _ = serve(f"/ping/{job.ping_uuid}/3", method="POST", body=b"rows=12\x00")
    assert status == 200
    pings_drain()
    stored = Ping.objects.get(check_ref=job)
    assert (stored.exit_status, stored.body, stored.method) == (3, "rows=12\ufffd", "POST")
