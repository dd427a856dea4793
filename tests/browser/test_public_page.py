"""The public status page in Chromium: desktop and phone layouts, the incident page, uptime
cell tooltips on hover and on keyboard focus, accessibility (axe-core) in both themes, and
the screenshots kept in docs/screenshots/."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checks.models import Check, Rollup, State
from statuspage.incidents.models import (
    Incident,
    IncidentService,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
)
from tests.browser.conftest import SCREENSHOTS
from tests.checks.factories import make_check
from tests.factories import make_service, make_team

pytestmark = pytest.mark.django_db(transaction=True)

CATALOG = [
    # slug, public name, group, description
    ("web", "Website", "", "Marketing site and documentation"),
    ("api", "Public API", "API", "REST and GraphQL endpoints"),
    ("webhooks", "Webhooks", "API", "Outgoing event deliveries"),
    ("checkout", "Checkout", "Payments", "Card and wallet payments"),
    ("payouts", "Payouts", "Payments", ""),
    ("billing-jobs", "Invoicing jobs", "Background jobs", "Nightly invoice runs"),
    ("search", "Search", "", "Catalog and order search"),
]
# (slug, days ago) -> (up, degraded, down) of that day; every other day is clean.
BAD_DAYS = {
    ("api", 0): (1300, 40, 100),
    ("api", 17): (1400, 0, 40),
    ("checkout", 0): (1200, 0, 240),
    ("checkout", 3): (1420, 0, 20),
    ("checkout", 44): (1380, 0, 60),
    ("search", 9): (1430, 10, 0),
    ("webhooks", 61): (1000, 0, 440),
}


def _day(days_ago: int):
    moment = timezone.now() - timedelta(days=days_ago)
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def build_demo() -> dict:
    now = timezone.now()
    team = make_team("platform")
    services = {}
    for position, (slug, name, group, description) in enumerate(CATALOG, start=1):
        service = make_service(
            slug,
            team=team,
            public_name=name,
            component_group=group,
            public_description=description,
            is_public=True,
            position=position,
        )
        services[slug] = service
        check = make_check(service)
        Check.objects.filter(pk=check.pk).update(state=State.UP)
        first = 89 if slug != "payouts" else 30  # a service added a month ago
        Rollup.objects.bulk_create(
            Rollup(
                check_ref=check,
                period=Rollup.Period.DAY,
                start=_day(days_ago),
                **dict(
                    zip(
                        ("up", "degraded", "down"),
                        BAD_DAYS.get((slug, days_ago), (1440, 0, 0)),
                        strict=True,
                    )
                ),
            )
            for days_ago in range(first + 1)
        )
    Check.objects.filter(service=services["checkout"]).update(state=State.DOWN)
    make_service("ledger", team=team, name="Internal ledger", is_public=False)

    incident = Incident.objects.create(
        title="Card payments failing for some customers",
        impact="major",
        status="identified",
        is_published=True,
        started_at=now - timedelta(minutes=50),
    )
    IncidentService.objects.create(
        incident=incident, service=services["checkout"], component_status="partial_outage"
    )
    IncidentService.objects.create(
        incident=incident, service=services["api"], component_status="degraded_performance"
    )
    IncidentUpdate.objects.create(
        incident=incident,
        status="investigating",
        body="We are investigating failed card payments. Wallet payments are not affected.",
        created_at=now - timedelta(minutes=50),
    )
    IncidentUpdate.objects.create(
        incident=incident,
        status="identified",
        body="A certificate on the payment gateway expired. **A new one is being rolled out.**",
        created_at=now - timedelta(minutes=20),
    )
    past = Incident.objects.create(
        title="Delayed webhook deliveries",
        impact="minor",
        status="resolved",
        is_published=True,
        started_at=now - timedelta(days=3, hours=2),
        resolved_at=now - timedelta(days=3, hours=1),
    )
    IncidentService.objects.create(
        incident=past, service=services["webhooks"], component_status="degraded_performance"
    )
    IncidentUpdate.objects.create(
        incident=past,
        status="resolved",
        body="The queue has drained; all webhooks were delivered.",
        created_at=now - timedelta(days=3, hours=1),
    )
    maintenance = Maintenance.objects.create(
        title="Database upgrade",
        scheduled_for=(now + timedelta(days=2)).replace(hour=2, minute=0, second=0, microsecond=0),
        scheduled_until=(now + timedelta(days=2)).replace(
            hour=4, minute=0, second=0, microsecond=0
        ),
        is_published=True,
    )
    maintenance.services.set([services["api"], services["search"]])
    MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status="scheduled",
        body="Search and the API may answer slowly for up to 10 minutes.",
    )
    return {"incident": incident, "past": past, "maintenance": maintenance, "services": services}


@pytest.fixture(autouse=True)
def _unhashed_static_names(settings):
    """pytest-django's live server serves /static/ through the staticfiles finders, which
    know the stylesheet as css/public.css, not by the hashed name the manifest storage of
    the production settings would put in the page."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def demo(transactional_db):
    return build_demo()


def open_group(page, name: str) -> None:
    """Open a component group and wait for its uptime bars to arrive."""
    group = page.locator("details.group-details").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )
    group.locator("summary").click()
    expect(group.locator("ol.bar").first).to_be_visible()


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_public_page_at_desktop_width(
    page, live_server, demo, axe_serious, screenshot, console_errors
):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("heading", level=1).inner_text() == "Partial System Outage"
    active = page.get_by_role("region", name="Active incidents")
    assert active.get_by_role(
        "heading", name="Card payments failing for some customers"
    ).is_visible()
    # Groups come collapsed, with their status and how many services need attention.
    groups = page.locator("details.group-details")
    assert groups.count() == 3
    assert [groups.nth(n).get_attribute("open") for n in range(3)] == [None, None, None]
    payments = groups.filter(has_text="Payments")
    assert "2 services, 1 not operational" in payments.locator("summary").inner_text()
    assert page.locator("ol.bar").count() == 2  # Website and Search, ungrouped
    open_group(page, "Payments")
    open_group(page, "API")
    assert page.locator("ol.bar").count() == 6
    assert page.locator("ol.bar").first.locator("li:visible").count() == 90
    assert page.get_by_text("over 90 days").first.is_visible()
    assert not page.get_by_text("over 30 days").first.is_visible()
    assert "Internal ledger" not in page.content()
    assert page.locator("footer").get_by_text("Times are shown in UTC.").is_visible()
    assert fits_the_width(page)
    assert axe_serious(page) == []
    screenshot(page, "public-page")
    assert console_errors == []


def test_the_public_page_at_phone_width(
    page, live_server, demo, axe_serious, screenshot, console_errors
):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("heading", level=1).is_visible()
    bar = page.locator("ol.bar").first
    assert bar.locator("li:visible").count() == 30
    assert page.get_by_text("30 days ago").first.is_visible()
    assert not page.get_by_text("90 days ago").first.is_visible()
    # The figure under the bar counts the thirty days drawn, not ninety.
    total = page.locator(".bar-total").first.inner_text()
    assert total.endswith("uptime over 30 days"), total
    assert "90" not in total
    assert fits_the_width(page)
    assert axe_serious(page) == []
    screenshot(page, "public-page-phone")
    page.set_viewport_size({"width": 360, "height": 740})  # the narrowest phones in use
    assert fits_the_width(page)
    assert console_errors == []


def test_the_dark_theme_follows_the_system_preference(
    page, live_server, demo, axe_serious, screenshot
):
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/status/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    assert axe_serious(page) == []
    screenshot(page, "public-page-dark")


def tooltip_width(cell) -> float:
    return cell.locator("i").bounding_box()["width"]


def test_an_uptime_cell_shows_its_day_on_hover_and_on_keyboard_focus(page, live_server, demo):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/status/")
    open_group(page, "Payments")
    checkout_bar = page.get_by_role("list", name="Checkout: uptime per day")
    today = checkout_bar.locator("li").last
    assert tooltip_width(today) <= 1  # hidden until asked for, yet read by screen readers

    today.hover()
    tip = today.locator("i")
    assert tooltip_width(today) > 80
    text = tip.inner_text()
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}", text.splitlines()[0])  # the day, first
    assert "83.33% uptime" in text
    assert "Incident: Card payments failing for some customers" in text
    box = tip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
    bar_box = checkout_bar.bounding_box()
    page.screenshot(
        path=str(SCREENSHOTS / "public-page-tooltip.png"),
        clip={
            "x": bar_box["x"] + bar_box["width"] - 420,
            "y": box["y"] - 16,
            "width": 440,
            "height": bar_box["y"] + bar_box["height"] - box["y"] + 40,
        },
    )

    page.mouse.move(0, 0)
    assert tooltip_width(today) <= 1
    page.get_by_role("link", name="Skip to past incidents").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.closest('ol.bar')?.getAttribute('aria-label'),"
        " document.activeElement.innerText]"
    )
    assert focused[0] == "Website: uptime per day"
    assert "100% uptime" in focused[1]
    first_cell = page.get_by_role("list", name="Website: uptime per day").locator("li").first
    assert tooltip_width(first_cell) > 80
    page.keyboard.press("Tab")
    assert tooltip_width(first_cell) <= 1


def test_the_incident_page(page, live_server, demo, axe_serious, screenshot, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/status/")
    active = page.get_by_role("region", name="Active incidents")
    active.get_by_role("link", name="Card payments failing for some customers").click()
    assert page.url == f"{live_server.url}/status/incidents/{demo['incident'].pk}/"
    assert (
        page.get_by_role("heading", level=1).inner_text()
        == "Card payments failing for some customers"
    )
    updates = page.locator(".timeline-item")
    assert updates.count() == 2
    assert "certificate" in updates.first.inner_text()
    assert axe_serious(page) == []
    screenshot(page, "incident-page")
    assert console_errors == []


def test_the_history_and_maintenance_pages(page, live_server, demo, axe_serious, console_errors):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/status/")
    page.get_by_role("link", name="Incident history").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Incident history"
    started = demo["past"].started_at
    page.goto(f"{live_server.url}/status/history/{started.year}/{started.month}/")
    assert page.get_by_role("link", name="Delayed webhook deliveries").is_visible()
    assert fits_the_width(page)
    assert axe_serious(page) == []
    page.goto(f"{live_server.url}/status/maintenance/{demo['maintenance'].pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Database upgrade"
    assert "may answer slowly" in page.locator(".timeline").inner_text()
    assert axe_serious(page) == []
    assert console_errors == []


def test_a_collapsed_group_opens_with_the_keyboard_and_fetches_its_bars(
    page, live_server, demo, axe_serious, console_errors
):
    page.set_viewport_size({"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live_server.url}/status/")
    jobs = page.locator("details.group-details").filter(has_text="Background jobs")
    assert not any("/groups/" in url for url in requests)  # nothing fetched until asked
    summary = jobs.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    bar = jobs.get_by_role("list", name="Invoicing jobs: uptime per day")
    expect(bar).to_be_visible()
    assert bar.locator("li").count() == 90
    assert jobs.get_attribute("open") is not None
    assert jobs.get_attribute("aria-busy") is None
    assert sum("/groups/" in url for url in requests) == 1
    page.keyboard.press("Tab")  # from the summary into the first cell of the fetched bar
    focused = page.evaluate("document.activeElement.closest('ol.bar')?.getAttribute('aria-label')")
    assert focused == "Invoicing jobs: uptime per day"
    summary.focus()
    page.keyboard.press("Enter")  # closed again, and opened again without a second fetch
    page.keyboard.press("Enter")
    expect(bar).to_be_visible()
    assert sum("/groups/" in url for url in requests) == 1
    assert axe_serious(page) == []
    assert console_errors == []


def test_a_group_whose_bars_cannot_be_fetched_says_so(page, live_server, demo, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.route("**/status/groups/**", lambda route: route.fulfill(status=503, body="down"))
    page.goto(f"{live_server.url}/status/")
    jobs = page.locator("details.group-details").filter(has_text="Background jobs")
    jobs.locator("summary").click()
    expect(jobs.get_by_role("status")).to_have_text(
        "Uptime history is unavailable right now; try again later."
    )
    assert jobs.get_by_text("Invoicing jobs").is_visible()  # names and statuses stay
    assert [e for e in console_errors if "503" not in e] == []
