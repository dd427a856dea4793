"""The team pages in Chromium with what they must not hide and at scale: open incidents and
maintenance on top, a long catalog paged worst first, a refresh that keeps the page while
nothing changed, jobs waiting for their first ping, runbook steps with code, charts with
little data. Every page is checked with axe-core and for console errors."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checks.models import Check, Kind, State
from statuspage.catalog.models import Deployment, OwnerNote, Service
from statuspage.incidents.services import incident_open
from statuspage.web import views
from statuspage.web.paging import PAGE_SIZE
from tests.browser.worlds import seed
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)

RUNBOOK = """# Restarting the service

1. Check the dashboard.
2. Restart the workers:

    ```sh
    make restart
    ```

3. Roll back if the errors stay.
"""


def catalog(count: int) -> None:
    """``count`` services: one in four has a request check that is down, the rest are up."""
    team = make_team("platform")
    services = Service.objects.bulk_create(
        Service(slug=f"svc-{n:04d}", name=f"Service {n:04d}", team=team) for n in range(count)
    )
    Check.objects.bulk_create(
        Check(
            service=s,
            name="health",
            kind=Kind.HTTP,
            config={"url": "http://127.0.0.1:9/health"},
            state=State.DOWN if n % 4 == 0 else State.UP,
            last_latency_ms=None if n % 4 == 0 else 80.0,
        )
        for n, s in enumerate(services)
    )


def test_incidents_and_maintenance_are_on_top_and_lead_to_their_pages(
    desktop, live_server, sign_in, axe_serious, console_errors
):
    page = desktop
    made = seed()
    writer = make_user("wendy", role="Incident writers")
    incident = incident_open(
        title="Sign-in fails for some users",
        impact="major",
        affected={made["sign-in"]: "major_outage"},
        body="Investigating.",
        publish=False,
        by=writer,
    )
    sign_in(page, writer)

    notices = page.locator("section.notices")
    expect(notices).to_contain_text("Major incident: Sign-in fails for some users")
    expect(notices).to_contain_text("Maintenance in progress: Mail relay upgrade")
    table = page.locator("table.services")
    assert notices.bounding_box()["y"] < table.bounding_box()["y"]
    assert axe_serious(page) == []

    page.get_by_role("link", name="Incidents", exact=True).click()
    page.wait_for_url(f"{live_server.url}/incidents/")
    page.go_back()
    page.get_by_role("link", name="Sign-in fails for some users").click()
    page.wait_for_url(f"{live_server.url}/incidents/{incident.pk}/")
    expect(page.locator("#public-link")).to_have_count(0)
    page.get_by_role("button", name="Publish on the status page").click()
    page.get_by_role("link", name="View it on the public status page").click()
    page.wait_for_url(f"{live_server.url}/status/incidents/{incident.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign-in fails for some users")

    page.goto(f"{live_server.url}/services/sign-in/")
    expect(page.locator("section.notices")).to_contain_text("Sign-in fails for some users")
    expect(page.locator("section.notices")).not_to_contain_text("Mail relay upgrade")
    assert axe_serious(page) == []
    assert console_errors == []


def test_a_long_catalog_shows_what_needs_attention_first_one_page_at_a_time(
    desktop, live_server, sign_in, axe_serious, console_errors
):
    page = desktop
    catalog(2 * PAGE_SIZE + 20)
    sign_in(page, make_user("vic"))

    rows = page.locator("table.services tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    statuses = page.locator("table.services tbody .status-cell").all_inner_texts()
    down = (2 * PAGE_SIZE + 20 + 3) // 4
    assert [s.strip() for s in statuses[:down]] == ["Major outage"] * down
    expect(page.locator("table.services caption")).to_contain_text("Services 1\u201350 of 120")
    expect(page.locator("ul.summary")).to_contain_text("120 services")
    assert axe_serious(page) == []

    page.locator("nav.pages").get_by_role("link", name="3").click()
    page.wait_for_url(re.compile(r"page=3"))
    expect(rows).to_have_count(20)
    expect(page.locator("table.services caption")).to_contain_text("Services 101\u2013120 of 120")
    page.locator("nav.pages").get_by_role("link", name="Previous").click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(rows).to_have_count(PAGE_SIZE)
    assert axe_serious(page) == []
    assert console_errors == []


def test_the_refresh_keeps_the_page_while_nothing_changes(
    desktop, live_server, sign_in, console_errors, monkeypatch
):
    monkeypatch.setattr(views, "REFRESH_S", 1)
    page = desktop
    made = seed()
    sign_in(page, make_user("vic"))
    page.evaluate("window.notReloaded = true")
    stamp = page.locator("#refreshed-at").get_attribute("datetime")

    with page.expect_response(lambda r: "/partials/services/" in r.url) as polled:
        pass
    assert polled.value.status == 204
    expect(page.locator("#refreshed-at")).not_to_have_attribute("datetime", stamp)

    Check.objects.filter(service=made["checkout-api"], kind=Kind.HTTP).update(state=State.DOWN)
    row = page.get_by_role("row", name=re.compile("Checkout Api"))
    expect(row.locator(".status-cell")).to_have_text("Major outage", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    assert console_errors == []


def test_the_service_page_shows_waiting_jobs_runbook_steps_and_charts_with_little_data(
    desktop, live_server, sign_in, axe_serious, console_errors
):
    page = desktop
    now = timezone.now()
    service = make_service("billing-api", team=make_team("payments"))
    Check.objects.create(
        service=service,
        name="health",
        kind=Kind.HTTP,
        config={"url": "http://127.0.0.1:9/health"},
        degraded_ms=250,
        state=State.DOWN,
        last_checked_at=now,
        last_outcome=3,
        last_detail="connection refused",
    )
    Check.objects.create(
        service=service, name="certificate", kind=Kind.TLS, config={"host": "example.com"}
    )
    Check.objects.create(service=service, name="nightly invoices", kind=Kind.HEARTBEAT)
    Deployment.objects.create(
        service=service, version="7.1.0", deployed_at=now - timedelta(minutes=5), deployed_by="ci"
    )
    OwnerNote.objects.filter(service=service).update(runbook=RUNBOOK)
    sign_in(page, make_user("vic"))

    row = page.get_by_role("row", name=re.compile("Billing Api"))
    expect(row).to_contain_text("1 waiting for first ping")
    expect(row).to_contain_text("limit 250 ms")
    expect(row).to_contain_text(re.compile(r"Pending due at \d\d:\d\d"))

    page.goto(f"{live_server.url}/services/billing-api/")
    steps = page.locator(".runbook ol > li")
    expect(steps).to_have_count(3)
    expect(steps.nth(1).locator("pre")).to_have_text("make restart")
    heading = page.locator(".runbook h3")
    expect(heading).to_have_text("Restarting the service")
    size = "el => parseFloat(getComputedStyle(el).fontSize)"
    assert heading.evaluate(size) <= page.locator("#notes-heading").evaluate(size)
    expect(page.get_by_role("row", name=re.compile("nightly invoices"))).to_contain_text(
        "waiting for first ping"
    )
    ticks = page.locator("svg.chart").first.locator(".tick-label").all_inner_texts()
    assert "<1 ms" not in ticks
    expect(page.locator("svg.chart").first).to_contain_text("No latency recorded in this period")
    assert axe_serious(page) == []
    assert console_errors == []
