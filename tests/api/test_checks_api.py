import json

import pytest

from checks.models import Check
from statuspage.api.services import api_token_create

pytestmark = pytest.mark.django_db


def token_for(team, *scopes: str) -> str:
    return api_token_create(team=team, name="CI", scopes=list(scopes), created_by=None)[1]


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
        ({"kind": "smtp"}, "kind", "Input should be"),
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
    assert put(client, own, other_service.slug, "health", HEALTH)[0] == 403
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
