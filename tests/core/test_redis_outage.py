"""Redis stopped under a real gunicorn: pings are still answered and stored, sign-ins still
throttled, on PostgreSQL alone. The Redis here is a private one started by the test."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from checks.models import Kind, Ping
from checks.ping_intake import pings_drain
from tests.checks.factories import make_check
from tests.core.worlds import REAL_HASHERS, sign_in, signed_in
from tests.factories import PASSWORD, make_service, make_team, make_user
from tests.gunicorn_server import gunicorn
from tests.private_redis import private_redis
from tests.reverse_proxy import call

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def job(transactional_db):
    service = make_service("batch", team=make_team("data"))
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        return make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600)


@pytest.fixture
def user(transactional_db):
    with override_settings(PASSWORD_HASHERS=REAL_HASHERS):
        return make_user("erin")


def test_pings_and_sign_in_throttling_keep_working_while_redis_is_down(job, user, tmp_path):
    with (
        private_redis(tmp_path / "redis") as redis_server,
        gunicorn(tmp_path / "web", workers=1, REDIS_URL=redis_server.url) as server,
    ):
        ping = f"/ping/{job.ping_uuid}"
        assert call(server.port, "GET", ping).status == 200
        redis_server.stop()

        codes = [call(server.port, "POST", ping, body=b"run %d" % n).status for n in range(10)]
        for n in range(5):
            assert sign_in(server.port, "erin", f"guess-{n}", source="127.0.0.2").status == 200
        locked = sign_in(server.port, "erin", PASSWORD, source="127.0.0.2")
        elsewhere = sign_in(server.port, "erin", PASSWORD, source="127.0.0.3")

        redis_server.start()
        after_restart = call(server.port, "GET", ping).status
        log = server.log.read_text()

    assert codes == [200] * 10, log[-3000:]
    pings_drain()  # on PostgreSQL pings wait in the inbox until then
    assert Ping.objects.count() == 12
    assert sorted(Ping.objects.exclude(body="").values_list("body", flat=True)) == sorted(
        f"run {n}" for n in range(10)
    )
    assert not signed_in(locked)
    assert signed_in(elsewhere)
    assert after_restart == 200
    assert "event=counters.fallback error=ConnectionError" in log


def test_pings_are_answered_while_redis_hangs(job, tmp_path):
    """A frozen Redis accepts connections and never answers: the counters' short timeouts
    keep pings from waiting on it (the client here gives up long before gunicorn would)."""
    with (
        private_redis(tmp_path / "redis") as redis_server,
        # Counts go to Redis on every ping: each of them meets the frozen Redis.
        gunicorn(
            tmp_path / "web", workers=1, REDIS_URL=redis_server.url, PING_RATE_SHARE_S="0"
        ) as server,
    ):
        ping = f"/ping/{job.ping_uuid}"
        assert call(server.port, "GET", ping).status == 200
        redis_server.pause()
        try:
            codes = [call(server.port, "GET", ping, timeout=10).status for _ in range(5)]
        finally:
            redis_server.resume()
        log = server.log.read_text()

    assert codes == [200] * 5, log[-3000:]
    pings_drain()  # on PostgreSQL pings wait in the inbox until then
    assert Ping.objects.count() == 6
    assert "event=counters.fallback error=TimeoutError" in log
