"""Activate the signed-in user's time zone for the request (User.time_zone, default UTC)."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# The public status page and its JSON (statuspage/web/public_urls.py, statuspage/api/v2.py).
PUBLIC_PREFIXES = ("/status/", "/api/v2/")


class UserTimeZoneMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            # Without a session cookie nobody is signed in: not reading the session keeps
            # anonymous responses free of "Vary: Cookie" (the public pages' shared caching).
            signed = settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "user")
            zone = getattr(request.user, "time_zone", None) if signed else None
        except DatabaseError:
            # The session's user could not be loaded. The public pages must still answer
            # (from their snapshot) while the database is down, so they fall back to UTC
            # and an anonymous user, and nothing later waits for the database again. Every
            # other page needs the user: the error goes on to the outage answer (a 503),
            # not to a sign-in redirect that could not succeed either.
            if not request.path_info.startswith(PUBLIC_PREFIXES):
                raise
            request.user = AnonymousUser()
            zone = None
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
