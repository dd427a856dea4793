"""The pings' rate counts on a private Redis: added in batches by one script call, kept
counting in Redis across a Redis restart (which empties its script cache)."""

import math

import pytest
import redis
import time_machine

from statuspage.core import counters
from tests.private_redis import private_redis

pytestmark = [pytest.mark.redis]


@pytest.fixture
def counting_redis(settings, tmp_path):
    with private_redis(tmp_path / "redis") as server:
        counts = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        settings.CACHES = {**settings.CACHES, "counters": counts}
        settings.PING_RATE_SHARE_S = 0  # every call adds its counts in Redis
        counters.local_clear()
        yield server
        counters.local_clear()


def stored_count(server, key: str) -> int:
    client = redis.Redis(port=server.port)
    (name,) = client.keys(f"*rate:{key}:*")
    return int(client.get(name))


def test_counts_go_on_in_redis_after_it_forgot_the_script(counting_redis):
    limits = [("ping-client:192.0.2.1", 10), ("ping:a", 3)]
    with time_machine.travel(1_800_000_030, tick=False):
        assert counters.rates_exceeded(limits=limits) is None
        redis.Redis(port=counting_redis.port).script_flush()
        assert counters.rates_exceeded(limits=limits) is None
        assert counters.rates_exceeded(limits=limits) is None
        assert counters.rates_exceeded(limits=limits) == 30
    assert counters._cache_usable()
    assert stored_count(counting_redis, "ping:a") == 4
    assert stored_count(counting_redis, "ping-client:192.0.2.1") == 4


def test_counts_go_on_in_redis_after_a_restart(counting_redis):
    limits = [("ping:b", 100)]
    with time_machine.travel(1_800_000_030, tick=False):
        assert counters.rates_exceeded(limits=limits) is None
        counting_redis.stop()
        # Refused: counted in this process, and Redis is left alone for a while.
        assert counters.rates_exceeded(limits=limits) is None
        assert not counters._cache_usable()
        counting_redis.start()
        counters._cache_down_until = 0.0
        assert counters.rates_exceeded(limits=limits) is None
    assert stored_count(counting_redis, "ping:b") == 1


def test_counts_reach_redis_in_batches_and_bring_back_other_processes_counts(
    counting_redis, settings
):
    settings.PING_RATE_SHARE_S = 3600
    limits = [("ping:c", 3)]
    with time_machine.travel(1_800_000_030, tick=False):
        assert counters.rates_exceeded(limits=limits) is None  # the first call shares
        assert stored_count(counting_redis, "ping:c") == 1
        assert counters.rates_exceeded(limits=limits) is None
        assert counters.rates_exceeded(limits=limits) is None
        # Counted here only; the limit holds on what this process knows.
        assert stored_count(counting_redis, "ping:c") == 1
        assert counters.rates_exceeded(limits=limits) == 30
        # Another web process counted 5 meanwhile; the next share brings them back.
        client = redis.Redis(port=counting_redis.port)
        (name,) = client.keys("*rate:ping:c:*")
        client.incrby(name, 5)
        counters._shared_at = -math.inf  # the interval is over
        assert counters.rates_exceeded(limits=limits) == 30
        assert stored_count(counting_redis, "ping:c") == 1 + 5 + 4
        assert counters.rates_exceeded(limits=[("ping:d", 3)]) is None
