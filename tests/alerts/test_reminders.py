"""Reminders of unacknowledged outages per channel, and escalation to a second channel."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statuspage.alerts.acks import alert_ack
from statuspage.alerts.models import AckVia, Event, EventKind
from statuspage.alerts.reminders import alerts_sweep
from tests.alerts.eventkit import at, down, kinds, make_channel, quick_check, up
from tests.factories import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _escalation(settings):
    settings.ALERTS_ESCALATE_AFTER_S = 30 * 60


@pytest.fixture
def channels(team):
    return {
        "chat": make_channel(team, "chat", remind_every_s=10 * 60),
        "mail": make_channel(team, "mail", kind="email", target="oncall@example.com"),
        "pager": make_channel(team, "pager", escalation=True),
    }


def sweep(*minutes: float) -> None:
    for minute in minutes:
        alerts_sweep(now=at(minute))


def test_a_channel_with_an_interval_is_reminded_each_interval_once(service, channels):
    check = quick_check(service)
    up(check, at(0))
    down(check, at(1))
    sweep(5, 10, 11, 11, 12, 21, 25)
    assert kinds(channels["chat"]) == [EventKind.DOWN, EventKind.REMINDER, EventKind.REMINDER]
    assert kinds(channels["mail"]) == [EventKind.DOWN]
    reminder = Event.objects.filter(kind=EventKind.REMINDER).order_by("occurred_at").first()
    assert reminder.context["down_for_s"] == 10 * 60
    assert reminder.context["notes"]["rollback_note"] == "Redeploy the previous tag"


def test_a_sweep_that_could_not_run_sends_only_the_latest_reminder(service, channels):
    check = quick_check(service)
    down(check, at(1))
    sweep(29)  # two intervals passed unseen
    assert kinds(channels["chat"]) == [EventKind.DOWN, EventKind.REMINDER]
    assert Event.objects.filter(kind=EventKind.REMINDER).get().key.endswith(":2")


def test_unacknowledged_outages_escalate_once_to_the_escalation_channel(service, channels):
    check = quick_check(service)
    down(check, at(1))
    sweep(30, 31, 35, 60)
    assert kinds(channels["pager"]) == [EventKind.ESCALATION]
    assert EventKind.ESCALATION not in kinds(channels["chat"])
    escalation = Event.objects.get(kind=EventKind.ESCALATION)
    assert escalation.context["down_for_s"] == 30 * 60


def test_an_acknowledged_outage_is_neither_reminded_nor_escalated(service, channels):
    check = quick_check(service)
    down(check, at(1))
    outage = Event.objects.get(kind=EventKind.DOWN)
    alert_ack(service=service, event=outage, by=None, via=AckVia.LINK, now=at(3))
    sweep(11, 21, 31, 60)
    assert kinds(channels["chat"]) == [EventKind.DOWN]
    assert kinds(channels["pager"]) == []


def test_recovery_stops_reminders_and_the_next_outage_needs_a_new_ack(service, channels):
    check = quick_check(service)
    down(check, at(1))
    outage = Event.objects.get(kind=EventKind.DOWN)
    alert_ack(service=service, event=outage, by=None, via=AckVia.LINK, now=at(3))
    up(check, at(5))
    sweep(11)
    down(check, at(20))
    sweep(31)
    assert kinds(channels["chat"]) == [
        EventKind.DOWN,
        EventKind.UP,
        EventKind.DOWN,
        EventKind.REMINDER,
    ]


def test_a_paused_service_is_not_reminded(service, channels):
    check = quick_check(service)
    down(check, at(1))
    service.is_paused = True
    service.save()
    sweep(11, 31)
    assert kinds(channels["chat"]) == [EventKind.DOWN]
    assert kinds(channels["pager"]) == []


def test_a_check_disabled_while_down_is_neither_reminded_nor_escalated(service, channels):
    check = quick_check(service)
    watched = quick_check(service, name="GET /ready")
    down(check, at(1))
    down(watched, at(1))
    check.is_enabled = False
    check.save(update_fields=["is_enabled"])
    sweep(11, 31)
    reminded = Event.objects.filter(kind__in=[EventKind.REMINDER, EventKind.ESCALATION])
    # The check still watched is reminded (at 11 and 31 min) and escalated; the other is not.
    assert set(reminded.values_list("check_ref", flat=True)) == {watched.pk}
    assert set(reminded.values_list("kind", flat=True)) == {
        EventKind.REMINDER,
        EventKind.ESCALATION,
    }


def test_without_an_escalation_delay_nothing_escalates(service, channels, settings):
    settings.ALERTS_ESCALATE_AFTER_S = 0
    down(quick_check(service), at(1))
    sweep(120)
    assert kinds(channels["pager"]) == []


def test_the_periodic_task_reminds_once_however_often_it_runs(service, channels):
    from django.utils import timezone

    from statuspage.alerts.tasks import remind

    check = quick_check(service)
    up(check, timezone.now() - timedelta(minutes=15))
    down(check, timezone.now() - timedelta(minutes=14))
    assert remind() == 1
    assert remind() == 0
    assert kinds(channels["chat"]) == [EventKind.DOWN, EventKind.REMINDER]


def test_the_periodic_task_with_nothing_down_records_nothing(service, channels):
    from statuspage.alerts.tasks import remind

    assert remind() == 0
    assert Event.objects.count() == 0


def services_down(team, count: int, first: int = 0) -> None:
    for number in range(first, first + count):
        check = quick_check(make_service(f"svc-{number}", team=team))
        down(check, at(1))


def test_the_sweep_reads_channels_once_however_many_services_are_down(team, channels):
    """A network fault can put thousands of services down at once: the sweep must not read
    each one's channels apart."""
    services_down(team, 2)
    with CaptureQueriesContext(connection) as few:
        sweep(5)  # no reminder due yet: only the reading is counted
    services_down(team, 10, first=2)
    with CaptureQueriesContext(connection) as many:
        sweep(6)
    assert len(many.captured_queries) == len(few.captured_queries)
    sweep(11)  # and each of the twelve is reminded once its interval passed
    assert len(kinds(channels["chat"])) == 12 * 2
