"""A team member acknowledges a down service's alert from the team page, in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checks.models import Check, State
from statuspage.alerts.ack_models import Ack
from statuspage.alerts.models import EventKind
from statuspage.alerts.outbox import event_record
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_acknowledges_a_down_service_from_the_team_page(
    page, live_server, sign_in, axe_serious, console_errors
):
    team = make_team("payments")
    member = make_user("mia")
    team.members.add(member)
    service = make_service("checkout-api", team=team)
    check = make_check(service)
    since = timezone.now() - timedelta(minutes=4)
    Check.objects.filter(pk=check.pk).update(state=State.DOWN, state_changed_at=since)
    event_record(
        kind=EventKind.DOWN,
        key=f"transition:{check.pk}:1:down",
        occurred_at=since,
        context={},
        service=service,
        check=check,
    )
    sign_in(page, member)
    page.goto(f"{live_server.url}/")
    alerts = page.locator(".open-alerts")
    expect(alerts).to_contain_text("Checkout Api")
    assert axe_serious(page) == []

    alerts.get_by_role("button", name="Acknowledge Checkout Api").click()
    expect(page.locator(".open-alerts")).to_contain_text("acknowledged by mia")
    ack = Ack.objects.get()
    assert ack.service == service and ack.by == member and ack.ended_at is None
    assert console_errors == []
