"""POST/GET /api/v1/deployments, GET /api/v1/services, the OpenAPI schema and the docs page."""

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import Client

from checks.models import DeploymentImpact, Verdict
from statuspage.api.models import Scope
from statuspage.api.services import api_token_create
from statuspage.catalog.models import Deployment, DeploymentSource
from statuspage.catalog.services import deployment_record
from tests.catalog.worlds import HttpsClient
from tests.factories import make_service, token_owner

URL = "/api/v1/deployments"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
VALID = {
    "service": "checkout-api",
    "version": "1.4.2",
    "ref": "3f2a9c1",
    "actor": "ci",
    "deployed_at": "2026-11-26T13:30:00+02:00",
    "reason": "Cache the price lookup",
    "files_touched": ["prices/cache.py", "prices/views.py"],
    "command": "kubectl rollout restart deploy/checkout-api",
    "expected_metric": "p95 latency",
}


def make_token(team, *scopes: str) -> str:
    return api_token_create(team=team, name="CI", scopes=list(scopes), created_by=token_owner())[1]


@pytest.fixture
def write_token(team) -> str:
    return make_token(team, Scope.DEPLOYMENTS_WRITE)


@pytest.fixture
def read_token(team) -> str:
    return make_token(team, Scope.READ)


@pytest.fixture
def api_client() -> HttpsClient:
    return HttpsClient()


def post(client, body, token: str | None, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(URL, data, content_type="application/json", **extra)


def get(client, path: str, token: str | None):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(path, **extra)


# --- POST: the happy path ------------------------------------------------------------------


@pytest.mark.django_db
def test_records_a_deployment_through_the_service_with_source_api(api_client, service, write_token):
    with time_machine.travel(NOW, tick=False):
        response = post(api_client, VALID, write_token)

    assert response.status_code == 201
    deployment = Deployment.objects.get()
    assert response.json() == {
        "id": deployment.pk,
        "service": "checkout-api",
        "version": "1.4.2",
        "ref": "3f2a9c1",
        "actor": "ci",
        "deployed_at": "2026-11-26T11:30:00Z",
        "reason": "Cache the price lookup",
        "files_touched": "prices/cache.py\nprices/views.py",
        "command": "kubectl rollout restart deploy/checkout-api",
        "expected_metric": "p95 latency",
        "source": "api",
        "url": "https://testserver/services/checkout-api/",
        "impact": None,
    }
    assert deployment.service == service
    assert deployment.source == DeploymentSource.API
    assert deployment.deployed_by == "ci"
    assert deployment.deployed_at == datetime(2026, 11, 26, 11, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_deployed_at_defaults_to_now_and_optional_fields_to_empty(api_client, service, write_token):
    with time_machine.travel(NOW, tick=False):
        body = {"service": "checkout-api", "version": "2", "actor": "erin"}
        response = post(api_client, body, write_token)
    assert response.status_code == 201
    deployment = Deployment.objects.get()
    assert deployment.deployed_at == NOW
    assert (deployment.ref, deployment.reason, deployment.files_touched) == ("", "", "")


@pytest.mark.django_db
def test_a_pipeline_needs_no_csrf_token_or_session(service, write_token):
    client = Client(enforce_csrf_checks=True)
    body = {"service": "checkout-api", "version": "2", "actor": "ci"}
    response = post(client, body, write_token, secure=True)
    assert response.status_code == 201


# --- POST: bad payloads ------------------------------------------------------------------------


def without(name: str) -> dict:
    return {k: v for k, v in VALID.items() if k != name}


BAD_PAYLOADS = [
    pytest.param(without("version"), "version", "this field is required", id="no version"),
    pytest.param(without("service"), "service", "this field is required", id="no service"),
    pytest.param(without("actor"), "actor", "this field is required", id="no actor"),
    pytest.param({**VALID, "version": ""}, "version", "at least 1 character", id="empty"),
    pytest.param({**VALID, "version": "  "}, "version", "at least 1 character", id="blank"),
    pytest.param({**VALID, "version": "v" * 101}, "version", "at most 100", id="long version"),
    pytest.param({**VALID, "version": 12}, "version", "valid string", id="number version"),
    pytest.param({**VALID, "actr": "ci"}, "actr", "unknown field", id="typo in a name"),
    pytest.param(
        {**VALID, "service": "checkout api"}, "service", "must be a service slug", id="not a slug"
    ),
    pytest.param(
        {**VALID, "deployed_at": "2026-11-26T12:00:00"}, "deployed_at", "timezone", id="naive"
    ),
    pytest.param({**VALID, "deployed_at": 1795694400}, "deployed_at", "ISO 8601", id="unix time"),
    pytest.param(
        {**VALID, "deployed_at": "yesterday"}, "deployed_at", "valid datetime", id="not a date"
    ),
    pytest.param(
        {**VALID, "deployed_at": "2026-11-26T18:00:00+00:00"},
        "deployed_at",
        "in the future",
        id="future",
    ),
    pytest.param(
        {**VALID, "files_touched": ["a.py", 3]},
        "files_touched",
        "a string or a list of strings",
        id="files not strings",
    ),
    pytest.param(
        {**VALID, "expected_metric": "m" * 201}, "expected_metric", "at most 200", id="long metric"
    ),
    pytest.param([VALID], "body", "must be a JSON object", id="a list"),
    pytest.param("", "body", "a JSON object is required", id="empty body"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field", "message"), BAD_PAYLOADS)
def test_each_bad_payload_gets_a_422_naming_the_field(
    api_client, service, write_token, body, field, message
):
    with time_machine.travel(NOW, tick=False):
        response = post(api_client, body, write_token)
    assert response.status_code == 422
    payload = response.json()
    fields = {e["field"]: e["message"] for e in payload["errors"]}
    assert message in fields[field]
    assert payload["detail"].startswith("invalid request: ")
    assert f"{field}: " in payload["detail"]
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_all_problems_are_reported_at_once(api_client, service, write_token):
    response = post(api_client, {"service": "checkout-api", "versoin": "1"}, write_token)
    assert response.status_code == 422
    assert sorted((e["field"], e["type"]) for e in response.json()["errors"]) == [
        ("actor", "missing"),
        ("version", "missing"),
        ("versoin", "extra_forbidden"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["{", "not json", b"\xff\xfe{"])
def test_a_body_that_is_not_json_is_a_400(api_client, service, write_token, body):
    response = post(api_client, body, write_token)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("request body is not valid JSON: ")
    assert not Deployment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("size", [70_000, 1_100_000], ids=["over the API limit", "over Django's"])
def test_a_body_over_the_size_limit_is_a_413(api_client, service, write_token, size):
    body = {**VALID, "reason": "x" * size}
    response = post(api_client, body, write_token)
    assert response.status_code == 413
    assert response.json() == {"detail": "request body is larger than 64 KB"}
    assert not Deployment.objects.exists()


# --- POST: who may ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_token_is_a_401_with_a_bearer_challenge(api_client, service):
    response = post(api_client, VALID, None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "Authorization: Bearer" in response.json()["detail"]
    assert not Deployment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    ["Bearer sp_0123abcd_" + "A" * 43, "Bearer nonsense", "Basic Y2k6c2VjcmV0", "Bearer"],
)
def test_a_bad_token_is_a_401(api_client, service, write_token, authorization):
    response = api_client.post(
        URL, VALID, content_type="application/json", HTTP_AUTHORIZATION=authorization
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert response.json() == {"detail": "invalid, unknown or revoked token"}
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_a_token_without_the_write_scope_is_a_403(api_client, service, read_token):
    response = post(api_client, VALID, read_token)
    assert response.status_code == 403
    assert response.json() == {"detail": "this token lacks the 'deployments:write' scope"}
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_another_teams_service_is_a_403(api_client, service, other_service, write_token):
    response = post(api_client, {**VALID, "service": other_service.slug}, write_token)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "service 'search-api' belongs to another team than this token's"
    }
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_an_unknown_service_is_a_404(api_client, service, write_token):
    response = post(api_client, {**VALID, "service": "nope"}, write_token)
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown service 'nope'"}
    assert not Deployment.objects.exists()


# --- GET deployments ----------------------------------------------------------------------------


def record(service, version: str, at: datetime) -> Deployment:
    return deployment_record(service=service, version=version, deployed_by="ci", deployed_at=at)


@pytest.fixture
def history(service, other_service):
    old = record(service, "1.0", NOW - timedelta(hours=3))
    DeploymentImpact.objects.create(
        deployment=old,
        window_s=1800,
        computed_at=NOW - timedelta(hours=2),
        before_count=30,
        after_count=30,
        before_p50_ms=100.0,
        before_p95_ms=210.0,
        after_p50_ms=180.0,
        after_p95_ms=480.0,
        before_failure_pct=0.0,
        after_failure_pct=0.0,
        before_uptime_pct=100.0,
        after_uptime_pct=100.0,
        verdict=Verdict.REGRESSED,
        reason="p95 latency 210 ms -> 480 ms (+129%)",
    )
    new = record(service, "1.1", NOW - timedelta(minutes=5))
    record(other_service, "9.9", NOW - timedelta(minutes=1))
    return old, new


@pytest.mark.django_db
def test_lists_the_teams_deployments_newest_first_with_their_verdicts(
    api_client, history, read_token
):
    response = get(api_client, URL, read_token)
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["limit"], body["offset"], body["next"]) == (2, 50, 0, None)
    assert [d["version"] for d in body["items"]] == ["1.1", "1.0"]
    assert body["items"][0]["impact"] is None
    assert body["items"][1]["impact"] == {
        "verdict": "regressed",
        "reason": "p95 latency 210 ms -> 480 ms (+129%)",
        "window_s": 1800,
        "computed_at": "2026-11-26T10:00:00Z",
        "before": {
            "count": 30,
            "p50_ms": 100.0,
            "p95_ms": 210.0,
            "failure_pct": 0.0,
            "uptime_pct": 100.0,
        },
        "after": {
            "count": 30,
            "p50_ms": 180.0,
            "p95_ms": 480.0,
            "failure_pct": 0.0,
            "uptime_pct": 100.0,
        },
    }


@pytest.mark.django_db
def test_the_list_pages_and_filters_by_service(api_client, history, read_token, team):
    make_service("billing-api", team=team)
    record(history[0].service, "1.2", NOW)
    response = get(api_client, f"{URL}?service=checkout-api&limit=2", read_token)
    body = response.json()
    assert [d["version"] for d in body["items"]] == ["1.2", "1.1"]
    assert (
        body["next"]
        == "https://testserver/api/v1/deployments?service=checkout-api&limit=2&offset=2"
    )
    second = get(api_client, body["next"].removeprefix("https://testserver"), read_token).json()
    assert [d["version"] for d in second["items"]] == ["1.0"]
    assert second["next"] is None
    assert get(api_client, f"{URL}?service=billing-api", read_token).json()["count"] == 0


@pytest.mark.django_db
def test_the_list_takes_a_constant_number_of_queries(
    api_client, history, read_token, django_assert_num_queries
):
    get(api_client, URL, read_token)  # records the token's first use
    with django_assert_num_queries(3):  # token, count, page
        assert get(api_client, URL, read_token).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("?service=search-api", 403, "service 'search-api' belongs to another team"),
        ("?service=nope", 404, "unknown service 'nope'"),
        ("?limit=0", 422, "limit: "),
        ("?limit=500", 422, "limit: "),
        ("?offset=-1", 422, "offset: "),
    ],
)
def test_bad_list_queries(api_client, history, read_token, query, status, detail):
    response = get(api_client, f"{URL}{query}", read_token)
    assert response.status_code == status
    assert detail in response.json()["detail"]


@pytest.mark.django_db
def test_reading_needs_the_read_scope(api_client, history, write_token):
    for path in (URL, "/api/v1/services"):
        response = get(api_client, path, write_token)
        assert response.status_code == 403
        assert response.json() == {"detail": "this token lacks the 'read' scope"}
    assert get(api_client, URL, None).status_code == 401


@pytest.mark.django_db
def test_lists_the_teams_services(api_client, service, other_service, read_token):
    response = get(api_client, "/api/v1/services", read_token)
    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "checkout-api",
            "name": "Checkout Api",
            "team": "payments",
            "tier": "normal",
            "url": "https://testserver/services/checkout-api/",
        }
    ]


# --- Schema and docs ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_schema_lists_the_endpoints_and_bearer_auth(api_client):
    response = api_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/api/v1/deployments", "/api/v1/services"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/deployments"]) == {"get", "post"}
    post_op = schema["paths"]["/api/v1/deployments"]["post"]
    assert {"201", "401", "403", "404", "413", "422"} <= set(post_op["responses"])
    assert post_op["security"] == [{"TokenAuth": []}]
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert schema["components"]["schemas"]["DeploymentIn"]["required"] == [
        "service",
        "version",
        "actor",
    ]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.style_attributes = 0
        self._script_type: str | None = None

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if "style" in attr:
            self.style_attributes += 1
        if tag == "script":
            if attr.get("src"):
                self.urls.append(attr["src"])
            else:
                self._script_type = attr.get("type") or "text/javascript"
        elif tag == "link" and attr.get("href"):
            self.urls.append(attr["href"])
        elif tag == "style":
            self.inline_scripts.append("style")

    def handle_endtag(self, tag):
        if tag == "script" and self._script_type is not None:
            self.inline_scripts.append(self._script_type)
            self._script_type = None


@pytest.mark.django_db
def test_docs_page_loads_only_local_static_files_under_the_csp(api_client):
    response = api_client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assets = _Assets()
    assets.feed(response.content.decode())
    # The settings block is JSON data, which the CSP does not run; there is no code inline.
    assert assets.inline_scripts == ["application/json"]
    assert assets.style_attributes == 0
    assert len(assets.urls) == 5  # the CSS, two favicons, the bundle and its init script
    for url in assets.urls:
        assert url.startswith("/static/ninja/"), url
        assert api_client.get(url).status_code == 200, url
