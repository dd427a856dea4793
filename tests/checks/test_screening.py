import asyncio

import pytest

from checks.screening import (
    TargetRefused,
    resolve_screened,
    screen_address,
    screen_resolved,
    screen_target,
    screen_target_sync,
)

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
        screen_target_sync(address, allow_private=allow_private)


@pytest.mark.parametrize(("address", "reason"), PRIVATE)
def test_private_and_loopback_addresses_are_refused_by_default(address: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as raised:
        screen_target_sync(address, allow_private=False)

    assert raised.value.message.endswith(f"is {reason}")


@pytest.mark.parametrize(("address", "reason"), PRIVATE)
def test_private_and_loopback_addresses_pass_when_allowed(address: str, reason: str) -> None:
    screen_target_sync(address, allow_private=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    screen_target_sync(address, allow_private=False)


@pytest.mark.parametrize(
    "name",
    ["metadata.google.internal", "METADATA.google.internal.", "metadata", "metadata.goog"],
)
def test_metadata_host_names_are_refused_without_resolving(name: str) -> None:
    with pytest.raises(TargetRefused, match="is a cloud metadata host name"):
        screen_target_sync(name, allow_private=True)


def test_name_is_screened_by_every_address_it_resolves_to() -> None:
    with pytest.raises(TargetRefused, match=r"^localhost resolves to .*, a loopback address$"):
        screen_target_sync("localhost", allow_private=False)

    screen_target_sync("localhost", allow_private=True)


def test_one_refused_address_among_several_refuses_the_name() -> None:
    addresses = ["93.184.215.14", "169.254.169.254"]

    with pytest.raises(TargetRefused, match=r"^status\.example resolves to 169\.254\.169\.254, "):
        screen_resolved("status.example", addresses, allow_private=True)


def test_async_screening_resolves_without_blocking_and_refuses_the_same() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        asyncio.run(screen_target("localhost", allow_private=False))

    asyncio.run(screen_target("localhost", allow_private=True))


def test_resolve_screened_returns_the_addresses_to_connect_to() -> None:
    addresses = asyncio.run(resolve_screened("localhost", 80, allow_private=True))

    assert "127.0.0.1" in addresses or "::1" in addresses


def test_screen_address_rejects_text_that_is_not_an_address() -> None:
    with pytest.raises(TargetRefused, match="is not an IP address"):
        screen_address("example.test", allow_private=True)
