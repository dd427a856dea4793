"""A fresh demo, as a newcomer sees it in Chromium: healthy from the first second."""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.factories import make_user


@pytest.fixture
def fresh_demo(transactional_db, live_server):
    port = urlsplit(live_server.url).port
    call_command("seed_demo", "--port", str(port))


def test_the_fresh_demo_public_page_shows_no_outage(page, live_server, fresh_demo, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("heading", level=1).inner_text() == "All Systems Operational"
    text = page.locator("main").inner_text()
    assert "outage" not in text.lower()
    assert "0.00%" not in text
    # Five public demo services, each with 90 days of history behind its bar; grouped
    # services show their bars once their group is opened.
    groups = page.locator("details.group-details")
    for index in range(groups.count()):
        group = groups.nth(index)
        group.locator("summary").click()
        expect(group.locator("ol.bar").first).to_be_visible()
    bars = page.locator("ol.bar")
    assert bars.count() == 5
    assert bars.first.locator("li").count() == 90
    # The resolved demo incident is in the history, not among the active ones.
    assert page.get_by_role("region", name="Active incidents").count() == 0
    assert console_errors == []


def test_the_fresh_demo_team_page_shows_data_and_the_deliberate_checks(
    page, live_server, fresh_demo, sign_in, console_errors
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, make_user("vic"))
    page.goto(f"{live_server.url}/")
    rows = page.locator("table.services tbody").inner_text()
    assert "Major outage" not in rows
    assert "Partial outage" not in rows
    assert "Profiles" in rows  # the service with the deliberately slow endpoint
    page.goto(f"{live_server.url}/services/checkout-api/")
    service = page.locator("main").inner_text()
    assert "Improved" in service or "improved" in service  # the demo deployment's verdict
    windows = page.locator("table.windows").inner_text()
    assert "99." in windows or "100" in windows  # uptime over 24 h to 90 days, from history
    assert console_errors == []
