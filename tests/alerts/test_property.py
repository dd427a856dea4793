"""A property of the whole outbox: whatever the checks do, however often a delivery task is
redelivered, crashes between the receiver's answer and the row being marked sent, or meets
a failing receiver, each channel hears every event once per key, and per service the
"down" and "up" messages alternate."""

import datetime as dt
from collections import defaultdict

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.models import Outcome
from statuspage.alerts.delivery import _outgoing, channel_round, delivery_claim
from statuspage.alerts.models import (
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    Notification,
    NotificationState,
)
from statuspage.alerts.outbox import event_record, outbox_enqueue
from statuspage.alerts.sending import send_round
from tests.alerts.eventkit import observe, quick_check
from tests.alerts.receivers import Answer
from tests.factories import make_service

SERVICES = 3

probes = st.tuples(st.just("probe"), st.integers(0, SERVICES - 1), st.booleans())
# Probes and rounds are what happens most; the faults come in between.
operations = st.one_of(
    probes,
    probes,
    st.tuples(st.just("round")),
    st.tuples(st.just("round")),
    st.tuples(st.just("redeliver")),
    st.tuples(st.just("crash")),
    st.tuples(st.just("fail"), st.integers(1, 3)),
    st.tuples(st.just("tick"), st.integers(1, 400)),
)


class World:
    """The checks' states, the clock and the events recorded so far."""

    def __init__(self, services, channel, receiver) -> None:
        self.services = services
        self.channel = channel
        self.receiver = receiver
        self.down = [False] * len(services)
        self.now = timezone.now()
        self.events: list[str] = []

    def probe(self, index: int, ok: bool) -> None:
        if ok != self.down[index]:
            return  # no transition: nothing to tell
        self.down[index] = not ok
        service = self.services[index]
        kind = EventKind.DOWN if self.down[index] else EventKind.UP
        key = f"transition:{service.pk}:{len(self.events)}:{kind}"
        with transaction.atomic():
            event = event_record(
                kind=kind,
                key=key,
                occurred_at=self.now,
                context={"service": {"name": service.name, "slug": service.slug}},
                service=service,
            )
            outbox_enqueue(event=event, channels=[self.channel])
        self.events.append(key)
        self.now += dt.timedelta(seconds=1)

    def round(self) -> None:
        channel_round(channel_id=self.channel.pk, now=self.now)

    def crash(self) -> None:
        """A round whose worker dies after sending, before recording anything."""
        claim = delivery_claim(channel_id=self.channel.pk, now=self.now)
        if claim.deliveries:
            send_round(claim.channel, _outgoing(claim))

    def run(self, operation: tuple) -> None:
        name, *args = operation
        if name == "probe":
            self.probe(*args)
        elif name == "round":
            self.round()
        elif name == "redeliver":
            self.round()
            self.round()
        elif name == "crash":
            self.crash()
        elif name == "fail":
            self.receiver.answer(*[Answer(500)] * args[0])
        else:
            self.now += dt.timedelta(seconds=args[0])

    def drain(self) -> None:
        self.receiver.script.clear()
        for _ in range(40):
            self.now += dt.timedelta(hours=1)
            self.round()
            unsent = Delivery.objects.exclude(state=DeliveryState.SENT).exists()
            if not unsent and not Notification.objects.filter(delivery__isnull=True).exists():
                return


def received_in_order(receiver) -> tuple[dict[str, frozenset], list[dict]]:
    """Events each webhook-id carried, and every event in order of first arrival."""
    carried: dict[str, frozenset] = {}
    arrived: list[dict] = []
    for request in receiver.accepted():
        body = request.payload
        events = body["data"]["events"] if body["type"] == "alert.group" else [body["data"]]
        ids = frozenset(e["event_id"] for e in events)
        if request.webhook_id in carried:
            assert carried[request.webhook_id] == ids, "one key, two different messages"
            continue
        carried[request.webhook_id] = ids
        arrived += events
    return carried, arrived


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, max_size=25), grouping=st.booleans())
def test_every_event_arrives_once_per_key_and_down_and_up_alternate(
    team, webhook_channel, webhook_receiver, steps, grouping
):
    Event.objects.all().delete()
    Delivery.objects.all().delete()
    webhook_receiver.requests.clear()
    webhook_receiver.script.clear()
    services = [make_service(f"svc-{i}", team=team) for i in range(SERVICES)]
    world = World(services, webhook_channel, webhook_receiver)
    try:
        with override_settings(ALERTS_GROUP_WINDOW_S=5 if grouping else 0, ALERTS_MAX_ATTEMPTS=100):
            for step in steps:
                world.run(step)
            world.drain()

        assert set(Notification.objects.values_list("state", flat=True)) <= {NotificationState.SENT}
        carried, arrived = received_in_order(webhook_receiver)
        all_ids = [event_id for ids in carried.values() for event_id in ids]
        assert len(all_ids) == len(set(all_ids)), "an event under two keys"
        assert sorted(all_ids) == sorted(world.events), "an event lost"
        per_service: dict[str, list[str]] = defaultdict(list)
        for event in arrived:
            per_service[event["service"]["slug"]].append(event["kind"])
        for kinds in per_service.values():
            expected = [EventKind.DOWN, EventKind.UP] * len(kinds)
            assert kinds == expected[: len(kinds)]
    finally:
        for service in services:
            service.delete()


class EngineWorld(World):
    """The same world, but each probe is a real check result through the engine, whose
    transitions the alerts app turns into events and outbox rows."""

    def __init__(self, services, channel, receiver) -> None:
        super().__init__(services, channel, receiver)
        self.checks = [quick_check(service) for service in services]

    def probe(self, index: int, ok: bool) -> None:
        # A slot a second later: the engine takes any later slot, and a retry of an
        # earlier message may then still be waiting when this one is ready.
        self.now += dt.timedelta(seconds=1)
        observe(self.checks[index], self.now, Outcome.UP if ok else Outcome.DOWN)
        self.events = list(
            Notification.objects.filter(channel=self.channel)
            .order_by("id")
            .values_list("event__key", flat=True)
        )


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, max_size=25), grouping=st.booleans())
def test_check_outcomes_through_the_engine_arrive_once_and_alternate(
    team, webhook_channel, webhook_receiver, steps, grouping
):
    Event.objects.all().delete()
    Delivery.objects.all().delete()
    webhook_receiver.requests.clear()
    webhook_receiver.script.clear()
    services = [make_service(f"svc-{i}", team=team) for i in range(SERVICES)]
    try:
        with override_settings(
            ALERTS_GROUP_WINDOW_S=5 if grouping else 0,
            ALERTS_MAX_ATTEMPTS=100,
            # Retries that wait longer than a few probes: later messages are then ready
            # while an earlier one of the same check still waits.
            ALERTS_RETRY_BASE_S=20,
            ALERTS_FLAP_TRANSITIONS=1000,
        ):
            world = EngineWorld(services, webhook_channel, webhook_receiver)
            for step in steps:
                world.run(step)
            world.drain()

        carried, arrived = received_in_order(webhook_receiver)
        all_ids = [event_id for ids in carried.values() for event_id in ids]
        assert len(all_ids) == len(set(all_ids)), "an event under two keys"
        assert sorted(all_ids) == sorted(world.events), "an event lost"
        per_check: dict[int, list[str]] = defaultdict(list)
        for event in arrived:
            per_check[event["check"]["id"]].append(event["kind"])
        for kinds in per_check.values():
            expected = [EventKind.DOWN, EventKind.UP] * len(kinds)
            assert kinds == expected[: len(kinds)]
    finally:
        for service in services:
            service.delete()
