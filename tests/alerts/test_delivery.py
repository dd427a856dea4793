"""Delivery rounds against real local receivers: grouping, retries, dead letters, order."""

import datetime as dt
import logging
import random
import threading

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from statuspage.alerts.delivery import (
    _outgoing,
    backoff_s,
    channel_round,
    channels_due,
    delivery_claim,
)
from statuspage.alerts.models import (
    Delivery,
    DeliveryState,
    EventKind,
    Notification,
    NotificationState,
)
from statuspage.alerts.sending import send_round
from statuspage.alerts.tasks import deliver_channel
from tests.alerts.eventkit import announce
from tests.alerts.receivers import Answer
from tests.factories import make_service

pytestmark = pytest.mark.django_db

NO_GROUPING = override_settings(ALERTS_GROUP_WINDOW_S=0)


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


@NO_GROUPING
def test_each_event_is_one_signed_message_marked_sent(
    team, webhook_channel, webhook_receiver, caplog
):
    services = [make_service(f"svc-{i}", team=team) for i in range(3)]
    for service in services:
        announce(service, EventKind.DOWN, f"t:{service.pk}:down", [webhook_channel])

    with caplog.at_level(logging.INFO, logger="statuspage.alerts.delivery"):
        report = channel_round(channel_id=webhook_channel.pk)

    assert (report.claimed, report.sent) == (3, 3)
    assert len(webhook_receiver.accepted()) == 3
    keys = set(Delivery.objects.values_list("key", flat=True))
    assert webhook_receiver.unique_ids() == keys
    assert set(Notification.objects.values_list("state", flat=True)) == {NotificationState.SENT}
    webhook_channel.refresh_from_db()
    assert webhook_channel.last_success_at is not None
    lines = [r.getMessage() for r in caplog.records if "event=alert.delivery " in r.getMessage()]
    assert len(lines) == 3
    assert all("channel_kind=webhook attempt=1 outcome=sent ms=" in line for line in lines)
    assert not any("secret-token" in r.getMessage() for r in caplog.records)


def test_a_storm_is_one_grouped_message_once_the_window_has_passed(
    team, slack_channel, slack_receiver
):
    services = [make_service(f"svc-{i}", team=team) for i in range(12)]
    for service in services:
        announce(service, EventKind.DOWN, f"t:{service.pk}:down", [slack_channel])

    with override_settings(ALERTS_GROUP_WINDOW_S=5):
        early = channel_round(channel_id=slack_channel.pk)
        assert early.claimed == 0
        assert 4 < early.wait_s <= 5
        report = channel_round(channel_id=slack_channel.pk, now=later(5))

    assert (report.claimed, report.sent) == (1, 1)
    (request,) = slack_receiver.accepted()
    assert "12 services" in request.payload["text"]
    delivery = Delivery.objects.get()
    assert delivery.notifications.count() == 12


@NO_GROUPING
def test_500_then_200_is_retried_after_a_backoff_with_the_same_key(
    service, webhook_channel, webhook_receiver
):
    announce(service, EventKind.DOWN, "t:1:down", [webhook_channel])
    webhook_receiver.answer(Answer(500))

    with override_settings(ALERTS_RETRY_BASE_S=10):
        first = channel_round(channel_id=webhook_channel.pk)
    delivery = Delivery.objects.get()
    assert (first.retrying, delivery.state, delivery.attempts) == (1, "retrying", 1)
    assert delivery.last_error == "HTTP 500"
    assert 5 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 10
    webhook_channel.refresh_from_db()
    assert webhook_channel.last_failure_reason == "HTTP 500"

    assert channel_round(channel_id=webhook_channel.pk).claimed == 0  # not due yet
    second = channel_round(channel_id=webhook_channel.pk, now=later(10))

    delivery.refresh_from_db()
    assert (second.sent, delivery.state, delivery.attempts) == (1, "sent", 2)
    assert [r.webhook_id for r in webhook_receiver.requests] == [delivery.key, delivery.key]


@NO_GROUPING
def test_retry_after_of_the_receiver_is_honoured(service, slack_channel, slack_receiver):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    slack_receiver.answer(Answer(429, headers={"Retry-After": "120"}))

    report = channel_round(channel_id=slack_channel.pk)

    delivery = Delivery.objects.get()
    assert report.wait_s == 120
    assert 115 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 120


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(7)  # noqa: S311 (jitter, not a secret)
    with override_settings(ALERTS_RETRY_BASE_S=2, ALERTS_RETRY_MAX_S=60):
        for attempt, full in [(1, 2), (2, 4), (3, 8), (4, 16), (9, 60)]:
            delays = [backoff_s(attempt, rng=rng) for _ in range(50)]
            assert all(full / 2 <= d <= full for d in delays)
            assert len(set(delays)) > 1


@NO_GROUPING
@override_settings(ALERTS_MAX_ATTEMPTS=3)
def test_a_receiver_always_failing_ends_in_a_dead_letter(service, slack_channel, slack_receiver):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    slack_receiver.default = Answer(500)

    now = timezone.now()
    for _ in range(5):
        channel_round(channel_id=slack_channel.pk, now=now)
        now += dt.timedelta(hours=1)

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("dead", 3, "HTTP 500")
    assert len(slack_receiver.requests) == 3
    assert Notification.objects.get().state == NotificationState.DEAD
    assert channels_due(now=now) == []


@NO_GROUPING
def test_a_4xx_is_not_retried(service, slack_channel, slack_receiver):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    slack_receiver.answer(Answer(404))

    report = channel_round(channel_id=slack_channel.pk)
    channel_round(channel_id=slack_channel.pk, now=later(3600))

    assert report.dead == 1
    assert Delivery.objects.get().state == DeliveryState.DEAD
    assert len(slack_receiver.requests) == 1


@NO_GROUPING
def test_a_sent_delivery_is_never_sent_again(service, webhook_channel, webhook_receiver):
    announce(service, EventKind.DOWN, "t:1:down", [webhook_channel])
    channel_round(channel_id=webhook_channel.pk)

    again = channel_round(channel_id=webhook_channel.pk, now=later(3600))

    assert again.claimed == 0
    assert len(webhook_receiver.requests) == 1


@NO_GROUPING
def test_a_crash_after_sending_resends_with_the_same_key_once_the_lease_ends(
    service, webhook_channel, webhook_receiver
):
    announce(service, EventKind.DOWN, "t:1:down", [webhook_channel])
    claim = delivery_claim(channel_id=webhook_channel.pk, now=timezone.now())
    send_round(claim.channel, _outgoing(claim))  # the receiver accepted; then the crash
    assert Delivery.objects.get().state == DeliveryState.SENDING

    assert channel_round(channel_id=webhook_channel.pk).claimed == 0  # the lease still runs
    channel_round(channel_id=webhook_channel.pk, now=later(181))

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert [r.webhook_id for r in webhook_receiver.accepted()] == [delivery.key, delivery.key]
    assert webhook_receiver.unique_ids() == {delivery.key}


@NO_GROUPING
def test_an_up_never_overtakes_its_failed_down(team, service, slack_channel, slack_receiver):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    slack_receiver.answer(Answer(503))
    channel_round(channel_id=slack_channel.pk)
    announce(service, EventKind.UP, "t:1:up", [slack_channel])

    assert channel_round(channel_id=slack_channel.pk).claimed == 0
    channel_round(channel_id=slack_channel.pk, now=later(3600))

    texts = [r.payload["text"] for r in slack_receiver.requests]
    assert [r.status for r in slack_receiver.requests] == [503, 200, 200]
    assert "down" in texts[0] and "down" in texts[1] and "up" in texts[2]


@NO_GROUPING
def test_in_one_round_the_up_is_held_back_when_its_down_fails(
    service, other_service, slack_channel, slack_receiver
):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    announce(service, EventKind.UP, "t:1:up", [slack_channel])
    slack_receiver.answer(Answer(503))

    report = channel_round(channel_id=slack_channel.pk)

    assert (report.claimed, report.sent, report.retrying) == (2, 0, 1)
    assert len(slack_receiver.requests) == 1
    states = dict(Delivery.objects.values_list("state", "attempts").order_by("id"))
    assert states == {"retrying": 1, "queued": 0}


@pytest.mark.django_db(transaction=True)
@NO_GROUPING
def test_racing_rounds_send_each_message_once(team, webhook_channel, webhook_receiver):
    for i in range(20):
        service = make_service(f"svc-{i}", team=team)
        announce(service, EventKind.DOWN, f"t:{i}:down", [webhook_channel])
    webhook_receiver.default = Answer(200, hold_s=0.05)

    def run() -> None:
        try:
            for _ in range(3):
                channel_round(channel_id=webhook_channel.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Delivery.objects.filter(state="sent").count() == 20
    assert len(webhook_receiver.requests) == 20
    assert len(webhook_receiver.unique_ids()) == 20


def test_a_missing_channel_is_a_no_op():
    assert channel_round(channel_id=987654).claimed == 0


@NO_GROUPING
def test_a_disabled_channel_keeps_its_notifications_pending(service, slack_channel):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    slack_channel.enabled = False
    slack_channel.save()

    assert channel_round(channel_id=slack_channel.pk).claimed == 0
    assert Notification.objects.get().state == NotificationState.PENDING


def test_the_sweep_finds_channels_whose_task_was_lost(service, slack_channel):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])
    with override_settings(ALERTS_GROUP_WINDOW_S=5, ALERTS_SWEEP_GRACE_S=10):
        assert channels_due() == []
        assert channels_due(now=later(16)) == [slack_channel.pk]


def test_the_task_for_a_missing_channel_does_nothing(caplog):
    with caplog.at_level(logging.INFO, logger="statuspage.alerts.tasks"):
        assert deliver_channel(987654) == 0
    assert "task=alerts.deliver_channel channel=987654 claimed=0 sent=0" in caplog.text


@NO_GROUPING
def test_the_task_run_twice_sends_once(service, slack_channel, slack_receiver):
    announce(service, EventKind.DOWN, "t:1:down", [slack_channel])

    assert deliver_channel(slack_channel.pk) == 1
    assert deliver_channel(slack_channel.pk) == 0
    assert len(slack_receiver.requests) == 1
