"""A real gunicorn behind a real reverse proxy: clients are told apart, not lumped together.

Clients connect to the proxy from distinct loopback addresses; the proxy connects to
gunicorn from 127.0.0.10, the only address in TRUSTED_PROXIES.
"""

from collections.abc import Iterator
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
from tests.reverse_proxy import ReverseProxy, call, reverse_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PROXY_SOURCE = "127.0.0.10"
ATTACKER = "127.0.0.2"
OFFICE = "127.0.0.3"


@pytest.fixture
def proxied(transactional_db, tmp_path) -> Iterator[ReverseProxy]:
    with (
        gunicorn(tmp_path / "web", workers=2, TRUSTED_PROXIES=PROXY_SOURCE) as server,
        reverse_proxy(server.url, source=PROXY_SOURCE) as proxy,
    ):
        yield proxy


@pytest.fixture
def admin(transactional_db):
    with override_settings(PASSWORD_HASHERS=REAL_HASHERS):
        return make_user("root-admin", superuser=True)


def test_locking_out_one_client_leaves_the_user_free_to_sign_in_from_another(admin, proxied):
    port = proxied.port
    for n in range(5):
        assert sign_in(port, "root-admin", f"guess-{n}", source=ATTACKER).status == 200

    assert not signed_in(sign_in(port, "root-admin", PASSWORD, source=ATTACKER))
    spoofed = sign_in(port, "root-admin", PASSWORD, source=ATTACKER, **{"X-Forwarded-For": OFFICE})
    assert not signed_in(spoofed)
    assert signed_in(sign_in(port, "root-admin", PASSWORD, source=OFFICE))
    assert f"{OFFICE}, {ATTACKER}" in proxied.forwarded


def test_150_jobs_pinging_through_the_proxy_from_one_address_are_all_accepted(
    transactional_db, proxied
):
    service = make_service("batch", team=make_team("data"))
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        jobs = [
            make_check(service, f"job-{n}", kind=Kind.HEARTBEAT, config={}, interval_s=60)
            for n in range(150)
        ]

    codes = [
        call(proxied.port, "GET", f"/ping/{job.ping_uuid}", source=ATTACKER).status for job in jobs
    ]

    assert codes.count(200) == 150
    pings_drain()  # on PostgreSQL pings wait in the inbox until then
    assert Ping.objects.count() == 150
    assert set(Ping.objects.values_list("remote_addr", flat=True)) == {ATTACKER}
