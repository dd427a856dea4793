"""What a peer sends is never stored or shown: a check pointed at a service that does not
speak HTTP stores a generic protocol error in its result, its transition and the page."""

import asyncio
import importlib
import time
from collections.abc import Iterator

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from checks.conditions import parse_condition
from checks.models import Check, Outcome, Result, Transition
from checks.probes import http
from checks.probes.base import HttpTarget
from checks.probes.http import INVALID_BODY, INVALID_RESPONSE
from checks.tasks import probe_batch
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_streams

BANNER = b"SSH-2.0-OpenSSH_9.6 peer-secret-7f3a\r\n"
MARK = "peer-secret-7f3a"


async def send_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(BANNER)
    await writer.drain()
    writer.close()


async def send_bad_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + BANNER)
    await writer.drain()
    writer.close()


async def send_cut_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + BANNER)
    await writer.drain()
    writer.close()


async def send_bad_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nX-Broken " + BANNER + b"\r\n")
    await writer.drain()
    writer.close()


@pytest.fixture
def banner_port() -> Iterator[int]:
    with serving_streams(send_banner) as port:
        yield port


@pytest.mark.parametrize(
    ("handler", "detail"),
    [
        (send_banner, INVALID_RESPONSE),
        (send_bad_header, INVALID_RESPONSE),
        (send_bad_chunk, INVALID_RESPONSE),
        (send_cut_body, INVALID_BODY),
    ],
)
def test_protocol_errors_are_stored_without_the_peers_bytes(handler, detail) -> None:
    with serving_streams(handler) as port:
        target = HttpTarget(f"http://127.0.0.1:{port}/health")
        result = asyncio.run(http.probe(target, timeout=5, allow_private=True))

    assert result.outcome == "down"
    assert result.detail == detail
    assert MARK not in result.detail


@pytest.mark.django_db
def test_banner_reaches_no_result_transition_or_service_page(
    client, viewer, service, banner_port
) -> None:
    check = make_check(service, config={"url": f"http://127.0.0.1:{banner_port}/health"})
    now = int(time.time())

    probe_batch([[check.pk, now - 1]])
    probe_batch([[check.pk, now]])

    check.refresh_from_db()
    assert check.state == "down"
    assert set(Result.objects.filter(check_ref=check).values_list("detail", flat=True)) == {
        INVALID_RESPONSE
    }
    assert check.last_detail == INVALID_RESPONSE
    reasons = list(Transition.objects.filter(check_ref=check).values_list("reason", flat=True))
    assert reasons and all(MARK not in reason for reason in reasons)
    client.force_login(viewer)
    page = client.get(f"/services/{service.slug}/").content.decode()
    assert INVALID_RESPONSE in page
    assert MARK not in page


def test_conditions_name_what_failed_without_the_value() -> None:
    document = {"db": {"status": MARK}, "version": 3}

    assert parse_condition('db.status == "up"').check(document) == (
        'condition failed: db.status == "up"'
    )
    assert parse_condition("len(version) > 0").check(document) == (
        "condition failed: len(version) > 0 (version has no length)"
    )


def scrub_migration():
    return importlib.import_module("checks.migrations.0006_peer_bytes_scrub")


OLD_BANNER = (
    "invalid HTTP response: 400, message=\"Bad status line:\\n b'SSH-2.0 peer-secret-7f3a'\""
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (OLD_BANNER, INVALID_RESPONSE),
        (f"2 failure(s) in a row: {OLD_BANNER}", f"2 failure(s) in a row: {INVALID_RESPONSE}"),
        ("request failed: peer-secret-7f3a", "request failed"),
        (
            'condition failed: db.status == "up" (got "peer-secret-7f3a")',
            'condition failed: db.status == "up"',
        ),
        (
            'condition failed: len(db) > 0 (db is "peer-secret-7f3a", which has no length)',
            "condition failed: len(db) > 0 (db has no length)",
        ),
        (INVALID_RESPONSE, INVALID_RESPONSE),
        (INVALID_BODY, INVALID_BODY),
        ("HTTP 503 (expected 2xx/3xx)", "HTTP 503 (expected 2xx/3xx)"),
    ],
)
def test_scrub_rewrites_old_details_and_keeps_the_rest(before: str, after: str) -> None:
    assert scrub_migration().scrub(before) == after


@pytest.mark.django_db
def test_scrub_migration_cleans_results_checks_and_transitions(service) -> None:
    check = make_check(service)
    kept = make_check(service, name="kept")
    now = timezone.now()
    Check.objects.filter(pk=check.pk).update(last_detail=OLD_BANNER)
    Check.objects.filter(pk=kept.pk).update(last_detail="HTTP 200")
    Result.objects.bulk_create(
        Result(check_ref=check, slot=slot, checked_at=now, outcome=Outcome.DOWN, detail=OLD_BANNER)
        for slot in range(5)
    )
    Transition.objects.create(
        check_ref=check, from_state="up", to_state="down", at=now, slot=4,
        reason=f"2 failure(s) in a row: {OLD_BANNER}",
    )  # fmt: skip

    scrub_migration().scrub_forward(django_apps, None)

    assert set(Result.objects.values_list("detail", flat=True)) == {INVALID_RESPONSE}
    assert Check.objects.get(pk=check.pk).last_detail == INVALID_RESPONSE
    assert Check.objects.get(pk=kept.pk).last_detail == "HTTP 200"
    assert Transition.objects.get().reason == f"2 failure(s) in a row: {INVALID_RESPONSE}"
