"""Heartbeat ping endpoints: /ping/<uuid>[/start|/fail|/<exit status>].

Compatible with the common heartbeat conventions: GET, POST or HEAD; an optional ``rid``
query parameter pairs a start with its finish; the first 10 KB of the body are kept.
Answers are plain text and never a 500: an unknown uuid is a 404, too many pings a 429.
"""

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from checks.heartbeats import PingInput, ping_record
from checks.models import PingKind
from statuspage.core.client import client_address
from statuspage.core.counters import rate_exceeded

MAX_EXIT_STATUS = 255
# Bodies above this are refused outright instead of being read and cut.
MAX_ACCEPTED_BODY = 100_000


def _text(body: str, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _body(request: HttpRequest) -> str:
    raw = request.body[: settings.PING_BODY_LIMIT_BYTES] if request.method == "POST" else b""
    return raw.decode("utf-8", errors="replace")


def _handle(request: HttpRequest, ping_uuid: uuid.UUID, kind: str, exit_status=None):
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_ACCEPTED_BODY:
        return _text("body too large (keep it under 10 KB)\n", status=413)
    address = client_address(request)
    # The per-client cap comes first so that guessing at uuids is capped too.
    limits = (
        (f"ping-client:{address}", settings.PING_CLIENT_RATE_PER_MINUTE),
        (f"ping:{ping_uuid}", settings.PING_RATE_PER_MINUTE),
    )
    for key, limit in limits:
        wait = rate_exceeded(key=key, limit=limit)
        if wait is not None:
            return _text("rate limited\n", status=429, Retry_After=str(wait))
    ping = PingInput(
        kind=kind,
        exit_status=exit_status,
        rid=request.GET.get("rid", ""),
        method=request.method or "GET",
        remote_addr=address,
        user_agent=request.headers.get("User-Agent", ""),
        body=_body(request),
    )
    if ping_record(ping_uuid=ping_uuid, ping=ping, now=timezone.now()) is None:
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
