"""A visitor subscribes from the public page and confirms from the mail, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from statuspage.alerts.subscribers import Subscriber, SubscriberMail
from tests.alerts.receivers import smtp_receiver, wait_until
from tests.checks.worker import celery_worker
from tests.factories import make_service, make_team

# The worker that delivers runs on the test PostgreSQL database and Redis.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

CONFIRM = re.compile(r"(http://\S+/status/subscribe/confirm/[^/\s]+/)")


@pytest.fixture
def smtp(monkeypatch):
    """A local SMTP server, the mail server of the worker started after this."""
    with smtp_receiver() as receiver:
        monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
        monkeypatch.setenv("EMAIL_PORT", str(receiver.port))
        monkeypatch.setenv("EMAIL_USE_TLS", "false")
        yield receiver


def test_a_visitor_subscribes_to_chosen_components_and_confirms_from_the_mail(
    page, live_server, smtp, axe_serious, console_errors
):
    team = make_team("payments")
    make_service("checkout-api", team=team, is_public=True, public_name="Checkout")
    storefront = make_service("storefront", team=team, is_public=True, public_name="Storefront")
    make_service("ledger-batch", team=team)

    with celery_worker():
        _subscribe(page, live_server, axe_serious)
        wait_until(lambda: smtp.messages, timeout=60)
        wait_until(lambda: SubscriberMail.objects.filter(state="sent").exists(), timeout=30)
    (message,) = smtp.messages
    assert message["To"] == "visitor@example.com"
    link = CONFIRM.search(message.get_body(("plain",)).get_content())[1]
    assert link.startswith(live_server.url)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscription confirmed")
    expect(page.locator("main")).to_contain_text("Storefront")
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is not None
    assert list(subscriber.services.all()) == [storefront]
    assert console_errors == []


def _subscribe(page, live_server, axe_serious) -> None:
    page.goto(f"{live_server.url}/status/subscribe/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Get incidents and maintenance by email"
    )
    expect(page.get_by_label("Ledger Batch")).to_have_count(0)
    assert axe_serious(page) == []
    page.get_by_label("Email address").fill("visitor@example.com")
    page.get_by_label("Only the components I choose").check()
    page.get_by_label("Storefront").check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert Subscriber.objects.get().confirmed_at is None
