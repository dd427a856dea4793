"""Heartbeat ping endpoints: /ping/<uuid>[/start|/fail|/<exit status>].

Compatible with the common heartbeat conventions: GET, POST or HEAD; an optional ``rid``
query parameter pairs a start with its finish; the first ``PING_BODY_LIMIT_BYTES`` of the
body are kept. Answers are plain text and never a 500: an unknown uuid is a 404, too many
pings a 429.

A 200 means the ping is stored: on PostgreSQL it is committed as a pending row before the
answer and a drain task applies it to the check's state shortly after
(``checks.ping_intake``); on SQLite it is applied before the answer.
"""

import uuid

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from checks.heartbeats import PingInput, ping_record
from checks.models import PingKind
from checks.ping_intake import ping_accept
from statuspage.core.client import client_address
from statuspage.core.counters import rates_exceeded
from statuspage.core.metrics import ping_count

MAX_EXIT_STATUS = 255
# Bodies above this are refused outright instead of being read and cut.
MAX_ACCEPTED_BODY = 100_000


def _text(body: str, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class BodyTooLarge(Exception):
    pass


def _raw_body(request: HttpRequest) -> bytes:
    """The request body, at most MAX_ACCEPTED_BODY bytes, chunked bodies included.

    Django reads nothing of a body sent without Content-Length (chunked), so such a body
    is read from the server's own stream, which ends where the chunks end.
    """
    # A malformed Content-Length never gets here (HostileInputMiddleware answers 400).
    declared = request.META.get("CONTENT_LENGTH", "")
    if declared:
        if int(declared) > MAX_ACCEPTED_BODY:
            raise BodyTooLarge
        return request.body
    if not request.META.get("wsgi.input_terminated"):
        return b""
    raw = request.META["wsgi.input"].read(MAX_ACCEPTED_BODY + 1)
    if len(raw) > MAX_ACCEPTED_BODY:
        raise BodyTooLarge
    return raw


def _body(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL: kept visible as U+FFFD like any undecodable byte.
    text = raw[: settings.PING_BODY_LIMIT_BYTES].decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")


def _handle(request: HttpRequest, ping_uuid: uuid.UUID, kind: str, exit_status=None):
    response = _answer(request, ping_uuid, kind, exit_status)
    ping_count(kind=kind, code=response.status_code)
    return response


def _answer(request: HttpRequest, ping_uuid: uuid.UUID, kind: str, exit_status=None):
    try:
        raw = _raw_body(request) if request.method == "POST" else b""
    except BodyTooLarge:
        return _text(
            f"body too large: at most {MAX_ACCEPTED_BODY} bytes are accepted "
            f"and the first {settings.PING_BODY_LIMIT_BYTES} kept\n",
            status=413,
        )
    address = client_address(request)
    # The per-client cap comes first so that guessing at uuids is capped too.
    limits = [
        (f"ping-client:{address}", settings.PING_CLIENT_RATE_PER_MINUTE),
        (f"ping:{ping_uuid}", settings.PING_RATE_PER_MINUTE),
    ]
    wait = rates_exceeded(limits=limits)
    if wait is not None:
        return _text("rate limited\n", status=429, Retry_After=str(wait))
    ping = PingInput(
        kind=kind,
        exit_status=exit_status,
        rid=request.GET.get("rid", ""),
        method=request.method or "GET",
        remote_addr=address,
        user_agent=request.headers.get("User-Agent", ""),
        body=_body(raw),
    )
    store = ping_accept if connection.vendor == "postgresql" else ping_record
    if store(ping_uuid=ping_uuid, ping=ping, now=timezone.now()) is None:
        return _text("not found\n", status=404)
    return _text("OK\n")


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping_success(request: HttpRequest, ping_uuid: uuid.UUID) -> HttpResponse:
    return _handle(request, ping_uuid, PingKind.SUCCESS)


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping_start(request: HttpRequest, ping_uuid: uuid.UUID) -> HttpResponse:
    return _handle(request, ping_uuid, PingKind.START)


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping_fail(request: HttpRequest, ping_uuid: uuid.UUID) -> HttpResponse:
    return _handle(request, ping_uuid, PingKind.FAIL)


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping_exit(request: HttpRequest, ping_uuid: uuid.UUID, exit_status: int) -> HttpResponse:
    if exit_status > MAX_EXIT_STATUS:
        return _text(f"exit status must be 0-{MAX_EXIT_STATUS}\n", status=400)
    return _handle(request, ping_uuid, PingKind.EXIT, exit_status)
