"""Screening of check targets against addresses a probe must never reach.

A check target is typed in by a user, so without screening the probe engine is a request
forger: it could read a cloud metadata service (credentials) or poke services that are only
reachable from inside the network. Some addresses are refused always (link-local, metadata,
multicast, unspecified, reserved); private and loopback addresses are refused unless the
installation allows private targets (a self-hosted dashboard often monitors its own LAN).

Names are screened by every address they resolve to. A name is only a hint, though: DNS
can answer differently at connection time, so the probes screen the address they actually
connect to as well (see `resolve_screened` and the HTTP probe's connector).
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IPv6 metadata (inside fc00::/7, so private is not enough)
        "100.100.100.200",  # Alibaba Cloud (inside 100.64.0.0/10)
    )
)

METADATA_NAMES: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_ALWAYS_REFUSED: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("169.254.0.0/16", "a link-local address"),
        ("fe80::/10", "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("ff00::/8", "a multicast address"),
        ("0.0.0.0/8", "an unspecified address"),
        ("::/128", "an unspecified address"),
        ("240.0.0.0/4", "a reserved address"),  # includes broadcast 255.255.255.255
    )
)

_PRIVATE: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("fc00::/7", "a private address"),
        ("127.0.0.0/8", "a loopback address"),
        ("::1/128", "a loopback address"),
    )
)


class TargetRefused(Exception):
    """The target points at an address that probes are not allowed to reach."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_address(host: str) -> IPAddress | None:
    """The IP address written in `host` (brackets and IPv6 zone allowed), or None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` is refused (e.g. "a link-local address"), or None when it may be probed."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        address = ipaddress.IPv6Address(address.packed)  # drops a zone id like %eth0
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for network, reason in _ALWAYS_REFUSED:
        if address.version == network.version and address in network:
            return reason
    if not allow_private:
        for network, reason in _PRIVATE:
            if address.version == network.version and address in network:
                return reason
    return None


def screen_address(address: IPAddress | str, *, allow_private: bool) -> None:
    """Refuse one IP address (an address object or its text form)."""
    if isinstance(address, str):
        parsed = parse_address(address)
        if parsed is None:
            raise TargetRefused(f"{address} is not an IP address")
        address = parsed
    reason = refusal_reason(address, allow_private=allow_private)
    if reason is not None:
        raise TargetRefused(f"{address} is {reason}")


def screen_literal(host: str, *, allow_private: bool) -> bool:
    """Screen what can be decided without DNS. True when `host` was an IP address.

    Refuses IP addresses by the rules above and the well-known metadata host names.
    """
    if _normalise_name(host) in METADATA_NAMES:
        raise TargetRefused(f"{host} is a cloud metadata host name")
    address = parse_address(host)
    if address is None:
        return False
    screen_address(address, allow_private=allow_private)
    return True


def screen_resolved(host: str, addresses: Iterable[str], *, allow_private: bool) -> None:
    """Refuse `host` when any address it resolved to is refused."""
    for text in addresses:
        address = parse_address(text)
        if address is None:
            raise TargetRefused(f"{host} resolved to {text!r}, which is not an IP address")
        reason = refusal_reason(address, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(f"{host} resolves to {address}, {reason}")


async def resolve_screened(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve `host` and screen every address; the addresses to connect to, in order.

    Connecting to one of these (rather than to the name) keeps a second DNS answer from
    swapping in an address that was never screened. Raises OSError when the name does not
    resolve and TargetRefused when an address is refused.
    """
    if screen_literal(host, allow_private=allow_private):
        return [host.strip("[]")]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = _unique(str(info[4][0]) for info in infos)
    screen_resolved(host, addresses, allow_private=allow_private)
    return addresses


async def screen_target(host: str, *, allow_private: bool) -> None:
    """Refuse `host` (a name or an IP address) when it is, or resolves to, a refused address.

    A name that does not resolve is not refused here: there is nothing to screen, and the
    probe screens again when it connects.
    """
    try:
        await resolve_screened(host, 0, allow_private=allow_private)
    except socket.gaierror:
        return


def screen_target_sync(host: str, *, allow_private: bool) -> None:
    """`screen_target` for synchronous callers such as form and API validation."""
    if screen_literal(host, allow_private=allow_private):
        return
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return
    addresses = _unique(str(info[4][0]) for info in infos)
    screen_resolved(host, addresses, allow_private=allow_private)


def _normalise_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
