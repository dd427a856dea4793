"""Events worth telling, recorded in the transaction of the change that caused them.

Each event is recorded once (its key names what happened) together with one outbox row
per channel that must hear of it (statuspage.alerts.outbox); the delivery task sends them
after commit. What a check's change means:

- down (or "heartbeat late" when the sweep found a job late): announced unless the last
  thing announced about the check was already an outage;
- up or degraded coming back from down: announced as "up" only if its outage was, so a
  channel hears down and up in turn, never two of one;
- up to degraded: "degraded"; degraded back to up says nothing;
- a flapping check sends one "flapping" message and nothing more until it settles;
- a paused check or service says nothing; maintenance keeps outages quiet
  (statuspage.alerts.suppression).

The engine's transitions are read in statuspage.alerts.transitions, deployment verdicts
here, incidents and maintenance in statuspage.alerts.notices.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from checks.models import Check, DeploymentImpact, State, Verdict
from statuspage.alerts.acks import acks_end
from statuspage.alerts.context import check_context, iso, service_context, services_context
from statuspage.alerts.models import Channel, Event, EventKind, Notification, NotificationState
from statuspage.alerts.outbox import deliveries_queue, event_record, outbox_enqueue
from statuspage.alerts.routing import channels_for, route
from statuspage.catalog.models import Deployment, Service
from statuspage.core.sql import array_cursor, in_ids

logger = logging.getLogger(__name__)

DOWN_KINDS = (EventKind.DOWN, EventKind.HEARTBEAT_LATE)
# The kinds that say what state a check is in, as far as the channels know.
STATE_KINDS = (*DOWN_KINDS, EventKind.UP)


@dataclass(frozen=True)
class Announced:
    """The last state event of a check: what its channels believe."""

    kind: str
    event_id: int | None  # None: recorded in the batch being written
    occurred_at: datetime

    @property
    def is_down(self) -> bool:
        return self.kind in DOWN_KINDS


def event_announce(
    *,
    kind: str,
    key: str,
    occurred_at: datetime,
    context: dict,
    service: Service | None = None,
    channels: list[Channel] | None = None,
    **refs,
) -> Event | None:
    """Record the event and one outbox row per channel (the service's routing unless
    ``channels`` is given). None if the key was recorded already. Inside the caller's
    transaction."""
    event = event_record(
        kind=kind, key=key, occurred_at=occurred_at, context=context, service=service, **refs
    )
    if event is None:
        return None
    if channels is None:
        channels = channels_for(service=service, kind=kind) if service is not None else []
    queued = outbox_enqueue(event=event, channels=channels) if channels else 0
    logger.info("event=alert.event kind=%s key=%s channels=%s", kind, key, queued)
    return event


# PostgreSQL: one probe of the check's index per check, keeping its newest state event. Read
# as one set, every past event of the batch's checks came back, and while the table was
# small (or last analyzed so) the whole table was read for each batch.
_LAST_ANNOUNCED = (
    "SELECT v.id, e.kind, e.id, e.occurred_at FROM unnest(%s::bigint[]) AS v(id) "
    "CROSS JOIN LATERAL (SELECT kind, id, occurred_at FROM alerts_event "
    "WHERE check_id = v.id AND kind = ANY(%s) ORDER BY occurred_at DESC, id DESC LIMIT 1) AS e"
)


def last_announced(check_ids) -> dict[int, Announced]:
    """The last state event (down, heartbeat late, up) of each check that has one."""
    check_ids = list(check_ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _LAST_ANNOUNCED, [sorted(set(check_ids)), [k.value for k in STATE_KINDS]]
            )
            rows = cursor.fetchall()
        return {check_id: Announced(kind, pk, at) for check_id, kind, pk, at in rows}
    found: dict[int, Announced] = {}
    events = (
        Event.objects.filter(in_ids("check_ref_id", check_ids), kind__in=STATE_KINDS)
        .order_by("check_ref_id", "-occurred_at", "-pk")
        .values_list("check_ref_id", "kind", "pk", "occurred_at")
    )
    for check_id, kind, pk, occurred_at in events:
        found.setdefault(check_id, Announced(kind, pk, occurred_at))
    return found


@dataclass
class Pending:
    """An event to record in a batch (events_record_many)."""

    kind: str
    key: str
    occurred_at: datetime
    context: dict
    service: Service
    check: Check | None = None


def events_record_many(pending: list[Pending], *, candidates: dict[int, list[Channel]]) -> int:
    """Record many events and their outbox rows in a few queries: a storm moves hundreds
    of checks in one transaction. ``candidates``: each service's channels before
    filtering (routing.candidates). Keys recorded already are skipped. Events recorded."""
    if not pending:
        return 0
    if connection.vendor == "postgresql":
        recorded = _insert_events(pending)
    else:
        recorded = _create_events(pending)
        if recorded is None:
            # A racing writer recorded one of them meanwhile: one by one, each once.
            announced = [
                event_announce(kind=p.kind, key=p.key, occurred_at=p.occurred_at,
                               context=p.context, service=p.service, check=p.check)
                for p in pending
            ]  # fmt: skip
            return sum(event is not None for event in announced)
    notifications = [
        (event_id, channel.pk)
        for event_id, p in recorded
        for channel in route(candidates.get(p.service.pk, []), service=p.service, kind=p.kind)
    ]
    _insert_notifications(notifications)
    if notifications:
        # The outbox's own after-commit queueing: each channel's task once per transaction.
        deliveries_queue(sorted({channel_id for _, channel_id in notifications}))
    for _, p in recorded:
        logger.info("event=alert.event kind=%s key=%s", p.kind, p.key)
    return len(recorded)


# PostgreSQL: the events in one statement, one binary array per column; a key recorded
# already (earlier, or by a racing writer) is skipped by the insert itself.
_EVENTS_INSERT = (
    "INSERT INTO alerts_event (kind, key, occurred_at, context, service_id, check_id, "
    "created_at) SELECT v.*, %b FROM unnest(%b::varchar[], %b::varchar[], "
    "%b::timestamptz[], %b::jsonb[], %b::bigint[], %b::bigint[]) AS v "
    "ON CONFLICT (key) DO NOTHING RETURNING id, key"
)


def _insert_events(pending: list[Pending]) -> list[tuple[int, Pending]]:
    """Each event recorded now, with its id; PostgreSQL only."""
    from psycopg.types.json import Jsonb

    columns = [
        timezone.now(),
        [p.kind for p in pending],
        [p.key for p in pending],
        [p.occurred_at for p in pending],
        [Jsonb(p.context) for p in pending],
        [p.service.pk for p in pending],
        [p.check.pk if p.check is not None else None for p in pending],
    ]
    with array_cursor() as cursor:
        cursor.execute(_EVENTS_INSERT, columns)
        ids = {key: event_id for event_id, key in cursor.fetchall()}
    # pop: a key given twice is recorded once.
    return [(ids.pop(p.key), p) for p in pending if p.key in ids]


def _create_events(pending: list[Pending]) -> list[tuple[int, Pending]] | None:
    """The same through the ORM (the embedded SQLite default); None when a key was
    recorded meanwhile and nothing was written."""
    known = set(
        Event.objects.filter(key__in=[p.key for p in pending]).values_list("key", flat=True)
    )
    fresh = [p for p in pending if p.key not in known]
    rows = [
        Event(kind=p.kind, key=p.key, occurred_at=p.occurred_at, context=p.context,
              service=p.service, check_ref=p.check)
        for p in fresh
    ]  # fmt: skip
    try:
        with transaction.atomic():
            events = Event.objects.bulk_create(rows)
    except IntegrityError:
        return None
    return [(event.pk, p) for event, p in zip(events, fresh, strict=True)]


def _insert_notifications(rows: list[tuple[int, int]]) -> None:
    """The outbox rows (event id, channel id), pending; rows that exist are kept."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [
                Notification(event_id=event_id, channel_id=channel_id)
                for event_id, channel_id in rows
            ],
            ignore_conflicts=True,
        )
        return
    with array_cursor() as cursor:
        cursor.execute(
            "INSERT INTO alerts_notification (event_id, channel_id, state, created_at) "
            "SELECT v.*, %b, %b FROM unnest(%b::bigint[], %b::bigint[]) AS v "
            "ON CONFLICT DO NOTHING",
            [NotificationState.PENDING.value, timezone.now(),
             [event_id for event_id, _ in rows], [channel_id for _, channel_id in rows]],
        )  # fmt: skip


def acks_end_recovered(*, service_ids: set[int], at: datetime) -> None:
    """End the acknowledgements of these services unless another of their checks is
    still down. Inside the transaction that recorded the recoveries."""
    if not service_ids:
        return
    still_down = set(
        Check.objects.filter(service_id__in=service_ids, state=State.DOWN).values_list(
            "service_id", flat=True
        )
    )
    for service_id in sorted(service_ids - still_down):
        acks_end(service_id=service_id, now=at)


def _end_acks_if_recovered(check: Check, at: datetime) -> None:
    still_down = (
        Check.objects.filter(service_id=check.service_id, state=State.DOWN)
        .exclude(pk=check.pk)
        .exists()
    )
    if not still_down:
        acks_end(service_id=check.service_id, now=at)


def state_announce(*, check: Check, key: str, now: datetime, note: str) -> Event | None:
    """Announce a check's current state if it differs from what its channels were last
    told (after maintenance, after flapping). None if there is nothing to say."""
    if check.is_paused or check.service.is_paused:
        return None
    last = last_announced([check.pk]).get(check.pk)
    was_down = last is not None and last.is_down
    if check.state == State.DOWN and not was_down:
        kind = EventKind.DOWN
    elif check.state in (State.UP, State.DEGRADED) and was_down:
        kind = EventKind.UP
    else:
        return None
    context = {**services_context([check.service_id])[check.service_id]}
    context["check"] = check_context(check)
    context["status"] = check.state
    context["since"] = iso(check.state_changed_at or now)
    context["note"] = note
    if kind == EventKind.UP:
        context["since"] = iso(last.occurred_at)
        context["down_for_s"] = int((now - last.occurred_at).total_seconds())
    event = event_announce(
        kind=kind, key=key, occurred_at=now, context=context, service=check.service, check=check
    )
    if event is not None and kind == EventKind.UP:
        _end_acks_if_recovered(check, now)
    return event


def verdict_notify(impact: DeploymentImpact) -> Event | None:
    """Listener of the deployment verdict write: a regression tells the owning team, with
    the before/after figures. Judged again, it is still one event (the key)."""
    if impact.verdict != Verdict.REGRESSED:
        return None
    deployment = Deployment.objects.select_related("service__team").get(pk=impact.deployment_id)
    service = deployment.service
    if service.is_paused:
        return None
    context = service_context(service, deployment=deployment)
    context["status"] = "regressed"
    context["since"] = iso(deployment.deployed_at)
    return event_announce(
        kind=EventKind.DEPLOY_REGRESSED,
        key=f"deploy:{deployment.pk}:regressed",
        occurred_at=impact.computed_at,
        context=context,
        service=service,
        deployment=deployment,
    )
