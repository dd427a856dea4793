"""The public page agrees with itself: one rule for the overall status (banner and
summary.json), incidents by impact then time, texts that match what is drawn, a readable
time zone, and signed-in editors who see their own change at once."""

import re
from datetime import timedelta

import pytest

from checks.models import Check, State
from statuspage.core.status_version import status_version_bump
from statuspage.incidents.models import Incident, IncidentService
from statuspage.web import public_cache
from statuspage.web.public import public_summary
from tests.factories import make_user
from tests.web.public_worlds import build_world

pytestmark = pytest.mark.django_db


def _h1(html: str) -> str:
    return re.search(r'<h1 id="overall">([^<]*)</h1>', html).group(1)


def test_one_service_in_major_outage_makes_the_banner_and_the_indicator_a_major_outage(client):
    world = build_world()
    # Without the incident's override, Checkout is measured down: a major outage, while
    # the other public services are under maintenance or operational.
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")
    html = client.get("/status/").content.decode()
    assert "Major outage" in html
    assert _h1(html) == "Major System Outage"
    assert "banner--major" in html
    status = client.get("/api/v2/summary.json").json()["status"]
    assert status == {"indicator": "critical", "description": "Major System Outage"}


def test_the_banner_is_the_worst_component_even_when_an_incident_says_more(client):
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(impact="critical")
    html = client.get("/status/").content.decode()
    # Checkout is in partial outage (the incident's own component status): so is the page.
    assert _h1(html) == "Partial System Outage"
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] == "major"


def test_active_incidents_are_listed_by_impact_then_time(client):
    world = build_world()
    now = world.now
    newer_minor = Incident.objects.create(
        title="Slow avatars", impact="minor", status="investigating", is_published=True,
        started_at=now - timedelta(minutes=5),
    )  # fmt: skip
    older_critical = Incident.objects.create(
        title="Nobody can pay", impact="critical", status="identified", is_published=True,
        started_at=now - timedelta(hours=5),
    )  # fmt: skip
    newer_critical = Incident.objects.create(
        title="Logins failing", impact="critical", status="identified", is_published=True,
        started_at=now - timedelta(hours=1),
    )  # fmt: skip
    for incident in (newer_minor, older_critical, newer_critical):
        IncidentService.objects.create(
            incident=incident, service=world.search, component_status="degraded_performance"
        )
    expected = ["Logins failing", "Nobody can pay", "Elevated checkout errors", "Slow avatars"]
    html = client.get("/status/").content.decode()
    section = html.split('id="active-incidents"')[1].split("</section>")[0]
    assert re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', section) == expected
    data = client.get("/api/v2/summary.json").json()
    assert [i["name"] for i in data["incidents"]] == expected


def test_the_footer_names_the_time_zone_as_people_read_it(client, settings):
    build_world()
    html = client.get("/status/").content.decode()
    assert "Times are shown in UTC." in html
    assert "Etc/UTC" not in html
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": "America/New_York"}
    public_cache.local_clear()
    status_version_bump()
    html = client.get("/status/history/").content.decode()
    assert "Times are shown in America/New York." in html


def test_the_text_under_a_bar_counts_the_days_the_bar_shows(client):
    build_world()
    html = client.get("/status/").content.decode()
    search = html.split(">Search Api</h3>")[1].split("</li></ul>")[0].split('class="bar-scale"')[1]
    # 90 cells on a wide screen, the last 30 on a phone (CSS): one text for each.
    assert '<span class="days-all">90 days ago</span>' in search
    assert '<span class="days-phone">30 days ago</span>' in search
    assert '<span class="days-all">No data (90 days)</span>' in search  # no rollups at all
    assert '<span class="days-phone">No data (30 days)</span>' in search


def test_the_checkout_bar_text_gives_the_uptime_of_its_last_thirty_days(client):
    build_world()  # Checkout: 1436 up, 4 down on each of its last ten days
    group = public_summary().groups[0]  # Payments: its bars come when it is opened
    html = client.get(f"/status/groups/{group.id}/bars/").content.decode()
    checkout = html.split(">Checkout</h4>")[1].split('class="bar-end"')[0]
    assert "99.72% uptime over 30 days" in checkout
    assert "99.72% uptime over 90 days" in checkout


def test_anonymous_visitors_get_a_shared_cacheable_copy(client):
    build_world()
    response = client.get("/status/")
    assert response["Cache-Control"] == "public, max-age=30"
    assert "Cookie" not in response.get("Vary", "")
    summary = client.get("/api/v2/summary.json")
    assert summary["Cache-Control"] == "public, max-age=30"
    assert "Cookie" not in summary.get("Vary", "")


def test_a_signed_in_editor_sees_their_own_change_at_once(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    # This process reads the status version rarely here; a signed-in user's request reads
    # it every time, so it never gets the copy cached before the change.
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 3600)
    world = build_world()
    anonymous = client.get("/status/")
    assert "Elevated checkout errors" in anonymous.content.decode()
    editor = make_user("ed-itor")
    client.force_login(editor)
    signed_in = client.get("/status/")
    assert signed_in["Cache-Control"] == "private, no-cache"
    assert "Cookie" in signed_in["Vary"] and "Accept-Encoding" in signed_in["Vary"]

    with django_capture_on_commit_callbacks(execute=True):
        Incident.objects.filter(pk=world.active.pk).update(title="Checkout is back")
        status_version_bump()
    assert "Checkout is back" in client.get("/status/").content.decode()
    client.logout()
    client.cookies.clear()
    assert client.get("/status/")["Cache-Control"] == "public, max-age=30"


def test_a_signed_in_editor_revalidates_with_the_etag(client):
    build_world()
    client.force_login(make_user("ed-itor"))
    first = client.get("/status/")
    again = client.get("/status/", headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    assert again["Cache-Control"] == "private, no-cache"


def test_a_measured_major_outage_of_every_service_reads_the_same(client):
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")
    Check.objects.update(state=State.DOWN)
    html = client.get("/status/").content.decode()
    assert _h1(html) == "Major System Outage"
