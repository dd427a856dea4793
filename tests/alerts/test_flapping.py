"""A check that keeps changing sends one "flapping" message, then quiet until it settles."""

import pytest

from statuspage.alerts.models import Event, EventKind, Flap
from statuspage.alerts.reminders import alerts_sweep
from tests.alerts.eventkit import at, down, kinds, make_channel, quick_check, up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _flap_rule(settings):
    settings.ALERTS_FLAP_TRANSITIONS = 4
    settings.ALERTS_FLAP_MINUTES = 10


def flap(check, start: float, changes: int) -> float:
    """Alternate down/up every minute from ``start``; the minute of the last change."""
    minute = start
    for number in range(changes):
        (down if number % 2 == 0 else up)(check, at(minute))
        minute += 1
    return minute - 1


def test_the_fourth_change_in_ten_minutes_sends_one_flapping_message(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    flap(check, 1, 12)
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP, EventKind.FLAPPING]
    flapping = Event.objects.get(kind=EventKind.FLAPPING)
    assert flapping.context["note"].startswith("4 state changes in 10 min")
    # The first check result (unknown to up) counts as a change too: all 13 are counted.
    assert Flap.objects.get().transitions == 13


def test_changes_spread_out_are_not_flapping(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    for minute in range(1, 60, 6):
        (down if (minute // 6) % 2 == 0 else up)(check, at(minute))
    assert EventKind.FLAPPING not in kinds(channel)
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP] * 5


def test_settling_down_announces_the_outage_once_stable(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    last = flap(check, 1, 9)  # ends down (the ninth change is a failure)
    alerts_sweep(now=at(last + 5))
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP, EventKind.FLAPPING]
    alerts_sweep(now=at(last + 10))
    alerts_sweep(now=at(last + 11))
    assert kinds(channel) == [
        EventKind.DOWN,
        EventKind.UP,
        EventKind.FLAPPING,
        EventKind.DOWN,
    ]
    assert (
        Event.objects.get(key__startswith="flap-settled").context["note"]
        == "Stable again after flapping."
    )
    assert not Flap.objects.filter(ended_at__isnull=True).exists()


def test_settling_in_the_state_last_announced_says_nothing_more(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    last = flap(check, 1, 10)  # ends up, and "up" was the last state announced
    alerts_sweep(now=at(last + 10))
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP, EventKind.FLAPPING]


def test_a_change_after_a_quiet_window_is_news_again(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    last = flap(check, 1, 10)
    down(check, at(last + 15))
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP, EventKind.FLAPPING, EventKind.DOWN]
