"""What the engine's check transitions tell the channels (rules in statuspage.alerts.events).

The engine calls ``transitions_notify`` (registered in checks.listeners) inside the
transaction that wrote the transitions, with the checks locked. A storm moves hundreds of
checks in one batch, so everything a batch needs is read up front in a fixed number of
queries, and its events and outbox rows are written in bulk.
"""

from dataclasses import dataclass
from datetime import datetime

from checks.models import Check, Kind, MaintenanceWindow, State, Transition
from statuspage.alerts.context import check_context, iso, services_context
from statuspage.alerts.events import (
    STATE_KINDS,
    Announced,
    Pending,
    acks_end_recovered,
    events_record_many,
    last_announced,
)
from statuspage.alerts.flapping import FlapBook, FlapStep
from statuspage.alerts.models import Channel, EventKind
from statuspage.alerts.routing import candidates


def _kind_of(transition: Transition, check: Check, last: Announced | None) -> str | None:
    """What a transition means to the channels (module docstring), None for nothing."""
    was_down = last is not None and last.is_down
    if transition.to_state == State.DOWN:
        if was_down:
            return None
        late = check.kind == Kind.HEARTBEAT and transition.reason.split(": ", 1)[-1].startswith(
            "late"
        )
        return EventKind.HEARTBEAT_LATE if late else EventKind.DOWN
    if transition.to_state in (State.UP, State.DEGRADED) and transition.from_state in (
        State.DOWN,
        State.UNKNOWN,
        State.PAUSED,
    ):
        return EventKind.UP if was_down else None
    if transition.to_state == State.DEGRADED and transition.from_state == State.UP:
        return EventKind.DEGRADED
    return None


def _transition_key(transition: Transition) -> str:
    moment = transition.slot if transition.slot is not None else int(transition.at.timestamp())
    return f"transition:{transition.check_ref_id}:{moment}:{transition.to_state}"


def _state_context(service_part: dict, check: Check, transition: Transition, last) -> dict:
    context = {**service_part, "check": check_context(check, transition)}
    context["status"] = transition.to_state
    context["since"] = iso(transition.at)
    if transition.to_state != State.DOWN and last is not None and last.is_down:
        context["since"] = iso(last.occurred_at)
        context["down_for_s"] = int((transition.at - last.occurred_at).total_seconds())
    return context


@dataclass
class _Batch:
    """What one batch of transitions needs, read once for all of them."""

    checks: dict[int, Check]
    announced: dict[int, Announced]
    services: dict[int, dict]
    maintenance: dict[int, list[tuple[datetime, datetime | None]]]
    flaps: FlapBook
    channels: dict[int, list[Channel]]

    def in_maintenance(self, service_id: int, at: datetime) -> bool:
        return any(
            start <= at and (end is None or end > at)
            for start, end in self.maintenance.get(service_id, ())
        )


def _windows(service_ids: set[int], earliest: datetime, latest: datetime) -> dict[int, list]:
    windows: dict[int, list] = {}
    rows = MaintenanceWindow.objects.filter(
        service_id__in=service_ids, starts_at__lte=latest
    ).exclude(ends_at__lte=earliest)
    for row in rows:
        windows.setdefault(row.service_id, []).append((row.starts_at, row.ends_at))
    return windows


def _batch(transitions: list[Transition]) -> _Batch:
    check_ids = {t.check_ref_id for t in transitions}
    checks = {c.pk: c for c in Check.objects.select_related("service").filter(pk__in=check_ids)}
    services = {c.service_id: c.service for c in checks.values()}
    earliest, latest = min(t.at for t in transitions), max(t.at for t in transitions)
    return _Batch(
        checks=checks,
        announced=last_announced(check_ids),
        services=services_context(services),
        maintenance=_windows(set(services), earliest, latest),
        flaps=FlapBook(check_ids, earliest=earliest, latest=latest),
        channels=candidates(services.values()),
    )


def transitions_notify(transitions: list[Transition]) -> int:
    """Listener of the engine's transition write: record the events of these transitions,
    oldest first, with their outbox rows. Events recorded."""
    if not transitions:
        return 0
    batch = _batch(transitions)
    pending: list[Pending] = []
    recovered: set[int] = set()
    for transition in sorted(transitions, key=lambda t: (t.at, t.check_ref_id)):
        check = batch.checks.get(transition.check_ref_id)
        if check is None or check.is_paused or check.service.is_paused:
            continue
        item = _pending(transition, check, batch)
        if item is None:
            continue
        pending.append(item)
        if item.kind in STATE_KINDS:
            batch.announced[check.pk] = Announced(item.kind, None, transition.at)
        if item.kind == EventKind.UP:
            recovered.add(check.service_id)
    recorded = events_record_many(pending, candidates=batch.channels)
    if recovered:
        acks_end_recovered(service_ids=recovered, at=max(t.at for t in transitions))
    return recorded


def _pending(transition: Transition, check: Check, batch: _Batch) -> Pending | None:
    last = batch.announced.get(check.pk)
    step, count = batch.flaps.observe(check.pk, transition.at)
    if step is FlapStep.QUIET:
        return None
    context = _state_context(batch.services[check.service_id], check, transition, last)
    key = _transition_key(transition)
    if step is FlapStep.STARTED:
        minutes = int(batch.flaps.window.total_seconds() // 60)
        context["note"] = (
            f"{count} state changes in {minutes} min. No further alerts for this check "
            f"until it keeps one state for {minutes} min."
        )
        kind, key = EventKind.FLAPPING, key.replace("transition:", "flapping:", 1)
    else:
        kind = _kind_of(transition, check, last)
        if kind is None:
            return None
    # Maintenance hides outages and flapping; a recovery is told if its outage was.
    if kind != EventKind.UP and batch.in_maintenance(check.service_id, transition.at):
        return None
    return Pending(kind, key, transition.at, context, check.service, check)
