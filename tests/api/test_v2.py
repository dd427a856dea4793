"""The status-page v2 JSON API: every endpoint's shape, field names and enum values."""

from datetime import datetime, timedelta

import pytest

from statuspage.core.status_version import status_version_bump
from statuspage.incidents.models import IncidentService, Maintenance
from statuspage.web import public_cache
from statuspage.web.public_cache import local_clear
from tests.web.public_worlds import build_world

pytestmark = pytest.mark.django_db

PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_FIELDS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
    "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_FIELDS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
    "shortlink", "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_FIELDS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components",
}  # fmt: skip
MAINTENANCE_FIELDS = INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}
COMPONENT_STATUSES = {
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance",
}  # fmt: skip
INDICATORS = {"none", "minor", "major", "critical"}
IMPACTS = {"none", "minor", "major", "critical"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
ENDPOINTS = {
    "summary.json": {"page", "components", "incidents", "scheduled_maintenances", "status"},
    "status.json": {"page", "status"},
    "components.json": {"page", "components"},
    "incidents.json": {"page", "incidents"},
    "incidents/unresolved.json": {"page", "incidents"},
    "scheduled-maintenances.json": {"page", "scheduled_maintenances"},
    "scheduled-maintenances/upcoming.json": {"page", "scheduled_maintenances"},
    "scheduled-maintenances/active.json": {"page", "scheduled_maintenances"},
}


@pytest.fixture
def world():
    return build_world()


def get(client, endpoint: str) -> dict:
    response = client.get(f"/api/v2/{endpoint}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def assert_time(value) -> None:
    assert isinstance(value, str)
    assert datetime.fromisoformat(value).tzinfo is not None


def check_page(page: dict) -> None:
    assert set(page) == PAGE_FIELDS
    assert page["name"] == "Status"
    assert page["url"] == "http://testserver/status/"
    assert page["time_zone"] == "Etc/UTC"
    assert isinstance(page["id"], str)
    assert_time(page["updated_at"])


def check_component(component: dict, page_id: str) -> None:
    assert set(component) >= COMPONENT_FIELDS
    assert set(component) - COMPONENT_FIELDS <= {"components"}
    assert isinstance(component["id"], str)
    assert component["status"] in COMPONENT_STATUSES
    assert component["page_id"] == page_id
    assert isinstance(component["position"], int)
    assert isinstance(component["group"], bool)
    assert_time(component["created_at"])
    assert_time(component["updated_at"])
    if component["group"]:
        assert all(isinstance(member, str) for member in component["components"])


def check_updates(updates: list[dict], parent: dict, statuses: set[str]) -> None:
    for update in updates:
        assert set(update) >= UPDATE_FIELDS
        assert update["incident_id"] == parent["id"]
        assert update["status"] in statuses
        assert isinstance(update["body"], str)
        for field in ("created_at", "updated_at", "display_at"):
            assert_time(update[field])


def check_incident(incident: dict, page_id: str) -> None:
    assert set(incident) == INCIDENT_FIELDS
    assert incident["status"] in INCIDENT_STATUSES
    assert incident["impact"] in IMPACTS
    assert incident["page_id"] == page_id
    assert incident["shortlink"].startswith("http://testserver/status/incidents/")
    for field in ("created_at", "updated_at", "started_at"):
        assert_time(incident[field])
    for field in ("monitoring_at", "resolved_at"):
        assert incident[field] is None or datetime.fromisoformat(incident[field])
    check_updates(incident["incident_updates"], incident, INCIDENT_STATUSES)
    for component in incident["components"]:
        check_component(component, page_id)


def check_maintenance(maintenance: dict, page_id: str) -> None:
    assert set(maintenance) == MAINTENANCE_FIELDS
    assert maintenance["status"] in MAINTENANCE_STATUSES
    assert maintenance["impact"] == "maintenance"
    assert maintenance["shortlink"].startswith("http://testserver/status/maintenance/")
    assert_time(maintenance["scheduled_for"])
    assert_time(maintenance["scheduled_until"])
    assert maintenance["scheduled_for"] < maintenance["scheduled_until"]
    check_updates(maintenance["incident_updates"], maintenance, MAINTENANCE_STATUSES)
    for component in maintenance["components"]:
        check_component(component, page_id)


@pytest.mark.parametrize(("endpoint", "keys"), ENDPOINTS.items())
def test_every_endpoint_has_the_standard_shape(client, world, endpoint, keys):
    data = get(client, endpoint)
    assert set(data) == keys
    check_page(data["page"])
    page_id = data["page"]["id"]
    if "status" in data:
        assert set(data["status"]) == {"indicator", "description"}
        assert data["status"]["indicator"] in INDICATORS
    for component in data.get("components", []):
        check_component(component, page_id)
    for incident in data.get("incidents", []):
        check_incident(incident, page_id)
    for maintenance in data.get("scheduled_maintenances", []):
        check_maintenance(maintenance, page_id)


def test_summary_has_the_status_components_open_incidents_and_coming_maintenance(client, world):
    data = get(client, "summary.json")
    assert data["status"] == {"indicator": "major", "description": "Partial System Outage"}
    names = [(c["name"], c["status"], c["group"]) for c in data["components"]]
    assert names == [
        ("Payments", "partial_outage", True),
        ("Checkout", "partial_outage", False),
        ("Payments Worker", "under_maintenance", False),
        ("Search Api", "operational", False),
    ]
    group = data["components"][0]
    members = [c for c in data["components"] if c["group_id"] == group["id"]]
    assert group["components"] == [c["id"] for c in members]
    assert [i["name"] for i in data["incidents"]] == ["Elevated checkout errors"]
    incident = data["incidents"][0]
    assert [u["status"] for u in incident["incident_updates"]] == ["identified", "investigating"]
    assert [c["name"] for c in incident["components"]] == ["Checkout"]
    assert [(m["name"], m["status"]) for m in data["scheduled_maintenances"]] == [
        ("Queue migration", "in_progress"),
        ("Database upgrade", "scheduled"),
    ]


def test_status_json_follows_the_worst_component(
    client, world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)  # every request reads the version
    assert get(client, "status.json")["status"]["indicator"] == "major"
    IncidentService.objects.filter(incident=world.active).update(component_status="major_outage")
    local_clear()
    assert get(client, "status.json")["status"]["indicator"] == "major"  # cached until a bump
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    assert get(client, "status.json")["status"] == {
        "indicator": "critical",
        "description": "Major System Outage",
    }


def test_incidents_lists_resolved_ones_and_unresolved_only_open_ones(client, world):
    every = get(client, "incidents.json")["incidents"]
    assert [i["name"] for i in every] == ["Elevated checkout errors", "Slow search results"]
    resolved = every[1]
    assert resolved["status"] == "resolved" and resolved["impact"] == "minor"
    assert_time(resolved["resolved_at"])
    unresolved = get(client, "incidents/unresolved.json")["incidents"]
    assert [i["name"] for i in unresolved] == ["Elevated checkout errors"]


def test_maintenance_endpoints_split_upcoming_and_active(client, world):
    Maintenance.objects.create(
        title="Old window",
        status="completed",
        scheduled_for=world.now - timedelta(days=40),
        scheduled_until=world.now - timedelta(days=40, hours=-2),
        is_published=True,
    )
    every = get(client, "scheduled-maintenances.json")["scheduled_maintenances"]
    assert [m["name"] for m in every] == ["Database upgrade", "Queue migration", "Old window"]
    assert every[2]["status"] == "completed"
    upcoming = get(client, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["name"] for m in upcoming] == ["Database upgrade"]
    assert [c["name"] for c in upcoming[0]["components"]] == ["Checkout"]
    active = get(client, "scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [(m["name"], m["status"]) for m in active] == [("Queue migration", "in_progress")]


def test_components_statuses_cover_the_standard_values(client, world):
    statuses = {c["status"] for c in get(client, "components.json")["components"]}
    assert statuses <= COMPONENT_STATUSES
    assert {"partial_outage", "under_maintenance", "operational"} <= statuses


def test_cors_preflight_and_other_methods(client, world):
    preflight = client.options(
        "/api/v2/summary.json",
        headers={"Origin": "https://widget.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]
    assert client.post("/api/v2/summary.json").status_code == 405
    assert client.head("/api/v2/status.json").status_code == 200


def test_an_empty_page_is_still_valid(client, db):
    data = get(client, "summary.json")
    assert data["components"] == [] and data["incidents"] == []
    assert data["status"] == {"indicator": "none", "description": "All Systems Operational"}
    check_page(data["page"])
