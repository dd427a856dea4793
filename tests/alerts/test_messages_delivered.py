"""A check going down, through the outbox and delivery, to real local receivers: what
arrives carries the owner notes, the last deployment's verdict and the links."""

import pytest
from django.test import override_settings

from checks.models import DeploymentImpact, Verdict
from statuspage.alerts.delivery import channel_deliver
from statuspage.catalog.models import Deployment, OwnerNote
from tests.alerts.eventkit import at, down, quick_check, up

pytestmark = pytest.mark.django_db

EXPECTED = "GET /health answers ok within 200 ms"
ROLLBACK = "make rollback VERSION=previous"


@pytest.fixture(autouse=True)
def _no_grouping_wait():
    with override_settings(ALERTS_GROUP_WINDOW_S=0):
        yield


@pytest.fixture
def outage(service):
    OwnerNote.objects.filter(service=service).update(
        expected_result=EXPECTED, rollback_note=ROLLBACK
    )
    deployment = Deployment.objects.create(
        service=service, version="v42", deployed_at=at(-90), deployed_by="ci-pipeline"
    )
    DeploymentImpact.objects.create(
        deployment=deployment, window_s=1800, computed_at=at(-60), before_count=30,
        after_count=30, before_p95_ms=80.0, after_p95_ms=310.0, verdict=Verdict.REGRESSED,
        reason="p95 latency 80 ms -> 310 ms (+288%)",
    )  # fmt: skip
    check = quick_check(service)
    up(check, at(0))
    return lambda: down(check, at(1), "HTTP 503 (expected 200)")


def assert_says_it_all(text: str) -> None:
    for part in (EXPECTED, ROLLBACK, "v42", "Regressed", "HTTP 503 (expected 200)"):
        assert part in text
    assert "/services/checkout-api/" in text
    assert "/ack/checkout-api/" in text


def test_the_signed_webhook_carries_the_documented_json(outage, webhook_channel, webhook_receiver):
    outage()
    assert channel_deliver(channel_id=webhook_channel.pk).sent == 1
    (request,) = webhook_receiver.accepted()
    body = request.payload
    assert body["type"] == "alert.down"
    data = body["data"]
    assert data["notes"]["expected_result"] == EXPECTED
    assert data["notes"]["rollback_note"] == ROLLBACK
    assert data["deployment"]["impact"]["verdict"] == "regressed"
    assert data["deployment"]["impact"]["after"]["p95_ms"] == 310.0


def test_slack_gets_blocks_with_the_notes(outage, slack_channel, slack_receiver):
    outage()
    assert channel_deliver(channel_id=slack_channel.pk).sent == 1
    (request,) = slack_receiver.accepted()
    blocks = request.payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert_says_it_all(request.body.decode())


def test_mail_has_plain_text_and_html_with_the_notes(outage, email_channel, smtp):
    outage()
    assert channel_deliver(channel_id=email_channel.pk).sent == 1
    (message,) = smtp.messages
    assert message["Subject"] == "Checkout Api is down: GET /health failing"
    assert_says_it_all(message.get_body(("plain",)).get_content())
    html = message.get_body(("html",)).get_content()
    assert EXPECTED in html and "&lt;" not in EXPECTED


def test_apprise_posts_the_text_to_its_json_endpoint(outage, apprise_channel, apprise_receiver):
    outage()
    assert channel_deliver(channel_id=apprise_channel.pk).sent == 1
    (request,) = apprise_receiver.accepted()
    assert EXPECTED in request.body.decode()
    assert ROLLBACK in request.body.decode()
