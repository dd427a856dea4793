"""The pings' rate counts on a private Redis: one script call per ping, kept counting in
Redis across a Redis restart (which empties its script cache)."""

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
