"""Activate the signed-in user's time zone for the request (User.time_zone, default UTC)."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


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
            # The session's user could not be loaded: the public pages must still answer
            # (from their snapshot) while the database is down, so fall back to UTC, and
            # to an anonymous user, so nothing later waits for the database again.
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
