"""The team pages in a real browser (Debian's Chromium through Playwright): reading, filtering,
the service page and its chart, owner notes edited in the admin, the page refreshing itself,
keyboard use, accessibility (axe-core) and the screenshots kept in docs/screenshots/."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checks.models import Check, Kind, Outcome
from checks.services import Observation, results_record
from tests.browser.worlds import SERVICES, seed
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def status_of(page, name: str) -> str:
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(name)))
    return row.locator(".status-cell").inner_text().strip()


def test_reads_filters_and_opens_a_service(
    desktop, live_server, sign_in, axe_serious, screenshot, console_errors
):
    page = desktop
    seed()
    sign_in(page, make_user("vic"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Services")
    assert page.locator("table.services tbody th[scope=row] a").all_inner_texts() == [
        "Sign In", "Payment Webhooks", "User Profile", "Recommendations", "Email Sender",
        "Checkout Api", "Storefront", "Inventory", "Search Api", "Search Indexer",
        "Nightly Export", "Reports",
    ]  # fmt: skip
    assert status_of(page, "Sign In") == "Major outage"
    assert status_of(page, "Payment Webhooks") == "Partial outage"
    assert status_of(page, "Email Sender") == "Maintenance"
    assert status_of(page, "Reports") == "Paused"
    assert "1 failing" in page.get_by_role("row", name=re.compile("Payment Webhooks")).inner_text()
    assert "1 late" in page.get_by_role("row", name=re.compile("Search Indexer")).inner_text()
    storefront = page.get_by_role("row", name=re.compile("Storefront")).inner_text()
    assert "Regressed" in storefront and "p95 290 ms → 540 ms" in storefront
    summary = " ".join(page.locator("ul.summary").inner_text().split())
    assert summary == (
        "12 services Major outage 1 Partial outage 1 Degraded 1 Unknown 1 Maintenance 1 "
        "Operational 6 Paused 1"
    )
    screenshot(page, "team-page")
    assert axe_serious(page) == []

    page.get_by_label("Status").select_option("degraded")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=degraded"))
    assert page.locator("table.services tbody th a").all_inner_texts() == ["User Profile"]
    page.get_by_label("Search").fill("check")
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=check"))
    assert page.locator("table.services tbody th a").all_inner_texts() == ["Checkout Api"]

    console_errors.clear()  # each page is checked on its own below
    page.get_by_role("link", name="Checkout Api", exact=True).click()
    page.wait_for_url(f"{live_server.url}/services/checkout-api/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout Api")
    chart = page.locator("svg.chart").first
    expect(chart).to_be_visible()
    assert chart.locator("path.line-p50").get_attribute("d").count("L") > 100
    marker = chart.locator("a.marker")
    assert marker.count() == 2
    label = marker.first.get_attribute("aria-label")
    assert label.startswith("Deployment 2026.11.24-1 at ")
    assert "p50 142 ms to 118 ms, p95 260 ms to 190 ms; improved" in label
    expect(page.locator("svg.day-bar rect")).to_have_count(90)
    screenshot(page, "service-page")
    assert axe_serious(page) == []

    page.goto(f"{live_server.url}/services/sign-in/")
    notes = page.locator("#notes")
    expect(notes).to_contain_text("Roll back to 4.11.3")
    assert notes.bounding_box()["y"] < page.locator("#checks-heading").bounding_box()["y"]
    assert axe_serious(page) == []
    assert console_errors == []


def test_owner_notes_edited_in_the_admin_show_on_the_service_page(
    desktop, live_server, sign_in, console_errors
):
    page = desktop
    service = make_service("checkout-api", team=make_team("payments"))
    sign_in(page, make_user("root", superuser=True), next_path="/admin/")

    page.goto(f"{live_server.url}/admin/catalog/service/{service.pk}/change/")
    page.locator("#id_owner_note-0-rollback_note").fill("Flip the feature flag checkout.v2 off.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    console_errors.clear()
    page.goto(f"{live_server.url}/services/checkout-api/")
    expect(page.locator("#rollback-note")).to_have_text("Flip the feature flag checkout.v2 off.")
    assert console_errors == []  # the admin's own pages are not ours to check
    page.get_by_role("link", name="Edit history of the notes").click()
    expect(page.locator("#content")).to_contain_text("Edit history of the owner notes")


def test_the_page_refreshes_itself_when_a_check_changes_state(
    desktop, live_server, sign_in, console_errors
):
    page = desktop
    services = seed()
    sign_in(page, make_user("vic"))
    assert status_of(page, "Checkout Api") == "Operational"
    page.evaluate("window.notReloaded = true")
    page.focus("#svc-checkout-api")

    check = Check.objects.get(service=services["checkout-api"], kind=Kind.HTTP)
    slot = int(timezone.now().timestamp())
    results_record(
        observations=[
            Observation(check.pk, slot + n, slot + n, Outcome.DOWN, None, None, "timeout")
            for n in range(2)
        ]
    )

    expect(
        page.get_by_role("row", name=re.compile("Checkout Api")).locator(".status-cell")
    ).to_have_text("Major outage", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True
    # The row moved up with its new status; the keyboard focus moved with it.
    assert page.evaluate("document.activeElement.id") == "svc-checkout-api"
    assert "Major outage 2" in " ".join(page.locator("ul.summary").inner_text().split())
    assert console_errors == []


def test_everything_is_reachable_by_keyboard(desktop, live_server, sign_in):
    page = desktop
    seed()
    sign_in(page, make_user("vic"))

    reached = []
    for _ in range(150):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return (e.id || e.getAttribute('href') || e.textContent || '').trim(); }"
            )
        )
        if reached[-1] == "notes-reports":  # the last row's last link
            break
    assert reached[0] == "#main"  # the skip link comes first
    for control in ("id_q", "id_team", "id_status", "id_tier", "Filter"):
        assert control in reached
    links = [r for r in reached if r.startswith("svc-")]
    assert len(links) == len(SERVICES)
    # The refresh region: its status links and the pause control, before the rows.
    assert "count-major_outage" in reached
    assert reached.index("id_tier") < reached.index("refresh-control") < reached.index(links[0])

    page.goto(f"{live_server.url}/services/checkout-api/")
    focused = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.getAttribute('class') || ''"))
        if "marker" in focused[-1]:
            break
    assert "marker" in focused[-1]
