"""Requests the database or hostile input would otherwise turn into a 500 or a hang.

``DatabaseOutageMiddleware``: a view that fails because the database is unreachable
answers 503 with ``Retry-After`` (JSON for the API and pings, a page otherwise) and one
warning line, instead of a 500 with a traceback per request. Errors raised outside views
reach the same answer through ``handler500`` (statuspage/core/errors.py).

``HostileInputMiddleware``: PostgreSQL text cannot hold NUL characters, so a NUL in the
path, the query string or a form is refused with a 400 before any view sees it; a
malformed ``Content-Length`` is a 400 too. Ping bodies are left to the ping view, which
keeps them (a NUL becomes U+FFFD there).
"""

import logging

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from statuspage.core.errors import DATABASE_DOWN, bad_request, database_unavailable

logger = logging.getLogger("statuspage.errors")

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class DatabaseOutageMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_DOWN):
            logger.warning(
                "event=database.request_failed path=%s error=%s",
                request.path,
                type(exception).__name__,
            )
            return database_unavailable(request)
        return None


def _has_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in data.getlist(key)) for key in data)


class HostileInputMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return bad_request(request, refusal)
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> str | None:
        declared = request.META.get("CONTENT_LENGTH", "")
        if declared and not declared.strip().isdigit():
            return "malformed Content-Length header"
        if NUL in request.path:
            return "the path contains a NUL character"
        try:
            if _has_nul(request.GET):
                return "the query string contains a NUL character"
            if self._reads_form(request) and _has_nul(request.POST):
                return "the form contains a NUL character"
        except TooManyFieldsSent:
            return f"the request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields"
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return f"the request body is larger than {limit} bytes"
        except (BadRequest, SuspiciousOperation, MultiPartParserError) as exc:
            return str(exc) or "the form could not be read"
        return None

    @staticmethod
    def _reads_form(request: HttpRequest) -> bool:
        # Ping bodies are kept as sent: only the ping view reads them.
        return (
            request.method == "POST"
            and not request.path.startswith("/ping/")
            and request.META.get("CONTENT_TYPE", "").startswith(FORM_TYPES)
        )
