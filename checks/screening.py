"""Screening of check targets against addresses a probe must never reach.

A check target is typed in by a user, so without screening the probe engine is a request
forger: it could read a cloud metadata service (credentials) or poke services that are only
reachable from inside the network.

1. Every spelling of an address is first normalised by `normalise_address`: IPv4 in the
   forms the C resolver accepts (``2852039166``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) and
   IPv6 forms that carry an IPv4 address (mapped, compatible, translated, NAT64
   ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``) become the IPv4 address the
   packets finally reach.
2. Metadata, link-local, multicast, unspecified and reserved addresses are refused always.
3. Private, shared (carrier-grade NAT), loopback and other non-public addresses are refused
   unless the installation's `Allowlist` (setting ``CHECK_PRIVATE_TARGETS``) covers them.

Names are screened by every address they resolve to. A name is only a hint, though: DNS
can answer differently at connection time, so the probes screen the address they actually
connect to as well (see `resolve_screened` and the HTTP probe's connector).
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

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


def _networks(*pairs: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(net), reason) for net, reason in pairs)


_ALWAYS_REFUSED = _networks(
    ("169.254.0.0/16", "a link-local address"),
    ("fe80::/10", "a link-local address"),
    ("224.0.0.0/4", "a multicast address"),
    ("ff00::/8", "a multicast address"),
    ("0.0.0.0/8", "an unspecified address"),
    ("::/128", "an unspecified address"),
    ("240.0.0.0/4", "a reserved address"),  # includes broadcast 255.255.255.255
    # Local-use NAT64 embeds the IPv4 address at a prefix length only its operator knows,
    # so what it reaches cannot be screened.
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
)

_LOOPBACK = _networks(("127.0.0.0/8", "a loopback address"), ("::1/128", "a loopback address"))

_PRIVATE = _networks(
    ("10.0.0.0/8", "a private address"),
    ("172.16.0.0/12", "a private address"),
    ("192.168.0.0/16", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("fc00::/7", "a private address"),
    ("fec0::/10", "a private address"),
)

# The IPv6 prefixes whose last 32 bits are the IPv4 address the packets reach.
_EMBEDDING_LAST_32 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64 well-known prefix
        "::/96",  # IPv4-compatible (deprecated; :: and ::1 are kept as they are)
    )
)
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_IPV6_KEPT = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))


class TargetRefused(Exception):
    """The target points at an address that probes are not allowed to reach."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Allowlist:
    """The non-public addresses probes may reach: the words ``private`` (private, shared and
    other non-public ranges) and ``loopback``, and CIDRs. Always-refused addresses stay
    refused whatever is listed."""

    private: bool = False
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> "Allowlist":
        """Read ``private``, ``loopback`` and CIDRs; ValueError names an unknown item."""
        private = False
        networks: list[Network] = []
        for raw in items:
            item = raw.strip().lower()
            if not item:
                continue
            if item == "private":
                private = True
            elif item == "loopback":
                networks.extend(net for net, _ in _LOOPBACK)
            else:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    raise ValueError(
                        f"{raw.strip()!r} is neither 'private', 'loopback' nor a CIDR"
                    ) from None
        return cls(private=private, networks=tuple(networks))

    @classmethod
    def of(cls, value: "Allowlist | bool") -> "Allowlist":
        """An Allowlist as given, or True for ``private,loopback`` and False for nothing."""
        if isinstance(value, Allowlist):
            return value
        return cls(private=True, networks=tuple(net for net, _ in _LOOPBACK)) if value else cls()

    def allows(self, address: IPAddress) -> bool:
        if any(_within(address, net) for net in self.networks):
            return True
        return self.private and not any(_within(address, net) for net, _ in _LOOPBACK)


# The probes screen every request, pooled connections included, and a worker reaches the
# same few hosts and addresses over and over: the answers of the two pure steps below are
# kept (a bounded cache; an answer depends on nothing but the arguments).
_SCREEN_CACHE = 4096


@lru_cache(maxsize=_SCREEN_CACHE)
def normalise_address(host: str) -> IPAddress | None:
    """The address `host` reaches when it is an IP address in any spelling, else None.

    Accepts brackets, an IPv6 zone id and a trailing dot, every IPv4 form the C resolver
    accepts, and unwraps an IPv4 address carried inside an IPv6 one.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" not in text:
        return _parse_ipv4(text)
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    return _unwrap(ipaddress.IPv6Address(address.packed))  # packed drops a zone id


@lru_cache(maxsize=_SCREEN_CACHE)
def refusal_reason(address: IPAddress, *, allow_private: Allowlist | bool) -> str | None:
    """Why `address` is refused (e.g. "a link-local address"), or None when it may be probed."""
    if isinstance(address, ipaddress.IPv6Address):
        address = _unwrap(ipaddress.IPv6Address(address.packed))
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for network, reason in _ALWAYS_REFUSED:
        if _within(address, network):
            return reason
    allowlist = Allowlist.of(allow_private)
    if allowlist.allows(address):
        return None
    for network, reason in _LOOPBACK + _PRIVATE:
        if _within(address, network):
            return reason
    if not address.is_global:
        return "a non-public address"
    return None


def screen_address(address: IPAddress | str, *, allow_private: Allowlist | bool) -> None:
    """Refuse one IP address (an address object or its text form)."""
    if isinstance(address, str):
        parsed = normalise_address(address)
        if parsed is None:
            raise TargetRefused(f"{address} is not an IP address")
        address = parsed
    reason = refusal_reason(address, allow_private=allow_private)
    if reason is not None:
        raise TargetRefused(f"{address} is {reason}")


def screen_literal(host: str, *, allow_private: Allowlist | bool) -> bool:
    """Screen what can be decided without DNS. True when `host` was an IP address.

    Refuses IP addresses by the rules above and the well-known metadata host names.
    """
    if _normalise_name(host) in METADATA_NAMES:
        raise TargetRefused(f"{host} is a cloud metadata host name")
    address = normalise_address(host)
    if address is None:
        return False
    reason = refusal_reason(address, allow_private=allow_private)
    if reason is not None:
        shown = host.strip().strip("[]")
        spelled = shown if shown == str(address) else f"{shown} ({address})"
        raise TargetRefused(f"{spelled} is {reason}")
    return True


def screen_resolved(
    host: str, addresses: Iterable[str], *, allow_private: Allowlist | bool
) -> None:
    """Refuse `host` when any address it resolved to is refused."""
    for text in addresses:
        address = normalise_address(text)
        if address is None:
            raise TargetRefused(f"{host} resolved to {text!r}, which is not an IP address")
        reason = refusal_reason(address, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(f"{host} resolves to {address}, {reason}")


async def resolve_screened(host: str, port: int, *, allow_private: Allowlist | bool) -> list[str]:
    """Resolve `host` and screen every address; the addresses to connect to, in order.

    Connecting to one of these (rather than to the name) keeps a second DNS answer from
    swapping in an address that was never screened. Raises OSError when the name does not
    resolve and TargetRefused when an address is refused.
    """
    if screen_literal(host, allow_private=allow_private):
        return [str(normalise_address(host))]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = _unique(str(info[4][0]) for info in infos)
    screen_resolved(host, addresses, allow_private=allow_private)
    return addresses


def _parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 as inet_aton reads it: one to four parts, decimal, 0x hex or 0-prefixed octal,
    the last part filling the bytes that remain (``127.1`` is 127.0.0.1)."""
    parts = text.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing dot, as in a fully qualified name
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_parse_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    *head, last = [number for number in numbers if number is not None]
    if any(number > 0xFF for number in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


_DIGITS = {8: frozenset("01234567"), 10: frozenset("0123456789"), 16: frozenset("0123456789abcdef")}


def _parse_ipv4_number(part: str) -> int | None:
    if not part:
        return None
    lowered = part.lower()
    if lowered.startswith("0x"):
        digits, base = lowered[2:], 16
        if not digits:
            return 0
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)


def _unwrap(address: ipaddress.IPv6Address) -> IPAddress:
    """The IPv4 address an IPv6 address carries (see the module doc), else the address."""
    if address in _IPV6_KEPT:
        return address
    if any(address in net for net in _EMBEDDING_LAST_32):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    if address in _TEREDO:
        # The client's address, stored inverted (RFC 4380).
        return ipaddress.IPv4Address(~int(address) & 0xFFFFFFFF)
    return address


def _within(address: IPAddress, network: Network) -> bool:
    return address.version == network.version and address in network


def _normalise_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
