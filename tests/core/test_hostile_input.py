"""Hostile input gets a clear 4xx with a message, never a 500 and never half-written data:
NUL characters (PostgreSQL text cannot hold them), too many form fields, a malformed
Content-Length. Ping bodies are the exception: they are kept, a NUL shown as U+FFFD."""

import json

import pytest

from checks.models import Kind, Ping
from checks.ping_intake import pings_drain
from statuspage.api.models import Scope
from statuspage.api.services import api_token_create
from statuspage.catalog.models import Deployment
from tests.checks.factories import make_check
from tests.factories import make_user


@pytest.fixture
def token(team, admin_user) -> str:
    scopes = [Scope.READ, Scope.DEPLOYMENTS_WRITE, Scope.CHECKS_WRITE]
    return api_token_create(team=team, name="ci", scopes=scopes, created_by=admin_user)[1]


@pytest.fixture
def job(service):
    return make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/?q=%00",
        "/?team=a%00b",
        "/services/checkout-api/?range=%00",
        "/incidents/new/?service=%00",
        "/status/history/?page=%00",
    ],
)
def test_a_nul_in_a_page_query_string_is_a_400_page_with_a_message(client, viewer, url):
    client.force_login(viewer)
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "the query string contains a NUL character" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/deployments?service=%00",
        "/api/v1/deployments?limit=1&x%00=1",
        "/api/v1/services/checkout-api%00/checks",
    ],
)
def test_a_nul_in_an_api_query_or_path_is_a_400_json(client, service, token, url):
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json()["detail"] in {
        "the query string contains a NUL character",
        "the path contains a NUL character",
    }


@pytest.mark.django_db
def test_a_nul_in_a_json_body_is_a_400_and_nothing_is_written(client, service, token):
    body = {"service": "checkout-api", "version": "1.0", "actor": "ci", "reason": "a\u0000b"}
    response = client.post(
        "/api/v1/deployments",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "the JSON body contains a NUL character (\\u0000)"
    assert Deployment.objects.count() == 0


@pytest.mark.django_db
def test_a_nul_in_a_check_definition_is_a_400(client, service, token):
    response = client.put(
        "/api/v1/services/checkout-api/checks/health",
        json.dumps({"kind": "http", "config": {"url": "http://example.com/\u0000"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.django_db
def test_a_nul_in_a_form_is_a_400_page(client):
    response = client.post("/accounts/login/", {"username": "a\x00", "password": "x"})
    assert response.status_code == 400
    assert "the form contains a NUL character" in response.content.decode()


@pytest.mark.django_db
def test_too_many_form_fields_is_a_400_page_saying_so(client):
    body = "&".join(f"f{i}=x" for i in range(2001))
    response = client.post(
        "/accounts/login/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "the request has more than 2000 fields" in response.content.decode()


@pytest.mark.django_db
def test_too_many_form_fields_on_the_api_is_a_400_json(client, token):
    body = "&".join(f"f{i}=x" for i in range(2001))
    response = client.post(
        "/api/v1/deployments",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "the request has more than 2000 fields"}


@pytest.mark.django_db
@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_malformed_content_length_on_a_ping_is_a_400(client, job, length):
    response = client.generic("POST", f"/ping/{job.ping_uuid}", b"ok", CONTENT_LENGTH=length)
    assert response.status_code == 400
    assert response.json() == {"detail": "malformed Content-Length header"}
    pings_drain()  # on PostgreSQL pings wait in the inbox until then
    assert Ping.objects.count() == 0


@pytest.mark.django_db
def test_a_nul_in_a_ping_body_is_stored_as_a_replacement_character(client, job):
    response = client.post(f"/ping/{job.ping_uuid}", b"done\x00 rows=3", content_type="text/plain")
    assert response.status_code == 200
    pings_drain()  # on PostgreSQL pings wait in the inbox until then
    assert Ping.objects.get().body == "done\ufffd rows=3"


@pytest.mark.django_db
def test_a_form_encoded_ping_body_with_a_nul_is_stored_too(client, job):
    response = client.post(
        f"/ping/{job.ping_uuid}", "out=a%00b", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    pings_drain()  # on PostgreSQL pings wait in the inbox until then
    assert Ping.objects.get().body == "out=a%00b"


@pytest.mark.django_db
def test_a_nul_in_an_admin_search_is_a_400(client):
    client.force_login(make_user("root", superuser=True))
    response = client.get("/admin/?q=%00")
    assert response.status_code == 400


@pytest.mark.django_db
def test_too_many_query_parameters_is_a_400_saying_so(client, viewer):
    client.force_login(viewer)
    query = "&".join(f"f{i}=x" for i in range(2001))
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert "the request has more than 2000 fields" in response.content.decode()
