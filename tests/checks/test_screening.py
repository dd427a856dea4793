import asyncio

import pytest

from checks.screening import (
    Allowlist,
    TargetRefused,
    normalise_address,
    resolve_screened,
    screen_address,
    screen_resolved,
)


def screen(host: str, *, allow_private: Allowlist | bool) -> list[str]:
    """Screen a host the way the probes do before they connect."""
    return asyncio.run(resolve_screened(host, 0, allow_private=allow_private))


ALWAYS_REFUSED = [
    ("169.254.169.254", "a cloud metadata address"),
    ("169.254.170.2", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("100.100.100.200", "a cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),
    ("0.1.2.3", "an unspecified address"),
    ("::", "an unspecified address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("::ffff:169.254.169.254", "a cloud metadata address"),
    ("[::ffff:a9fe:a9fe]", "a cloud metadata address"),
]

PRIVATE = [
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.10", "a private address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("fd12:3456::1", "a private address"),
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("::ffff:10.0.0.1", "a private address"),
]

PUBLIC = ["93.184.215.14", "172.32.0.1", "8.8.8.8", "2606:4700::1111", "192.169.0.1"]


@pytest.mark.parametrize(("address", "reason"), ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [True, False])
def test_always_refused_addresses_are_refused_even_when_private_is_allowed(
    address: str, reason: str, allow_private: bool
) -> None:
    with pytest.raises(TargetRefused, match=reason):
        screen(address, allow_private=allow_private)


@pytest.mark.parametrize(("address", "reason"), PRIVATE)
def test_private_and_loopback_addresses_are_refused_by_default(address: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as raised:
        screen(address, allow_private=False)

    assert raised.value.message.endswith(f"is {reason}")


@pytest.mark.parametrize(("address", "reason"), PRIVATE)
def test_private_and_loopback_addresses_pass_when_allowed(address: str, reason: str) -> None:
    screen(address, allow_private=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    screen(address, allow_private=False)


@pytest.mark.parametrize(
    "name",
    ["metadata.google.internal", "METADATA.google.internal.", "metadata", "metadata.goog"],
)
def test_metadata_host_names_are_refused_without_resolving(name: str) -> None:
    with pytest.raises(TargetRefused, match="is a cloud metadata host name"):
        screen(name, allow_private=True)


def test_name_is_screened_by_every_address_it_resolves_to() -> None:
    with pytest.raises(TargetRefused, match=r"^localhost resolves to .*, a loopback address$"):
        screen("localhost", allow_private=False)

    screen("localhost", allow_private=True)


def test_one_refused_address_among_several_refuses_the_name() -> None:
    addresses = ["93.184.215.14", "169.254.169.254"]

    with pytest.raises(TargetRefused, match=r"^status\.example resolves to 169\.254\.169\.254, "):
        screen_resolved("status.example", addresses, allow_private=True)


def test_resolve_screened_returns_the_addresses_to_connect_to() -> None:
    addresses = asyncio.run(resolve_screened("localhost", 80, allow_private=True))

    assert "127.0.0.1" in addresses or "::1" in addresses


def test_screen_address_rejects_text_that_is_not_an_address() -> None:
    with pytest.raises(TargetRefused, match="is not an IP address"):
        screen_address("example.test", allow_private=True)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.0x1", "127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("[::ffff:a9fe:a9fe]", "169.254.169.254"),
        ("[::169.254.169.254]", "169.254.169.254"),
        ("[::ffff:0:a9fe:a9fe]", "169.254.169.254"),
        ("[64:ff9b::a9fe:a9fe]", "169.254.169.254"),
        ("[64:ff9b::127.0.0.1]", "127.0.0.1"),
        ("[2002:a9fe:a9fe::]", "169.254.169.254"),
        ("[2002:7f00:1:5::1]", "127.0.0.1"),
        ("[2001:0:4136:e378:8000:63bf:5601:5601]", "169.254.169.254"),
        ("[fe80::1%eth0]", "fe80::1"),
        ("::1", "::1"),
        ("2606:4700::1111", "2606:4700::1111"),
    ],
)
def test_every_spelling_is_normalised_to_the_address_it_reaches(spelling, address) -> None:
    assert str(normalise_address(spelling)) == address


@pytest.mark.parametrize(
    "name", ["example.com", "1.2.3.4.5", "08.1.1.1", "256.1.1.1", "1.2.3.0x100", "4294967296", ""]
)
def test_names_and_impossible_numbers_are_not_addresses(name: str) -> None:
    assert normalise_address(name) is None


@pytest.mark.parametrize(
    "host",
    [
        "2852039166",
        "0xa9.0xfe.0xa9.0xfe",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",
        "[::169.254.169.254]",
        "[2001:0:4136:e378:8000:63bf:5601:5601]",
        "[64:ff9b:1::a9fe:a9fe]",
    ],
)
def test_metadata_hidden_in_another_spelling_is_refused_whatever_is_allowed(host: str) -> None:
    with pytest.raises(TargetRefused, match=r"cloud metadata|local-use NAT64"):
        screen(host, allow_private=Allowlist.parse(["private", "loopback", "::/0"]))


@pytest.mark.parametrize("host", ["0x7f.1", "127.1", "[64:ff9b::7f00:1]", "[::ffff:127.0.0.1]"])
def test_loopback_in_any_spelling_needs_loopback_in_the_allowlist(host: str) -> None:
    with pytest.raises(TargetRefused, match="a loopback address"):
        screen(host, allow_private=Allowlist.parse(["private"]))

    screen(host, allow_private=Allowlist.parse(["private", "loopback"]))


def test_private_word_allows_private_ranges_but_not_loopback() -> None:
    allowlist = Allowlist.parse(["private"])

    for address in ("10.1.2.3", "192.168.0.9", "fd12::1", "100.64.0.1", "198.18.0.1"):
        screen(address, allow_private=allowlist)
    with pytest.raises(TargetRefused, match="a loopback address"):
        screen("127.0.0.1", allow_private=allowlist)


def test_a_cidr_allows_only_its_own_range() -> None:
    allowlist = Allowlist.parse(["10.20.0.0/16", "127.0.0.2/32"])

    screen("10.20.1.1", allow_private=allowlist)
    screen("127.0.0.2", allow_private=allowlist)
    with pytest.raises(TargetRefused, match="a private address"):
        screen("10.21.1.1", allow_private=allowlist)
    with pytest.raises(TargetRefused, match="a loopback address"):
        screen("127.0.0.1", allow_private=allowlist)


def test_other_non_public_ranges_are_refused_without_an_allowlist() -> None:
    with pytest.raises(TargetRefused, match="a non-public address"):
        screen("198.18.0.1", allow_private=Allowlist())


def test_an_empty_allowlist_refuses_every_non_public_address() -> None:
    for address in ("10.0.0.1", "127.0.0.1", "fd00::1"):
        with pytest.raises(TargetRefused):
            screen(address, allow_private=Allowlist.parse([]))


def test_allowlist_rejects_an_unknown_word() -> None:
    with pytest.raises(ValueError, match="'intranet' is neither 'private', 'loopback' nor a CIDR"):
        Allowlist.parse(["private", "intranet"])


def test_resolve_screened_connects_to_the_normalised_address() -> None:
    addresses = asyncio.run(resolve_screened("0x7f.1", 80, allow_private=True))

    assert addresses == ["127.0.0.1"]
