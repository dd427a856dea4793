"""The alerts page in a real browser: a member sends a test message to a channel, a real
Celery worker delivers it, a local webhook receiver gets it signed, and the page shows it
sent."""

import pytest
from playwright.sync_api import expect

from statuspage.alerts.models import Channel, ChannelKind, Delivery
from statuspage.alerts.senders.webhook import new_signing_secret
from tests.alerts.receivers import http_receiver, wait_until
from tests.checks.worker import celery_worker
from tests.factories import make_team, make_user

# The worker that delivers runs on the test PostgreSQL database and Redis.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


def test_a_member_sends_a_test_message_and_sees_it_sent(
    page, live_server, sign_in, settings, axe_serious, console_errors
):
    settings.ALERTS_GROUP_WINDOW_S = 0
    team = make_team("payments")
    member = make_user("mia")
    team.members.add(member)
    secret = new_signing_secret()
    # A real worker delivers the outbox: the click queues its task after the commit.
    with http_receiver("webhook", secret=secret) as receiver, celery_worker():
        channel = Channel.objects.create(
            team=team,
            name="payments-hooks",
            kind=ChannelKind.WEBHOOK,
            target=receiver.url,
            signing_secret=secret,
        )
        sign_in(page, member, next_path="/alerts/")
        page.goto(f"{live_server.url}/alerts/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")
        row = page.locator(f"#channel-{channel.pk}")
        expect(row).to_contain_text("payments-hooks")
        expect(row.locator(".last-success")).to_have_text("never")
        assert "secret-token" not in page.content()
        assert axe_serious(page) == []

        page.get_by_role("button", name="Send a test message to payments-hooks").click()
        expect(page.locator(".messages")).to_contain_text("Test message queued for payments-hooks")
        expect(page.locator("table.notifications tbody tr")).to_have_count(1)
        wait_until(lambda: receiver.accepted(), timeout=60)
        wait_until(lambda: Delivery.objects.filter(state="sent").exists(), timeout=30)
        (received,) = receiver.accepted()  # the signature verified
        assert received.payload["type"] == "alert.test"

    page.reload()
    expect(page.locator("tr.state-sent")).to_have_count(1)
    expect(page.locator("tr.state-sent")).to_contain_text(received.webhook_id)
    expect(page.locator(f"#channel-{channel.pk} .last-success")).not_to_have_text("never")
    assert console_errors == []
