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
from statuspage.core.sql import in_ids


def _kind_of(transition: Transition, check_kind: str, last: Announced | None) -> str | None:
    """What a transition means to the channels (module docstring), None for nothing."""
    was_down = last is not None and last.is_down
    if transition.to_state == State.DOWN:
        if was_down:
            return None
        late = check_kind == Kind.HEARTBEAT and transition.reason.split(": ", 1)[-1].startswith(
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


@dataclass(frozen=True)
class _CheckRow:
    """What deciding on a check's transitions needs of it."""

    kind: str
    service_id: int
    paused: bool


@dataclass(frozen=True)
class _Decision:
    """A transition the channels are told of, and what its message needs."""

    transition: Transition
    kind: str
    key: str
    last: Announced | None  # the check's last announced state before this transition
    note: str | None = None


@dataclass
class _Batch:
    """What deciding on one batch of transitions needs, read once for all of them.

    Most transitions tell the channels nothing (a new check's first result, a recovery
    nobody was told the outage of): the checks, services and channels of the messages are
    read afterwards, for the transitions that make one (``_messages``).
    """

    checks: dict[int, _CheckRow]
    announced: dict[int, Announced]
    maintenance: dict[int, list[tuple[datetime, datetime | None]]]
    flaps: FlapBook

    def in_maintenance(self, service_id: int, at: datetime) -> bool:
        return any(
            start <= at and (end is None or end > at)
            for start, end in self.maintenance.get(service_id, ())
        )


def _windows(service_ids: set[int], earliest: datetime, latest: datetime) -> dict[int, list]:
    windows: dict[int, list] = {}
    rows = MaintenanceWindow.objects.filter(
        in_ids("service_id", list(service_ids)), starts_at__lte=latest
    ).exclude(ends_at__lte=earliest)
    for row in rows:
        windows.setdefault(row.service_id, []).append((row.starts_at, row.ends_at))
    return windows


def _batch(transitions: list[Transition]) -> _Batch:
    check_ids = {t.check_ref_id for t in transitions}
    checks = {
        pk: _CheckRow(kind, service_id, check_paused or service_paused)
        for pk, kind, service_id, check_paused, service_paused in Check.objects.filter(
            in_ids("id", list(check_ids))
        ).values_list("pk", "kind", "service_id", "is_paused", "service__is_paused")
    }
    earliest, latest = min(t.at for t in transitions), max(t.at for t in transitions)
    return _Batch(
        checks=checks,
        announced=last_announced(check_ids),
        maintenance=_windows({c.service_id for c in checks.values()}, earliest, latest),
        flaps=FlapBook(check_ids, earliest=earliest, latest=latest),
    )


def transitions_notify(transitions: list[Transition]) -> int:
    """Listener of the engine's transition write: record the events of these transitions,
    oldest first, with their outbox rows. Events recorded."""
    if not transitions:
        return 0
    batch = _batch(transitions)
    decisions: list[_Decision] = []
    recovered: set[int] = set()
    for transition in sorted(transitions, key=lambda t: (t.at, t.check_ref_id)):
        check = batch.checks.get(transition.check_ref_id)
        if check is None or check.paused:
            continue
        decision = _decide(transition, check, batch)
        if decision is None:
            continue
        decisions.append(decision)
        if decision.kind in STATE_KINDS:
            batch.announced[transition.check_ref_id] = Announced(decision.kind, None, transition.at)
        if decision.kind == EventKind.UP:
            recovered.add(check.service_id)
    if not decisions:
        return 0
    pending, channels = _messages(decisions)
    recorded = events_record_many(pending, candidates=channels)
    if recovered:
        acks_end_recovered(service_ids=recovered, at=max(t.at for t in transitions))
    return recorded


def _decide(transition: Transition, check: _CheckRow, batch: _Batch) -> _Decision | None:
    last = batch.announced.get(transition.check_ref_id)
    step, count = batch.flaps.observe(transition.check_ref_id, transition.at)
    if step is FlapStep.QUIET:
        return None
    key = _transition_key(transition)
    note = None
    if step is FlapStep.STARTED:
        minutes = int(batch.flaps.window.total_seconds() // 60)
        note = (
            f"{count} state changes in {minutes} min. No further alerts for this check "
            f"until it keeps one state for {minutes} min."
        )
        kind, key = EventKind.FLAPPING, key.replace("transition:", "flapping:", 1)
    else:
        kind = _kind_of(transition, check.kind, last)
        if kind is None:
            return None
    # Maintenance hides outages and flapping; a recovery is told if its outage was.
    if kind != EventKind.UP and batch.in_maintenance(check.service_id, transition.at):
        return None
    return _Decision(transition, kind, key, last, note)


def _messages(decisions: list[_Decision]) -> tuple[list[Pending], dict[int, list[Channel]]]:
    """The events of the decided transitions, and their services' candidate channels."""
    checks = {
        c.pk: c
        for c in Check.objects.select_related("service").filter(
            in_ids("pk", list({d.transition.check_ref_id for d in decisions}))
        )
    }
    services = {c.service_id: c.service for c in checks.values()}
    contexts = services_context(services)
    pending = []
    for decision in decisions:
        # Found: _batch read it in this transaction, and the engine holds its row lock.
        check = checks[decision.transition.check_ref_id]
        context = _state_context(
            contexts[check.service_id], check, decision.transition, decision.last
        )
        if decision.note is not None:
            context["note"] = decision.note
        pending.append(
            Pending(
                decision.kind, decision.key, decision.transition.at, context, check.service, check
            )
        )
    return pending, candidates(services.values())
