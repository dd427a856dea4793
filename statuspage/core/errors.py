"""Error answers that need neither the database nor a signed-in user.

JSON (``{"detail": ...}``) for the API, pings and health endpoints, a plain page for the
team site and the admin. ``handler400``/``handler500`` are the project's error views; the
500 view answers 503 instead when the error is the database being unreachable, wherever
it was raised (a view, a template, a middleware saving the session).
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("statuspage.errors")

# Django wraps psycopg's errors, the pool timeout included, into these two.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_S = 10
JSON_PREFIXES = ("/api/", "/ping/", "/health", "/ready")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def _page(template: str, status: int, **context) -> HttpResponse:
    # Rendered without the request: context processors would load the session's user.
    return HttpResponse(render_to_string(template, context), status=status)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After``: the database cannot be reached right now."""
    if wants_json(request):
        response = JsonResponse(
            {"detail": "the database is unavailable; retry shortly"}, status=503
        )
    else:
        title = "Temporarily unavailable"
        response = _page("errors/503.html", 503, title=title, retry_after=RETRY_AFTER_S)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": message}, status=status)
    return _page("errors/400.html", status, title="Bad request", message=message)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Django's messages (too many fields, a bad Host) are written for the client.
    message = str(exception) if exception is not None and str(exception) else "malformed request"
    return bad_request(request, message)


def handler500(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_DOWN):
        logger.warning("event=database.request_failed path=%s error=%s", request.path, exc)
        return database_unavailable(request)
    if wants_json(request):
        return JsonResponse({"detail": "internal error; it has been logged"}, status=500)
    return _page("errors/500.html", 500, title="Server error")
