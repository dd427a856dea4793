"""The visibility selector behind every public endpoint (statuspage.web.public).

``build_world`` makes the catalog the other public-page tests share: public and private
services, owner notes, check targets and error details, published and draft incidents,
published and unpublished maintenance, each carrying a marker text that must never appear
publicly (SECRETS).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from checks.models import Check, Rollup, State
from statuspage.catalog.models import Deployment, OwnerNote
from statuspage.incidents.models import (
    Incident,
    IncidentService,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
)
from statuspage.web.public import public_incident, public_month, public_summary
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user

SECRETS = [
    "SECRET-PRIVATE-SERVICE",
    "ledger-internal",
    "OWNER-NOTE-SECRET",
    "ROLLBACK-SECRET",
    "RUNBOOK-SECRET",
    "internal-target.example",
    "SECRET-LAST-DETAIL",
    "DRAFT-INCIDENT-SECRET",
    "DRAFT-UPDATE-SECRET",
    "UNPUBLISHED-MAINTENANCE-SECRET",
    "INTERNAL-DESCRIPTION-SECRET",
    "INTERNALNAME",
    "author-secret",
    "orion-oncall@example.com",
    "#orion-oncall",
    "ESCALATION-SECRET",
    "DEPLOY-SECRET",
]


@dataclass
class World:
    now: datetime
    checkout: object
    worker: object
    search: object
    private: object
    active: Incident
    resolved: Incident
    draft: Incident
    upcoming: Maintenance
    running: Maintenance
    unpublished: Maintenance


def day_start(now: datetime, days_ago: int) -> datetime:
    moment = now - timedelta(days=days_ago)
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def build_world(now: datetime | None = None) -> World:
    now = now or timezone.now()
    team = make_team(
        "orion",
        contact_email="orion-oncall@example.com",
        chat_channel="#orion-oncall",
        escalation_note="ESCALATION-SECRET",
    )
    author = make_user("author-secret")
    checkout = make_service(
        "checkout-api",
        team=team,
        name="Checkout INTERNALNAME",
        public_name="Checkout",
        description="INTERNAL-DESCRIPTION-SECRET",
        public_description="Pay for your order",
        component_group="Payments",
        is_public=True,
        position=1,
    )
    worker = make_service(
        "payments-worker", team=team, component_group="Payments", is_public=True, position=2
    )
    search = make_service("search-api", team=team, is_public=True, position=3)
    private = make_service(
        "ledger-internal", team=team, name="SECRET-PRIVATE-SERVICE", is_public=False, position=0
    )
    OwnerNote.objects.filter(service=checkout).update(
        expected_result="OWNER-NOTE-SECRET",
        rollback_note="ROLLBACK-SECRET",
        runbook="RUNBOOK-SECRET",
    )
    Deployment.objects.create(
        service=checkout, version="1.2.3", deployed_by="ci", reason="DEPLOY-SECRET"
    )

    down = make_check(checkout, "health", config={"url": "http://internal-target.example:8443/h"})
    Check.objects.filter(pk=down.pk).update(
        state=State.DOWN, last_detail="SECRET-LAST-DETAIL: connection refused", state_changed_at=now
    )
    for service in (worker, search, private):
        check = make_check(service, "health", config={"url": "http://internal-target.example/x"})
        Check.objects.filter(pk=check.pk).update(state=State.UP, last_detail="SECRET-LAST-DETAIL")
    for days_ago in range(0, 10):
        Rollup.objects.create(
            check_ref=down,
            period=Rollup.Period.DAY,
            start=day_start(now, days_ago),
            up=1436,
            down=4,
        )
    Rollup.objects.create(
        check_ref=down, period=Rollup.Period.DAY, start=day_start(now, 12), maintenance=60
    )

    active = Incident.objects.create(
        title="Elevated checkout errors",
        impact="major",
        status="identified",
        is_published=True,
        published_at=now - timedelta(hours=2),
        started_at=now - timedelta(hours=2),
        created_by=author,
    )
    IncidentService.objects.create(
        incident=active, service=checkout, component_status="partial_outage"
    )
    IncidentService.objects.create(
        incident=active, service=private, component_status="major_outage"
    )
    IncidentUpdate.objects.create(
        incident=active, status="investigating", body="We are **looking** into errors.",
        created_at=now - timedelta(hours=2), created_by=author,
    )  # fmt: skip
    IncidentUpdate.objects.create(
        incident=active, status="identified", body="A bad cache node was found.",
        created_at=now - timedelta(hours=1), created_by=author,
    )  # fmt: skip

    resolved = Incident.objects.create(
        title="Slow search results",
        impact="minor",
        status="resolved",
        is_published=True,
        started_at=now - timedelta(days=3, hours=1),
        resolved_at=now - timedelta(days=3),
    )
    IncidentService.objects.create(
        incident=resolved, service=search, component_status="degraded_performance"
    )
    IncidentUpdate.objects.create(
        incident=resolved, status="resolved", body="Search is fast again.",
        created_at=now - timedelta(days=3),
    )  # fmt: skip

    draft = Incident.objects.create(
        title="DRAFT-INCIDENT-SECRET",
        impact="critical",
        status="investigating",
        is_published=False,
        started_at=now - timedelta(minutes=30),
    )
    IncidentService.objects.create(incident=draft, service=search, component_status="major_outage")
    IncidentUpdate.objects.create(
        incident=draft, status="investigating", body="DRAFT-UPDATE-SECRET"
    )

    upcoming = Maintenance.objects.create(
        title="Database upgrade",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=2),
        is_published=True,
    )
    upcoming.services.set([checkout, private])
    MaintenanceUpdate.objects.create(
        maintenance=upcoming, status="scheduled", body="We will upgrade the database."
    )
    running = Maintenance.objects.create(
        title="Queue migration",
        status="in_progress",
        scheduled_for=now - timedelta(minutes=20),
        scheduled_until=now + timedelta(hours=1),
        started_at=now - timedelta(minutes=20),
        is_published=True,
    )
    running.services.set([worker])
    unpublished = Maintenance.objects.create(
        title="UNPUBLISHED-MAINTENANCE-SECRET",
        status="in_progress",
        scheduled_for=now - timedelta(minutes=10),
        scheduled_until=now + timedelta(hours=1),
        is_published=False,
    )
    unpublished.services.set([search, private])
    return World(
        now,
        checkout,
        worker,
        search,
        private,
        active,
        resolved,
        draft,
        upcoming,
        running,
        unpublished,
    )


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
