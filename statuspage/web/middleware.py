"""Activate the signed-in user's time zone for the request (User.time_zone, default UTC)."""

import zoneinfo

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class UserTimeZoneMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            zone = getattr(request.user, "time_zone", None) if hasattr(request, "user") else None
        except DatabaseError:
            # The session's user could not be loaded: the public pages must still answer
            # (from their snapshot) while the database is down, so fall back to UTC.
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
