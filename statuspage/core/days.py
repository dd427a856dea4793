"""The one day boundary for every per-day figure: rollups, bars, history, feeds and JSON.

A day is a calendar day in the status page's time zone (``STATUS_PAGE_TIME_ZONE``, UTC by
default), whoever is looking: an incident and the uptime it cost sit on the same day
everywhere. A signed-in user's own time zone changes how times are written, not where days
begin.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def day_zone() -> ZoneInfo:
    try:
        return ZoneInfo(settings.STATUS_PAGE.get("time_zone") or "Etc/UTC")
    except (ValueError, KeyError):
        return ZoneInfo("Etc/UTC")


def day_of(moment: datetime) -> date:
    """The calendar day (in the page's time zone) that holds ``moment``."""
    return moment.astimezone(day_zone()).date()


def day_start(day: date) -> datetime:
    """The aware moment ``day`` begins (local midnight, shifted past a DST gap if needed)."""
    zone = day_zone()
    return datetime.combine(day, time(), tzinfo=zone).astimezone(zone)


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))
