"""Where each window of history begins: hourly windows at a whole hour, daily windows at the
start of a day of the status page's time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from checks.selectors import window_start

NOW = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)


def test_hourly_windows_begin_at_the_first_whole_hour_inside_them():
    assert window_start("24h", NOW) == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert window_start("7d", NOW) == datetime(2026, 11, 19, 13, 0, tzinfo=UTC)


def test_daily_windows_begin_at_a_utc_midnight_by_default():
    assert window_start("30d", NOW) == datetime(2026, 10, 28, tzinfo=UTC)
    assert window_start("90d", NOW) == datetime(2026, 8, 29, tzinfo=UTC)


def test_daily_windows_begin_at_midnight_of_the_page_time_zone(settings):
    # 12:30 UTC is 01:30 the next day in Auckland (UTC+13 in November).
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": "Pacific/Auckland"}

    start = window_start("30d", NOW)

    assert start == datetime(2026, 10, 29, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert start == datetime(2026, 10, 28, 11, 0, tzinfo=UTC)


def test_an_unknown_window_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown window '2d'"):
        window_start("2d", NOW)
