import json

import pytest

from checks.models import Check
from statuspage.api.services import api_token_create
from tests.factories import token_owner

pytestmark = pytest.mark.django_db


def token_for(team, *scopes: str) -> str:
    return api_token_create(team=team, name="CI", scopes=list(scopes), created_by=token_owner())[1]


def put(client, token: str | None, slug: str, name: str, body) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.put(
        f"/api/v1/services/{slug}/checks/{name}",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )
    return response.status_code, response.json()


HEALTH = {"kind": "http", "interval": 30, "config": {"url": "http://10.1.2.3/health"}}


def test_creates_then_updates_a_check_by_name(client, service):
    token = token_for(service.team, "checks:write")
    status, body = put(client, token, service.slug, "health", HEALTH)
    assert status == 201
    assert (body["name"], body["interval"], body["state"]) == ("health", 30, "unknown")
    status, body = put(client, token, service.slug, "health", {"kind": "http", "interval": 60})
    assert status == 200
    check = Check.objects.get()
    assert (check.interval_s, check.config["url"]) == (60, "http://10.1.2.3/health")


def test_a_heartbeat_check_answers_with_its_ping_url(client, service):
    token = token_for(service.team, "checks:write")
    status, body = put(
        client, token, service.slug, "nightly", {"kind": "heartbeat", "cron": "0 2 * * *"}
    )
    assert status == 201
    assert body["ping_url"].endswith(f"/ping/{Check.objects.get().ping_uuid}")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**HEALTH, "interval": 5}, "interval", "at least 10 seconds"),
        ({"kind": "http", "config": {"url": "ftp://x"}}, "config", "URL must be http"),
        ({"kind": "http", "config": {"url": "http://a/", "conditions": ["ok =="]}}, "config",
         "conditions"),
        ({"kind": "http", "config": {"url": "http://169.254.169.254/"}}, "config",
         "cloud metadata"),
        ({"kind": "smtp"}, "kind", "unknown kind 'smtp': use one of http, tcp, tls, dns"),
        ({**HEALTH, "colour": "red"}, "colour", "unknown field"),
        ({"kind": "heartbeat", "cron": "99 * * * *"}, "cron", "Bad minute"),
    ],
)  # fmt: skip
def test_invalid_definitions_get_a_422_naming_the_field_and_write_nothing(
    client, service, body, field, message
):
    token = token_for(service.team, "checks:write")
    status, answer = put(client, token, service.slug, "health", body)
    assert status == 422, answer
    assert any(e["field"] == field and message in e["message"] for e in answer["errors"]), answer
    assert Check.objects.count() == 0


def test_tokens_need_the_scope_and_their_own_team(client, service, other_service):
    assert put(client, None, service.slug, "health", HEALTH)[0] == 401
    assert put(client, token_for(service.team, "read"), service.slug, "health", HEALTH)[0] == 403
    own = token_for(service.team, "checks:write")
    # Another team's service is as unknown as a missing one: nothing confirms it exists.
    assert put(client, own, other_service.slug, "health", HEALTH)[0] == 404
    assert put(client, own, "no-such-service", "health", HEALTH)[0] == 404
    assert Check.objects.count() == 0


def test_lists_a_services_checks_with_a_read_token(client, service):
    put(client, token_for(service.team, "checks:write"), service.slug, "health", HEALTH)
    response = client.get(
        f"/api/v1/services/{service.slug}/checks",
        headers={"Authorization": f"Bearer {token_for(service.team, 'read')}"},
    )
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == ["health"]


def test_the_openapi_schema_lists_the_check_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/services/{slug}/checks/{name}" in paths
    assert "/api/v1/services/{slug}/checks" in paths


SECRET = "Bearer tok-77aa01"
WITH_HEADER = {
    "kind": "http",
    "config": {"url": "https://ci:pw-9z@10.1.2.3/health", "headers": {"Authorization": SECRET}},
}


def listed(client, token: str, slug: str) -> tuple[int, object]:
    response = client.get(
        f"/api/v1/services/{slug}/checks", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.json()


def test_secrets_are_answered_masked_and_kept_when_sent_back_masked(client, service):
    token = token_for(service.team, "checks:write", "read")
    status, body = put(client, token, service.slug, "health", WITH_HEADER)
    assert status == 201
    assert body["config"]["headers"] == {"Authorization": "********"}
    assert body["config"]["url"] == "https://ci:********@10.1.2.3/health"
    status, (listed_check,) = listed(client, token, service.slug)
    assert SECRET not in json.dumps(listed_check) and "pw-9z" not in json.dumps(listed_check)
    # What the API answered, sent back with one change: the secrets stay as they were.
    echoed = {"kind": "http", "config": {**listed_check["config"], "method": "HEAD"}}
    assert put(client, token, service.slug, "health", echoed)[0] == 200
    config = Check.objects.get().config
    assert config["headers"] == {"Authorization": SECRET}
    assert (config["url"], config["method"]) == ("https://ci:pw-9z@10.1.2.3/health", "HEAD")


def test_a_mask_for_a_header_never_stored_is_a_422(client, service):
    token = token_for(service.team, "checks:write")
    body = {"kind": "http", "config": {"url": "http://10.1.2.3/", "headers": {"X-Key": "********"}}}
    status, answer = put(client, token, service.slug, "health", body)
    assert status == 422
    assert any(e["field"] == "config" and "X-Key" in e["message"] for e in answer["errors"])
    assert Check.objects.count() == 0


def test_another_teams_checks_are_a_404(client, service, other_service):
    put(client, token_for(other_service.team, "checks:write"), other_service.slug, "h", WITH_HEADER)
    status, body = listed(client, token_for(service.team, "read"), other_service.slug)
    assert status == 404
    assert SECRET not in json.dumps(body)
