"""The outbox: an event once per key, one row per channel, one task per channel after commit."""

import pytest
from django.db import transaction
from django.utils import timezone

from statuspage.alerts.models import ChannelKind, Event, EventKind, Notification
from statuspage.alerts.outbox import event_record, outbox_enqueue
from tests.alerts.conftest import make_channel

pytestmark = pytest.mark.django_db


def record(service, key: str):
    return event_record(
        kind=EventKind.DOWN,
        key=key,
        occurred_at=timezone.now(),
        context={"service": {"name": service.name}},
        service=service,
    )


def test_an_event_is_recorded_once_per_key(service):
    with transaction.atomic():
        first = record(service, "transition:1:100:down")
        second = record(service, "transition:1:100:down")
        assert Event.objects.count() == 1  # the transaction is still usable

    assert first is not None and second is None


def test_a_conflict_does_not_roll_back_the_callers_other_writes(service):
    with transaction.atomic():
        record(service, "k")
        record(service, "k")
        record(service, "k2")
    assert set(Event.objects.values_list("key", flat=True)) == {"k", "k2"}


def test_one_row_per_channel_and_none_twice(team, service):
    a = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/a", name="a")
    b = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/b", name="b")
    event = record(service, "k")

    assert outbox_enqueue(event=event, channels=[a, b, a]) == 2
    assert outbox_enqueue(event=event, channels=[a, b]) == 0
    assert Notification.objects.filter(event=event).count() == 2


def test_one_delivery_task_per_channel_after_the_commit(
    team, service, django_capture_on_commit_callbacks
):
    a = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/a", name="a")
    b = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/b", name="b")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for i in range(50):
            outbox_enqueue(event=record(service, f"k{i}"), channels=[a, b])

    (callback,) = callbacks
    assert callback.channel_ids == {a.pk, b.pk}


def test_a_rolled_back_transaction_queues_nothing_and_leaves_no_rows(
    team, service, django_capture_on_commit_callbacks
):
    a = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/a", name="a")
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue(event=record(service, "k"), channels=[a])
            raise RuntimeError("the transition failed")
        with transaction.atomic():
            outbox_enqueue(event=record(service, "k"), channels=[a])

    assert [c.channel_ids for c in callbacks] == [{a.pk}]
    assert Notification.objects.count() == 1


def test_a_broker_that_refuses_the_task_leaves_the_commit_standing(
    team, service, django_capture_on_commit_callbacks, caplog, monkeypatch
):
    """The broker is the edge here: its refusal is what kombu raises when Redis is away
    (the fault tests restart a real one)."""
    from kombu.exceptions import OperationalError

    from statuspage.alerts.tasks import deliver_channel

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_channel, "apply_async", refuse)
    a = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/a", name="a")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox_enqueue(event=record(service, "k"), channels=[a])

    assert Notification.objects.count() == 1
    assert "event=alert.queue_failed channels=1 error=OperationalError" in caplog.text
