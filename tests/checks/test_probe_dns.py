import asyncio
import time
from collections.abc import Iterator

import pytest

from checks.probes import dns
from checks.probes.base import DnsTarget, ProbeResult
from checks.screening import Allowlist
from tests.checks.probe_servers import serving_dns

RECORDS = {
    ("app.test.", "A"): ["127.0.0.10", "127.0.0.11"],
    ("app.test.", "MX"): ["10 mail.app.test."],
    ("app.test.", "TXT"): ['"v=spf1 -all"'],
    ("www.app.test.", "CNAME"): ["app.test."],
    ("v6.app.test.", "AAAA"): ["2001:db8::1"],
}


@pytest.fixture(scope="module")
def nameserver_port() -> Iterator[int]:
    with serving_dns(RECORDS, silent={"silent.test."}) as port:
        yield port


def probe(
    port: int, name: str, *, timeout: float = 5.0, allow_private: bool = True, **options: object
) -> ProbeResult:
    target = DnsTarget(name, nameserver="127.0.0.1", port=port, **options)  # type: ignore[arg-type]
    return asyncio.run(dns.probe(target, timeout=timeout, allow_private=allow_private))


def test_name_that_resolves_is_up_with_its_addresses(nameserver_port: int) -> None:
    result = probe(nameserver_port, "app.test")

    assert result.outcome == "up"
    assert result.detail == "A 127.0.0.10, 127.0.0.11"
    assert result.latency_ms is not None and result.latency_ms > 0


def test_expected_address_among_the_answers_is_up(nameserver_port: int) -> None:
    result = probe(nameserver_port, "app.test", expected=["127.0.0.11"])

    assert result.outcome == "up"


def test_expected_address_missing_from_the_answers_is_down(nameserver_port: int) -> None:
    result = probe(nameserver_port, "app.test", expected=["127.0.0.10", "10.1.2.3"])

    assert result.outcome == "down"
    assert result.detail == "expected 127.0.0.10, 10.1.2.3, got 127.0.0.10, 127.0.0.11"


def test_unknown_name_is_down_nxdomain(nameserver_port: int) -> None:
    result = probe(nameserver_port, "nope.test")

    assert result.outcome == "down"
    assert result.detail == "NXDOMAIN: nope.test does not exist"


def test_name_without_records_of_the_type_is_down(nameserver_port: int) -> None:
    result = probe(nameserver_port, "app.test", record_type="AAAA")

    assert result.outcome == "down"
    assert result.detail == "no AAAA records for app.test"


def test_ipv6_expectation_matches_in_any_spelling(nameserver_port: int) -> None:
    result = probe(nameserver_port, "v6.app.test", record_type="aaaa", expected=["2001:DB8:0::1"])

    assert result.outcome == "up"
    assert result.detail == "AAAA 2001:db8::1"


@pytest.mark.parametrize(
    ("name", "record_type", "expected", "detail"),
    [
        ("app.test", "MX", "Mail.App.Test.", "MX 10 mail.app.test"),
        ("app.test", "MX", "10 mail.app.test", "MX 10 mail.app.test"),
        ("app.test", "TXT", "v=spf1 -all", "TXT v=spf1 -all"),
        ("www.app.test", "CNAME", "app.test", "CNAME app.test"),
    ],
)
def test_other_record_types_match_their_expected_values(
    nameserver_port: int, name: str, record_type: str, expected: str, detail: str
) -> None:
    result = probe(nameserver_port, name, record_type=record_type, expected=[expected])

    assert result.outcome == "up"
    assert result.detail == detail


def test_nameserver_that_never_answers_is_down_timed_out(nameserver_port: int) -> None:
    started = time.perf_counter()

    result = probe(nameserver_port, "silent.test", timeout=0.3)

    assert result.outcome == "down"
    assert result.detail == "timed out after 0.3s"
    assert time.perf_counter() - started < 2


def test_loopback_nameserver_is_refused_unless_private_targets_are_allowed(
    nameserver_port: int,
) -> None:
    result = probe(nameserver_port, "app.test", allow_private=False)

    assert result.detail == "nameserver refused: 127.0.0.1 is a loopback address"


def test_answer_slower_than_the_threshold_is_degraded(nameserver_port: int) -> None:
    result = probe(nameserver_port, "app.test", degraded_ms=0.000001)

    assert result.outcome == "degraded"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"record_type": "SRV"}, "record type must be one of"),
        ({"nameserver": "ns1.example.test"}, "nameserver must be an IP address"),
        ({"nameserver": "127.0.0.1", "port": 70000}, "port must be between"),
    ],
)
def test_invalid_dns_target_is_rejected(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DnsTarget("app.test", **options)  # type: ignore[arg-type]


def test_a_nameserver_in_another_spelling_is_screened_and_asked_as_the_address_it_is(
    nameserver_port: int,
) -> None:
    target = DnsTarget("app.test", nameserver="0x7f.1", port=nameserver_port)

    refused = asyncio.run(dns.probe(target, timeout=5, allow_private=Allowlist.parse(["private"])))
    allowed = asyncio.run(dns.probe(target, timeout=5, allow_private=Allowlist.parse(["loopback"])))

    assert target.nameserver == "127.0.0.1"
    assert refused.detail == "nameserver refused: 127.0.0.1 is a loopback address"
    assert allowed.outcome == "up"
