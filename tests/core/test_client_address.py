"""The client address is read from X-Forwarded-For only through trusted proxies."""

import os
import subprocess
import sys

import pytest
from django.test import RequestFactory

from statuspage.core.client import client_address, parse_address

PROXY = "172.30.57.1"
CLIENT = "203.0.113.7"


def request(peer: str | None, forwarded: str | None = None):
    meta = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    req = RequestFactory().get("/", **meta)
    if peer is None:
        del req.META["REMOTE_ADDR"]
    else:
        req.META["REMOTE_ADDR"] = peer
    return req


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY, "10.8.0.0/16", "2001:db8:ffff::/48"]


def test_trusts_no_proxy_by_default(settings):
    assert settings.TRUSTED_PROXIES == []


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert client_address(request(PROXY, forwarded=CLIENT)) == PROXY


def test_forwarded_header_from_an_untrusted_peer_is_ignored(behind_proxy):
    spoofed = request("198.51.100.9", forwarded=f"{CLIENT}, {PROXY}")
    assert client_address(spoofed) == "198.51.100.9"


def test_a_trusted_proxy_forwards_the_client_address(behind_proxy):
    assert client_address(request(PROXY, forwarded=CLIENT)) == CLIENT


def test_addresses_the_client_wrote_itself_are_not_believed(behind_proxy):
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended what it saw.
    assert client_address(request(PROXY, forwarded=f"1.2.3.4, {CLIENT}")) == CLIENT


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(behind_proxy):
    chain = f"1.2.3.4, {CLIENT}, 10.8.3.3, 10.8.1.2"
    assert client_address(request(PROXY, forwarded=chain)) == CLIENT


def test_a_client_claiming_a_trusted_address_goes_no_further_left(behind_proxy):
    # Everything is trusted: the leftmost trusted hop is the closest anyone vouches for.
    assert client_address(request(PROXY, forwarded="10.8.9.9, 10.8.1.2")) == "10.8.9.9"


def test_the_peer_stands_when_a_trusted_proxy_sends_no_header(behind_proxy):
    assert client_address(request(PROXY)) == PROXY


@pytest.mark.parametrize(
    "chain",
    ["unknown", "not-an-ip", "_hidden", "999.1.1.1", "<script>", "1.2.3.4.5", "::g"],
)
def test_garbage_ends_the_walk_at_the_nearest_trusted_hop(behind_proxy, chain):
    assert client_address(request(PROXY, forwarded=chain)) == PROXY
    assert client_address(request(PROXY, forwarded=f"{CLIENT}, {chain}, 10.8.1.2")) == "10.8.1.2"


def test_empty_entries_are_skipped(behind_proxy):
    assert client_address(request(PROXY, forwarded=f" , {CLIENT},, ")) == CLIENT


def test_ipv6_clients_and_proxies(behind_proxy):
    assert client_address(request("2001:db8:ffff::1", forwarded="2001:DB8:0:0::7")) == "2001:db8::7"
    assert client_address(request(PROXY, forwarded="[2001:db8::7]:51234")) == "2001:db8::7"
    assert client_address(request("2001:db8:aaaa::1", forwarded=CLIENT)) == "2001:db8:aaaa::1"


def test_ipv4_mapped_peers_and_hops_are_plain_ipv4(behind_proxy):
    assert client_address(request(f"::ffff:{PROXY}", forwarded=f"::ffff:{CLIENT}")) == CLIENT
    assert client_address(request("::ffff:198.51.100.9")) == "198.51.100.9"


def test_ports_written_by_proxies_are_dropped(behind_proxy):
    assert client_address(request(PROXY, forwarded=f"{CLIENT}:5678")) == CLIENT


def test_an_unknown_peer_is_none(behind_proxy):
    assert client_address(request(None, forwarded=CLIENT)) is None
    assert client_address(request("", forwarded=CLIENT)) is None


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:80", "192.0.2.1"),
        ("[::1]:443", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("[2001:db8::1]", "2001:db8::1"),
    ],
)
def test_parse_address_reads_what_proxies_write(raw, parsed):
    assert str(parse_address(raw)) == parsed


@pytest.mark.parametrize(
    "raw", ["", "unknown", "[::1", "[::1]x", "[::1]:", "192.0.2.1:80:90", "2852039166x"]
)
def test_parse_address_refuses_the_rest(raw):
    assert parse_address(raw) is None


def test_a_malformed_trusted_proxy_stops_the_settings_from_loading(tmp_path):
    environment = {
        **os.environ,
        "STATUSPAGE_VAR_DIR": str(tmp_path),
        "TRUSTED_PROXIES": "172.30.57.1,proxy.internal",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.internal' is not an address or CIDR" in result.stderr


def test_deploy_check_warns_behind_a_proxy_with_no_trusted_proxy(settings):
    from statuspage.core.checks import proxy_settings

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert [m.id for m in proxy_settings(None)] == ["statuspage.W001"]
    settings.TRUSTED_PROXIES = [PROXY]
    assert proxy_settings(None) == []
