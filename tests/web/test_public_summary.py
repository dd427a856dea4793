"""The visibility selector behind every public endpoint (statuspage.web.public).

The catalog comes from ``tests.web.public_worlds``.
"""

from datetime import UTC, datetime, timedelta

import pytest

from checks.models import Check, State
from statuspage.incidents.models import (
    Incident,
    Maintenance,
)
from statuspage.web.public import public_incident, public_month, public_summary
from tests.checks.factories import make_check
from tests.factories import make_service
from tests.web.public_worlds import build_world

pytestmark = pytest.mark.django_db


def test_only_public_services_appear_grouped_in_display_order():
    world = build_world()
    summary = public_summary(now=world.now)
    assert [c.name for c in summary.components] == ["Checkout", "Payments Worker", "Search Api"]
    group, search = summary.layout
    assert group.name == "Payments"
    assert [c.slug for c in group.components] == ["checkout-api", "payments-worker"]
    assert search.slug == "search-api"
    assert summary.components[0].description == "Pay for your order"


def test_services_alike_in_order_keep_their_own_checks():
    """Services and checks come in one joined query; ties in the page order stay apart."""
    world = build_world()
    team = world.checkout.team
    twins = [
        make_service(f"twin-{n}", team=team, name="Twin", is_public=True, position=5)
        for n in range(2)
    ]
    make_check(twins[0], "a", state=State.DOWN)
    make_check(twins[0], "b", state=State.DOWN)
    make_check(twins[1], "a", state=State.UP)
    make_check(twins[1], "b", state=State.DOWN)
    make_check(twins[1], "off", state=State.DOWN, is_enabled=False)
    bare = make_service("no-checks", team=team, is_public=True, position=5)
    by_slug = {c.slug: c for c in public_summary(now=world.now).components}
    assert by_slug["twin-0"].status == "major_outage"  # both of its checks down
    assert by_slug["twin-1"].status == "partial_outage"  # one of two enabled checks down
    assert by_slug[bare.slug].status == "operational"  # nothing measured claims nothing
    assert len(by_slug) == 6


def test_an_open_incident_overrides_measurement_and_maintenance_marks_its_services():
    world = build_world()
    by_slug = {c.slug: c for c in public_summary(now=world.now).components}
    # Checks say major outage; the published incident says partial outage and wins.
    assert by_slug["checkout-api"].status == "partial_outage"
    assert by_slug["payments-worker"].status == "under_maintenance"
    # The draft incident and the unpublished maintenance change nothing.
    assert by_slug["search-api"].status == "operational"


def test_the_measured_status_returns_when_the_incident_is_resolved():
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(status="resolved", resolved_at=world.now)
    by_slug = {c.slug: c for c in public_summary(now=world.now).components}
    assert by_slug["checkout-api"].status == "major_outage"


def test_only_published_incidents_and_maintenance_are_listed():
    world = build_world()
    summary = public_summary(now=world.now)
    assert [i.name for i in summary.active_incidents] == ["Elevated checkout errors"]
    assert [m.name for m in summary.active_maintenances] == ["Queue migration"]
    assert [m.name for m in summary.upcoming_maintenances] == ["Database upgrade"]
    # Private services never show among the affected.
    assert [a.name for a in summary.active_incidents[0].affected] == ["Checkout"]
    assert [a.name for a in summary.upcoming_maintenances[0].affected] == ["Checkout"]
    assert public_incident(world.draft.pk) is None


def test_a_scheduled_window_past_its_start_counts_as_running():
    world = build_world()
    Maintenance.objects.filter(pk=world.upcoming.pk).update(
        scheduled_for=world.now - timedelta(minutes=1)
    )
    summary = public_summary(now=world.now)
    assert {m.name: m.status for m in summary.active_maintenances} == {
        "Queue migration": "in_progress",
        "Database upgrade": "in_progress",
    }
    assert summary.upcoming_maintenances == ()


def test_overall_status_follows_the_worst_of_components_and_incidents():
    world = build_world()
    overall = public_summary(now=world.now).overall
    assert (overall.indicator, overall.banner) == ("major", "partial")
    assert overall.description == "Partial System Outage"
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")
    Check.objects.filter(service=world.checkout).update(state=State.UP)
    Maintenance.objects.filter(pk=world.running.pk).update(status="completed")
    overall = public_summary(now=world.now).overall
    assert (overall.indicator, overall.banner) == ("none", "operational")
    assert overall.description == "All Systems Operational"


def test_maintenance_alone_shows_the_maintenance_banner():
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")
    Check.objects.filter(service=world.checkout).update(state=State.UP)
    overall = public_summary(now=world.now).overall
    assert (overall.indicator, overall.banner) == ("none", "maintenance")
    assert overall.description == "Service Under Maintenance"


def test_every_public_component_down_is_a_major_outage():
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")
    Maintenance.objects.filter(pk=world.running.pk).update(status="completed")
    Check.objects.update(state=State.DOWN)
    overall = public_summary(now=world.now).overall
    assert (overall.indicator, overall.banner) == ("critical", "major")
    assert overall.description == "Major System Outage"


def test_day_cells_carry_uptime_and_the_incidents_of_that_day():
    world = build_world()
    summary = public_summary(now=world.now)
    checkout = summary.components[0]
    assert len(checkout.days) == 90
    today = checkout.days[-1]
    assert today.day == world.now.astimezone(UTC).date()
    assert (today.available, today.counted) == (1436, 1440)
    assert today.uptime == 99.72  # truncated to hundredths, as shown
    assert today.incidents == ("Elevated checkout errors",)
    assert today.impact == "major"
    assert checkout.days[0].uptime is None
    assert checkout.uptime == pytest.approx(100 * 1436 / 1440)
    search = summary.components[2]
    three_days_ago = search.days[-1 - 3]
    assert three_days_ago.incidents == ("Slow search results",)


def test_history_lists_fourteen_days_newest_first():
    world = build_world()
    history = public_summary(now=world.now).history
    assert len(history) == 14
    assert history[0].day > history[-1].day
    listed = sorted(i.name for day in history for i in day.incidents)
    assert listed == ["Elevated checkout errors", "Slow search results"]


def test_the_summary_takes_the_same_queries_for_three_or_thirty_services(
    django_assert_num_queries,
):
    world = build_world()
    with django_assert_num_queries(8):
        public_summary(now=world.now)
    team = world.checkout.team
    for n in range(27):
        service = make_service(f"extra-{n}", team=team, is_public=True, component_group=f"G{n % 4}")
        make_check(service)
    with django_assert_num_queries(8):
        summary = public_summary(now=world.now)
    assert len(summary.components) == 30


def test_a_postmortem_is_public_only_in_the_postmortem_status():
    world = build_world()
    Incident.objects.filter(pk=world.resolved.pk).update(postmortem="Root cause: a typo.")
    assert public_incident(world.resolved.pk).postmortem == ""
    Incident.objects.filter(pk=world.resolved.pk).update(status="postmortem")
    assert public_incident(world.resolved.pk).postmortem == "Root cause: a typo."


def test_a_month_lists_its_published_incidents_and_links_to_its_neighbours():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    world = build_world(now)
    Incident.objects.filter(pk=world.resolved.pk).update(
        started_at=datetime(2026, 9, 5, tzinfo=UTC)
    )
    november = public_month(year=2026, month=11, now=now)
    assert [i.name for i in november.incidents] == ["Elevated checkout errors"]
    assert [m.name for m in november.maintenances] == ["Database upgrade", "Queue migration"]
    assert november.previous.isoformat() == "2026-10-01"
    assert november.next is None
    september = public_month(year=2026, month=9, now=now)
    assert [i.name for i in september.incidents] == ["Slow search results"]
    assert september.previous is None
    assert public_month(year=2026, month=8, now=now) is None
    assert public_month(year=2026, month=12, now=now) is None
