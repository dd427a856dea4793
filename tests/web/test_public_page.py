"""The public status page, history by month, incident and maintenance pages."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from checks.models import Check, Rollup
from statuspage.core import days
from statuspage.core.status_version import status_version_bump
from statuspage.incidents.models import Incident, IncidentService
from statuspage.web import public_cache
from statuspage.web.public import public_summary
from statuspage.web.public_days import read_day_cells
from tests.factories import make_user
from tests.web.public_worlds import build_world, day_start

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


def test_the_page_shows_banner_components_incidents_maintenance_and_history(client):
    build_world()
    response = client.get("/status/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = text_of(response)
    assert '<h1 id="overall">Partial System Outage</h1>' in html
    assert "banner--partial" in html
    for name in ("Payments", "Checkout", "Payments Worker", "Search Api", "Pay for your order"):
        assert name in html
    assert "Elevated checkout errors" in html
    assert "A bad cache node was found." in html
    assert "<strong>looking</strong>" in html  # update bodies are rendered Markdown
    assert "Maintenance in progress" in html and "Queue migration" in html
    assert "Scheduled maintenance" in html and "Database upgrade" in html
    assert "Past incidents" in html and "Slow search results" in html
    assert html.count("No incidents reported.") >= 10


def group_bars(client, name: str = "Payments") -> str:
    """The HTML of a component group's uptime bars, as the page fetches them on opening."""
    group = next(g for g in public_summary().groups if g.name == name)
    return text_of(client.get(f"/status/groups/{group.id}/bars/"))


def with_bars(client) -> str:
    """The Payments group's bars, then the page (whose bars are the ungrouped services')."""
    return group_bars(client) + text_of(client.get("/status/"))


def test_each_component_has_ninety_focusable_day_cells_with_their_text(client):
    world = build_world()
    html = with_bars(client)
    bars = re.findall(r'<ol class="bar" aria-label="([^"]+)">(.*?)</ol>', html, re.S)
    assert [label for label, _ in bars] == [
        "Checkout: uptime per day",
        "Payments Worker: uptime per day",
        "Search Api: uptime per day",
    ]
    cells = re.findall(r"<li class=(\w+) tabindex=0><i>(.*?)</i></li>", bars[0][1])
    assert len(cells) == 90
    level, text = cells[-1]
    today = world.now.astimezone(UTC)
    assert text.startswith(f"{today.day} {today:%b}<br>99.72% uptime")
    assert "Incident: Elevated checkout errors" in text
    assert level == "l2"  # below 99.9 % and a major incident that day
    assert cells[0] == ("nd", f"{(today - timedelta(days=89)):%-d %b}<br>No data")
    maintenance_day = cells[-13]
    assert maintenance_day[0] == "mt" and "Maintenance window" in maintenance_day[1]
    assert "99.72% uptime over 90 days" in html


def test_the_page_needs_no_inline_script_no_inline_style_and_no_nonce(client):
    build_world()
    response = client.get("/status/")
    html = text_of(response)
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 1  # the external, deferred script of the group disclosures
    assert re.fullmatch(r'<script src="/static/js/public[.\w]*js" defer>', scripts[0])
    assert "style=" not in html and "<style" not in html
    assert "nonce" not in html
    assert "nonce-" not in response["Content-Security-Policy"]


def test_an_html_title_in_an_incident_is_escaped(client):
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(title="<img src=x onerror=alert(1)>")
    html = with_bars(client)
    assert "<img src=x" not in html
    assert "Incident: &lt;img src=x onerror=alert(1)&gt;" in html


@override_settings(
    STATUS_PAGE={
        "name": "Acme Cloud",
        "url": "https://status.acme.test/status/",
        "logo_url": "/static/acme.svg",
        "support_url": "https://help.acme.test/",
        "links": ["Home|https://acme.test/", "Bad|javascript:alert(1)"],
        "time_zone": "Europe/Paris",
    }
)
def test_branding_comes_from_settings(client):
    build_world()
    html = text_of(client.get("/status/"))
    assert "<title>Acme Cloud</title>" in html
    assert '<img class="logo" src="/static/acme.svg" alt=""' in html
    assert '<a href="https://help.acme.test/">Contact support</a>' in html
    assert '<a href="https://acme.test/">Home</a>' in html
    assert "javascript:" not in html
    assert "Times are shown in Europe/Paris." in html
    assert re.search(r"\d\d:\d\d CET", html)


def test_times_follow_the_page_time_zone_not_the_signed_in_viewer(client):
    world = build_world(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    viewer = make_user("tokyo-viewer")
    viewer.time_zone = "Asia/Tokyo"
    viewer.save()
    client.force_login(viewer)
    html = text_of(client.get(f"/status/incidents/{world.active.pk}/"))
    assert "26 Nov 2026, 10:00 UTC" in html
    assert "JST" not in html


def test_the_incident_page_shows_the_full_timeline(client):
    world = build_world()
    response = client.get(f"/status/incidents/{world.active.pk}/")
    assert response.status_code == 200
    html = text_of(response)
    assert "<h1>Elevated checkout errors</h1>" in html
    assert html.index("A bad cache node was found.") < html.index("into errors.")
    assert "Investigating" in html and "Identified" in html
    assert "Affected:" in html and "Checkout" in html and "(partial outage)" in html


def test_a_postmortem_appears_once_published(client):
    world = build_world()
    Incident.objects.filter(pk=world.resolved.pk).update(
        status="postmortem", postmortem="## Root cause\n\nA *typo*."
    )
    html = text_of(client.get(f"/status/incidents/{world.resolved.pk}/"))
    assert "<h2>Root cause</h2>" in html and "<em>typo</em>" in html


def test_unknown_and_draft_incidents_are_not_found(client):
    world = build_world()
    assert client.get(f"/status/incidents/{world.draft.pk}/").status_code == 404
    assert client.get("/status/incidents/999999/").status_code == 404
    assert client.get(f"/status/maintenance/{world.unpublished.pk}/").status_code == 404


def test_the_maintenance_page_shows_its_window_and_updates(client):
    world = build_world(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    html = text_of(client.get(f"/status/maintenance/{world.upcoming.pk}/"))
    assert "<h1>Database upgrade</h1>" in html
    assert "27 Nov 2026, 12:00" in html and "27 Nov 2026, 14:00 UTC" in html
    assert "We will upgrade the database." in html


def test_history_is_paginated_by_month(client, time_machine):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    world = build_world(now)
    Incident.objects.filter(pk=world.resolved.pk).update(
        started_at=datetime(2026, 10, 3, tzinfo=UTC)
    )
    current = text_of(client.get("/status/history/"))
    assert '<h2 class="month-title">November 2026</h2>' in current
    assert "Elevated checkout errors" in current and "Slow search results" not in current
    assert 'href="/status/history/2026/10/"' in current
    october = client.get("/status/history/2026/10/")
    assert october.status_code == 200
    assert "Slow search results" in text_of(october)
    assert 'rel="next" href="/status/history/2026/11/"' in text_of(october)
    assert 'rel="prev"' not in text_of(october)
    assert client.get("/status/history/2026/9/").status_code == 404
    assert client.get("/status/history/2026/12/").status_code == 404
    assert client.get("/status/history/2026/13/").status_code == 404


def test_an_empty_catalog_still_renders(client):
    response = client.get("/status/")
    assert response.status_code == 200
    assert "All Systems Operational" in text_of(response)
    assert "No services are shown on this page yet." in text_of(response)


def test_the_first_render_takes_a_fixed_number_of_queries(client, django_assert_num_queries):
    build_world()
    with django_assert_num_queries(9):  # eight, and past days' rollups apart from today's
        assert client.get("/status/").status_code == 200


def test_after_a_bump_only_todays_rollups_are_read_again(
    client, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)
    world = build_world()
    bars = f"/status/groups/{public_summary().groups[0].id}/bars/"  # Checkout's group
    client.get(bars)
    check = Check.objects.get(service=world.checkout)
    today = Rollup.objects.get(check_ref=check, start=day_start(world.now, 0))
    today.down = 1436  # half the day down
    today.save()
    Rollup.objects.filter(check_ref=check, start=day_start(world.now, 5)).update(up=0, down=1440)
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    with django_assert_num_queries(8):
        html = text_of(client.get(bars))
    assert "<br>50.00% uptime" in html
    assert "<br>0.00% uptime" not in html  # five days ago: still the copy read before
    monkeypatch.setattr(public_cache, "PAST_DAYS_TTL_S", 0)
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    with django_assert_num_queries(9):  # eight, then the past days once the response is sent
        html = text_of(client.get(bars))
    assert "<br>0.00% uptime" not in html  # answered with the days it had
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    assert "<br>0.00% uptime" in text_of(client.get(bars))


def _bars(summary) -> dict[str, tuple]:
    return {
        c.slug: (
            c.uptime,
            [(d.day, d.available, d.counted, d.maintenance, d.incidents) for d in c.days],
        )
        for c in summary.components
    }


@pytest.mark.parametrize("days_on", [1, 3])
def test_on_a_new_day_past_days_move_on_and_match_a_full_read(time_machine, days_on):
    time_machine.move_to(datetime(2026, 11, 26, 23, 0, tzinfo=UTC), tick=False)
    world = build_world()
    check = Check.objects.get(service=world.checkout)
    for days_ago in (89, 88):  # the oldest days: they leave the window
        Rollup.objects.create(
            check_ref=check, period="day", start=day_start(world.now, days_ago), up=1000, down=440
        )
    public_summary(read_cells=public_cache.past_day_cells)
    read_at = public_cache._past["read_at"]
    # Today's rollup changes after the render; on the new day it is a past day.
    Rollup.objects.filter(check_ref=check, start=day_start(world.now, 0)).update(up=0, down=720)
    time_machine.move_to(world.now + timedelta(days=days_on), tick=False)
    later = timezone.now()
    Rollup.objects.create(
        check_ref=check, period="day", start=day_start(later, 0), up=100, down=100
    )
    moved = public_summary(now=later, read_cells=public_cache.past_day_cells)
    assert public_cache._past["read_at"] == read_at  # not read again in full
    assert _bars(moved) == _bars(public_summary(now=later, read_cells=read_day_cells))
    checkout = next(c for c in moved.components if c.slug == "checkout-api")
    assert checkout.days[-1].uptime == 50.0
    assert checkout.days[-1 - days_on].counted == 720


def test_a_new_incident_marks_a_past_day_of_bars_already_rendered(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    """Past days' HTML is kept between renders; a day an incident touches is built anew."""
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)
    world = build_world()
    six_days_ago = day_start(world.now, 6) + timedelta(hours=12)
    before = with_bars(client)
    assert "DNS trouble" not in before
    incident = Incident.objects.create(
        title="DNS <trouble>",
        impact="critical",
        status="resolved",
        is_published=True,
        started_at=six_days_ago,
        resolved_at=six_days_ago + timedelta(minutes=20),
    )
    IncidentService.objects.create(
        incident=incident, service=world.checkout, component_status="major_outage"
    )
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    html = with_bars(client)
    bars = dict(re.findall(r'<ol class="bar" aria-label="([^"]+)">(.*?)</ol>', html, re.S))
    cells = re.findall(
        r"<li class=(\w+) tabindex=0><i>(.*?)</i></li>", bars["Checkout: uptime per day"]
    )
    assert len(cells) == 90
    level, text = cells[-7]
    assert text.startswith(f"{six_days_ago.day} {six_days_ago:%b}<br>")
    assert text.endswith("<br>Incident: DNS &lt;trouble&gt;")
    assert level == "l3"  # a critical incident that day
    assert "DNS" not in bars["Search Api: uptime per day"]
    # 89 is today. The world's open incident marks today, and yesterday too when it began
    # before midnight (in the first hours of a day).
    open_since = 89 - (days.day_of(world.now) - days.day_of(world.active.started_at)).days
    marked = {83, *range(open_since, 90)}
    unmarked = [cell for n, cell in enumerate(cells) if n not in marked]
    assert all("Incident:" not in text for _, text in unmarked)


def test_a_newly_public_service_gets_its_past_days_at_once(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)
    world = build_world()
    client.get("/status/")
    world.private.is_public = True
    world.private.public_name = "Ledger"
    world.private.save()
    check = Check.objects.get(service=world.private)
    Rollup.objects.create(
        check_ref=check, period="day", start=day_start(world.now, 30), up=700, down=740
    )
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    html = text_of(client.get("/status/"))
    ledger = re.search(r'aria-label="Ledger: uptime per day">(.*?)</ol>', html).group(1)
    assert "48.61% uptime" in ledger


def test_post_is_not_allowed(client):
    assert client.post("/status/").status_code == 405
