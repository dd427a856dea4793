"""Open incidents and maintenance on top of the team and service pages, the team site's
link to the incident pages, and the link to an incident's public page once published."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from statuspage.incidents.models import Maintenance, MaintenanceStatus
from statuspage.incidents.services import incident_open
from tests.factories import make_user

NOW = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def writer(db):
    return make_user("wendy", role="Incident writers")


def open_incident(service, title: str, impact: str, *, publish: bool, by):
    return incident_open(
        title=title,
        impact=impact,
        affected={service: "major_outage"},
        body="Investigating.",
        publish=publish,
        by=by,
    )


def test_open_incidents_and_maintenance_are_on_top_of_the_team_page_worst_first(
    client, writer, service, other_service
):
    minor = open_incident(other_service, "Search is slow", "minor", publish=True, by=writer)
    critical = open_incident(service, "Checkout is down", "critical", publish=False, by=writer)
    window = Maintenance.objects.create(
        title="Database upgrade",
        status=MaintenanceStatus.IN_PROGRESS,
        scheduled_for=NOW - timedelta(minutes=10),
        scheduled_until=NOW + timedelta(hours=1),
    )
    window.services.add(service)
    client.force_login(writer)

    html = client.get("/").content.decode()

    top = html[: html.index('<table class="services">')]
    assert top.index("Checkout is down") < top.index("Search is slow")
    assert "Critical incident:" in top and "draft" in top
    assert f'href="/incidents/{critical.pk}/"' in top
    assert f'href="/status/incidents/{minor.pk}/"' in top  # published: its public page
    assert f'href="/status/incidents/{critical.pk}/"' not in top  # a draft has none
    assert "Maintenance in progress:" in top
    assert f'href="/incidents/maintenance/{window.pk}/"' in top
    assert 'href="/incidents/">Incidents</a>' in html  # the site navigation


def test_a_resolved_incident_is_no_longer_on_top(client, writer, service):
    incident = open_incident(service, "Checkout is down", "major", publish=True, by=writer)
    incident.status = "resolved"
    incident.save()
    client.force_login(writer)

    assert "Checkout is down" not in client.get("/").content.decode()


def test_service_page_shows_only_what_touches_the_service(client, writer, service, other_service):
    open_incident(service, "Checkout is down", "major", publish=True, by=writer)
    open_incident(other_service, "Search is slow", "minor", publish=True, by=writer)
    client.force_login(writer)

    html = client.get("/services/checkout-api/").content.decode()

    head = html[: html.index('id="checks-heading"')]
    assert "Checkout is down" in head
    assert "Search is slow" not in html


def test_viewers_without_the_incident_permission_get_no_dead_links(client, viewer, service):
    writer = make_user("wendy", role="Incident writers")
    draft = open_incident(service, "Checkout is down", "major", publish=False, by=writer)
    client.force_login(viewer)

    html = client.get("/").content.decode()

    assert "Checkout is down" in html
    assert f'href="/incidents/{draft.pk}/"' not in html
    assert 'href="/incidents/">Incidents</a>' not in html


def test_a_published_incident_links_to_its_public_page(client, writer, service):
    incident = open_incident(service, "Checkout is down", "major", publish=False, by=writer)
    client.force_login(writer)

    before = client.get(f"/incidents/{incident.pk}/").content.decode()
    response = client.post(f"/incidents/{incident.pk}/publish/", follow=True)

    assert 'id="public-link"' not in before
    assert f'id="public-link" href="/status/incidents/{incident.pk}/"' in response.content.decode()
