"""The address of the client behind a request, seen through trusted reverse proxies only.

Every throttle and every log line that names a client uses ``client_address``. Behind a
proxy the TCP peer is the proxy itself, so the client comes from ``X-Forwarded-For``; but
anyone can send that header, so it is read only when the peer is one of
``TRUSTED_PROXIES``. Each proxy appends the address it received the request from, so the
chain is walked from the right: trusted hops are skipped and the first untrusted address
is the client. Everything left of it was written by the client and is never believed.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.TRUSTED_PROXIES))


def parse_address(raw: str) -> Address | None:
    """One hop of a forwarded chain as an address, or None if it is not one.

    Accepts what proxies write: ``192.0.2.1``, ``192.0.2.1:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``. IPv4-mapped IPv6 (``::ffff:192.0.2.1``, what a dual-stack
    socket reports) becomes the IPv4 address, so one client has one key.
    """
    text = raw.strip()
    if text.startswith("["):
        text, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            # A zone names an interface of the sender's host, meaningless here.
            return ipaddress.IPv6Address(text.split("%", 1)[0])
    return address


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(request: HttpRequest) -> str | None:
    """The client's address as a canonical string, or None when the peer is unknown.

    1. The TCP peer (``REMOTE_ADDR``) is the answer unless it is a trusted proxy.
    2. Otherwise walk ``X-Forwarded-For`` right to left, skipping trusted proxies; the
       first untrusted address is the client.
    3. A hop that is not an address (``unknown``, a name, garbage) ends the walk: the
       last trusted hop is the best address anyone vouches for, and it is returned.
    """
    peer = parse_address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    networks = trusted_networks()
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    nearest = peer
    for hop in reversed(forwarded.split(",")):
        if not hop.strip():
            continue
        address = parse_address(hop)
        if address is None:
            break
        if not _is_trusted(address, networks):
            return str(address)
        nearest = address
    return str(nearest)
