"""Maintenance windows keep outages quiet; an outage that outlives its window alerts then."""

import pytest

from checks.maintenance import maintenance_windows_sync
from statuspage.alerts.models import Event, EventKind
from statuspage.alerts.reminders import alerts_sweep
from statuspage.incidents.models import Maintenance, MaintenanceStatus
from tests.alerts.eventkit import at, down, kinds, make_channel, quick_check, up

pytestmark = pytest.mark.django_db


def window(service, start, end, source_id=1):
    maintenance_windows_sync(
        source_id=source_id, service_ids=[service.pk], starts_at=start, ends_at=end, now=start
    )


def test_an_outage_inside_a_maintenance_window_is_not_announced(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    window(service, at(10), at(40))
    down(check, at(12))
    up(check, at(20))
    assert kinds(channel) == []


def test_a_recovery_inside_a_window_is_announced_if_its_outage_was(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    down(check, at(5))
    window(service, at(10), at(40))
    up(check, at(20))
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP]


def test_other_services_are_not_covered_by_the_window(service, team):
    from tests.factories import make_service

    channel = make_channel(team)
    other = make_service("cart", team=team)
    window(service, at(10), at(40))
    down(quick_check(other), at(12))
    assert kinds(channel) == [EventKind.DOWN]


def test_still_down_when_the_window_ends_alerts_then_once(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    window(service, at(10), at(40))
    down(check, at(12))
    alerts_sweep(now=at(30))
    assert kinds(channel) == []
    alerts_sweep(now=at(41))
    alerts_sweep(now=at(42))
    assert kinds(channel) == [EventKind.DOWN]
    event = Event.objects.get()
    assert event.key == f"after-maintenance:1:{service.pk}:{check.pk}"
    assert "during maintenance" in event.context["note"]
    up(check, at(50))
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP]


def test_recovered_inside_the_window_says_nothing_when_it_ends(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    window(service, at(10), at(40))
    down(check, at(12))
    up(check, at(20))
    alerts_sweep(now=at(41))
    assert kinds(channel) == []


def test_maintenance_start_and_end_are_told_once_each(service, team):
    outages_only = make_channel(team, "outages", events=[EventKind.DOWN, EventKind.UP])
    channel = make_channel(team, "all")
    maintenance = Maintenance.objects.create(
        title="Database upgrade",
        scheduled_for=at(10),
        scheduled_until=at(40),
        status=MaintenanceStatus.IN_PROGRESS,
        started_at=at(10),
    )
    maintenance.services.add(service)
    alerts_sweep(now=at(11))
    alerts_sweep(now=at(12))
    maintenance.status, maintenance.completed_at = MaintenanceStatus.COMPLETED, at(40)
    maintenance.save()
    alerts_sweep(now=at(41))
    assert kinds(channel) == [EventKind.MAINTENANCE_STARTED, EventKind.MAINTENANCE_ENDED]
    assert kinds(outages_only) == []
    started = Event.objects.get(kind=EventKind.MAINTENANCE_STARTED)
    assert started.context["maintenance"]["services"] == ["Checkout Api"]


def test_flapping_inside_a_window_is_not_announced(service, team, settings):
    settings.ALERTS_FLAP_TRANSITIONS = 3
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    window(service, at(10), at(40))
    for minute in range(11, 17):
        (down if minute % 2 else up)(check, at(minute))
    assert kinds(channel) == []
