"""Owner notes in the admin, in Chromium: "Edit owner notes" on the service page opens a short
page of the four note fields, saving returns to the service page, the history names the
editor, and no page along the way logs a console error (CSP, a missing favicon)."""

import pytest
from playwright.sync_api import expect

from statuspage.catalog.models import OwnerNote
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_editor_edits_the_owner_notes_on_their_own_page(
    page, live_server, sign_in, axe_serious, screenshot, console_errors
):
    page.set_viewport_size({"width": 1280, "height": 900})
    team = make_team("payments")
    make_service("checkout-api", team=team, name="Checkout API")
    editor = make_user("erin", role="Editors")
    team.members.add(editor)
    sign_in(page, editor, next_path="/services/checkout-api/")

    page.get_by_role("link", name="Edit owner notes").click()
    page.wait_for_url(f"{live_server.url}/admin/catalog/service/*/notes/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Owner notes: Checkout API")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 1600, height  # the four fields, not the whole service form
    assert page.get_by_label("Slug").count() == 0
    assert axe_serious(page) == []
    screenshot(page, "admin-owner-notes")

    page.get_by_label("Rollback note").fill("Flip the feature flag checkout.v2 off.")
    page.get_by_role("button", name="Save owner notes").click()
    page.wait_for_url(f"{live_server.url}/services/checkout-api/")
    expect(page.locator("#rollback-note")).to_have_text("Flip the feature flag checkout.v2 off.")
    assert OwnerNote.objects.get(service__slug="checkout-api").updated_by == editor
    assert console_errors == []


def test_the_history_of_the_notes_names_the_editor_without_a_console_error(
    page, live_server, sign_in, axe_serious, console_errors
):
    page.set_viewport_size({"width": 1280, "height": 900})
    team = make_team("payments")
    service = make_service("checkout-api", team=team, name="Checkout API")
    root = make_user("root", superuser=True)
    sign_in(page, root, next_path="/admin/")
    page.goto(f"{live_server.url}/admin/catalog/service/{service.pk}/notes/")
    page.get_by_label("Expected result").fill("GET /health answers ok in 150 ms.")
    page.get_by_role("button", name="Save owner notes").click()
    page.wait_for_url(f"{live_server.url}/services/checkout-api/")

    page.get_by_role("link", name="Edit history of the notes").click()
    content = page.locator("#content")
    expect(content).to_contain_text("Edit history of the owner notes: Checkout API")
    expect(content).to_contain_text("Updated by: nobody → root")
    expect(content).not_to_contain_text("Deleted user")
    assert axe_serious(page) == []

    page.goto(f"{live_server.url}/admin/catalog/service/{service.pk}/change/")
    expect(page.locator("#owner_note-heading")).to_have_text("Owner notes")
    expect(page.locator("#owner_note-0 h3")).to_have_text("Owner notes: Checkout API")
    assert console_errors == []
