"""The admin writes incidents and maintenance through the services, like the team site."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from checks.models import MaintenanceWindow
from statuspage.core.status_version import status_version
from statuspage.incidents.models import Incident, Maintenance
from statuspage.incidents.services import incident_open
from statuspage.incidents.services_maintenance import maintenance_schedule

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def writer_client(client, writer):
    client.force_login(writer)
    return client


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_adding_an_incident_opens_it_with_its_first_update(writer_client, writer, service):
    data = {
        "title": "Checkout is down",
        "impact": "major",
        "status": "investigating",
        "started_at_0": "2026-11-26",
        "started_at_1": "08:50:00",
        "body": "Looking into it.",
        **management("affected", 1),
        "affected-0-service": str(service.pk),
        "affected-0-component_status": "major_outage",
    }
    response = writer_client.post(reverse("admin:incidents_incident_add"), data)
    assert response.status_code == 302, response.context["errors"]
    incident = Incident.objects.get()
    assert (incident.is_published, incident.created_by) == (False, writer)
    assert incident.started_at == T0 - timedelta(minutes=10)
    assert list(incident.affected.values_list("component_status", flat=True)) == ["major_outage"]
    assert list(incident.updates.values_list("body", flat=True)) == ["Looking into it."]


@pytest.fixture
def incident(service, writer):
    return incident_open(
        title="Checkout is down",
        impact="major",
        affected={service: "major_outage"},
        body="Looking.",
        publish=False,
        by=writer,
    )


def change_data(incident, **extra) -> dict:
    row = incident.affected.get()
    return {
        "title": incident.title,
        "impact": incident.impact,
        "started_at_0": "2026-11-26",
        "started_at_1": "09:00:00",
        "postmortem": "",
        **management("affected", 1, 1),
        "affected-0-id": str(row.pk),
        "affected-0-incident": str(incident.pk),
        "affected-0-service": str(row.service_id),
        "affected-0-component_status": row.component_status,
        **management("updates", 2, 1),
        "updates-0-id": str(incident.updates.get().pk),
        "updates-0-incident": str(incident.pk),
        "updates-1-incident": str(incident.pk),
        **extra,
    }


def test_a_new_timeline_entry_is_posted_as_an_update(writer_client, incident):
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    data = change_data(
        incident,
        **{"updates-1-status": "resolved", "updates-1-body": "Fixed.", "impact": "minor"},
    )
    response = writer_client.post(url, data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.impact, incident.resolved_at) == ("resolved", "minor", T0)
    assert incident.updates.count() == 2


def test_an_entry_that_breaks_the_rules_is_refused(writer_client, writer, incident):
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    data = change_data(incident, **{"updates-1-status": "postmortem", "updates-1-body": "x"})
    response = writer_client.post(url, data)
    assert response.status_code == 200
    assert "only follow a resolved incident" in str(
        response.context["inline_admin_formsets"][1].formset.errors
    )
    assert incident.updates.count() == 1


def test_the_publish_action_goes_through_the_service(writer_client, incident):
    url = reverse("admin:incidents_incident_changelist")
    writer_client.post(url, {"action": "publish_selected", "_selected_action": [incident.pk]})
    incident.refresh_from_db()
    assert incident.is_published and incident.published_at == T0


def test_maintenance_added_edited_and_deleted_keeps_the_engine_windows(
    writer_client, admin_user, client, service, other_service
):
    data = {
        "title": "Database upgrade",
        "services": [str(service.pk)],
        "scheduled_for_0": "2026-11-26",
        "scheduled_for_1": "10:00:00",
        "scheduled_until_0": "2026-11-26",
        "scheduled_until_1": "11:00:00",
        "is_published": "on",
        "auto_start": "on",
        "auto_complete": "on",
        "body": "Short downtime.",
    }
    response = writer_client.post(reverse("admin:incidents_maintenance_add"), data)
    assert response.status_code == 302, response.context["errors"]
    maintenance = Maintenance.objects.get()
    assert maintenance.updates.get().body == "Short downtime."
    assert list(MaintenanceWindow.objects.values_list("service_id", flat=True)) == [service.pk]

    data.pop("body")
    data |= {
        "services": [str(service.pk), str(other_service.pk)],
        **management("updates", 2, 1),
        "updates-0-id": str(maintenance.updates.get().pk),
        "updates-0-maintenance": str(maintenance.pk),
        "updates-1-maintenance": str(maintenance.pk),
        "updates-1-status": "in_progress",
        "updates-1-body": "Started early.",
    }
    url = reverse("admin:incidents_maintenance_change", args=[maintenance.pk])
    assert writer_client.post(url, data).status_code == 302
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.started_at) == ("in_progress", T0)
    assert MaintenanceWindow.objects.filter(ends_at=None, starts_at=T0).count() == 2

    client.force_login(admin_user)
    url = reverse("admin:incidents_maintenance_delete", args=[maintenance.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Maintenance.objects.exists() and not MaintenanceWindow.objects.exists()


def test_a_window_that_ends_before_it_starts_is_refused(writer_client, service):
    maintenance_schedule(
        title="Upgrade",
        services=[service],
        scheduled_for=T0 + timedelta(hours=1),
        scheduled_until=T0 + timedelta(hours=2),
        body="x",
        by=None,
    )
    data = {
        "title": "Upgrade",
        "services": [str(service.pk)],
        "scheduled_for_0": "2026-11-26",
        "scheduled_for_1": "12:00:00",
        "scheduled_until_0": "2026-11-26",
        "scheduled_until_1": "11:00:00",
        "auto_start": "on",
        "body": "x",
    }
    response = writer_client.post(reverse("admin:incidents_maintenance_add"), data)
    assert response.status_code == 200
    assert Maintenance.objects.count() == 1


def test_the_admin_pages_open_for_a_writer(writer_client, incident, service):
    maintenance = maintenance_schedule(
        title="Upgrade",
        services=[service],
        scheduled_for=T0 + timedelta(hours=1),
        scheduled_until=T0 + timedelta(hours=2),
        body="x",
        by=None,
    )
    for url in (
        reverse("admin:incidents_incident_changelist"),
        reverse("admin:incidents_incident_add"),
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        reverse("admin:incidents_maintenance_changelist"),
        reverse("admin:incidents_maintenance_add"),
        reverse("admin:incidents_maintenance_change", args=[maintenance.pk]),
    ):
        assert writer_client.get(url).status_code == 200, url


def test_a_writer_may_not_delete(writer_client, incident):
    url = reverse("admin:incidents_incident_delete", args=[incident.pk])
    assert writer_client.post(url, {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_deleting_an_incident_in_the_admin_bumps_the_status_version(
    client, admin_user, incident, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    before = status_version()
    url = reverse("admin:incidents_incident_delete", args=[incident.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Incident.objects.exists()
    assert status_version() > before
