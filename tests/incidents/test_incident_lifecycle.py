from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from statuspage.core.status_version import status_version
from statuspage.incidents.models import Incident, IncidentService
from statuspage.incidents.services import (
    incident_edit,
    incident_open,
    incident_postmortem_set,
    incident_publish,
    incident_update_post,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def open_incident(service, writer, **overrides):
    values = {
        "title": "Checkout is down",
        "impact": "major",
        "affected": {service: "major_outage"},
        "body": "We are **investigating** failed payments.",
        "publish": False,
        "by": writer,
    }
    return incident_open(**{**values, **overrides})


def test_opening_writes_the_incident_its_services_and_its_first_update(clock, service, writer):
    incident = open_incident(service, writer, started_at=T0 - timedelta(minutes=7))
    incident.refresh_from_db()
    assert (incident.status, incident.impact, incident.is_published) == (
        "investigating",
        "major",
        False,
    )
    assert incident.started_at == T0 - timedelta(minutes=7)
    assert incident.published_at is None and incident.created_by == writer
    assert list(incident.affected.values_list("service__slug", "component_status")) == [
        ("checkout-api", "major_outage")
    ]
    (update,) = incident.updates.all()
    assert (update.status, update.created_at, update.created_by) == ("investigating", T0, writer)


def test_opening_published_stamps_the_publication(clock, service, writer):
    incident = open_incident(service, writer, publish=True)
    assert incident.is_published and incident.published_at == T0
    assert incident.started_at == T0


def test_opening_as_resolved_records_an_incident_after_the_fact(clock, service, writer):
    incident = open_incident(service, writer, status="resolved")
    assert incident.resolved_at == T0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "  "}, "title", "The title cannot be empty."),
        ({"impact": "huge"}, "impact", "Unknown impact 'huge'"),
        ({"status": "postmortem"}, "status", "Unknown status 'postmortem'"),
        ({"status": "fixed"}, "status", "Unknown status 'fixed'"),
        ({"body": "\n "}, "body", "The update cannot be empty."),
        ({"started_at": T0 + timedelta(minutes=1)}, "started_at", "cannot be in the future"),
    ],
)
def test_opening_refuses_bad_input_and_writes_nothing(
    clock, service, writer, overrides, field, message
):
    with pytest.raises(ValidationError) as raised:
        open_incident(service, writer, **overrides)
    assert message in raised.value.message_dict[field][0]
    assert not Incident.objects.exists()


def test_opening_refuses_an_unknown_component_status(clock, service, writer):
    with pytest.raises(ValidationError) as raised:
        open_incident(service, writer, affected={service: "on_fire"})
    assert "Unknown component status 'on_fire'" in raised.value.message_dict["affected"][0]
    assert not IncidentService.objects.exists()


def test_updates_move_the_status_and_stamp_monitoring_and_resolution(clock, service, writer):
    incident = open_incident(service, writer)
    clock.shift(timedelta(minutes=10))
    incident_update_post(incident=incident, status="identified", body="Bad deploy.", by=writer)
    clock.shift(timedelta(minutes=10))
    incident_update_post(incident=incident, status="monitoring", body="Rolled back.", by=writer)
    clock.shift(timedelta(minutes=10))
    incident_update_post(incident=incident, status="monitoring", body="Still fine.", by=writer)
    clock.shift(timedelta(minutes=30))
    incident_update_post(incident=incident, status="resolved", body="All good.", by=writer)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.monitoring_at == T0 + timedelta(minutes=20)  # entering, not repeating
    assert incident.resolved_at == T0 + timedelta(minutes=60)
    assert [u.status for u in incident.updates.all()] == [
        "resolved",
        "monitoring",
        "monitoring",
        "identified",
        "investigating",
    ]


def test_a_fix_that_did_not_hold_goes_back_to_investigating(clock, service, writer):
    incident = open_incident(service, writer)
    incident_update_post(incident=incident, status="monitoring", body="Fixed?", by=writer)
    incident_update_post(incident=incident, status="investigating", body="No.", by=writer)
    assert incident.status == "investigating"


def test_a_resolved_incident_is_not_set_back_without_an_explicit_reopen(clock, service, writer):
    incident = open_incident(service, writer)
    incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
    with pytest.raises(ValidationError) as raised:
        incident_update_post(incident=incident, status="investigating", body="Again", by=writer)
    assert "reopen it explicitly" in raised.value.message_dict["status"][0]
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.updates.count() == 2


def test_reopening_clears_the_resolution(clock, service, writer):
    incident = open_incident(service, writer)
    incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
    incident_update_post(
        incident=incident, status="investigating", body="Back.", by=writer, reopen=True
    )
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("investigating", None)
    clock.shift(timedelta(hours=1))
    incident_update_post(incident=incident, status="resolved", body="Done now.", by=writer)
    incident.refresh_from_db()
    assert incident.resolved_at == T0 + timedelta(hours=1)


def test_a_resolved_incident_takes_further_notes_and_keeps_its_resolution_time(
    clock, service, writer
):
    incident = open_incident(service, writer)
    incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
    clock.shift(timedelta(hours=2))
    incident_update_post(incident=incident, status="resolved", body="Root cause: X.", by=writer)
    incident.refresh_from_db()
    assert incident.resolved_at == T0


def test_a_postmortem_follows_only_a_resolved_incident(clock, service, writer):
    incident = open_incident(service, writer)
    with pytest.raises(ValidationError, match="only follow a resolved incident"):
        incident_update_post(incident=incident, status="postmortem", body="Soon.", by=writer)
    with pytest.raises(ValidationError, match="Resolve the incident"):
        incident_postmortem_set(incident=incident, body="# What happened", by=writer)
    assert incident.updates.count() == 1


def test_writing_the_postmortem_moves_the_incident_and_notes_it_once(clock, service, writer):
    incident = open_incident(service, writer)
    incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
    incident_postmortem_set(incident=incident, body="# What happened", by=writer)
    incident_postmortem_set(incident=incident, body="# What happened", by=writer)
    incident_postmortem_set(incident=incident, body="# What happened\nMore.", by=writer)
    incident.refresh_from_db()
    assert (incident.status, incident.postmortem) == ("postmortem", "# What happened\nMore.")
    notes = [u.body for u in incident.updates.filter(status="postmortem").order_by("-pk")]
    assert notes == ["The postmortem was updated.", "Postmortem published."]
    with pytest.raises(ValidationError, match="has a postmortem"):
        incident_update_post(incident=incident, status="resolved", body="Hm.", by=writer)
    incident_update_post(incident=incident, status="postmortem", body="Follow-up.", by=writer)


def test_an_update_may_replace_the_affected_services(clock, service, other_service, writer):
    incident = open_incident(service, writer)
    incident_update_post(
        incident=incident,
        status="identified",
        body="Search is hit too.",
        by=writer,
        affected={service: "partial_outage", other_service: "degraded_performance"},
    )
    assert dict(incident.affected.values_list("service__slug", "component_status")) == {
        "checkout-api": "partial_outage",
        "search-api": "degraded_performance",
    }
    incident_update_post(
        incident=incident,
        status="monitoring",
        body="Only search.",
        by=writer,
        affected={other_service: "degraded_performance"},
    )
    assert list(incident.affected.values_list("service__slug", flat=True)) == ["search-api"]


def test_publishing_is_stamped_once(clock, service, writer, django_capture_on_commit_callbacks):
    incident = open_incident(service, writer)
    clock.shift(timedelta(minutes=3))
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert incident_publish(incident=incident, by=writer) is True
    clock.shift(timedelta(minutes=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert incident_publish(incident=incident, by=writer) is False
    incident.refresh_from_db()
    assert incident.published_at == T0 + timedelta(minutes=3)
    assert status_version() == before + 1


def test_every_change_bumps_the_status_version_after_commit(
    clock, service, writer, django_capture_on_commit_callbacks
):
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        incident = open_incident(service, writer)
        incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
        incident_postmortem_set(incident=incident, body="Text", by=writer)
        incident_edit(
            incident=incident, title="Checkout failed", impact="minor", started_at=T0, by=writer
        )
    assert len(callbacks) == 4
    assert status_version() == before + 4


def test_an_unchanged_edit_writes_nothing_and_bumps_nothing(
    clock, service, writer, django_capture_on_commit_callbacks
):
    incident = open_incident(service, writer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        changed = incident_edit(
            incident=incident,
            title=incident.title,
            impact=incident.impact,
            started_at=incident.started_at,
            affected={service: "major_outage"},
            by=writer,
        )
    assert changed is False and callbacks == []
