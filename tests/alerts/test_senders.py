"""Each sender against a real local receiver: what arrives, and how refusals are judged."""

from dataclasses import dataclass, field

import pytest
from django.test import override_settings
from standardwebhooks.webhooks import Webhook

from statuspage.alerts.models import ChannelKind
from statuspage.alerts.senders import apprise, email, slack, webhook
from statuspage.alerts.senders.base import Permanent, Retryable
from tests.alerts.conftest import make_channel, smtp_mailers
from tests.alerts.receivers import Answer


@dataclass(frozen=True)
class Msg:
    subject: str = "Checkout API is down"
    text: str = "Checkout API is down since 12:00 UTC.\nRollback: redeploy the previous tag"
    html: str = "<p>Checkout API is <b>down</b></p>"
    slack: dict = field(
        default_factory=lambda: {
            "text": "Checkout API is down",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*down*"}}],
        }
    )
    webhook: dict = field(default_factory=lambda: {"type": "down", "service": "checkout-api"})


pytestmark = pytest.mark.django_db


def test_email_arrives_with_text_and_html_and_the_key_as_message_id(email_channel, smtp):
    email.send(email_channel, Msg(), key="msg_abc")

    (message,) = smtp.messages
    assert smtp.recipients == [["oncall@example.com", "lead@example.com"]]
    assert message["Subject"] == "Checkout API is down"
    assert message["Message-ID"] == "<msg_abc@statuspage>"
    assert "Rollback: redeploy" in message.get_body(("plain",)).get_content()
    assert "<b>down</b>" in message.get_body(("html",)).get_content()


def test_email_to_an_unreachable_mail_server_is_retryable(email_channel):
    with (
        override_settings(MAILERS=smtp_mailers(9)),
        pytest.raises(Retryable, match="mail server unreachable"),
    ):
        email.send(email_channel, Msg(), key="msg_abc")


def test_webhook_is_signed_per_standard_webhooks(webhook_channel, webhook_receiver, signing_secret):
    webhook.send(webhook_channel, Msg(), key="msg_1")

    (request,) = webhook_receiver.requests
    assert request.verified
    assert request.webhook_id == "msg_1"
    payload = Webhook(signing_secret).verify(request.body, request.headers)
    assert payload == {"type": "down", "service": "checkout-api"}


def test_webhook_signed_with_another_secret_is_refused_for_good(team, webhook_receiver):
    channel = make_channel(
        team,
        ChannelKind.WEBHOOK,
        webhook_receiver.url,
        signing_secret=webhook.new_signing_secret(),
    )
    with pytest.raises(Permanent, match="HTTP 400"):
        webhook.send(channel, Msg(), key="msg_1")
    assert webhook_receiver.accepted() == []


def test_the_same_key_is_sent_on_every_attempt(webhook_channel, webhook_receiver):
    webhook_receiver.answer(Answer(500))
    with pytest.raises(Retryable, match="HTTP 500"):
        webhook.send(webhook_channel, Msg(), key="msg_same")
    webhook.send(webhook_channel, Msg(), key="msg_same")

    assert [r.webhook_id for r in webhook_receiver.requests] == ["msg_same", "msg_same"]
    assert [r.status for r in webhook_receiver.requests] == [500, 200]
    assert webhook_receiver.unique_ids() == {"msg_same"}


@pytest.mark.parametrize(
    ("answer", "error", "retry_after"),
    [
        (Answer(503), Retryable, None),
        (Answer(429, headers={"Retry-After": "7"}), Retryable, 7.0),
        (Answer(404), Permanent, None),
        (Answer(410), Permanent, None),
    ],
)
def test_statuses_are_judged(slack_channel, slack_receiver, answer, error, retry_after):
    slack_receiver.answer(answer)
    with pytest.raises(error) as raised:
        slack.send(slack_channel, Msg(), key="msg_1")
    assert raised.value.reason == f"HTTP {answer.status}"
    assert getattr(raised.value, "retry_after_s", None) == retry_after


def test_a_receiver_that_does_not_answer_in_time_is_retryable(slack_channel, slack_receiver):
    slack_receiver.answer(Answer(200, hold_s=2))
    with (
        override_settings(ALERTS_HTTP_TIMEOUT_S=0.3),
        pytest.raises(Retryable, match=r"no answer within 0\.3s"),
    ):
        slack.send(slack_channel, Msg(), key="msg_1")


def test_slack_gets_block_kit_json(slack_channel, slack_receiver):
    slack.send(slack_channel, Msg(), key="msg_1")

    (request,) = slack_receiver.accepted()
    assert request.payload["blocks"][0]["type"] == "section"
    assert request.payload["text"] == "Checkout API is down"


def test_apprise_json_url_gets_title_body_and_idempotency_key(apprise_channel, apprise_receiver):
    apprise.send(apprise_channel, Msg(), key="msg_42")

    (request,) = apprise_receiver.requests
    assert request.payload["title"] == "Checkout API is down"
    assert "Rollback: redeploy" in request.payload["message"]
    assert request.headers["idempotency-key"] == "msg_42"


def test_apprise_failure_is_retryable(apprise_channel, apprise_receiver):
    apprise_receiver.answer(Answer(500))
    with pytest.raises(Retryable):
        apprise.send(apprise_channel, Msg(), key="msg_42")


def test_an_unknown_apprise_url_is_permanent(team):
    channel = make_channel(team, ChannelKind.APPRISE, "nosuchservice://token")
    with pytest.raises(Permanent, match="not a valid Apprise URL"):
        apprise.send(channel, Msg(), key="msg_1")


@pytest.mark.parametrize("kind", [ChannelKind.WEBHOOK, ChannelKind.SLACK, ChannelKind.APPRISE])
def test_loopback_targets_are_refused_without_the_allowlist(team, slack_receiver, kind):
    url = slack_receiver.apprise_url if kind == ChannelKind.APPRISE else slack_receiver.url
    channel = make_channel(team, kind, url, signing_secret=webhook.new_signing_secret())
    sender = {ChannelKind.WEBHOOK: webhook, ChannelKind.SLACK: slack, ChannelKind.APPRISE: apprise}
    with (
        override_settings(CHECK_PRIVATE_TARGETS=[]),
        pytest.raises(Permanent, match=r"target refused: 127\.0\.0\.1 is a loopback address"),
    ):
        sender[kind].send(channel, Msg(), key="msg_1")
    assert slack_receiver.requests == []


def test_metadata_addresses_are_refused_whatever_the_allowlist(team):
    channel = make_channel(team, ChannelKind.SLACK, "http://169.254.169.254/latest/meta-data")
    with pytest.raises(Permanent, match="cloud metadata address"):
        slack.send(channel, Msg(), key="msg_1")
