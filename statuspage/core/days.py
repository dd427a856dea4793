"""The one day boundary for every per-day figure: rollups, bars, history, feeds and JSON.

A day is a calendar day in the status page's time zone (``STATUS_PAGE_TIME_ZONE``, UTC by
default), whoever is looking: an incident and the uptime it cost sit on the same day
everywhere. A signed-in user's own time zone changes how times are written, not where days
begin.

The daily rollups follow it: a day's rollup starts at that day's local midnight and sums the
hourly rollups that start inside the day, so an hour belongs to the day its start falls in.
Hourly rollups start on whole UTC hours, which makes the rule exact for every zone whose
offset is a whole number of hours, DST included (a day of 23 or 25 hours sums 23 or 25
hours). In a zone with a half- or quarter-hour offset (Asia/Kolkata, Australia/Adelaide,
Asia/Kathmandu) the bars' day runs from the first whole UTC hour after local midnight to
the same hour the next day, so results just after midnight count for the day before;
incident times and the history still use the exact local midnight. A midnight that a DST
change skips moves to the first moment that exists.

Changing the time zone moves every day boundary: ``manage.py rollups_rebuild_days``
rebuilds the daily rollups from the hourly ones still kept (older daily rollups stay on
the old boundary, read as the day they overlap most).
"""

from datetime import UTC, date, datetime, time, timedelta
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
    """The moment ``day`` begins (local midnight, shifted past a DST gap if needed), in UTC:
    arithmetic on a datetime in the page's zone is wall-clock arithmetic, so an hour added
    across a DST change would land an hour off."""
    return datetime.combine(day, time(), tzinfo=day_zone()).astimezone(UTC)


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))
