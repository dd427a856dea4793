"""Shared pieces of the event, routing and message tests: fixed values, no randomness."""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from checks.models import Check, Outcome
from checks.services import Observation, RecordSummary, results_record
from statuspage.alerts.models import Channel, ChannelKind, Event, Notification
from statuspage.alerts.outbox import event_record, outbox_enqueue
from statuspage.catalog.models import Service, Team
from tests.checks.factories import make_check

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_channel(team: Team, name: str = "oncall", **fields) -> Channel:
    defaults = {"kind": ChannelKind.WEBHOOK, "target": "https://hooks.example.com/alerts"}
    return Channel.objects.create(team=team, name=name, **{**defaults, **fields})


def quick_check(service: Service, name: str = "GET /health", **fields) -> Check:
    """A check that goes down on its first failure and up on its first success."""
    return make_check(
        service, name=name, **{"failures_before_down": 1, "successes_before_up": 1, **fields}
    )


def observe(check: Check, when: datetime, outcome: int, detail: str = "") -> RecordSummary:
    """One probe result for the slot at ``when``, through the engine's own write."""
    second = int(when.timestamp())
    return results_record(
        observations=[
            Observation(
                check_id=check.pk,
                slot=second,
                checked_at=float(second),
                outcome=outcome,
                latency_ms=None if outcome == Outcome.DOWN else 12.0,
                detail=detail,
            )
        ]
    )


def down(check: Check, when: datetime, detail: str = "HTTP 503 (expected 200)") -> RecordSummary:
    return observe(check, when, Outcome.DOWN, detail)


def up(check: Check, when: datetime) -> RecordSummary:
    return observe(check, when, Outcome.UP, "HTTP 200")


def kinds(channel: Channel | None = None, **filters) -> list[str]:
    """Event kinds queued for ``channel`` (or recorded at all), oldest first."""
    if channel is None:
        return list(
            Event.objects.filter(**filters)
            .order_by("occurred_at", "pk")
            .values_list("kind", flat=True)
        )
    return list(
        Notification.objects.filter(channel=channel, **filters)
        .order_by("event__occurred_at", "event_id")
        .values_list("event__kind", flat=True)
    )


def announce(service, kind: str, key: str, channels, *, at=None):
    with transaction.atomic():
        event = event_record(
            kind=kind,
            key=key,
            occurred_at=at or timezone.now(),
            context={"service": {"name": service.name, "slug": service.slug}},
            service=service,
        )
        outbox_enqueue(event=event, channels=channels)
    return event
