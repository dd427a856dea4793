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
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from checks.models import Check, DeploymentImpact, Kind, State, Transition, Verdict
from statuspage.alerts.acks import acks_end
from statuspage.alerts.context import check_context, iso, service_context, services_context
from statuspage.alerts.flapping import FlapStep, flap_observe, flap_window
from statuspage.alerts.models import Channel, Event, EventKind
from statuspage.alerts.outbox import event_record, outbox_enqueue
from statuspage.alerts.routing import channels_for
from statuspage.catalog.models import Deployment, Service

logger = logging.getLogger(__name__)

DOWN_KINDS = (EventKind.DOWN, EventKind.HEARTBEAT_LATE)
# The kinds that say what state a check is in, as far as the channels know.
STATE_KINDS = (*DOWN_KINDS, EventKind.UP)


@dataclass(frozen=True)
class Announced:
    """The last state event of a check: what its channels believe."""

    kind: str
    event_id: int
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


def last_announced(check_ids) -> dict[int, Announced]:
    """The last state event (down, heartbeat late, up) of each check that has one."""
    found: dict[int, Announced] = {}
    events = (
        Event.objects.filter(check_ref_id__in=list(check_ids), kind__in=STATE_KINDS)
        .order_by("check_ref_id", "-occurred_at", "-pk")
        .values_list("check_ref_id", "kind", "pk", "occurred_at")
    )
    for check_id, kind, pk, occurred_at in events:
        found.setdefault(check_id, Announced(kind, pk, occurred_at))
    return found


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

    def in_maintenance(self, service_id: int, at: datetime) -> bool:
        return any(
            start <= at and (end is None or end > at)
            for start, end in self.maintenance.get(service_id, ())
        )


def _batch(transitions: list[Transition]) -> _Batch:
    from checks.models import MaintenanceWindow

    check_ids = {t.check_ref_id for t in transitions}
    checks = {c.pk: c for c in Check.objects.select_related("service").filter(pk__in=check_ids)}
    service_ids = {c.service_id for c in checks.values()}
    earliest = min(t.at for t in transitions)
    windows: dict[int, list] = {}
    for row in MaintenanceWindow.objects.filter(
        service_id__in=service_ids, starts_at__lte=max(t.at for t in transitions)
    ).exclude(ends_at__lte=earliest):
        windows.setdefault(row.service_id, []).append((row.starts_at, row.ends_at))
    return _Batch(
        checks=checks,
        announced=last_announced(check_ids),
        services=services_context(service_ids),
        maintenance=windows,
    )


def transitions_notify(transitions: list[Transition]) -> int:
    """Listener of the engine's transition write (checks.listeners): record the events of
    these transitions, oldest first. The checks are locked by the caller. Events recorded."""
    if not transitions:
        return 0
    batch = _batch(transitions)
    recorded = 0
    for transition in sorted(transitions, key=lambda t: (t.at, t.check_ref_id)):
        check = batch.checks.get(transition.check_ref_id)
        if check is None or check.is_paused or check.service.is_paused:
            continue
        recorded += _transition_notify(transition, check, batch)
    return recorded


def _transition_notify(transition: Transition, check: Check, batch: _Batch) -> int:
    last = batch.announced.get(check.pk)
    step, count = flap_observe(check_id=check.pk, at=transition.at)
    if step is FlapStep.QUIET:
        return 0
    service_part = batch.services[check.service_id]
    if step is FlapStep.STARTED:
        context = _state_context(service_part, check, transition, last)
        minutes = int(flap_window().total_seconds() // 60)
        context["note"] = (
            f"{count} state changes in {minutes} min. No further alerts for this check "
            f"until it keeps one state for {minutes} min."
        )
        key = _transition_key(transition).replace("transition:", "flapping:", 1)
        event = event_announce(
            kind=EventKind.FLAPPING,
            key=key,
            occurred_at=transition.at,
            context=context,
            service=check.service,
            check=check,
        )
        return int(event is not None)
    kind = _kind_of(transition, check, last)
    if kind is None:
        return 0
    if kind != EventKind.UP and batch.in_maintenance(check.service_id, transition.at):
        logger.info("event=alert.suppressed reason=maintenance check=%s", check.pk)
        return 0
    context = _state_context(service_part, check, transition, last)
    event = event_announce(
        kind=kind,
        key=_transition_key(transition),
        occurred_at=transition.at,
        context=context,
        service=check.service,
        check=check,
    )
    if event is None:
        return 0
    if kind in STATE_KINDS:
        batch.announced[check.pk] = Announced(kind, event.pk, transition.at)
    if kind == EventKind.UP:
        _end_acks_if_recovered(check, transition.at)
    return 1


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
