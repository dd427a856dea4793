import pytest
from django.test import override_settings

from statuspage.alerts.models import Channel, ChannelKind
from statuspage.alerts.senders.webhook import new_signing_secret
from tests.alerts.receivers import http_receiver, smtp_receiver


def smtp_mailers(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def smtp():
    with smtp_receiver() as receiver, override_settings(MAILERS=smtp_mailers(receiver.port)):
        yield receiver


@pytest.fixture
def signing_secret() -> str:
    return new_signing_secret()


@pytest.fixture
def webhook_receiver(signing_secret):
    with http_receiver("webhook", secret=signing_secret) as receiver:
        yield receiver


@pytest.fixture
def slack_receiver():
    with http_receiver("slack") as receiver:
        yield receiver


@pytest.fixture
def apprise_receiver():
    with http_receiver("json") as receiver:
        yield receiver


def make_channel(team, kind: str, target: str, *, name: str | None = None, **fields) -> Channel:
    return Channel.objects.create(
        team=team, name=name or f"{kind}-channel", kind=kind, target=target, **fields
    )


@pytest.fixture
def webhook_channel(team, webhook_receiver, signing_secret):
    return make_channel(
        team, ChannelKind.WEBHOOK, webhook_receiver.url, signing_secret=signing_secret
    )


@pytest.fixture
def slack_channel(team, slack_receiver):
    return make_channel(team, ChannelKind.SLACK, slack_receiver.url)


@pytest.fixture
def apprise_channel(team, apprise_receiver):
    return make_channel(team, ChannelKind.APPRISE, apprise_receiver.apprise_url)


@pytest.fixture
def email_channel(team, smtp):
    return make_channel(team, ChannelKind.EMAIL, "oncall@example.com, lead@example.com")
