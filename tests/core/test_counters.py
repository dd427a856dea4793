"""Rate and sign-in counters: in the cache, and in this process while the cache fails."""

import logging

import pytest

from statuspage.core import counters
from statuspage.core.counters import rate_exceeded, window_clear, window_count, window_peek
from tests.private_redis import unreachable_redis_cache


@pytest.fixture(autouse=True)
def _fresh_counters():
    counters.local_clear()
    yield
    counters.local_clear()


@pytest.fixture
def cache_down(settings):
    """The counters' cache is a Redis server that is not there (connection refused)."""
    settings.CACHES = {**settings.CACHES, "counters": unreachable_redis_cache()}


def test_counts_in_the_cache_where_every_process_sees_them():
    from django.core.cache import caches

    assert [window_count("k", window_s=60) for _ in range(3)] == [1, 2, 3]
    store = caches["counters" if "counters" in caches.settings else "default"]
    assert store.get("k") == 3
    assert window_peek("k") == 3
    window_clear("k")
    assert window_peek("k") == 0
    assert store.get("k") is None


def test_counts_in_this_process_when_the_cache_is_unreachable(cache_down):
    assert [window_count("k", window_s=60) for _ in range(3)] == [1, 2, 3]
    assert window_peek("k") == 3
    window_clear("k")
    assert window_peek("k") == 0


def test_rate_limit_still_holds_when_the_cache_is_unreachable(cache_down):
    waits = [rate_exceeded(key="ping:x", limit=3) for _ in range(4)]
    assert waits[:3] == [None, None, None]
    assert waits[3] is not None
    assert 1 <= waits[3] <= 60


def test_one_warning_per_outage_not_one_per_request(cache_down, caplog):
    caplog.set_level(logging.WARNING, logger="statuspage.core.counters")
    for _ in range(5):
        window_count("k", window_s=60)
        rate_exceeded(key="r", limit=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "statuspage.core.counters"]
    assert lines == ["event=counters.fallback error=ConnectionError retry_s=5.0"]


def test_cache_is_used_again_once_it_answers(cache_down, settings, monkeypatch):
    from django.core.cache import caches

    window_count("k", window_s=60)
    assert not counters._cache_usable()
    working = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "counters": working}
    monkeypatch.setattr(counters, "RETRY_S", 0.0)
    counters._cache_down_until = 0.0

    assert window_count("k", window_s=60) == 1
    assert caches["counters"].get("k") == 1


def test_local_windows_end(cache_down, time_machine):
    time_machine.move_to("2026-11-26 12:00:00+00:00", tick=False)
    assert window_count("k", window_s=60) == 1
    assert window_count("k", window_s=60) == 2
    time_machine.shift(61)
    assert window_peek("k") == 0
    assert window_count("k", window_s=60) == 1


def test_several_limits_at_once_share_the_counts_of_single_ones():
    import time_machine

    # Mid-window, so that the four counts fall into one fixed window.
    with time_machine.travel(1_800_000_030, tick=False):
        limits = [("ping-client:a", 10), ("ping:b", 2)]
        assert counters.rates_exceeded(limits=limits) is None
        assert counters.rates_exceeded(limits=limits) is None
        assert rate_exceeded(key="ping-client:a", limit=10) is None  # the third count of "a"
        wait = counters.rates_exceeded(limits=limits)  # "b" counted a third time: over
    assert wait == 30
