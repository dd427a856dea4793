"""Delivery through a real Celery worker while it is killed, its receiver fails, and Redis
restarts: every message arrives, none arrives under two keys."""

import os
import signal
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from kombu import Connection

from statuspage.alerts.models import Delivery, DeliveryState, EventKind, Notification
from statuspage.alerts.outbox import event_record, outbox_enqueue
from statuspage.alerts.tasks import deliver_channel, sweep
from tests.alerts.receivers import Answer, wait_until
from tests.checks.worker import celery_worker
from tests.factories import make_service
from tests.private_redis import private_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {
    "ALERTS_GROUP_WINDOW_S": "0",
    "ALERTS_SENDING_LEASE_S": "4",
    "ALERTS_HTTP_TIMEOUT_S": "2",
    "ALERTS_RETRY_BASE_S": "0.5",
    "ALERTS_MAX_ATTEMPTS": "3",
    "ALERTS_SWEEP_GRACE_S": "1",
}


@pytest.fixture
def worker_env(monkeypatch, settings):
    for name, value in WORKER_ENV.items():
        monkeypatch.setenv(name, value)
        setattr(settings, name, float(value))


def announce(service, kind: str, key: str, channel) -> None:
    with transaction.atomic():
        event = event_record(
            kind=kind,
            key=key,
            occurred_at=timezone.now(),
            context={"service": {"name": service.name, "slug": service.slug}},
            service=service,
        )
        outbox_enqueue(event=event, channels=[channel])


def delivered(count: int):
    return lambda: Delivery.objects.filter(state=DeliveryState.SENT).count() >= count


def kill_worker(worker) -> None:
    """SIGKILL the pool processes and the main process: nothing of it acknowledges."""
    children = worker.children()
    os.kill(worker.process.pid, signal.SIGKILL)
    for child in children:
        os.kill(child, signal.SIGKILL)
    worker.process.wait(timeout=10)


def test_a_worker_killed_after_the_commit_still_delivers(
    worker_env, monkeypatch, settings, team, webhook_channel, webhook_receiver
):
    # The task waits for the group window in the worker (reserved, unacknowledged) when
    # the worker is killed: only the periodic sweep can bring the message back in time.
    monkeypatch.setenv("ALERTS_GROUP_WINDOW_S", "3")
    settings.ALERTS_GROUP_WINDOW_S = 3
    service = make_service("svc-0", team=team)
    with celery_worker() as worker:
        announce(service, EventKind.DOWN, "t:0:down", webhook_channel)
        worker.wait_for("Task alerts.deliver_channel", timeout=20)
        kill_worker(worker)
    assert Notification.objects.get().delivery_id is None  # nothing was sent before the kill

    with celery_worker() as worker:
        time.sleep(5)  # past the window and the sweep's grace
        sweep.delay()
        wait_until(delivered(1), timeout=30)

    assert len(webhook_receiver.accepted()) == 1


def test_killed_after_the_receiver_accepted_resends_with_the_same_webhook_id(
    worker_env, team, webhook_channel, webhook_receiver
):
    service = make_service("svc-0", team=team)
    webhook_receiver.answer(Answer(200, hold_s=6))  # accepted, but the answer is late
    with celery_worker(concurrency=1) as worker:
        announce(service, EventKind.DOWN, "t:0:down", webhook_channel)
        wait_until(lambda: len(webhook_receiver.requests) == 1, timeout=20)
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        worker.wait_for("WorkerLostError", timeout=20)
        wait_until(delivered(1), timeout=40)

    delivery = Delivery.objects.get()
    ids = [r.webhook_id for r in webhook_receiver.accepted()]
    assert ids == [delivery.key, delivery.key]
    assert webhook_receiver.unique_ids() == {delivery.key}
    assert delivery.attempts == 2


def test_500_then_200_is_retried_after_a_backoff(worker_env, team, slack_channel, slack_receiver):
    service = make_service("svc-0", team=team)
    slack_receiver.answer(Answer(500))
    with celery_worker() as worker:
        announce(service, EventKind.DOWN, "t:0:down", slack_channel)
        wait_until(delivered(1), timeout=30)
        worker.wait_for("outcome=retrying")

    first, second = slack_receiver.requests
    assert second.at - first.at >= 0.25  # half the first backoff at least
    assert Delivery.objects.get().attempts == 2


def test_a_receiver_always_failing_gets_a_dead_letter_and_no_endless_loop(
    worker_env, team, slack_channel, slack_receiver
):
    service = make_service("svc-0", team=team)
    slack_receiver.default = Answer(500)
    with celery_worker() as worker:
        announce(service, EventKind.DOWN, "t:0:down", slack_channel)
        wait_until(lambda: Delivery.objects.filter(state=DeliveryState.DEAD).exists(), 30)
        time.sleep(3)  # retries would have come back by now
        sweep.delay()
        worker.wait_for("task=alerts.sweep channels=0")

    assert len(slack_receiver.requests) == 3
    assert Delivery.objects.get().last_error == "HTTP 500"


def test_redis_restarted_during_delivery_loses_nothing(
    worker_env, monkeypatch, tmp_path: Path, team, webhook_channel, webhook_receiver
):
    services = [make_service(f"svc-{i}", team=team) for i in range(5)]
    with private_redis(tmp_path / "redis") as redis:
        monkeypatch.setenv("REDIS_URL", redis.url)
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
        webhook_receiver.answer(Answer(200, hold_s=1))  # the first message is in flight
        with celery_worker() as worker:
            for service in services[:3]:
                announce(service, EventKind.DOWN, f"t:{service.pk}:down", webhook_channel)
            with Connection(redis.url) as conn:
                deliver_channel.apply_async((webhook_channel.pk,), connection=conn)
            wait_until(lambda: len(webhook_receiver.requests) >= 1, timeout=20)
            redis.stop()
            time.sleep(1)
            redis.start()
            for service in services[3:]:
                announce(service, EventKind.DOWN, f"t:{service.pk}:down", webhook_channel)
            deadline = time.monotonic() + 60
            while not delivered(5)() and time.monotonic() < deadline:
                with Connection(redis.url) as conn:
                    sweep.apply_async(connection=conn)  # what beat does every few seconds
                time.sleep(2)
            assert delivered(5)()
            assert worker.process.poll() is None

    assert webhook_receiver.unique_ids() == set(Delivery.objects.values_list("key", flat=True))
    assert len(webhook_receiver.unique_ids()) == 5
