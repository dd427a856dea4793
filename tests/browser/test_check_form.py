"""The admin's check form in Chromium: the chosen kind's fields only, header rows, no errors."""

import re

import pytest
from playwright.sync_api import expect

from checks.models import Check, Kind
from checks.sealing import MASK
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Bearer b1-77c0ffee"


def label(text: str) -> re.Pattern:
    """A field's label as the admin writes it ("URL:"), matched whole."""
    return re.compile(rf"^{re.escape(text)}:?$")


@pytest.fixture
def service():
    return make_service("checkout-api", team=make_team("payments"))


def test_an_admin_turns_an_http_check_into_a_tcp_check(
    page, live_server, sign_in, console_errors, service, axe_serious
):
    check = make_check(
        service, "api", config={"url": "http://127.0.0.1:9/health", "headers": {"X-Key": SECRET}}
    )
    sign_in(page, make_user("root", superuser=True), f"/admin/checks/check/{check.pk}/change/")
    http = page.locator("fieldset.check-kind-http")
    tcp = page.locator("fieldset.check-kind-tcp")
    expect(http).to_be_visible()
    expect(tcp).to_be_hidden()
    expect(page.get_by_label("Header value").first).to_have_value(MASK)
    assert SECRET not in page.content()
    assert axe_serious(page) == []

    page.get_by_label(label("Kind")).select_option("tcp")
    expect(http).to_be_hidden()
    expect(tcp).to_be_visible()
    tcp.get_by_label(label("Host")).fill("127.0.0.1")
    page.get_by_role("button", name="Save", exact=True).click()
    # The port is missing: the error stands at the port, on the TCP fields still shown.
    expect(tcp.locator(".errorlist")).to_contain_text("port")
    expect(tcp).to_be_visible()
    expect(http).to_be_hidden()

    tcp.get_by_label(label("Port")).fill("5432")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    check.refresh_from_db()
    assert (check.kind, check.config) == (Kind.TCP, {"host": "127.0.0.1", "port": 5432})
    assert console_errors == []


def test_an_admin_adds_an_http_check_with_headers_on_the_service_page(
    page, live_server, sign_in, console_errors, service
):
    make_check(service, "existing")
    sign_in(page, make_user("root", superuser=True), f"/admin/catalog/service/{service.pk}/change/")
    page.get_by_role("button", name="Add another check").click()
    row = page.locator("#checks-1")
    row.get_by_label(label("Name")).fill("login")
    expect(row.locator("fieldset.check-kind-http")).to_be_visible()
    expect(row.locator("fieldset.check-kind-dns")).to_be_hidden()
    row.get_by_label(label("URL")).fill("https://127.0.0.1:8443/login")
    row.get_by_label(label("Method")).select_option("POST")
    row.get_by_label(label("Expected statuses")).fill("200, 204")
    row.get_by_label("Header name").last.fill("Authorization")
    row.get_by_label("Header value").last.fill(SECRET)
    row.get_by_role("button", name="Add a header").click()
    row.get_by_label("Header name").last.fill("X-Env")
    row.get_by_label("Header value").last.fill("ci")
    row.get_by_label(label("JSON conditions")).fill("ok == true")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    check = Check.objects.get(name="login")
    assert check.config == {
        "url": "https://127.0.0.1:8443/login",
        "method": "POST",
        "expected_statuses": [200, 204],
        "headers": {"Authorization": SECRET, "X-Env": "ci"},
        "conditions": ["ok == true"],
        "follow_redirects": True,
        "verify_tls": True,
    }
    page.goto(f"{live_server.url}/admin/catalog/service/{service.pk}/change/")
    assert SECRET not in page.content()
    assert console_errors == []
