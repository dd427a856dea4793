"""A check that keeps changing sends one "flapping" message, then quiet until it settles."""

import pytest
from django.db import connection

from checks.models import Check, Kind, State, Transition
from statuspage.alerts import flapping
from statuspage.alerts.flapping import FlapBook
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


@pytest.mark.postgres
def test_recent_transitions_are_read_by_index_before_the_table_is_analyzed(service):
    # Many checks created at once: their first results fill an empty transitions table in
    # the first minute, before ANALYZE sees it. Each batch still reads only its checks'
    # rows through the (check, time) index, not the whole table.
    checks = Check.objects.bulk_create(
        [Check(service=service, name=f"GET /n{n}", kind=Kind.HTTP, interval_s=60,
               config={"url": "http://127.0.0.1:9/"}) for n in range(3000)]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE checks_transition")  # empty: the planner's last word
    Transition.objects.bulk_create(
        Transition(check_ref=c, from_state=State.UNKNOWN, to_state=State.UP, at=at(0),
                   slot=int(at(0).timestamp()), reason="first result") for c in checks
    )  # fmt: skip
    batch = [c.pk for c in checks[:500]]
    book = FlapBook(batch, earliest=at(0), latest=at(0))
    assert sorted(book.times) == sorted(batch)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + flapping._RECENT, [batch, at(0) - book.window, at(0)]
        )  # fmt: skip
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on checks_transition" not in plan, plan
    assert "transition_check_time" in plan, plan
