import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_signing_in_reaches_the_services_page(page, live_server, sign_in, axe_serious):
    user = make_user("vic")
    sign_in(page, user)
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", level=1).inner_text() == "Services"
    assert axe_serious(page) == []


def test_a_wrong_password_says_so(page, live_server):
    make_user("vic")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("vic")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
