"""The check form in the admin: settings per kind, secrets masked, each team's checks its own."""

import pytest

from checks.models import Check, Kind
from checks.sealing import MASK
from tests.catalog.worlds import HttpsClient, form_payload
from tests.checks.factories import make_check
from tests.factories import make_user

SECRET = "Bearer s3cr3t-e1f0"
HEADERS = {"Authorization": SECRET, "X-Trace": "on"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return HttpsClient()


@pytest.fixture
def secret_check(service):
    return make_check(
        service,
        "api",
        config={"url": "https://ci:pw-0k@127.0.0.1:9/health", "headers": HEADERS},
    )


@pytest.fixture
def other_check(other_service):
    return make_check(
        other_service, "search", config={"url": "http://127.0.0.1:9/", "headers": HEADERS}
    )


def header_rows(payload: dict) -> dict[str, tuple[str, str]]:
    """Header name -> (row index, value shown) of a rendered check form."""
    rows = {}
    for key, names in payload.items():
        if key.startswith("http_headers_name_") and names[0]:
            index = key.rsplit("_", 1)[1]
            rows[names[0]] = (index, payload[f"http_headers_value_{index}"][0])
    return rows


def change_url(check: Check) -> str:
    return f"/admin/checks/check/{check.pk}/change/"


def service_url(check: Check) -> str:
    return f"/admin/catalog/service/{check.service_id}/change/"


def test_the_change_form_shows_secrets_masked_never_in_full(client, admin_user, secret_check):
    client.force_login(admin_user)
    html = client.get(change_url(secret_check)).content.decode()
    assert SECRET not in html and "pw-0k" not in html
    rows = header_rows(form_payload(client.get(change_url(secret_check))))
    assert rows == {"Authorization": ("0", MASK), "X-Trace": ("1", MASK)} or rows == {
        "Authorization": ("1", MASK),
        "X-Trace": ("0", MASK),
    }
    assert f"https://ci:{MASK}@127.0.0.1:9/health" in html
    assert "/static/js/check_form." in html


def test_saving_with_the_masks_unchanged_keeps_the_secrets(client, admin_user, secret_check):
    client.force_login(admin_user)
    payload = form_payload(client.get(change_url(secret_check)), interval_s="120")
    response = client.post(change_url(secret_check), payload)
    assert response.status_code == 302, response.context["adminform"].form.errors
    check = Check.objects.get(pk=secret_check.pk)
    assert check.interval_s == 120
    assert check.config["headers"] == HEADERS
    assert check.config["url"] == "https://ci:pw-0k@127.0.0.1:9/health"


def test_a_typed_value_replaces_the_secret_and_empty_rows_remove_headers(
    client, admin_user, secret_check
):
    client.force_login(admin_user)
    page = client.get(change_url(secret_check))
    auth, _ = header_rows(form_payload(page))["Authorization"]
    trace, _ = header_rows(form_payload(page))["X-Trace"]
    payload = form_payload(
        page,
        **{
            f"http_headers_value_{auth}": "Bearer rotated-1",
            f"http_headers_name_{trace}": "",
            f"http_headers_value_{trace}": "",
        },
        http_headers_name_2="X-Env",
        http_headers_value_2="staging",
    )
    assert client.post(change_url(secret_check), payload).status_code == 302
    headers = Check.objects.get(pk=secret_check.pk).config["headers"]
    assert headers == {"Authorization": "Bearer rotated-1", "X-Env": "staging"}


def test_a_mask_for_a_header_never_stored_is_a_form_error(client, admin_user, secret_check):
    client.force_login(admin_user)
    payload = form_payload(
        client.get(change_url(secret_check)), http_headers_name_2="X-New", http_headers_value_2=MASK
    )
    response = client.post(change_url(secret_check), payload)
    assert response.status_code == 200
    assert "X-New" in str(response.context["adminform"].form.errors["http_headers"])
    assert Check.objects.get(pk=secret_check.pk).config["headers"] == HEADERS


def test_a_tcp_check_is_made_from_its_own_fields_with_errors_on_them(client, admin_user, service):
    client.force_login(admin_user)
    payload = form_payload(
        client.get("/admin/checks/check/add/"),
        service=str(service.pk),
        name="db",
        kind="tcp",
        tcp_host="127.0.0.1",
        http_url="http://ignored.example/",
    )
    response = client.post("/admin/checks/check/add/", payload)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "required field" in str(errors["tcp_port"]) or "port" in str(errors["tcp_port"])
    assert not Check.objects.exists()

    payload["tcp_port"] = "5432"
    assert client.post("/admin/checks/check/add/", payload).status_code == 302
    check = Check.objects.get()
    assert (check.kind, check.config) == (Kind.TCP, {"host": "127.0.0.1", "port": 5432})


def test_bad_values_are_form_errors_on_their_field(client, admin_user, secret_check):
    client.force_login(admin_user)
    payload = form_payload(
        client.get(change_url(secret_check)),
        http_expected_statuses="200, two",
        http_conditions="ok ==",
        http_headers_name_2="Bad Header",
        http_headers_value_2="x",
    )
    response = client.post(change_url(secret_check), payload)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "whole numbers" in str(errors["http_expected_statuses"])
    assert "not a valid header name" in str(errors["http_headers"])
    payload.update(http_expected_statuses="200", http_headers_name_2="", http_headers_value_2="")
    response = client.post(change_url(secret_check), payload)
    assert "conditions" in str(response.context["adminform"].form.errors["http_conditions"])


def test_an_editor_sees_only_their_teams_checks(client, editor, secret_check, other_check):
    client.force_login(editor)
    listed = client.get("/admin/checks/check/").context["cl"].result_list
    assert [check.name for check in listed] == ["api"]
    assert client.get(change_url(other_check)).status_code == 404
    # Another team's service page: its notes, but not its checks.
    html = client.get(service_url(other_check)).content.decode()
    assert SECRET not in html and "X-Trace" not in html
    assert 'id="checks-group"' not in html
    assert 'id="checks-group"' in client.get(service_url(secret_check)).content.decode()


def test_an_editor_reads_their_own_teams_checks_masked(client, editor, secret_check):
    client.force_login(editor)
    for url in (change_url(secret_check), service_url(secret_check)):
        html = client.get(url).content.decode()
        assert SECRET not in html and "pw-0k" not in html
        assert "Authorization" in html and MASK in html


def test_ping_urls_in_the_admin_only_for_the_owning_team(client, editor, service, other_service):
    mine = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={})
    theirs = make_check(other_service, "nightly", kind=Kind.HEARTBEAT, config={})
    client.force_login(editor)
    assert str(mine.ping_uuid) in client.get(service_url(mine)).content.decode()
    assert str(theirs.ping_uuid) not in client.get(service_url(theirs)).content.decode()
    outsider = make_user("olga", role="Editors")
    client.force_login(outsider)
    assert str(mine.ping_uuid) not in client.get(service_url(mine)).content.decode()


def test_the_service_page_inline_edits_a_check_keeping_its_secret(client, admin_user, secret_check):
    client.force_login(admin_user)
    page = client.get(service_url(secret_check))
    assert SECRET not in page.content.decode()
    payload = form_payload(page, **{"checks-0-http_method": "HEAD"})
    response = client.post(service_url(secret_check), payload)
    assert response.status_code == 302
    check = Check.objects.get(pk=secret_check.pk)
    assert check.config["method"] == "HEAD"
    assert check.config["headers"] == HEADERS
