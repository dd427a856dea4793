from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checks.models import Check, State
from statuspage.incidents.models import Incident
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_writer_opens_an_incident_from_a_down_service_and_posts_an_update(
    page, live_server, sign_in, axe_serious
):
    writer = make_user("wendy", role="Incident writers")
    service = make_service("checkout-api", team=make_team("payments"), tier="critical")
    for name in ("health", "payments"):
        check = make_check(service, name)
        Check.objects.filter(pk=check.pk).update(
            state=State.DOWN, state_changed_at=timezone.now() - timedelta(minutes=9)
        )
    sign_in(page, writer)

    page.goto(f"{live_server.url}/incidents/")
    page.get_by_role("link", name="Open an incident for Checkout Api").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open an incident")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Checkout Api is down")
    expect(page.get_by_label("Impact", exact=True)).to_have_value("critical")
    expect(page.get_by_label("Puts it in").first).to_have_value("major_outage")
    assert axe_serious(page) == []

    page.get_by_label("First update").fill("Payments fail with **502**.")
    page.get_by_label("Publish on the public status page now").check()
    page.get_by_role("button", name="Open the incident").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout Api is down")
    incident = Incident.objects.get()
    assert page.url == f"{live_server.url}/incidents/{incident.pk}/"
    assert incident.is_published and incident.status == "investigating"
    expect(page.locator(".timeline")).to_contain_text("Payments fail with 502.")

    page.get_by_label("Status", exact=True).select_option("identified")
    page.get_by_label("Update", exact=True).fill("A bad deploy; rolling back.")
    page.get_by_role("button", name="Post the update").click()

    expect(page.locator(".timeline-item").first).to_contain_text("A bad deploy; rolling back.")
    expect(page.locator(".timeline-item").first).to_contain_text("Identified")
    incident.refresh_from_db()
    assert incident.status == "identified" and incident.updates.count() == 2
    assert axe_serious(page) == []
